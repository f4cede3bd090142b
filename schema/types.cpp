#include "tradebus/schema/types.hpp"

#include <cmath>
#include <limits>

namespace tradebus::schema {

std::int64_t to_fixed(double value) noexcept {
    const double scaled = std::round(value * static_cast<double>(price_scale));
    // Saturate instead of invoking UB on out-of-range or NaN input.
    if (std::isnan(scaled)) return 0;
    if (scaled >= 9.2e18) return std::numeric_limits<std::int64_t>::max();
    if (scaled <= -9.2e18) return std::numeric_limits<std::int64_t>::min();
    return static_cast<std::int64_t>(scaled);
}

double from_fixed(std::int64_t fixed) noexcept {
    return static_cast<double>(fixed) / static_cast<double>(price_scale);
}

}  // namespace tradebus::schema
