// A bounds-checked, allocation-free msgpack cursor. It reads one value header at a time and
// hands out views into the input; it never trusts a length before checking the bytes exist.
// Private to the schema library: the codec is the only user. read()'s common formats are
// inline here: the decoder calls it for every key and value of every message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace tradebus::schema::detail {

enum class mp_kind : std::uint8_t { nil, boolean, uint, sint, f64, str, bin, array, map, ext };

/// Name used in error messages ("expected int, got str").
[[nodiscard]] std::string_view kind_name(mp_kind k) noexcept;

struct mp_value {
    mp_kind kind = mp_kind::nil;
    bool b = false;
    std::uint64_t u = 0;      // uint
    std::int64_t i = 0;       // sint (always negative or from an int format)
    double d = 0.0;           // f64 (float32 widened)
    std::string_view raw;     // str / bin / ext payload
    std::uint32_t count = 0;  // array items / map pairs
};

class mp_reader {
  public:
    mp_reader(const char* begin, const char* end) noexcept : p_(begin), end_(end) {}
    explicit mp_reader(std::string_view s) noexcept : p_(s.data()), end_(s.data() + s.size()) {}

    /// Reads the next value's header (and the payload of str/bin/ext). Array and map items are
    /// NOT consumed. Returns false on truncated input or the reserved byte 0xc1. Sets `kind` and
    /// the fields of that kind only.
    [[nodiscard]] bool read(mp_value& out) noexcept;

    /// Skips one complete value including nested items. False on bad input or depth > limit.
    [[nodiscard]] bool skip(std::size_t depth_left) noexcept;

    [[nodiscard]] const char* position() const noexcept { return p_; }
    [[nodiscard]] const char* end() const noexcept { return end_; }
    [[nodiscard]] std::size_t remaining() const noexcept {
        return static_cast<std::size_t>(end_ - p_);
    }

  private:
    [[nodiscard]] bool read_other(mp_value& out) noexcept;  // every other format
    [[nodiscard]] bool take(std::size_t n, const char*& at) noexcept;
    template <class T>
    [[nodiscard]] bool be(T& out) noexcept;

    const char* p_;
    const char* end_;
};

[[gnu::always_inline]] inline bool mp_reader::read(mp_value& v) noexcept {
    // The formats of nearly every key and value on the pipeline's path first, inline: a fixstr
    // key, a positive fixint, an unsigned int, a fixmap (msgpack is big-endian: the loads are
    // byte-swapped). Only the fields of the kind read are set.
    if (p_ == end_) return false;
    const auto b = static_cast<std::uint8_t>(*p_);
    if ((b & 0xe0) == 0xa0) {
        const std::size_t n = b & 0x1fu;
        if (remaining() < n + 1) return false;
        v.kind = mp_kind::str;
        v.raw = std::string_view(p_ + 1, n);
        p_ += n + 1;
        return true;
    }
    if (b <= 0x7f) {
        ++p_;
        v.kind = mp_kind::uint;
        v.u = b;
        return true;
    }
    if (b >= 0xcc && b <= 0xcf) {  // uint 8/16/32/64: prices, quantities, times, ids
        const std::size_t n = std::size_t{1} << (b - 0xcc);
        if (remaining() < n + 1) return false;
        const char* at = p_ + 1;
        std::uint64_t x = 0;
        if (n == 1) {
            x = static_cast<std::uint8_t>(*at);
        } else if (n == 2) {
            std::uint16_t w = 0;
            std::memcpy(&w, at, 2);
            x = __builtin_bswap16(w);
        } else if (n == 4) {
            std::uint32_t w = 0;
            std::memcpy(&w, at, 4);
            x = __builtin_bswap32(w);
        } else {
            std::memcpy(&x, at, 8);
            x = __builtin_bswap64(x);
        }
        p_ += n + 1;
        v.kind = mp_kind::uint;
        v.u = x;
        return true;
    }
    if ((b & 0xf0) == 0x80) {
        ++p_;
        v.kind = mp_kind::map;
        v.count = b & 0x0fu;
        return true;
    }
    return read_other(v);
}

}  // namespace tradebus::schema::detail
