// Overflow-safe arithmetic on 1e-8 fixed-point money (private to nodes/risk). Quantities times
// prices overflow int64 quickly (1e6 lots x 1e13 for a 100000.00 price), so products are taken
// in 128 bits and saturated back into int64 rather than wrapping.
#pragma once

#include <cstdint>
#include <limits>

namespace tradebus::risk::fixed {

__extension__ using int128 = __int128;  // GCC/Clang extension; -Wpedantic accepts it so marked

[[nodiscard]] inline std::int64_t saturate(int128 v) noexcept {
    constexpr auto hi = std::numeric_limits<std::int64_t>::max();
    constexpr auto lo = std::numeric_limits<std::int64_t>::min();
    if (v > hi) return hi;
    if (v < lo) return lo;
    return static_cast<std::int64_t>(v);
}

/// a * b, saturated (lots x price = money).
[[nodiscard]] inline std::int64_t mul(std::int64_t a, std::int64_t b) noexcept {
    return saturate(static_cast<int128>(a) * b);
}

/// a + b, saturated.
[[nodiscard]] inline std::int64_t add(std::int64_t a, std::int64_t b) noexcept {
    return saturate(static_cast<int128>(a) + b);
}

/// num / den rounded half away from zero; den > 0.
[[nodiscard]] inline std::int64_t div_round(int128 num, int128 den) noexcept {
    const int128 half = den / 2;
    return saturate(num >= 0 ? (num + half) / den : (num - half) / den);
}

[[nodiscard]] inline std::int64_t abs(std::int64_t v) noexcept {
    return v == std::numeric_limits<std::int64_t>::min() ? std::numeric_limits<std::int64_t>::max()
                                                         : (v < 0 ? -v : v);
}

}  // namespace tradebus::risk::fixed
