// Wire rules of the order lifecycle shared by every party (PROTOCOL.md "Order lifecycle"):
// what a cancel request may ask for, and the codes a cancel is refused with; what a
// kill-switch scope may name (PROTOCOL.md "Trading state"). The broker checks
// an operator's `cancel` with the same rule execution applies to the cancel_request it gets.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tradebus::schema {

/// cancel_reject.code values.
namespace cancel_code {
inline constexpr std::string_view unknown_order = "unknown_order";        // id never executed
inline constexpr std::string_view already_terminal = "already_terminal";  // filled/cancelled/...
inline constexpr std::string_view unknown_symbol = "unknown_symbol";      // no book for it
inline constexpr std::string_view invalid = "invalid";                    // a bad scope
}  // namespace cancel_code

/// Why a cancel (request_id, order_id, symbol, all) is malformed, or nullopt when it is valid:
/// request_id must be non-zero, and exactly one of order_id (non-empty), symbol (a valid
/// symbol) and all (true) must say what to cancel.
[[nodiscard]] std::optional<std::string> cancel_scope_error(std::uint64_t request_id,
                                                            std::string_view order_id,
                                                            std::string_view symbol, bool all);

/// Why a kill-switch scope (halt / resume `symbol`, `strategy`) is malformed, or nullopt when
/// it is valid: at most one of them set (neither = the whole desk), symbol a valid symbol
/// (topics::valid_symbol), strategy a valid node name (topics::valid_node_name).
[[nodiscard]] std::optional<std::string> trading_scope_error(std::string_view symbol,
                                                             std::string_view strategy);

/// How a scope is named in text: "the desk", "symbol AAPL", "strategy strategy2".
[[nodiscard]] std::string trading_scope_name(std::string_view symbol, std::string_view strategy);

}  // namespace tradebus::schema
