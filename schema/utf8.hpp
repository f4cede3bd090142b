// UTF-8 validation shared by the codec (str values) and topic checks (topic frames).
#pragma once

#include <string_view>

namespace tradebus::schema::detail {

/// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
[[nodiscard]] bool valid_utf8(std::string_view s) noexcept;

}  // namespace tradebus::schema::detail
