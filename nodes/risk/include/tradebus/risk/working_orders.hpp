// The orders risk approved that are not done yet, with the open quantity per (symbol, side)
// kept in step with them. An order stays until risk sees it end (PROTOCOL.md "Order
// lifecycle"): a fill with leaves_qty 0, exec.cancelled, exec.expired or exec.reject. Never on
// a timer: a fill can come at any time while the order rests, and forgetting it early would let
// that fill take the position past max_position. The count is bounded by risk's own approvals
// (max_working_orders), never by what a peer sends. A signal's exposure check asks for that
// quantity: one lookup, however many orders are in flight. (It was a walk over every working
// order, so risk's cost per signal grew with the orders in flight, and a backlog fed itself
// until nothing got through.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "tradebus/schema/types.hpp"

namespace tradebus::risk {

class working_orders {
  public:
    /// Starts tracking `qty` lots on `dir` (buy or sell; anything else, or qty <= 0, is not an
    /// open order). An order with the same id is replaced.
    void add(const std::string& order_id, const std::string& symbol, schema::side dir,
             std::int64_t qty);
    /// A fill of `qty` lots on `order_id` (unknown ids are ignored): the order is done when
    /// nothing is left or execution says so (`done`: leaves_qty 0).
    void fill(std::string_view order_id, std::int64_t qty, bool done);
    /// Forgets `order_id`: it reached a terminal state (rejected, cancelled, expired). Returns
    /// false for an id that was not working.
    bool erase(std::string_view order_id);
    [[nodiscard]] bool contains(std::string_view order_id) const {
        return orders_.find(order_id) != orders_.end();
    }

    /// Calls `f(order_id, symbol, dir, open lots)` for every working order, by order id.
    template <class F>
    void for_each(F&& f) const {
        for (const auto& [id, o] : orders_) f(id, o.symbol, o.dir, o.left);
    }
    /// Forgets every order (before restoring a snapshot).
    void clear() noexcept {
        orders_.clear();
        open_.clear();
    }

    /// Lots still open on `dir` of `symbol` (saturated to int64).
    [[nodiscard]] std::int64_t open_qty(std::string_view symbol, schema::side dir) const;
    [[nodiscard]] std::size_t size() const noexcept { return orders_.size(); }

  private:
    __extension__ using wide = __int128;  // sums of int64 quantities cannot overflow it

    struct order {
        std::string symbol;
        schema::side dir;
        std::int64_t left;
    };
    struct open_lots {
        wide buy = 0, sell = 0;
    };
    using order_map = std::map<std::string, order, std::less<>>;

    void count(const order& o, wide lots);  // adds `lots` to o's (symbol, side)
    order_map::iterator forget(order_map::iterator it);

    order_map orders_;
    std::map<std::string, open_lots, std::less<>> open_;  // by symbol; no all-zero rows
};

}  // namespace tradebus::risk
