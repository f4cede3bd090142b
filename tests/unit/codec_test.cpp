// Codec tests (schema/codec.cpp): every event and control message round trips with every field
// set; the encoder's bytes equal an independent msgpack-c encoding of the documented layout;
// bad input comes back as a decode_error naming the key. Bad-input tables hold one row per
// case (bytes, expected key, expected reason substring), some hand-written in hex, some built
// by editing a valid message (see `doc`), some generated for every key of every message.
#ifndef MSGPACK_NO_BOOST
#define MSGPACK_NO_BOOST
#endif
#include "tradebus/schema/codec.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <msgpack.hpp>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "schema_samples.hpp"
#include "tradebus/schema/utf8.hpp"

using namespace tradebus::schema;

namespace {

// ------------------------------------------------------------------ bytes and msgpack-c

std::string from_hex(std::string_view text) {
    std::string out;
    int high = -1;
    for (const char c : text) {
        int nibble = 0;
        if (c >= '0' && c <= '9') {
            nibble = c - '0';
        } else if (c >= 'a' && c <= 'f') {
            nibble = c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
            nibble = c - 'A' + 10;
        } else {
            continue;  // spaces and separators
        }
        if (high < 0) {
            high = nibble;
        } else {
            out.push_back(static_cast<char>(high * 16 + nibble));
            high = -1;
        }
    }
    return out;
}

std::string to_hex(std::string_view bytes, std::size_t max_bytes = 96) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (std::size_t k = 0; k < bytes.size() && k < max_bytes; ++k) {
        const auto b = static_cast<unsigned char>(bytes[k]);
        if (k != 0) out.push_back(' ');
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 0x0f]);
    }
    if (bytes.size() > max_bytes) out += " ... (" + std::to_string(bytes.size()) + " bytes)";
    return out;
}

std::string lines(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) out += item + "\n";
    return out;
}

bool contains(std::string_view haystack, std::string_view needle) {
    return haystack.find(needle) != std::string_view::npos;
}

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

std::string mp_str(std::string_view s) {
    return packed([&](packer& pk) {
        pk.pack_str(u32(s.size()));
        pk.pack_str_body(s.data(), u32(s.size()));
    });
}
std::string mp_bin(std::string_view s) {
    return packed([&](packer& pk) {
        pk.pack_bin(u32(s.size()));
        pk.pack_bin_body(s.data(), u32(s.size()));
    });
}
std::string mp_uint(std::uint64_t v) {
    return packed([&](packer& pk) { pk.pack_uint64(v); });
}
std::string mp_int(std::int64_t v) {
    return packed([&](packer& pk) { pk.pack_int64(v); });
}
// Floats by hand: msgpack-c 4.x's pack_double/pack_float write integral values as ints.
template <class U>
std::string big_endian(unsigned char format, U bits) {
    std::string out(1, static_cast<char>(format));
    for (std::size_t k = sizeof(U); k-- > 0;)
        out.push_back(static_cast<char>((bits >> (8 * k)) & 0xffu));
    return out;
}
std::string mp_float(double v) { return big_endian(0xcb, std::bit_cast<std::uint64_t>(v)); }
std::string mp_float32(float v) { return big_endian(0xca, std::bit_cast<std::uint32_t>(v)); }
std::string mp_bool(bool v) {
    return packed([&](packer& pk) { v ? pk.pack_true() : pk.pack_false(); });
}
std::string mp_nil() {
    return packed([](packer& pk) { pk.pack_nil(); });
}
std::string mp_array(const std::vector<std::string>& items) {
    std::string out = packed([&](packer& pk) { pk.pack_array(u32(items.size())); });
    for (const auto& item : items) out += item;
    return out;
}
std::string mp_map(const std::vector<std::pair<std::string, std::string>>& entries) {
    std::string out = packed([&](packer& pk) { pk.pack_map(u32(entries.size())); });
    for (const auto& [key, value] : entries) out += mp_str(key) + value;
    return out;
}
std::string mp_ext(std::int8_t type, std::string_view data) {
    return packed([&](packer& pk) {
        pk.pack_ext(data.size(), type);
        pk.pack_ext_body(data.data(), u32(data.size()));
    });
}
std::string repeat(std::string_view unit, std::size_t n) {
    std::string out;
    out.reserve(unit.size() * n);
    for (std::size_t k = 0; k < n; ++k) out.append(unit);
    return out;
}

// ------------------------------------------------------------------ fields() reflection

struct field_probe {
    template <class F>
    void operator()(std::string_view, const F&) {}
};
template <class T>
concept described = requires(const T& t, field_probe& p) {
    T::fields(t, p);
};
template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};

std::string join(const std::string& path, std::string_view key) {
    if (path.empty()) return std::string(key);
    return path + "." + std::string(key);
}

// "key=value" lines for every leaf, independent of the codec: the equality used by round trips
// (doctest prints both sides when they differ).
template <class T>
void render_into(const T& value, const std::string& path, std::string& out);

struct render_visitor {
    const std::string* path;
    std::string* out;
    template <class F>
    void operator()(std::string_view key, const F& value) {
        render_into(value, join(*path, key), *out);
    }
};

template <class T>
void render_into(const T& value, const std::string& path, std::string& out) {
    if constexpr (described<T>) {
        render_visitor v{&path, &out};
        T::fields(value, v);
    } else if constexpr (is_vector<T>::value) {
        out += path + ".size=" + std::to_string(value.size()) + "\n";
        for (std::size_t k = 0; k < value.size(); ++k) {
            render_into(value[k], path + "[" + std::to_string(k) + "]", out);
        }
    } else if constexpr (std::is_same_v<T, std::string>) {
        out += path + "=\"" + value + "\"\n";
    } else if constexpr (std::is_same_v<T, bool>) {
        out += path + (value ? "=true\n" : "=false\n");
    } else if constexpr (std::is_same_v<T, double>) {
        char buf[64];
        const auto res = std::to_chars(buf, buf + sizeof buf, value);
        out += path + "=" + std::string(buf, res.ptr) + "\n";
    } else if constexpr (std::is_enum_v<T>) {
        out += path + "=" + std::string(to_string(value)) + "\n";
    } else {
        static_assert(std::is_integral_v<T>);
        out += path + "=" + std::to_string(value) + "\n";
    }
}

template <class T>
std::string render(const T& value) {
    std::string out;
    render_into(value, "", out);
    return out;
}

// Paths of fields whose value equals the type's default (vectors: empty). Walks the sample and
// a default-constructed value side by side through fields().
template <class T>
void find_defaults(const T& value, const T& dflt, const std::string& path,
                   std::vector<std::string>& out);

struct address_collector {
    std::vector<const void*> addresses;
    template <class F>
    void operator()(std::string_view, const F& value) {
        addresses.push_back(&value);
    }
};

struct default_walker {
    const std::vector<const void*>* defaults;
    std::size_t next;
    const std::string* path;
    std::vector<std::string>* out;
    template <class F>
    void operator()(std::string_view key, const F& value) {
        const auto* dflt = static_cast<const F*>(defaults->at(next++));
        find_defaults(value, *dflt, join(*path, key), *out);
    }
};

template <class T>
void find_defaults(const T& value, const T& dflt, const std::string& path,
                   std::vector<std::string>& out) {
    if constexpr (described<T>) {
        address_collector c;
        T::fields(dflt, c);
        default_walker w{&c.addresses, 0, &path, &out};
        T::fields(value, w);
    } else if constexpr (is_vector<T>::value) {
        if (value.empty()) out.push_back(path + " (empty)");
        for (std::size_t k = 0; k < value.size(); ++k) {
            find_defaults(value[k], typename T::value_type{}, path + "[" + std::to_string(k) + "]",
                          out);
        }
    } else {
        if (value == dflt) out.push_back(path);
    }
}

template <class T>
std::vector<std::string> fields_left_default(const T& value) {
    std::vector<std::string> out;
    find_defaults(value, T{}, "", out);
    return out;
}

template <class T>
T sample() {
    return samples::make(std::type_identity<T>{});
}

// ------------------------------------------------------------------ doc: editable messages

// What a leaf's C++ field expects on the wire; picks the wrong values to try in its place.
enum class wire : std::uint8_t { str, sint, uint, f64, boolean, enumeration, array, map };

// A message as an ordered tree of maps and arrays over already-packed leaves. Built from a
// typed value through fields() (so it covers every key), edited by path, then packed with
// msgpack-c: an encoding independent of the codec's own.
struct doc {
    wire type = wire::map;
    std::string leaf;                                  // packed bytes, for leaves
    std::vector<std::pair<std::string, doc>> entries;  // map, in order
    std::vector<doc> items;                            // array

    void pack_into(std::string& out) const {
        if (type == wire::map) {
            out += packed([&](packer& pk) { pk.pack_map(u32(entries.size())); });
            for (const auto& [key, value] : entries) {
                out += mp_str(key);
                value.pack_into(out);
            }
        } else if (type == wire::array) {
            out += packed([&](packer& pk) { pk.pack_array(u32(items.size())); });
            for (const auto& item : items) item.pack_into(out);
        } else {
            out += leaf;
        }
    }
    [[nodiscard]] std::string pack() const {
        std::string out;
        pack_into(out);
        return out;
    }
    static doc raw(std::string bytes, wire t = wire::str) {
        doc d;
        d.type = t;
        d.leaf = std::move(bytes);
        return d;
    }
};

template <class T>
doc to_doc(const T& value);

struct doc_builder {
    doc* d;
    template <class F>
    void operator()(std::string_view key, const F& value) {
        d->entries.emplace_back(std::string(key), to_doc(value));
    }
};

template <class T>
doc to_doc(const T& value) {
    if constexpr (described<T>) {
        doc d;
        doc_builder b{&d};
        T::fields(value, b);
        return d;
    } else if constexpr (is_vector<T>::value) {
        doc d;
        d.type = wire::array;
        for (const auto& item : value) d.items.push_back(to_doc(item));
        return d;
    } else if constexpr (std::is_same_v<T, std::string>) {
        return doc::raw(mp_str(value), wire::str);
    } else if constexpr (std::is_same_v<T, bool>) {
        return doc::raw(mp_bool(value), wire::boolean);
    } else if constexpr (std::is_same_v<T, double>) {
        return doc::raw(mp_float(value), wire::f64);
    } else if constexpr (std::is_same_v<T, std::int64_t>) {
        return doc::raw(mp_int(value), wire::sint);
    } else if constexpr (std::is_same_v<T, std::uint64_t>) {
        return doc::raw(mp_uint(value), wire::uint);
    } else {
        static_assert(std::is_enum_v<T>);
        return doc::raw(mp_str(to_string(value)), wire::enumeration);
    }
}

template <class Body>
doc event_doc(const envelope& env, const Body& body) {
    doc d;
    d.entries.emplace_back("v", doc::raw(mp_uint(version), wire::uint));
    d.entries.emplace_back("type", doc::raw(mp_str(Body::type_name)));
    doc_builder b{&d};
    envelope::fields(env, b);
    d.entries.emplace_back("data", to_doc(body));
    return d;
}

template <class Msg>
doc control_doc(const Msg& msg) {
    doc d;
    d.entries.emplace_back("v", doc::raw(mp_uint(version), wire::uint));
    d.entries.emplace_back("type", doc::raw(mp_str(Msg::type_name)));
    doc_builder b{&d};
    Msg::fields(msg, b);
    return d;
}

// A path is "data.nodes[1].counters.gaps": map keys joined by '.', array indexes in [].
using step = std::variant<std::string, std::size_t>;
std::vector<step> parse_path(std::string_view path) {
    std::vector<step> out;
    std::string name;
    for (std::size_t k = 0; k < path.size(); ++k) {
        const char c = path[k];
        if (c == '.' || c == '[') {
            if (!name.empty()) out.emplace_back(std::move(name));
            name.clear();
            if (c == '[') {
                const auto close = path.find(']', k);
                out.emplace_back(static_cast<std::size_t>(
                    std::stoul(std::string(path.substr(k + 1, close - k - 1)))));
                k = close;
            }
        } else {
            name.push_back(c);
        }
    }
    if (!name.empty()) out.emplace_back(std::move(name));
    return out;
}

doc* child(doc& d, const step& s) {
    if (const auto* key = std::get_if<std::string>(&s)) {
        if (d.type != wire::map) return nullptr;
        for (auto& [k, v] : d.entries) {
            if (k == *key) return &v;
        }
        return nullptr;
    }
    const auto index = std::get<std::size_t>(s);
    if (d.type != wire::array || index >= d.items.size()) return nullptr;
    return &d.items[index];
}

enum class op : std::uint8_t { set, erase, append };
struct edit {
    op what;
    std::string path;
    std::string bytes;  // packed value for set/append
};
edit set(std::string path, std::string bytes) {
    return {op::set, std::move(path), std::move(bytes)};
}
edit erase(std::string path) { return {op::erase, std::move(path), {}}; }
edit append(std::string path, std::string bytes) {
    return {op::append, std::move(path), std::move(bytes)};
}

// Applies `e`: set replaces the value (or adds the key when absent), erase removes the key,
// append adds the key again even when present (duplicates). False when the path is bad.
bool apply(doc& root, const edit& e) {
    const auto steps = parse_path(e.path);
    if (steps.empty()) return false;
    doc* parent = &root;
    for (std::size_t k = 0; k + 1 < steps.size(); ++k) {
        parent = child(*parent, steps[k]);
        if (parent == nullptr) return false;
    }
    const auto& last = steps.back();
    if (std::holds_alternative<std::size_t>(last)) {
        doc* item = child(*parent, last);
        if (item == nullptr || e.what != op::set) return false;
        *item = doc::raw(e.bytes);
        return true;
    }
    const auto& key = std::get<std::string>(last);
    if (parent->type != wire::map) return false;
    auto& entries = parent->entries;
    auto it = std::find_if(entries.begin(), entries.end(),
                           [&](const auto& entry) { return entry.first == key; });
    switch (e.what) {
        case op::set:
            if (it != entries.end()) {
                it->second = doc::raw(e.bytes);
            } else {
                entries.emplace_back(key, doc::raw(e.bytes));
            }
            return true;
        case op::erase:
            if (it == entries.end()) return false;
            entries.erase(it);
            return true;
        case op::append:
            entries.emplace_back(key, doc::raw(e.bytes));
            return true;
    }
    return false;
}

std::string edited(doc d, const std::vector<edit>& edits) {
    for (const auto& e : edits) {
        INFO("edit path: ", e.path);
        REQUIRE(apply(d, e));
    }
    return d.pack();
}

template <class Body>
std::string event_with(const Body& body, const std::vector<edit>& edits) {
    return edited(event_doc(samples::sample_envelope(), body), edits);
}
template <class Msg>
std::string control_with(const Msg& msg, const std::vector<edit>& edits) {
    return edited(control_doc(msg), edits);
}

// Every path in `d` (maps' keys and arrays' items, depth first) with its wire type.
void collect_paths(const doc& d, const std::string& path,
                   std::vector<std::pair<std::string, wire>>& out) {
    if (!path.empty()) out.emplace_back(path, d.type);
    if (d.type == wire::map) {
        for (const auto& [key, value] : d.entries) collect_paths(value, join(path, key), out);
    } else if (d.type == wire::array) {
        for (std::size_t k = 0; k < d.items.size(); ++k) {
            collect_paths(d.items[k], path + "[" + std::to_string(k) + "]", out);
        }
    }
}

// ------------------------------------------------------------------ bad-input tables

enum class decoder : std::uint8_t { event, control };

constexpr std::string_view any_key = "<any>";
// What decode_* says when an allocation failed (codec.cpp): a row hitting it trusted a length.
constexpr std::string_view oom_reason = "out of memory while decoding";

struct bad_input {
    std::string name;
    std::string bytes;
    std::string key;     // decode_error::key, exactly; any_key: not checked
    std::string reason;  // substring of decode_error::reason
    decoder via = decoder::event;
};

std::optional<decode_error> error_of(std::string_view bytes, decoder via) {
    if (via == decoder::event) {
        auto r = decode_event(bytes);
        if (r.ok()) return std::nullopt;
        return r.error();
    }
    auto r = decode_control(bytes);
    if (r.ok()) return std::nullopt;
    return r.error();
}

void check_rejected(const std::vector<bad_input>& rows) {
    REQUIRE_FALSE(rows.empty());
    for (const auto& row : rows) {
        INFO("row: ", row.name);
        INFO("bytes: ", to_hex(row.bytes));
        const auto err = error_of(row.bytes, row.via);
        if (!err) {
            FAIL_CHECK("decoded, but should have been rejected");
            continue;
        }
        if (row.key != any_key) CHECK(err->key == row.key);
        CHECK_MESSAGE(contains(err->reason, row.reason), "reason was: ", err->reason);
        // Rejected by a check, not by running out of memory trying.
        CHECK(err->reason != oom_reason);
        CHECK(valid_utf8(err->to_string()));
    }
}

void check_accepted(const std::string& name, const std::string& bytes, decoder via) {
    INFO("row: ", name);
    INFO("bytes: ", to_hex(bytes));
    const auto err = error_of(bytes, via);
    CHECK_MESSAGE(!err.has_value(), "rejected: ", err ? err->to_string() : std::string());
}

template <class Fn>
void for_each_event_sample(Fn&& fn) {
    for (const payload& body : samples::all_samples<payload>()) {
        std::visit(fn, body);
    }
}
template <class Fn>
void for_each_control_sample(Fn&& fn) {
    for (const control_message& msg : samples::all_samples<control_message>()) {
        std::visit(fn, msg);
    }
}

// Wrong values for a field of wire type `t`, each with the reason substring it must produce.
std::vector<std::pair<std::string, std::string>> wrong_values(wire t) {
    switch (t) {
        case wire::str:
            return {{mp_uint(7), "expected str, got unsigned int"},
                    {mp_int(-7), "expected str, got negative int"},
                    {mp_nil(), "expected str, got nil"},
                    {mp_bin("AAPL"), "expected str, got bin"},
                    {mp_bool(true), "expected str, got bool"},
                    {mp_array({}), "expected str, got array"},
                    {mp_map({}), "expected str, got map"},
                    {mp_ext(1, "x"), "expected str, got ext"}};
        case wire::sint:
            return {{mp_str("100"), "expected int, got str"},
                    {mp_float(1.0), "expected int, got float"},
                    {mp_float32(1.0f), "expected int, got float"},
                    {mp_nil(), "expected int, got nil"},
                    {mp_bool(false), "expected int, got bool"},
                    {mp_uint(std::numeric_limits<std::uint64_t>::max()), "out of range for int64"},
                    {mp_uint(std::uint64_t{1} << 63), "out of range for int64"}};
        case wire::uint:
            return {{mp_int(-1), "expected unsigned int, got negative int"},
                    {mp_int(std::numeric_limits<std::int64_t>::min()),
                     "expected unsigned int, got negative int"},
                    {mp_str("1"), "expected unsigned int, got str"},
                    {mp_float(1.0), "expected unsigned int, got float"},
                    {mp_nil(), "expected unsigned int, got nil"}};
        case wire::f64:
            return {{mp_str("0.5"), "expected float, got str"},
                    {mp_bool(true), "expected float, got bool"},
                    {mp_nil(), "expected float, got nil"},
                    {mp_array({mp_float(0.5)}), "expected float, got array"}};
        case wire::boolean:
            return {{mp_uint(1), "expected bool, got unsigned int"},
                    {mp_str("true"), "expected bool, got str"},
                    {mp_nil(), "expected bool, got nil"}};
        case wire::enumeration:
            return {{mp_uint(0), "expected str, got unsigned int"},
                    {mp_nil(), "expected str, got nil"},
                    {mp_str("bogus"), "expected one of "},
                    {mp_str(""), "expected one of "}};
        case wire::array:
            return {{mp_str("x"), "expected array, got str"},
                    {mp_map({}), "expected array, got map"},
                    {mp_nil(), "expected array, got nil"}};
        case wire::map:
            return {{mp_array({}), "expected map, got array"},
                    {mp_str("{}"), "expected map, got str"},
                    {mp_nil(), "expected map, got nil"}};
    }
    return {};
}

// Rows: every path in `d` except the header keys, replaced by every wrong value for its type.
std::vector<bad_input> wrong_type_rows(const doc& d, std::string_view type, decoder via) {
    std::vector<std::pair<std::string, wire>> paths;
    collect_paths(d, "", paths);
    std::vector<bad_input> rows;
    for (const auto& [path, t] : paths) {
        if (path == "v" || path == "type") continue;  // header rules: own table
        for (const auto& [bytes, reason] : wrong_values(t)) {
            doc copy = d;
            REQUIRE(apply(copy, set(path, bytes)));
            rows.push_back({std::string(type) + " " + path + " = " + to_hex(bytes), copy.pack(),
                            path, reason, via});
        }
    }
    return rows;
}

// The keys PROTOCOL.md marks "optional on read" (a struct's optional_keys), by sample type and
// path: a record without them decodes (tested on its own below).
constexpr std::pair<std::string_view, std::string_view> optional_paths[] = {
    {"position", "data.last_fill_id"},
    {"order", "data.tif"},
    {"order", "data.expire_ts_ns"},
    {"order_ack", "data.tif"},
    {"order_ack", "data.expire_ts_ns"},
    {"order_ack", "data.signal_src"},
    {"risk_snapshot", "data.positions[0].last_fill_id"},
    {"risk_snapshot", "data.working"},
    {"trading_state", "data.symbol"},
    {"trading_state", "data.strategy"},
    {"halt", "symbol"},
    {"halt", "strategy"},
    {"halt", "reduce_only"},
    {"resume", "symbol"},
    {"resume", "strategy"},
    {"status_ok", "trading_scopes"},
    {"status_ok", "recorder.seq"},
    {"status_ok", "recorder.acked"},
    {"status_ok", "recorder.retained"},
    {"status_ok", "recorder.retained_bytes"},
    {"status_ok", "recorder.evicted"},
    {"status_ok", "recorder.redelivered"},
    {"heartbeat", "counters.cpu_ms"},
    {"heartbeat", "counters.rss_bytes"},
    {"heartbeat", "counters.open_fds"},
    {"status_ok", "nodes[0].counters.cpu_ms"},
    {"status_ok", "nodes[0].counters.rss_bytes"},
    {"status_ok", "nodes[0].counters.open_fds"},
    {"status_ok", "nodes[1].counters.cpu_ms"},
    {"status_ok", "nodes[1].counters.rss_bytes"},
    {"status_ok", "nodes[1].counters.open_fds"},
};

bool optional_on_read(std::string_view type, std::string_view path) {
    if (path == "inc") return true;  // the envelope's, in every event type
    return std::find(std::begin(optional_paths), std::end(optional_paths), std::pair{type, path}) !=
           std::end(optional_paths);
}

// Rows: every map key at every depth removed in turn (but the optional ones).
std::vector<bad_input> missing_key_rows(const doc& d, std::string_view type, decoder via) {
    std::vector<std::pair<std::string, wire>> paths;
    collect_paths(d, "", paths);
    std::vector<bad_input> rows;
    for (const auto& [path, t] : paths) {
        if (path.back() == ']') continue;  // array items are not keys
        if (optional_on_read(type, path)) continue;
        doc copy = d;
        REQUIRE(apply(copy, erase(path)));
        rows.push_back({std::string(type) + " without " + path, copy.pack(), path,
                        "missing required key", via});
    }
    return rows;
}

}  // namespace

// ================================================================== round trips

TEST_CASE("codec: every event type round trips with every field set") {
    const envelope env = samples::sample_envelope();
    CHECK(fields_left_default(env).empty());
    std::size_t seen = 0;
    for_each_event_sample([&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        INFO("event type: ", T::type_name);
        ++seen;
        const auto defaults = fields_left_default(body);
        CHECK_MESSAGE(defaults.empty(), "sample leaves fields at default: ", lines(defaults));

        std::string bytes;
        encode_event(env, body, bytes);
        const auto r = decode_event(bytes);
        REQUIRE_MESSAGE(r.ok(), r.error().to_string());
        CHECK(r->type_name() == T::type_name);
        REQUIRE(std::holds_alternative<T>(r->body));
        CHECK(render(r->env) == render(env));
        CHECK(render(std::get<T>(r->body)) == render(body));

        std::string again;
        encode_event(r.value(), again);  // variant overload, from the decoded value
        CHECK(to_hex(again, 4096) == to_hex(bytes, 4096));
        CHECK_FALSE(decode_control(bytes).ok());  // an event is not a control message
    });
    CHECK(seen == std::variant_size_v<payload>);
}

// The decoder's one-pass path expects the keys where the encoder puts them; every other order
// is the checked path's, and must decode to the same values.
void reverse_keys(doc& d) {
    if (d.type == wire::map) {
        std::reverse(d.entries.begin(), d.entries.end());
        for (auto& [key, value] : d.entries) reverse_keys(value);
    } else if (d.type == wire::array) {
        for (auto& item : d.items) reverse_keys(item);
    }
}

TEST_CASE("codec: every event decodes the same with its keys in reverse order") {
    const envelope env = samples::sample_envelope();
    for_each_event_sample([&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        INFO("event type: ", T::type_name);
        doc d = event_doc(env, body);
        reverse_keys(d);
        const auto r = decode_event(d.pack());
        REQUIRE_MESSAGE(r.ok(), r.error().to_string());
        REQUIRE(std::holds_alternative<T>(r->body));
        CHECK(render(r->env) == render(env));
        CHECK(render(std::get<T>(r->body)) == render(body));
    });
}

TEST_CASE("codec: decoding into a kept event leaves nothing of the message before") {
    const envelope env = samples::sample_envelope();
    event kept;
    std::string bytes;
    // Every type after every other: the kept event always equals a fresh decode.
    for (int round = 0; round < 2; ++round) {
        for_each_event_sample([&](const auto& body) {
            using T = std::decay_t<decltype(body)>;
            INFO("event type: ", T::type_name, ", round ", round);
            encode_event(env, body, bytes);
            const auto error = decode_event(bytes, kept);
            REQUIRE_MESSAGE(!error, error->to_string());
            REQUIRE(std::holds_alternative<T>(kept.body));
            CHECK(render(kept.env) == render(env));
            CHECK(render(std::get<T>(kept.body)) == render(body));
        });
    }
    // Optional keys absent after a message that had them: the defaults, not the last values.
    order o = sample<order>();
    o.tif = time_in_force::gtc;
    o.expire_ts_ns = 1'732'233'600'000'000'000;
    envelope with_inc = env;
    with_inc.inc = 77;
    encode_event(with_inc, o, bytes);
    REQUIRE_FALSE(decode_event(bytes, kept));
    REQUIRE(std::get<order>(kept.body).tif == time_in_force::gtc);
    REQUIRE(kept.env.inc == 77);
    const auto old_record =
        event_with(o, {erase("data.tif"), erase("data.expire_ts_ns"), erase("inc")});
    REQUIRE_FALSE(decode_event(old_record, kept));
    const auto& again = std::get<order>(kept.body);
    CHECK(again.tif == order{}.tif);
    CHECK(again.expire_ts_ns == 0);
    CHECK(kept.env.inc == 0);
    CHECK(again.order_id == o.order_id);
    // A failed decode reports the same error as the value-returning decoder.
    const auto bad = event_with(o, {set("data.qty", mp_str("ten"))});
    const auto error = decode_event(bad, kept);
    REQUIRE(error);
    CHECK(error->to_string() == decode_event(bad).error().to_string());
}

TEST_CASE("codec: every control message round trips with every field set") {
    std::size_t seen = 0;
    std::vector<std::string_view> names;
    for_each_control_sample([&](const auto& msg) {
        using T = std::decay_t<decltype(msg)>;
        INFO("control type: ", T::type_name);
        ++seen;
        names.push_back(T::type_name);
        const auto defaults = fields_left_default(msg);
        CHECK_MESSAGE(defaults.empty(), "sample leaves fields at default: ", lines(defaults));

        std::string bytes;
        encode_control(msg, bytes);
        const auto r = decode_control(bytes);
        REQUIRE_MESSAGE(r.ok(), r.error().to_string());
        CHECK(type_name(r.value()) == T::type_name);
        REQUIRE(std::holds_alternative<T>(r.value()));
        CHECK(render(std::get<T>(r.value())) == render(msg));

        std::string again;
        encode_control(r.value(), again);  // variant overload
        CHECK(to_hex(again, 4096) == to_hex(bytes, 4096));
        CHECK_FALSE(decode_event(bytes).ok());  // no control message is an event
    });
    CHECK(seen == std::variant_size_v<control_message>);
    std::sort(names.begin(), names.end());
    CHECK(std::adjacent_find(names.begin(), names.end()) == names.end());
}

TEST_CASE("codec: event type names are unique") {
    std::vector<std::string_view> names;
    for_each_event_sample(
        [&](const auto& body) { names.push_back(std::decay_t<decltype(body)>::type_name); });
    std::sort(names.begin(), names.end());
    CHECK(std::adjacent_find(names.begin(), names.end()) == names.end());
}

TEST_CASE("codec: the encoder writes the documented layout byte for byte") {
    // The doc is packed by msgpack-c from the fields() lists: one map, keys in fields() order,
    // envelope keys first, every int in its smallest msgpack form, floats as float 64.
    for_each_event_sample([&](const auto& body) {
        INFO("event type: ", std::decay_t<decltype(body)>::type_name);
        std::string bytes;
        encode_event(samples::sample_envelope(), body, bytes);
        CHECK(to_hex(bytes, 4096) ==
              to_hex(event_doc(samples::sample_envelope(), body).pack(), 4096));
        CHECK(static_cast<unsigned char>(bytes.at(0)) == 0x88);  // fixmap of 8 keys
    });
    for_each_control_sample([&](const auto& msg) {
        INFO("control type: ", std::decay_t<decltype(msg)>::type_name);
        std::string bytes;
        encode_control(msg, bytes);
        CHECK(to_hex(bytes, 4096) == to_hex(control_doc(msg).pack(), 4096));
    });
}

TEST_CASE("codec: encoding clears the output buffer and reuses it") {
    std::string buf = "stale bytes from a previous message";
    encode_event(samples::sample_envelope(), sample<tick>(), buf);
    std::string fresh;
    encode_event(samples::sample_envelope(), sample<tick>(), fresh);
    CHECK(buf == fresh);
    encode_control(sample<status_request>(), buf);
    encode_control(sample<status_request>(), fresh);
    CHECK(buf == fresh);
}

TEST_CASE("codec: extreme values round trip") {
    constexpr auto i64_min = std::numeric_limits<std::int64_t>::min();
    constexpr auto i64_max = std::numeric_limits<std::int64_t>::max();
    constexpr auto u64_max = std::numeric_limits<std::uint64_t>::max();
    const envelope env{.src = "", .seq = u64_max, .ts_ns = i64_min, .trace_id = u64_max};
    const tick t{.symbol = std::string(limits::max_string_bytes, 'Z'),
                 .bid_px = i64_min,
                 .bid_qty = i64_max,
                 .ask_px = -1,
                 .ask_qty = 0,
                 .last_px = 127,
                 .last_qty = -32,
                 .exch_ts_ns = -33};
    std::string bytes;
    encode_event(env, t, bytes);
    const auto r = decode_event(bytes);
    REQUIRE_MESSAGE(r.ok(), r.error().to_string());
    CHECK(render(r->env) == render(env));
    CHECK(render(std::get<tick>(r->body)) == render(t));

    // 2^64 and -0.0: msgpack-c's pack_double would write ints for these (UB cast at 2^64).
    for (const double confidence :
         {0.0, -0.0, 1.0, 5e-324, 1.7976931348623157e308, -2.5, 18446744073709551616.0,
          -9223372036854775808.0, std::numeric_limits<double>::infinity()}) {
        INFO("confidence: ", confidence);
        auto s = sample<tradebus::schema::signal>();
        s.confidence = confidence;
        encode_event(env, s, bytes);
        const auto d = decode_event(bytes);
        REQUIRE(d.ok());
        const double got = std::get<tradebus::schema::signal>(d->body).confidence;
        CHECK(std::signbit(got) == std::signbit(confidence));
        CHECK(got == confidence);
    }

    // Float fields are float 64 on the wire even when the value is integral.
    auto one = sample<tradebus::schema::signal>();
    one.confidence = 1.0;
    encode_event(env, one, bytes);
    CHECK(contains(bytes, mp_str("confidence") + from_hex("cb 3f f0 00 00 00 00 00 00")));

    // Arrays at exactly the item limit, strings at exactly the byte limit, non-ASCII text.
    register_request reg = sample<register_request>();
    reg.publishes.assign(limits::max_array_items, "risk.approved.");
    reg.host = "h\xc3\xb6st-\xf0\x9f\x98\x80";  // "höst-😀"
    encode_control(reg, bytes);
    const auto c = decode_control(bytes);
    REQUIRE_MESSAGE(c.ok(), c.error().to_string());
    CHECK(render(std::get<register_request>(c.value())) == render(reg));

    // Empty vectors and strings everywhere.
    encode_control(status_reply{}, bytes);
    const auto empty = decode_control(bytes);
    REQUIRE(empty.ok());
    CHECK(render(std::get<status_reply>(empty.value())) == render(status_reply{}));
}

TEST_CASE("codec: a hand-written event and control message decode") {
    // {"v":1,"type":"trading_state","src":"op","seq":1,"ts_ns":-1,"trace_id":0,
    //  "data":{"state":"halted","reason":"eod","by":"operator","symbol":"","strategy":""}}:
    // written out by hand, not by any encoder.
    const std::string ev = from_hex(
        "87"
        "a1 76  01"
        "a4 74797065  ad 74726164696e675f7374617465"
        "a3 737263  a2 6f70"
        "a3 736571  01"
        "a5 74735f6e73  ff"
        "a8 74726163655f6964  00"
        "a4 64617461  85"
        "   a5 7374617465  a6 68616c746564"
        "   a6 726561736f6e  a3 656f64"
        "   a2 6279  a8 6f70657261746f72"
        "   a6 73796d626f6c  a0"
        "   a8 7374726174656779  a0");
    const auto r = decode_event(ev);
    REQUIRE_MESSAGE(r.ok(), r.error().to_string());
    CHECK(r->env.src == "op");
    CHECK(r->env.seq == 1);
    CHECK(r->env.ts_ns == -1);
    CHECK(r->env.trace_id == 0);
    const auto& body = std::get<trading_state_changed>(r->body);
    CHECK(body.state == trading_state::halted);
    CHECK(body.reason == "eod");
    CHECK(body.by == "operator");

    // {"type":"status","max_topics":10,"v":1}: key order does not matter.
    const std::string ctl =
        from_hex("83 a4 74797065 a6 737461747573  aa 6d61785f746f70696373 0a  a1 76 01");
    const auto c = decode_control(ctl);
    REQUIRE_MESSAGE(c.ok(), c.error().to_string());
    CHECK(std::get<status_request>(c.value()).max_topics == 10);
}

TEST_CASE("codec: any msgpack int width is accepted for int fields") {
    using sig = tradebus::schema::signal;
    struct row {
        std::string hex;
        std::int64_t qty;
    };
    const std::vector<row> qty_rows = {
        {"05", 5},
        {"cc 05", 5},
        {"cd 00 05", 5},
        {"ce 00 00 00 05", 5},
        {"cf 00 00 00 00 00 00 00 05", 5},
        {"d0 05", 5},
        {"d1 00 05", 5},
        {"d2 00 00 00 05", 5},
        {"d3 00 00 00 00 00 00 00 05", 5},
        {"fb", -5},
        {"d0 fb", -5},
        {"d1 ff fb", -5},
        {"d2 ff ff ff fb", -5},
        {"d3 ff ff ff ff ff ff ff fb", -5},
        {"d3 80 00 00 00 00 00 00 00", std::numeric_limits<std::int64_t>::min()},
        {"cf 7f ff ff ff ff ff ff ff", std::numeric_limits<std::int64_t>::max()},
        {"d3 7f ff ff ff ff ff ff ff", std::numeric_limits<std::int64_t>::max()},
    };
    for (const auto& [hex, qty] : qty_rows) {
        INFO("data.qty = ", hex);
        const auto r = decode_event(event_with(sample<sig>(), {set("data.qty", from_hex(hex))}));
        REQUIRE_MESSAGE(r.ok(), r.error().to_string());
        CHECK(std::get<sig>(r->body).qty == qty);
    }
    // Unsigned fields take non-negative values in signed formats too.
    const std::vector<std::pair<std::string, std::uint64_t>> id_rows = {
        {"d0 07", 7},
        {"d3 00 00 00 00 00 00 00 07", 7},
        {"cf ff ff ff ff ff ff ff ff", std::numeric_limits<std::uint64_t>::max()},
    };
    for (const auto& [hex, id] : id_rows) {
        INFO("data.signal_id = ", hex);
        const auto r =
            decode_event(event_with(sample<sig>(), {set("data.signal_id", from_hex(hex))}));
        REQUIRE_MESSAGE(r.ok(), r.error().to_string());
        CHECK(std::get<sig>(r->body).signal_id == id);
    }
}

TEST_CASE("codec: integers and float 32 are accepted for float fields") {
    using sig = tradebus::schema::signal;
    const std::vector<std::pair<std::string, double>> rows = {
        {mp_uint(1), 1.0},       {mp_int(-3), -3.0},     {mp_uint(0), 0.0},
        {mp_float32(0.5f), 0.5}, {mp_float(0.25), 0.25},
    };
    for (const auto& [bytes, value] : rows) {
        INFO("data.confidence = ", to_hex(bytes));
        const auto r = decode_event(event_with(sample<sig>(), {set("data.confidence", bytes)}));
        REQUIRE_MESSAGE(r.ok(), r.error().to_string());
        CHECK(std::get<sig>(r->body).confidence == value);
    }
}

// ================================================================== forward compatibility

TEST_CASE("codec: unknown keys are accepted and ignored (forward compatibility)") {
    const std::vector<std::pair<std::string, std::string>> values = {
        {"nil", mp_nil()},
        {"str", mp_str("a future field")},
        {"int", mp_int(-12345678901)},
        {"float", mp_float(2.5)},
        {"bin", mp_bin(std::string("\x00\xff", 2))},
        {"ext", mp_ext(5, "abcd")},
        {"fixext", from_hex("d4 01 02")},
        {"array", mp_array({mp_uint(1), mp_str("x"), mp_map({{"k", mp_nil()}})})},
        {"map", mp_map({{"a", mp_array({})}, {"b", mp_map({{"c", mp_bool(true)}})}})},
        {"invalid UTF-8 inside bin is fine", mp_bin("\xff\xfe")},
        // Exactly as deep as allowed at the top level: 16 nested arrays (PROTOCOL.md).
        {"16 nested arrays", repeat("\x91", 15) + "\x90"},
    };
    const auto tk = sample<tick>();
    const auto st = sample<status_reply>();
    const std::vector<std::string> event_paths = {"future_key", "data.future_key", "zzz"};
    const std::vector<std::string> control_paths = {"future_key", "nodes[1].future_key",
                                                    "nodes[0].counters.future_key",
                                                    "topics[1].future_key", "drops[0].future_key"};
    for (const auto& [name, bytes] : values) {
        for (const auto& path : event_paths) {
            if (path != "future_key" && name == "16 nested arrays") continue;
            const std::string msg = event_with(tk, {set(path, bytes)});
            check_accepted(path + " = " + name, msg, decoder::event);
            const auto r = decode_event(msg);
            if (r.ok()) CHECK(render(std::get<tick>(r->body)) == render(tk));
        }
        for (const auto& path : control_paths) {
            if (path != "future_key" && name == "16 nested arrays") continue;
            const std::string msg = control_with(st, {set(path, bytes)});
            check_accepted(path + " = " + name, msg, decoder::control);
            const auto r = decode_control(msg);
            if (r.ok()) CHECK(render(std::get<status_reply>(r.value())) == render(st));
        }
    }

    // Up to max_map_keys keys in one map, unknown ones included.
    std::vector<edit> extra;
    for (std::size_t k = 8; k < limits::max_map_keys; ++k) {
        extra.push_back(set("x" + std::to_string(k), mp_uint(k)));
    }
    check_accepted("64 keys at the top level", event_with(tk, extra), decoder::event);
}

TEST_CASE("codec: values under unknown keys are held to the same limits as known ones") {
    const auto tk = sample<tick>();
    const auto st = sample<status_reply>();
    const std::string long_str = mp_str(std::string(limits::max_string_bytes + 1, 'a'));
    std::vector<std::string> items(limits::max_array_items + 1, mp_nil());
    std::vector<std::pair<std::string, std::string>> wide;
    for (std::size_t k = 0; k <= limits::max_map_keys; ++k)
        wide.emplace_back("k" + std::to_string(k), mp_nil());
    struct row {
        std::string name, value, key_suffix, reason;
    };
    const std::vector<row> values = {
        {"invalid UTF-8 str", mp_str("\xff\xfe"), "", "str is not valid UTF-8"},
        {"4097-byte str", long_str, "", "str of 4097 bytes, limit 4096"},
        {"4097-item array", mp_array(items), "", "array of 4097 items, limit 4096"},
        {"65-key map", mp_map(wide), "", "map has 65 keys, limit 64"},
        {"long str in an array", mp_array({mp_nil(), long_str}), "[1]", "str of 4097 bytes"},
        {"bad UTF-8 deep in a map", mp_map({{"a", mp_map({{"b", mp_str("\xc0\x80")}})}}), ".a.b",
         "not valid UTF-8"},
        {"duplicate key in a map", mp_map({{"a", mp_nil()}, {"a", mp_nil()}}), ".a",
         "duplicate key"},
        {"non-str map key", from_hex("81 01 c0"), "", "map key 0 is not a str"},
        {"17 nested arrays", repeat("\x91", 16) + "\x90", "", "nest"},
    };
    std::vector<bad_input> rows;
    for (const auto& v : values) {
        // Deeper than allowed fails at the outermost map's framing check (its key is named).
        const bool top_only = v.name == "17 nested arrays";
        for (const std::string path : {"future_key", "data.future_key"}) {
            if (top_only && path != "future_key") continue;
            rows.push_back({path + " = " + v.name, event_with(tk, {set(path, v.value)}),
                            path + v.key_suffix, v.reason, decoder::event});
        }
        for (const std::string path : {"future_key", "nodes[1].future_key"}) {
            if (top_only && path != "future_key") continue;
            rows.push_back({path + " = " + v.name, control_with(st, {set(path, v.value)}),
                            path + v.key_suffix, v.reason, decoder::control});
        }
    }
    check_rejected(rows);
}

// ================================================================== bad input

TEST_CASE("codec: truncated messages are rejected at every length") {
    std::vector<bad_input> rows;
    auto add_prefixes = [&](std::string_view type, const std::string& bytes, decoder via) {
        rows.push_back({std::string(type) + " cut to 0 bytes", "", "", "empty message", via});
        for (std::size_t n = 1; n < bytes.size(); ++n) {
            const std::string cut = bytes.substr(0, n);
            // The key depends on where the cut lands (checked below): the reason is the point.
            rows.push_back({std::string(type) + " cut to " + std::to_string(n) + " bytes", cut,
                            std::string(any_key), "truncated", via});
        }
    };
    for_each_event_sample([&](const auto& body) {
        std::string bytes;
        encode_event(samples::sample_envelope(), body, bytes);
        add_prefixes(std::decay_t<decltype(body)>::type_name, bytes, decoder::event);
    });
    for_each_control_sample([&](const auto& msg) {
        std::string bytes;
        encode_control(msg, bytes);
        add_prefixes(std::decay_t<decltype(msg)>::type_name, bytes, decoder::control);
    });
    check_rejected(rows);

    // Where the cut lands decides the key: inside the value of "data", the key is "data".
    std::string bytes;
    encode_event(samples::sample_envelope(), sample<tick>(), bytes);
    const auto err = error_of(std::string_view(bytes).substr(0, bytes.size() - 1), decoder::event);
    REQUIRE(err);
    CHECK(err->key == "data");
}

TEST_CASE("codec: wrong msgpack types are rejected with the key named (every key)") {
    std::vector<bad_input> rows;
    for_each_event_sample([&](const auto& body) {
        const auto more = wrong_type_rows(event_doc(samples::sample_envelope(), body),
                                          std::decay_t<decltype(body)>::type_name, decoder::event);
        rows.insert(rows.end(), more.begin(), more.end());
    });
    for_each_control_sample([&](const auto& msg) {
        const auto more = wrong_type_rows(control_doc(msg), std::decay_t<decltype(msg)>::type_name,
                                          decoder::control);
        rows.insert(rows.end(), more.begin(), more.end());
    });
    check_rejected(rows);
    CHECK(rows.size() > 500);
}

TEST_CASE("codec: wrong msgpack types (hand-picked table)") {
    using sig = tradebus::schema::signal;
    check_rejected({
        {"qty as str", event_with(sample<sig>(), {set("data.qty", mp_str("100"))}), "data.qty",
         "expected int, got str"},
        {"side lower case", event_with(sample<sig>(), {set("data.side", mp_str("buy"))}),
         "data.side", "expected one of BUY|SELL|FLAT, got \"buy\""},
        {"side not UTF-8", event_with(sample<sig>(), {set("data.side", mp_str("\xff"))}),
         "data.side", "got \"<not UTF-8>\""},
        {"order_type unknown",
         event_with(sample<order>(), {set("data.order_type", mp_str("STOP"))}), "data.order_type",
         "expected one of MARKET|LIMIT, got \"STOP\""},
        {"data as array", event_with(sample<tick>(), {set("data", mp_array({}))}), "data",
         "expected map, got array"},
        {"ts_ns as float", event_with(sample<tick>(), {set("ts_ns", mp_float(1e18))}), "ts_ns",
         "expected int, got float"},
        {"src as bin", event_with(sample<tick>(), {set("src", mp_bin("md"))}), "src",
         "expected str, got bin"},
        {"node state unknown",
         control_with(sample<status_reply>(), {set("nodes[1].state", mp_str("zombie"))}),
         "nodes[1].state",
         "expected one of starting|healthy|degraded|unhealthy|stopping|stopped, got \"zombie\"",
         decoder::control},
        {"depends_on item not a str",
         control_with(sample<register_request>(), {set("depends_on[1]", mp_uint(3))}),
         "depends_on[1]", "expected str, got unsigned int", decoder::control},
        {"counters as array",
         control_with(sample<heartbeat_request>(), {set("counters", mp_array({}))}), "counters",
         "expected map, got array", decoder::control},
        {"ready as int", control_with(sample<register_reply>(), {set("ready", mp_uint(1))}),
         "ready", "expected bool, got unsigned int", decoder::control},
    });
}

TEST_CASE("codec: missing keys are rejected with the key named (every key)") {
    std::vector<bad_input> rows;
    for_each_event_sample([&](const auto& body) {
        const auto more = missing_key_rows(event_doc(samples::sample_envelope(), body),
                                           std::decay_t<decltype(body)>::type_name, decoder::event);
        rows.insert(rows.end(), more.begin(), more.end());
    });
    for_each_control_sample([&](const auto& msg) {
        const auto more = missing_key_rows(control_doc(msg), std::decay_t<decltype(msg)>::type_name,
                                           decoder::control);
        rows.insert(rows.end(), more.begin(), more.end());
    });
    check_rejected(rows);
    // Spot checks that the generated rows hold the paths the issue names.
    const auto has = [&](std::string_view key) {
        return std::any_of(rows.begin(), rows.end(), [&](const auto& r) { return r.key == key; });
    };
    CHECK(has("data.qty"));
    CHECK(has("data"));
    CHECK(has("seq"));
    CHECK(has("nodes[1].counters.queue_depth"));
}

TEST_CASE("codec: a key optional on read may be absent (records written before it existed)") {
    std::size_t checked = 0;
    const auto check_without_optional = [&]<class T>(const doc& d, auto decode) {
        std::vector<std::pair<std::string, wire>> paths;
        collect_paths(d, "", paths);
        for (const auto& [path, t] : paths) {
            if (!optional_on_read(T::type_name, path)) continue;
            CAPTURE(path);
            doc copy = d;
            REQUIRE(apply(copy, erase(path)));
            const auto r = decode(copy.pack());
            REQUIRE_MESSAGE(r.ok(), r.error().to_string());
            ++checked;
        }
    };
    for_each_event_sample([&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        check_without_optional.template operator()<T>(
            event_doc(samples::sample_envelope(), body),
            [](const std::string& bytes) { return decode_event(bytes); });
    });
    for_each_control_sample([&](const auto& msg) {
        using T = std::decay_t<decltype(msg)>;
        check_without_optional.template operator()<T>(
            control_doc(msg), [](const std::string& bytes) { return decode_control(bytes); });
    });
    CHECK(checked == std::size(optional_paths) + std::variant_size_v<payload>);
    // Absent means the default: a position from before last_fill_id existed names no fill.
    position p = sample<position>();
    p.last_fill_id = "f-1";
    const doc d = event_doc(samples::sample_envelope(), p);
    doc copy = d;
    REQUIRE(apply(copy, erase("data.last_fill_id")));
    const auto r = decode_event(copy.pack());
    REQUIRE(r.ok());
    CHECK(std::get<position>(r->body).last_fill_id.empty());
    CHECK(std::get<position>(r->body).qty == p.qty);
}

TEST_CASE("codec: a heartbeat from a node before the resource counters decodes with them 0") {
    const heartbeat_request hb = sample<heartbeat_request>();
    doc d = control_doc(hb);
    for (const char* key : {"counters.cpu_ms", "counters.rss_bytes", "counters.open_fds"}) {
        REQUIRE(apply(d, erase(key)));
    }
    const auto r = decode_control(d.pack());
    REQUIRE_MESSAGE(r.ok(), r.error().to_string());
    const auto& got = std::get<heartbeat_request>(r.value()).counters;
    CHECK(got.cpu_ms == 0);
    CHECK(got.rss_bytes == 0);  // 0 = not reported (PROTOCOL.md "node_counters")
    CHECK(got.open_fds == 0);
    CHECK(got.published == hb.counters.published);
    CHECK(got.misrouted == hb.counters.misrouted);
}

TEST_CASE("codec: header, version and type errors (table)") {
    const auto ev = [](std::vector<edit> edits) { return event_with(sample<tick>(), edits); };
    std::string over_limit = mp_map({{"pad", mp_bin(std::string(limits::max_message_bytes, 'x'))}});
    check_rejected({
        {"empty", "", "", "empty message"},
        {"nil", from_hex("c0"), "", "expected map, got nil"},
        {"array", from_hex("90"), "", "expected map, got array"},
        {"reserved byte c1", from_hex("c1"), "", "truncated or invalid msgpack"},
        {"str at the top", mp_str("hello"), "", "expected map, got str"},
        {"empty map", from_hex("80"), "v", "missing required key"},
        {"v = 2", from_hex("81 a1 76 02"), "v", "unsupported schema version 2 (supported 1..1)"},
        {"v = 0", from_hex("81 a1 76 00"), "v", "unsupported schema version 0"},
        {"v = u64 max", from_hex("81 a1 76 cf ff ff ff ff ff ff ff ff"), "v",
         "unsupported schema version 18446744073709551615"},
        {"v = -1", from_hex("81 a1 76 ff"), "v", "expected unsigned int, got negative int"},
        {"v = \"1\"", from_hex("81 a1 76 a1 31"), "v", "expected unsigned int, got str"},
        {"v = 1.0", from_hex("81 a1 76 cb 3f f0 00 00 00 00 00 00"), "v",
         "expected unsigned int, got float"},
        {"no type", from_hex("81 a1 76 01"), "type", "missing required key"},
        {"type = 7", from_hex("82 a1 76 01 a4 74797065 07"), "type",
         "expected str, got unsigned int"},
        {"type = nope", from_hex("82 a1 76 01 a4 74797065 a4 6e6f7065"), "type",
         "unknown event type \"nope\""},
        {"type not UTF-8", from_hex("82 a1 76 01 a4 74797065 a2 ff fe"), "type",
         "unknown event type \"<not UTF-8>\""},
        {"type is case-sensitive", ev({set("type", mp_str("TICK"))}), "type",
         "unknown event type \"TICK\""},
        {"control type on the event decoder", ev({set("type", mp_str("register"))}), "type",
         "unknown event type \"register\""},
        {"event type on the control decoder",
         control_with(sample<ok_reply>(), {set("type", mp_str("tick"))}), "type",
         "unknown control message type \"tick\"", decoder::control},
        {"version 2 control", control_with(sample<ok_reply>(), {set("v", mp_uint(2))}), "v",
         "unsupported schema version 2", decoder::control},
        {"version checked before type", ev({set("v", mp_uint(9)), set("type", mp_str("x"))}), "v",
         "unsupported schema version 9"},
        {"key not a str", from_hex("81 01 01"), "", "map key 0 is not a str, got unsigned int"},
        {"bin key", from_hex("81 c4 01 76 01"), "", "map key 0 is not a str, got bin"},
        {"key not UTF-8", ev({set("\xff\xfe", mp_nil())}), "", "map key 8 is not valid UTF-8"},
        {"nested key not UTF-8", ev({set("data.\xc0\x80", mp_nil())}), "data",
         "map key 8 is not valid UTF-8"},
        {"key over the str limit",
         ev({set(std::string(limits::max_string_bytes + 1, 'k'), mp_nil())}), "",
         "map key 8 of 4097 bytes, limit 4096"},
        {"65 keys at the top level",
         [&] {
             std::vector<edit> extra;
             for (std::size_t k = 8; k <= limits::max_map_keys; ++k) {
                 extra.push_back(set("x" + std::to_string(k), mp_nil()));
             }
             return ev(extra);
         }(),
         "", "map has 65 keys, limit 64"},
        {"65 keys in data", ev([] {
             std::vector<edit> extra;
             for (std::size_t k = 8; k <= limits::max_map_keys; ++k) {
                 extra.push_back(set("data.x" + std::to_string(k), mp_nil()));
             }
             return extra;
         }()),
         "data", "map has 65 keys, limit 64"},
        {"message over 1 MiB", over_limit, "",
         "message of " + std::to_string(over_limit.size()) + " bytes, limit 1048576"},
    });
    CHECK(over_limit.size() > limits::max_message_bytes);
}

TEST_CASE("codec: duplicate keys are rejected") {
    using sig = tradebus::schema::signal;
    check_rejected({
        {"seq twice", event_with(sample<tick>(), {append("seq", mp_uint(43))}), "seq",
         "duplicate key"},
        {"v twice", event_with(sample<tick>(), {append("v", mp_uint(1))}), "v", "duplicate key"},
        {"type twice", event_with(sample<tick>(), {append("type", mp_str("tick"))}), "type",
         "duplicate key"},
        {"data twice", event_with(sample<tick>(), {append("data", mp_map({}))}), "data",
         "duplicate key"},
        {"data.qty twice", event_with(sample<sig>(), {append("data.qty", mp_int(1))}), "data.qty",
         "duplicate key"},
        {"unknown key twice",
         event_with(sample<tick>(), {set("future", mp_nil()), append("future", mp_nil())}),
         "future", "duplicate key"},
        {"nested counters key twice",
         control_with(sample<status_reply>(), {append("nodes[0].counters.gaps", mp_uint(1))}),
         "nodes[0].counters.gaps", "duplicate key", decoder::control},
        {"control field twice",
         control_with(sample<halt_request>(), {append("reason", mp_str("again"))}), "reason",
         "duplicate key", decoder::control},
    });
}

TEST_CASE("codec: absurd length fields fail fast without allocating by them") {
    // Each claims up to 4 GiB with a few bytes following. The reader checks a length against
    // the bytes left before it uses it, so each row fails on a bounds check at once: the
    // reason is the check's, never "out of memory" (check_rejected asserts that too).
    const auto tk = sample<tick>();
    const auto reg = sample<register_request>();
    const std::string str32 = from_hex("db ff ff ff ff 41 41 41");
    const std::string bin32 = from_hex("c6 ff ff ff ff 00");
    const std::string ext32 = from_hex("c9 ff ff ff ff 01 00");
    const std::string array32 = from_hex("dd ff ff ff ff c0 c0");
    const std::string map32 = from_hex("df ff ff ff ff a1 6b c0");
    const std::string array16 = from_hex("dc ff ff c0");
    const std::string str16 = from_hex("da ff ff 41");
    const std::string lie = "truncated, invalid or too deeply nested value";
    check_rejected({
        {"top-level map32", from_hex("df ff ff ff ff 00"), "", "map has 4294967295 keys, limit 64"},
        {"top-level array32", from_hex("dd ff ff ff ff"), "", "expected map, got array"},
        {"top-level str32", str32, "", "truncated or invalid msgpack"},
        {"key is str32", from_hex("81 db ff ff ff ff 76 01"), "", "truncated map (key 0)"},
        {"map16 claiming 65535 keys", from_hex("de ff ff a1 76 01"), "",
         "map has 65535 keys, limit 64"},
        {"map claiming 15 keys, holding 1", from_hex("8f a1 76 01"), "", "truncated map (key 1)"},
        {"src str32", event_with(tk, {set("src", str32)}), "src", lie},
        {"src str16", event_with(tk, {set("src", str16)}), "src", lie},
        {"symbol str32", event_with(tk, {set("data.symbol", str32)}), "data", lie},
        {"data map32", event_with(tk, {set("data", map32)}), "data", lie},
        {"unknown key array32", event_with(tk, {set("future", array32)}), "future", lie},
        {"unknown key map32", event_with(tk, {set("future", map32)}), "future", lie},
        {"unknown key bin32", event_with(tk, {set("future", bin32)}), "future", lie},
        {"unknown key ext32", event_with(tk, {set("future", ext32)}), "future", lie},
        {"unknown key array16", event_with(tk, {set("future", array16)}), "future", lie},
        {"depends_on array32", control_with(reg, {set("depends_on", array32)}), "depends_on", lie,
         decoder::control},
        {"depends_on item str32", control_with(reg, {set("depends_on[0]", str32)}), "depends_on",
         lie, decoder::control},
        {"nodes array32", control_with(sample<status_reply>(), {set("nodes", array32)}), "nodes",
         lie, decoder::control},
        {"src one byte over the str limit",
         event_with(tk, {set("src", mp_str(std::string(limits::max_string_bytes + 1, 's')))}),
         "src", "str of 4097 bytes, limit 4096"},
        {"publishes one item over the array limit",
         control_with(reg, {set("publishes", mp_array(std::vector<std::string>(
                                                 limits::max_array_items + 1, mp_str("p"))))}),
         "publishes", "array of 4097 items, limit 4096", decoder::control},
        {"nodes: 4097 nils",
         control_with(sample<status_reply>(),
                      {set("nodes", mp_array(std::vector<std::string>(limits::max_array_items + 1,
                                                                      mp_nil())))}),
         "nodes", "array of 4097 items, limit 4096", decoder::control},
    });
}

TEST_CASE("codec: str values must be valid UTF-8") {
    const std::vector<std::pair<std::string, std::string>> invalid = {
        {"overlong NUL", "\xc0\x80"},
        {"overlong 2-byte", "\xc1\xbf"},
        {"overlong 3-byte", "\xe0\x80\xaf"},
        {"overlong 4-byte", "\xf0\x80\x80\xaf"},
        {"UTF-16 surrogate", "\xed\xa0\x80"},
        {"above U+10FFFF", "\xf4\x90\x80\x80"},
        {"lone continuation", "a\x80z"},
        {"cut 3-byte sequence", "\xe2\x82"},
        {"cut at the end", "abc\xf0\x9f\x98"},
        {"0xff", "\xff"},
        {"0xfe", "\xfe"},
        {"5-byte form", "\xf8\x88\x80\x80\x80"},
        {"Latin-1 e acute", "caf\xe9"},
    };
    const std::vector<std::string> valid = {"",
                                            std::string("\x00", 1),
                                            "\xc2\xa9",
                                            "\xe2\x82\xac",
                                            "\xef\xbf\xbf",
                                            "\xf0\x9f\x98\x80",
                                            "\xf4\x8f\xbf\xbf",
                                            "plain ascii"};
    using sig = tradebus::schema::signal;
    std::vector<bad_input> rows;
    for (const auto& [name, text] : invalid) {
        rows.push_back({"src: " + name, event_with(sample<tick>(), {set("src", mp_str(text))}),
                        "src", "str is not valid UTF-8"});
        rows.push_back({"data.symbol: " + name,
                        event_with(sample<tick>(), {set("data.symbol", mp_str(text))}),
                        "data.symbol", "str is not valid UTF-8"});
        rows.push_back({"data.reason: " + name,
                        event_with(sample<sig>(), {set("data.reason", mp_str(text))}),
                        "data.reason", "str is not valid UTF-8"});
        rows.push_back({"nodes[1].name: " + name,
                        control_with(sample<status_reply>(), {set("nodes[1].name", mp_str(text))}),
                        "nodes[1].name", "str is not valid UTF-8", decoder::control});
        rows.push_back(
            {"depends_on[1]: " + name,
             control_with(sample<register_request>(), {set("depends_on[1]", mp_str(text))}),
             "depends_on[1]", "str is not valid UTF-8", decoder::control});
    }
    check_rejected(rows);
    for (const auto& text : valid) {
        const auto r = decode_event(event_with(sample<sig>(), {set("data.reason", mp_str(text))}));
        REQUIRE_MESSAGE(r.ok(), r.error().to_string());
        CHECK(std::get<sig>(r->body).reason == text);
    }
}

TEST_CASE("codec: trailing bytes are rejected") {
    std::string tk;
    encode_event(samples::sample_envelope(), sample<tick>(), tk);
    std::string ok;
    encode_control(sample<ok_reply>(), ok);
    check_rejected({
        {"one zero byte", tk + std::string(1, '\0'), "", "1 trailing bytes after the message"},
        {"reserved byte", tk + "\xc1", "", "1 trailing bytes"},
        {"two messages", tk + tk, "", std::to_string(tk.size()) + " trailing bytes"},
        {"control + nil", ok + "\xc0", "", "1 trailing bytes", decoder::control},
    });
}

TEST_CASE("codec: negative values in unsigned fields are rejected") {
    using sig = tradebus::schema::signal;
    const auto neg = "expected unsigned int, got negative int";
    check_rejected({
        {"seq -1", event_with(sample<tick>(), {set("seq", mp_int(-1))}), "seq", neg},
        {"trace_id min",
         event_with(sample<tick>(), {set("trace_id", from_hex("d3 80 00 00 00 00 00 00 00"))}),
         "trace_id", neg},
        {"signal_id -5 as int8",
         event_with(sample<sig>(), {set("data.signal_id", from_hex("d0 fb"))}), "data.signal_id",
         neg},
        {"signal_id -1 as fixint",
         event_with(sample<sig>(), {set("data.signal_id", from_hex("ff"))}), "data.signal_id", neg},
        {"epoch -1", event_with(sample<broker_started>(), {set("data.epoch", mp_int(-1))}),
         "data.epoch", neg},
        {"session_id -1",
         control_with(sample<heartbeat_request>(), {set("session_id", mp_int(-1))}), "session_id",
         neg, decoder::control},
        {"counters.gaps -1",
         control_with(sample<heartbeat_request>(), {set("counters.gaps", mp_int(-1))}),
         "counters.gaps", neg, decoder::control},
        {"nodes[1].counters.queue_depth -1",
         control_with(sample<status_reply>(), {set("nodes[1].counters.queue_depth", mp_int(-1))}),
         "nodes[1].counters.queue_depth", neg, decoder::control},
        {"topics_total -1", control_with(sample<status_reply>(), {set("topics_total", mp_int(-1))}),
         "topics_total", neg, decoder::control},
        {"qty above int64 max",
         event_with(sample<sig>(), {set("data.qty", from_hex("cf 80 00 00 00 00 00 00 00"))}),
         "data.qty", "int out of range for int64"},
    });
}

TEST_CASE("codec: nesting depth bombs are rejected") {
    constexpr std::size_t bomb = 100'000;
    const std::string arrays = repeat("\x91", bomb) + "\xc0";
    const std::string maps = repeat("\x81\xa1\x6b", bomb) + "\xc0";  // {"k":{"k":...}}
    const auto tk = sample<tick>();
    const std::string deep = "too deeply nested";
    check_rejected({
        {"100000 arrays under an unknown key", event_with(tk, {set("bomb", arrays)}), "bomb", deep},
        {"100000 maps under an unknown key", event_with(tk, {set("bomb", maps)}), "bomb", deep},
        {"100000 arrays under data", event_with(tk, {set("data.bomb", arrays)}), "data", deep},
        {"100000 arrays as data", event_with(tk, {set("data", arrays)}), "data", deep},
        {"100000 maps as the message", maps, "k", deep},
        {"100000 arrays as the message", arrays, "", "expected map, got array"},
        {"100000 maps under nodes[0]",
         control_with(sample<status_reply>(), {set("nodes[0].bomb", maps)}), "nodes", deep,
         decoder::control},
        // The limit: a value under a top-level key may nest 16 containers, under a key of
        // "data" 15, i.e. no container deeper than 17 counting the top-level map as 1.
        {"17 arrays under a top-level key",
         event_with(tk, {set("bomb", repeat("\x91", 16) + "\x90")}), "bomb", deep},
        {"16 arrays under a key of data",
         event_with(tk, {set("data.bomb", repeat("\x91", 15) + "\x90")}), "data", deep},
    });
    check_accepted("16 arrays under a top-level key",
                   event_with(tk, {set("bomb", repeat("\x91", 15) + "\x90")}), decoder::event);
    check_accepted("15 arrays under a key of data",
                   event_with(tk, {set("data.bomb", repeat("\x91", 14) + "\x90")}), decoder::event);
}

TEST_CASE("codec: decode_error::to_string") {
    CHECK(decode_error{"", "empty message"}.to_string() == "empty message");
    CHECK(decode_error{"data.qty", "missing required key"}.to_string() ==
          "data.qty: missing required key");
}

// ================================================================== random input

namespace {

struct fuzz_tally {
    std::size_t inputs = 0, decoded = 0, rejected = 0;
    std::vector<std::string> problems;
    void problem(std::string_view what, std::string_view input) {
        if (problems.size() < 5) problems.push_back(std::string(what) + ": " + to_hex(input, 64));
    }
};

// Decodes `input` both ways. A decode must re-encode to bytes that decode to the same
// re-encoding; an error must carry a bounded, UTF-8, non-empty reason.
void fuzz_one(const std::string& input, fuzz_tally& t) {
    ++t.inputs;
    const auto check_error = [&](const decode_error& e) {
        ++t.rejected;
        if (e.reason.empty()) t.problem("empty reason", input);
        if (!valid_utf8(e.to_string())) t.problem("error text not UTF-8", input);
        if (e.to_string().size() > 2 * limits::max_string_bytes) t.problem("huge error", input);
        if (e.reason == oom_reason) t.problem("allocated by a claimed length", input);
    };
    if (const auto r = decode_event(input); r.ok()) {
        ++t.decoded;
        std::string once, twice;
        encode_event(r.value(), once);
        const auto again = decode_event(once);
        if (!again.ok()) {
            t.problem("event re-encoding does not decode", input);
        } else {
            encode_event(again.value(), twice);
            if (once != twice) t.problem("event re-encoding unstable", input);
        }
    } else {
        check_error(r.error());
    }
    if (const auto r = decode_control(input); r.ok()) {
        ++t.decoded;
        std::string once, twice;
        encode_control(r.value(), once);
        const auto again = decode_control(once);
        if (!again.ok()) {
            t.problem("control re-encoding does not decode", input);
        } else {
            encode_control(again.value(), twice);
            if (once != twice) t.problem("control re-encoding unstable", input);
        }
    } else {
        check_error(r.error());
    }
}

}  // namespace

TEST_CASE("codec: random and mutated inputs never crash (fixed seed)") {
    // std::mt19937_64's output sequence is fixed by the standard: same inputs on every platform.
    std::mt19937_64 rng(0x7472616465627573ULL);  // "tradebus"
    const auto below = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    const auto byte = [&] { return static_cast<char>(rng() & 0xff); };

    std::vector<std::string> valid;
    for_each_event_sample([&](const auto& body) {
        encode_event(samples::sample_envelope(), body, valid.emplace_back());
    });
    for_each_control_sample([&](const auto& msg) { encode_control(msg, valid.emplace_back()); });

    // Bytes that change structure: every length-prefix format, 0xc1, nil, fixmap/array.
    static constexpr unsigned char interesting[] = {
        0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc4, 0xc6, 0xc9,
        0xca, 0xcb, 0xcf, 0xd3, 0xd9, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff};
    fuzz_tally t;
    for (int k = 0; k < 10'000; ++k) {  // pure random, half behind a plausible map header
        std::string s(below(48), '\0');
        for (auto& c : s) c = byte();
        if (k % 2 == 1) s.insert(s.begin(), static_cast<char>(0x80 | below(16)));
        fuzz_one(s, t);
    }
    for (int k = 0; k < 15'000; ++k) {  // 1..4 mutations of a valid message
        std::string s = valid[below(valid.size())];
        const std::size_t edits = 1 + below(4);
        for (std::size_t e = 0; e < edits && !s.empty(); ++e) {
            const std::size_t at = below(s.size());
            switch (below(7)) {
                case 0:
                    s[at] = static_cast<char>(s[at] ^ (1 << below(8)));
                    break;
                case 1:
                    s[at] = static_cast<char>(interesting[below(sizeof interesting)]);
                    break;
                case 2:
                    s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), byte());
                    break;
                case 3:
                    s.erase(at, 1 + below(4));
                    break;
                case 4:
                    s.resize(at);
                    break;
                case 5:  // a 32-bit length field claiming up to 4 GiB
                    s.insert(at,
                             std::string{static_cast<char>(0xdb), '\xff', byte(), byte(), byte()});
                    break;
                default:  // duplicate a slice (repeats keys, values, headers)
                    s.insert(at, s.substr(below(s.size()), below(16)));
                    break;
            }
        }
        fuzz_one(s, t);
    }
    INFO("first problems:\n", [&] {
        std::string all;
        for (const auto& p : t.problems) all += p + "\n";
        return all;
    }());
    CHECK(t.problems.empty());
    CHECK(t.inputs == 25'000);
    // Both outcomes are exercised: some mutations still decode (e.g. a changed digit).
    CHECK(t.decoded > 100);
    CHECK(t.rejected > 20'000);
}
