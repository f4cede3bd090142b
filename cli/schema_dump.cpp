// `tradebus schema --json`: the wire schema as data, for clients in other languages. Every event
// type, control message and nested map with its keys in encoder order and their msgpack types,
// straight from the fields() lists the C++ codec runs on, so a client generated from (or tested
// against) this output cannot drift from the C++ side. The Python package ships it as
// python/tradebus/schema.json, and a test fails when the two differ (PROTOCOL.md "Python").
#include "tradebus/cli/schema_dump.hpp"

#include <algorithm>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "tradebus/cli/json.hpp"
#include "tradebus/schema/codec.hpp"
#include "tradebus/schema/topics.hpp"
#include "wire_traits.hpp"

namespace tradebus::cli {
namespace {

namespace schema = tradebus::schema;

// Nested map types met while describing fields, each described once, in the order first met.
struct struct_table {
    std::vector<std::string_view> names;
    std::vector<std::string> bodies;
};

template <class T>
std::string fields_json(struct_table& structs);

template <class T>
void append_type(std::string& out, struct_table& structs) {
    if constexpr (std::is_same_v<T, std::string>) {
        out += R"("type": "str")";
    } else if constexpr (std::is_same_v<T, bool>) {
        out += R"("type": "bool")";
    } else if constexpr (std::is_same_v<T, std::int64_t>) {
        out += R"("type": "int")";
    } else if constexpr (std::is_same_v<T, std::uint64_t>) {
        out += R"("type": "uint")";
    } else if constexpr (std::is_same_v<T, double>) {
        out += R"("type": "float")";
    } else if constexpr (detail::wire_enum<T>) {
        out += R"("type": "enum", "enum": )";
        append_json_string(out, schema::enum_names<T>::label);
    } else if constexpr (detail::is_vector<T>::value) {
        out += R"("type": "array", "items": {)";
        append_type<typename T::value_type>(out, structs);
        out += "}";
    } else {
        static_assert(detail::described<T>, "a field type the schema dump does not know");
        out += R"("type": "struct", "struct": )";
        append_json_string(out, T::struct_name);
        if (std::find(structs.names.begin(), structs.names.end(), T::struct_name) ==
            structs.names.end()) {
            structs.names.push_back(T::struct_name);
            structs.bodies.emplace_back();  // reserve the slot first: nested ones come after
            const std::size_t slot = structs.bodies.size() - 1;
            std::string body = fields_json<T>(structs);
            structs.bodies[slot] = std::move(body);
        }
    }
}

// A field's default value as JSON.
template <class T>
void append_default(std::string& out, const T& value) {
    if constexpr (std::is_same_v<T, std::string>) {
        append_json_string(out, value);
    } else if constexpr (std::is_same_v<T, bool>) {
        out += value ? "true" : "false";
    } else if constexpr (std::is_arithmetic_v<T>) {
        out += std::to_string(value);
    } else if constexpr (detail::wire_enum<T>) {
        append_json_string(out, schema::to_string(value));
    } else {
        static_assert(detail::is_vector<T>::value, "a default the schema dump cannot write");
        out += "[]";  // no field defaults to a non-empty array
    }
}

template <class T>
struct field_writer {
    std::string* out;
    struct_table* structs;
    bool first = true;
    template <class F>
    void operator()(std::string_view key, const F& value) {
        *out += first ? "\n      {\"key\": " : ",\n      {\"key\": ";
        first = false;
        append_json_string(*out, key);
        *out += ", ";
        append_type<std::remove_cvref_t<F>>(*out, *structs);
        if constexpr (requires { T::optional_keys; }) {
            if (std::find(std::begin(T::optional_keys), std::end(T::optional_keys), key) !=
                std::end(T::optional_keys)) {
                *out += R"(, "optional": true)";
            }
        }
        // The C++ default (what a default-constructed struct holds; for an optional key also
        // what a reader takes when it is absent). A nested map's default is its own defaults.
        if constexpr (!detail::described<std::remove_cvref_t<F>>) {
            *out += R"(, "default": )";
            append_default(*out, value);
        }
        *out += "}";
    }
};

template <class T>
std::string fields_json(struct_table& structs) {
    std::string out = "[";
    const T value{};
    field_writer<T> w{&out, &structs};
    T::fields(value, w);
    out += "\n    ]";
    return out;
}

template <class Variant, class Fn>
void for_each_alternative(Fn&& fn) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (fn(std::type_identity<std::variant_alternative_t<I, Variant>>{}), ...);
    }
    (std::make_index_sequence<std::variant_size_v<Variant>>{});
}

template <class E>
void append_enum(std::string& out, bool last) {
    out += "    ";
    append_json_string(out, schema::enum_names<E>::label);
    out += ": [";
    bool first = true;
    for (auto name : schema::enum_names<E>::names) {
        if (!first) out += ", ";
        first = false;
        append_json_string(out, name);
    }
    out += last ? "]\n" : "],\n";
}

}  // namespace

std::string schema_json() {
    namespace limits = schema::limits;
    namespace topics = schema::topics;
    struct_table structs;
    std::string out = "{\n";
    out += "  \"version\": " + std::to_string(schema::version) + ",\n";
    out += "  \"min_version\": " + std::to_string(schema::min_version) + ",\n";
    out += "  \"price_scale\": " + std::to_string(schema::price_scale) + ",\n";
    out += "  \"limits\": {\"max_message_bytes\": " + std::to_string(limits::max_message_bytes) +
           ", \"max_string_bytes\": " + std::to_string(limits::max_string_bytes) +
           ", \"max_array_items\": " + std::to_string(limits::max_array_items) +
           ", \"max_map_keys\": " + std::to_string(limits::max_map_keys) +
           ", \"max_depth\": " + std::to_string(limits::max_depth) + "},\n";

    out += "  \"enums\": {\n";
    append_enum<schema::side>(out, false);
    append_enum<schema::order_type>(out, false);
    append_enum<schema::time_in_force>(out, false);
    append_enum<schema::health>(out, false);
    append_enum<schema::trading_state>(out, true);
    out += "  },\n";

    out += "  \"topics\": {";
    bool first = true;
    for (const auto& [name, value] : topics::all_topics) {
        out += first ? "\n    " : ",\n    ";
        first = false;
        append_json_string(out, name);
        out += ": ";
        append_json_string(out, value);
    }
    out += "\n  },\n";

    out += "  \"envelope\": " + fields_json<schema::envelope>(structs) + ",\n";

    out += "  \"events\": [";
    first = true;
    for_each_alternative<schema::payload>([&](auto id) {
        using T = typename decltype(id)::type;
        out += first ? "\n    {\"type\": " : ",\n    {\"type\": ";
        first = false;
        append_json_string(out, T::type_name);
        out += ", \"homes\": [";
        bool first_home = true;
        for (const auto& h : topics::event_homes()) {
            if (h.type != T::type_name) continue;
            out += first_home ? "{\"topic\": " : ", {\"topic\": ";
            first_home = false;
            append_json_string(out, h.topic);
            out += h.prefix ? ", \"prefix\": true}" : ", \"prefix\": false}";
        }
        out += "], \"fields\": " + fields_json<T>(structs) + "}";
    });
    out += "\n  ],\n";

    out += "  \"control\": [";
    first = true;
    for_each_alternative<schema::control_message>([&](auto id) {
        using T = typename decltype(id)::type;
        out += first ? "\n    {\"type\": " : ",\n    {\"type\": ";
        first = false;
        append_json_string(out, T::type_name);
        out += T::is_reply ? ", \"reply\": true" : ", \"reply\": false";
        out += ", \"fields\": " + fields_json<T>(structs) + "}";
    });
    out += "\n  ],\n";

    out += "  \"structs\": [";
    for (std::size_t i = 0; i < structs.names.size(); ++i) {
        out += i == 0 ? "\n    {\"name\": " : ",\n    {\"name\": ";
        append_json_string(out, structs.names[i]);
        out += ", \"fields\": " + structs.bodies[i] + "}";
    }
    out += "\n  ]\n}\n";
    return out;
}

}  // namespace tradebus::cli
