// Keeps schema/PROTOCOL.md honest: its annotated example bytes must be what encode_event writes,
// and its key tables, enum names, topics, limits and error codes must match the C++ contract
// (fields() lists, enum_names, topics.hpp, codec.hpp limits, control.hpp error codes). A change
// to the schema that is not written into PROTOCOL.md fails here.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "tradebus/schema/codec.hpp"
#include "tradebus/schema/topics.hpp"

#ifndef TRADEBUS_SOURCE_DIR
#error "TRADEBUS_SOURCE_DIR must name the source tree (tests/unit/CMakeLists.txt)"
#endif

using namespace tradebus::schema;

namespace {

std::string read_protocol() {
    std::ifstream in(std::string(TRADEBUS_SOURCE_DIR) + "/schema/PROTOCOL.md", std::ios::binary);
    REQUIRE_MESSAGE(in.good(), "cannot open " TRADEBUS_SOURCE_DIR "/schema/PROTOCOL.md");
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

std::string trim(std::string_view s) {
    const auto first = s.find_first_not_of(" \t");
    if (first == std::string_view::npos) return {};
    const auto last = s.find_last_not_of(" \t");
    return std::string(s.substr(first, last - first + 1));
}

std::string to_hex(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (const char c : bytes) {
        const auto b = static_cast<unsigned char>(c);
        if (!out.empty()) out.push_back(' ');
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 0x0f]);
    }
    return out;
}

// The hex bytes of every line between the begin/end markers, ignoring '#' comments and fences.
std::string example_hex(const std::vector<std::string>& lines) {
    bool inside = false;
    std::string hex;
    for (const auto& line : lines) {
        if (line.rfind("<!-- tick-example:begin", 0) == 0) {
            inside = true;
            continue;
        }
        if (line.rfind("<!-- tick-example:end", 0) == 0) break;
        if (!inside || line.rfind("```", 0) == 0) continue;
        const std::string bytes = trim(line.substr(0, line.find('#')));
        if (bytes.empty()) continue;
        if (!hex.empty()) hex.push_back(' ');
        hex += bytes;
    }
    return hex;
}

// The (key, type) cells of the table rows under the heading that starts with `heading`, up to
// the next heading of level 2 or 3.
std::vector<std::pair<std::string, std::string>> section_rows(const std::vector<std::string>& lines,
                                                              const std::string& heading) {
    std::vector<std::pair<std::string, std::string>> rows;
    bool inside = false;
    for (const auto& line : lines) {
        const bool is_heading = line.rfind("## ", 0) == 0 || line.rfind("### ", 0) == 0;
        if (is_heading) {
            if (inside) break;
            inside = line == heading || line.rfind(heading + " ", 0) == 0;
            continue;
        }
        if (!inside || line.rfind("| `", 0) != 0) continue;
        const auto c1 = line.find('|', 1);
        const auto c2 = line.find('|', c1 + 1);
        std::string key = trim(std::string_view(line).substr(1, c1 - 1));
        if (key.size() >= 2 && key.front() == '`' && key.back() == '`') {
            key = key.substr(1, key.size() - 2);
        }
        rows.emplace_back(key, trim(std::string_view(line).substr(c1 + 1, c2 - c1 - 1)));
    }
    return rows;
}

bool has_heading(const std::vector<std::string>& lines, const std::string& heading) {
    for (const auto& line : lines) {
        if (line == heading) return true;
    }
    return false;
}

// ---------------------------------------------------------------- the C++ side of the tables

template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};

// How PROTOCOL.md names the msgpack type of a C++ field type.
template <class T>
std::string doc_type() {
    if constexpr (std::is_same_v<T, std::string>) {
        return "str";
    } else if constexpr (std::is_same_v<T, std::int64_t>) {
        return "int";
    } else if constexpr (std::is_same_v<T, std::uint64_t>) {
        return "uint";
    } else if constexpr (std::is_same_v<T, double>) {
        return "float 64";
    } else if constexpr (std::is_same_v<T, bool>) {
        return "bool";
    } else if constexpr (std::is_enum_v<T>) {
        return "str (" + std::string(enum_names<T>::label) + ")";
    } else if constexpr (is_vector<T>::value) {
        return "array of " + doc_type<typename T::value_type>();
    } else {
        return "map (" + std::string(T::struct_name) + ")";
    }
}

struct row_collector {
    std::vector<std::pair<std::string, std::string>>* rows;
    template <class F>
    void operator()(std::string_view key, const F&) {
        rows->emplace_back(std::string(key), doc_type<F>());
    }
};

template <class T>
std::vector<std::pair<std::string, std::string>> expected_rows() {
    std::vector<std::pair<std::string, std::string>> rows;
    const T value{};
    row_collector c{&rows};
    T::fields(value, c);
    return rows;
}

std::string render(const std::vector<std::pair<std::string, std::string>>& rows) {
    std::string out;
    for (const auto& [key, type] : rows) out += "| `" + key + "` | " + type + " |\n";
    return out;
}

template <class T>
void check_section(const std::vector<std::string>& lines, std::string_view name) {
    const std::string heading = "### `" + std::string(name) + "`";
    INFO("PROTOCOL.md section ", heading);
    CHECK(has_heading(lines, heading));
    // Same keys, same order, same types as fields(): the whole table, nothing more or less.
    CHECK(render(section_rows(lines, heading)) == render(expected_rows<T>()));
}

template <class Variant, class Fn>
void for_each_alternative(Fn&& fn) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (fn(std::type_identity<std::variant_alternative_t<I, Variant>>{}), ...);
    }
    (std::make_index_sequence<std::variant_size_v<Variant>>{});
}

bool has_line_starting(const std::vector<std::string>& lines, const std::string& prefix) {
    for (const auto& line : lines) {
        if (line.rfind(prefix, 0) == 0) return true;
    }
    return false;
}

}  // namespace

TEST_CASE("protocol: the example tick bytes in PROTOCOL.md are what encode_event writes") {
    const auto lines = split_lines(read_protocol());
    // The values PROTOCOL.md states for its example.
    const envelope env{.src = "md-1",
                       .seq = 1001,
                       .ts_ns = 1'700'000'000'000'000'000,
                       .trace_id = 0x9e37'79b9'7f4a'7c15ULL,
                       .inc = 0x2545'f491'4f6c'dd1dULL};
    const tick t{.symbol = "AAPL",
                 .bid_px = to_fixed(189.50),
                 .bid_qty = 300,
                 .ask_px = to_fixed(189.52),
                 .ask_qty = 200,
                 .last_px = to_fixed(189.51),
                 .last_qty = 100,
                 .exch_ts_ns = 1'699'999'999'998'000'000};
    std::string body;
    encode_event(env, t, body);
    const std::string documented = example_hex(lines);
    REQUIRE_FALSE(documented.empty());
    CHECK(documented == to_hex(body));
    CHECK(has_line_starting(lines, "Frame 2 (body), " + std::to_string(body.size()) + " bytes"));
    const std::string topic = topics::for_symbol(topics::md_tick, t.symbol);
    CHECK(has_line_starting(lines, "Frame 1 (topic) is the " + std::to_string(topic.size()) +
                                       " bytes `" + to_hex(topic) + "` (`" + topic + "`)"));

    // And the documented bytes decode back to the documented values.
    const auto r = decode_event(body);
    REQUIRE(r.ok());
    CHECK(std::get<tick>(r->body).bid_px == 18'950'000'000);
}

TEST_CASE("protocol: every key table matches the fields() lists") {
    const auto lines = split_lines(read_protocol());
    {
        INFO("PROTOCOL.md section ### Envelope keys");
        auto want = expected_rows<envelope>();
        want.insert(want.begin(), {{"v", "uint"}, {"type", "str"}});
        want.emplace_back("data", "map");
        CHECK(render(section_rows(lines, "### Envelope keys")) == render(want));
    }
    for_each_alternative<payload>([&](auto id) {
        using T = typename decltype(id)::type;
        check_section<T>(lines, T::type_name);
        // ...and the type has a row in the events summary table.
        CHECK(has_line_starting(lines, "| `" + std::string(T::type_name) + "` | `"));
    });
    for_each_alternative<control_message>([&](auto id) {
        using T = typename decltype(id)::type;
        check_section<T>(lines, T::type_name);
    });
    check_section<snapshot_position>(lines, "snapshot_position");
    check_section<symbol_limit>(lines, "symbol_limit");
    check_section<working_order>(lines, "working_order");
    check_section<node_counters>(lines, "node_counters");
    check_section<node_status>(lines, "node_status");
    check_section<topic_status>(lines, "topic_status");
    check_section<drop_status>(lines, "drop_status");
    check_section<recorder_status>(lines, "recorder_status");
    check_section<service_status>(lines, "service_status");
    check_section<trading_scope>(lines, "trading_scope");
    check_section<flatten_left>(lines, "flatten_left");
    check_section<resting_order>(lines, "resting_order");
}

TEST_CASE("protocol: enums, topics, limits and error codes match the headers") {
    const auto lines = split_lines(read_protocol());
    const auto enum_row = [](std::string_view name, const auto& names) {
        std::string row = "| " + std::string(name) + " | ";
        for (std::size_t k = 0; k < names.size(); ++k) {
            row += (k == 0 ? "`" : ", `") + std::string(names[k]) + "`";
        }
        return row + " |";
    };
    CHECK(has_line_starting(lines, enum_row("side", enum_names<side>::names)));
    CHECK(has_line_starting(lines, enum_row("order_type", enum_names<order_type>::names)));
    CHECK(has_line_starting(lines, enum_row("health", enum_names<health>::names)));
    CHECK(has_line_starting(lines, enum_row("trading_state", enum_names<trading_state>::names)));
    CHECK(has_line_starting(lines, enum_row("time_in_force", enum_names<time_in_force>::names)));

    for (const auto& [name, value] : topics::all_topics) {
        INFO("topic constant ", name);
        CHECK(has_line_starting(lines,
                                "| `" + std::string(name) + "` | `" + std::string(value) + "` |"));
    }

    const std::string text = read_protocol();
    const auto mentions = [&](const std::string& s) { return text.find(s) != std::string::npos; };
    CHECK(mentions("`max_message_bytes` = " + std::to_string(limits::max_message_bytes)));
    CHECK(mentions("`max_string_bytes` = " + std::to_string(limits::max_string_bytes)));
    CHECK(mentions("`max_array_items` = " + std::to_string(limits::max_array_items)));
    CHECK(mentions("`max_map_keys` = " + std::to_string(limits::max_map_keys)));
    CHECK(mentions("`max_depth` = " + std::to_string(limits::max_depth)));
    CHECK(mentions("deeper than " + std::to_string(limits::max_depth + 1) + " levels"));
    CHECK(mentions("**`v` = " + std::to_string(version) + "**"));
    CHECK(mentions("supported: " + std::to_string(min_version) + ".." + std::to_string(version)));
    CHECK(mentions("Symbols**: 1.." + std::to_string(topics::max_symbol_bytes) + " bytes"));
    CHECK(mentions("1.." + std::to_string(topics::max_topic_bytes) + " bytes of valid UTF-8"));

    for (const auto code :
         {error_code::bad_request, error_code::unsupported_version, error_code::unknown_type,
          error_code::duplicate_name, error_code::unknown_session, error_code::dependency_cycle,
          error_code::unknown_dependency, error_code::not_allowed, error_code::unknown_service,
          error_code::not_durable, error_code::unknown_node, error_code::too_many_scopes}) {
        INFO("error code ", code);
        CHECK(has_line_starting(lines, "| `" + std::string(code) + "` | "));
    }
}
