#include "tradebus/broker/metrics.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <string>
#include <vector>

#include "tradebus/broker/control_plane.hpp"
#include "tradebus/broker/data_stats.hpp"
#include "tradebus/broker/defaults.hpp"
#include "tradebus/broker/last_value_cache.hpp"
#include "tradebus/common/process.hpp"

namespace tradebus::broker {

namespace {

// The format's escapes: backslash and line feed always, double quote in label values only.
void escape(std::string_view text, bool quote, std::string& out) {
    for (const char c : text) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '"' && quote) {
            out += "\\\"";
        } else {
            out += c;
        }
    }
}

}  // namespace

void exposition::escape_label_value(std::string_view value, std::string& out) {
    escape(value, true, out);
}

void exposition::escape_help(std::string_view help, std::string& out) { escape(help, false, out); }

void exposition::family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    escape_help(help, out_);
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
}

void exposition::labels(std::string_view name, std::initializer_list<label> labels) {
    out_ += name;
    if (labels.size() == 0) return;
    char sep = '{';
    for (const auto& [key, value] : labels) {
        out_ += sep;
        out_ += key;
        out_ += "=\"";
        escape_label_value(value, out_);
        out_ += '"';
        sep = ',';
    }
    out_ += '}';
}

void exposition::sample(std::string_view name, std::initializer_list<label> l,
                        std::uint64_t value) {
    labels(name, l);
    out_ += ' ';
    out_ += std::to_string(value);
    out_ += '\n';
}

void exposition::sample(std::string_view name, std::initializer_list<label> l, double value) {
    labels(name, l);
    out_ += ' ';
    if (std::isnan(value)) {
        out_ += "NaN";
    } else if (std::isinf(value)) {
        out_ += value > 0 ? "+Inf" : "-Inf";
    } else {
        std::array<char, 32> buf{};
        const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), value);
        out_.append(buf.data(), r.ptr);
    }
    out_ += '\n';
}

namespace {

double seconds(std::int64_t ms) { return static_cast<double>(ms) / 1000.0; }

void broker_families(const metrics_sources& src, std::int64_t now_ms, exposition& out) {
    const control_plane& cp = src.control;
    const std::string epoch = std::to_string(cp.epoch());
    out.family("tradebus_broker_info", "gauge",
               "Always 1; labels: broker name, version and epoch (a new random epoch per start).");
    out.sample("tradebus_broker_info",
               {{"name", src.broker_name}, {"version", common::version()}, {"epoch", epoch}},
               std::uint64_t{1});
    out.family("tradebus_broker_uptime_seconds", "gauge", "Seconds since the broker started.");
    out.sample("tradebus_broker_uptime_seconds", {}, seconds(now_ms - cp.start_ms()));

    out.family("tradebus_trading_state", "gauge",
               "1 for the current trading state (active, reducing, halted), 0 for the others.");
    for (const auto s : {schema::trading_state::active, schema::trading_state::reducing,
                         schema::trading_state::halted}) {
        out.sample("tradebus_trading_state", {{"state", schema::to_string(s)}},
                   std::uint64_t{cp.trading() == s ? 1u : 0u});
    }
    // A family of its own rather than more labels on tradebus_trading_state: a query on the
    // desk's state (tradebus_trading_state{state="halted"} == 1) keeps meaning the desk.
    out.family("tradebus_trading_scope_state", "gauge",
               "1 per symbol or strategy scope of the kill switch in force (halted or reducing); "
               "a scope that is not listed is active.");
    for (const auto& [topic, sc] : cp.scopes()) {
        out.sample("tradebus_trading_scope_state",
                   {{"scope", sc.symbol.empty() ? "strategy" : "symbol"},
                    {"name", sc.symbol.empty() ? sc.strategy : sc.symbol},
                    {"state", schema::to_string(sc.record.state)}},
                   std::uint64_t{1});
    }

    out.family("tradebus_control_requests_total", "counter",
               "Control-plane requests handled, by request type (\"invalid\" = not decodable).");
    for (const auto& [type, n] : cp.requests()) {
        out.sample("tradebus_control_requests_total", {{"type", type}}, n);
    }
    out.family("tradebus_control_replies_dropped_total", "counter",
               "Control replies the broker could not queue, by reason: peer_queue_full = the "
               "client had 1000 unread replies (it pipelines without reading), peer_gone = it "
               "disconnected first.");
    for (std::size_t i = 0; i < reply_drop_names.size(); ++i) {
        out.sample("tradebus_control_replies_dropped_total", {{"reason", reply_drop_names[i]}},
                   cp.replies_dropped()[i]);
    }
}

void data_families(const data_stats& d, std::int64_t now_ms, exposition& out) {
    out.family("tradebus_messages_received_total", "counter",
               "Messages read from the XSUB socket (publishers), valid or not.");
    out.sample("tradebus_messages_received_total", {}, d.received);
    out.family("tradebus_messages_forwarded_total", "counter",
               "Messages sent on the XPUB socket: forwarded plus the broker's own sys.* events.");
    out.sample("tradebus_messages_forwarded_total", {}, d.forwarded);
    out.family("tradebus_messages_dropped_total", "counter",
               "Messages the broker dropped, by reason (see PROTOCOL.md \"Broker behaviour\").");
    for (std::size_t i = 0; i < drop_reason_count; ++i) {
        out.sample("tradebus_messages_dropped_total", {{"reason", drop_reason_names[i]}},
                   d.drops[i]);
    }
    out.family("tradebus_subscriptions_total", "counter",
               "Subscribe frames passed upstream from subscribers to publishers.");
    out.sample("tradebus_subscriptions_total", {}, d.subscriptions);
    out.family("tradebus_unsubscriptions_total", "counter",
               "Unsubscribe frames passed upstream from subscribers to publishers.");
    out.sample("tradebus_unsubscriptions_total", {}, d.unsubscriptions);

    out.family("tradebus_topics_tracked", "gauge",
               "Topics with their own counters (at most data.max_topics_tracked).");
    out.sample("tradebus_topics_tracked", {}, static_cast<std::uint64_t>(d.topics.tracked()));
    out.family("tradebus_topics_expired_total", "counter",
               "Topic rows removed after data.topic_idle_s without a message (their counts "
               "moved to topic=\"*other*\").");
    out.sample("tradebus_topics_expired_total", {}, d.topics.removed());

    out.family("tradebus_risk_trading_state", "gauge",
               "One sample per risk node, value 1: the state it last published on risk.state "
               "(since this broker started); by=\"risk\" when its own rule set it (the daily "
               "loss past reducing_daily_loss: reducing, past max_daily_loss: halted), "
               "by=\"operator\" when an operator's halt or resume did.");
    for (const auto& [node, seen] : d.risk_states) {
        out.sample("tradebus_risk_trading_state",
                   {{"node", node},
                    {"state", schema::to_string(seen.state)},
                    {"by", seen.by_operator ? "operator" : "risk"}},
                   std::uint64_t{1});
    }

    if (!d.recorder.enabled) return;
    const recorder_counters& r = d.recorder;
    out.family("tradebus_recorder_sent_total", "counter",
               "Messages the recorder link took (first sends and redeliveries).");
    out.sample("tradebus_recorder_sent_total", {}, r.sent);
    out.family("tradebus_recorder_retained", "gauge",
               "Recorder-link messages kept until the journal acknowledges them.");
    out.sample("tradebus_recorder_retained", {}, r.retained);
    out.family("tradebus_recorder_retained_bytes", "gauge",
               "Topic + body bytes of the retained recorder-link messages.");
    out.sample("tradebus_recorder_retained_bytes", {}, r.retained_bytes);
    out.family("tradebus_recorder_evicted_total", "counter",
               "Recorder-link messages dropped unacknowledged at recorder.retain_messages or "
               "retain_bytes (a journal resuming before them records a gap).");
    out.sample("tradebus_recorder_evicted_total", {}, r.evicted);
    out.family("tradebus_recorder_redelivered_total", "counter",
               "Recorder-link messages sent again after a recorder_resume.");
    out.sample("tradebus_recorder_redelivered_total", {}, r.redelivered);
    // Stalled while messages wait for the recorder (as the status reply's `stalled`).
    const bool stalled = r.held > 0;
    out.family("tradebus_recorder_stalled", "gauge",
               "1 while the broker has stopped reading publishers until the journal's recorder "
               "link takes more (a slow or absent journal paces the bus), else 0.");
    out.sample("tradebus_recorder_stalled", {}, std::uint64_t{stalled ? 1u : 0u});
    out.family("tradebus_recorder_stalls_total", "counter",
               "Times the broker stopped reading publishers for the recorder link.");
    out.sample("tradebus_recorder_stalls_total", {}, r.stalls);
    out.family("tradebus_recorder_stalled_seconds_total", "counter",
               "Time the broker spent not reading publishers for the recorder link, the current "
               "stall included.");
    const std::int64_t current =
        stalled ? std::max<std::int64_t>(0, now_ms - r.stalled_since_ms) : std::int64_t{0};
    out.sample("tradebus_recorder_stalled_seconds_total", {},
               static_cast<double>(r.stalled_ms) / 1000.0 + seconds(current));
    out.family("tradebus_recorder_overflow_total", "counter",
               "The broker's own sys.* events dropped during a stall (its hold queue was full).");
    out.sample("tradebus_recorder_overflow_total", {}, r.overflow);
    out.family("tradebus_recorder_acked_sequence", "gauge",
               "The last recorder-link sequence number the journal acknowledged as written (this "
               "broker epoch): flat while messages are sent means the journal is not writing.");
    out.sample("tradebus_recorder_acked_sequence", {}, r.acked);
    out.family("tradebus_recorder_sequence", "gauge",
               "The last recorder-link sequence number the broker gave (this broker epoch).");
    out.sample("tradebus_recorder_sequence", {}, r.seq);
}

// The two per-topic families, one bucket range at a time (metrics_render).
constexpr std::string_view topic_messages = "tradebus_topic_messages_total";
constexpr std::string_view topic_bytes = "tradebus_topic_bytes_total";

void topic_family_head(std::string_view name, exposition& out) {
    if (name == topic_messages) {
        out.family(topic_messages, "counter",
                   "Messages sent on XPUB per topic; topic=\"*other*\" counts topics beyond "
                   "data.max_topics_tracked and rows expired after data.topic_idle_s.");
    } else {
        out.family(topic_bytes, "counter",
                   "Bytes (topic + body frames) sent on XPUB per topic, as the messages counter.");
    }
}

void topic_row(std::string_view name, std::string_view topic, const topic_count& c,
               exposition& out) {
    out.sample(name, {{"topic", topic}}, name == topic_messages ? c.messages : c.bytes);
}

void topic_family_tail(std::string_view name, const topic_counters& t, exposition& out) {
    if (t.other().messages > 0) topic_row(name, defaults::other_topic, t.other(), out);
}

void node_families(const control_plane& cp, std::int64_t now_ms, exposition& out) {
    // Registered nodes, then configured nodes that never registered (state stopped), as status.
    const std::vector<std::string> configured = cp.graph().configured_names();
    std::vector<std::pair<std::string_view, const node_record*>> nodes;
    for (const auto& [name, rec] : cp.nodes().records()) nodes.emplace_back(name, &rec);
    for (const auto& name : configured) {
        if (cp.nodes().find(name) == nullptr) nodes.emplace_back(name, nullptr);
    }
    std::sort(nodes.begin(), nodes.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });

    out.family("tradebus_node_info", "gauge",
               "Always 1 per registered node; labels: its kind, host and version (join on node "
               "to select nodes by kind).");
    for (const auto& [name, rec] : nodes) {
        if (rec != nullptr) {
            out.sample("tradebus_node_info",
                       {{"node", name},
                        {"kind", rec->kind},
                        {"host", rec->host},
                        {"version", rec->version}},
                       std::uint64_t{1});
        }
    }

    out.family("tradebus_node_configured", "gauge",
               "Always 1 per node a [pipeline] table of the broker's config names: the nodes it "
               "expects (a stopped one of them is down; a node outside [pipeline] may stop).");
    for (const auto& name : configured) {
        out.sample("tradebus_node_configured", {{"node", name}}, std::uint64_t{1});
    }

    const auto& states = schema::enum_names<schema::health>::names;
    out.family("tradebus_node_state", "gauge",
               "1 for the node's current lifecycle state, 0 for the other states (starting, "
               "healthy, degraded, unhealthy, stopping, stopped).");
    for (const auto& [name, rec] : nodes) {
        const auto current = rec != nullptr ? rec->state : schema::health::stopped;
        for (std::size_t i = 0; i < states.size(); ++i) {
            out.sample("tradebus_node_state", {{"node", name}, {"state", states[i]}},
                       std::uint64_t{static_cast<std::size_t>(current) == i ? 1u : 0u});
        }
    }
    out.family("tradebus_node_liveness_missed_total", "counter",
               "Times the node missed `liveness` heartbeat intervals in a row and was marked "
               "unhealthy (heartbeats missed).");
    for (const auto& [name, rec] : nodes) {
        if (rec != nullptr) {
            out.sample("tradebus_node_liveness_missed_total", {{"node", name}},
                       rec->liveness_missed);
        }
    }
    out.family("tradebus_node_heartbeat_age_seconds", "gauge",
               "Seconds since the node's last heartbeat (nodes that sent one this session).");
    for (const auto& [name, rec] : nodes) {
        if (rec != nullptr && rec->last_heartbeat_ms >= 0 &&
            rec->state != schema::health::stopped) {
            out.sample("tradebus_node_heartbeat_age_seconds", {{"node", name}},
                       seconds(now_ms - rec->last_heartbeat_ms));
        }
    }
    out.family("tradebus_node_heartbeats_total", "counter",
               "Heartbeats accepted from the node in its current session.");
    for (const auto& [name, rec] : nodes) {
        if (rec != nullptr)
            out.sample("tradebus_node_heartbeats_total", {{"node", name}}, rec->heartbeats);
    }

    // The nodes' own counters, as reported in their last heartbeat (reset by a re-register).
    struct own {
        std::string_view name, type, help;
        std::uint64_t schema::node_counters::*field;
    };
    static constexpr own owns[] = {
        {"tradebus_node_published_total", "counter", "Messages the node published (heartbeat).",
         &schema::node_counters::published},
        {"tradebus_node_received_total", "counter", "Messages the node received (heartbeat).",
         &schema::node_counters::received},
        {"tradebus_node_gaps_total", "counter",
         "Messages the node detected as missing from sequence gaps (heartbeat).",
         &schema::node_counters::gaps},
        {"tradebus_node_decode_errors_total", "counter",
         "Messages the node could not decode (heartbeat).", &schema::node_counters::decode_errors},
        {"tradebus_node_misrouted_total", "counter",
         "Events the node ignored: their type does not belong to their topic (heartbeat).",
         &schema::node_counters::misrouted},
        {"tradebus_node_queue_depth", "gauge", "The node's own queue depth (heartbeat).",
         &schema::node_counters::queue_depth},
    };
    for (const auto& o : owns) {
        out.family(o.name, o.type, o.help);
        for (const auto& [name, rec] : nodes) {
            if (rec != nullptr) out.sample(o.name, {{"node", name}}, rec->counters.*o.field);
        }
    }

    // The node process's resources (heartbeat), only from nodes that report them: rss_bytes 0
    // is a node from before these counters (PROTOCOL.md "node_counters").
    const auto reports = [](const node_record* rec) {
        return rec != nullptr && rec->counters.rss_bytes > 0;
    };
    out.family("tradebus_node_cpu_seconds_total", "counter",
               "User + system CPU time of the node process, all threads (heartbeat).");
    for (const auto& [name, rec] : nodes) {
        if (reports(rec)) {
            out.sample("tradebus_node_cpu_seconds_total", {{"node", name}},
                       static_cast<double>(rec->counters.cpu_ms) / 1000.0);
        }
    }
    out.family("tradebus_node_resident_memory_bytes", "gauge",
               "Resident memory (VmRSS) of the node process (heartbeat).");
    for (const auto& [name, rec] : nodes) {
        if (reports(rec)) {
            out.sample("tradebus_node_resident_memory_bytes", {{"node", name}},
                       rec->counters.rss_bytes);
        }
    }
    out.family("tradebus_node_open_fds", "gauge",
               "Open file descriptors of the node process, sockets included (heartbeat).");
    for (const auto& [name, rec] : nodes) {
        if (reports(rec)) {
            out.sample("tradebus_node_open_fds", {{"node", name}}, rec->counters.open_fds);
        }
    }
}

void lvc_families(const last_value_cache& lvc, exposition& out) {
    out.family("tradebus_lvc_topics", "gauge", "Topics in the last-value cache.");
    out.sample("tradebus_lvc_topics", {}, static_cast<std::uint64_t>(lvc.topics()));
    out.family("tradebus_lvc_bytes", "gauge",
               "Topic + body bytes held by the last-value cache (at most lvc.max_bytes).");
    out.sample("tradebus_lvc_bytes", {}, static_cast<std::uint64_t>(lvc.bytes()));
    out.family("tradebus_lvc_updates_total", "counter", "Messages stored in the last-value cache.");
    out.sample("tradebus_lvc_updates_total", {}, lvc.updates());
    out.family("tradebus_lvc_refused_total", "counter",
               "Messages not cached because the cache was full (lvc.max_topics or max_bytes).");
    out.sample("tradebus_lvc_refused_total", {}, lvc.refused());
}

void http_families(const metrics_http_stats& h, exposition& out) {
    out.family("tradebus_metrics_http_responses_total", "counter",
               "Answers of the metrics endpoint by HTTP status code, counted once written in "
               "full to the client's connection.");
    const std::pair<std::string_view, std::uint64_t> codes[] = {
        {"200", h.ok},         {"400", h.bad_request},
        {"404", h.not_found},  {"405", h.method_not_allowed},
        {"408", h.timed_out},  {"431", h.too_large},
        {"503", h.unavailable}};
    for (const auto& [code, n] : codes) {
        out.sample("tradebus_metrics_http_responses_total", {{"code", code}}, n);
    }
    out.family("tradebus_metrics_http_refused_connections_total", "counter",
               "Connections closed at once because the connection limit was reached and every "
               "open connection already had its answer.");
    out.sample("tradebus_metrics_http_refused_connections_total", {}, h.too_many_connections);
    out.family("tradebus_metrics_http_evicted_connections_total", "counter",
               "Connections closed unanswered to make room for a new one: the oldest of those "
               "still sending their request.");
    out.sample("tradebus_metrics_http_evicted_connections_total", {}, h.evicted);
    out.family("tradebus_metrics_http_unfinished_total", "counter",
               "Answers not delivered in full: the client closed before reading it, or did not "
               "read it within the write timeout. Not counted in responses_total.");
    out.sample("tradebus_metrics_http_unfinished_total", {}, h.unfinished);
    out.family("tradebus_metrics_http_open_connections", "gauge",
               "Open connections to the metrics endpoint.");
    out.sample("tradebus_metrics_http_open_connections", {}, h.open_connections);
}

// A JSON string literal: quote, backslash and control characters escaped; other bytes as they
// are (names and reasons are UTF-8, checked by the decoder).
void json_string(std::string_view text, std::string& out) {
    out += '"';
    for (const char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (u < 0x20) {
            static constexpr char hex[] = "0123456789abcdef";
            out += "\\u00";
            out += hex[u >> 4];
            out += hex[u & 0xf];
        } else {
            out += c;
        }
    }
    out += '"';
}

}  // namespace

health_report render_health(const metrics_sources& src, std::int64_t now_ms) {
    const control_plane& cp = src.control;
    // Expected: every [pipeline] node, and every other node with a session (not stopped).
    const std::vector<std::string> configured = cp.graph().configured_names();
    std::vector<std::pair<std::string_view, const node_record*>> expected;
    for (const auto& name : configured) expected.emplace_back(name, cp.nodes().find(name));
    for (const auto& [name, rec] : cp.nodes().records()) {
        if (rec.state != schema::health::stopped &&
            std::find(configured.begin(), configured.end(), name) == configured.end()) {
            expected.emplace_back(name, &rec);
        }
    }
    std::sort(expected.begin(), expected.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });

    health_report r;
    std::string nodes, reasons;
    for (const auto& [name, rec] : expected) {
        const auto state = rec != nullptr ? rec->state : schema::health::stopped;
        if (!nodes.empty()) nodes += ',';
        json_string(name, nodes);
        nodes += ':';
        json_string(schema::to_string(state), nodes);
        if (state == schema::health::healthy) continue;
        std::string why = std::string(name) + ": ";
        if (rec == nullptr) {
            why += "never registered";
        } else if (state == schema::health::stopped) {
            why += "stopped (deregistered or gone)";
        } else {
            why += schema::to_string(state);
            if (state == schema::health::unhealthy && rec->last_heartbeat_ms >= 0) {
                why += ", last heartbeat " + std::to_string(now_ms - rec->last_heartbeat_ms) +
                       " ms ago";
            }
        }
        if (!reasons.empty()) reasons += ',';
        json_string(why, reasons);
    }
    r.healthy = reasons.empty();
    r.json = "{\"status\":";
    r.json += r.healthy ? "\"ok\"" : "\"unavailable\"";
    r.json += ",\"broker\":";
    json_string(src.broker_name, r.json);
    r.json += ",\"epoch\":" + std::to_string(cp.epoch()) + ",\"trading\":";
    json_string(schema::to_string(cp.trading()), r.json);
    r.json += ",\"nodes\":{" + nodes + "}";
    if (!r.healthy) r.json += ",\"reasons\":[" + reasons + "]";
    r.json += "}\n";
    return r;
}

void render_metrics(const metrics_sources& src, std::int64_t now_ms, exposition& out) {
    metrics_render r(src);
    r.start(now_ms);
    while (!r.step(static_cast<std::size_t>(-1))) {
    }
    out.clear();
    out.append(r.take());
}

void metrics_render::start(std::int64_t now_ms) {
    out_.clear();
    out_.reserve(last_bytes_ + last_bytes_ / 8);
    now_ms_ = now_ms;
    stage_ = stage::head;
}

bool metrics_render::step(std::size_t rows) {
    const topic_counters& topics = src_.data.topics;
    if (stage_ == stage::head) {
        broker_families(src_, now_ms_, out_);
        data_families(src_.data, now_ms_, out_);
        topic_family_head(topic_messages, out_);
        stage_ = stage::messages;
        bucket_ = 0;
        buckets_ = topics.buckets();
        layout_ = topics.layout();
    }
    while (stage_ == stage::messages || stage_ == stage::bytes) {
        if (topics.layout() != layout_) {  // the table was rebuilt: its walk order changed
            start(now_ms_);
            return false;
        }
        const std::string_view name = stage_ == stage::messages ? topic_messages : topic_bytes;
        std::size_t done = 0;
        for (; bucket_ < buckets_ && done < rows; ++bucket_) {
            done += topics.for_each_in_bucket(
                bucket_,
                [&](std::string_view t, const topic_count& c) { topic_row(name, t, c, out_); });
        }
        if (bucket_ < buckets_) return false;  // the rest next turn
        topic_family_tail(name, topics, out_);
        if (stage_ == stage::messages) {
            topic_family_head(topic_bytes, out_);
            stage_ = stage::bytes;
            bucket_ = 0;
            if (done >= rows) return false;
        } else {
            stage_ = stage::tail;
        }
    }
    if (stage_ == stage::tail) {
        node_families(src_.control, now_ms_, out_);
        if (src_.lvc != nullptr) lvc_families(*src_.lvc, out_);
        if (src_.http != nullptr) http_families(*src_.http, out_);
        stage_ = stage::idle;
    }
    return true;
}

}  // namespace tradebus::broker
