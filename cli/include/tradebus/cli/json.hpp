// JSON lines for `--json` output (sniff, status, journal cat). Values are the wire values
// exactly: prices stay fixed-point integers (1e-8 units), enums their wire names, timestamps
// ns since the epoch, so what jq sees is what a client in any language decodes.
// Hand-written because it is small: an escaper and one writer driven by each type's fields().
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tradebus/schema/control.hpp"
#include "tradebus/schema/events.hpp"
#include "tradebus/schema/json_text.hpp"

namespace tradebus::cli {

/// Appends `text` as a JSON string literal (schema/json_text.hpp owns the escaping).
using schema::append_json_string;

/// One event as a single-line JSON object, no trailing newline:
/// {"topic":..,"v":..,"type":..,"src":..,"seq":..,"ts_ns":..,"trace_id":..,"data":{...}}
/// (the wire map plus the topic frame).
[[nodiscard]] std::string event_json(std::string_view topic, const schema::event& ev);

/// A message that did not decode (or an unknown event type):
/// {"topic":..,"undecodable":"<reason>","frames":N,"bytes":N,"hex":"..","rx_ns":..}
/// plus "topic_hex" when the topic frame is not valid UTF-8. Never truncated.
[[nodiscard]] std::string undecodable_json(std::string_view topic, std::string_view body,
                                           std::size_t frames, std::string_view reason,
                                           std::int64_t rx_ns);

/// A control message as its wire map: {"v":..,"type":"status_ok",...fields}.
[[nodiscard]] std::string control_json(const schema::control_message& msg);

/// Lower-case hex of every byte.
[[nodiscard]] std::string to_hex(std::string_view bytes);

}  // namespace tradebus::cli
