#include "tradebus/broker/control_plane.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "tradebus/broker/authorization.hpp"
#include "tradebus/broker/defaults.hpp"
#include "tradebus/common/process.hpp"
#include "tradebus/schema/orders.hpp"
#include "tradebus/schema/topics.hpp"
#include "tradebus/schema/utf8.hpp"

namespace tradebus::broker {

namespace {

using schema::health;
namespace code = schema::error_code;

template <class... F>
struct overloaded : F... {
    using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

std::uint64_t splitmix64(std::uint64_t x) noexcept {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// A peer-supplied string shown in a reason or a log line: at most `max` bytes, cut at a UTF-8
// character boundary (the decoder already checked the string is valid UTF-8).
std::string shown(std::string_view s, std::size_t max = 64) {
    if (s.size() <= max) return "\"" + std::string(s) + "\"";
    std::size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xc0u) == 0x80u) --cut;
    return "\"" + std::string(s.substr(0, cut)) + "...\"";
}

schema::error_reply error(std::string_view c, std::string reason) {
    return schema::error_reply{std::string(c), std::move(reason)};
}

// Text for a reply: valid UTF-8 (invalid bytes become '?') of at most `max` bytes, so the reply
// always decodes even when a decode error quotes raw input.
std::string safe_text(std::string_view s, std::size_t max = 1024) {
    std::string out;
    out.reserve(std::min(s.size(), max));
    std::size_t i = 0;
    while (i < s.size()) {
        const std::size_t n = schema::utf8_sequence(s, i);
        if (out.size() + std::max<std::size_t>(n, 1) > max) break;
        if (n == 0) {
            out.push_back('?');
            ++i;
        } else {
            out.append(s.substr(i, n));
            i += n;
        }
    }
    return out;
}

bool ready_state(health h) noexcept { return h == health::healthy || h == health::degraded; }

std::string join(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
}

}  // namespace

std::uint64_t new_epoch() { return common::random_id(); }

control_plane::control_plane(const broker_config& cfg, std::uint64_t epoch, event_sink& sink,
                             const data_stats& stats, std::int64_t start_ms)
    : name_(cfg.name),
      interval_ms_(cfg.heartbeat.interval_ms),
      liveness_(cfg.heartbeat.liveness),
      gone_after_ms_(cfg.heartbeat.gone_after_ms),
      epoch_(epoch),
      sink_(sink),
      stats_(stats),
      start_ms_(start_ms),
      xsub_advertised_(cfg.endpoints.xsub_advertised.empty() ? cfg.endpoints.xsub
                                                             : cfg.endpoints.xsub_advertised),
      xpub_advertised_(cfg.endpoints.xpub_advertised.empty() ? cfg.endpoints.xpub
                                                             : cfg.endpoints.xpub_advertised),
      security_(cfg.security.curve ? &cfg.security : nullptr),
      nodes_(defaults::max_nodes),
      services_(defaults::max_services) {
    for (const auto& n : cfg.pipeline) graph_.add_configured(n.name, n.depends_on);
}

void control_plane::set_advertised(std::string xsub, std::string xpub) {
    xsub_advertised_ = std::move(xsub);
    xpub_advertised_ = std::move(xpub);
}

schema::error_reply control_plane::decode_failure(const schema::decode_error& e) {
    return error(schema::error_code_for(e), e.to_string());
}

void control_plane::handle_frame(std::string_view request, std::int64_t now_ms, std::string& reply,
                                 std::string_view peer) {
    page_.items.clear();
    page_.next.clear();
    try {
        schema::control_message out;
        if (request.size() > schema::limits::max_message_bytes) {
            count_request(invalid_request);
            out = error(code::bad_request, "request of " + std::to_string(request.size()) +
                                               " bytes, limit " +
                                               std::to_string(schema::limits::max_message_bytes));
        } else if (auto decoded = schema::decode_control(request)) {
            count_request(schema::type_name(decoded.value()));
            out = handle(decoded.value(), now_ms, peer);
        } else {
            count_request(invalid_request);
            out = decode_failure(decoded.error());
        }
        if (auto* e = std::get_if<schema::error_reply>(&out)) {
            e->reason = safe_text(e->reason);
            log_refused(*e);
        }
        schema::encode_control(out, reply);
        // A status reply must stay decodable: halve its topic list until it fits.
        if (auto* status = std::get_if<schema::status_reply>(&out)) {
            while (reply.size() > schema::limits::max_message_bytes && !status->topics.empty()) {
                status->topics.resize(status->topics.size() / 2);
                schema::encode_control(out, reply);
            }
        }
    } catch (const std::exception& e) {
        page_.items.clear();
        schema::encode_control(
            schema::control_message{
                error(code::bad_request,
                      std::string("broker could not handle the request: ") + e.what())},
            reply);
    }
}

void control_plane::refuse(std::string reason, std::string& reply) {
    const schema::error_reply e = error(code::bad_request, safe_text(reason));
    count_request(invalid_request);
    log_refused(e);
    schema::encode_control(e, reply);
}

void control_plane::count_request(std::string_view type) {
    auto it = requests_.find(type);
    if (it == requests_.end()) it = requests_.emplace(std::string(type), 0).first;
    ++it->second;
}

void control_plane::log_refused(const schema::error_reply& e) {
    if (const std::uint64_t n = refused_log_.hit()) {
        spdlog::warn("control request refused: {}: {} ({} refused in last 1s)", e.code, e.reason,
                     n);
    }
}

std::optional<schema::error_reply> control_plane::authorize(const schema::control_message& request,
                                                            std::string_view peer) const {
    const client_rule* client = security_->find(peer);
    if (client == nullptr) {
        return error(code::not_allowed, "this connection carries no authenticated client name");
    }
    const auto as_self = [&](std::string_view what,
                             const std::string& name) -> std::optional<schema::error_reply> {
        if (name == client->name) return std::nullopt;
        return error(code::not_allowed, std::string(what) + " as " + shown(name) +
                                            " refused: this client's CURVE key is " +
                                            shown(client->name) + "'s ([[security.client]])");
    };
    const auto operator_only = [&](std::string_view what) -> std::optional<schema::error_reply> {
        if (client->is_operator) return std::nullopt;
        return error(code::not_allowed, std::string(what) + " refused: client " +
                                            shown(client->name) +
                                            " is not an operator ([[security.client]] operator "
                                            "= true)");
    };
    return std::visit(
        [&]<class T>(const T& r) -> std::optional<schema::error_reply> {
            if constexpr (T::is_reply) {
                return std::nullopt;  // refused by handle() whoever sends it
            } else if constexpr (access<T>::rule == sender::as_itself) {
                return as_self(T::type_name, r.name);
            } else if constexpr (access<T>::rule == sender::operator_only) {
                return operator_only(T::type_name);
            } else {
                static_assert(access<T>::rule == sender::any_client);
                return std::nullopt;
            }
        },
        request);
}

schema::control_message control_plane::handle(const schema::control_message& request,
                                              std::int64_t now_ms, std::string_view peer) {
    if (security_ != nullptr) {
        if (auto refused = authorize(request, peer)) return *refused;
    }
    return std::visit(
        overloaded{
            [&](const schema::register_request& r) { return on_register(r, now_ms); },
            [&](const schema::heartbeat_request& r) { return on_heartbeat(r, now_ms); },
            [&](const schema::deregister_request& r) { return on_deregister(r, now_ms); },
            [&](const schema::status_request& r) { return on_status(r, now_ms); },
            [&](const schema::snapshot_request& r) { return on_snapshot(r); },
            [&](const schema::halt_request& r) {
                return on_trading(
                    r.reduce_only ? schema::trading_state::reducing : schema::trading_state::halted,
                    r.reason, r.by, r.symbol, r.strategy);
            },
            [&](const schema::resume_request& r) {
                return on_trading(schema::trading_state::active, r.reason, r.by, r.symbol,
                                  r.strategy);
            },
            [&](const schema::announce_request& r) { return on_announce(r); },
            [&](const schema::lookup_request& r) { return on_lookup(r); },
            [&](const schema::cancel_command& r) { return on_cancel(r); },
            [&](const schema::flatten_command& r) { return on_flatten(r); },
            [&](const schema::recorder_ack& r) { return on_recorder_ack(r); },
            [&](const schema::recorder_resume& r) { return on_recorder_resume(r); },
            [&](const schema::services_request&) -> schema::control_message {
                return schema::services_reply{services_.list(nodes_)};
            },
            [&](const schema::journal_query&) -> schema::control_message {
                return error(code::not_allowed,
                             "journal_query is answered by the journal's query endpoint, not "
                             "the broker (lookup service \"journal\")");
            },
            [&]<reply_type T>(const T&) -> schema::control_message {
                return error(code::bad_request,
                             "\"" + std::string(T::type_name) + "\" is a reply, not a request");
            },
        },
        request);
}

std::optional<schema::error_reply> control_plane::registration_limits(
    const schema::register_request& r) {
    const auto too_long = [](std::string_view key, std::string_view value,
                             std::size_t max) -> std::optional<schema::error_reply> {
        if (value.size() <= max) return std::nullopt;
        return error(code::bad_request, std::string(key) + ": expected at most " +
                                            std::to_string(max) + " bytes, got " +
                                            std::to_string(value.size()));
    };
    for (const auto& [key, value] :
         {std::pair<std::string_view, const std::string*>{"kind", &r.kind},
          {"host", &r.host},
          {"version", &r.version}}) {
        if (auto e = too_long(key, *value, defaults::max_registration_field_bytes)) return e;
    }
    std::size_t bytes = r.kind.size() + r.host.size() + r.version.size();
    for (const auto& [key, list] :
         {std::pair<std::string_view, const std::vector<std::string>*>{"publishes", &r.publishes},
          {"subscribes", &r.subscribes},
          {"depends_on", &r.depends_on}}) {
        if (list->size() > defaults::max_registration_prefixes) {
            return error(code::bad_request,
                         std::string(key) + ": expected at most " +
                             std::to_string(defaults::max_registration_prefixes) +
                             " entries, got " + std::to_string(list->size()));
        }
        for (std::size_t i = 0; i < list->size(); ++i) {
            const std::string item = std::string(key) + "[" + std::to_string(i) + "]";
            if (auto e = too_long(item, (*list)[i], schema::topics::max_topic_bytes)) return e;
            bytes += (*list)[i].size();
        }
    }
    if (bytes > defaults::max_registration_bytes) {
        return error(code::bad_request,
                     "register: expected at most " +
                         std::to_string(defaults::max_registration_bytes) +
                         " bytes of kind, host, version, publishes, subscribes and depends_on, "
                         "got " +
                         std::to_string(bytes));
    }
    return std::nullopt;
}

std::vector<std::string> control_plane::waiting_for(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& dep : graph_.dependencies(name)) {
        const node_record* r = nodes_.find(dep);
        if (r == nullptr || !ready_state(r->state)) out.push_back(dep);
    }
    return out;
}

schema::control_message control_plane::on_register(const schema::register_request& r,
                                                   std::int64_t now) {
    if (!schema::topics::valid_node_name(r.name)) {
        return error(code::bad_request, "name: expected " +
                                            std::string(schema::topics::node_name_rule) + ", got " +
                                            shown(r.name));
    }
    if (r.name == name_) {
        return error(code::not_allowed, "name: " + shown(r.name) + " is the broker's own name");
    }
    if (r.host.empty()) return error(code::bad_request, "host: expected a host name, got \"\"");
    if (r.pid < 0) {
        return error(code::bad_request, "pid: expected >= 0, got " + std::to_string(r.pid));
    }
    std::int64_t interval = r.heartbeat_interval_ms;
    if (interval == 0) {
        interval = interval_ms_;
    } else if (interval < defaults::min_heartbeat_interval_ms ||
               interval > defaults::max_heartbeat_interval_ms) {
        return error(code::bad_request, "heartbeat_interval_ms: expected 0 (the broker's) or " +
                                            std::to_string(defaults::min_heartbeat_interval_ms) +
                                            ".." +
                                            std::to_string(defaults::max_heartbeat_interval_ms) +
                                            ", got " + std::to_string(interval));
    }
    if (auto too_big = registration_limits(r)) return *too_big;
    for (const auto& dep : r.depends_on) {
        if (graph_.is_configured(dep)) continue;
        const auto configured = graph_.configured_names();
        return error(code::unknown_dependency,
                     "depends_on: " + shown(dep) + " is not a node of the broker's [pipeline] (" +
                         (configured.empty() ? std::string("none configured")
                                             : "configured: " + join(configured)) +
                         ")");
    }
    if (auto cycle = graph_.cycle_if_declared(r.name, r.depends_on)) {
        return error(code::dependency_cycle, "depends_on would close the dependency cycle " +
                                                 dependency_graph::path_text(*cycle));
    }

    node_record* existing = nodes_.find(r.name);
    const health from = existing != nullptr ? existing->state : health::stopped;
    const lifecycle_context ctx{false, existing != nullptr && existing->host == r.host};
    const lifecycle_row& row = lifecycle_step(from, lifecycle_event::register_request, ctx);
    if (row.is_error()) {
        return error(row.error_code, "node " + shown(r.name) + " is registered from host " +
                                         shown(existing->host) + " (pid " +
                                         std::to_string(existing->pid) + ", " +
                                         std::string(schema::to_string(existing->state)) +
                                         "): " + std::string(row.reason));
    }
    // Nodes of the [pipeline] always have a place; other names share max_nodes records, and a
    // stopped one (deregistered, or declared gone) makes room, the oldest first.
    if (!graph_.is_configured(r.name) && !nodes_.has_room_for(r.name)) {
        return error(code::not_allowed,
                     "node table full (" + std::to_string(defaults::max_nodes) +
                         " nodes, none stopped; a node silent for [heartbeat] gone_after_ms is "
                         "stopped and makes room)");
    }

    std::string reason(row.reason);
    if (existing != nullptr && (mask(from) & live_states) != 0) {
        reason += " (pid " + std::to_string(existing->pid) + " -> " + std::to_string(r.pid) + ")";
        if (replaced_order_.size() >= defaults::max_replaced_sessions) {
            replaced_.erase(replaced_order_.front());
            replaced_order_.pop_front();
        }
        replaced_[existing->session_id] = replaced_session{r.name, r.host, r.pid};
        replaced_order_.push_back(existing->session_id);
    }

    node_record& rec = nodes_.get_or_create(r.name);
    graph_.declare(r.name, r.depends_on);
    rec.kind = r.kind;
    rec.host = r.host;
    rec.version = r.version;
    rec.pid = r.pid;
    // Fresh vectors, not assignment: a re-register with shorter lists gives the memory back.
    rec.publishes = std::vector<std::string>(r.publishes);
    rec.subscribes = std::vector<std::string>(r.subscribes);
    rec.interval_ms = interval;
    rec.session_id = new_session_id();
    rec.registered_ms = now;
    rec.last_seen_ms = now;
    rec.last_heartbeat_ms = -1;
    rec.heartbeats = 0;
    rec.counters = {};

    const std::vector<std::string> waiting = waiting_for(rec.name);
    spdlog::info(
        "node {} registered: kind {}, host {}, pid {}, version {}, session {}; {}", rec.name,
        shown(rec.kind), shown(rec.host), rec.pid, shown(rec.version), rec.session_id,
        waiting.empty() ? std::string("dependencies ready") : "waiting for " + join(waiting));
    sink_.publish(schema::topics::node_registered,
                  schema::node_registered{rec.name, rec.kind, rec.host, rec.version, rec.pid,
                                          rec.session_id});
    move(rec, row.next, reason, now);
    update_next_deadline();

    schema::register_reply reply;
    reply.session_id = rec.session_id;
    reply.epoch = epoch_;
    reply.xsub_endpoint = xsub_advertised_;
    reply.xpub_endpoint = xpub_advertised_;
    reply.heartbeat_interval_ms = interval;
    reply.liveness = liveness_;
    reply.waiting_for = waiting;
    reply.ready = waiting.empty();
    reply.trading = trading_;
    return reply;
}

node_record* control_plane::session_of(std::string_view name, std::uint64_t session,
                                       schema::error_reply& err) {
    node_record* rec = nodes_.find(name);
    if (rec != nullptr && session != 0 && rec->session_id == session) return rec;
    if (auto it = replaced_.find(session); it != replaced_.end() && it->second.name == name) {
        err = error(code::duplicate_name,
                    "session " + std::to_string(session) + " of node " + shown(name) +
                        " was replaced by a newer registration (pid " +
                        std::to_string(it->second.by_pid) + " on host " + shown(it->second.host) +
                        "); is another instance running?");
        return nullptr;
    }
    err = error(code::unknown_session, "unknown session " + std::to_string(session) + " for node " +
                                           shown(name) + " (broker epoch " +
                                           std::to_string(epoch_) + "): register again");
    return nullptr;
}

schema::control_message control_plane::on_heartbeat(const schema::heartbeat_request& r,
                                                    std::int64_t now) {
    schema::error_reply err;
    node_record* rec = session_of(r.name, r.session_id, err);
    if (rec == nullptr) return err;
    const lifecycle_context ctx{waiting_for(rec->name).empty(), true};
    const lifecycle_row& row = lifecycle_step(rec->state, heartbeat_event(r.state), ctx);
    if (row.is_error()) return error(row.error_code, std::string(row.reason));

    std::string reason(row.reason);
    if (rec->state == health::unhealthy) {
        reason += " (after " + std::to_string(now - rec->last_seen_ms) + " ms without one)";
    }
    rec->last_seen_ms = now;
    rec->last_heartbeat_ms = now;
    ++rec->heartbeats;
    rec->counters = r.counters;
    move(*rec, row.next, std::move(reason), now);
    update_next_deadline();

    schema::heartbeat_reply reply;
    reply.epoch = epoch_;
    reply.waiting_for = waiting_for(rec->name);
    reply.ready = reply.waiting_for.empty();
    reply.trading = trading_;
    spdlog::debug("heartbeat from {} ({}), ready {}", rec->name, schema::to_string(r.state),
                  reply.ready);
    return reply;
}

schema::control_message control_plane::on_deregister(const schema::deregister_request& r,
                                                     std::int64_t now) {
    schema::error_reply err;
    node_record* rec = session_of(r.name, r.session_id, err);
    if (rec == nullptr) return err;
    const lifecycle_row& row = lifecycle_step(rec->state, lifecycle_event::deregister, {});
    if (row.is_error()) return error(row.error_code, std::string(row.reason));
    move(*rec, row.next, std::string(row.reason), now);
    const lifecycle_row& done = lifecycle_step(rec->state, lifecycle_event::deregistered, {});
    if (!done.is_error()) move(*rec, done.next, std::string(done.reason), now);
    update_next_deadline();
    return schema::ok_reply{"deregistered " + rec->name};
}

schema::control_message control_plane::on_status(const schema::status_request& r,
                                                 std::int64_t now) {
    if (r.max_topics < 0) {
        return error(code::bad_request,
                     "max_topics: expected >= 0, got " + std::to_string(r.max_topics));
    }
    schema::status_reply s;
    s.epoch = epoch_;
    s.version = std::string(common::version());
    s.uptime_ms = now - start_ms_;
    s.trading = trading_;
    s.trading_reason = trading_reason_;
    for (const auto& [topic, sc] : scopes_) {
        s.trading_scopes.push_back({sc.symbol, sc.strategy, sc.record.state, sc.record.reason,
                                    sc.record.by, sc.record.since_ns});
    }
    for (const auto& [name, rec] : nodes_.records()) {
        schema::node_status n;
        n.name = rec.name;
        n.kind = rec.kind;
        n.host = rec.host;
        n.version = rec.version;
        n.pid = rec.pid;
        n.state = rec.state;
        n.last_heartbeat_age_ms = rec.last_heartbeat_ms < 0 ? -1 : now - rec.last_heartbeat_ms;
        n.depends_on = graph_.dependencies(name);
        n.counters = rec.counters;
        s.nodes.push_back(std::move(n));
    }
    // Configured nodes that never registered show as stopped, pid 0, no heartbeat.
    for (const auto& name : graph_.configured_names()) {
        if (nodes_.find(name) != nullptr) continue;
        schema::node_status n;
        n.name = name;
        n.state = health::stopped;
        n.depends_on = graph_.dependencies(name);
        s.nodes.push_back(std::move(n));
    }
    std::sort(s.nodes.begin(), s.nodes.end(),
              [](const auto& a, const auto& b) { return a.name < b.name; });
    s.start_order = graph_.start_order();
    const auto limit =
        std::min(static_cast<std::size_t>(r.max_topics), schema::limits::max_array_items);
    s.topics = stats_.topics.busiest(limit);
    s.topics_total = stats_.topics.tracked();
    for (std::size_t i = 0; i < drop_reason_count; ++i) {
        s.drops.push_back({std::string(drop_reason_names[i]), stats_.drops[i]});
    }
    const recorder_counters& rec = stats_.recorder;
    const bool stalled = rec.held > 0;
    s.recorder = {
        rec.enabled,
        stalled,
        rec.sent,
        rec.stalls,
        rec.stalled_ms + (stalled ? static_cast<std::uint64_t>(now - rec.stalled_since_ms) : 0),
        rec.overflow,
        rec.seq,
        rec.acked,
        rec.retained,
        rec.retained_bytes,
        rec.evicted,
        rec.redelivered};
    return s;
}

schema::control_message control_plane::on_snapshot(const schema::snapshot_request& r) {
    if (r.prefix.size() > schema::topics::max_topic_bytes) {
        return error(code::bad_request, "prefix: expected at most " +
                                            std::to_string(schema::topics::max_topic_bytes) +
                                            " bytes, got " + std::to_string(r.prefix.size()));
    }
    schema::snapshot_reply reply;
    if (lvc_ == nullptr) return reply;
    for (const auto* list : {&lvc_->prefixes(), &lvc_->own_prefixes()}) {
        for (const auto& p : *list) {
            if (r.prefix.starts_with(p) || std::string_view(p).starts_with(r.prefix)) {
                reply.covered = true;
            }
        }
    }
    if (!reply.covered) return reply;
    lvc_->snapshot(r.prefix, r.after, defaults::lvc_snapshot_page,
                   defaults::lvc_snapshot_page_bytes, page_);
    reply.count = page_.items.size();
    reply.next = page_.next;
    spdlog::debug("snapshot \"{}\" after \"{}\": {} topics{}", r.prefix, r.after, reply.count,
                  reply.next.empty() ? "" : ", more to come");
    return reply;
}

std::optional<schema::error_reply> control_plane::recorder_client(std::string_view what,
                                                                  const std::string& name,
                                                                  std::uint64_t session_id) {
    if (recorder_ == nullptr) {
        return error(code::not_allowed, std::string(what) +
                                            " refused: this broker has no recorder link "
                                            "([endpoints] recorder is not set)");
    }
    if (name != recorder_client_) {
        return error(code::not_allowed, std::string(what) + " from " + shown(name) +
                                            " refused: only the recorder client " +
                                            shown(recorder_client_) +
                                            " ([recorder] client) acknowledges the link");
    }
    schema::error_reply err;
    const node_record* rec = session_of(name, session_id, err);
    if (rec == nullptr) return err;
    return std::nullopt;
}

schema::control_message control_plane::on_recorder_ack(const schema::recorder_ack& r) {
    if (auto refused = recorder_client(schema::recorder_ack::type_name, r.name, r.session_id)) {
        return *refused;
    }
    if (auto why = recorder_->ack(r.epoch, r.seq); !why.empty()) {
        return error(code::bad_request, "recorder_ack: " + why);
    }
    return schema::ok_reply{"recorder acknowledged up to " + std::to_string(r.seq)};
}

schema::control_message control_plane::on_recorder_resume(const schema::recorder_resume& r) {
    if (auto refused = recorder_client(schema::recorder_resume::type_name, r.name, r.session_id)) {
        return *refused;
    }
    auto result = recorder_->resume(r.epoch, r.after);
    if (const auto* why = std::get_if<std::string>(&result)) {
        return error(code::bad_request, "recorder_resume: " + *why);
    }
    const auto& reply = std::get<schema::recorder_resume_reply>(result);
    if (reply.missing > 0) {
        spdlog::warn(
            "recorder link: {} resumes after {} but messages {}..{} were evicted ([recorder] "
            "retain_messages / retain_bytes): the journal records the gap",
            r.name, r.after, r.after + 1, reply.first - 1);
    } else {
        spdlog::info("recorder link: {} resumes after {}: sending {}..{} again", r.name, r.after,
                     reply.first, reply.next - 1);
    }
    return reply;
}

schema::control_message control_plane::on_announce(const schema::announce_request& r) {
    schema::error_reply err;
    node_record* rec = session_of(r.name, r.session_id, err);
    if (rec == nullptr) return err;
    // A session that deregistered (or is on its way out) has ended for services: letting it
    // announce would take a service over from a live node, only to be forgotten at once.
    if (rec->state == health::stopping || rec->state == health::stopped) {
        return error(code::unknown_session, "session " + std::to_string(r.session_id) +
                                                " of node " + shown(r.name) + " has ended (" +
                                                std::string(schema::to_string(rec->state)) +
                                                "): register again");
    }
    if (auto refused = services_.announce(*rec, r, nodes_)) return *refused;
    return schema::ok_reply{"service " + r.service + " offered by " + rec->name};
}

schema::control_message control_plane::on_lookup(const schema::lookup_request& r) {
    if (auto found = services_.lookup(r.service, nodes_)) return *found;
    return error(code::unknown_service, "no live node offers service " + shown(r.service) +
                                            " (not announced yet, or "
                                            "its node's session ended)");
}

schema::control_message control_plane::on_cancel(const schema::cancel_command& c) {
    if (auto bad = schema::cancel_scope_error(c.request_id, c.order_id, c.symbol, c.all)) {
        return error(code::bad_request, "cancel: " + *bad);
    }
    schema::cancel_request ev{.request_id = c.request_id,
                              .order_id = c.order_id,
                              .symbol = c.symbol,
                              .all = c.all,
                              .reason = c.reason.empty() ? "operator cancel" : c.reason,
                              .by = c.by.empty() ? "operator" : c.by};
    const std::string what = c.all                 ? std::string("every resting order")
                             : !c.order_id.empty() ? "order " + shown(c.order_id)
                                                   : "the resting orders of " + shown(c.symbol);
    spdlog::info("cancel request {} by {}: {} ({})", c.request_id, shown(ev.by), what,
                 shown(ev.reason, 200));
    sink_.publish(schema::topics::cancel, ev);
    return schema::ok_reply{"cancel request " + std::to_string(c.request_id) + " for " + what +
                            " published on " + std::string(schema::topics::cancel)};
}

schema::control_message control_plane::on_flatten(const schema::flatten_command& f) {
    const bool all = f.symbol.empty();
    if (auto bad = schema::cancel_scope_error(f.request_id, "", f.symbol, all)) {
        return error(code::bad_request, "flatten: " + *bad);
    }
    const std::string reason = f.reason.empty() ? "operator flatten" : f.reason;
    const std::string by = f.by.empty() ? "operator" : f.by;
    const std::string what = all ? std::string("every symbol") : shown(f.symbol);
    spdlog::info("flatten request {} by {}: {} ({})", f.request_id, shown(by), what,
                 shown(reason, 200));
    // Execution cancels first; risk closes once it saw execution's answer to this cancel.
    sink_.publish(schema::topics::cancel, schema::cancel_request{.request_id = f.request_id,
                                                                 .order_id = "",
                                                                 .symbol = f.symbol,
                                                                 .all = all,
                                                                 .reason = "flatten: " + reason,
                                                                 .by = by});
    sink_.publish(schema::topics::flatten,
                  schema::flatten_request{
                      .request_id = f.request_id, .symbol = f.symbol, .reason = reason, .by = by});
    return schema::ok_reply{"flatten request " + std::to_string(f.request_id) + " for " + what +
                            " published on " + std::string(schema::topics::cancel) + " and " +
                            std::string(schema::topics::flatten)};
}

void control_plane::restore_trading(const trading_record& r, const trading_store* store,
                                    const std::vector<trading_scope_record>& scopes) {
    trading_ = r.state;
    trading_reason_ = r.reason;
    trading_by_ = r.by;
    trading_since_ns_ = r.since_ns;
    store_ = store;
    scopes_.clear();
    for (const auto& sc : scopes) {
        if (sc.record.state == schema::trading_state::active) continue;
        scopes_.insert_or_assign(schema::topics::for_trading_scope(sc.symbol, sc.strategy), sc);
    }
}

void control_plane::publish_scopes() {
    for (const auto& [topic, sc] : scopes_) {
        sink_.publish(topic, schema::trading_state_changed{sc.record.state, sc.record.reason,
                                                           sc.record.by, sc.symbol, sc.strategy});
    }
}

std::vector<trading_scope_record> control_plane::scope_list() const {
    std::vector<trading_scope_record> out;
    out.reserve(scopes_.size());
    for (const auto& [topic, sc] : scopes_) out.push_back(sc);
    return out;
}

schema::control_message control_plane::on_trading(schema::trading_state to,
                                                  const std::string& reason, const std::string& by,
                                                  const std::string& symbol,
                                                  const std::string& strategy) {
    const bool halt = to != schema::trading_state::active;
    const std::string verb = halt ? "halt" : "resume";
    if (auto bad = schema::trading_scope_error(symbol, strategy)) {
        return error(code::bad_request, verb + ": " + *bad);
    }
    trading_record next{.state = to,
                        .reason = reason.empty() ? "operator " + verb : reason,
                        .by = by.empty() ? "operator" : by,
                        .since_ns = common::now_ns()};
    if (!symbol.empty() || !strategy.empty()) {
        return on_scope(to, std::move(next), symbol, strategy);
    }
    const schema::trading_state from = trading_;
    // Saved before anything changes: a decision a restart would lose is not taken silently.
    // A halt is applied anyway (the safe side) and the operator told it is not durable; a
    // resume that cannot be saved is refused (a restart would halt again, unannounced).
    const std::optional<std::string> unsaved =
        store_ != nullptr ? store_->save(next, scope_list()) : std::nullopt;
    if (unsaved && !halt) {
        spdlog::error("trading {} by {} refused: the trading state cannot be saved: {}",
                      schema::to_string(to), shown(next.by), *unsaved);
        return error(code::not_durable,
                     "trading state not changed: cannot save it (" + *unsaved + ")");
    }
    trading_ = to;
    trading_reason_ = next.reason;
    trading_by_ = next.by;
    trading_since_ns_ = next.since_ns;
    sink_.publish(schema::topics::trading,
                  schema::trading_state_changed{to, trading_reason_, trading_by_, "", ""});
    const std::string detail = "trading " + std::string(schema::to_string(to)) + " (was " +
                               std::string(schema::to_string(from)) + ")";
    if (unsaved) {
        spdlog::error("{} by {}: {}; NOT saved, a broker restart would lose it: {}", detail,
                      shown(trading_by_), shown(trading_reason_, 200), *unsaved);
        return error(code::not_durable,
                     detail + ", but not saved: a broker restart would lose it (" + *unsaved + ")");
    }
    if (halt) {
        spdlog::warn("{} by {}: {}", detail, shown(trading_by_), shown(trading_reason_, 200));
    } else {
        spdlog::info("{} by {}: {}", detail, shown(trading_by_), shown(trading_reason_, 200));
    }
    return schema::ok_reply{detail};
}

schema::control_message control_plane::on_scope(schema::trading_state to, trading_record next,
                                                const std::string& symbol,
                                                const std::string& strategy) {
    const bool halt = to != schema::trading_state::active;
    const std::string topic = schema::topics::for_trading_scope(symbol, strategy);
    const std::string scope = schema::trading_scope_name(symbol, strategy);
    const auto found = scopes_.find(topic);
    const schema::trading_state from =
        found == scopes_.end() ? schema::trading_state::active : found->second.record.state;
    if (!halt && found == scopes_.end()) {
        return schema::ok_reply{"trading " + scope + " was not halted or reducing: nothing to " +
                                "resume (desk " + std::string(schema::to_string(trading_)) + ")"};
    }
    if (halt) {
        // A strategy scope names a node the broker knows; a typo would halt nothing at all.
        if (!strategy.empty() && nodes_.find(strategy) == nullptr &&
            !graph_.is_configured(strategy)) {
            return error(code::unknown_node,
                         "halt: no node " + shown(strategy) +
                             " is registered or in the broker's [pipeline]; nothing changed");
        }
        if (next.reason.size() > defaults::max_scope_reason_bytes) {
            return error(code::bad_request,
                         "halt: reason of " + std::to_string(next.reason.size()) +
                             " bytes, at most " + std::to_string(defaults::max_scope_reason_bytes) +
                             " for a scope");
        }
        if (found == scopes_.end() && scopes_.size() >= defaults::max_trading_scopes) {
            return error(code::too_many_scopes,
                         "halt: " + std::to_string(scopes_.size()) +
                             " symbol and strategy scopes are in force, at most " +
                             std::to_string(defaults::max_trading_scopes) +
                             "; resume one, or halt the desk; nothing changed");
        }
    }
    auto after = scopes_;
    if (halt) {
        after.insert_or_assign(topic, trading_scope_record{symbol, strategy, next});
    } else {
        after.erase(topic);
    }
    std::vector<trading_scope_record> list;
    for (const auto& [t, sc] : after) list.push_back(sc);
    // As for the desk: a halt that cannot be saved still applies, a resume does not.
    const std::optional<std::string> unsaved =
        store_ != nullptr
            ? store_->save({trading_, trading_reason_, trading_by_, trading_since_ns_}, list)
            : std::nullopt;
    if (unsaved && !halt) {
        spdlog::error("trading {} {} by {} refused: the trading state cannot be saved: {}", scope,
                      schema::to_string(to), shown(next.by), *unsaved);
        return error(code::not_durable,
                     "trading state not changed: cannot save it (" + *unsaved + ")");
    }
    scopes_ = std::move(after);
    sink_.publish(topic, schema::trading_state_changed{to, next.reason, next.by, symbol, strategy});
    if (!halt) sink_.forget(topic);
    const std::string detail = "trading " + scope + " " + std::string(schema::to_string(to)) +
                               " (was " + std::string(schema::to_string(from)) + ")";
    if (unsaved) {
        spdlog::error("{} by {}: {}; NOT saved, a broker restart would lose it: {}", detail,
                      shown(next.by), shown(next.reason, 200), *unsaved);
        return error(code::not_durable,
                     detail + ", but not saved: a broker restart would lose it (" + *unsaved + ")");
    }
    if (halt) {
        spdlog::warn("{} by {}: {}", detail, shown(next.by), shown(next.reason, 200));
    } else {
        spdlog::info("{} by {}: {}", detail, shown(next.by), shown(next.reason, 200));
    }
    return schema::ok_reply{detail};
}

void control_plane::move(node_record& rec, health next, std::string reason, std::int64_t now) {
    if (rec.state == next) return;
    const health old = rec.state;
    rec.state = next;
    if (next == health::stopped) {
        rec.stopped_ms = now;
        graph_.forget(rec.name);
    }
    const auto level = next == health::unhealthy ? spdlog::level::warn : spdlog::level::info;
    spdlog::log(level, "node {}: {} -> {} ({})", rec.name, schema::to_string(old),
                schema::to_string(next), reason);
    sink_.publish(schema::topics::node_health,
                  schema::node_health{rec.name, rec.kind, old, next, std::move(reason)});
}

void control_plane::run_timers(std::int64_t now) {
    if (now < next_deadline_) return;
    for (auto& [name, rec] : nodes_.records()) {
        // At most two steps: a node can be past both its liveness and its gone deadline.
        for (int step = 0; step < 2; ++step) {
            if (rec.deadline_ms(liveness_, gone_after_ms_) > now) break;
            const auto ev = rec.state == health::unhealthy ? lifecycle_event::gone
                                                           : lifecycle_event::liveness_missed;
            const lifecycle_row& row = lifecycle_step(rec.state, ev, {});
            if (row.is_error()) break;
            if (ev == lifecycle_event::liveness_missed) ++rec.liveness_missed;
            const std::int64_t limit =
                ev == lifecycle_event::gone
                    ? rec.deadline_ms(liveness_, gone_after_ms_) - rec.last_seen_ms
                    : rec.interval_ms * liveness_;
            const std::string limit_text =
                ev == lifecycle_event::gone
                    ? std::to_string(limit) + " ms"
                    : std::to_string(liveness_) + " x " + std::to_string(rec.interval_ms) + " ms";
            move(rec, row.next,
                 std::string(row.reason) + " (no heartbeat for " +
                     std::to_string(now - rec.last_seen_ms) + " ms, limit " + limit_text + ")",
                 now);
        }
    }
    update_next_deadline();
}

void control_plane::update_next_deadline() {
    next_deadline_ = no_deadline;
    for (const auto& [name, rec] : nodes_.records()) {
        next_deadline_ = std::min(next_deadline_, rec.deadline_ms(liveness_, gone_after_ms_));
    }
}

std::uint64_t control_plane::new_session_id() {
    // Derived from the epoch: sessions of an earlier broker incarnation are unknown here.
    const std::uint64_t id = splitmix64(epoch_ ^ (++sessions_issued_ * 0x9e3779b97f4a7c15ULL));
    return id == 0 ? 1 : id;
}

}  // namespace tradebus::broker
