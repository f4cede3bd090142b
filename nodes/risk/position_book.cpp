#include "tradebus/risk/position_book.hpp"

#include <algorithm>

#include "fixed_math.hpp"

namespace tradebus::risk {

std::int64_t position_book::apply_fill(const std::string& symbol, schema::side dir,
                                       std::int64_t qty, std::int64_t px) {
    if (qty <= 0 || px <= 0 || dir == schema::side::flat) return 0;
    position_state& p = book_[symbol];
    const std::int64_t signed_qty = dir == schema::side::buy ? qty : -qty;
    const bool same_side = p.qty == 0 || (p.qty > 0) == (signed_qty > 0);
    if (same_side) {
        const fixed::int128 old_abs = fixed::abs(p.qty);
        const fixed::int128 cost = old_abs * p.avg_px + static_cast<fixed::int128>(qty) * px;
        p.avg_px = fixed::div_round(cost, old_abs + qty);
        p.qty = fixed::add(p.qty, signed_qty);
        return 0;
    }
    // Reducing, closing or flipping: the closed part realizes against the average price.
    const std::int64_t closed = std::min(fixed::abs(p.qty), qty);
    const std::int64_t per_lot = p.qty > 0 ? px - p.avg_px : p.avg_px - px;
    const std::int64_t realized = fixed::mul(closed, per_lot);
    p.realized_pnl = fixed::add(p.realized_pnl, realized);
    p.qty = fixed::add(p.qty, signed_qty);
    if (p.qty == 0) {
        p.avg_px = 0;
    } else if ((p.qty > 0) == (signed_qty > 0)) {
        p.avg_px = px;  // flipped: the remainder opened at this fill's price
    }
    return realized;
}

void position_book::mark(const std::string& symbol, std::int64_t mid_px) {
    if (mid_px > 0) book_[symbol].mark_px = mid_px;
}

const position_state* position_book::find(const std::string& symbol) const {
    auto it = book_.find(symbol);
    return it == book_.end() ? nullptr : &it->second;
}

std::int64_t position_book::qty(const std::string& symbol) const {
    const auto* p = find(symbol);
    return p == nullptr ? 0 : p->qty;
}

namespace {
std::int64_t unrealized_of(const position_state& p) {
    if (p.qty == 0 || p.mark_px <= 0) return 0;
    return fixed::mul(p.qty, p.mark_px - p.avg_px);
}
std::int64_t notional_of(const position_state& p) {
    return fixed::mul(fixed::abs(p.qty), p.mark_px > 0 ? p.mark_px : p.avg_px);
}
}  // namespace

std::int64_t position_book::unrealized_pnl(const std::string& symbol) const {
    const auto* p = find(symbol);
    return p == nullptr ? 0 : unrealized_of(*p);
}

std::int64_t position_book::notional(const std::string& symbol) const {
    const auto* p = find(symbol);
    return p == nullptr ? 0 : notional_of(*p);
}

std::int64_t position_book::total_realized_pnl() const {
    std::int64_t sum = 0;
    for (const auto& [sym, p] : book_) sum = fixed::add(sum, p.realized_pnl);
    return sum;
}

std::int64_t position_book::total_unrealized_pnl() const {
    std::int64_t sum = 0;
    for (const auto& [sym, p] : book_) sum = fixed::add(sum, unrealized_of(p));
    return sum;
}

std::int64_t position_book::day_pnl() const {
    return fixed::add(total_realized_pnl(), total_unrealized_pnl());
}

std::int64_t position_book::gross_notional() const {
    std::int64_t sum = 0;
    for (const auto& [sym, p] : book_) sum = fixed::add(sum, notional_of(p));
    return sum;
}

schema::position position_book::snapshot(const std::string& symbol) const {
    schema::position out;
    out.symbol = symbol;
    if (const auto* p = find(symbol)) {
        out.qty = p->qty;
        out.avg_px = p->avg_px;
        out.realized_pnl = p->realized_pnl;
        out.unrealized_pnl = unrealized_of(*p);
    }
    return out;
}

}  // namespace tradebus::risk
