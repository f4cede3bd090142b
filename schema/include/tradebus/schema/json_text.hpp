// JSON string literals, for every tool that writes JSON by hand (the CLI's --json lines, the
// venue simulator's control replies): one escaper, so every JSON the project writes is valid
// whatever bytes a peer put in a string.
#pragma once

#include <string>
#include <string_view>

namespace tradebus::schema {

/// Appends `text` as a JSON string literal (with quotes) to `out`. Escapes `"`, `\` and
/// control characters (short forms where JSON has them, \u00XX otherwise); invalid UTF-8
/// bytes become U+FFFD, so the output is always valid JSON whatever the input.
void append_json_string(std::string& out, std::string_view text);

}  // namespace tradebus::schema
