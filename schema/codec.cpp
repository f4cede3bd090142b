// The codec: one generic encoder and one validating decoder driven by each type's fields()
// list (events.hpp, control.hpp). Encoding writes msgpack through a raw cursor into the caller's
// buffer; decoding uses our own bounded reader (msgpack_reader.hpp) so that no input can make it
// throw, crash, or allocate by a length it merely claims. Both sit on every message of the
// pipeline: a good message costs no allocation (error text is built only for a bad one), and
// the keys are looked up where the encoder put them first.
#include "tradebus/schema/codec.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <concepts>
#include <cstring>
#include <limits>
#include <new>
#include <type_traits>

#include "codec_paths.hpp"
#include "msgpack_reader.hpp"
#include "tradebus/schema/utf8.hpp"

namespace tradebus::schema {
namespace {

using detail::mp_kind;
using detail::mp_reader;
using detail::mp_value;

// ---------------------------------------------------------------- type traits for fields()

struct field_probe {
    template <class F>
    void operator()(std::string_view, F&) {}
};
template <class T>
concept described = requires(T& t, field_probe& p) {
    T::fields(t, p);
};

template <class E>
concept wire_enum = std::is_enum_v<E> && requires {
    enum_names<E>::names;
};

template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};

// ---------------------------------------------------------------- encoding

// Appends msgpack to a caller-owned string through a raw cursor: one capacity check per value
// instead of one std::string::append per header and per payload. The string is sized to its
// capacity while writing and cut to what was written by finish(), so once the buffer has grown
// to the traffic's largest message nothing allocates. Formats are msgpack's smallest for each
// value, as msgpack-c writes them (PROTOCOL.md "Numbers").
class writer {
  public:
    explicit writer(std::string& out) : out_(out) {
        out_.clear();
        out_.resize(out_.capacity());
        p_ = out_.data();
        end_ = p_ + out_.size();
    }
    writer(const writer&) = delete;
    writer& operator=(const writer&) = delete;
    ~writer() { out_.resize(static_cast<std::size_t>(p_ - out_.data())); }

    [[gnu::always_inline]] void raw(const char* data, std::size_t n) {
        room(n);
        std::memcpy(p_, data, n);
        p_ += n;
    }
    void byte(std::uint8_t b) {
        room(1);
        *p_++ = static_cast<char>(b);
    }
    // Tag byte + big-endian N-byte value.
    template <std::size_t N>
    void tagged(std::uint8_t tag, std::uint64_t v) {
        room(N + 1);
        *p_++ = static_cast<char>(tag);
        const std::uint64_t be = __builtin_bswap64(v << (64 - 8 * N));  // big-endian
        std::memcpy(p_, &be, N);
        p_ += N;
    }

    void uint(std::uint64_t v) {
        if (v < 0x80) {
            byte(static_cast<std::uint8_t>(v));
        } else if (v <= 0xff) {
            tagged<1>(0xcc, v);
        } else if (v <= 0xffff) {
            tagged<2>(0xcd, v);
        } else if (v <= 0xffffffffu) {
            tagged<4>(0xce, v);
        } else {
            tagged<8>(0xcf, v);
        }
    }
    void sint(std::int64_t v) {
        if (v >= 0) return uint(static_cast<std::uint64_t>(v));
        const auto bits = static_cast<std::uint64_t>(v);
        if (v >= -32) {
            byte(static_cast<std::uint8_t>(bits & 0xffu));  // negative fixint
        } else if (v >= -128) {
            tagged<1>(0xd0, bits);
        } else if (v >= -32768) {
            tagged<2>(0xd1, bits);
        } else if (v >= std::numeric_limits<std::int32_t>::min()) {
            tagged<4>(0xd2, bits);
        } else {
            tagged<8>(0xd3, bits);
        }
    }
    // Float fields are always float 64 on the wire (PROTOCOL.md "Numbers"), even when the
    // value is integral: 1.0 stays 0xcb..., -0.0 keeps its sign.
    void f64(double v) { tagged<8>(0xcb, std::bit_cast<std::uint64_t>(v)); }
    void boolean(bool v) { byte(v ? 0xc3 : 0xc2); }
    [[gnu::always_inline]] void str(std::string_view s) {
        const std::size_t n = s.size();
        if (n < 32) {
            room(1 + n);
            *p_++ = static_cast<char>(0xa0u | n);
        } else if (n <= 0xff) {
            tagged<1>(0xd9, n);
        } else if (n <= 0xffff) {
            tagged<2>(0xda, n);
        } else {
            tagged<4>(0xdb, n);
        }
        raw(s.data(), n);
    }
    void map(std::size_t n) { container(n, 0x80, 0xde); }
    void array(std::size_t n) { container(n, 0x90, 0xdc); }

  private:
    void container(std::size_t n, std::uint8_t fix, std::uint8_t tag16) {
        if (n < 16) {
            byte(static_cast<std::uint8_t>(fix | n));
        } else if (n <= 0xffff) {
            tagged<2>(tag16, n);
        } else {
            tagged<4>(static_cast<std::uint8_t>(tag16 + 1), n);
        }
    }
    void room(std::size_t n) {
        if (static_cast<std::size_t>(end_ - p_) < n) [[unlikely]]
            grow(n);
    }
    [[gnu::noinline]] void grow(std::size_t n) {
        const auto used = static_cast<std::size_t>(p_ - out_.data());
        out_.resize(std::max<std::size_t>(2 * (used + n), 256));
        p_ = out_.data() + used;
        end_ = out_.data() + out_.size();
    }

    std::string& out_;
    char* p_ = nullptr;
    char* end_ = nullptr;
};

struct key_counter {
    std::uint32_t n = 0;
    template <class F>
    void operator()(std::string_view, const F&) {
        ++n;
    }
};

template <class T>
void pack_value(writer& w, const T& value);

struct field_packer {
    writer& w;
    // Inlined into each type's fields(): the key is then a constant, and writing it a few
    // constant-size stores.
    template <class F>
    [[gnu::always_inline]] void operator()(std::string_view key, const F& value) {
        w.str(key);
        pack_value(w, value);
    }
};

template <class T>
void pack_fields(writer& w, const T& value) {
    field_packer fp{w};
    T::fields(value, fp);
}

template <class T>
std::uint32_t count_fields(const T& value) {
    key_counter c;
    T::fields(value, c);
    return c.n;
}

template <class T>
void pack_value(writer& w, const T& value) {
    if constexpr (std::is_same_v<T, std::string>) {
        w.str(value);
    } else if constexpr (std::is_same_v<T, bool>) {
        w.boolean(value);
    } else if constexpr (std::is_same_v<T, double>) {
        w.f64(value);
    } else if constexpr (std::is_same_v<T, std::int64_t>) {
        w.sint(value);  // smallest msgpack int format that holds the value
    } else if constexpr (std::is_same_v<T, std::uint64_t>) {
        w.uint(value);
    } else if constexpr (wire_enum<T>) {
        w.str(to_string(value));
    } else if constexpr (is_vector<T>::value) {
        w.array(value.size());
        for (const auto& item : value) pack_value(w, item);
    } else {
        static_assert(described<T>, "field type has no wire encoding");
        w.map(count_fields(value));
        pack_fields(w, value);
    }
}

// ---------------------------------------------------------------- decoding

// Where a value sits, for error messages: a chain of keys on the caller's stack, turned into
// text ("data.fills[3].qty") only when a decode fails.
struct path_ref {
    const path_ref* parent = nullptr;
    std::string_view key;   // a map key ("" at the root)
    std::size_t index = 0;  // the array item, when is_item
    bool is_item = false;

    [[nodiscard]] std::string str() const {
        std::string out = parent != nullptr ? parent->str() : std::string();
        if (is_item) {
            out += '[' + std::to_string(index) + ']';
        } else if (!key.empty()) {
            if (!out.empty() && key.front() != '[') out.push_back('.');
            out.append(key);
        }
        return out;
    }
};

// One parsed map: its keys and where each value starts. Bounded by limits::max_map_keys; only
// the first `size` entries are ever written or read (the array is left uninitialized: a map
// of ten keys costs ten entries, not sixty-four).
struct map_entries {
    struct entry {
        const char* key;
        std::uint32_t key_size;
        bool used;  // looked up by a decoder
        const char* value;
    };
    std::array<entry, limits::max_map_keys> items;
    std::size_t size = 0;
    std::size_t used_count = 0;
    std::size_t next = 0;       // where the next lookup most likely is: encoders write in order
    const char* end = nullptr;  // end of the whole input

    [[nodiscard]] std::string_view key(std::size_t k) const {
        return {items[k].key, items[k].key_size};
    }
    [[nodiscard]] bool contains(std::string_view key_text) const {
        for (std::size_t k = 0; k < size; ++k) {
            if (key(k) == key_text) return true;
        }
        return false;
    }
    // The value of `key_text`, marked as looked up; nullptr when absent.
    [[nodiscard]] const char* find(std::string_view key_text) {
        std::size_t k = next;
        if (k >= size || key(k) != key_text) {
            for (k = 0; k < size && key(k) != key_text; ++k) {
            }
            if (k == size) return nullptr;
        }
        if (!items[k].used) {
            items[k].used = true;
            ++used_count;
        }
        next = k + 1;
        return items[k].value;
    }
};

std::string join(std::string_view path, std::string_view key) {
    std::string out;
    out.reserve(path.size() + key.size() + 1);
    out.append(path);
    if (!path.empty() && !key.empty() && key.front() != '[') out.push_back('.');
    out.append(key);
    return out;
}

std::string got(const mp_value& v) { return "got " + std::string(detail::kind_name(v.kind)); }

// The limits every str, array and map is held to, known key or not: why `v` breaks one, or
// nullopt. One wording, whichever decoder finds it.
std::optional<std::string> over_limit(const mp_value& v) {
    if (v.kind == mp_kind::str) {
        if (v.raw.size() > limits::max_string_bytes) {
            return "str of " + std::to_string(v.raw.size()) + " bytes, limit " +
                   std::to_string(limits::max_string_bytes);
        }
        if (!valid_utf8(v.raw)) return "str is not valid UTF-8";
    } else if (v.kind == mp_kind::array && v.count > limits::max_array_items) {
        return "array of " + std::to_string(v.count) + " items, limit " +
               std::to_string(limits::max_array_items);
    } else if (v.kind == mp_kind::map && v.count > limits::max_map_keys) {
        return "map has " + std::to_string(v.count) + " keys, limit " +
               std::to_string(limits::max_map_keys);
    }
    return std::nullopt;
}

// Checks one value no decoder looks at (an unknown key's) against the same limits as a known
// one: every str bounded and UTF-8, every array and map within its count, map keys unique
// bounded UTF-8 strs, nesting within `depth_left` containers. The error's key is relative to
// the value ("[3].name").
std::optional<decode_error> check_unknown(mp_reader& r, std::size_t depth_left) {
    mp_value v;
    if (!r.read(v)) return decode_error{"", "truncated or invalid msgpack"};
    if (auto why = over_limit(v)) return decode_error{"", std::move(*why)};
    if (v.kind != mp_kind::array && v.kind != mp_kind::map) return std::nullopt;
    if (depth_left == 0) return decode_error{"", "nesting too deep"};
    std::array<std::string_view, limits::max_map_keys> keys;
    for (std::uint32_t k = 0; k < v.count; ++k) {
        std::string where = "[" + std::to_string(k) + "]";
        if (v.kind == mp_kind::map) {
            mp_value key;
            if (!r.read(key))
                return decode_error{"", "truncated map (key " + std::to_string(k) + ")"};
            if (key.kind != mp_kind::str) {
                return decode_error{"",
                                    "map key " + std::to_string(k) + " is not a str, " + got(key)};
            }
            if (auto why = over_limit(key)) {
                return decode_error{"", "map key " + std::to_string(k) + ": " + std::move(*why)};
            }
            for (std::uint32_t j = 0; j < k; ++j) {
                if (keys[j] == key.raw) return decode_error{std::string(key.raw), "duplicate key"};
            }
            keys[k] = key.raw;
            where = key.raw;
        }
        if (auto e = check_unknown(r, depth_left - 1)) {
            return decode_error{join(where, e->key), std::move(e->reason)};
        }
    }
    return std::nullopt;
}

// Checks the value of every key of `m` that no decoder looked up (PROTOCOL.md: unknown keys are
// ignored only when well-formed and within the limits).
std::optional<decode_error> check_unknown_keys(const map_entries& m, const path_ref& path,
                                               std::size_t depth) {
    if (m.used_count == m.size) return std::nullopt;
    for (std::size_t k = 0; k < m.size; ++k) {
        if (m.items[k].used) continue;
        mp_reader r(m.items[k].value, m.end);
        if (auto e = check_unknown(r, limits::max_depth - std::min(depth, limits::max_depth))) {
            return decode_error{join(join(path.str(), m.key(k)), e->key), std::move(e->reason)};
        }
    }
    return std::nullopt;
}

// Reads the map at `r` into `out`, checking every key and skipping (so validating the framing
// of) every value; nullopt on success.
std::optional<decode_error> read_map(mp_reader& r, const path_ref& path, map_entries& out,
                                     std::size_t depth) {
    mp_value v;
    if (!r.read(v)) return decode_error{path.str(), "truncated or invalid msgpack"};
    if (v.kind != mp_kind::map) return decode_error{path.str(), "expected map, " + got(v)};
    if (auto why = over_limit(v)) return decode_error{path.str(), std::move(*why)};
    out.size = 0;
    out.used_count = 0;
    out.next = 0;
    out.end = r.end();
    for (std::uint32_t k = 0; k < v.count; ++k) {
        mp_value key;
        if (!r.read(key))
            return decode_error{path.str(), "truncated map (key " + std::to_string(k) + ")"};
        if (key.kind != mp_kind::str) {
            return decode_error{path.str(),
                                "map key " + std::to_string(k) + " is not a str, " + got(key)};
        }
        // Checked before the key is used in any error path: decode_error text is always
        // valid UTF-8 and bounded, so callers can log it or put it in JSON as is.
        if (key.raw.size() > limits::max_string_bytes) {
            return decode_error{path.str(), "map key " + std::to_string(k) + " of " +
                                                std::to_string(key.raw.size()) + " bytes, limit " +
                                                std::to_string(limits::max_string_bytes)};
        }
        if (!valid_utf8(key.raw)) {
            return decode_error{path.str(), "map key " + std::to_string(k) + " is not valid UTF-8"};
        }
        if (out.contains(key.raw)) {
            return decode_error{join(path.str(), key.raw), "duplicate key"};
        }
        out.items[out.size] = {key.raw.data(), static_cast<std::uint32_t>(key.raw.size()), false,
                               r.position()};
        ++out.size;
        if (!r.skip(limits::max_depth - std::min(depth, limits::max_depth))) {
            return decode_error{join(path.str(), key.raw),
                                "truncated, invalid or too deeply nested value"};
        }
    }
    return std::nullopt;
}

// One scalar value into `out`: true when `v` is of the field's wire type and within the
// limits. The fast path takes only this answer; the checked path asks scalar_error() why.
template <class T>
bool scalar(const mp_value& v, T& out) {
    if constexpr (std::is_same_v<T, std::string>) {
        if (v.kind != mp_kind::str || v.raw.size() > limits::max_string_bytes ||
            !valid_utf8(v.raw)) {
            return false;
        }
        out.assign(v.raw);
    } else if constexpr (std::is_same_v<T, bool>) {
        if (v.kind != mp_kind::boolean) return false;
        out = v.b;
    } else if constexpr (std::is_same_v<T, double>) {
        // Integers are accepted too: JSON-minded clients write 1 for 1.0.
        if (v.kind == mp_kind::f64) {
            out = v.d;
        } else if (v.kind == mp_kind::uint) {
            out = static_cast<double>(v.u);
        } else if (v.kind == mp_kind::sint) {
            out = static_cast<double>(v.i);
        } else {
            return false;
        }
    } else if constexpr (std::is_same_v<T, std::int64_t>) {
        if (v.kind == mp_kind::sint) {
            out = v.i;
        } else if (v.kind == mp_kind::uint &&
                   v.u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            out = static_cast<std::int64_t>(v.u);
        } else {
            return false;
        }
    } else if constexpr (std::is_same_v<T, std::uint64_t>) {
        if (v.kind != mp_kind::uint) return false;
        out = v.u;
    } else if constexpr (wire_enum<T>) {
        if (v.kind != mp_kind::str) return false;
        const auto parsed = parse_enum<T>(v.raw);
        if (!parsed) return false;
        out = *parsed;
    } else {
        static_assert(sizeof(T) == 0, "field type has no wire decoding");
    }
    return true;
}

// Why scalar() refused `v` for a field of type T.
template <class T>
std::string scalar_error(const mp_value& v) {
    if constexpr (std::is_same_v<T, std::string>) {
        if (v.kind != mp_kind::str) return "expected str, " + got(v);
        return over_limit(v).value_or("str refused");
    } else if constexpr (std::is_same_v<T, bool>) {
        return "expected bool, " + got(v);
    } else if constexpr (std::is_same_v<T, double>) {
        return "expected float, " + got(v);
    } else if constexpr (std::is_same_v<T, std::int64_t>) {
        if (v.kind == mp_kind::uint) return "int out of range for int64";
        return "expected int, " + got(v);
    } else if constexpr (std::is_same_v<T, std::uint64_t>) {
        if (v.kind == mp_kind::sint) return "expected unsigned int, got negative int";
        return "expected unsigned int, " + got(v);
    } else {
        static_assert(wire_enum<T>);
        if (v.kind != mp_kind::str) return "expected str, " + got(v);
        std::string allowed;
        for (auto n : enum_names<T>::names) {
            if (!allowed.empty()) allowed += '|';
            allowed += n;
        }
        std::string shown(v.raw.substr(0, 32));
        if (!valid_utf8(shown)) shown = "<not UTF-8>";
        return "expected one of " + allowed + ", got \"" + shown + "\"";
    }
}

template <class T>
std::optional<decode_error> decode_value(mp_reader& r, const path_ref& path, T& out,
                                         std::size_t depth);

template <class T>
std::optional<decode_error> decode_fields(map_entries& m, const path_ref& path, T& out,
                                          std::size_t depth);

template <class T>
std::optional<decode_error> decode_value(mp_reader& r, const path_ref& path, T& out,
                                         std::size_t depth) {
    if constexpr (described<T>) {
        map_entries m;
        if (auto e = read_map(r, path, m, depth)) return e;
        if (auto e = decode_fields(m, path, out, depth + 1)) return e;
        return check_unknown_keys(m, path, depth);
    } else {
        mp_value v;
        if (!r.read(v)) return decode_error{path.str(), "truncated or invalid msgpack"};
        if constexpr (is_vector<T>::value) {
            if (v.kind != mp_kind::array) {
                return decode_error{path.str(), "expected array, " + got(v)};
            }
            if (auto why = over_limit(v)) return decode_error{path.str(), std::move(*why)};
            if (v.count > r.remaining()) {  // every item takes at least one byte
                return decode_error{path.str(),
                                    "array claims " + std::to_string(v.count) + " items but only " +
                                        std::to_string(r.remaining()) + " bytes follow"};
            }
            out.clear();
            out.resize(v.count);
            for (std::uint32_t k = 0; k < v.count; ++k) {
                const path_ref item{&path, {}, k, true};
                if (auto e = decode_value(r, item, out[k], depth + 1)) return e;
            }
        } else if (!scalar(v, out)) {
            return decode_error{path.str(), scalar_error<T>(v)};
        }
        return std::nullopt;
    }
}

// A key a struct lists in `optional_keys` (one added after records without it were written,
// PROTOCOL.md "Versioning") may be absent: the field keeps its default.
template <class T>
constexpr bool may_be_absent(std::string_view key) {
    if constexpr (requires { T::optional_keys; }) {
        for (const std::string_view k : T::optional_keys) {
            if (k == key) return true;
        }
    }
    return false;
}

template <class T>
struct field_decoder {
    map_entries& m;
    const path_ref& path;
    std::size_t depth;
    std::optional<decode_error> error;

    template <class F>
    void operator()(std::string_view key, F& field) {
        if (error) return;
        const path_ref at_key{&path, key};
        const char* at = m.find(key);
        if (at == nullptr) {
            if (!may_be_absent<T>(key)) error = decode_error{at_key.str(), "missing required key"};
            return;
        }
        mp_reader r(at, m.end);
        error = decode_value(r, at_key, field, depth);
    }
};

// Decodes the fields of `out` from `m`. `out` must hold its defaults (a reused object is reset
// first: an optional key that is absent keeps the default, not the last message's value).
template <class T>
std::optional<decode_error> decode_fields(map_entries& m, const path_ref& path, T& out,
                                          std::size_t depth) {
    if (depth > limits::max_depth) return decode_error{path.str(), "nesting too deep"};
    field_decoder<T> d{m, path, depth, std::nullopt};
    T::fields(out, d);
    return d.error;
}

// Reads the top-level map and checks "v" and "type"; returns the type string.
std::optional<decode_error> read_header(std::string_view bytes, map_entries& m,
                                        std::string_view& type) {
    if (bytes.empty()) return decode_error{"", "empty message"};
    if (bytes.size() > limits::max_message_bytes) {
        return decode_error{"", "message of " + std::to_string(bytes.size()) + " bytes, limit " +
                                    std::to_string(limits::max_message_bytes)};
    }
    mp_reader r(bytes);
    if (auto e = read_map(r, path_ref{}, m, 0)) return e;
    if (r.remaining() != 0) {
        return decode_error{"",
                            std::to_string(r.remaining()) + " trailing bytes after the message"};
    }
    std::uint64_t v = 0;
    const char* at = m.find("v");
    if (at == nullptr) return decode_error{"v", "missing required key"};
    {
        mp_reader vr(at, m.end);
        if (auto e = decode_value(vr, path_ref{nullptr, "v"}, v, 0)) return e;
    }
    if (v < min_version || v > version) {
        return decode_error{"v", "unsupported schema version " + std::to_string(v) +
                                     " (supported " + std::to_string(min_version) + ".." +
                                     std::to_string(version) + ")"};
    }
    at = m.find("type");
    if (at == nullptr) return decode_error{"type", "missing required key"};
    mp_reader tr(at, m.end);
    mp_value tv;
    if (!tr.read(tv)) return decode_error{"type", "truncated or invalid msgpack"};
    if (tv.kind != mp_kind::str) return decode_error{"type", "expected str, " + got(tv)};
    type = tv.raw;
    return std::nullopt;
}

std::string shown_type(std::string_view type) {
    std::string s(type.substr(0, 64));
    return valid_utf8(s) ? s : "<not UTF-8>";
}

// Makes `v` hold the alternative whose type_name is `name`, with its default values; an
// alternative `v` already holds is reset in place (move-assigning a default keeps the
// capacity of its short strings' buffers). False when no alternative has that name.
template <class Variant, std::size_t I = 0>
bool reset_by_name(Variant& v, std::string_view name) {
    if constexpr (I < std::variant_size_v<Variant>) {
        using Alt = std::variant_alternative_t<I, Variant>;
        if (Alt::type_name == name) {
            if (v.index() == I) {
                std::get<I>(v) = Alt{};
            } else {
                v.template emplace<I>();
            }
            return true;
        }
        return reset_by_name<Variant, I + 1>(v, name);
    } else {
        return false;
    }
}

// ---------------------------------------------------------------- the fast path
// A message as our encoder writes it (every key in fields() order, none unknown, none absent)
// is decoded in one pass: each key is compared with the one expected next and each value is
// converted as it is read. Anything else, including any error, returns false and the checked
// path decodes the message from the start: it alone reports errors and handles unknown,
// absent or reordered keys, so both paths accept exactly the same messages.

template <class T>
bool fast_value(mp_reader& r, T& out, std::size_t depth);

// Keys are a few bytes: compared inline, in words (a libc call to memcmp costs more).
template <class W>
W load(const char* p) {
    W w;
    std::memcpy(&w, p, sizeof(W));
    return w;
}
[[gnu::always_inline]] inline bool same_key(std::string_view a, std::string_view b) {
    const std::size_t n = a.size();
    if (n != b.size()) return false;
    const char* x = a.data();
    const char* y = b.data();
    if (n >= 8) {  // words from the front, the last (overlapping) word from the back
        for (std::size_t i = 0; i + 8 < n; i += 8) {
            if (load<std::uint64_t>(x + i) != load<std::uint64_t>(y + i)) return false;
        }
        return load<std::uint64_t>(x + n - 8) == load<std::uint64_t>(y + n - 8);
    }
    if (n >= 4) {
        return load<std::uint32_t>(x) == load<std::uint32_t>(y) &&
               load<std::uint32_t>(x + n - 4) == load<std::uint32_t>(y + n - 4);
    }
    for (std::size_t i = 0; i < n; ++i) {
        if (x[i] != y[i]) return false;
    }
    return true;
}

template <class T>
struct fast_fields {
    mp_reader& r;
    std::uint32_t left;  // pairs of the map not read yet
    std::size_t depth;
    bool ok = true;

    template <class F>
    [[gnu::always_inline]] void operator()(std::string_view key, F& field) {
        if (!ok) return;
        mp_value k;
        if (left == 0 || !r.read(k) || k.kind != mp_kind::str || !same_key(k.raw, key)) {
            ok = false;
            return;
        }
        --left;
        ok = fast_value(r, field, depth);
    }
};

template <class T>
bool fast_value(mp_reader& r, T& out, std::size_t depth) {
    mp_value v;
    if (!r.read(v)) return false;
    if constexpr (described<T>) {
        if (v.kind != mp_kind::map || depth + 1 > limits::max_depth) return false;
        fast_fields<T> f{r, v.count, depth + 1};
        T::fields(out, f);
        return f.ok && f.left == 0;
    } else if constexpr (is_vector<T>::value) {
        if (v.kind != mp_kind::array || v.count > limits::max_array_items ||
            v.count > r.remaining()) {
            return false;
        }
        out.clear();
        out.resize(v.count);
        for (auto& item : out) {
            if (!fast_value(r, item, depth + 1)) return false;
        }
        return true;
    } else {
        return scalar(v, out);
    }
}

bool fast_event(std::string_view bytes, event& ev) {
    if (bytes.empty() || bytes.size() > limits::max_message_bytes) return false;
    mp_reader r(bytes);
    mp_value v;
    auto key = [&](std::string_view want) {
        mp_value k;
        return r.read(k) && k.kind == mp_kind::str && same_key(k.raw, want);
    };
    // v, type, the envelope's keys, data.
    if (!r.read(v) || v.kind != mp_kind::map || v.count != count_fields(ev.env) + 3) return false;
    std::uint64_t ver = 0;
    if (!key("v") || !r.read(v) || !scalar(v, ver) || ver < min_version || ver > version) {
        return false;
    }
    if (!key("type") || !r.read(v) || v.kind != mp_kind::str || !reset_by_name(ev.body, v.raw)) {
        return false;
    }
    ev.env = envelope{};
    fast_fields<envelope> f{r, count_fields(ev.env), 0};
    envelope::fields(ev.env, f);
    if (!f.ok || !key("data")) return false;
    bool ok = false;
    std::visit([&](auto& body) { ok = fast_value(r, body, 1); }, ev.body);
    return ok && r.remaining() == 0;
}

// The checked path: every key looked up by name, every error with its text.
std::optional<decode_error> decode_event_checked_impl(std::string_view bytes, event& ev) {
    map_entries m;
    std::string_view type;
    if (auto e = read_header(bytes, m, type)) return e;
    if (!reset_by_name(ev.body, type)) {
        return decode_error{"type", "unknown event type \"" + shown_type(type) + "\""};
    }
    ev.env = envelope{};
    const path_ref root{};
    if (auto e = decode_fields(m, root, ev.env, 0)) return e;
    const char* data = m.find("data");
    if (data == nullptr) return decode_error{"data", "missing required key"};
    std::optional<decode_error> err;
    std::visit(
        [&](auto& body) {
            mp_reader r(data, m.end);
            err = decode_value(r, path_ref{nullptr, "data"}, body, 1);
        },
        ev.body);
    if (err) return err;
    return check_unknown_keys(m, root, 0);
}

std::optional<decode_error> decode_event_impl(std::string_view bytes, event& ev) {
    if (fast_event(bytes, ev)) return std::nullopt;
    return decode_event_checked_impl(bytes, ev);
}

result<control_message> decode_control_impl(std::string_view bytes) {
    map_entries m;
    std::string_view type;
    if (auto e = read_header(bytes, m, type)) return *e;
    control_message msg;
    if (!reset_by_name(msg, type)) {
        return decode_error{"type", "unknown control message type \"" + shown_type(type) + "\""};
    }
    const path_ref root{};
    std::optional<decode_error> err;
    std::visit([&](auto& body) { err = decode_fields(m, root, body, 1); }, msg);
    if (err) return *err;
    if (auto e = check_unknown_keys(m, root, 0)) return *e;
    return msg;
}

}  // namespace

// ---------------------------------------------------------------- public API

template <class Body>
void encode_event(const envelope& env, const Body& body, std::string& out) {
    writer w(out);
    w.map(8);
    w.str("v");
    w.uint(version);
    w.str("type");
    w.str(Body::type_name);
    w.str("src");
    w.str(env.src);
    w.str("seq");
    w.uint(env.seq);
    w.str("ts_ns");
    w.sint(env.ts_ns);
    w.str("trace_id");
    w.uint(env.trace_id);
    w.str("inc");
    w.uint(env.inc);
    w.str("data");
    pack_value(w, body);
}

void encode_event(const event& ev, std::string& out) {
    std::visit([&](const auto& body) { encode_event(ev.env, body, out); }, ev.body);
}

template <class Msg>
void encode_control(const Msg& msg, std::string& out) {
    writer w(out);
    w.map(count_fields(msg) + 2);
    w.str("v");
    w.uint(version);
    w.str("type");
    w.str(Msg::type_name);
    pack_fields(w, msg);
}

void encode_control(const control_message& msg, std::string& out) {
    std::visit([&](const auto& m) { encode_control(m, out); }, msg);
}

std::string_view type_name(const control_message& msg) {
    return std::visit([](const auto& m) { return std::decay_t<decltype(m)>::type_name; }, msg);
}

std::string_view error_code_for(const decode_error& e) noexcept {
    if (e.key == "v") return error_code::unsupported_version;
    // A str `type` that names nothing ("unknown control message type ..."); a missing or
    // non-str `type` is a malformed request like any other.
    if (e.key == "type" && e.reason.starts_with("unknown")) return error_code::unknown_type;
    return error_code::bad_request;
}

result<event> decode_event(std::string_view bytes) {
    event ev;
    if (auto e = decode_event(bytes, ev)) return std::move(*e);
    return ev;
}

std::optional<decode_error> decode_event(std::string_view bytes, event& out) {
    try {
        return decode_event_impl(bytes, out);
    } catch (const std::bad_alloc&) {
        return decode_error{"", "out of memory while decoding"};
    }
}

result<event> detail::decode_event_checked(std::string_view bytes) {
    event ev;
    if (auto e = decode_event_checked_impl(bytes, ev)) return std::move(*e);
    return ev;
}

result<control_message> decode_control(std::string_view bytes) {
    try {
        return decode_control_impl(bytes);
    } catch (const std::bad_alloc&) {
        return decode_error{"", "out of memory while decoding"};
    }
}

// Explicit instantiations: every payload and control alternative (codec.hpp templates).
#define TRADEBUS_EVENT(T) template void encode_event<T>(const envelope&, const T&, std::string&);
#define TRADEBUS_CONTROL(T) template void encode_control<T>(const T&, std::string&);
TRADEBUS_EVENT(tick)
TRADEBUS_EVENT(bar)
TRADEBUS_EVENT(signal)
TRADEBUS_EVENT(order)
TRADEBUS_EVENT(order_rejected)
TRADEBUS_EVENT(order_ack)
TRADEBUS_EVENT(fill)
TRADEBUS_EVENT(exec_reject)
TRADEBUS_EVENT(position)
TRADEBUS_EVENT(risk_snapshot)
TRADEBUS_EVENT(node_health)
TRADEBUS_EVENT(node_registered)
TRADEBUS_EVENT(broker_started)
TRADEBUS_EVENT(trading_state_changed)
TRADEBUS_EVENT(probe)
TRADEBUS_EVENT(acl_violation)
TRADEBUS_EVENT(order_cancelled)
TRADEBUS_EVENT(order_expired)
TRADEBUS_EVENT(cancel_request)
TRADEBUS_EVENT(cancel_reject)
TRADEBUS_EVENT(cancel_done)
TRADEBUS_EVENT(risk_limits)
TRADEBUS_EVENT(recorder_gap)
TRADEBUS_EVENT(flatten_request)
TRADEBUS_EVENT(flatten_done)
TRADEBUS_EVENT(exec_snapshot)
TRADEBUS_CONTROL(register_request)
TRADEBUS_CONTROL(register_reply)
TRADEBUS_CONTROL(heartbeat_request)
TRADEBUS_CONTROL(heartbeat_reply)
TRADEBUS_CONTROL(deregister_request)
TRADEBUS_CONTROL(ok_reply)
TRADEBUS_CONTROL(status_request)
TRADEBUS_CONTROL(status_reply)
TRADEBUS_CONTROL(halt_request)
TRADEBUS_CONTROL(resume_request)
TRADEBUS_CONTROL(error_reply)
TRADEBUS_CONTROL(snapshot_request)
TRADEBUS_CONTROL(snapshot_reply)
TRADEBUS_CONTROL(announce_request)
TRADEBUS_CONTROL(lookup_request)
TRADEBUS_CONTROL(lookup_reply)
TRADEBUS_CONTROL(services_request)
TRADEBUS_CONTROL(services_reply)
TRADEBUS_CONTROL(journal_query)
TRADEBUS_CONTROL(journal_query_reply)
TRADEBUS_CONTROL(cancel_command)
TRADEBUS_CONTROL(recorder_ack)
TRADEBUS_CONTROL(recorder_resume)
TRADEBUS_CONTROL(recorder_resume_reply)
TRADEBUS_CONTROL(flatten_command)
#undef TRADEBUS_EVENT
#undef TRADEBUS_CONTROL

}  // namespace tradebus::schema
