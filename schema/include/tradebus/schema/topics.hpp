// Topic names: the only place topic strings are built (CONTRIBUTING.md "Naming"). Topics are
// dot-separated, general to specific, symbol last, and matched by ZeroMQ byte prefix
// (PROTOCOL.md "Topics").
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace tradebus::schema::topics {

inline constexpr std::size_t max_topic_bytes = 255;
inline constexpr std::size_t max_symbol_bytes = 32;

// Prefixes (subscribe to these) and fixed topics.
inline constexpr std::string_view md_tick = "md.tick.";
inline constexpr std::string_view md_bar = "md.bar.";
inline constexpr std::string_view signal = "strategy.signal.";
inline constexpr std::string_view approved = "risk.approved.";
inline constexpr std::string_view rejected = "risk.rejected.";
inline constexpr std::string_view position = "risk.position.";
inline constexpr std::string_view risk_state = "risk.state";
inline constexpr std::string_view snapshot = "risk.snapshot.";     // + risk node name
inline constexpr std::string_view limits = "risk.limits.";         // + risk node name
inline constexpr std::string_view flatten_done = "risk.flatten.";  // + risk node name
inline constexpr std::string_view exec_ack = "exec.ack.";
inline constexpr std::string_view exec_fill = "exec.fill.";
inline constexpr std::string_view exec_reject = "exec.reject.";
inline constexpr std::string_view exec_cancelled = "exec.cancelled.";
inline constexpr std::string_view exec_expired = "exec.expired.";
inline constexpr std::string_view exec_snapshot = "exec.snapshot.";  // + execution node name
inline constexpr std::string_view cancel_reject = "exec.cancel_reject";
inline constexpr std::string_view cancel_done = "exec.cancel_done";
inline constexpr std::string_view sys = "sys.";
inline constexpr std::string_view node_health = "sys.node.health";
inline constexpr std::string_view node_registered = "sys.node.registered";
inline constexpr std::string_view broker_started = "sys.broker.started";
inline constexpr std::string_view trading = "sys.trading";  // the desk's state
// Scoped kill switch (PROTOCOL.md "Trading state"): one topic per scope, under trading_scopes.
inline constexpr std::string_view trading_scopes = "sys.trading.";
inline constexpr std::string_view trading_symbol = "sys.trading.symbol.";      // + symbol
inline constexpr std::string_view trading_strategy = "sys.trading.strategy.";  // + node name
inline constexpr std::string_view probe = "sys.probe.";                        // + node name
inline constexpr std::string_view acl_violation = "sys.acl.violation";
inline constexpr std::string_view recorder_gap = "sys.recorder.gap";  // journal-written only
inline constexpr std::string_view cancel = "sys.cancel";    // operator cancel requests (broker)
inline constexpr std::string_view flatten = "sys.flatten";  // operator flatten requests (broker)
inline constexpr std::string_view bench = "bench.";         // + run id: `tradebus bench` traffic

/// Every constant above by name, in PROTOCOL.md's "Topics" table order: what `tradebus schema`
/// lists for other languages, and what the protocol test checks that table against.
struct named_topic {
    std::string_view name, value;
};
inline constexpr named_topic all_topics[] = {
    {"md_tick", md_tick},
    {"md_bar", md_bar},
    {"signal", signal},
    {"approved", approved},
    {"rejected", rejected},
    {"position", position},
    {"risk_state", risk_state},
    {"snapshot", snapshot},
    {"limits", limits},
    {"flatten_done", flatten_done},
    {"exec_ack", exec_ack},
    {"exec_fill", exec_fill},
    {"exec_reject", exec_reject},
    {"exec_cancelled", exec_cancelled},
    {"exec_expired", exec_expired},
    {"exec_snapshot", exec_snapshot},
    {"cancel_reject", cancel_reject},
    {"cancel_done", cancel_done},
    {"sys", sys},
    {"node_health", node_health},
    {"node_registered", node_registered},
    {"broker_started", broker_started},
    {"trading", trading},
    {"trading_scopes", trading_scopes},
    {"trading_symbol", trading_symbol},
    {"trading_strategy", trading_strategy},
    {"probe", probe},
    {"acl_violation", acl_violation},
    {"cancel", cancel},
    {"flatten", flatten},
    {"recorder_gap", recorder_gap},
    {"bench", bench},
};

/// `prefix` + `symbol`, e.g. for_symbol(md_tick, "AAPL") == "md.tick.AAPL".
[[nodiscard]] std::string for_symbol(std::string_view prefix, std::string_view symbol);

/// The topic of a trading scope: sys.trading (desk) when both are empty, else
/// sys.trading.symbol.<symbol> or sys.trading.strategy.<strategy> (the symbol when both are
/// set: check them with schema::trading_scope_error first).
[[nodiscard]] std::string for_trading_scope(std::string_view symbol, std::string_view strategy);

/// Symbols: 1..32 bytes of [A-Za-z0-9_-/:] (no dot: it separates topic tokens).
[[nodiscard]] bool valid_symbol(std::string_view symbol) noexcept;

/// The node-name rule, as error text says it.
inline constexpr std::string_view node_name_rule = "1..64 bytes of [a-z0-9_-]";
/// Node names: 1..64 bytes of [a-z0-9_-] (one token of a topic such as sys.probe.<node>, a
/// key file's name, a log field). The one rule the broker, the nodes and the CLI check.
[[nodiscard]] bool valid_node_name(std::string_view name) noexcept;

/// Why `topic` is not a valid published topic (1..255 bytes of printable UTF-8, no spaces,
/// no wildcard characters, non-empty dot-separated tokens), or nullopt when it is valid.
[[nodiscard]] std::optional<std::string> topic_error(std::string_view topic);

/// Why `prefix` is not a valid subscription prefix (like a topic, but may be empty = all
/// topics, and may end with a dot), or nullopt when it is valid.
[[nodiscard]] std::optional<std::string> prefix_error(std::string_view prefix);

/// Where an event type is published: `topic` + a symbol (or node name, run id) when `prefix`,
/// else `topic` exactly.
struct event_home {
    std::string_view type, topic;
    bool prefix;
};

/// The events table of PROTOCOL.md, one row per (type, topic): what type_belongs checks and
/// what `tradebus schema` lists for other languages.
[[nodiscard]] std::span<const event_home> event_homes() noexcept;

/// True when `topic` is a topic the events table gives events of type `type` (the wire type
/// name, PROTOCOL.md "Events"): under its prefix with something after it (`tick` on
/// `md.tick.<SYMBOL>`, `probe` on `sys.probe.<node>` or a `bench.` topic) or its fixed topic
/// exactly (`broker_started` only on `sys.broker.started`, `trading_state` on `sys.trading`,
/// `sys.trading.symbol.<SYMBOL>`, `sys.trading.strategy.<node>` or `risk.state`). False for every
/// other pair and for a type it does not know. A receiver counts and ignores an event that arrives
/// on a topic its type does not belong to (a `broker_started` body on `md.tick.AAPL` is nobody's
/// broker restart).
[[nodiscard]] bool type_belongs(std::string_view type, std::string_view topic) noexcept;

/// True when a subscription to `prefix` receives `topic` (ZeroMQ semantics: byte prefix).
[[nodiscard]] constexpr bool matches(std::string_view prefix, std::string_view topic) noexcept {
    return topic.substr(0, prefix.size()) == prefix;
}

}  // namespace tradebus::schema::topics
