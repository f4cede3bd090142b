// A bounds-checked, allocation-free msgpack cursor. It reads one value header at a time and
// hands out views into the input; it never trusts a length before checking the bytes exist.
// Private to the schema library: the codec is the only user.
#pragma once

#include <cstddef>
#include <cstdint>
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
    /// NOT consumed. Returns false on truncated input or the reserved byte 0xc1.
    [[nodiscard]] bool read(mp_value& out) noexcept;

    /// Skips one complete value including nested items. False on bad input or depth > limit.
    [[nodiscard]] bool skip(std::size_t depth_left) noexcept;

    [[nodiscard]] const char* position() const noexcept { return p_; }
    [[nodiscard]] const char* end() const noexcept { return end_; }
    [[nodiscard]] std::size_t remaining() const noexcept {
        return static_cast<std::size_t>(end_ - p_);
    }

  private:
    [[nodiscard]] bool take(std::size_t n, const char*& at) noexcept;
    template <class T>
    [[nodiscard]] bool be(T& out) noexcept;

    const char* p_;
    const char* end_;
};

}  // namespace tradebus::schema::detail
