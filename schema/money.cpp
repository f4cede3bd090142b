#include "tradebus/schema/money.hpp"

#include <algorithm>

namespace tradebus::schema::money {

std::int64_t position::apply_fill(side dir, std::int64_t fill_qty, std::int64_t px) noexcept {
    if (fill_qty <= 0 || px <= 0 || dir == side::flat) return 0;
    const std::int64_t signed_qty = dir == side::buy ? fill_qty : -fill_qty;
    if (qty == 0 || (qty > 0) == (signed_qty > 0)) {
        // Open or add. |qty| and avg_px are at most 2^63 - 1, so each product is below 2^126
        // and their sum fits in 128 bits; the average of prices in (0, 2^63) is one as well.
        const int128 old_abs = abs(qty);
        const int128 cost = old_abs * avg_px + static_cast<int128>(fill_qty) * px;
        avg_px = div_round(cost, old_abs + fill_qty);
        qty = add(qty, signed_qty);
        return 0;
    }
    // Reduce, close or flip: the closed part realizes against the average price. Both prices
    // are positive, so their difference cannot overflow.
    const std::int64_t closed = std::min(abs(qty), fill_qty);
    const std::int64_t per_lot = qty > 0 ? px - avg_px : avg_px - px;
    const std::int64_t realized = mul(closed, per_lot);
    realized_pnl = add(realized_pnl, realized);
    qty = add(qty, signed_qty);
    if (qty == 0) {
        avg_px = 0;
    } else if ((qty > 0) == (signed_qty > 0)) {
        avg_px = px;  // flipped: the remainder opened at this fill's price
    }
    return realized;
}

std::int64_t position::unrealized(std::int64_t mark_px) const noexcept {
    if (qty == 0 || mark_px <= 0) return 0;
    return mul(qty, mark_px - avg_px);
}

}  // namespace tradebus::schema::money
