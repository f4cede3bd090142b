// Money and positions in 1e-8 fixed point (PROTOCOL.md "Numbers" and the `position` event):
// saturating arithmetic, and the average-cost position rule. This is the one implementation of
// that rule: risk's position book (its risk.position events and the daily-loss limit) and
// `tradebus journal report` both fold fills through money::position, so the report's realized
// P&L is the one risk published. Quantities times prices overflow int64 quickly (1e6 lots x
// 1e13 for a 100000.00 price), so products are taken in 128 bits and saturated back into int64
// (clamped to its minimum or maximum) rather than wrapping.
#pragma once

#include <cstdint>
#include <limits>

#include "tradebus/schema/types.hpp"

namespace tradebus::schema::money {

__extension__ using int128 = __int128;  // GCC/Clang extension; -Wpedantic accepts it so marked

/// `v` clamped into int64.
[[nodiscard]] constexpr std::int64_t saturate(int128 v) noexcept {
    constexpr auto hi = std::numeric_limits<std::int64_t>::max();
    constexpr auto lo = std::numeric_limits<std::int64_t>::min();
    if (v > hi) return hi;
    if (v < lo) return lo;
    return static_cast<std::int64_t>(v);
}

/// a * b, saturated (lots x price = money).
[[nodiscard]] constexpr std::int64_t mul(std::int64_t a, std::int64_t b) noexcept {
    return saturate(static_cast<int128>(a) * b);
}

/// a + b, saturated.
[[nodiscard]] constexpr std::int64_t add(std::int64_t a, std::int64_t b) noexcept {
    return saturate(static_cast<int128>(a) + b);
}

/// num / den rounded half away from zero, saturated; den > 0 and |num| + den / 2 < 2^127.
[[nodiscard]] constexpr std::int64_t div_round(int128 num, int128 den) noexcept {
    const int128 half = den / 2;
    return saturate(num >= 0 ? (num + half) / den : (num - half) / den);
}

/// |v|, with |int64 min| saturated to int64 max.
[[nodiscard]] constexpr std::int64_t abs(std::int64_t v) noexcept {
    return v == std::numeric_limits<std::int64_t>::min() ? std::numeric_limits<std::int64_t>::max()
                                                         : (v < 0 ? -v : v);
}

/// One instrument's position under average-cost accounting. One lot of quantity is one unit of
/// price (no contract multiplier). Every result saturates; nothing overflows.
struct position {
    std::int64_t qty = 0;           // signed lots: > 0 long, < 0 short
    std::int64_t avg_px = 0;        // average entry price of the open quantity; 0 when flat
    std::int64_t realized_pnl = 0;  // money realized by reducing, closing or flipping

    /// Applies one fill of `qty` > 0 lots at `px` > 0 (`dir` BUY or SELL) and returns the P&L
    /// it realized; anything else (qty or px <= 0, FLAT) changes nothing and returns 0.
    /// Opening or adding: the average price becomes the qty-weighted average of the old average
    /// and px, rounded to the nearest 1e-8 (half away from zero). Reducing: realizes
    /// (px - avg) x closed qty for a long, (avg - px) x closed qty for a short; the average
    /// stays. Closing: realizes it all, the average becomes 0. Flipping (a fill larger than the
    /// position): closes the old side at px and opens the remainder at px.
    std::int64_t apply_fill(side dir, std::int64_t fill_qty, std::int64_t px) noexcept;

    /// qty x (mark - avg): what closing at `mark_px` would realize; 0 when flat or unmarked
    /// (`mark_px` <= 0).
    [[nodiscard]] std::int64_t unrealized(std::int64_t mark_px) const noexcept;
};

}  // namespace tradebus::schema::money
