// The decoder's checked path alone, without the one-pass fast path in front of it
// (codec.cpp). Private to the schema library and its fuzzer, which decodes every input both
// ways and requires the same answer: the fast path may only ever accept what the checked path
// accepts, with the same values.
#pragma once

#include <string_view>

#include "tradebus/schema/codec.hpp"

namespace tradebus::schema::detail {

[[nodiscard]] result<event> decode_event_checked(std::string_view bytes);

}  // namespace tradebus::schema::detail
