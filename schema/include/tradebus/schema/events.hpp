// Every data-plane event of the pipeline. One struct per event type; `fields()` lists the wire
// keys once and drives both the encoder and the validating decoder (codec.cpp), so the C++
// type, the wire and PROTOCOL.md cannot drift apart. Prices/money: fixed point, 1e-8 units
// (types.hpp). Quantities: signed integer lots. Times: ns since the Unix epoch.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "tradebus/schema/types.hpp"

namespace tradebus::schema {

/// Carried by every event: who published it, its place in that publisher's sequence and the
/// trace id of the tick that caused it (PROTOCOL.md "Envelope").
struct envelope {
    std::string src;             // publishing node name
    std::uint64_t seq = 0;       // per (src, topic): starts at 1, +1 per event; gap = drop
    std::int64_t ts_ns = 0;      // publish time, ns since Unix epoch (CLOCK_REALTIME)
    std::uint64_t trace_id = 0;  // new at the tick, copied into everything it causes
    /// The publisher's incarnation: a random non-zero number drawn when the process starts
    /// (the broker's epoch for its own events). A new one means a restarted source, whose
    /// seq starts again. 0 = not given (optional on read).
    std::uint64_t inc = 0;
    static constexpr std::string_view optional_keys[] = {"inc"};
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("src", s.src), v("seq", s.seq), v("ts_ns", s.ts_ns), v("trace_id", s.trace_id);
        v("inc", s.inc);
    }
};

/// md.tick.<SYMBOL>: top of book, optionally with the last trade.
struct tick {
    static constexpr std::string_view type_name = "tick";
    std::string symbol;
    std::int64_t bid_px = 0, bid_qty = 0, ask_px = 0, ask_qty = 0;
    std::int64_t last_px = 0, last_qty = 0;  // 0 when the tick carries no trade
    std::int64_t exch_ts_ns = 0;             // source (exchange / CSV / generator) time
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("symbol", s.symbol), v("bid_px", s.bid_px), v("bid_qty", s.bid_qty);
        v("ask_px", s.ask_px), v("ask_qty", s.ask_qty), v("last_px", s.last_px);
        v("last_qty", s.last_qty), v("exch_ts_ns", s.exch_ts_ns);
    }
};

/// md.bar.<SYMBOL>: OHLCV over [start_ts_ns, start_ts_ns + interval_ms).
struct bar {
    static constexpr std::string_view type_name = "bar";
    std::string symbol;
    std::int64_t interval_ms = 0, start_ts_ns = 0;
    std::int64_t open_px = 0, high_px = 0, low_px = 0, close_px = 0;
    std::int64_t volume = 0, ticks = 0;
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("symbol", s.symbol), v("interval_ms", s.interval_ms), v("start_ts_ns", s.start_ts_ns);
        v("open_px", s.open_px), v("high_px", s.high_px), v("low_px", s.low_px);
        v("close_px", s.close_px), v("volume", s.volume), v("ticks", s.ticks);
    }
};

/// strategy.signal.<SYMBOL>: what a strategy wants; risk decides.
struct signal {
    static constexpr std::string_view type_name = "signal";
    std::uint64_t signal_id = 0;  // unique per strategy node
    std::string symbol;
    side dir = side::flat;
    std::int64_t qty = 0;     // intended quantity (for FLAT: the position to close)
    double confidence = 0.0;  // 0..1
    std::int64_t ref_px = 0;  // price the strategy saw (mid)
    std::string reason;       // human-readable
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("signal_id", s.signal_id), v("symbol", s.symbol), v("side", s.dir), v("qty", s.qty);
        v("confidence", s.confidence), v("ref_px", s.ref_px), v("reason", s.reason);
    }
};

/// risk.approved.<SYMBOL>: an order risk approved, for execution to carry out.
struct order {
    static constexpr std::string_view type_name = "order";
    std::string order_id;  // unique across restarts: "<risk node>-<epoch ms>-<n>"
    std::string symbol;
    side dir = side::buy;  // BUY or SELL only
    std::int64_t qty = 0;  // approved (possibly reduced) quantity
    std::int64_t requested_qty = 0;
    order_type kind = order_type::market;
    std::int64_t limit_px = 0;  // LIMIT only; 0 for MARKET
    std::string signal_src;     // the strategy that asked
    std::uint64_t signal_id = 0;
    time_in_force tif = time_in_force::day;
    std::int64_t expire_ts_ns = 0;  // ns since epoch; 0 = from tif (DAY: end of the day)
    // Added after the first records were journaled: absent = DAY, 0.
    static constexpr std::string_view optional_keys[] = {"tif", "expire_ts_ns"};
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("order_id", s.order_id), v("symbol", s.symbol), v("side", s.dir), v("qty", s.qty);
        v("requested_qty", s.requested_qty), v("order_type", s.kind), v("limit_px", s.limit_px);
        v("signal_src", s.signal_src), v("signal_id", s.signal_id), v("tif", s.tif);
        v("expire_ts_ns", s.expire_ts_ns);
    }
};

/// risk.rejected.<SYMBOL>: a signal risk refused, with the rule that fired.
struct order_rejected {
    static constexpr std::string_view type_name = "order_rejected";
    std::string symbol;
    side dir = side::flat;
    std::int64_t qty = 0;
    std::string signal_src;
    std::uint64_t signal_id = 0;
    std::string rule;    // stable code, e.g. "max_order_qty", "halted", "stale_data"
    std::string reason;  // human-readable context: "qty 500 > max_order_qty 100"
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("symbol", s.symbol), v("side", s.dir), v("qty", s.qty), v("signal_src", s.signal_src);
        v("signal_id", s.signal_id), v("rule", s.rule), v("reason", s.reason);
    }
};

/// exec.ack.<SYMBOL>: execution accepted an order.
struct order_ack {
    static constexpr std::string_view type_name = "order_ack";
    std::string order_id, symbol;
    side dir = side::buy;
    std::int64_t qty = 0;
    order_type kind = order_type::market;
    std::int64_t limit_px = 0;
    time_in_force tif = time_in_force::day;
    std::int64_t expire_ts_ns = 0;  // when execution expires it; 0 = never (GTC, IOC, FOK)
    /// The order's signal_src (the strategy node): a restarted execution rebuilds its resting
    /// orders from these acks, and a strategy's halt cancels that strategy's orders.
    std::string signal_src;
    // Added after the first records were journaled: absent = DAY, 0 (never expires), "".
    static constexpr std::string_view optional_keys[] = {"tif", "expire_ts_ns", "signal_src"};
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("order_id", s.order_id), v("symbol", s.symbol), v("side", s.dir), v("qty", s.qty);
        v("order_type", s.kind), v("limit_px", s.limit_px), v("tif", s.tif);
        v("expire_ts_ns", s.expire_ts_ns), v("signal_src", s.signal_src);
    }
};

/// exec.fill.<SYMBOL>: (part of) an order was executed.
struct fill {
    static constexpr std::string_view type_name = "fill";
    std::string order_id, fill_id, symbol;
    side dir = side::buy;
    std::int64_t qty = 0;         // this fill's quantity
    std::int64_t px = 0;          // execution price including slippage
    std::int64_t leaves_qty = 0;  // still open after this fill; 0 = order complete
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("order_id", s.order_id), v("fill_id", s.fill_id), v("symbol", s.symbol);
        v("side", s.dir), v("qty", s.qty), v("px", s.px), v("leaves_qty", s.leaves_qty);
    }
};

/// exec.reject.<SYMBOL>: execution refused an order.
struct exec_reject {
    static constexpr std::string_view type_name = "exec_reject";
    std::string order_id, symbol;
    std::string code;  // "no_quote", "halted", "invalid", "duplicate", "stale_order"
    std::string reason;
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("order_id", s.order_id), v("symbol", s.symbol), v("code", s.code), v("reason", s.reason);
    }
};

/// exec.cancelled.<SYMBOL>: an order's unfilled rest was cancelled (a cancel request, an IOC or
/// FOK remainder, a halt). Terminal: nothing of it fills any more.
struct order_cancelled {
    static constexpr std::string_view type_name = "order_cancelled";
    std::string order_id, symbol;
    side dir = side::buy;
    std::int64_t qty = 0;          // the order's quantity
    std::int64_t leaves_qty = 0;   // what was still open and is now cancelled
    std::string by;                // "operator: <who>", "execution" (IOC/FOK, halt)
    std::string reason;            // human-readable
    std::uint64_t request_id = 0;  // the cancel_request that did it; 0 = none
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("order_id", s.order_id), v("symbol", s.symbol), v("side", s.dir), v("qty", s.qty);
        v("leaves_qty", s.leaves_qty), v("by", s.by), v("reason", s.reason);
        v("request_id", s.request_id);
    }
};

/// exec.expired.<SYMBOL>: a resting order reached its expiry. Terminal.
struct order_expired {
    static constexpr std::string_view type_name = "order_expired";
    std::string order_id, symbol;
    side dir = side::buy;
    std::int64_t qty = 0;
    std::int64_t leaves_qty = 0;    // what was still open and is now expired
    std::int64_t expire_ts_ns = 0;  // the expiry it reached
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("order_id", s.order_id), v("symbol", s.symbol), v("side", s.dir), v("qty", s.qty);
        v("leaves_qty", s.leaves_qty), v("expire_ts_ns", s.expire_ts_ns);
    }
};

/// sys.cancel: an operator's cancel request, published by the broker for an authorized
/// `cancel` control request. Exactly one of order_id (one order), symbol (its resting orders)
/// and all (every resting order) says what (schema::cancel_scope_error).
struct cancel_request {
    static constexpr std::string_view type_name = "cancel_request";
    std::uint64_t request_id = 0;  // chosen by the requester, != 0; echoed in the answers
    std::string order_id;          // "" = not one order
    std::string symbol;            // "" = not one symbol
    bool all = false;
    std::string reason, by;
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("request_id", s.request_id), v("order_id", s.order_id), v("symbol", s.symbol);
        v("all", s.all), v("reason", s.reason), v("by", s.by);
    }
};

/// exec.cancel_reject: execution refused a cancel_request; nothing was cancelled.
struct cancel_reject {
    static constexpr std::string_view type_name = "cancel_reject";
    std::uint64_t request_id = 0;
    std::string order_id, symbol;  // as in the request
    std::string code;    // "unknown_order", "already_terminal", "unknown_symbol", "invalid"
    std::string reason;  // human-readable
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("request_id", s.request_id), v("order_id", s.order_id), v("symbol", s.symbol);
        v("code", s.code), v("reason", s.reason);
    }
};

/// exec.cancel_done: execution carried out a cancel_request; `cancelled` order_cancelled events
/// with its request_id were published before this one.
struct cancel_done {
    static constexpr std::string_view type_name = "cancel_done";
    std::uint64_t request_id = 0;
    std::uint64_t cancelled = 0;  // orders cancelled (0: nothing was resting in the scope)
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("request_id", s.request_id), v("cancelled", s.cancelled);
    }
};

/// risk.position.<SYMBOL>: risk's book after a fill or a mark-to-market.
struct position {
    static constexpr std::string_view type_name = "position";
    std::string symbol;
    std::int64_t qty = 0;  // signed: >0 long, <0 short
    std::int64_t avg_px = 0;
    std::int64_t realized_pnl = 0;    // money, 1e-8 units; since the book began (all sessions)
    std::int64_t unrealized_pnl = 0;  // against the last mid
    /// The last fill this position includes ("" = none yet): a position published before a
    /// fill reached risk says so, whatever order a subscriber receives them in.
    std::string last_fill_id;
    static constexpr std::string_view optional_keys[] = {"last_fill_id"};
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("symbol", s.symbol), v("qty", s.qty), v("avg_px", s.avg_px);
        v("realized_pnl", s.realized_pnl), v("unrealized_pnl", s.unrealized_pnl);
        v("last_fill_id", s.last_fill_id);
    }
};

/// One symbol of a risk_snapshot: the position and what it was last marked at.
struct snapshot_position {
    static constexpr std::string_view struct_name = "snapshot_position";
    std::string symbol;
    std::int64_t qty = 0;           // signed: >0 long, <0 short
    std::int64_t avg_px = 0;        // average entry price of qty, 0 when flat
    std::int64_t realized_pnl = 0;  // money, 1e-8 units; carried across sessions
    std::int64_t mark_px = 0;       // last mid, 0 = never quoted
    std::string last_fill_id;       // as position.last_fill_id
    static constexpr std::string_view optional_keys[] = {"last_fill_id"};
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("symbol", s.symbol), v("qty", s.qty), v("avg_px", s.avg_px);
        v("realized_pnl", s.realized_pnl), v("mark_px", s.mark_px);
        v("last_fill_id", s.last_fill_id);
    }
};

/// One order of a risk_snapshot that risk approved and had not yet seen end (a GTC order
/// resting across the session boundary): it keeps counting against the limits after recovery.
struct working_order {
    static constexpr std::string_view struct_name = "working_order";
    std::string order_id, symbol;
    side dir = side::buy;
    std::int64_t open_qty = 0;  // lots not filled yet
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("order_id", s.order_id), v("symbol", s.symbol), v("side", s.dir);
        v("open_qty", s.open_qty);
    }
};

/// risk.snapshot.<risk node name>: risk's book at the start of a session, journaled so that
/// recovery starts from it instead of from the first fill ever.
struct risk_snapshot {
    static constexpr std::string_view type_name = "risk_snapshot";
    std::int64_t session_start_ns = 0;         // UTC ns: the session this book opens
    std::int64_t day_base_pnl = 0;             // money: realized + unrealized at that start
    std::vector<snapshot_position> positions;  // symbols with a position or realized P&L
    std::vector<working_order> working;        // approved orders not ended yet, by order id
    static constexpr std::string_view optional_keys[] = {"working"};
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("session_start_ns", s.session_start_ns), v("day_base_pnl", s.day_base_pnl);
        v("positions", s.positions), v("working", s.working);
    }
};

/// One order of an exec_snapshot: an order resting at execution, as its order_ack described it,
/// with what is still open.
struct resting_order {
    static constexpr std::string_view struct_name = "resting_order";
    std::string order_id, symbol;
    side dir = side::buy;
    std::int64_t qty = 0;         // the order's quantity, as acknowledged
    std::int64_t leaves_qty = 0;  // not filled yet (1..qty)
    order_type kind = order_type::market;
    std::int64_t limit_px = 0;
    time_in_force tif = time_in_force::day;
    std::int64_t expire_ts_ns = 0;  // 0 = never
    std::string signal_src;         // the strategy node, "" when not known
    std::uint64_t trace_id = 0;     // the approval's trace id: its fills carry it
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("order_id", s.order_id), v("symbol", s.symbol), v("side", s.dir), v("qty", s.qty);
        v("leaves_qty", s.leaves_qty), v("order_type", s.kind), v("limit_px", s.limit_px);
        v("tif", s.tif), v("expire_ts_ns", s.expire_ts_ns), v("signal_src", s.signal_src);
        v("trace_id", s.trace_id);
    }
};

/// exec.snapshot.<execution node name>: execution's resting orders, journaled at its start and
/// at each trading session start, so that a restart restores a GTC order however long ago it
/// was acknowledged.
struct exec_snapshot {
    static constexpr std::string_view type_name = "exec_snapshot";
    std::int64_t session_start_ns = 0;   // UTC ns: the session it was taken in
    std::vector<resting_order> resting;  // by order id
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("session_start_ns", s.session_start_ns), v("resting", s.resting);
    }
};

/// One [risk.symbols.<SYM>] override in a risk_limits event.
struct symbol_limit {
    static constexpr std::string_view struct_name = "symbol_limit";
    std::string symbol;
    std::int64_t max_order_qty = 0, max_position = 0;  // lots
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("symbol", s.symbol), v("max_order_qty", s.max_order_qty);
        v("max_position", s.max_position);
    }
};

/// risk.limits.<risk node name>: the limits a risk node enforces, published at its start,
/// after every reload of its config (SIGHUP, `systemctl reload`) and when a reload was refused
/// (then `error` holds the config errors and the limits are the ones still in force).
struct risk_limits {
    static constexpr std::string_view type_name = "risk_limits";
    std::string cause;  // "start", "reload" or "refused"
    std::string error;  // "refused": "file:line:col: problem", one per line; else ""
    std::vector<std::string> allowed_symbols;          // empty: any valid symbol
    std::int64_t max_order_qty = 0, max_position = 0;  // lots, [risk] defaults
    std::vector<symbol_limit> symbols;                 // [risk.symbols.<SYM>] overrides
    std::int64_t max_gross_notional = 0, max_daily_loss = 0, reducing_daily_loss = 0;  // money
    std::int64_t max_orders_per_sec = 0, stale_quote_ms = 0, max_working_orders = 0;
    double price_band_bps = 0;
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("cause", s.cause), v("error", s.error);
        v("allowed_symbols", s.allowed_symbols), v("max_order_qty", s.max_order_qty);
        v("max_position", s.max_position), v("symbols", s.symbols);
        v("max_gross_notional", s.max_gross_notional), v("max_daily_loss", s.max_daily_loss);
        v("reducing_daily_loss", s.reducing_daily_loss);
        v("max_orders_per_sec", s.max_orders_per_sec), v("stale_quote_ms", s.stale_quote_ms);
        v("max_working_orders", s.max_working_orders), v("price_band_bps", s.price_band_bps);
    }
};

/// sys.node.health: the broker saw a node change state.
struct node_health {
    static constexpr std::string_view type_name = "node_health";
    std::string node, kind;
    health old_state = health::stopped, new_state = health::stopped;
    std::string reason;
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("node", s.node), v("kind", s.kind), v("old_state", s.old_state);
        v("new_state", s.new_state), v("reason", s.reason);
    }
};

/// sys.node.registered: a node registered (or re-registered) with the broker.
struct node_registered {
    static constexpr std::string_view type_name = "node_registered";
    std::string node, kind, host, version;
    std::int64_t pid = 0;
    std::uint64_t session_id = 0;
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("node", s.node), v("kind", s.kind), v("host", s.host), v("version", s.version);
        v("pid", s.pid), v("session_id", s.session_id);
    }
};

/// sys.broker.started: a broker incarnation began; a new epoch means "re-register".
struct broker_started {
    static constexpr std::string_view type_name = "broker_started";
    std::uint64_t epoch = 0;
    std::string version;
    std::string xsub_endpoint, xpub_endpoint, control_endpoint;
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("epoch", s.epoch), v("version", s.version), v("xsub_endpoint", s.xsub_endpoint);
        v("xpub_endpoint", s.xpub_endpoint), v("control_endpoint", s.control_endpoint);
    }
};

/// sys.trading (operator halt/resume of the desk via the broker), sys.trading.symbol.<SYM> /
/// sys.trading.strategy.<node> (one scope of the kill switch) and risk.state (risk's own state).
struct trading_state_changed {
    static constexpr std::string_view type_name = "trading_state";
    trading_state state = trading_state::active;
    std::string reason;
    std::string by;        // "operator", or the node that changed it ("risk: daily loss limit")
    std::string symbol;    // the scope: one symbol; "" = not a symbol scope
    std::string strategy;  // the scope: one strategy node; "" = not a strategy scope
    static constexpr std::string_view optional_keys[] = {"symbol", "strategy"};
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("state", s.state), v("reason", s.reason), v("by", s.by), v("symbol", s.symbol);
        v("strategy", s.strategy);
    }
};

/// sys.probe.<node>: a node publishes this to itself through the broker until it arrives back,
/// proving its subscriptions reached the broker before it reports healthy (slow-joiner guard).
struct probe {
    static constexpr std::string_view type_name = "probe";
    std::string node;
    std::uint64_t nonce = 0;
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("node", s.node), v("nonce", s.nonce);
    }
};

/// sys.acl.violation: the broker dropped messages an authenticated node published on a topic
/// outside its [[security.client]] publish prefixes (CURVE on). Rate-limited: at most one per
/// node per second, `dropped` counting every message refused since the previous one.
struct acl_violation {
    static constexpr std::string_view type_name = "acl_violation";
    std::string node;   // the sender, as its CURVE key authenticated it
    std::string topic;  // the latest refused topic
    std::uint64_t dropped = 0;
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("node", s.node), v("topic", s.topic), v("dropped", s.dropped);
    }
};

/// sys.recorder.gap: written by the journal into its own log (never published on the bus) where
/// the broker's recorder link could not redeliver what the journal missed: the broker had
/// already evicted messages `expected_seq` .. `first_seq` - 1 of recorder epoch `epoch`
/// (PROTOCOL.md "The recorder link"). A node recovering across one starts halted.
struct recorder_gap {
    static constexpr std::string_view type_name = "recorder_gap";
    std::uint64_t epoch = 0;         // the broker epoch the sequence numbers belong to
    std::uint64_t expected_seq = 0;  // the first recorder sequence number the journal lacks
    std::uint64_t first_seq = 0;     // the first one the broker still had
    std::uint64_t missing = 0;       // first_seq - expected_seq: messages the journal lacks
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("epoch", s.epoch), v("expected_seq", s.expected_seq), v("first_seq", s.first_seq);
        v("missing", s.missing);
    }
};

/// sys.flatten: an operator's flatten (`tradebus flatten`), published by the broker right after
/// the cancel_request with the same request_id on sys.cancel. Risk closes the positions of the
/// scope once execution answered that cancel (PROTOCOL.md "Flatten").
struct flatten_request {
    static constexpr std::string_view type_name = "flatten_request";
    std::uint64_t request_id = 0;  // as in the cancel_request, != 0
    std::string symbol;            // "" = every symbol
    std::string reason, by;
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("request_id", s.request_id), v("symbol", s.symbol), v("reason", s.reason);
        v("by", s.by);
    }
};

/// order.signal_src of a flatten's closing orders (their signal_id is the request id): not a
/// node name, so no strategy scope or strategy's signal ids can meet it.
inline constexpr std::string_view flatten_signal_src = "operator:flatten";

/// A position a flatten did not close, and why.
struct flatten_left {
    static constexpr std::string_view struct_name = "flatten_left";
    std::string symbol;
    std::int64_t qty = 0;  // the position, signed
    std::string reason;
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("symbol", s.symbol), v("qty", s.qty), v("reason", s.reason);
    }
};

/// risk.flatten.<risk node name>: what risk did for a flatten_request. The closing orders were
/// published (risk.approved) before it; their fills, cancels or rejects follow as for any order.
struct flatten_done {
    static constexpr std::string_view type_name = "flatten_done";
    std::uint64_t request_id = 0;
    std::string symbol;                  // the request's scope ("" = every symbol)
    std::uint64_t cancelled = 0;         // resting orders execution cancelled for it
    std::vector<working_order> closing;  // orders sent to close (MARKET IOC), open_qty = qty
    std::vector<flatten_left> left;      // positions not closed, and why
    std::vector<working_order> working;  // other orders of the scope not ended yet
    std::string error;                   // "" or why nothing was closed
    template <class S, class V>
    static void fields(S& s, V& v) {
        v("request_id", s.request_id), v("symbol", s.symbol), v("cancelled", s.cancelled);
        v("closing", s.closing), v("left", s.left), v("working", s.working);
        v("error", s.error);
    }
};

/// The payload of a decoded event. Order matters only for std::variant indices.
using payload = std::variant<tick, bar, signal, order, order_rejected, order_ack, fill, exec_reject,
                             position, risk_snapshot, node_health, node_registered, broker_started,
                             trading_state_changed, probe, acl_violation, order_cancelled,
                             order_expired, cancel_request, cancel_reject, cancel_done, risk_limits,
                             recorder_gap, flatten_request, flatten_done, exec_snapshot>;

/// A decoded data-plane event.
struct event {
    envelope env;
    payload body;
    [[nodiscard]] std::string_view type_name() const {
        return std::visit([](const auto& b) { return std::decay_t<decltype(b)>::type_name; }, body);
    }
};

}  // namespace tradebus::schema
