// The paper exchange behind the execution node: validates approved orders, remembers every
// order id it has seen (so an id is never executed twice), and fills against the latest quote
// per symbol with slippage against the taker, optional partial fills (at most the displayed
// size per quote), and resting limit orders that fill when a later quote makes them
// marketable. Pure logic: no clock, no sockets; results come back as a list to publish.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <unordered_set>
#include <variant>
#include <vector>

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
}  // namespace defaults

struct exchange_config {
    double slippage_bps = defaults::slippage_bps;
    bool partial_fills = defaults::partial_fills;
    std::int64_t max_order_age_ms = defaults::max_order_age_ms;  // 0 = no age check
    std::int64_t max_remembered_orders = defaults::max_remembered_orders;
    std::int64_t max_resting_orders = defaults::max_resting_orders;
    std::int64_t max_symbols = defaults::max_symbols;
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
    std::size_t capacity_;
    std::unordered_set<std::uint64_t> ids_;
    std::deque<std::uint64_t> fifo_;
    std::uint64_t forgotten_ = 0;
};

/// One event to publish, with the trace id of the order that caused it.
struct exec_output {
    std::variant<schema::order_ack, schema::fill, schema::exec_reject> body;
    std::uint64_t trace_id = 0;
};

class paper_exchange {
  public:
    /// Fill ids are `<fill_id_prefix>-<n>`, n = 1, 2, ...; make the prefix unique per process
    /// run (node name + start time) and fill ids are unique across restarts.
    explicit paper_exchange(exchange_config cfg, std::string fill_id_prefix = "fill");

    void set_fill_id_prefix(std::string prefix) { fill_prefix_ = std::move(prefix); }

    /// Handles one approved order published at env.ts_ns, received at `now_ns`. Checks, in this
    /// order: order id present (else "invalid"); id never seen before (else "duplicate"; the id
    /// is remembered from here on whatever happens next); qty > 0, side BUY/SELL, valid symbol,
    /// LIMIT with limit_px > 0 (else "invalid"); trading not halted ("halted"); not older than
    /// max_order_age_ms ("stale_order"); a quote on the side it takes ("no_quote"); room on the
    /// book ("invalid": too many resting orders). Then an order_ack, then fills as far as the
    /// quote allows; what is left rests and fills on later quotes. Appends to `out`.
    void on_order(const schema::envelope& env, const schema::order& o, std::int64_t now_ns,
                  std::vector<exec_output>& out);

    /// A new quote: becomes the latest for its symbol (displayed sizes available again), then
    /// resting orders of that symbol fill in arrival order as far as it allows.
    void on_tick(const schema::tick& t, std::vector<exec_output>& out);

    /// Halting cancels every resting order (exec_reject "halted", reason says it was resting)
    /// and refuses new ones until resumed.
    void set_halted(bool halted, std::string_view reason, std::vector<exec_output>& out);
    [[nodiscard]] bool halted() const noexcept { return halted_; }

    [[nodiscard]] std::size_t resting() const noexcept { return resting_count_; }
    [[nodiscard]] std::uint64_t fills() const noexcept { return fills_; }
    [[nodiscard]] std::uint64_t rejects() const noexcept { return rejects_; }
    [[nodiscard]] const order_id_memory& seen() const noexcept { return seen_; }
    /// Recovery: an order id this exchange acted on before a restart (an ack, fill or reject
    /// it published today) counts as seen, so an approval with it again is a duplicate.
    /// Returns false when it was already remembered.
    bool remember_order_id(std::string_view id) { return !id.empty() && seen_.insert(id); }

    /// Execution price of a taker at `touch` (ask for BUY, bid for SELL): worse by slippage_bps,
    /// rounded to the nearest 1e-8, never below 1e-8.
    [[nodiscard]] std::int64_t slipped(schema::side s, std::int64_t touch) const noexcept;

  private:
    struct working {
        schema::order o;
        std::int64_t leaves = 0;
        std::uint64_t trace_id = 0;
    };
    struct book {
        schema::tick quote;  // latest; bid_px/ask_px 0 = that side is empty
        bool has_quote = false;
        std::int64_t bid_avail = 0, ask_avail = 0;  // displayed size not yet taken
        std::deque<working> orders;                 // resting, arrival order
    };

    void reject(const schema::order& o, std::string_view code, std::string reason,
                std::uint64_t trace, std::vector<exec_output>& out);
    /// Fills `w` against `b` as far as possible; true when it is complete.
    bool try_fill(book& b, working& w, std::vector<exec_output>& out);

    exchange_config cfg_;
    std::string fill_prefix_;
    std::uint64_t next_fill_ = 1;
    order_id_memory seen_;
    std::map<std::string, book, std::less<>> books_;
    std::size_t resting_count_ = 0;
    bool halted_ = false;
    std::uint64_t fills_ = 0, rejects_ = 0;
};

}  // namespace tradebus::execution
