// msgpack codec for events and control messages. Encoding appends to a caller-owned buffer
// (reuse it: no allocation once its capacity suffices). Decoding validates everything and never
// throws: a failure comes back as a decode_error naming the key (PROTOCOL.md "Validation").
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "tradebus/schema/control.hpp"
#include "tradebus/schema/events.hpp"

namespace tradebus::schema {

/// Bounds the decoder enforces before it trusts any length the input claims.
namespace limits {
inline constexpr std::size_t max_message_bytes = 1 << 20;  // whole msgpack body
inline constexpr std::size_t max_string_bytes = 4096;      // any one str value
inline constexpr std::size_t max_array_items = 4096;       // any one array
inline constexpr std::size_t max_map_keys = 64;            // any one map
inline constexpr std::size_t max_depth = 16;               // nesting of unknown values
}  // namespace limits

/// Encodes `env` + `body` as one event map into `out` (cleared first). Body is any payload
/// alternative (tick, fill, ...). Never fails for a value of the C++ type.
template <class Body>
void encode_event(const envelope& env, const Body& body, std::string& out);

/// Encodes an event already held as a variant.
void encode_event(const event& ev, std::string& out);

/// Decodes and validates one event body (the frame after the topic).
[[nodiscard]] result<event> decode_event(std::string_view bytes);

/// The same into `out`, reusing its storage: what a subscriber's receive path calls with one
/// event it keeps (no allocation per message once its strings have grown to the traffic's
/// sizes). nullopt on success; on failure the error, and `out` holds some valid event that
/// must not be used.
[[nodiscard]] std::optional<decode_error> decode_event(std::string_view bytes, event& out);

/// Encodes one control message (request or reply) into `out` (cleared first).
template <class Msg>
void encode_control(const Msg& msg, std::string& out);

void encode_control(const control_message& msg, std::string& out);

/// Decodes and validates one control-plane frame.
[[nodiscard]] result<control_message> decode_control(std::string_view bytes);

/// The wire type name of a control message ("register", "error", ...).
[[nodiscard]] std::string_view type_name(const control_message& msg);

/// The `error` code for a control request that did not decode (PROTOCOL.md "Control plane:
/// framing"): `unsupported_version` when `v` is the problem, `unknown_type` when `type` names
/// no control message, `bad_request` for anything else. Every control endpoint (the broker's,
/// the journal's query endpoint) answers with it, so a client sees one code per failure.
[[nodiscard]] std::string_view error_code_for(const decode_error& e) noexcept;

}  // namespace tradebus::schema
