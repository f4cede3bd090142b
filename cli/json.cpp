// JSON lines: escaper and a writer driven by fields() (json.hpp).
#include "tradebus/cli/json.hpp"

#include <charconv>
#include <cmath>
#include <type_traits>
#include <vector>

#include "tradebus/schema/utf8.hpp"
#include "wire_traits.hpp"

namespace tradebus::cli {
namespace {

template <class T>
void append_value(std::string& out, const T& value);

struct field_writer {
    std::string& out;
    bool first;
    template <class F>
    void operator()(std::string_view key, const F& value) {
        if (!first) out.push_back(',');
        first = false;
        append_json_string(out, key);
        out.push_back(':');
        append_value(out, value);
    }
};

template <class T>
void append_number(std::string& out, T value) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, value);
    out.append(buf, r.ptr);
}

template <class T>
void append_value(std::string& out, const T& value) {
    if constexpr (std::is_same_v<T, std::string>) {
        append_json_string(out, value);
    } else if constexpr (std::is_same_v<T, bool>) {
        out.append(value ? "true" : "false");
    } else if constexpr (std::is_same_v<T, double>) {
        // JSON has no NaN or infinity; null says "not a number" to every parser.
        if (std::isfinite(value)) {
            append_number(out, value);
        } else {
            out.append("null");
        }
    } else if constexpr (std::is_integral_v<T>) {
        append_number(out, value);
    } else if constexpr (detail::wire_enum<T>) {
        append_json_string(out, schema::to_string(value));
    } else if constexpr (detail::is_vector<T>::value) {
        out.push_back('[');
        bool first = true;
        for (const auto& item : value) {
            if (!first) out.push_back(',');
            first = false;
            append_value(out, item);
        }
        out.push_back(']');
    } else {
        static_assert(detail::described<T>, "field type has no JSON form");
        out.push_back('{');
        field_writer w{out, true};
        T::fields(value, w);
        out.push_back('}');
    }
}

}  // namespace

std::string to_hex(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const char ch : bytes) {
        const auto c = static_cast<unsigned char>(ch);
        out.push_back(digits[c >> 4]);
        out.push_back(digits[c & 0xF]);
    }
    return out;
}

std::string event_json(std::string_view topic, const schema::event& ev) {
    std::string out;
    out.reserve(256);
    field_writer w{out, false};
    out.append("{\"topic\":");
    append_json_string(out, topic);
    w("v", schema::version);
    w("type", std::string(ev.type_name()));
    schema::envelope::fields(ev.env, w);
    std::visit([&](const auto& body) { w("data", body); }, ev.body);
    out.push_back('}');
    return out;
}

std::string undecodable_json(std::string_view topic, std::string_view body, std::size_t frames,
                             std::string_view reason, std::int64_t rx_ns) {
    std::string out;
    out.reserve(128 + body.size() * 2);
    field_writer w{out, false};
    out.append("{\"topic\":");
    append_json_string(out, topic);
    if (!schema::valid_utf8(topic)) w("topic_hex", to_hex(topic));
    w("undecodable", std::string(reason));
    w("frames", static_cast<std::uint64_t>(frames));
    w("bytes", static_cast<std::uint64_t>(body.size()));
    w("hex", to_hex(body));
    w("rx_ns", rx_ns);
    out.push_back('}');
    return out;
}

std::string control_json(const schema::control_message& msg) {
    std::string out;
    field_writer w{out, true};
    out.push_back('{');
    w("v", schema::version);
    std::visit(
        [&](const auto& m) {
            using M = std::decay_t<decltype(m)>;
            w("type", std::string(M::type_name));
            M::fields(m, w);
        },
        msg);
    out.push_back('}');
    return out;
}

}  // namespace tradebus::cli
