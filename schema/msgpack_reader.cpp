// See msgpack_reader.hpp. Format reference: the msgpack spec (formats 0x00..0xff).
#include "msgpack_reader.hpp"

#include <bit>
#include <type_traits>

namespace tradebus::schema::detail {

std::string_view kind_name(mp_kind k) noexcept {
    switch (k) {
        case mp_kind::nil:
            return "nil";
        case mp_kind::boolean:
            return "bool";
        case mp_kind::uint:
            return "unsigned int";
        case mp_kind::sint:
            return "negative int";
        case mp_kind::f64:
            return "float";
        case mp_kind::str:
            return "str";
        case mp_kind::bin:
            return "bin";
        case mp_kind::array:
            return "array";
        case mp_kind::map:
            return "map";
        case mp_kind::ext:
            return "ext";
    }
    return "?";
}

bool mp_reader::take(std::size_t n, const char*& at) noexcept {
    if (remaining() < n) return false;
    at = p_;
    p_ += n;
    return true;
}

template <class T>
bool mp_reader::be(T& out) noexcept {
    const char* at = nullptr;
    if (!take(sizeof(T), at)) return false;
    std::uint64_t v = 0;  // msgpack is big-endian
    for (std::size_t k = 0; k < sizeof(T); ++k) {
        v = (v << 8) | static_cast<std::uint8_t>(at[k]);
    }
    out = static_cast<T>(v);
    return true;
}

bool mp_reader::read_other(mp_value& v) noexcept {
    const char* at = nullptr;
    if (!take(1, at)) return false;
    const auto b = static_cast<std::uint8_t>(*at);
    v = mp_value{};

    auto payload = [&](std::size_t n, mp_kind kind) {
        const char* data = nullptr;
        if (!take(n, data)) return false;
        v.kind = kind;
        v.raw = std::string_view(data, n);
        return true;
    };
    auto sized = [&](auto len_type, mp_kind kind) {
        decltype(len_type) n{};
        if (!be(n)) return false;
        return payload(static_cast<std::size_t>(n), kind);
    };
    auto counted = [&](auto len_type, mp_kind kind) {
        decltype(len_type) n{};
        if (!be(n)) return false;
        v.kind = kind;
        v.count = static_cast<std::uint32_t>(n);
        return true;
    };
    auto ext = [&](auto len_type) {
        decltype(len_type) n{};
        if (!be(n)) return false;
        return payload(static_cast<std::size_t>(n) + 1, mp_kind::ext);  // +1: the type byte
    };
    auto unsigned_int = [&](auto t) {
        decltype(t) n{};
        if (!be(n)) return false;
        v.kind = mp_kind::uint;
        v.u = n;
        return true;
    };
    auto signed_int = [&](auto t) {
        using U = std::make_unsigned_t<decltype(t)>;
        U n{};
        if (!be(n)) return false;
        const auto s = std::bit_cast<decltype(t)>(n);
        if (s >= 0) {
            v.kind = mp_kind::uint;
            v.u = static_cast<std::uint64_t>(s);
        } else {
            v.kind = mp_kind::sint;
            v.i = s;
        }
        return true;
    };

    if (b <= 0x7f) {
        v.kind = mp_kind::uint;
        v.u = b;
        return true;
    }
    if (b >= 0xe0) {
        v.kind = mp_kind::sint;
        v.i = static_cast<std::int8_t>(b);
        return true;
    }
    if ((b & 0xf0) == 0x80) {
        v.kind = mp_kind::map;
        v.count = b & 0x0fu;
        return true;
    }
    if ((b & 0xf0) == 0x90) {
        v.kind = mp_kind::array;
        v.count = b & 0x0fu;
        return true;
    }
    if ((b & 0xe0) == 0xa0) return payload(b & 0x1fu, mp_kind::str);

    switch (b) {
        case 0xc0:
            v.kind = mp_kind::nil;
            return true;
        case 0xc2:
            v.kind = mp_kind::boolean;
            v.b = false;
            return true;
        case 0xc3:
            v.kind = mp_kind::boolean;
            v.b = true;
            return true;
        case 0xc4:
            return sized(std::uint8_t{}, mp_kind::bin);
        case 0xc5:
            return sized(std::uint16_t{}, mp_kind::bin);
        case 0xc6:
            return sized(std::uint32_t{}, mp_kind::bin);
        case 0xc7:
            return ext(std::uint8_t{});
        case 0xc8:
            return ext(std::uint16_t{});
        case 0xc9:
            return ext(std::uint32_t{});
        case 0xca: {
            std::uint32_t bits = 0;
            if (!be(bits)) return false;
            v.kind = mp_kind::f64;
            v.d = static_cast<double>(std::bit_cast<float>(bits));
            return true;
        }
        case 0xcb: {
            std::uint64_t bits = 0;
            if (!be(bits)) return false;
            v.kind = mp_kind::f64;
            v.d = std::bit_cast<double>(bits);
            return true;
        }
        case 0xcc:
            return unsigned_int(std::uint8_t{});
        case 0xcd:
            return unsigned_int(std::uint16_t{});
        case 0xce:
            return unsigned_int(std::uint32_t{});
        case 0xcf:
            return unsigned_int(std::uint64_t{});
        case 0xd0:
            return signed_int(std::int8_t{});
        case 0xd1:
            return signed_int(std::int16_t{});
        case 0xd2:
            return signed_int(std::int32_t{});
        case 0xd3:
            return signed_int(std::int64_t{});
        case 0xd4:
            return payload(2, mp_kind::ext);
        case 0xd5:
            return payload(3, mp_kind::ext);
        case 0xd6:
            return payload(5, mp_kind::ext);
        case 0xd7:
            return payload(9, mp_kind::ext);
        case 0xd8:
            return payload(17, mp_kind::ext);
        case 0xd9:
            return sized(std::uint8_t{}, mp_kind::str);
        case 0xda:
            return sized(std::uint16_t{}, mp_kind::str);
        case 0xdb:
            return sized(std::uint32_t{}, mp_kind::str);
        case 0xdc:
            return counted(std::uint16_t{}, mp_kind::array);
        case 0xdd:
            return counted(std::uint32_t{}, mp_kind::array);
        case 0xde:
            return counted(std::uint16_t{}, mp_kind::map);
        case 0xdf:
            return counted(std::uint32_t{}, mp_kind::map);
        default:
            return false;  // 0xc1: never used
    }
}

bool mp_reader::skip(std::size_t depth_left) noexcept {
    // Iterative over siblings, recursive over nesting (bounded by depth_left). Every item
    // consumes at least one byte, so a claimed count larger than the input fails on truncation
    // after at most remaining() iterations: no work in proportion to a lying length field.
    mp_value v;
    if (!read(v)) return false;
    if (v.kind != mp_kind::array && v.kind != mp_kind::map) return true;
    if (depth_left == 0) return false;
    const std::uint64_t items =
        v.kind == mp_kind::map ? std::uint64_t{v.count} * 2 : std::uint64_t{v.count};
    if (items > remaining()) return false;
    for (std::uint64_t k = 0; k < items; ++k) {
        if (!skip(depth_left - 1)) return false;
    }
    return true;
}

}  // namespace tradebus::schema::detail
