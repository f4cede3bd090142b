// The venue simulator's control endpoint (a ZeroMQ REP socket: one JSON request, one JSON
// reply; fix/sim/README.md lists the commands): a strict parser for the requests, which are
// flat JSON objects of string, integer and boolean values, and the JSON writing helpers of the
// replies. No JSON library: the requests are tiny and the parser refuses anything else.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tradebus/schema/json_text.hpp"

namespace tradebus::fix::sim {

/// Largest request accepted, keys in one, and length of one key or string value.
inline constexpr std::size_t max_request_bytes = 4096;
inline constexpr std::size_t max_request_keys = 16;
inline constexpr std::size_t max_request_string = 256;

/// One value of a request: a string ("189.50"), a number (its text as written: 100, 189.5) or
/// a boolean (true/false as text).
struct json_value {
    enum class kind : unsigned char { string, number, boolean };
    kind type = kind::string;
    std::string text;
};

/// A flat JSON object, keys in the order written (a key twice is refused).
class flat_object {
  public:
    /// Parses `{"key": value, ...}`: values are strings (escapes \" \\ \/ \n \t \r \b \f, and
    /// \uXXXX below \u0080 only), numbers (-?digits[.digits]) or true/false; whitespace
    /// between tokens. nullopt with `error` for anything else: nesting, null, a duplicate key,
    /// a bound exceeded, text after the object.
    static std::optional<flat_object> parse(std::string_view text, std::string& error);

    [[nodiscard]] const json_value* find(std::string_view key) const noexcept;
    /// The value of `key` as a string (a string value only); nullopt when absent or not one.
    [[nodiscard]] std::optional<std::string> string(std::string_view key) const;
    /// The value of `key` as a decimal text (a string or a number value, e.g. a price).
    [[nodiscard]] std::optional<std::string> decimal(std::string_view key) const;
    /// The value of `key` as a whole number (a number, or a string of digits), nullopt when
    /// absent, fractional or out of int64 range.
    [[nodiscard]] std::optional<std::int64_t> integer(std::string_view key) const;
    [[nodiscard]] const std::vector<std::pair<std::string, json_value>>& items() const noexcept {
        return items_;
    }

  private:
    std::vector<std::pair<std::string, json_value>> items_;
};

/// JSON string literals: schema/json_text.hpp owns the escaping.
using schema::append_json_string;
/// {"error": "<text>"}.
[[nodiscard]] std::string json_error(std::string_view text);

/// The JSON request for the command line of the client mode (`tradebus-venue-sim --control
/// ENDPOINT CMD ARGS...`): quote SYM BID ASK [BID_QTY ASK_QTY], walk SYM, positions,
/// executions, orders CLIENT, drop CLIENT, status, json TEXT. nullopt with `error` for a bad
/// command line.
std::optional<std::string> request_for(const std::vector<std::string>& args, std::string& error);

}  // namespace tradebus::fix::sim
