// msgpack_reader tests (schema/msgpack_reader.cpp): every one of the 256 format bytes against
// the msgpack spec, every truncation of every format, values packed by msgpack-c read back
// exactly, skip() depth and lying-length behaviour, and a fixed-seed differential run against
// msgpack-c's own parser over random and mutated documents.
#ifndef MSGPACK_NO_BOOST
#define MSGPACK_NO_BOOST
#endif
#include "msgpack_reader.hpp"

#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <msgpack.hpp>
#include <random>
#include <string>
#include <string_view>
#include <vector>

using tradebus::schema::detail::kind_name;
using tradebus::schema::detail::mp_kind;
using tradebus::schema::detail::mp_reader;
using tradebus::schema::detail::mp_value;

namespace {

struct string_sink {
    std::string* out;
    void write(const char* p, std::size_t n) { out->append(p, n); }
};
using packer = msgpack::packer<string_sink>;

template <class F>
std::string packed(F&& fn) {
    std::string out;
    string_sink sink{&out};
    packer pk(sink);
    fn(pk);
    return out;
}

std::uint32_t u32(std::size_t n) { return static_cast<std::uint32_t>(n); }

std::string bytes(std::initializer_list<unsigned> list) {
    std::string out;
    for (const unsigned b : list) out.push_back(static_cast<char>(b));
    return out;
}

std::string to_hex(std::string_view s) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (const char c : s.substr(0, 64)) {
        const auto b = static_cast<unsigned char>(c);
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 0x0f]);
        out.push_back(' ');
    }
    return out;
}

// Reads one header; on success also reports how many bytes it consumed.
bool read_one(std::string_view in, mp_value& v, std::size_t& used) {
    mp_reader r(in);
    const bool ok = r.read(v);
    used = static_cast<std::size_t>(r.position() - in.data());
    return ok;
}

// The msgpack spec's format table: kind, and bytes a header takes when every byte after the
// format byte is zero (so every length field reads 0).
struct format_row {
    mp_kind kind;
    std::size_t size;
    bool valid = true;
};
format_row spec(unsigned b) {
    if (b <= 0x7f) return {mp_kind::uint, 1};
    if (b <= 0x8f) return {mp_kind::map, 1};
    if (b <= 0x9f) return {mp_kind::array, 1};
    if (b <= 0xbf) return {mp_kind::str, 1 + (b & 0x1fu)};
    if (b >= 0xe0) return {mp_kind::sint, 1};
    switch (b) {
        case 0xc0:
            return {mp_kind::nil, 1};
        case 0xc1:
            return {mp_kind::nil, 1, false};  // "never used"
        case 0xc2:
            return {mp_kind::boolean, 1};
        case 0xc3:
            return {mp_kind::boolean, 1};
        case 0xc4:
            return {mp_kind::bin, 2};
        case 0xc5:
            return {mp_kind::bin, 3};
        case 0xc6:
            return {mp_kind::bin, 5};
        case 0xc7:
            return {mp_kind::ext, 3};  // length, type byte
        case 0xc8:
            return {mp_kind::ext, 4};
        case 0xc9:
            return {mp_kind::ext, 6};
        case 0xca:
            return {mp_kind::f64, 5};
        case 0xcb:
            return {mp_kind::f64, 9};
        case 0xcc:
            return {mp_kind::uint, 2};
        case 0xcd:
            return {mp_kind::uint, 3};
        case 0xce:
            return {mp_kind::uint, 5};
        case 0xcf:
            return {mp_kind::uint, 9};
        case 0xd0:
            return {mp_kind::uint, 2};  // signed formats holding 0 read as unsigned
        case 0xd1:
            return {mp_kind::uint, 3};
        case 0xd2:
            return {mp_kind::uint, 5};
        case 0xd3:
            return {mp_kind::uint, 9};
        case 0xd4:
            return {mp_kind::ext, 3};  // fixext 1: type + 1
        case 0xd5:
            return {mp_kind::ext, 4};
        case 0xd6:
            return {mp_kind::ext, 6};
        case 0xd7:
            return {mp_kind::ext, 10};
        case 0xd8:
            return {mp_kind::ext, 18};
        case 0xd9:
            return {mp_kind::str, 2};
        case 0xda:
            return {mp_kind::str, 3};
        case 0xdb:
            return {mp_kind::str, 5};
        case 0xdc:
            return {mp_kind::array, 3};
        case 0xdd:
            return {mp_kind::array, 5};
        case 0xde:
            return {mp_kind::map, 3};
        default:
            return {mp_kind::map, 5};  // 0xdf
    }
}

}  // namespace

TEST_CASE("msgpack_reader: all 256 format bytes follow the spec, truncation at every length") {
    for (unsigned b = 0; b <= 0xff; ++b) {
        INFO("format byte 0x", to_hex(bytes({b})));
        const auto want = spec(b);
        std::string in = bytes({b}) + std::string(40, '\0');
        mp_value v;
        std::size_t used = 0;
        const bool ok = read_one(in, v, used);
        CHECK(ok == want.valid);
        if (!want.valid) continue;
        CHECK(v.kind == want.kind);
        CHECK(used == want.size);
        if (v.kind == mp_kind::array || v.kind == mp_kind::map) {
            CHECK(v.count == ((b & 0xe0) == 0x80 ? (b & 0x0fu) : 0u));
        }
        for (std::size_t n = 0; n < want.size; ++n) {  // every cut inside the header fails
            INFO("cut to ", n, " bytes");
            CHECK_FALSE(read_one(std::string_view(in).substr(0, n), v, used));
        }
    }
}

TEST_CASE("msgpack_reader: integers packed by msgpack-c read back exactly") {
    const std::vector<std::uint64_t> unsigned_values = {0,
                                                        1,
                                                        127,
                                                        128,
                                                        255,
                                                        256,
                                                        65'535,
                                                        65'536,
                                                        0xffff'ffffULL,
                                                        0x1'0000'0000ULL,
                                                        std::uint64_t{1} << 63,
                                                        std::numeric_limits<std::uint64_t>::max()};
    for (const auto u : unsigned_values) {
        INFO("value ", u);
        const auto in = packed([&](packer& pk) { pk.pack_uint64(u); });
        mp_value v;
        std::size_t used = 0;
        REQUIRE(read_one(in, v, used));
        CHECK(v.kind == mp_kind::uint);
        CHECK(v.u == u);
        CHECK(used == in.size());
    }
    const std::vector<std::int64_t> signed_values = {
        -1,
        -32,
        -33,
        -128,
        -129,
        -32'768,
        -32'769,
        std::numeric_limits<std::int32_t>::min(),
        std::int64_t{std::numeric_limits<std::int32_t>::min()} - 1,
        std::numeric_limits<std::int64_t>::min()};
    for (const auto i : signed_values) {
        INFO("value ", i);
        const auto in = packed([&](packer& pk) { pk.pack_int64(i); });
        mp_value v;
        std::size_t used = 0;
        REQUIRE(read_one(in, v, used));
        CHECK(v.kind == mp_kind::sint);
        CHECK(v.i == i);
        CHECK(used == in.size());
    }
    // Every signed width, hand-written: negative -> sint, non-negative -> uint.
    struct row {
        std::string in;
        mp_kind kind;
        std::int64_t value;
    };
    const std::vector<row> rows = {
        {bytes({0xd0, 0x80}), mp_kind::sint, -128},
        {bytes({0xd0, 0x7f}), mp_kind::uint, 127},
        {bytes({0xd1, 0x80, 0x00}), mp_kind::sint, -32'768},
        {bytes({0xd1, 0x7f, 0xff}), mp_kind::uint, 32'767},
        {bytes({0xd2, 0xff, 0xff, 0xff, 0xfe}), mp_kind::sint, -2},
        {bytes({0xd2, 0x7f, 0xff, 0xff, 0xff}), mp_kind::uint, 2'147'483'647},
        {bytes({0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0}), mp_kind::sint,
         std::numeric_limits<std::int64_t>::min()},
        {bytes({0xd3, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), mp_kind::uint,
         std::numeric_limits<std::int64_t>::max()},
        {bytes({0xe0}), mp_kind::sint, -32},
        {bytes({0xff}), mp_kind::sint, -1},
    };
    for (const auto& [in, kind, value] : rows) {
        INFO("bytes ", to_hex(in));
        mp_value v;
        std::size_t used = 0;
        REQUIRE(read_one(in, v, used));
        CHECK(v.kind == kind);
        if (kind == mp_kind::sint) {
            CHECK(v.i == value);
        } else {
            CHECK(v.u == static_cast<std::uint64_t>(value));
        }
    }
}

TEST_CASE("msgpack_reader: floats, nil and booleans") {
    const auto f32 = bytes({0xca, 0x3f, 0x00, 0x00, 0x00});        // 0.5f
    const auto f64 = bytes({0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0});  // 1.5
    const auto nan = bytes({0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0});
    const auto neg_zero = bytes({0xcb, 0x80, 0, 0, 0, 0, 0, 0, 0});
    mp_value v;
    std::size_t used = 0;
    REQUIRE(read_one(f32, v, used));
    CHECK(v.kind == mp_kind::f64);
    CHECK(v.d == 0.5);
    REQUIRE(read_one(f64, v, used));
    CHECK(v.d == 1.5);
    REQUIRE(read_one(nan, v, used));
    CHECK(std::isnan(v.d));
    REQUIRE(read_one(neg_zero, v, used));
    CHECK(std::signbit(v.d));
    REQUIRE(read_one(bytes({0xc0}), v, used));
    CHECK(v.kind == mp_kind::nil);
    REQUIRE(read_one(bytes({0xc2}), v, used));
    CHECK((v.kind == mp_kind::boolean && !v.b));
    REQUIRE(read_one(bytes({0xc3}), v, used));
    CHECK((v.kind == mp_kind::boolean && v.b));
}

TEST_CASE("msgpack_reader: str, bin and ext of every length class") {
    for (const std::size_t n : {0u, 1u, 31u, 32u, 255u, 256u, 65'535u, 65'536u, 70'000u}) {
        INFO("length ", n);
        const std::string payload(n, 'p');
        const auto str = packed([&](packer& pk) {
            pk.pack_str(u32(n));
            pk.pack_str_body(payload.data(), u32(n));
        });
        const auto bin = packed([&](packer& pk) {
            pk.pack_bin(u32(n));
            pk.pack_bin_body(payload.data(), u32(n));
        });
        const auto ext = packed([&](packer& pk) {
            pk.pack_ext(n, 7);
            pk.pack_ext_body(payload.data(), u32(n));
        });
        mp_value v;
        std::size_t used = 0;
        REQUIRE(read_one(str, v, used));
        CHECK(v.kind == mp_kind::str);
        CHECK(v.raw == payload);
        CHECK(used == str.size());
        REQUIRE(read_one(bin, v, used));
        CHECK(v.kind == mp_kind::bin);
        CHECK(v.raw == payload);
        REQUIRE(read_one(ext, v, used));
        CHECK(v.kind == mp_kind::ext);
        CHECK(v.raw.size() == n + 1);  // the type byte, then the data
        CHECK(v.raw.front() == 7);
        CHECK(used == ext.size());
        // One byte short anywhere in the payload: the header claims more than is there.
        for (const auto* whole : {&str, &bin, &ext}) {
            CHECK_FALSE(read_one(std::string_view(*whole).substr(0, whole->size() - 1), v, used));
        }
    }
}

TEST_CASE("msgpack_reader: array and map headers report counts and consume no items") {
    for (const std::uint32_t n : {0u, 15u, 16u, 65'535u, 65'536u, 0xffff'ffffu}) {
        INFO("count ", n);
        const auto arr = packed([&](packer& pk) { pk.pack_array(n); });
        const auto map = packed([&](packer& pk) { pk.pack_map(n); });
        mp_value v;
        std::size_t used = 0;
        REQUIRE(read_one(arr, v, used));
        CHECK(v.kind == mp_kind::array);
        CHECK(v.count == n);
        CHECK(used == arr.size());
        REQUIRE(read_one(map, v, used));
        CHECK(v.kind == mp_kind::map);
        CHECK(v.count == n);
        CHECK(used == map.size());
    }
}

TEST_CASE("msgpack_reader: lengths that claim more than the input holds fail at once") {
    // Up to 4 GiB claimed, a few bytes present: read() must fail (payload kinds) or return the
    // bare count (containers), and skip() must fail, all without walking the claimed length.
    struct row {
        std::string name;
        std::string in;
        bool read_ok;
    };
    const std::vector<row> rows = {
        {"str32 4 GiB", bytes({0xdb, 0xff, 0xff, 0xff, 0xff, 'a', 'b'}), false},
        {"bin32 4 GiB", bytes({0xc6, 0xff, 0xff, 0xff, 0xff, 0x00}), false},
        {"ext32 4 GiB", bytes({0xc9, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00}), false},
        {"str16 64 KiB", bytes({0xda, 0xff, 0xff, 'a'}), false},
        {"fixstr 31", bytes({0xbf, 'a'}), false},
        {"fixext 16", bytes({0xd8, 0x01, 0x00}), false},
        {"array32 4 G items", bytes({0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0}), true},
        {"map32 4 G pairs", bytes({0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0}), true},
        {"array16 64 K items", bytes({0xdc, 0xff, 0xff, 0xc0}), true},
        {"fixmap 1 pair, key only", bytes({0x81, 0xc0}), true},
    };
    for (const auto& [name, in, read_ok] : rows) {
        INFO(name);
        mp_value v;
        std::size_t used = 0;
        CHECK(read_one(in, v, used) == read_ok);
        mp_reader r(in);
        CHECK_FALSE(r.skip(16));
    }
}

TEST_CASE("msgpack_reader: skip consumes exactly one whole value") {
    const auto doc = packed([](packer& pk) {
        pk.pack_map(3);
        pk.pack_str(1);
        pk.pack_str_body("a", 1);
        pk.pack_array(3);
        pk.pack_nil();
        pk.pack_int64(-5);
        pk.pack_map(1);
        pk.pack_str(1);
        pk.pack_str_body("k", 1);
        pk.pack_bin(2);
        pk.pack_bin_body("xy", 2);
        pk.pack_uint64(7);
        pk.pack_ext(3, 1);
        pk.pack_ext_body("abc", 3);
        pk.pack_str(1);
        pk.pack_str_body("b", 1);
        pk.pack_true();
    });
    const std::string in = doc + bytes({0x2a});  // a second value after it
    mp_reader r(in);
    REQUIRE(r.skip(16));
    CHECK(r.remaining() == 1);
    CHECK(r.position() == in.data() + doc.size());
    CHECK(r.end() == in.data() + in.size());
    mp_value v;
    REQUIRE(r.read(v));
    CHECK(v.u == 42);
    CHECK(r.remaining() == 0);
    CHECK_FALSE(r.read(v));  // nothing left
    CHECK_FALSE(r.skip(16));

    for (std::size_t n = 0; n < doc.size(); ++n) {  // every cut fails
        INFO("cut to ", n, " bytes");
        mp_reader cut(std::string_view(doc).substr(0, n));
        CHECK_FALSE(cut.skip(16));
    }
    const std::string reserved = bytes({0x92, 0x01, 0xc1});
    mp_reader bad(reserved);
    CHECK_FALSE(bad.skip(16));  // 0xc1 inside a container
}

TEST_CASE("msgpack_reader: skip depth limit") {
    const auto nested = [](std::size_t levels) {  // `levels` arrays, innermost empty
        return std::string(levels - 1, '\x91') + '\x90';
    };
    const std::string one = bytes({0x01});
    mp_reader scalar(one);
    CHECK(scalar.skip(0));  // scalars need no depth
    for (std::size_t levels = 1; levels <= 20; ++levels) {
        INFO(levels, " nested arrays");
        const auto in = nested(levels);
        for (std::size_t limit = 0; limit <= 20; ++limit) {
            mp_reader r(in);
            CHECK(r.skip(limit) == (levels <= limit));
        }
    }
    // A depth bomb far deeper than any stack: refused at the limit, not by recursion.
    const std::string bomb = std::string(1'000'000, '\x91') + '\xc0';
    mp_reader r(bomb);
    CHECK_FALSE(r.skip(16));
    CHECK(r.remaining() > bomb.size() - 32);  // stopped right after the limit
    // Many siblings are fine: width is not depth.
    const std::string wide = bytes({0xdc, 0xff, 0xff}) + std::string(65'535, '\xc0');
    mp_reader w(wide);
    CHECK(w.skip(1));
    CHECK(w.remaining() == 0);
}

TEST_CASE("msgpack_reader: kind names used in error messages") {
    CHECK(kind_name(mp_kind::nil) == "nil");
    CHECK(kind_name(mp_kind::boolean) == "bool");
    CHECK(kind_name(mp_kind::uint) == "unsigned int");
    CHECK(kind_name(mp_kind::sint) == "negative int");
    CHECK(kind_name(mp_kind::f64) == "float");
    CHECK(kind_name(mp_kind::str) == "str");
    CHECK(kind_name(mp_kind::bin) == "bin");
    CHECK(kind_name(mp_kind::array) == "array");
    CHECK(kind_name(mp_kind::map) == "map");
    CHECK(kind_name(mp_kind::ext) == "ext");
}

namespace {

// A random msgpack document of every type, packed by msgpack-c.
void random_value(packer& pk, std::mt19937_64& rng, int depth) {
    const auto pick = rng() % (depth > 4 ? 10 : 12);
    const std::string text(rng() % 40, 'x');
    switch (pick) {
        case 0:
            pk.pack_nil();
            break;
        case 1:
            rng() % 2 ? pk.pack_true() : pk.pack_false();
            break;
        case 2:
            pk.pack_uint64(rng() >> (rng() % 64));
            break;
        case 3:
            pk.pack_int64(-static_cast<std::int64_t>(rng() >> (1 + rng() % 63)));
            break;
        case 4:
            pk.pack_double(std::bit_cast<double>(rng()));
            break;
        case 5:
            pk.pack_float(std::bit_cast<float>(static_cast<std::uint32_t>(rng())));
            break;
        case 6:
            pk.pack_str(u32(text.size()));
            pk.pack_str_body(text.data(), u32(text.size()));
            break;
        case 7:
            pk.pack_bin(u32(text.size()));
            pk.pack_bin_body(text.data(), u32(text.size()));
            break;
        case 8:
        case 9:
            pk.pack_ext(text.size(), static_cast<std::int8_t>(rng() % 100));
            pk.pack_ext_body(text.data(), u32(text.size()));
            break;
        case 10: {
            const auto n = rng() % 6;
            pk.pack_array(u32(n));
            for (std::uint64_t k = 0; k < n; ++k) random_value(pk, rng, depth + 1);
            break;
        }
        default: {
            const auto n = rng() % 5;
            pk.pack_map(u32(n));
            for (std::uint64_t k = 0; k < 2 * n; ++k) random_value(pk, rng, depth + 1);
            break;
        }
    }
}

enum class verdict { ok, invalid, over_limit };

// msgpack-c's opinion on `in`: one whole value at the front (and its size), invalid, or over
// the small limits set here (so msgpack-c never allocates by a lying length either).
verdict msgpack_c_says(std::string_view in, std::size_t& used) {
    used = 0;
    try {
        const msgpack::unpack_limit limit(100'000, 100'000, 1 << 20, 1 << 20, 1 << 20, 1'000);
        msgpack::object_handle oh =
            msgpack::unpack(in.data(), in.size(), used, nullptr, nullptr, limit);
        return verdict::ok;
    } catch (const msgpack::size_overflow&) {  // includes depth_size_overflow
        return verdict::over_limit;
    } catch (const msgpack::unpack_error&) {
        return verdict::invalid;
    }
}

}  // namespace

TEST_CASE("msgpack_reader: skip agrees with msgpack-c on random and mutated documents") {
    std::mt19937_64 rng(0x6d73677061636bULL);  // "msgpack"
    std::size_t agreed_ok = 0, agreed_invalid = 0, compared = 0;
    std::vector<std::string> disagreements;
    for (int k = 0; k < 20'000; ++k) {
        std::string in = packed([&](packer& pk) { random_value(pk, rng, 0); });
        if (k % 4 != 0 && !in.empty()) {  // 3 in 4 get 1-3 mutations
            for (std::uint64_t m = 0, n = 1 + rng() % 3; m < n && !in.empty(); ++m) {
                const auto at = static_cast<std::size_t>(rng() % in.size());
                if (rng() % 3 == 0) {
                    in.resize(at);
                } else {
                    in[at] = static_cast<char>(rng() & 0xff);
                }
            }
        }
        std::size_t theirs = 0;
        const verdict v = msgpack_c_says(in, theirs);
        if (v == verdict::over_limit) continue;
        ++compared;
        mp_reader r(in);
        const bool ours = r.skip(1'000);
        const auto used = static_cast<std::size_t>(r.position() - in.data());
        const bool same = (v == verdict::ok) == ours && (!ours || used == theirs);
        if (!same && disagreements.size() < 5) {
            disagreements.push_back(to_hex(in) + (ours ? " ours: ok" : " ours: fail") +
                                    (v == verdict::ok ? " msgpack-c: ok" : " msgpack-c: fail"));
        }
        if (same && ours) ++agreed_ok;
        if (same && !ours) ++agreed_invalid;
    }
    INFO("disagreements:\n", [&] {
        std::string all;
        for (const auto& d : disagreements) all += d + "\n";
        return all;
    }());
    CHECK(disagreements.empty());
    CHECK(compared > 19'000);
    CHECK(agreed_ok > 5'000);  // both outcomes are exercised
    CHECK(agreed_invalid > 2'000);
}
