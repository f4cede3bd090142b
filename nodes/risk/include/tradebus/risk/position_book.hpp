// Risk's book of the desk's positions, built from exec.fill events and marked to market from
// quote mids: per symbol the signed quantity, the average entry price, realized P&L (since risk
// started: the trading day) and unrealized P&L against the last mid. All money is 1e-8 fixed
// point; one lot of quantity is one unit of price (no contract multiplier).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "tradebus/schema/events.hpp"

namespace tradebus::risk {

struct position_state {
    std::int64_t qty = 0;           // signed lots: > 0 long, < 0 short
    std::int64_t avg_px = 0;        // average entry price of the open quantity; 0 when flat
    std::int64_t realized_pnl = 0;  // money realized by reducing/closing/flipping
    std::int64_t mark_px = 0;       // last mid; 0 = never quoted
};

class position_book {
  public:
    /// Applies one fill of `qty` > 0 lots at `px` > 0 (dir BUY or SELL) and returns the P&L it
    /// realized. Opening or adding: the average price becomes the qty-weighted average (rounded
    /// to the nearest 1e-8). Reducing: realizes (px - avg) x closed qty (sign-adjusted for a
    /// short), the average stays. Closing: realizes it all and the average becomes 0.
    /// Flipping (a fill larger than the position): closes the old side at px and opens the
    /// remainder at px.
    std::int64_t apply_fill(const std::string& symbol, schema::side dir, std::int64_t qty,
                            std::int64_t px);
    /// Records the latest mid of `symbol` for unrealized P&L and notional.
    void mark(const std::string& symbol, std::int64_t mid_px);

    /// nullptr when the symbol was never filled or quoted.
    [[nodiscard]] const position_state* find(const std::string& symbol) const;
    [[nodiscard]] std::int64_t qty(const std::string& symbol) const;
    /// qty x (mark - avg); 0 when flat or never quoted.
    [[nodiscard]] std::int64_t unrealized_pnl(const std::string& symbol) const;
    /// |qty| x mark (the average price when never quoted).
    [[nodiscard]] std::int64_t notional(const std::string& symbol) const;
    [[nodiscard]] std::int64_t total_realized_pnl() const;
    [[nodiscard]] std::int64_t total_unrealized_pnl() const;
    /// Realized + unrealized across symbols: what the daily loss limit watches.
    [[nodiscard]] std::int64_t day_pnl() const;
    /// Sum of notional() across symbols.
    [[nodiscard]] std::int64_t gross_notional() const;
    /// The risk.position event for `symbol`.
    [[nodiscard]] schema::position snapshot(const std::string& symbol) const;
    [[nodiscard]] const std::map<std::string, position_state>& positions() const noexcept {
        return book_;
    }

  private:
    std::map<std::string, position_state> book_;
};

}  // namespace tradebus::risk
