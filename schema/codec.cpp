// The codec: one generic encoder and one validating decoder driven by each type's fields()
// list (events.hpp, control.hpp). Encoding uses msgpack-cxx's packer; decoding uses our own
// bounded reader (msgpack_reader.hpp) so that no input can make it throw, crash, or allocate
// by a length it merely claims.
#include "tradebus/schema/codec.hpp"

#include <array>
#include <bit>
#include <concepts>
#include <limits>
#include <msgpack.hpp>
#include <new>
#include <type_traits>

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

struct string_sink {
    std::string* out;
    void write(const char* p, std::size_t n) { out->append(p, n); }
};
using packer = msgpack::packer<string_sink>;

// The packer plus its sink, for the few values written without msgpack-c (pack_f64).
struct encoder {
    explicit encoder(std::string& out) : sink{&out}, pk(sink) {}
    string_sink sink;
    packer pk;
};

// Float fields are always float 64 on the wire (PROTOCOL.md "Numbers"). msgpack-c 4.x's
// pack_double writes integral values as ints instead (1.0 -> 0x01, -0.0 -> 0x00: the sign is
// lost) and casts 2^64 to uint64_t on the way, which is undefined behaviour.
void pack_f64(encoder& e, double value) {
    const auto bits = std::bit_cast<std::uint64_t>(value);
    std::array<char, 9> buf{};
    buf[0] = static_cast<char>(0xcb);
    for (std::size_t k = 0; k < 8; ++k) {
        buf[k + 1] = static_cast<char>((bits >> (56 - 8 * k)) & 0xffu);
    }
    e.sink.write(buf.data(), buf.size());
}

void pack_str(packer& pk, std::string_view s) {
    pk.pack_str(static_cast<std::uint32_t>(s.size()));
    pk.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
}

struct key_counter {
    std::uint32_t n = 0;
    template <class F>
    void operator()(std::string_view, const F&) {
        ++n;
    }
};

template <class T>
void pack_value(encoder& e, const T& value);

struct field_packer {
    encoder& e;
    template <class F>
    void operator()(std::string_view key, const F& value) {
        pack_str(e.pk, key);
        pack_value(e, value);
    }
};

template <class T>
void pack_fields(encoder& e, const T& value) {
    field_packer fp{e};
    T::fields(value, fp);
}

template <class T>
std::uint32_t count_fields(const T& value) {
    key_counter c;
    T::fields(value, c);
    return c.n;
}

template <class T>
void pack_value(encoder& e, const T& value) {
    packer& pk = e.pk;
    if constexpr (std::is_same_v<T, std::string>) {
        pack_str(pk, value);
    } else if constexpr (std::is_same_v<T, bool>) {
        value ? pk.pack_true() : pk.pack_false();
    } else if constexpr (std::is_same_v<T, double>) {
        pack_f64(e, value);
    } else if constexpr (std::is_same_v<T, std::int64_t>) {
        pk.pack_int64(value);  // smallest msgpack int format that holds the value
    } else if constexpr (std::is_same_v<T, std::uint64_t>) {
        pk.pack_uint64(value);
    } else if constexpr (wire_enum<T>) {
        pack_str(pk, to_string(value));
    } else if constexpr (is_vector<T>::value) {
        pk.pack_array(static_cast<std::uint32_t>(value.size()));
        for (const auto& item : value) pack_value(e, item);
    } else {
        static_assert(described<T>, "field type has no wire encoding");
        pk.pack_map(count_fields(value));
        pack_fields(e, value);
    }
}

// ---------------------------------------------------------------- decoding

// One parsed map: its keys and where each value starts. Bounded by limits::max_map_keys.
struct map_entries {
    std::array<std::string_view, limits::max_map_keys> keys;
    std::array<const char*, limits::max_map_keys> values{};
    mutable std::array<bool, limits::max_map_keys> used{};  // looked up by a decoder
    std::size_t size = 0;
    const char* end = nullptr;  // end of the whole input

    [[nodiscard]] const char* find(std::string_view key) const {
        for (std::size_t k = 0; k < size; ++k) {
            if (keys[k] == key) {
                used[k] = true;
                return values[k];
            }
        }
        return nullptr;
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
std::optional<decode_error> check_unknown_keys(const map_entries& m, const std::string& path,
                                               std::size_t depth) {
    for (std::size_t k = 0; k < m.size; ++k) {
        if (m.used[k]) continue;
        mp_reader r(m.values[k], m.end);
        if (auto e = check_unknown(r, limits::max_depth - std::min(depth, limits::max_depth))) {
            return decode_error{join(join(path, m.keys[k]), e->key), std::move(e->reason)};
        }
    }
    return std::nullopt;
}

// Reads the map at `r` into `out`, checking every key and skipping (so validating the framing
// of) every value; nullopt on success.
std::optional<decode_error> read_map(mp_reader& r, const std::string& path, map_entries& out,
                                     std::size_t depth) {
    mp_value v;
    if (!r.read(v)) return decode_error{path, "truncated or invalid msgpack"};
    if (v.kind != mp_kind::map) return decode_error{path, "expected map, " + got(v)};
    if (auto why = over_limit(v)) return decode_error{path, std::move(*why)};
    out.size = 0;
    out.end = r.end();
    for (std::uint32_t k = 0; k < v.count; ++k) {
        mp_value key;
        if (!r.read(key))
            return decode_error{path, "truncated map (key " + std::to_string(k) + ")"};
        if (key.kind != mp_kind::str) {
            return decode_error{path,
                                "map key " + std::to_string(k) + " is not a str, " + got(key)};
        }
        // Checked before the key is used in any error path: decode_error text is always
        // valid UTF-8 and bounded, so callers can log it or put it in JSON as is.
        if (key.raw.size() > limits::max_string_bytes) {
            return decode_error{path, "map key " + std::to_string(k) + " of " +
                                          std::to_string(key.raw.size()) + " bytes, limit " +
                                          std::to_string(limits::max_string_bytes)};
        }
        if (!valid_utf8(key.raw)) {
            return decode_error{path, "map key " + std::to_string(k) + " is not valid UTF-8"};
        }
        if (out.find(key.raw) != nullptr) {
            return decode_error{join(path, key.raw), "duplicate key"};
        }
        out.keys[out.size] = key.raw;
        out.values[out.size] = r.position();
        ++out.size;
        if (!r.skip(limits::max_depth - std::min(depth, limits::max_depth))) {
            return decode_error{join(path, key.raw),
                                "truncated, invalid or too deeply nested value"};
        }
    }
    return std::nullopt;
}

template <class T>
std::optional<decode_error> decode_value(mp_reader& r, const std::string& path, T& out,
                                         std::size_t depth);

template <class T>
std::optional<decode_error> decode_fields(const map_entries& m, const std::string& path, T& out,
                                          std::size_t depth);

template <class T>
std::optional<decode_error> decode_value(mp_reader& r, const std::string& path, T& out,
                                         std::size_t depth) {
    if constexpr (described<T>) {
        map_entries m;
        if (auto e = read_map(r, path, m, depth)) return e;
        if (auto e = decode_fields(m, path, out, depth + 1)) return e;
        return check_unknown_keys(m, path, depth);
    } else {
        mp_value v;
        if (!r.read(v)) return decode_error{path, "truncated or invalid msgpack"};
        if constexpr (std::is_same_v<T, std::string>) {
            if (v.kind != mp_kind::str) return decode_error{path, "expected str, " + got(v)};
            if (auto why = over_limit(v)) return decode_error{path, std::move(*why)};
            out.assign(v.raw);
        } else if constexpr (std::is_same_v<T, bool>) {
            if (v.kind != mp_kind::boolean) return decode_error{path, "expected bool, " + got(v)};
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
                return decode_error{path, "expected float, " + got(v)};
            }
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
            if (v.kind == mp_kind::sint) {
                out = v.i;
            } else if (v.kind == mp_kind::uint) {
                if (v.u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
                    return decode_error{path, "int out of range for int64"};
                }
                out = static_cast<std::int64_t>(v.u);
            } else {
                return decode_error{path, "expected int, " + got(v)};
            }
        } else if constexpr (std::is_same_v<T, std::uint64_t>) {
            if (v.kind == mp_kind::sint)
                return decode_error{path, "expected unsigned int, got negative int"};
            if (v.kind != mp_kind::uint)
                return decode_error{path, "expected unsigned int, " + got(v)};
            out = v.u;
        } else if constexpr (wire_enum<T>) {
            if (v.kind != mp_kind::str) return decode_error{path, "expected str, " + got(v)};
            const auto parsed = parse_enum<T>(v.raw);
            if (!parsed) {
                std::string allowed;
                for (auto n : enum_names<T>::names) {
                    if (!allowed.empty()) allowed += '|';
                    allowed += n;
                }
                std::string shown(v.raw.substr(0, 32));
                if (!valid_utf8(shown)) shown = "<not UTF-8>";
                return decode_error{path, "expected one of " + allowed + ", got \"" + shown + "\""};
            }
            out = *parsed;
        } else if constexpr (is_vector<T>::value) {
            if (v.kind != mp_kind::array) return decode_error{path, "expected array, " + got(v)};
            if (auto why = over_limit(v)) return decode_error{path, std::move(*why)};
            if (v.count > r.remaining()) {  // every item takes at least one byte
                return decode_error{path, "array claims " + std::to_string(v.count) +
                                              " items but only " + std::to_string(r.remaining()) +
                                              " bytes follow"};
            }
            out.clear();
            out.reserve(v.count);
            for (std::uint32_t k = 0; k < v.count; ++k) {
                auto& item = out.emplace_back();
                if (auto e =
                        decode_value(r, path + "[" + std::to_string(k) + "]", item, depth + 1)) {
                    return e;
                }
            }
        } else {
            static_assert(sizeof(T) == 0, "field type has no wire decoding");
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
    const map_entries& m;
    const std::string& path;
    std::size_t depth;
    std::optional<decode_error> error;

    template <class F>
    void operator()(std::string_view key, F& field) {
        if (error) return;
        const char* at = m.find(key);
        if (at == nullptr) {
            if (!may_be_absent<T>(key))
                error = decode_error{join(path, key), "missing required key"};
            return;
        }
        mp_reader r(at, m.end);
        error = decode_value(r, join(path, key), field, depth);
    }
};

template <class T>
std::optional<decode_error> decode_fields(const map_entries& m, const std::string& path, T& out,
                                          std::size_t depth) {
    if (depth > limits::max_depth) return decode_error{path, "nesting too deep"};
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
    if (auto e = read_map(r, "", m, 0)) return e;
    if (r.remaining() != 0) {
        return decode_error{"",
                            std::to_string(r.remaining()) + " trailing bytes after the message"};
    }
    std::uint64_t v = 0;
    const char* at = m.find("v");
    if (at == nullptr) return decode_error{"v", "missing required key"};
    {
        mp_reader vr(at, m.end);
        if (auto e = decode_value(vr, "v", v, 0)) return e;
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

// Finds the variant alternative whose type_name matches and default-constructs it.
template <class Variant, std::size_t I = 0>
bool emplace_by_name(Variant& v, std::string_view name) {
    if constexpr (I < std::variant_size_v<Variant>) {
        using Alt = std::variant_alternative_t<I, Variant>;
        if (Alt::type_name == name) {
            v.template emplace<I>();
            return true;
        }
        return emplace_by_name<Variant, I + 1>(v, name);
    } else {
        return false;
    }
}

result<event> decode_event_impl(std::string_view bytes) {
    map_entries m;
    std::string_view type;
    if (auto e = read_header(bytes, m, type)) return *e;
    event ev;
    if (!emplace_by_name(ev.body, type)) {
        return decode_error{"type", "unknown event type \"" + shown_type(type) + "\""};
    }
    if (auto e = decode_fields(m, "", ev.env, 0)) return *e;
    const char* data = m.find("data");
    if (data == nullptr) return decode_error{"data", "missing required key"};
    std::optional<decode_error> err;
    std::visit(
        [&](auto& body) {
            mp_reader r(data, m.end);
            err = decode_value(r, "data", body, 1);
        },
        ev.body);
    if (err) return *err;
    if (auto e = check_unknown_keys(m, "", 0)) return *e;
    return ev;
}

result<control_message> decode_control_impl(std::string_view bytes) {
    map_entries m;
    std::string_view type;
    if (auto e = read_header(bytes, m, type)) return *e;
    control_message msg;
    if (!emplace_by_name(msg, type)) {
        return decode_error{"type", "unknown control message type \"" + shown_type(type) + "\""};
    }
    std::optional<decode_error> err;
    std::visit([&](auto& body) { err = decode_fields(m, "", body, 1); }, msg);
    if (err) return *err;
    if (auto e = check_unknown_keys(m, "", 0)) return *e;
    return msg;
}

}  // namespace

// ---------------------------------------------------------------- public API

template <class Body>
void encode_event(const envelope& env, const Body& body, std::string& out) {
    out.clear();
    encoder e(out);
    packer& pk = e.pk;
    pk.pack_map(8);
    pack_str(pk, "v");
    pk.pack_uint64(version);
    pack_str(pk, "type");
    pack_str(pk, Body::type_name);
    pack_str(pk, "src");
    pack_str(pk, env.src);
    pack_str(pk, "seq");
    pk.pack_uint64(env.seq);
    pack_str(pk, "ts_ns");
    pk.pack_int64(env.ts_ns);
    pack_str(pk, "trace_id");
    pk.pack_uint64(env.trace_id);
    pack_str(pk, "inc");
    pk.pack_uint64(env.inc);
    pack_str(pk, "data");
    pack_value(e, body);
}

void encode_event(const event& ev, std::string& out) {
    std::visit([&](const auto& body) { encode_event(ev.env, body, out); }, ev.body);
}

template <class Msg>
void encode_control(const Msg& msg, std::string& out) {
    out.clear();
    encoder e(out);
    packer& pk = e.pk;
    pk.pack_map(count_fields(msg) + 2);
    pack_str(pk, "v");
    pk.pack_uint64(version);
    pack_str(pk, "type");
    pack_str(pk, Msg::type_name);
    pack_fields(e, msg);
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
    try {
        return decode_event_impl(bytes);
    } catch (const std::bad_alloc&) {
        return decode_error{"", "out of memory while decoding"};
    }
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
