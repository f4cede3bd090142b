#include "tradebus/schema/types.hpp"

#include <cinttypes>
#include <cmath>
#include <cstdio>
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

std::optional<std::int64_t> parse_fixed(std::string_view text) noexcept {
    constexpr int frac_digits = 8;
    if (text.empty()) return std::nullopt;
    const auto dot = text.find('.');
    const auto whole = text.substr(0, dot);
    const auto frac = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
    if (whole.empty() && frac.empty()) return std::nullopt;
    if (frac.size() > static_cast<std::size_t>(frac_digits)) return std::nullopt;
    std::int64_t value = 0;
    constexpr std::int64_t max = std::numeric_limits<std::int64_t>::max();
    for (char c : whole) {
        if (c < '0' || c > '9') return std::nullopt;
        if (value > (max - (c - '0')) / 10) return std::nullopt;
        value = value * 10 + (c - '0');
    }
    std::int64_t f = 0;
    for (char c : frac) {
        if (c < '0' || c > '9') return std::nullopt;
        f = f * 10 + (c - '0');
    }
    for (auto i = frac.size(); i < static_cast<std::size_t>(frac_digits); ++i) f *= 10;
    if (value > (max - f) / 100'000'000) return std::nullopt;
    return value * 100'000'000 + f;
}

std::string format_fixed(std::int64_t fixed) {
    const bool negative = fixed < 0;
    // Unsigned magnitude: also right for INT64_MIN, whose negation overflows int64.
    const std::uint64_t magnitude =
        negative ? 0 - static_cast<std::uint64_t>(fixed) : static_cast<std::uint64_t>(fixed);
    const auto scale = static_cast<std::uint64_t>(price_scale);
    char frac[16];
    std::snprintf(frac, sizeof frac, "%08" PRIu64, magnitude % scale);
    std::string_view digits(frac, 8);
    while (digits.size() > 2 && digits.back() == '0') digits.remove_suffix(1);
    std::string out = negative ? "-" : "";
    out += std::to_string(magnitude / scale);
    out.push_back('.');
    out.append(digits);
    return out;
}

}  // namespace tradebus::schema
