// Value types shared by every event and control message: fixed-point prices, enums with their
// wire names, and the small result type the decoders return instead of throwing.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace tradebus::schema {

/// Wire schema version. Decoders accept exactly the versions in [min_version, version].
inline constexpr std::uint64_t version = 1;
inline constexpr std::uint64_t min_version = 1;

/// Prices and money amounts are signed 64-bit integers in units of 1e-8 (PROTOCOL.md
/// "Numbers"): exact decimal arithmetic for P&L and price bands, no float drift across
/// languages, and ±92 billion units of range, enough for any price or daily P&L we trade.
inline constexpr std::int64_t price_scale = 100'000'000;

/// Converts between fixed-point and double only at the edges (CSV input, display, indicators).
[[nodiscard]] std::int64_t to_fixed(double value) noexcept;
[[nodiscard]] double from_fixed(std::int64_t fixed) noexcept;
/// Exact decimal text <-> fixed point, for text formats (CSV quotes, FIX prices, display).
/// parse_fixed reads a plain unsigned decimal ("189.52", "12", "0.00000001"); nullopt for
/// anything else: signs, exponents, more than 8 fraction digits, overflow.
[[nodiscard]] std::optional<std::int64_t> parse_fixed(std::string_view text) noexcept;
/// format_fixed writes at least 2 and at most 8 fraction digits: 18951000000 -> "189.51",
/// 5 -> "0.00000005", -150000000 -> "-1.50".
[[nodiscard]] std::string format_fixed(std::int64_t fixed);

/// "BUY"/"SELL"/"FLAT" on the wire. FLAT means "close the position".
enum class side : std::uint8_t { buy, sell, flat };
/// "MARKET"/"LIMIT" on the wire.
enum class order_type : std::uint8_t { market, limit };
/// How long an order works (PROTOCOL.md "Order lifecycle"): "DAY" until the end of the trading
/// day, "GTC" until filled or cancelled, "IOC" fill what the quote allows now and cancel the
/// rest, "FOK" fill all of it now or none.
enum class time_in_force : std::uint8_t { day, gtc, ioc, fok };
/// Node lifecycle states as the broker tracks them (ARCHITECTURE.md "Node lifecycle").
enum class health : std::uint8_t { starting, healthy, degraded, unhealthy, stopping, stopped };
/// Trading state of the desk (risk's and the broker's view): "active"/"reducing"/"halted".
enum class trading_state : std::uint8_t { active, reducing, halted };

/// Wire names, index = enum value. enum_names<E> is what the codec uses in both directions.
template <class E>
struct enum_names;
template <>
struct enum_names<side> {
    static constexpr std::string_view label = "side";
    static constexpr std::array<std::string_view, 3> names{"BUY", "SELL", "FLAT"};
};
template <>
struct enum_names<order_type> {
    static constexpr std::string_view label = "order_type";
    static constexpr std::array<std::string_view, 2> names{"MARKET", "LIMIT"};
};
template <>
struct enum_names<time_in_force> {
    static constexpr std::string_view label = "time_in_force";
    static constexpr std::array<std::string_view, 4> names{"DAY", "GTC", "IOC", "FOK"};
};
template <>
struct enum_names<health> {
    static constexpr std::string_view label = "health";
    static constexpr std::array<std::string_view, 6> names{"starting",  "healthy",  "degraded",
                                                           "unhealthy", "stopping", "stopped"};
};
template <>
struct enum_names<trading_state> {
    static constexpr std::string_view label = "trading_state";
    static constexpr std::array<std::string_view, 3> names{"active", "reducing", "halted"};
};

template <class E>
[[nodiscard]] constexpr std::string_view to_string(E e) noexcept {
    return enum_names<E>::names[static_cast<std::size_t>(e)];
}

/// Parses a wire name; nullopt when the text names no value.
template <class E>
[[nodiscard]] constexpr std::optional<E> parse_enum(std::string_view text) noexcept {
    const auto& names = enum_names<E>::names;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (names[i] == text) return static_cast<E>(i);
    }
    return std::nullopt;
}

/// Why a decode failed: the key (a path such as "data.nodes[2].name", or "" for the whole
/// message) and a human-readable reason ("expected unsigned int, got str").
struct decode_error {
    std::string key;
    std::string reason;
    [[nodiscard]] std::string to_string() const {
        return key.empty() ? reason : key + ": " + reason;
    }
};

/// Either a decoded value or the reason it could not be decoded. Never throws on access
/// through ok()/error(); value() on an error is a programming error (asserted).
template <class T>
class result {
  public:
    result(T value) : v_(std::move(value)) {}             // NOLINT: implicit by design
    result(decode_error error) : v_(std::move(error)) {}  // NOLINT: implicit by design
    [[nodiscard]] bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }
    [[nodiscard]] T& value() & { return std::get<0>(v_); }
    [[nodiscard]] const T& value() const& { return std::get<0>(v_); }
    [[nodiscard]] T&& value() && { return std::get<0>(std::move(v_)); }
    [[nodiscard]] const decode_error& error() const { return std::get<1>(v_); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

  private:
    std::variant<T, decode_error> v_;
};

}  // namespace tradebus::schema
