// schema::utf8_sequence / valid_utf8: the one UTF-8 rule every part of tradebus uses (codec,
// topic rules, the broker's topic check, the CLI's printers). Boundaries of Unicode table 3-7.
#include "tradebus/schema/utf8.hpp"

#include <doctest/doctest.h>

#include <string>

using tradebus::schema::utf8_sequence;
using tradebus::schema::valid_utf8;

TEST_CASE("utf8: well-formed sequences at every boundary of table 3-7") {
    const std::pair<std::string, std::size_t> good[] = {
        {"A", 1},
        {std::string(1, '\0'), 1},
        {"\xC2\x80", 2},          // U+0080, the first 2-byte
        {"\xDF\xBF", 2},          // U+07FF
        {"\xE0\xA0\x80", 3},      // U+0800, the first 3-byte
        {"\xED\x9F\xBF", 3},      // U+D7FF, just below the surrogates
        {"\xEE\x80\x80", 3},      // U+E000, just above them
        {"\xEF\xBF\xBF", 3},      // U+FFFF
        {"\xF0\x90\x80\x80", 4},  // U+10000, the first 4-byte
        {"\xF4\x8F\xBF\xBF", 4},  // U+10FFFF, the last code point
    };
    for (const auto& [s, n] : good) {
        INFO("bytes of length ", s.size());
        CHECK(utf8_sequence(s, 0) == n);
        CHECK(valid_utf8(s));
        CHECK(valid_utf8("x" + s + "y"));
    }
}

TEST_CASE("utf8: overlongs, surrogates, out-of-range, stray and truncated bytes are refused") {
    const std::string bad[] = {
        "\x80",              // stray continuation byte
        "\xC0\x80",          // overlong NUL
        "\xC1\xBF",          // overlong
        "\xE0\x9F\xBF",      // overlong 3-byte
        "\xED\xA0\x80",      // U+D800, a surrogate
        "\xED\xBF\xBF",      // U+DFFF
        "\xF0\x8F\xBF\xBF",  // overlong 4-byte
        "\xF4\x90\x80\x80",  // U+110000
        "\xF5\x80\x80\x80",  // lead byte never used
        "\xFF",              // never used
        "\xE2\x82",          // truncated 3-byte (the euro sign cut short)
        "\xE2\x28\xA1",      // bad continuation byte
    };
    for (const auto& s : bad) {
        INFO("first byte ", static_cast<int>(static_cast<unsigned char>(s[0])));
        CHECK(utf8_sequence(s, 0) == 0);
        CHECK_FALSE(valid_utf8(s));
        CHECK_FALSE(valid_utf8("ok " + s));
    }
    CHECK(valid_utf8(""));
}
