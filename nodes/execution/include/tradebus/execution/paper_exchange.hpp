// The paper exchange behind the execution node: validates approved orders, remembers every
// order id it has seen (so an id is never executed twice), and fills against the latest quote
// per symbol with slippage against the taker, optional partial fills (at most the displayed
// size per quote), and resting limit orders that fill when a later quote makes them
// marketable. Time in force (PROTOCOL.md "Order lifecycle"): IOC fills what the quote allows
// and cancels the rest, FOK fills all or cancels all, DAY and GTC rest until filled, cancelled
// or expired. Pure logic: no clock (times come in as arguments), no sockets; results come back
// as a list to publish.
#pragma once

#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "tradebus/runtime/session.hpp"
#include "tradebus/schema/events.hpp"

namespace tradebus::execution {

/// Defaults, each with its unit and why.
namespace defaults {
inline constexpr double slippage_bps = 1.0;  // one basis point against the taker
inline constexpr bool partial_fills = false;
// An approval older than this (queued while execution was down, or before a halt) is refused:
// the price it was approved at no longer means anything.
inline constexpr std::int64_t max_order_age_ms = 5000;
// ~40 bytes per remembered id (an 8-byte hash in a hash set + FIFO) -> 500k ids ~ 20 MB at
// most: every order of a long trading day at several orders per second.
inline constexpr std::int64_t max_remembered_orders = 500'000;
inline constexpr std::int64_t max_resting_orders = 10'000;  // open orders across all symbols
inline constexpr std::int64_t max_symbols = 10'000;         // quotes kept (one per symbol)
// A halt (operator or risk) cancels every resting order: nothing the desk stopped trading on
// should fill the moment it resumes.
inline constexpr bool cancel_on_halt = true;
}  // namespace defaults

struct exchange_config {
    double slippage_bps = defaults::slippage_bps;
    bool partial_fills = defaults::partial_fills;
    std::int64_t max_order_age_ms = defaults::max_order_age_ms;  // 0 = no age check
    std::int64_t max_remembered_orders = defaults::max_remembered_orders;
    std::int64_t max_resting_orders = defaults::max_resting_orders;
    std::int64_t max_symbols = defaults::max_symbols;
    bool cancel_on_halt = defaults::cancel_on_halt;
};

/// Reject codes (exec_reject.code).
namespace reject_code {
inline constexpr std::string_view invalid = "invalid";
inline constexpr std::string_view duplicate = "duplicate";
inline constexpr std::string_view halted = "halted";
inline constexpr std::string_view no_quote = "no_quote";
inline constexpr std::string_view stale_order = "stale_order";
}  // namespace reject_code

/// Every order id seen, up to a capacity; the oldest are forgotten first. Ids are kept as
/// 64-bit hashes: a collision can only make a new order look like a duplicate (rejected,
/// probability ~n^2/2^65, ~1e-8 at 500k ids), never let a duplicate through.
class order_id_memory {
  public:
    explicit order_id_memory(std::size_t capacity) : capacity_(capacity) {}
    /// Remembers `id`; false when it was already remembered.
    bool insert(std::string_view id);
    [[nodiscard]] bool contains(std::string_view id) const;
    [[nodiscard]] std::size_t size() const noexcept { return fifo_.size(); }
    [[nodiscard]] std::uint64_t forgotten() const noexcept { return forgotten_; }

  private:
    [[nodiscard]] std::size_t slot_of(
        std::uint64_t key) const noexcept;  // its slot or an empty one
    void erase(std::uint64_t key) noexcept;
    void grow();

    std::size_t capacity_;
    // The ids' hashes in one flat open-addressing table (linear probing, 0 = empty, at most half
    // full; an erase shifts the chain back instead of leaving a tombstone): one cache line per
    // lookup on the order path, no allocation per order once grown.
    std::vector<std::uint64_t> slots_;
    int shift_ = 64;
    std::size_t count_ = 0;
    std::deque<std::uint64_t> fifo_;  // the same hashes in arrival order: the oldest go first
    std::uint64_t forgotten_ = 0;
};

/// Why an approval is refused before it reaches any venue.
struct order_refusal {
    std::string_view code;  // reject_code::*
    std::string reason;
};

/// The checks every execution venue makes on an approval published at env.ts_ns and received
/// at `now_ns` (docs/venue-adapter.md "Reject codes"), in this order: order id present
/// ("invalid"); id never seen before ("duplicate"; from here on the id is remembered in `seen`
/// whatever happens next); qty > 0, side BUY/SELL, a valid symbol, LIMIT with limit_px > 0,
/// expire_ts_ns >= 0, 0 for IOC/FOK and else 0 or after `now_ns` ("invalid"); not `halted`
/// ("halted"; a flatten's closing order passes while `closing_through_halt`); not older than
/// `max_order_age_ms` (0 = no check) ("stale_order"). nullopt: the order may go on.
[[nodiscard]] std::optional<order_refusal> check_order(const schema::envelope& env,
                                                       const schema::order& o, std::int64_t now_ns,
                                                       order_id_memory& seen, bool halted,
                                                       bool closing_through_halt,
                                                       std::int64_t max_order_age_ms);

/// One event to publish, with the trace id of the order it is about (0 for the answers to a
/// cancel request).
struct exec_output {
    std::variant<schema::order_ack, schema::fill, schema::exec_reject, schema::order_cancelled,
                 schema::order_expired, schema::cancel_reject, schema::cancel_done>
        body;
    std::uint64_t trace_id = 0;
};

class paper_exchange {
  public:
    /// Fill ids are `<fill_id_prefix>-<n>`, n = 1, 2, ...; make the prefix unique per process
    /// run (node name + start time) and fill ids are unique across restarts.
    explicit paper_exchange(exchange_config cfg, std::string fill_id_prefix = "fill");

    void set_fill_id_prefix(std::string prefix) { fill_prefix_ = std::move(prefix); }
    /// The trading session whose end a DAY order lives to ([session]; default the UTC day).
    void set_session(const runtime::trading_session& session) { session_ = session; }

    /// Handles one approved order published at env.ts_ns, received at `now_ns`. Checks, in this
    /// order: order id present (else "invalid"); id never seen before (else "duplicate"; the id
    /// is remembered from here on whatever happens next); qty > 0, side BUY/SELL, valid symbol,
    /// LIMIT with limit_px > 0, expire_ts_ns >= 0, 0 for IOC/FOK and else 0 or after `now_ns`
    /// (else "invalid"); trading not halted ("halted"; but see set_closing_through_halt); not
    /// older than max_order_age_ms ("stale_order"); a quote on the side it takes ("no_quote");
    /// for DAY/GTC room on the book ("invalid": too many resting orders). Then an order_ack
    /// carrying the expiry it gets (expire_ts_ns, or for DAY with 0 the next session start
    /// after `now_ns`; GTC with 0 never expires), then fills as far as the quote allows. FOK:
    /// fills only when the quote allows all of it, else it is cancelled whole. IOC: the
    /// unfilled rest is cancelled. DAY and GTC: the rest rests and fills on later quotes.
    /// Appends to `out`.
    void on_order(const schema::envelope& env, const schema::order& o, std::int64_t now_ns,
                  std::vector<exec_output>& out);

    /// A new quote: becomes the latest for its symbol (displayed sizes available again), then
    /// resting orders of that symbol fill in arrival order as far as it allows (not while
    /// halted).
    void on_tick(const schema::tick& t, std::vector<exec_output>& out);

    /// Expires every resting order whose expiry is at or before `now_ns` (order_expired, in
    /// expiry order); returns how many.
    std::size_t expire(std::int64_t now_ns, std::vector<exec_output>& out);
    /// The earliest expiry of a resting order, or nullopt when none expires.
    [[nodiscard]] std::optional<std::int64_t> next_expiry_ns() const;

    /// An operator's cancel request. Exactly one answer ends it: cancel_done (after one
    /// order_cancelled per resting order in its scope, by = the request's `by`) or
    /// cancel_reject, which changes nothing: "invalid" (schema::cancel_scope_error),
    /// "unknown_order" (an id this exchange never received, or has forgotten),
    /// "already_terminal" (an id it received that is no longer resting), "unknown_symbol"
    /// (a symbol it has neither a quote nor an order for). A symbol or `all` with nothing
    /// resting is cancel_done with 0.
    void cancel(const schema::cancel_request& r, std::vector<exec_output>& out);

    /// Halting refuses new orders until resumed and, with cancel_on_halt, cancels every resting
    /// order (order_cancelled by "execution", the reason naming the halt); without it they
    /// rest, unfilled, and still expire.
    void set_halted(bool halted, std::string_view reason, std::vector<exec_output>& out);
    [[nodiscard]] bool halted() const noexcept { return halted_; }
    /// While only risk's own halt (its daily loss) is in force, a flatten's closing orders
    /// (signal_src schema::flatten_signal_src) still execute: closing shrinks the loss. An
    /// operator's halt refuses them too.
    void set_closing_through_halt(bool allowed) noexcept { closing_through_halt_ = allowed; }
    /// Cancels every resting order (by "execution", `reason`); returns how many.
    std::size_t cancel_all(std::string_view reason, std::vector<exec_output>& out);
    /// A scope of the kill switch halted (cancel_on_halt): cancels the resting orders of
    /// `symbol`, or those a strategy node asked for (the order's signal_src == `strategy`), by
    /// "execution" with `reason`; returns how many. Orders rebuilt from the journal carry their
    /// ack's (or snapshot's) signal_src; one acknowledged before acks carried it has none and is
    /// in no strategy's scope. Does nothing with cancel_on_halt off.
    std::size_t cancel_scope(std::string_view symbol, std::string_view strategy,
                             std::string_view reason, std::vector<exec_output>& out);

    [[nodiscard]] std::size_t resting() const noexcept { return resting_.size(); }
    /// What is left of resting order `id`, or nullopt when it is not resting.
    [[nodiscard]] std::optional<std::int64_t> resting_leaves(std::string_view id) const;
    [[nodiscard]] const exchange_config& config() const noexcept { return cfg_; }
    [[nodiscard]] std::uint64_t fills() const noexcept { return fills_; }
    [[nodiscard]] std::uint64_t rejects() const noexcept { return rejects_; }
    [[nodiscard]] std::uint64_t cancels() const noexcept { return cancels_; }
    [[nodiscard]] std::uint64_t expiries() const noexcept { return expired_; }
    [[nodiscard]] const order_id_memory& seen() const noexcept { return seen_; }
    /// Recovery: an order id this exchange acted on before a restart (an ack, fill or reject
    /// it published today) counts as seen, so an approval with it again is a duplicate.
    /// Returns false when it was already remembered.
    bool remember_order_id(std::string_view id) { return !id.empty() && seen_.insert(id); }
    /// Recovery of the resting book, from this exchange's own events replayed in journal order:
    /// an ack of a DAY/GTC order rests it again with its whole quantity, its trace id and the
    /// expiry the ack gave (false when it cannot: IOC/FOK, no room, or already resting); a fill
    /// leaves what its leaves_qty says (0 ends it); a reject, cancel or expiry ends it.
    bool restore_ack(const schema::order_ack& a, std::uint64_t trace_id);
    void restore_fill(const schema::fill& f);
    void restore_end(std::string_view order_id);
    /// The resting book as exec.snapshot carries it: by symbol, each symbol's orders in
    /// arrival order (the order they fill in).
    [[nodiscard]] std::vector<schema::resting_order> resting_orders() const;
    /// Recovery from an exec.snapshot: the resting book becomes the snapshot's, in its order
    /// (an entry that cannot rest, as for restore_ack, or whose leaves_qty is not in 1..qty,
    /// is skipped); returns how many rest.
    std::size_t restore_snapshot(const schema::exec_snapshot& s);

    /// Execution price of a taker at `touch` (ask for BUY, bid for SELL): worse by slippage_bps,
    /// rounded to the nearest 1e-8, never below 1e-8.
    [[nodiscard]] std::int64_t slipped(schema::side s, std::int64_t touch) const noexcept;

  private:
    struct working {
        schema::order o;
        std::int64_t leaves = 0;
        std::uint64_t trace_id = 0;
        std::int64_t expire_ns = 0;  // 0 = never
    };
    using order_list = std::list<working>;
    struct book {
        schema::tick quote;  // latest; bid_px/ask_px 0 = that side is empty
        bool has_quote = false;
        std::int64_t bid_avail = 0, ask_avail = 0;  // displayed size not yet taken
        order_list orders;                          // resting, arrival order
    };
    struct slot {
        book* b;  // books_ is a std::map: pointers stay valid
        order_list::iterator it;
    };

    void reject(const schema::order& o, std::string_view code, std::string reason,
                std::uint64_t trace, std::vector<exec_output>& out);
    /// Fills `w` against `b` as far as possible; true when it is complete.
    bool try_fill(book& b, working& w, std::vector<exec_output>& out);
    /// True when `w` could fill completely against `b` right now (FOK).
    [[nodiscard]] bool fills_completely(const book& b, const working& w) const;
    void rest(book& b, working w);
    /// Forgets a resting order (the index, the expiry, the list entry); returns the next one.
    order_list::iterator remove(book& b, order_list::iterator it);
    void cancelled(const working& w, std::string by, std::string reason, std::uint64_t request_id,
                   std::vector<exec_output>& out);
    book& book_for(const std::string& symbol);

    exchange_config cfg_;
    runtime::trading_session session_;  // DAY orders expire at its next start
    std::string fill_prefix_;
    std::uint64_t next_fill_ = 1;
    order_id_memory seen_;
    std::map<std::string, book, std::less<>> books_;
    std::unordered_map<std::string, slot> resting_;            // by order id
    std::set<std::pair<std::int64_t, std::string>> expiries_;  // (expire_ns, id) of resting
    bool halted_ = false;
    bool closing_through_halt_ = false;
    std::uint64_t fills_ = 0, rejects_ = 0, cancels_ = 0, expired_ = 0;
};

}  // namespace tradebus::execution
