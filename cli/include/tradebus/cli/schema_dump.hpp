// `tradebus schema`: the wire schema (every event, control message and nested map, their keys
// and msgpack types, the enums, topics and limits) as data, generated from the fields() lists
// the codec runs on. Other languages' clients are generated from or checked against it.
#pragma once

#include <string>

namespace tradebus::cli {

/// The whole schema as one JSON object (format: PROTOCOL.md "The schema as data").
[[nodiscard]] std::string schema_json();

}  // namespace tradebus::cli
