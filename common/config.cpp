#include "tradebus/common/config.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <sstream>

namespace tradebus::common {

namespace {

std::string position(const std::string& file, const toml::source_region& where) {
    std::ostringstream out;
    out << file;
    if (where.begin.line > 0) out << ':' << where.begin.line << ':' << where.begin.column;
    return out.str();
}

std::string describe(const toml::node& node) {
    std::ostringstream out;
    switch (node.type()) {
        case toml::node_type::string:
            out << '"' << *node.value<std::string>() << '"';
            break;
        case toml::node_type::integer:
            out << *node.value<std::int64_t>();
            break;
        case toml::node_type::floating_point:
            out << *node.value<double>();
            break;
        case toml::node_type::boolean:
            out << (*node.value<bool>() ? "true" : "false");
            break;
        case toml::node_type::table:
            out << "a table";
            break;
        case toml::node_type::array:
            out << "an array";
            break;
        default:
            out << "a date/time";
            break;
    }
    return out.str();
}

}  // namespace

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t prev = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t cur = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1)});
            prev = cur;
        }
    }
    return row[b.size()];
}

void config_errors::add(const toml::source_region& where, std::string_view key,
                        std::string_view message) {
    lines_.push_back(position(file_, where) + ": " + std::string(key) + ": " +
                     std::string(message));
}

void config_errors::add(std::string_view key, std::string_view message) {
    lines_.push_back(file_ + ": " + std::string(key) + ": " + std::string(message));
}

section::section(const toml::table* table, std::string path, config_errors& errors)
    : state_(std::make_shared<state>(state{table, std::move(path), &errors, {}, {}})) {}

std::string section::full(std::string_view key) const {
    return state_->path.empty() ? std::string(key) : state_->path + "." + std::string(key);
}

bool section::has(std::string_view key) const {
    return state_->table != nullptr && state_->table->contains(key);
}

const toml::node* section::lookup(std::string_view key) {
    state_->known.emplace_back(key);
    if (state_->table == nullptr) return nullptr;
    return state_->table->get(key);
}

void section::mismatch(const toml::node& node, std::string_view key, std::string_view expected) {
    state_->errors->add(node.source(), full(key),
                        "expected " + std::string(expected) + ", got " + describe(node));
}

void section::error(std::string_view key, std::string_view message) {
    const toml::node* node = state_->table ? state_->table->get(key) : nullptr;
    if (node != nullptr) {
        state_->errors->add(node->source(), full(key), message);
    } else {
        state_->errors->add(full(key), message);
    }
}

std::string section::string(std::string_view key, std::string fallback, bool required) {
    const toml::node* node = lookup(key);
    if (node == nullptr) {
        if (required) state_->errors->add(full(key), "missing required key (expected a string)");
        return fallback;
    }
    if (auto v = node->value<std::string>(); v && node->is_string()) return *v;
    mismatch(*node, key, "a string");
    return fallback;
}

std::int64_t section::integer(std::string_view key, std::int64_t fallback, std::int64_t min,
                              std::int64_t max, bool required) {
    const toml::node* node = lookup(key);
    if (node == nullptr) {
        if (required) state_->errors->add(full(key), "missing required key (expected an integer)");
        return fallback;
    }
    if (!node->is_integer()) {
        mismatch(*node, key, "an integer");
        return fallback;
    }
    const auto v = *node->value<std::int64_t>();
    if (v < min || v > max) {
        mismatch(*node, key,
                 "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
        return fallback;
    }
    return v;
}

double section::number(std::string_view key, double fallback, double min, double max,
                       bool required) {
    const toml::node* node = lookup(key);
    if (node == nullptr) {
        if (required) state_->errors->add(full(key), "missing required key (expected a number)");
        return fallback;
    }
    if (!node->is_number()) {
        mismatch(*node, key, "a number");
        return fallback;
    }
    // An integer a double cannot hold exactly (beyond 2^53) has no value<double>(): out of range
    // like any other number outside [min, max], never a read of an empty optional.
    const std::optional<double> v = node->value<double>();
    if (!v || !(*v >= min && *v <= max)) {
        std::ostringstream range;
        range << "a number in [" << min << ", " << max << "]";
        mismatch(*node, key, range.str());
        return fallback;
    }
    return *v;
}

bool section::boolean(std::string_view key, bool fallback) {
    const toml::node* node = lookup(key);
    if (node == nullptr) return fallback;
    if (!node->is_boolean()) {
        mismatch(*node, key, "true or false");
        return fallback;
    }
    return *node->value<bool>();
}

std::vector<std::string> section::strings(std::string_view key, std::vector<std::string> fallback) {
    const toml::node* node = lookup(key);
    if (node == nullptr) return fallback;
    const toml::array* arr = node->as_array();
    if (arr == nullptr) {
        mismatch(*node, key, "an array of strings");
        return fallback;
    }
    std::vector<std::string> out;
    for (std::size_t i = 0; i < arr->size(); ++i) {
        const toml::node& item = *arr->get(i);
        if (!item.is_string()) {
            mismatch(item, std::string(key) + "[" + std::to_string(i) + "]", "a string");
            return fallback;
        }
        out.push_back(*item.value<std::string>());
    }
    return out;
}

std::string section::endpoint(std::string_view key, std::string fallback, bool required) {
    const toml::node* node = lookup(key);
    if (node == nullptr) {
        if (required) state_->errors->add(full(key), "missing required key (expected an endpoint)");
        return fallback;
    }
    if (!node->is_string()) {
        mismatch(*node, key, "a ZeroMQ endpoint (tcp://host:port or ipc://path)");
        return fallback;
    }
    auto value = *node->value<std::string>();
    if (auto why = endpoint_error(value)) {
        mismatch(*node, key, "a ZeroMQ endpoint (tcp://host:port or ipc://path): " + *why);
        return fallback;
    }
    return value;
}

std::string section::choice(std::string_view key, std::string fallback,
                            const std::vector<std::string_view>& allowed) {
    const toml::node* node = lookup(key);
    if (node == nullptr) return fallback;
    std::string list;
    for (auto a : allowed) {
        if (!list.empty()) list += '|';
        list.append(a);
    }
    if (node->is_string()) {
        auto v = *node->value<std::string>();
        if (std::find(allowed.begin(), allowed.end(), v) != allowed.end()) return v;
    }
    mismatch(*node, key, "one of " + list);
    return fallback;
}

section section::table(std::string_view key, bool required) {
    const toml::node* node = lookup(key);
    const toml::table* t = nullptr;
    if (node == nullptr) {
        if (required) state_->errors->add(full(key), "missing required table [" + full(key) + "]");
    } else if (node->is_table()) {
        t = node->as_table();
    } else {
        mismatch(*node, key, "a table");
    }
    auto child = std::make_shared<state>(state{t, full(key), state_->errors, {}, {}});
    state_->children.push_back(child);
    return section(child);
}

std::vector<section> section::tables(std::string_view key) {
    const toml::node* node = lookup(key);
    std::vector<section> out;
    if (node == nullptr) return out;
    const toml::array* arr = node->as_array();
    if (arr == nullptr || !arr->is_array_of_tables()) {
        mismatch(*node, key, "an array of tables ([[" + full(key) + "]])");
        return out;
    }
    for (std::size_t i = 0; i < arr->size(); ++i) {
        auto child = std::make_shared<state>(state{arr->get(i)->as_table(),
                                                   full(key) + "[" + std::to_string(i) + "]",
                                                   state_->errors,
                                                   {},
                                                   {}});
        state_->children.push_back(child);
        out.push_back(section(child));
    }
    return out;
}

std::vector<std::string> section::table_keys() const {
    std::vector<std::string> out;
    if (state_->table == nullptr) return out;
    for (const auto& [k, v] : *state_->table) {
        if (v.is_table()) out.emplace_back(k.str());
    }
    return out;
}

void section::finish() { finish_state(*state_); }

void section::finish_state(state& s) {
    if (s.table != nullptr) {
        for (const auto& [k, v] : *s.table) {
            const std::string_view name = k.str();
            if (std::find(s.known.begin(), s.known.end(), name) != s.known.end()) continue;
            std::string message = "unknown key";
            // Suggest a known key within a few edits, or one the name is a prefix of (the
            // usual slip: a key written without its unit suffix, "timeout" for "timeout_ms").
            std::size_t best = std::max<std::size_t>(2, name.size() / 4) + 1;
            for (const auto& known : s.known) {
                const std::size_t d = known.starts_with(name) ? 1 : edit_distance(name, known);
                if (d < best) {
                    best = d;
                    message = "unknown key (did you mean \"" + known + "\"?)";
                }
            }
            const std::string key =
                s.path.empty() ? std::string(name) : s.path + "." + std::string(name);
            s.errors->add(k.source(), key, message);
        }
    }
    for (auto& child : s.children) finish_state(*child);
}

std::optional<toml::table> parse_config_file(const std::string& path, config_errors& errors) {
    // toml++ reports an unreadable file as a parse error; say what really went wrong.
    if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
        std::fclose(f);
    } else {
        errors.add("(file)", std::string("cannot open: ") + std::strerror(errno));
        return std::nullopt;
    }
    try {
        return toml::parse_file(path);
    } catch (const toml::parse_error& e) {
        errors.add(e.source(), "(syntax)", std::string(e.description()));
    } catch (const std::exception& e) {
        errors.add("(file)", std::string("cannot read: ") + e.what());
    }
    return std::nullopt;
}

void throw_if_errors(const config_errors& errors) {
    if (errors.empty()) return;
    std::string text;
    for (const auto& line : errors.lines()) text += line + "\n";
    text += std::to_string(errors.lines().size()) + " config error" +
            (errors.lines().size() == 1 ? "" : "s") + " in " + errors.file();
    throw config_error(text);
}

std::optional<std::string> endpoint_error(std::string_view ep) {
    const auto scheme_end = ep.find("://");
    if (scheme_end == std::string_view::npos)
        return "missing transport (tcp://, ipc://, inproc://)";
    const auto scheme = ep.substr(0, scheme_end);
    const auto rest = ep.substr(scheme_end + 3);
    if (scheme == "ipc" || scheme == "inproc") {
        if (rest.empty()) return "empty " + std::string(scheme) + " path";
        return std::nullopt;
    }
    if (scheme != "tcp") return "unsupported transport \"" + std::string(scheme) + "\"";
    const auto colon = rest.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return "expected tcp://host:port";
    const auto port = rest.substr(colon + 1);
    if (port == "*") return std::nullopt;
    unsigned value = 0;
    const auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || p != port.data() + port.size() || value == 0 || value > 65535) {
        return "port must be 1..65535 or *";
    }
    return std::nullopt;
}

}  // namespace tradebus::common
