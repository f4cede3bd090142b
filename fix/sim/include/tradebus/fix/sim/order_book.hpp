// The matching engine of tradebus-venue-sim, the FIX 4.4 venue simulator: one price-time
// priority limit order book per symbol, the client orders of every FIX session in it, and the
// "house", the simulator's own market, quoting a bid and an ask through set_house_quote().
// Pure logic: no FIX, no sockets, no clock (every call is given `now_ns`), deterministic. The
// acceptor turns FIX messages into calls here and each returned report into one FIX message.
//
// Rules:
// - Price-time priority: an incoming order trades with the best opposite price first, then the
//   earliest order at that price, always at the RESTING order's price. A partial fill keeps an
//   order's place in the queue.
// - Self-trade: an order never trades with an order of the same owner. It skips over them (they
//   keep their place), so one owner's own bid and ask may cross; top_of_book() shows the book as
//   it is. FOK counts only other owners' quantity. The house ("" owner) is an owner too.
// - MARKET orders never rest, whatever their time in force (FIX's default TimeInForce is DAY):
//   the unfilled rest is cancelled (a MARKET FOK fills all or nothing). IOC: fills what
//   crosses now, the rest is cancelled. FOK: fills completely at once, or is cancelled whole
//   without a trade. DAY and GTC limit orders rest; an order with expire_ts_ns set (GTD) ends
//   at expire(); DAY orders end at expire_day_orders() (the session end, the caller's clock).
// - ClOrdIDs are unique per owner: a (owner, id) that is live, or terminal and still
//   remembered, is rejected as a duplicate. Terminal orders leave the book but are remembered
//   for status() and duplicate detection, the last `max_terminal_orders` of them; the oldest
//   is forgotten first (and its id could then be used again).
// - Reports come in the order FIX sends them: `accepted` for the incoming order first, then per
//   match the incoming side's `trade`, then the resting side's, then the `cancelled` rest of an
//   IOC/FOK/MARKET order. House orders get no reports and no ExecIDs, and are not remembered
//   once gone; their fills count in position("", symbol).
// - Bounds (a peer must not grow memory without bound): live orders per owner, symbols, the
//   length of ids and symbols, remembered terminal orders, recorded executions. The number of
//   owners is the acceptor's: one per configured session.
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tradebus/schema/money.hpp"
#include "tradebus/schema/types.hpp"

namespace tradebus::fix::sim {

/// A new order as the FIX layer received it (NewOrderSingle). Prices are 1e-8 fixed point
/// (schema::price_scale), quantities whole lots.
struct order_spec {
    std::string id;      // ClOrdID (11), unique per owner
    std::string owner;   // the session / participant it came from; "" (the house) is refused
    std::string symbol;  // Symbol (55)
    schema::side dir = schema::side::buy;                 // BUY or SELL; FLAT is refused
    schema::order_type kind = schema::order_type::limit;  // OrdType (40)
    std::int64_t qty = 0;                                 // OrderQty (38), > 0
    std::int64_t limit_px = 0;  // Price (44), > 0 for LIMIT; ignored (reported 0) for MARKET
    schema::time_in_force tif = schema::time_in_force::day;  // TimeInForce (59)
    std::int64_t expire_ts_ns = 0;  // ExpireTime (126); 0 = none, else must be after now
};

/// OrdStatus (39) of an order.
enum class order_state : std::uint8_t {
    new_order,         // 0 New: accepted, nothing filled
    partially_filled,  // 1
    filled,            // 2
    cancelled,         // 4 (by the owner, or the unfilled rest of IOC/FOK/MARKET)
    expired,           // C (ExpireTime reached, or the DAY session ended)
    rejected,          // 8
};

/// An order as it stands: what OrderStatusRequest / OrderMassStatusRequest answer with, and
/// the order part of every report. A terminal order (filled, cancelled, expired, rejected) has
/// leaves_qty 0, as FIX wants; what a cancel or expiry took off is order_qty - cum_qty.
struct order_status {
    std::string owner, id;
    std::string order_id;  // OrderID (37), the venue's "O<n>"; "" for a rejected order
    std::string symbol;
    schema::side dir = schema::side::buy;
    schema::order_type kind = schema::order_type::limit;
    schema::time_in_force tif = schema::time_in_force::day;
    std::int64_t order_qty = 0;
    std::int64_t limit_px = 0;  // 0 for MARKET
    std::int64_t expire_ts_ns = 0;
    std::int64_t cum_qty = 0;
    std::int64_t leaves_qty = 0;
    std::int64_t avg_px = 0;  // qty-weighted fill price, rounded to nearest 1e-8; 0 unfilled
    order_state state = order_state::new_order;
};

/// One ExecutionReport (or, for cancel_rejected, one OrderCancelReject), complete: the FIX
/// layer builds the message from this alone. `order` is the order after this event.
struct report {
    enum class kind : std::uint8_t {
        accepted,         // ExecType 0 New
        rejected,         // ExecType 8 Rejected; `text` says why
        trade,            // ExecType F Trade; last_qty at last_px
        cancelled,        // ExecType 4 Canceled; cancelled_qty taken off, `text` says why
        expired,          // ExecType C Expired; cancelled_qty taken off
        cancel_rejected,  // OrderCancelReject; `text` is "unknown_order" or "already_terminal"
    };
    kind what = kind::accepted;
    std::string exec_id;  // ExecID (17): "E<n>", unique, rising; "" for cancel_rejected
    order_status order;   // who to send it to (owner), ClOrdID, OrderID, OrdStatus, Cum/Leaves...
    std::int64_t last_qty = 0;       // trade: LastQty (32)
    std::int64_t last_px = 0;        // trade: LastPx (31), the resting order's price
    std::uint64_t match_id = 0;      // trade: TrdMatchID (880), the same on both sides
    bool aggressor = false;          // trade: this side took liquidity (LastLiquidityInd 2)
    std::int64_t cancelled_qty = 0;  // cancelled/expired: the open quantity taken off
    std::int64_t ts_ns = 0;          // TransactTime (60): the `now_ns` of the call
    std::string text;                // Text (58): why rejected, cancelled or refused
};

/// One side of one trade of a client order, kept for the whole run (executions()).
struct execution {
    std::string exec_id;  // the exec_id of that side's trade report
    std::uint64_t match_id = 0;
    std::string owner, id, order_id, symbol;
    schema::side dir = schema::side::buy;
    std::int64_t qty = 0;
    std::int64_t px = 0;
    std::int64_t ts_ns = 0;
    bool aggressor = false;
};

/// Best bid and ask of a symbol with the total open quantity at each price (house included);
/// 0/0 for an empty side. What the simulator publishes as market data.
struct book_top {
    std::int64_t bid_px = 0, bid_qty = 0, ask_px = 0, ask_qty = 0;
};

/// Memory bounds. A submit over a bound is rejected with the bound in its text.
struct engine_limits {
    std::size_t max_live_orders_per_owner = 10'000;  // resting orders of one session
    std::size_t max_symbols = 1'000;                 // books ever created (house included)
    std::size_t max_field_chars = 64;                // id and symbol length
    std::size_t max_terminal_orders = 100'000;       // remembered for status and duplicates
    std::size_t max_executions = 1'000'000;          // executions() keeps the first these
};

struct engine_counters {
    std::uint64_t accepted = 0;            // client orders accepted
    std::uint64_t rejected = 0;            // client orders rejected
    std::uint64_t matches = 0;             // trades (one per match, both sides)
    std::uint64_t executions_dropped = 0;  // client trade sides past max_executions
    std::uint64_t forgotten = 0;           // terminal orders forgotten past max_terminal_orders
};

/// The books of every symbol. One thread; not copyable or movable (the books point into it).
/// Every operation is O(log n) in the orders held, plus the orders it fills, skips (same
/// owner) or ends; FOK's check walks the crossing levels, top_of_book() the best level.
class matching_engine {
  public:
    explicit matching_engine(engine_limits limits = {});
    matching_engine(const matching_engine&) = delete;
    matching_engine& operator=(const matching_engine&) = delete;

    /// A NewOrderSingle. Invalid (see order_spec; a duplicate id; a bound reached; an
    /// expire_ts_ns not after now): one `rejected` report, nothing else changes (the id is
    /// remembered as rejected unless it was a duplicate, had no owner or id, or an id or
    /// symbol over max_field_chars). Otherwise `accepted`, the trades, and the cancelled rest
    /// (IOC/FOK/MARKET); a DAY/GTC limit rest rests. The max-live-orders bound applies to
    /// orders that may rest (DAY/GTC limit) only.
    std::vector<report> submit(const order_spec& spec, std::int64_t now_ns);

    /// An OrderCancelRequest for (owner, id): `cancelled` with cancelled_qty = the leaves, or
    /// `cancel_rejected` with text "unknown_order" (never seen, forgotten, or the house's) or
    /// "already_terminal" (its order shows the state it ended in).
    report cancel(const std::string& owner, const std::string& id, std::int64_t now_ns);

    /// Ends every order whose expire_ts_ns is set and <= now_ns: one `expired` report each,
    /// in expiry order (then arrival).
    std::vector<report> expire(std::int64_t now_ns);
    /// The session end: every live DAY order (GTC and the house's stay) is `expired`, in
    /// arrival order.
    std::vector<report> expire_day_orders(std::int64_t now_ns);

    /// The simulated market moves: the house's resting bid and ask in `symbol` are replaced by
    /// a bid of bid_qty at bid_px and an ask of ask_qty at ask_px (qty 0 = none on that side;
    /// the price is then ignored). A new house order that crosses resting client orders trades
    /// with them at the client's price first (bid, then ask): the returned reports are those
    /// client trades. Throws std::invalid_argument, changing nothing, for a negative qty, a
    /// price <= 0 with qty > 0, bid_px >= ask_px with both sides, or a new symbol past
    /// max_symbols: the quote is the simulator's own input, a bad one is its bug.
    std::vector<report> set_house_quote(const std::string& symbol, std::int64_t bid_px,
                                        std::int64_t bid_qty, std::int64_t ask_px,
                                        std::int64_t ask_qty, std::int64_t now_ns);

    /// The order (owner, id), live or remembered; nullopt when unknown or forgotten.
    [[nodiscard]] std::optional<order_status> status(const std::string& owner,
                                                     const std::string& id) const;
    /// The owner's live orders, in arrival order.
    [[nodiscard]] std::vector<order_status> open_orders(const std::string& owner) const;
    /// Signed lots: bought minus sold, over the whole run ("" = the house).
    [[nodiscard]] std::int64_t position(const std::string& owner, const std::string& symbol) const;
    /// Every client trade side, in order, the first max_executions of them (the rest are
    /// counted in counters().executions_dropped), so indexes stay stable.
    [[nodiscard]] const std::vector<execution>& executions() const noexcept { return execs_; }
    [[nodiscard]] book_top top_of_book(const std::string& symbol) const;
    [[nodiscard]] const engine_counters& counters() const noexcept { return counters_; }

  private:
    struct order_key {
        std::string owner, id;
        auto operator<=>(const order_key&) const = default;
    };
    struct book;
    struct live_order;
    using queue = std::list<live_order*>;  // one price level, in arrival order
    using expiry_index = std::multimap<std::int64_t, live_order*>;
    struct live_order {
        order_status st;
        schema::money::int128 notional = 0;  // sum of fill qty x px, for avg_px
        std::uint64_t seq = 0;               // arrival
        book* where = nullptr;               // its symbol's book
        queue::iterator pos;
        std::optional<expiry_index::iterator> expiry;
    };
    struct book {
        std::string symbol;
        std::map<std::int64_t, queue, std::greater<>> bids;  // best (highest) first
        std::map<std::int64_t, queue> asks;                  // best (lowest) first
        live_order* house_bid = nullptr;
        live_order* house_ask = nullptr;
    };

    std::optional<std::string> invalid(const order_spec& spec, std::int64_t now_ns) const;
    book& book_for(const std::string& symbol);
    std::string next_exec_id();
    report make_report(report::kind what, const order_status& st, std::int64_t now_ns,
                       std::string text = {});
    template <class Levels>
    std::int64_t available(const Levels& levels, const order_status& taker) const;
    template <class Levels>
    void match(Levels& levels, live_order& taker, std::int64_t now_ns, std::vector<report>& out);
    void fill(live_order& o, std::int64_t qty, std::int64_t px, std::uint64_t match_id,
              bool aggressor, std::int64_t now_ns, std::vector<report>& out);
    live_order& rest(live_order taker, book& b);
    void place_house(book& b, schema::side dir, std::int64_t px, std::int64_t qty,
                     std::int64_t now_ns, std::vector<report>& out);
    void unlink(live_order& o);
    void retire(live_order& o);
    report end(live_order& o, report::kind what, order_state state, std::int64_t now_ns,
               std::string text);
    void remember(const order_status& st);

    engine_limits limits_;
    std::map<std::string, book> books_;  // never erased: bounded by max_symbols
    std::map<order_key, live_order> live_;
    std::map<std::string, std::size_t> live_per_owner_;  // clients only
    expiry_index expiry_;
    std::map<order_key, order_status> done_;
    std::deque<order_key> done_order_;  // oldest first, for forgetting
    std::map<std::pair<std::string, std::string>, std::int64_t> positions_;
    std::vector<execution> execs_;
    engine_counters counters_;
    std::uint64_t next_exec_ = 0, next_order_ = 0, next_seq_ = 0;
};

}  // namespace tradebus::fix::sim
