// Risk's book of the desk's positions, built from exec.fill events and marked to market from
// quote mids: per symbol the signed quantity, the average entry price, realized P&L (since risk
// the book began: carried across sessions, see risk_snapshot) and unrealized P&L against the last
// mid. All money is 1e-8 fixed point, saturated; the accounting rule is schema::money::position,
// the one `tradebus journal report` uses too.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "tradebus/schema/events.hpp"
#include "tradebus/schema/money.hpp"

namespace tradebus::risk {

/// qty, avg_px and realized_pnl under the shared average-cost rule, plus the last mark.
struct position_state : schema::money::position {
    std::int64_t mark_px = 0;  // last mid; 0 = never quoted
    std::string last_fill_id;  // the last fill applied; "" = none
};

class position_book {
  public:
    /// Applies one fill of `qty` > 0 lots at `px` > 0 (dir BUY or SELL) to `symbol` and returns
    /// the P&L it realized (schema::money::position::apply_fill); anything else is ignored.
    /// `fill_id` becomes the position's last_fill_id.
    std::int64_t apply_fill(const std::string& symbol, schema::side dir, std::int64_t qty,
                            std::int64_t px, std::string_view fill_id = {});
    /// Sets `symbol` to `p` as a snapshot recorded it (recovery); replaces what was there.
    void restore(const std::string& symbol, const position_state& p) { book_[symbol] = p; }
    /// Forgets every position (before restoring a snapshot).
    void clear() noexcept { book_.clear(); }
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
    /// Realized + unrealized across symbols since the book began. The daily loss limit
    /// watches this minus its value at the session start (risk_engine::day_pnl).
    [[nodiscard]] std::int64_t total_pnl() const;
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
