#include "seq_scan.hpp"

#include <cstddef>

#include "tradebus/schema/codec.hpp"

namespace tradebus::bench {

namespace {

// A cursor over msgpack bytes that understands the scalar types an envelope holds.
struct cursor {
    std::string_view b;
    std::size_t i = 0;

    bool has(std::size_t n) const noexcept { return b.size() - i >= n; }
    std::uint8_t byte() noexcept { return static_cast<std::uint8_t>(b[i++]); }
    std::uint64_t be(std::size_t n) noexcept {
        std::uint64_t v = 0;
        for (std::size_t k = 0; k < n; ++k) v = (v << 8) | byte();
        return v;
    }
    // A string's bytes, or nullopt when the next value is not a string.
    std::optional<std::string_view> str() noexcept {
        if (!has(1)) return std::nullopt;
        const std::uint8_t t = byte();
        std::size_t len = 0;
        if ((t & 0xe0u) == 0xa0u) {
            len = t & 0x1fu;
        } else if (t == 0xd9 && has(1)) {
            len = be(1);
        } else if (t == 0xda && has(2)) {
            len = be(2);
        } else {
            return std::nullopt;
        }
        if (!has(len)) return std::nullopt;
        const auto s = b.substr(i, len);
        i += len;
        return s;
    }
    // An unsigned integer value, or nullopt.
    std::optional<std::uint64_t> uint() noexcept {
        if (!has(1)) return std::nullopt;
        const std::uint8_t t = byte();
        if (t < 0x80) return t;
        const std::size_t n = t == 0xcc ? 1 : t == 0xcd ? 2 : t == 0xce ? 4 : t == 0xcf ? 8 : 0;
        if (n == 0 || !has(n)) return std::nullopt;
        return be(n);
    }
    // Skips one scalar value (int, uint, str, nil, bool); false for anything else.
    bool skip() noexcept {
        if (!has(1)) return false;
        const std::uint8_t t = static_cast<std::uint8_t>(b[i]);
        if (t < 0x80 || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) return ++i, true;
        if ((t & 0xe0u) == 0xa0u || t == 0xd9 || t == 0xda) return str().has_value();
        const std::size_t n = (t == 0xcc || t == 0xd0)   ? 1
                              : (t == 0xcd || t == 0xd1) ? 2
                              : (t == 0xce || t == 0xd2) ? 4
                              : (t == 0xcf || t == 0xd3) ? 8
                                                         : 0;
        if (n == 0 || !has(1 + n)) return false;
        i += 1 + n;
        return true;
    }
};

}  // namespace

std::optional<std::uint64_t> scan_seq(std::string_view body) noexcept {
    cursor c{body};
    if (!c.has(1)) return std::nullopt;
    const std::uint8_t m = c.byte();
    if ((m & 0xf0u) != 0x80u) return std::nullopt;  // a fixmap: the envelope has 7 keys
    for (std::size_t k = 0; k < (m & 0x0fu); ++k) {
        const auto key = c.str();
        if (!key) return std::nullopt;
        if (*key == "seq") return c.uint();
        if (!c.skip()) return std::nullopt;
    }
    return std::nullopt;
}

std::optional<std::uint64_t> envelope_seq(std::string_view body) {
    if (auto s = scan_seq(body)) return s;
    auto decoded = schema::decode_event(body);
    if (!decoded) return std::nullopt;
    return decoded.value().env.seq;
}

}  // namespace tradebus::bench
