// Pre-trade risk: every strategy signal becomes either an approved order or a rejection naming
// the rule that fired. Pure (no clock, no I/O): risk_node.cpp feeds it quotes, fills, signals
// and operator commands with the node clock, and publishes what it returns.
//
// Rules, in the order they are checked (the first that fires decides; `code` is the
// order_rejected.rule value):
//   risk_degraded      risk itself is degraded (no quote on any symbol for stale_quote_ms)
//   halted             trading state halted by the operator (kill switch): the desk, the
//                      signal's symbol or the strategy that sent it (the reason names which)
//   max_daily_loss     trading state halted because the day P&L crossed -max_daily_loss
//   flattening         an operator's flatten of the symbol (or of every symbol) is under way
//   invalid_signal     BUY/SELL qty <= 0, ref_px <= 0, or a malformed symbol
//   unknown_symbol     symbol not in allowed_symbols (when that list is not empty)
//   duplicate_signal   the same (signal_src, signal_id) was seen before (e.g. a replay)
//   nothing_to_close   FLAT while risk's book has no position in the symbol
//   no_quote           no quote for the symbol since risk started
//   stale_data         the symbol's last quote is older than stale_quote_ms
//   price_band         |ref_px - mid| / mid > price_band_bps
//   reducing           reduce-only state (the desk's, or the symbol's or strategy's scope,
//                      whichever is strictest) and the order does not shrink |position|
//                      (above what would: clipped when reduce_oversize, else rejected)
//   max_order_qty      qty > max_order_qty (clipped to it when reduce_oversize, else rejected)
//   max_position       |position + open orders + order| > max_position, unless it shrinks
//   max_gross_notional sum |position| x mid across symbols after the order > max_gross_notional,
//                      unless it shrinks
//   max_working_orders max_working_orders approved orders have not ended yet
//   max_orders_per_sec as many orders were approved within the last second as allowed
// An approved order counts against the limits (working) until risk sees it end: a fill with
// leaves_qty 0, exec.cancelled, exec.expired or exec.reject (PROTOCOL.md "Order lifecycle").
// A FLAT signal is resolved against risk's own book first: SELL the long or BUY the short.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "tradebus/risk/order_rate_limiter.hpp"
#include "tradebus/risk/position_book.hpp"
#include "tradebus/risk/risk_config.hpp"
#include "tradebus/risk/trading_state.hpp"
#include "tradebus/risk/working_orders.hpp"
#include "tradebus/schema/events.hpp"

namespace tradebus::risk {

/// An approved order or a rejection; topics risk.approved.<SYM> / risk.rejected.<SYM>.
using decision = std::variant<schema::order, schema::order_rejected>;

struct quote_state {
    std::int64_t mid_px = 0;
    std::int64_t recv_ns = 0;    // node clock when it arrived (not the exchange time)
    std::uint64_t trace_id = 0;  // of the tick, for mark-to-market position events
};

class risk_engine {
  public:
    explicit risk_engine(risk_config cfg);

    /// Order ids are "<prefix>-<n>", n from 1; the node sets "<name>-<start epoch ms>" so ids
    /// stay unique across restarts.
    void set_order_id_prefix(std::string prefix) { order_id_prefix_ = std::move(prefix); }

    /// A quote: records the mid and its arrival time, marks the book, and latches the loss
    /// stage if the day P&L crossed a limit. Returns false (ignored) without a usable mid.
    bool on_quote(const schema::tick& t, std::int64_t now_ns, std::uint64_t trace_id = 0);
    /// A fill: updates the book and the working order, then checks the loss limits. Returns
    /// false for a fill that is malformed (qty or px <= 0, side FLAT) or a repeated fill_id.
    bool on_fill(const schema::fill& f, std::int64_t now_ns);
    /// Execution refused an order: it no longer counts as working.
    void on_exec_reject(const schema::exec_reject& r);
    /// An order was cancelled or expired (exec.cancelled / exec.expired): it no longer counts
    /// as working. Returns false when it was not working (not ours, or already ended).
    bool on_order_end(std::string_view order_id);
    /// Checks one signal from node `src` at `now_ns` (see the rule list above).
    decision on_signal(const schema::signal& s, const std::string& src, std::int64_t now_ns);
    /// Puts new limits in force (config reload) from the next signal on. A loss limit the day
    /// P&L already breaches latches its stage now; nothing is released. Returns true when the
    /// trading state changed.
    bool reconfigure(risk_config cfg);
    /// The limits in force as risk.limits carries them (`cause` and `error` left empty).
    [[nodiscard]] schema::risk_limits limits() const;
    /// Operator halt / reduce-only / resume. Returns false when nothing changed (idempotent).
    bool set_operator_state(schema::trading_state s, const std::string& reason);
    /// Operator halt / reduce-only / resume of one symbol or strategy scope, an event received
    /// on `topic` (trading_scopes::set).
    trading_scopes::change set_scope(std::string_view topic,
                                     const schema::trading_state_changed& ev);

    // ---- flatten (PROTOCOL.md "Flatten"): an operator closes the positions of one symbol ("" =
    // every symbol). begin_flatten when the request arrives; close_positions once execution
    // answered the cancel of the scope's resting orders, or abandon_flatten when it did not.
    /// Signals in the scope are rejected (rule `flattening`) until it ends. Returns false,
    /// changing nothing, for a request already under way or beyond max_flattens of them.
    bool begin_flatten(std::uint64_t request_id, const std::string& symbol);
    /// One closing order per symbol of the scope with a position: MARKET IOC on the other side
    /// for the position less what working orders on that side already close. Sent whatever
    /// the loss stage and reduce-only (they shrink |position|), but never through an operator's
    /// halt of the desk or the symbol: that position is `left`, with the halt as the reason.
    /// Ends the flatten. An unknown request_id gives an empty answer (error set).
    struct flatten_result {
        schema::flatten_done done;          // request_id, symbol, closing, left, working
        std::vector<schema::order> orders;  // the closing orders, to publish
    };
    flatten_result close_positions(std::uint64_t request_id);
    /// Ends the flatten without closing anything; returns its symbol scope (nullopt: unknown).
    std::optional<std::string> abandon_flatten(std::uint64_t request_id);
    static constexpr std::size_t max_flattens = 64;

    // ---- recovery (risk_recovery.hpp): today's journaled decisions, replayed before start.
    /// An order this node approved: its signal counts as seen, and it is working until the
    /// fill, reject, cancel or expiry that ends it (replayed after it) says otherwise.
    void restore_approved(const schema::order& o);
    /// A signal this node rejected: it counts as seen (a replay of it is a duplicate).
    void restore_rejected(const schema::order_rejected& r);
    /// The mid `symbol` was marked at when this node last published its position.
    void restore_mark(const std::string& symbol, std::int64_t mid_px);
    /// The loss stage this node had latched (its last risk.state today, when set by risk).
    void restore_loss_stage(schema::trading_state s, const std::string& reason);

    // ---- sessions (runtime::trading_session decides where they start)
    /// A new session starting at `session_start_ns` (UTC ns): the daily loss counts from the
    /// book's P&L now, and a loss stage risk latched is released (the operator's is not).
    /// Returns false, changing nothing, when that session (or a later one) already began.
    bool begin_session(std::int64_t session_start_ns);
    /// Start of the current session; 0 before the first begin_session / restore_snapshot.
    [[nodiscard]] std::int64_t session_start() const noexcept { return session_start_ns_; }
    /// The session's P&L: book realized + unrealized minus their value at the session start.
    /// What max_daily_loss / reducing_daily_loss watch.
    [[nodiscard]] std::int64_t day_pnl() const;
    /// The book as risk.snapshot carries it (flat symbols without realized P&L left out).
    [[nodiscard]] schema::risk_snapshot snapshot() const;
    /// Replaces the book and the session with a journaled snapshot (recovery).
    void restore_snapshot(const schema::risk_snapshot& s);

    /// Re-evaluates risk's own health at `now_ns`; returns true when degraded() changed.
    /// Degraded = quotes have been seen, but none on any symbol within stale_quote_ms.
    bool update_health(std::int64_t now_ns);

    [[nodiscard]] schema::trading_state state() const noexcept { return state_.state(); }
    [[nodiscard]] const trading_state_machine& trading() const noexcept { return state_; }
    [[nodiscard]] const trading_scopes& scopes() const noexcept { return scopes_; }
    [[nodiscard]] bool degraded() const noexcept { return degraded_; }
    [[nodiscard]] const std::string& degraded_reason() const noexcept { return degraded_why_; }
    [[nodiscard]] const position_book& book() const noexcept { return book_; }
    [[nodiscard]] const risk_config& config() const noexcept { return cfg_; }
    [[nodiscard]] const quote_state* quote(const std::string& symbol) const;
    /// Open (approved, not fully filled) qty of `symbol` on side `dir`.
    [[nodiscard]] std::int64_t open_qty(const std::string& symbol, schema::side dir) const;
    [[nodiscard]] std::size_t open_orders() const noexcept { return open_.size(); }

  private:
    // Bounded memory of ids already seen, oldest forgotten first.
    template <class Key>
    struct recent_set {
        std::set<Key> keys;
        std::deque<Key> order;
        bool insert(const Key& k);  // false when already present
    };
    static constexpr std::size_t recent_capacity = 65'536;

    std::int64_t limit_price(schema::side dir, std::int64_t ref_px) const;
    // The request id of a flatten under way whose scope covers `symbol` (0: none).
    [[nodiscard]] std::uint64_t flattening(const std::string& symbol) const;

    risk_config cfg_;
    position_book book_;
    trading_state_machine state_;
    trading_scopes scopes_;
    order_rate_limiter rate_;
    std::map<std::string, quote_state> quotes_;
    working_orders open_;
    recent_set<std::pair<std::string, std::uint64_t>> seen_signals_;
    recent_set<std::string> seen_fills_;
    std::int64_t session_start_ns_ = 0;
    std::int64_t day_base_pnl_ = 0;  // book total P&L at session_start_ns_
    std::string order_id_prefix_ = "risk";
    std::uint64_t next_order_ = 1;
    std::map<std::uint64_t, std::string> flattens_;  // request id -> symbol ("" = every one)
    bool any_quote_ = false;
    std::int64_t last_quote_ns_ = 0;
    bool degraded_ = false;
    std::string degraded_why_;
};

}  // namespace tradebus::risk
