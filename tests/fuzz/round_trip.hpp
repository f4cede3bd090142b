// The property both fuzz targets check: decoding arbitrary bytes either fails with a usable
// error (non-empty, UTF-8, not an allocation failure) or yields a value whose encoding decodes
// again to the very same encoding. Any violation aborts, which libFuzzer reports as a crash.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tradebus/schema/codec.hpp"
#include "tradebus/schema/utf8.hpp"

namespace tradebus::fuzz {

[[noreturn]] inline void fail(const char* what, std::string_view detail) {
    std::fprintf(stderr, "tradebus fuzz: %s: %.*s\n", what, static_cast<int>(detail.size()),
                 detail.data());
    std::abort();
}

template <class Decode, class Encode>
int check_round_trip(const std::uint8_t* data, std::size_t size, Decode decode, Encode encode) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto first = decode(input);
    if (!first.ok()) {
        const std::string text = first.error().to_string();
        if (first.error().reason.empty()) fail("empty error reason", text);
        if (!schema::valid_utf8(text)) fail("error text is not UTF-8", text);
        // The codec's reason when an allocation failed (codec.cpp); user text can contain the
        // words, so compare the whole reason.
        if (first.error().reason == "out of memory while decoding")
            fail("allocation failure", text);
        return 0;
    }
    std::string once;
    encode(first.value(), once);
    const auto second = decode(once);
    if (!second.ok()) fail("re-encoding does not decode", second.error().to_string());
    std::string twice;
    encode(second.value(), twice);
    if (once != twice) fail("re-encoding is not stable", "encode(decode(encode(x))) != encode(x)");
    return 0;
}

}  // namespace tradebus::fuzz
