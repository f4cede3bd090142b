// UTF-8 well-formedness: the one implementation the codec (str values, map keys), the topic
// rules, the broker's topic check and the CLI's printers all use (Unicode table 3-7: no
// overlong forms, no UTF-16 surrogates, nothing above U+10FFFF).
#pragma once

#include <cstddef>
#include <string_view>

namespace tradebus::schema {

/// Length of the well-formed UTF-8 sequence starting at s[i] (1..4), or 0 when the bytes there
/// are not one (overlong, surrogate, above U+10FFFF, truncated, stray continuation byte).
/// Requires i < s.size().
[[nodiscard]] std::size_t utf8_sequence(std::string_view s, std::size_t i) noexcept;

/// True when `s` is well-formed UTF-8 (NUL included).
[[nodiscard]] bool valid_utf8(std::string_view s) noexcept;

}  // namespace tradebus::schema
