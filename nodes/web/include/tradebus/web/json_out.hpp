// JSON output for the web node's answers, by hand: the shapes are few and fixed (desk_state,
// operator_actions). Each helper appends one member or item to `out`, with the comma a previous
// member or item needs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tradebus::web {

/// Appends `s` as a JSON string literal (quotes, backslashes and control characters escaped;
/// bytes that are not valid UTF-8 replaced by U+FFFD, so the text always parses).
void append_json_string(std::string& out, std::string_view s);

namespace json {

/// The separator an item needs: a comma unless it is the first in its object or array.
inline void item(std::string& out) {
    if (!out.empty() && out.back() != '{' && out.back() != '[') out += ',';
}
/// "key": (with the separator before it).
inline void key(std::string& out, std::string_view k) {
    item(out);
    append_json_string(out, k);
    out += ':';
}
inline void str(std::string& out, std::string_view k, std::string_view v) {
    key(out, k);
    append_json_string(out, v);
}
inline void num(std::string& out, std::string_view k, std::int64_t v) {
    key(out, k);
    out += std::to_string(v);
}
inline void unum(std::string& out, std::string_view k, std::uint64_t v) {
    key(out, k);
    out += std::to_string(v);
}
inline void boolean(std::string& out, std::string_view k, bool v) {
    key(out, k);
    out += v ? "true" : "false";
}

}  // namespace json
}  // namespace tradebus::web
