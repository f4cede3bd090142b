// Control-plane messages (REQ/REP between nodes or the CLI and the broker). Each request and
// reply is a single ZeroMQ frame holding one msgpack map {"v", "type", ...fields}
// (PROTOCOL.md "Control plane"). Every request gets exactly one reply; failures are `error`.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "tradebus/schema/types.hpp"

namespace tradebus::schema {

/// Counters a node reports in every heartbeat.
struct node_counters {
    static constexpr std::string_view struct_name = "node_counters";
    std::uint64_t published = 0, received = 0, gaps = 0, decode_errors = 0, queue_depth = 0;
    std::uint64_t misrouted = 0;  // events whose type does not belong to their topic: ignored
    // The node process's resources, read from /proc at each heartbeat. 0 = not reported (a node
    // from before these keys, or /proc unreadable): a live process always has memory and fds.
    std::uint64_t cpu_ms = 0;     // user + system CPU time since the process started, all threads
    std::uint64_t rss_bytes = 0;  // resident memory now (VmRSS)
    std::uint64_t open_fds = 0;   // open file descriptors now (sockets included)
    static constexpr std::string_view optional_keys[] = {"cpu_ms", "rss_bytes", "open_fds"};
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("published", s.published), v("received", s.received), v("gaps", s.gaps);
        v("decode_errors", s.decode_errors), v("queue_depth", s.queue_depth);
        v("misrouted", s.misrouted), v("cpu_ms", s.cpu_ms), v("rss_bytes", s.rss_bytes);
        v("open_fds", s.open_fds);
    }
};

struct register_request {
    static constexpr std::string_view type_name = "register";
    static constexpr bool is_reply = false;
    std::string name, kind, host, version;
    std::int64_t pid = 0;
    std::vector<std::string> publishes, subscribes, depends_on;  // topic prefixes; node names
    std::int64_t heartbeat_interval_ms = 0;                      // 0 = use the broker's
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("name", s.name), v("kind", s.kind), v("host", s.host), v("version", s.version);
        v("pid", s.pid), v("publishes", s.publishes), v("subscribes", s.subscribes);
        v("depends_on", s.depends_on), v("heartbeat_interval_ms", s.heartbeat_interval_ms);
    }
};

struct register_reply {
    static constexpr std::string_view type_name = "register_ok";
    static constexpr bool is_reply = true;
    std::uint64_t session_id = 0, epoch = 0;
    std::string xsub_endpoint, xpub_endpoint;
    std::int64_t heartbeat_interval_ms = 0, liveness = 0;
    bool ready = false;                    // every dependency registered and healthy
    std::vector<std::string> waiting_for;  // dependencies not ready yet
    trading_state trading = trading_state::active;
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("session_id", s.session_id), v("epoch", s.epoch), v("xsub_endpoint", s.xsub_endpoint);
        v("xpub_endpoint", s.xpub_endpoint), v("heartbeat_interval_ms", s.heartbeat_interval_ms);
        v("liveness", s.liveness), v("ready", s.ready), v("waiting_for", s.waiting_for);
        v("trading_state", s.trading);
    }
};

struct heartbeat_request {
    static constexpr std::string_view type_name = "heartbeat";
    static constexpr bool is_reply = false;
    std::string name;
    std::uint64_t session_id = 0;
    health state = health::healthy;  // the node's own view: starting/healthy/degraded/stopping
    node_counters counters;
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("name", s.name), v("session_id", s.session_id), v("state", s.state);
        v("counters", s.counters);
    }
};

struct heartbeat_reply {
    static constexpr std::string_view type_name = "heartbeat_ok";
    static constexpr bool is_reply = true;
    std::uint64_t epoch = 0;
    bool ready = false;
    std::vector<std::string> waiting_for;
    trading_state trading = trading_state::active;
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("epoch", s.epoch), v("ready", s.ready), v("waiting_for", s.waiting_for);
        v("trading_state", s.trading);
    }
};

struct deregister_request {
    static constexpr std::string_view type_name = "deregister";
    static constexpr bool is_reply = false;
    std::string name;
    std::uint64_t session_id = 0;
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("name", s.name), v("session_id", s.session_id);
    }
};

/// Generic success reply (deregister, halt, resume).
struct ok_reply {
    static constexpr std::string_view type_name = "ok";
    static constexpr bool is_reply = true;
    std::string detail;
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("detail", s.detail);
    }
};

struct status_request {
    static constexpr std::string_view type_name = "status";
    static constexpr bool is_reply = false;
    std::int64_t max_topics = 1000;  // busiest first; the reply says how many exist in all
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("max_topics", s.max_topics);
    }
};

struct node_status {
    static constexpr std::string_view struct_name = "node_status";
    std::string name, kind, host, version;
    std::int64_t pid = 0;
    health state = health::starting;
    std::int64_t last_heartbeat_age_ms = -1;  // -1: none received yet
    std::vector<std::string> depends_on;
    node_counters counters;
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("name", s.name), v("kind", s.kind), v("host", s.host), v("version", s.version);
        v("pid", s.pid), v("state", s.state), v("last_heartbeat_age_ms", s.last_heartbeat_age_ms);
        v("depends_on", s.depends_on), v("counters", s.counters);
    }
};

struct topic_status {
    static constexpr std::string_view struct_name = "topic_status";
    std::string topic;
    std::uint64_t messages = 0, bytes = 0;
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("topic", s.topic), v("messages", s.messages), v("bytes", s.bytes);
    }
};

struct drop_status {
    static constexpr std::string_view struct_name = "drop_status";
    std::string reason;  // "frame_count", "topic_utf8", "topic_length", "oversized", ...
    std::uint64_t count = 0;
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("reason", s.reason), v("count", s.count);
    }
};

/// The broker's lossless link to the journal (PROTOCOL.md "Broker behaviour").
struct recorder_status {
    static constexpr std::string_view struct_name = "recorder_status";
    bool enabled = false;              // a recorder endpoint is bound
    bool stalled = false;              // XSUB is unread right now, waiting for the recorder
    std::uint64_t sent = 0;            // messages the recorder took
    std::uint64_t stalls = 0;          // times the broker stopped reading XSUB for it
    std::uint64_t stalled_ms = 0;      // total time stalled, ms (the current stall included)
    std::uint64_t overflow = 0;        // broker events dropped during a stall (hold queue full)
    std::uint64_t seq = 0;             // the last recorder sequence number given (this epoch)
    std::uint64_t acked = 0;           // the last one the journal acknowledged as written
    std::uint64_t retained = 0;        // messages kept for redelivery (not acknowledged)
    std::uint64_t retained_bytes = 0;  // their topic + body bytes
    std::uint64_t evicted = 0;         // unacknowledged messages dropped at the retention bound
    std::uint64_t redelivered = 0;     // messages sent again after a recorder_resume
    static constexpr std::string_view optional_keys[] = {
        "seq", "acked", "retained", "retained_bytes", "evicted", "redelivered"};
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("enabled", s.enabled), v("stalled", s.stalled), v("sent", s.sent);
        v("stalls", s.stalls), v("stalled_ms", s.stalled_ms), v("overflow", s.overflow);
        v("seq", s.seq), v("acked", s.acked), v("retained", s.retained);
        v("retained_bytes", s.retained_bytes), v("evicted", s.evicted);
        v("redelivered", s.redelivered);
    }
};

/// One kill-switch scope in force (not active): a symbol or a strategy, who set it, why, when.
struct trading_scope {
    static constexpr std::string_view struct_name = "trading_scope";
    std::string symbol, strategy;  // exactly one is set
    trading_state state = trading_state::halted;
    std::string reason, by;
    std::int64_t since_ns = 0;  // wall ns of the operator's command
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("symbol", s.symbol), v("strategy", s.strategy), v("state", s.state);
        v("reason", s.reason), v("by", s.by), v("since_ns", s.since_ns);
    }
};

struct status_reply {
    static constexpr std::string_view type_name = "status_ok";
    static constexpr bool is_reply = true;
    std::uint64_t epoch = 0;
    std::string version;
    std::int64_t uptime_ms = 0;
    trading_state trading = trading_state::active;
    std::string trading_reason;
    std::vector<node_status> nodes;
    std::vector<std::string> start_order;  // topological order of the configured pipeline
    std::vector<topic_status> topics;      // busiest first, at most max_topics
    std::uint64_t topics_total = 0;
    std::vector<drop_status> drops;
    recorder_status recorder;
    std::vector<trading_scope> trading_scopes;  // symbol / strategy scopes in force, by topic
    static constexpr std::string_view optional_keys[] = {"trading_scopes"};
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("epoch", s.epoch), v("version", s.version), v("uptime_ms", s.uptime_ms);
        v("trading_state", s.trading), v("trading_reason", s.trading_reason);
        v("nodes", s.nodes), v("start_order", s.start_order), v("topics", s.topics);
        v("topics_total", s.topics_total), v("drops", s.drops), v("recorder", s.recorder);
        v("trading_scopes", s.trading_scopes);
    }
};

/// The kill switch, for the whole desk or one scope: at most one of `symbol` and `strategy`
/// (schema::trading_scope_error; both "" = the desk). The broker saves it, publishes
/// trading_state on the scope's topic (topics::for_trading_scope) and replies ok.
struct halt_request {
    static constexpr std::string_view type_name = "halt";
    static constexpr bool is_reply = false;
    std::string reason, by;
    std::string symbol, strategy;
    bool reduce_only = false;  // true: `reducing` (only orders that shrink a position)
    static constexpr std::string_view optional_keys[] = {"symbol", "strategy", "reduce_only"};
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("reason", s.reason), v("by", s.by), v("symbol", s.symbol), v("strategy", s.strategy);
        v("reduce_only", s.reduce_only);
    }
};

struct resume_request {
    static constexpr std::string_view type_name = "resume";
    static constexpr bool is_reply = false;
    std::string reason, by;
    std::string symbol, strategy;  // the scope to resume, as in halt
    static constexpr std::string_view optional_keys[] = {"symbol", "strategy"};
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("reason", s.reason), v("by", s.by), v("symbol", s.symbol), v("strategy", s.strategy);
    }
};

/// Late joiners: the broker's last-value cache for the topics starting with `prefix`, one page
/// at a time (`after` = the previous reply's `next`, "" for the first page). The reply is
/// multipart (PROTOCOL.md "snapshot"): this map, then `count` pairs of frames [topic][body].
struct snapshot_request {
    static constexpr std::string_view type_name = "snapshot";
    static constexpr bool is_reply = false;
    std::string prefix, after;
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("prefix", s.prefix), v("after", s.after);
    }
};

struct snapshot_reply {
    static constexpr std::string_view type_name = "snapshot_ok";
    static constexpr bool is_reply = true;
    std::uint64_t count = 0;  // [topic][body] frame pairs after this frame
    std::string next;         // cursor for the next page; "" = this was the last page
    bool covered = false;     // the cache keeps topics under this prefix (else always empty)
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("count", s.count), v("next", s.next), v("covered", s.covered);
    }
};

// ---------------------------------------------------------------- services (PROTOCOL.md
// "Services"): a node offers an endpoint of its own (the journal's query endpoint) through the
// broker, which forgets it when the node's session ends or is replaced.

/// A registered node offers `service` at `endpoint`. Reply: ok.
struct announce_request {
    static constexpr std::string_view type_name = "announce";
    static constexpr bool is_reply = false;
    std::string name;
    std::uint64_t session_id = 0;
    std::string service, endpoint;
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("name", s.name), v("session_id", s.session_id), v("service", s.service);
        v("endpoint", s.endpoint);
    }
};

/// Where is `service`? Reply: lookup_ok, or error unknown_service.
struct lookup_request {
    static constexpr std::string_view type_name = "lookup";
    static constexpr bool is_reply = false;
    std::string service;
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("service", s.service);
    }
};

struct lookup_reply {
    static constexpr std::string_view type_name = "lookup_ok";
    static constexpr bool is_reply = true;
    std::string service, endpoint, node;
    bool healthy = false;  // the offering node is healthy or degraded right now
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("service", s.service), v("endpoint", s.endpoint), v("node", s.node);
        v("healthy", s.healthy);
    }
};

/// Every service the broker knows (for `tradebus status`). Reply: services_ok.
struct services_request {
    static constexpr std::string_view type_name = "services";
    static constexpr bool is_reply = false;
    template <class S, class V>
    static void fields(S& /*s*/, V& /*v*/) {}
};

struct service_status {
    static constexpr std::string_view struct_name = "service_status";
    std::string service, endpoint, node;
    health state = health::stopped;  // of the offering node
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("service", s.service), v("endpoint", s.endpoint), v("node", s.node);
        v("state", s.state);
    }
};

struct services_reply {
    static constexpr std::string_view type_name = "services_ok";
    static constexpr bool is_reply = true;
    std::vector<service_status> services;
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("services", s.services);
    }
};

/// Sent to the journal's query endpoint (service "journal"), not to the broker: the journaled
/// events whose topic starts with one of `prefixes` ([] = every topic), received at or after
/// `since_ns`, from record index `from_index` on, at most `max_records` of them (the journal
/// caps it). Reply: journal_query_ok followed by `count` [topic][body] frame pairs.
struct journal_query {
    static constexpr std::string_view type_name = "journal_query";
    static constexpr bool is_reply = false;
    std::vector<std::string> prefixes;
    std::int64_t since_ns = 0;
    std::uint64_t from_index = 0;
    std::int64_t max_records = 0;
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("prefixes", s.prefixes), v("since_ns", s.since_ns), v("from_index", s.from_index);
        v("max_records", s.max_records);
    }
};

/// Frame 0 of a journal query reply. `next_index` is the from_index of the next page; `done`
/// says the journal had nothing more when it answered.
struct journal_query_reply {
    static constexpr std::string_view type_name = "journal_query_ok";
    static constexpr bool is_reply = true;
    std::uint64_t count = 0, next_index = 0;
    bool done = false;
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("count", s.count), v("next_index", s.next_index), v("done", s.done);
    }
};

/// Stable error codes; `reason` carries the human-readable detail.
namespace error_code {
inline constexpr std::string_view bad_request = "bad_request";
inline constexpr std::string_view unsupported_version = "unsupported_version";
inline constexpr std::string_view unknown_type = "unknown_type";
inline constexpr std::string_view duplicate_name = "duplicate_name";
inline constexpr std::string_view unknown_session = "unknown_session";  // => re-register
inline constexpr std::string_view dependency_cycle = "dependency_cycle";
inline constexpr std::string_view unknown_dependency = "unknown_dependency";
inline constexpr std::string_view not_allowed = "not_allowed";
inline constexpr std::string_view unknown_service = "unknown_service";  // lookup: none offered
inline constexpr std::string_view not_durable = "not_durable";    // halt/resume: state not saved
inline constexpr std::string_view unknown_node = "unknown_node";  // a strategy scope: no such node
inline constexpr std::string_view too_many_scopes = "too_many_scopes";  // halt: scope table full
}  // namespace error_code

/// An operator's cancel (`tradebus cancel`): the broker checks the scope and publishes it as a
/// cancel_request event on sys.cancel, replying ok; execution answers on the data plane
/// (PROTOCOL.md "Cancels"). Fields as in cancel_request.
struct cancel_command {
    static constexpr std::string_view type_name = "cancel";
    static constexpr bool is_reply = false;
    std::uint64_t request_id = 0;
    std::string order_id, symbol;
    bool all = false;
    std::string reason, by;
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("request_id", s.request_id), v("order_id", s.order_id), v("symbol", s.symbol);
        v("all", s.all), v("reason", s.reason), v("by", s.by);
    }
};

/// An operator's flatten (`tradebus flatten`): the broker checks the scope, publishes a
/// cancel_request (sys.cancel) and then a flatten_request (sys.flatten) with this request_id,
/// and replies ok; execution and risk answer on the data plane (PROTOCOL.md "Flatten").
struct flatten_command {
    static constexpr std::string_view type_name = "flatten";
    static constexpr bool is_reply = false;
    std::uint64_t request_id = 0;
    std::string symbol;  // "" = every symbol
    std::string reason, by;
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("request_id", s.request_id), v("symbol", s.symbol), v("reason", s.reason);
        v("by", s.by);
    }
};

/// The journal (the node named by the broker's [recorder] client) tells the broker it has
/// written every recorder-link message of `epoch` up to sequence number `seq`: the broker
/// forgets them. Reply: ok. (PROTOCOL.md "The recorder link".)
struct recorder_ack {
    static constexpr std::string_view type_name = "recorder_ack";
    static constexpr bool is_reply = false;
    std::string name;
    std::uint64_t session_id = 0, epoch = 0, seq = 0;
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("name", s.name), v("session_id", s.session_id), v("epoch", s.epoch), v("seq", s.seq);
    }
};

/// The journal asks the broker to send the recorder link again from the message after `after`
/// (the last one of `epoch` it wrote; 0 = from the first the broker still has). Reply:
/// recorder_resume_ok.
struct recorder_resume {
    static constexpr std::string_view type_name = "recorder_resume";
    static constexpr bool is_reply = false;
    std::string name;
    std::uint64_t session_id = 0, epoch = 0, after = 0;
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("name", s.name), v("session_id", s.session_id), v("epoch", s.epoch);
        v("after", s.after);
    }
};

/// The recorder link goes on at sequence number `first` of `epoch`: `missing` messages after
/// `after` were evicted and will never come (0 = nothing lost). `next` is the sequence number
/// the broker gives its next new message.
struct recorder_resume_reply {
    static constexpr std::string_view type_name = "recorder_resume_ok";
    static constexpr bool is_reply = true;
    std::uint64_t epoch = 0, first = 0, missing = 0, next = 0;
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("epoch", s.epoch), v("first", s.first), v("missing", s.missing), v("next", s.next);
    }
};

struct error_reply {
    static constexpr std::string_view type_name = "error";
    static constexpr bool is_reply = true;
    std::string code, reason;
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("code", s.code), v("reason", s.reason);
    }
};

using control_message =
    std::variant<register_request, register_reply, heartbeat_request, heartbeat_reply,
                 deregister_request, ok_reply, status_request, status_reply, halt_request,
                 resume_request, error_reply, snapshot_request, snapshot_reply, announce_request,
                 lookup_request, lookup_reply, services_request, services_reply, journal_query,
                 journal_query_reply, cancel_command, recorder_ack, recorder_resume,
                 recorder_resume_reply, flatten_command>;

/// Whether `m` is a reply (`register_ok`, `error`, ...) rather than a request to some endpoint.
[[nodiscard]] inline bool is_reply(const control_message& m) noexcept {
    return std::visit([]<class T>(const T&) { return T::is_reply; }, m);
}

}  // namespace tradebus::schema
