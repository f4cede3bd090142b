// The node engine (ARCHITECTURE.md "The loop"): one thread owns the PUB, SUB and control REQ
// sockets; one loop waits on them until the nearest timer, drains inbound traffic with a budget,
// runs the control-plane state machine (register -> wait for dependencies and the data-plane
// probe -> run, heartbeating throughout, re-registering when the broker's epoch changes), and
// calls the node's logic. The logic never sees a socket.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <random>
#include <unordered_map>
#include <zmq.hpp>

#include "tradebus/common/daemon.hpp"
#include "tradebus/common/eintr.hpp"
#include "tradebus/common/loop.hpp"
#include "tradebus/common/proc_stats.hpp"
#include "tradebus/common/process.hpp"
#include "tradebus/runtime/clock.hpp"
#include "tradebus/runtime/control_client.hpp"
#include "tradebus/runtime/envelope_stamper.hpp"
#include "tradebus/runtime/gap_tracker.hpp"
#include "tradebus/runtime/late_join.hpp"
#include "tradebus/runtime/node.hpp"
#include "tradebus/runtime/node_config.hpp"
#include "tradebus/runtime/recovery_client.hpp"
#include "tradebus/runtime/session_lifecycle.hpp"
#include "tradebus/runtime/transport.hpp"
#include "tradebus/schema/topics.hpp"

namespace tradebus::runtime {
namespace {

namespace topics = schema::topics;

constexpr std::size_t drain_budget = 1024;    // inbound messages per loop pass
constexpr std::int64_t probe_every_ms = 100;  // data-plane probe retry while unconfirmed
constexpr std::int64_t max_poll_ms = 100;     // upper bound on one wait (stop flag latency)
// A sys.broker.started with another epoch sends the next heartbeat early to ask the broker;
// at most once per this interval, however many arrive.
constexpr std::int64_t epoch_check_every_ms = 500;

std::string hostname() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
    return buf;
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& s : items)
        out += (out.empty() ? "" : ", ") + (s.empty() ? "\"\" (every topic)" : s);
    return out;
}

class engine final : public context, private common::loop_owner, private transport_sink {
  public:
    engine(node_config cfg, std::unique_ptr<node_logic> logic, clock& time)
        : cfg_(std::move(cfg)),
          clock_(time),
          logic_(std::move(logic)),
          rng_(common::random_id()),
          data_(zmq_, {cfg_.sndhwm, cfg_.rcvhwm, cfg_.curve, !logic_->data_endpoint().empty()}),
          control_(zmq_, cfg_.control_endpoint, std::chrono::milliseconds(cfg_.request_timeout_ms),
                   cfg_.curve),
          probe_topic_(std::string(topics::probe) + cfg_.name),
          subscriptions_(logic_->subscriptions()) {
        for (const auto& prefix : subscriptions_) data_.subscribe(prefix);
        // The runtime's own subscriptions: broker restarts, the kill switch, our probe.
        data_.subscribe(topics::broker_started);
        data_.subscribe(topics::trading);
        data_.subscribe(probe_topic_);
        if (!cfg_.xsub_endpoint.empty() && !cfg_.xpub_endpoint.empty()) {
            connect_data(cfg_.xsub_endpoint, cfg_.xpub_endpoint);
        }
    }

    int run() {
        spdlog::info("{} {} starting: kind={} config={} control={} pid={}", cfg_.name,
                     common::version(), cfg_.kind, cfg_.file, cfg_.control_endpoint, ::getpid());
        common::run_loop(*this, max_poll_ms);
        shutdown();
        return exit_code_;
    }

    // ------------------------------------------------------------------ the loop's turns
    // (common/loop.hpp) Before each wait: the control plane, the probe, the start-up phases, a
    // reload and the logic's timer; then what to wait on, until the nearest deadline.
    common::loop_owner::wait prepare() override {
        const std::int64_t now = mono_ms();
        drive_control(now);
        if (data_.connected() && !probe_ok_ && now >= next_probe_ms_) send_probe(now);
        maybe_start();
        if (running() && common::take_reload_request()) reload();
        if (running() && timer_due_ns_ != 0 && now_ns() >= timer_due_ns_) {
            timer_due_ns_ = logic_->on_timer(*this, now_ns());
        }
        return {poll_items(), next_timeout()};
    }

    [[nodiscard]] bool done() const override { return stop_; }

    // SIGHUP: the same parse and checks as at start; only the node's own table is applied.
    void reload() {
        spdlog::info("SIGHUP: reloading [{}] from {}", cfg_.kind, cfg_.file);
        std::function<void(context&)> apply;
        try {
            common::config_errors errors(cfg_.file);
            auto table = common::parse_config_file(cfg_.file, errors);
            if (table) {
                common::section root(&*table, "", errors);
                (void)read_node_config(root, cfg_.kind);
                auto own = root.table(cfg_.kind, false);
                apply = logic_->prepare_reload(own);
                if (!apply) {
                    spdlog::warn(
                        "a {} node cannot change its config while running: restart it "
                        "to apply {}",
                        cfg_.kind, cfg_.file);
                    return;
                }
                root.finish();
            }
            common::throw_if_errors(errors);
        } catch (const common::config_error& e) {
            spdlog::error("reload refused, the running config stays in force:\n{}", e.what());
            logic_->on_reload_refused(*this, e.what());
            return;
        }
        apply(*this);
        spdlog::info("reloaded [{}] from {} (other tables take effect at the next start)",
                     cfg_.kind, cfg_.file);
    }

    // ------------------------------------------------------------------ context
    void publish_event(std::string_view topic, schema::event ev) override {
        // Stamped into an envelope kept for the purpose (its src is this node's name, however
        // long, without a copy per message), then encoded with the event's body.
        stamped_.trace_id = ev.env.trace_id;
        stamper_.stamp(topic, stamped_, now_ns());
        std::visit([&](const auto& body) { schema::encode_event(stamped_, body, out_); }, ev.body);
        if (!data_.send(topic, out_)) {
            ++unconnected_drops_;
            if (auto n = unconnected_log_.hit()) {
                spdlog::warn(
                    "dropped {} event(s): data plane not connected yet (broker not "
                    "reached)",
                    n);
            }
            return;
        }
        ++counters_.published;
    }

    std::uint64_t new_trace_id() override {
        std::uint64_t id = 0;
        while (id == 0) id = rng_();
        return id;
    }
    std::int64_t now_ns() override { return clock_.now_ns(); }
    std::int64_t mono_ms() override { return clock_.mono_ms(); }
    const std::string& node_name() const override { return cfg_.name; }
    void report_health(schema::health state, std::string reason) override {
        if (state != own_health_ || reason != own_reason_) {
            spdlog::info("reporting {}{}{}", schema::to_string(state), reason.empty() ? "" : ": ",
                         reason);
        }
        own_health_ = state;
        own_reason_ = std::move(reason);
    }
    void request_stop(std::string reason) override {
        spdlog::info("stopping: {}", reason);
        stop_ = true;
    }
    zmq::context_t& zmq_context() override { return zmq_; }
    void watch_socket(zmq::socket_t& socket, std::function<void()> on_readable) override {
        unwatch_socket(socket);
        watched_.push_back({&socket, -1, ZMQ_POLLIN, ++watch_id_,
                            [f = std::move(on_readable)](short /*revents*/) { f(); }});
    }
    void unwatch_socket(zmq::socket_t& socket) override {
        std::erase_if(watched_, [&](const auto& w) { return w.socket == &socket; });
    }
    void watch_fd(int fd, short events, std::function<void(short)> on_ready) override {
        for (auto& w : watched_) {
            if (w.socket == nullptr && w.fd == fd) {  // same registration, new interest
                w.events = events;
                w.on_ready = std::move(on_ready);
                return;
            }
        }
        watched_.push_back({nullptr, fd, events, ++watch_id_, std::move(on_ready)});
    }
    void unwatch_fd(int fd) override {
        std::erase_if(watched_, [&](const auto& w) { return w.socket == nullptr && w.fd == fd; });
    }
    void announce_service(std::string service, std::string endpoint) override {
        std::erase_if(services_, [&](const auto& sv) { return sv.first == service; });
        services_.emplace_back(std::move(service), std::move(endpoint));
        announced_ = 0;  // (re-)announce them all with the next control request
        next_control_ms_ = 0;
    }
    [[nodiscard]] std::uint64_t broker_epoch() const override { return epoch_; }
    [[nodiscard]] std::uint64_t session_id() const override { return session_; }
    bool send_control(std::string request,
                      std::function<void(const schema::control_message*)> on_reply) override {
        if (logic_request_queued_ || logic_request_in_flight_) return false;
        logic_request_ = std::move(request);
        logic_reply_ = std::move(on_reply);
        logic_request_queued_ = true;
        return true;
    }

  private:
    // ------------------------------------------------------------------ data plane
    void connect_data(const std::string& xsub, const std::string& xpub) {
        const std::string own = logic_->data_endpoint();
        const std::string& from = own.empty() ? xpub : own;
        if (!data_.connect(xsub, from)) return;
        spdlog::info("data plane: publishing to {}, subscribed via {} ({})", xsub, from,
                     join(logic_->subscriptions()));
    }

    void send_probe(std::int64_t now) {
        next_probe_ms_ = now + probe_every_ms;
        probe_nonce_ = new_trace_id();
        publish(probe_topic_, schema::probe{cfg_.name, probe_nonce_}, 0);
    }

    std::int64_t next_timeout() {
        std::int64_t timeout = max_poll_ms;
        const std::int64_t now = mono_ms();
        if (control_.busy())
            timeout = std::min(timeout, std::max<std::int64_t>(0, control_.deadline_ms() - now));
        else
            timeout = std::min(timeout, std::max<std::int64_t>(0, next_control_ms_ - now));
        if (running() && timer_due_ns_ != 0) {
            const std::int64_t until = (timer_due_ns_ - now_ns() + 999'999) / 1'000'000;
            timeout = std::min(timeout, std::max<std::int64_t>(0, until));
        }
        // Only while maybe_start() drives it: while the broker is away (not registered, not
        // ready, probe unconfirmed) a passed deadline would make every wait 0 ms.
        if (recovery_ && !recovery_->done() && ready_ && probe_ok_ && registered()) {
            timeout = std::min(
                timeout, std::max<std::int64_t>(0, recovery_->next_deadline_ms() - mono_ms()));
        }
        return timeout;
    }

    std::span<zmq::pollitem_t> poll_items() {
        recovering_ = recovery_ ? recovery_->waiting_socket() : nullptr;
        polled_ = watched_;  // as polled: a callback may change watched_ before they are read
        items_.clear();
        items_.push_back({data_.inbound_socket().handle(), 0, ZMQ_POLLIN, 0});
        items_.push_back({control_.socket().handle(), 0,
                          static_cast<short>(control_.busy() ? ZMQ_POLLIN : 0), 0});
        // Slot 2 is the recovery socket awaiting a reply (or a placeholder polled for nothing).
        items_.push_back(
            {recovering_ != nullptr ? recovering_->handle() : control_.socket().handle(), 0,
             static_cast<short>(recovering_ != nullptr ? ZMQ_POLLIN : 0), 0});
        for (const auto& w : polled_) {
            items_.push_back(
                {w.socket != nullptr ? w.socket->handle() : nullptr, w.fd, w.events, 0});
        }
        return items_;
    }

    // After the wait: each readable socket, the data plane first.
    void dispatch() override {
        if (items_[0].revents & ZMQ_POLLIN)
            counters_.queue_depth = data_.drain(*this, drain_budget);
        if (items_[1].revents & ZMQ_POLLIN) {
            if (auto reply = control_.receive_frames()) on_control_reply(*reply);
        }
        if (recovering_ != nullptr && (items_[2].revents & ZMQ_POLLIN) && recovery_) {
            recovery_->on_readable(mono_ms(), [this](std::string_view topic, std::string_view raw) {
                recover_one(topic, raw);
            });
        }
        // A callback may unwatch (and close) any watched descriptor, or watch a new one that
        // reuses its number: only registrations still in place get their events.
        for (std::size_t i = 0; i < polled_.size(); ++i) {
            const short revents = items_[3 + i].revents;
            if (revents != 0 && is_watched(polled_[i].id)) polled_[i].on_ready(revents);
        }
    }

    // Before the next wait: the logic finishes the turn's batch (the journal's group commit).
    void before_sleep() override {
        if (running()) logic_->on_drained(*this);
    }

    // ------------------------------------------------------------------ recovery
    void recover_one(std::string_view topic, std::string_view raw) {
        auto decoded = schema::decode_event(raw);
        if (!decoded) {
            if (auto n = decode_log_.hit()) {
                spdlog::warn("recovery: skipped undecodable journaled event on '{}': {} ({})",
                             topic.substr(0, 64), decoded.error().to_string(), n);
            }
            return;
        }
        if (misrouted(topic, decoded.value())) return;
        if (recovery_hole(topic, decoded.value())) return;
        recovery_->note_recovered(topic, decoded.value().env);
        logic_->on_recover(*this, inbound{topic, raw, decoded.value()});
    }

    // The journal's holes (PROTOCOL.md "The recorder link"): a recorder_gap record means the
    // journal lacks messages, so the state rebuilt across it may be wrong. The node starts
    // halted unless an operator's resume (sys.trading active) was journaled after the hole.
    // Consumes both kinds of record: they are the runtime's, not the logic's.
    bool recovery_hole(std::string_view topic, const schema::event& ev) {
        if (const auto* g = std::get_if<schema::recorder_gap>(&ev.body)) {
            hole_ = "the journal lacks recorder messages " + std::to_string(g->expected_seq) +
                    ".." + std::to_string(g->first_seq - 1) + " of broker epoch " +
                    std::to_string(g->epoch) + " (" + std::to_string(g->missing) +
                    ", evicted while it was down; recorded by " + ev.env.src + ")";
            return true;
        }
        if (topic != topics::trading) return false;
        if (const auto* t = std::get_if<schema::trading_state_changed>(&ev.body);
            t != nullptr && t->state == schema::trading_state::active) {
            hole_.clear();  // an operator reconciled and resumed after it
        }
        return true;
    }

    /// Leaving phase::joining: asks the logic what to recover (node_logic::recovery); false
    /// when there is nothing to read.
    bool begin_recovery() {
        auto req = logic_->recovery(now_ns());
        if (!req) return false;
        // The journal's holes, and the operator's resumes that settle them.
        req->prefixes.emplace_back(topics::recorder_gap);
        req->prefixes.emplace_back(topics::trading);
        if (cfg_.start_fresh) {
            spdlog::warn(
                "recovery: start_fresh = true: NOT rebuilding state from the "
                "journal ({}); starting with empty state",
                join(req->prefixes));
            return false;
        }
        spdlog::info(
            "recovery: rebuilding state from the journal ({} since {} ns); not "
            "ready until done",
            join(req->prefixes), req->since_ns);
        recovery_.emplace(zmq_, cfg_.control_endpoint,
                          std::chrono::milliseconds(cfg_.request_timeout_ms),
                          cfg_.recovery_retry_ms, std::move(*req), recovery_defaults::page_records,
                          recovery_defaults::max_held, cfg_.curve);
        return true;
    }

    void release_held() {
        auto held = recovery_->release_held();
        spdlog::info(
            "recovery: done: {} journaled event(s) in {} page(s); {} live event(s) "
            "held meanwhile delivered now",
            recovery_->records(), recovery_->pages(), held.size());
        for (const auto& [topic, raw] : held) {
            if (auto ev = schema::decode_event(raw)) {
                logic_->on_event(*this, inbound{topic, raw, ev.value()});
            }
        }
    }

    bool is_watched(std::uint64_t id) const {
        return std::any_of(watched_.begin(), watched_.end(),
                           [&](const auto& w) { return w.id == id; });
    }

    // ------------------------------------------------------------------ transport_sink
    bool on_link_position(std::uint64_t epoch, std::uint64_t seq) override {
        return !running() || logic_->on_recorder_seq(*this, epoch, seq);
    }

    void on_malformed(std::string_view topic, std::string_view raw, const std::string& why,
                      bool to_logic) override {
        ++counters_.decode_errors;
        if (auto n = decode_log_.hit()) {
            spdlog::warn("dropped undecodable message on '{}': {} ({} in last period)",
                         topic.substr(0, 64), why, n);
        }
        if (to_logic && running() && matches_logic(topic)) {
            logic_->on_undecodable(*this, topic, raw, schema::decode_error{"", why});
        }
    }

    bool matches_logic(std::string_view topic) const {
        for (const auto& prefix : subscriptions_) {
            if (topics::matches(prefix, topic)) return true;
        }
        return false;
    }

    void on_message(std::string_view topic, std::string_view raw) override {
        // Decoded into one event kept for the purpose: no allocation per message.
        if (auto error = schema::decode_event(raw, received_)) {
            ++counters_.decode_errors;
            if (auto n = decode_log_.hit()) {
                spdlog::warn("dropped undecodable message on '{}': {} ({} in last period)",
                             topic.substr(0, 64), error->to_string(), n);
            }
            if (running() && matches_logic(topic)) {
                logic_->on_undecodable(*this, topic, raw, *error);
            }
            return;
        }
        const schema::event& ev = received_;
        if (misrouted(topic, ev)) {
            if (running() && matches_logic(topic)) {
                logic_->on_misrouted(*this, inbound{topic, raw, ev});
            }
            return;
        }
        ++counters_.received;
        // Probes are not data: a node sends its own again until one comes back, so those sent
        // while the broker was away are lost by design (PROTOCOL.md "Sequence numbers").
        const auto seen = topic.starts_with(topics::probe)
                              ? gap_tracker::observation{gap_tracker::outcome::in_order}
                              : gaps_.observe(ev.env.src, topic, ev.env.seq, ev.env.inc);
        if (seen.what == gap_tracker::outcome::gap) {
            counters_.gaps = gaps_.gaps();
            if (auto n = gap_log_.hit()) {
                spdlog::warn(
                    "sequence gap from {} on {}: expected {}, got {} ({} lost; {} gap "
                    "events in last period)",
                    ev.env.src, topic, seen.expected, ev.env.seq, seen.missing, n);
            }
        } else if (seen.what == gap_tracker::outcome::restart) {
            if (auto n = restart_log_.hit()) {
                spdlog::info(
                    "{} restarted its sequence on {} (was at {}, now {}; {} restart(s) in last "
                    "period)",
                    ev.env.src, topic, seen.expected - 1, ev.env.seq, n);
            }
        }
        handle_runtime_event(topic, ev);
        if (!matches_logic(topic)) return;
        if (!running()) {
            if (recovery_ && recovery_->wants(topic)) {
                recovery_->hold(topic, raw);  // released after recovery, minus what it replayed
            } else if (phase_ == phase::late_join) {
                late_.seen_before_start(topic, ev.env, raw);
            }
        } else if (!late_.is_duplicate(topic, ev.env)) {
            logic_->on_event(*this, inbound{topic, raw, ev});
        }
    }

    void handle_runtime_event(std::string_view topic, const schema::event& ev) {
        if (const auto* p = std::get_if<schema::probe>(&ev.body)) {
            if (topic == probe_topic_ && p->node == cfg_.name && !probe_ok_) {
                probe_ok_ = true;
                spdlog::info("data plane confirmed: our own probe came back through the broker");
            }
        } else if (const auto* b = std::get_if<schema::broker_started>(&ev.body)) {
            // On sys.broker.started (anywhere else it was dropped as misrouted), where only the
            // broker can publish. Still only a hint: the control plane confirms or not.
            if (b->epoch != epoch_)
                session(in_flight_, {session_event::epoch_hint, nullptr, nullptr, {}, b->epoch});
        } else if (const auto* t = std::get_if<schema::trading_state_changed>(&ev.body)) {
            if (topic == topics::trading) {
                held_trading_ = false;  // an operator's decision: the broker's word again
                set_trading(t->state, t->reason);
            }
        }
    }

    // An event whose type does not belong to the topic it came on (PROTOCOL.md "Data plane
    // frames"): counted, logged rate-limited and acted on by nobody, whoever sent it (a
    // broker_started body on md.tick.AAPL or sys.probe.<node> is no broker restart).
    bool misrouted(std::string_view topic, const schema::event& ev) {
        if (topics::type_belongs(ev.type_name(), topic)) return false;
        ++counters_.misrouted;
        if (auto n = misrouted_log_.hit()) {
            spdlog::warn(
                "ignored a '{}' event from '{}' on '{}': that type does not belong to that "
                "topic ({} in last period)",
                ev.type_name(), ev.env.src.substr(0, 64), topic.substr(0, 64), n);
        }
        return true;
    }

    void set_trading(schema::trading_state state, const std::string& reason) {
        if (state == trading_) return;
        spdlog::warn("trading state {} -> {}{}{}", schema::to_string(trading_),
                     schema::to_string(state), reason.empty() ? "" : ": ", reason);
        trading_ = state;
        logic_->on_trading_state(*this, state, reason);
    }

    // ------------------------------------------------------------------ control plane
    // The session with the broker is one table (session_lifecycle.cpp): what happened is
    // classified into a session_event, the request that was in flight is the guard, and the
    // row's action is carried out here. Nothing else changes session_state_.
    struct happening {
        session_event event;
        const schema::control_message* reply = nullptr;  // the decoded reply, if any
        std::vector<std::string>* frames = nullptr;      // every frame of it (snapshot pairs)
        std::string why = {};                            // undecodable: the decode error
        std::uint64_t announced_epoch = 0;               // epoch_hint: the epoch announced
    };

    [[nodiscard]] bool registered() const noexcept { return state_ == session_state::registered; }

    // `request`: the one the event answers (taken out of in_flight_), or, for a hint or the
    // stop, what is in flight meanwhile.
    void session(session_request request, happening h) {
        const session_row& row = session_step(state_, h.event, request);
        if (row.next) state_ = *row.next;
        switch (row.action) {
            case session_action::adopt:
                adopt(std::get<schema::register_reply>(*h.reply));
                break;
            case session_action::refresh:
                refresh(std::get<schema::heartbeat_reply>(*h.reply));
                break;
            case session_action::re_register: {
                const auto* hb =
                    h.reply != nullptr ? std::get_if<schema::heartbeat_reply>(h.reply) : nullptr;
                if (hb != nullptr) {
                    note_epoch(hb->epoch);
                    spdlog::warn("broker epoch changed ({} -> {}): re-registering", epoch_,
                                 hb->epoch);
                } else {
                    spdlog::warn("broker does not know our session ({}): re-registering",
                                 std::get<schema::error_reply>(*h.reply).reason);
                }
                lose_session();
                break;
            }
            case session_action::stop_replaced:
                spdlog::critical("broker gave our name to another instance ({}): stopping",
                                 std::get<schema::error_reply>(*h.reply).reason);
                session_ = 0;
                exit_code_ = 1;
                stop_ = true;
                break;
            case session_action::retry_at_cap:
            case session_action::log_refusal: {
                const auto& e = std::get<schema::error_reply>(*h.reply);
                if (refusal_log_.hit() != 0) {
                    spdlog::error("broker refused {}: {}: {} (retrying every {} ms)",
                                  request == session_request::register_
                                      ? std::string_view("registration")
                                      : to_string(request),
                                  e.code, e.reason,
                                  row.action == session_action::retry_at_cap ? cfg_.retry_max_ms
                                                                             : heartbeat_ms_);
                }
                if (row.action == session_action::retry_at_cap) {
                    next_control_ms_ = mono_ms() + cfg_.retry_max_ms;
                }
                break;
            }
            case session_action::announced:
                spdlog::info("announced: {}", std::get<schema::ok_reply>(*h.reply).detail);
                ++announced_;
                break;
            case session_action::retry_announce: {
                const auto& e = std::get<schema::error_reply>(*h.reply);
                spdlog::error("broker refused to announce service {}: {}: {} (retrying)",
                              services_[announced_].first, e.code, e.reason);
                next_control_ms_ = mono_ms() + heartbeat_ms_;
                break;
            }
            case session_action::back_off:
                back_off(request);
                break;
            case session_action::to_snapshot:
                on_snapshot_reply(h);
                break;
            case session_action::to_logic:
            case session_action::to_logic_then_re_register: {
                logic_request_in_flight_ = false;
                auto done = std::move(logic_reply_);
                if (done) done(h.reply);
                if (row.action == session_action::to_logic_then_re_register) {
                    spdlog::warn("broker does not know our session ({}): re-registering",
                                 std::get<schema::error_reply>(*h.reply).reason);
                    lose_session();
                }
                break;
            }
            case session_action::ask_broker:
                ask_epoch(h.announced_epoch);
                break;
            case session_action::deregister:
                deregister();
                break;
            case session_action::nothing:
                break;
            case session_action::warn:
                if (control_log_.hit() != 0) {
                    spdlog::warn("control plane: {} while {} (request in flight: {}): ignored{}{}",
                                 to_string(h.event), to_string(state_), to_string(request),
                                 h.why.empty() ? "" : ": ", h.why);
                }
                break;
        }
    }

    // A control reply arrived for the request in flight.
    void on_control_reply(std::vector<std::string>& frames) {
        failures_ = 0;
        auto decoded = schema::decode_control(frames.front());
        if (!decoded) {
            session(take_in_flight(),
                    {session_event::undecodable, nullptr, &frames, decoded.error().to_string()});
            return;
        }
        const schema::control_message& m = decoded.value();
        session(take_in_flight(), {classify(m), &m, &frames});
    }

    session_request take_in_flight() noexcept {
        return std::exchange(in_flight_, session_request::none);
    }

    session_event classify(const schema::control_message& m) const {
        if (std::holds_alternative<schema::register_reply>(m)) return session_event::register_ok;
        if (const auto* hb = std::get_if<schema::heartbeat_reply>(&m)) {
            return hb->epoch == epoch_ ? session_event::heartbeat_ok : session_event::epoch_changed;
        }
        if (std::holds_alternative<schema::ok_reply>(m)) return session_event::ok;
        if (std::holds_alternative<schema::snapshot_reply>(m)) return session_event::snapshot_ok;
        if (const auto* e = std::get_if<schema::error_reply>(&m)) {
            if (e->code == schema::error_code::unknown_session) {
                return session_event::unknown_session;
            }
            if (e->code == schema::error_code::duplicate_name) {
                return session_event::duplicate_name;
            }
            return session_event::refused;
        }
        return session_event::other_reply;
    }

    // A sys.broker.started announcing another epoch: ask the broker (the next heartbeat, sent
    // now) instead of believing it. Its reply re-registers us only if the broker really changed
    // (unknown_session, or heartbeat_ok with another epoch): nothing on the data plane can.
    void ask_epoch(std::uint64_t announced) {
        const std::int64_t now = mono_ms();
        announced_epoch_ = announced;
        if (now < next_epoch_check_ms_) return;
        next_epoch_check_ms_ = now + epoch_check_every_ms;
        spdlog::info("sys.broker.started announces epoch {} (ours {}): asking the broker",
                     announced, epoch_);
        next_control_ms_ = std::min(next_control_ms_, now);
    }

    // Tells the logic about a broker restart once per new epoch, whichever control-plane reply
    // showed it first (a heartbeat reply or the re-registration; sys.broker.started alone never
    // does: it only makes us ask).
    void note_epoch(std::uint64_t epoch) {
        if (epoch == 0 || epoch == seen_epoch_) return;
        const std::uint64_t old = seen_epoch_;
        seen_epoch_ = epoch;
        if (old != 0 && running()) logic_->on_broker_restart(*this, old, epoch);
    }

    void lose_session() {
        session_ = 0;
        probe_ok_ = false;  // prove the data plane again through the new broker
        next_control_ms_ = 0;
        // A request still in flight carries the lost session: its reply is nobody's now.
        if (control_.busy()) control_.expire(std::numeric_limits<std::int64_t>::max());
        in_flight_ = session_request::none;
        abandon_logic_request(true);  // it carries the lost session: the logic asks again
    }

    // The logic's request got no reply (timeout), or will carry a lost session (`queued_too`):
    // tell it, so it may ask again.
    void abandon_logic_request(bool queued_too = false) {
        if (!logic_request_in_flight_ && !(queued_too && logic_request_queued_)) return;
        logic_request_in_flight_ = false;
        logic_request_queued_ = false;
        auto done = std::move(logic_reply_);
        if (done) done(nullptr);
    }

    void back_off(session_request request) {
        if (request == session_request::logic) abandon_logic_request();
        ++failures_;
        const std::int64_t now = mono_ms();
        const std::int64_t backoff = std::min<std::int64_t>(
            cfg_.retry_max_ms, cfg_.heartbeat_interval_ms / 4 << std::min(failures_, 6));
        std::uniform_int_distribution<std::int64_t> jitter(0, backoff / 4);
        next_control_ms_ = now + backoff + jitter(rng_);
        if (auto n = control_log_.hit()) {
            spdlog::warn(
                "broker at {} did not answer {} within {} ms (attempt {}); retrying "
                "in {} ms",
                cfg_.control_endpoint, to_string(request), cfg_.request_timeout_ms, failures_,
                next_control_ms_ - now);
            (void)n;
        }
    }

    void send(session_request request, const std::string& frame, std::int64_t now) {
        control_.send(frame, now);
        in_flight_ = request;
    }

    void drive_control(std::int64_t now) {
        if (state_ == session_state::replaced) return;  // stopping: the name is another's
        if (control_.expire(now)) {
            session(take_in_flight(), {session_event::no_reply});
            return;
        }
        if (control_.busy()) return;
        if (now < next_control_ms_) {
            // The logic's own request (the journal's recorder_ack) goes between heartbeats.
            if (registered() && logic_request_queued_ && announced_ >= services_.size()) {
                logic_request_queued_ = false;
                logic_request_in_flight_ = true;
                send(session_request::logic, logic_request_, now);
            }
            return;
        }
        if (registered() && announced_ < services_.size()) {
            const auto& [service, endpoint] = services_[announced_];
            schema::encode_control(schema::announce_request{cfg_.name, session_, service, endpoint},
                                   ctl_out_);
            send(session_request::announce, ctl_out_, now);
            return;  // the heartbeat goes right after the reply
        }
        if (!registered()) {
            schema::register_request req;
            req.name = cfg_.name;
            req.kind = cfg_.kind;
            req.host = hostname();
            req.version = std::string(common::version());
            req.pid = ::getpid();
            req.publishes = logic_->publications();
            req.subscribes = logic_->subscriptions();
            req.depends_on = cfg_.depends_on;
            req.heartbeat_interval_ms = cfg_.heartbeat_interval_ms;
            schema::encode_control(req, ctl_out_);
            send(session_request::register_, ctl_out_, now);
        } else {
            schema::heartbeat_request hb;
            hb.name = cfg_.name;
            hb.session_id = session_;
            hb.state = current_health();
            hb.counters = counters_;
            const common::process_resources own = common::read_own_resources();
            hb.counters.cpu_ms = own.cpu_ms;
            hb.counters.rss_bytes = own.rss_bytes;
            hb.counters.open_fds = own.open_fds;
            schema::encode_control(hb, ctl_out_);
            send(session_request::heartbeat, ctl_out_, now);
        }
        next_control_ms_ = now + heartbeat_ms_;
    }

    schema::health current_health() const {
        if (!running()) return schema::health::starting;
        if (!probe_ok_) return schema::health::degraded;
        return own_health_;
    }

    void adopt(const schema::register_reply& r) {
        announced_epoch_ = 0;  // answered: this is the broker's epoch
        const bool new_epoch = epoch_ != 0 && r.epoch != epoch_;
        note_epoch(r.epoch);
        announced_ = 0;  // a new session: offer our services again
        session_ = r.session_id;
        epoch_ = r.epoch;
        liveness_ = r.liveness;
        if (r.heartbeat_interval_ms > 0) heartbeat_ms_ = r.heartbeat_interval_ms;
        next_control_ms_ = mono_ms() + heartbeat_ms_;
        spdlog::info("registered with broker (epoch {}, session {}, heartbeat {} ms x {}){}",
                     epoch_, session_, heartbeat_ms_, liveness_, new_epoch ? " after restart" : "");
        connect_data(cfg_.xsub_endpoint.empty() ? r.xsub_endpoint : cfg_.xsub_endpoint,
                     cfg_.xpub_endpoint.empty() ? r.xpub_endpoint : cfg_.xpub_endpoint);
        on_readiness(r.ready, r.waiting_for);
        // A restarted broker's word never lifts a halt this node is under: only an operator's
        // sys.trading does (README "Trading state"). Stricter news is taken at once.
        if (new_epoch && r.trading < trading_) {
            held_trading_ = true;
            spdlog::warn(
                "the restarted broker reports trading {}, but this node was {}: staying {} "
                "until an operator's halt or resume (sys.trading)",
                schema::to_string(r.trading), schema::to_string(trading_),
                schema::to_string(trading_));
        } else if (!held_trading_ || r.trading > trading_) {
            set_trading(r.trading, "reported by the broker");
        }
        common::notify_status("registered; " + std::string(ready_ ? "ready" : "waiting"));
    }

    void refresh(const schema::heartbeat_reply& r) {
        const std::uint64_t announced = std::exchange(announced_epoch_, 0);
        if (announced != 0 && announced != epoch_) {
            if (auto n = unconfirmed_log_.hit()) {
                spdlog::warn(
                    "the broker's control plane still reports epoch {}: not re-registering for "
                    "a sys.broker.started announcing epoch {} ({} in last period)",
                    epoch_, announced, n);
            }
        }
        on_readiness(r.ready, r.waiting_for);
        if (!held_trading_ || r.trading > trading_) {
            set_trading(r.trading, "reported by the broker");
        }
    }

    void on_readiness(bool ready, const std::vector<std::string>& waiting) {
        if (!ready && waiting != waiting_for_) {
            spdlog::info("waiting for dependencies: {}", join(waiting));
        }
        waiting_for_ = waiting;
        ready_ = ready;
    }

    // ------------------------------------------------------------------ late join
    // After subscribing (probe confirmed) and before on_start: the broker's last value of each
    // subscribed prefix, one page per request (late_join.hpp, README "Late joiners").
    void request_snapshot() {
        if (control_.busy()) return;
        const auto req = late_.next_request();
        if (!req) return;
        schema::encode_control(*req, ctl_out_);
        send(session_request::snapshot, ctl_out_, mono_ms());
    }

    void on_snapshot_reply(const happening& h) {
        const auto* header =
            h.reply != nullptr ? std::get_if<schema::snapshot_reply>(h.reply) : nullptr;
        if (header == nullptr) {
            const std::string why =
                h.reply == nullptr ? h.why
                                   : (std::holds_alternative<schema::error_reply>(*h.reply)
                                          ? std::get<schema::error_reply>(*h.reply).reason
                                          : "reply " + std::string(schema::type_name(*h.reply)));
            spdlog::warn("broker gave no last-value snapshot ({}); starting without cached values",
                         why);
            late_.give_up();
            return;
        }
        if (auto error = late_.on_reply(*header, *h.frames)) {
            ++counters_.decode_errors;
            spdlog::warn("malformed snapshot reply: {}; skipping that prefix", *error);
        }
    }

    void deliver_snapshot() {
        auto cached = late_.take_for_start();
        counters_.decode_errors += late_.undecodable();
        for (const auto& item : cached) {
            const auto decoded = schema::decode_event(item.body);
            if (decoded && !misrouted(item.topic, decoded.value())) {
                logic_->on_event(*this, inbound{item.topic, item.body, decoded.value()});
            }
        }
        if (logic_->wants_last_values()) {
            spdlog::info("late join: {} last value(s) from the broker's cache delivered",
                         cached.size());
        }
    }

    // The start-up phases, each entered once and in order (phase). Every one before running
    // needs a session, every dependency ready and the own probe back: while the broker is
    // away (or restarts) the phase waits where it is.
    void maybe_start() {
        if (running() || !ready_ || !probe_ok_ || !registered()) return;
        if (phase_ == phase::joining)
            enter(begin_recovery() ? phase::recovering : phase::late_join);
        if (phase_ == phase::recovering) {
            recovery_->drive(mono_ms());
            if (!recovery_->done()) return;
            enter(phase::late_join);
        }
        if (!late_.done()) {
            request_snapshot();
            return;
        }
        enter(phase::running);
        spdlog::info("{} ready: dependencies healthy ({}), data plane confirmed; starting work",
                     cfg_.name, cfg_.depends_on.empty() ? "none" : join(cfg_.depends_on));
        logic_->on_start(*this);
        deliver_snapshot();
        if (recovery_) release_held();
        if (!hole_.empty()) {
            // Not the broker's word: only the next sys.trading (an operator's) lifts it.
            held_trading_ = true;
            spdlog::error("recovery: {}: starting HALTED until an operator resumes", hole_);
            set_trading(schema::trading_state::halted, "recovered across a journal hole: " + hole_ +
                                                           "; reconcile, then tradebus resume");
        }
        timer_due_ns_ = logic_->on_timer(*this, now_ns());
        common::notify_ready("running");
        next_control_ms_ = 0;  // tell the broker we are healthy now, not in a second
    }

    void shutdown() {
        spdlog::info("{} stopping", cfg_.name);
        common::notify_stopping();
        if (running()) logic_->on_stop(*this);
        session(in_flight_, {session_event::stop});
        spdlog::info("{} stopped: published {}, received {}, gaps {}, decode errors {}", cfg_.name,
                     counters_.published, counters_.received, counters_.gaps,
                     counters_.decode_errors);
    }

    // The session's end (session_action::deregister): one bounded request.
    void deregister() {
        schema::deregister_request req{cfg_.name, std::exchange(session_, 0)};
        schema::encode_control(req, ctl_out_);
        // A second stop signal (Ctrl-C twice, a supervisor repeating SIGTERM) cuts the wait
        // short: the broker then notices the silence instead. Still a clean stop.
        std::optional<std::string> reply;
        try {
            reply = control_.request(ctl_out_);
        } catch (const zmq::error_t& e) {
            if (e.num() != EINTR) throw;
        }
        if (reply) {
            spdlog::info("deregistered");
        } else {
            spdlog::warn("broker did not acknowledge deregister; exiting anyway");
        }
    }

    node_config cfg_;
    clock& clock_;  // the only time the engine reads (clock.hpp)
    std::unique_ptr<node_logic> logic_;
    std::mt19937_64 rng_;
    zmq::context_t zmq_{1};
    zmq_transport data_;  // the data plane (transport.hpp)
    control_client control_;
    std::string probe_topic_;
    // The logic's subscriptions, asked once: the socket's, and what matches_logic() checks on
    // every message.
    std::vector<std::string> subscriptions_;
    std::string out_, ctl_out_;
    schema::event received_;    // the data plane's last message, decoded in place (on_message)
    schema::envelope stamped_;  // the envelope of what publish_event() sends
    // This process's incarnation (the envelope's inc): subscribers tell a restart by it.
    envelope_stamper stamper_{cfg_.name, common::random_id()};
    gap_tracker gaps_;
    schema::node_counters counters_;
    common::rate_limited decode_log_, gap_log_, restart_log_, control_log_,
        refusal_log_{std::chrono::seconds(10)}, unconnected_log_, misrouted_log_, unconfirmed_log_;

    bool probe_ok_ = false, ready_ = false, stop_ = false;
    // Start-up, in this order (maybe_start); only ever forward.
    enum class phase : std::uint8_t {
        joining,     // until registered, every dependency ready and the own probe back
        recovering,  // rebuilding state from the journal (node_logic::recovery)
        late_join,   // the broker's last values (node_logic::wants_last_values)
        running,     // on_start called: the logic gets events, timers, reloads and on_stop
    };
    phase phase_ = phase::joining;
    [[nodiscard]] bool running() const noexcept { return phase_ == phase::running; }
    void enter(phase next) noexcept { phase_ = std::max(phase_, next); }
    // Recovery (node_logic::recovery) and the logic's own sockets and services.
    std::optional<recovery_client> recovery_;
    std::string hole_;  // the last journal hole recovery crossed that no resume settled
    // A watched ZeroMQ socket (socket set, POLLIN) or file descriptor (socket null, fd, events).
    struct watched_item {
        zmq::socket_t* socket;
        int fd;
        short events;
        std::uint64_t id;  // unique per registration: a reused fd number is another one
        std::function<void(short revents)> on_ready;
    };
    std::vector<watched_item> watched_;
    std::vector<watched_item> polled_;  // watched_ as this turn polled it
    std::uint64_t watch_id_ = 0;
    zmq::socket_t* recovering_ = nullptr;  // the recovery socket this turn polled, if any
    std::vector<zmq::pollitem_t> items_;
    std::vector<std::pair<std::string, std::string>> services_;  // service, endpoint
    std::size_t announced_ = 0;
    session_state state_ = session_state::unregistered;
    session_request in_flight_ = session_request::none;  // the control request awaiting a reply
    std::uint64_t probe_nonce_ = 0, session_ = 0, epoch_ = 0, unconnected_drops_ = 0;
    std::uint64_t seen_epoch_ = 0;          // the last epoch on_broker_restart was told about
    std::uint64_t announced_epoch_ = 0;     // a sys.broker.started epoch the broker is asked about
    std::int64_t next_epoch_check_ms_ = 0;  // no early heartbeat for another one before this
    std::int64_t next_probe_ms_ = 0, next_control_ms_ = 0, timer_due_ns_ = 0;
    std::int64_t heartbeat_ms_ = cfg_.heartbeat_interval_ms, liveness_ = 0;
    int failures_ = 0;
    int exit_code_ = 0;
    std::vector<std::string> waiting_for_;
    schema::health own_health_ = schema::health::healthy;
    std::string own_reason_;
    schema::trading_state trading_ = schema::trading_state::active;
    // True while this node keeps a stricter state than a restarted broker reported, until the
    // next sys.trading (an operator's halt or resume).
    bool held_trading_ = false;
    late_join late_{logic_->wants_last_values() ? logic_->subscriptions()
                                                : std::vector<std::string>{}};
    // The logic's own control request (context::send_control): queued, then in flight.
    std::string logic_request_;
    std::function<void(const schema::control_message*)> logic_reply_;
    bool logic_request_queued_ = false, logic_request_in_flight_ = false;
};

}  // namespace

int run_node(int argc, char** argv, std::string_view kind, logic_factory factory) {
    const std::string exe = "tradebus-" + std::string(kind);
    return common::daemon_main(argc, argv,
                               {exe, "the " + std::string(kind) + " node of a tradebus pipeline",
                                "node configuration (TOML)", true},
                               [&](const std::string& path) {
                                   common::config_errors errors(path);
                                   auto cfg = std::make_shared<node_config>();
                                   auto logic = std::make_shared<std::unique_ptr<node_logic>>();
                                   auto table = common::parse_config_file(path, errors);
                                   if (table) {
                                       common::section root(&*table, "", errors);
                                       *cfg = read_node_config(root, kind);
                                       cfg->file = path;
                                       auto own = root.table(kind, false);
                                       *logic = factory(own);
                                       (*logic)->configure(cfg->name, cfg->session);
                                       root.finish();
                                   }
                                   common::throw_if_errors(errors);
                                   return common::daemon_run{
                                       cfg->name, cfg->log_level, [cfg, logic] {
                                           engine e(std::move(*cfg), std::move(*logic),
                                                    system_clock());
                                           return e.run();
                                       }};
                               });
}

}  // namespace tradebus::runtime
