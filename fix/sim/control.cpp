#include "tradebus/fix/sim/control.hpp"

#include <charconv>
#include <cstdio>

namespace tradebus::fix::sim {

namespace {

class reader {
  public:
    explicit reader(std::string_view text) : s_(text) {}

    void skip_ws() {
        while (i_ < s_.size() &&
               (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) {
            ++i_;
        }
    }
    [[nodiscard]] bool at_end() const { return i_ >= s_.size(); }
    [[nodiscard]] char peek() const { return at_end() ? '\0' : s_[i_]; }
    bool eat(char c) {
        skip_ws();
        if (peek() != c) return false;
        ++i_;
        return true;
    }
    [[nodiscard]] std::size_t pos() const { return i_; }

    // A string starting at the current '"'.
    bool string(std::string& out, std::string& error) {
        skip_ws();
        if (peek() != '"') {
            error = "expected a string at byte " + std::to_string(i_);
            return false;
        }
        ++i_;
        while (!at_end()) {
            const char c = s_[i_++];
            if (c == '"') return true;
            if (static_cast<unsigned char>(c) < 0x20) {
                error = "control character in a string";
                return false;
            }
            if (out.size() >= max_request_string) {
                error = "a string longer than " + std::to_string(max_request_string) + " bytes";
                return false;
            }
            if (c != '\\') {
                out.push_back(c);
                continue;
            }
            if (at_end()) break;
            const char e = s_[i_++];
            switch (e) {
                case '"':
                    out.push_back('"');
                    break;
                case '\\':
                    out.push_back('\\');
                    break;
                case '/':
                    out.push_back('/');
                    break;
                case 'n':
                    out.push_back('\n');
                    break;
                case 't':
                    out.push_back('\t');
                    break;
                case 'r':
                    out.push_back('\r');
                    break;
                case 'b':
                    out.push_back('\b');
                    break;
                case 'f':
                    out.push_back('\f');
                    break;
                case 'u': {
                    if (s_.size() - i_ < 4) {
                        error = "a short \\u escape";
                        return false;
                    }
                    unsigned v = 0;
                    const auto* first = s_.data() + i_;
                    auto [p, ec] = std::from_chars(first, first + 4, v, 16);
                    if (ec != std::errc() || p != first + 4 || v >= 0x80) {
                        error = "only \\u escapes below \\u0080 are accepted";
                        return false;
                    }
                    i_ += 4;
                    out.push_back(static_cast<char>(v));
                    break;
                }
                default:
                    error = "a bad escape in a string";
                    return false;
            }
        }
        error = "an unterminated string";
        return false;
    }

    bool value(json_value& v, std::string& error) {
        skip_ws();
        const char c = peek();
        if (c == '"') {
            v.type = json_value::kind::string;
            return string(v.text, error);
        }
        if (c == '-' || (c >= '0' && c <= '9')) {
            v.type = json_value::kind::number;
            const std::size_t start = i_;
            if (peek() == '-') ++i_;
            std::size_t digits = 0;
            while (!at_end() && s_[i_] >= '0' && s_[i_] <= '9') ++i_, ++digits;
            if (digits == 0) {
                error = "a bad number at byte " + std::to_string(start);
                return false;
            }
            if (peek() == '.') {
                ++i_;
                std::size_t frac = 0;
                while (!at_end() && s_[i_] >= '0' && s_[i_] <= '9') ++i_, ++frac;
                if (frac == 0) {
                    error = "a bad number at byte " + std::to_string(start);
                    return false;
                }
            }
            if (i_ - start > 40) {
                error = "a number longer than 40 characters";
                return false;
            }
            v.text.assign(s_.substr(start, i_ - start));
            return true;
        }
        for (std::string_view word : {std::string_view("true"), std::string_view("false")}) {
            if (s_.substr(i_, word.size()) == word) {
                v.type = json_value::kind::boolean;
                v.text.assign(word);
                i_ += word.size();
                return true;
            }
        }
        error = "expected a string, a number, true or false at byte " + std::to_string(i_);
        return false;
    }

  private:
    std::string_view s_;
    std::size_t i_ = 0;
};

}  // namespace

std::optional<flat_object> flat_object::parse(std::string_view text, std::string& error) {
    if (text.size() > max_request_bytes) {
        error = "request longer than " + std::to_string(max_request_bytes) + " bytes";
        return std::nullopt;
    }
    reader r(text);
    if (!r.eat('{')) {
        error = "expected a JSON object";
        return std::nullopt;
    }
    flat_object obj;
    if (!r.eat('}')) {
        do {
            if (obj.items_.size() >= max_request_keys) {
                error = "more than " + std::to_string(max_request_keys) + " keys";
                return std::nullopt;
            }
            std::string key;
            if (!r.string(key, error)) return std::nullopt;
            if (obj.find(key) != nullptr) {
                error = "key \"" + key + "\" given twice";
                return std::nullopt;
            }
            if (!r.eat(':')) {
                error = "expected ':' at byte " + std::to_string(r.pos());
                return std::nullopt;
            }
            json_value v;
            if (!r.value(v, error)) return std::nullopt;
            obj.items_.emplace_back(std::move(key), std::move(v));
        } while (r.eat(','));
        if (!r.eat('}')) {
            error = "expected ',' or '}' at byte " + std::to_string(r.pos());
            return std::nullopt;
        }
    }
    r.skip_ws();
    if (!r.at_end()) {
        error = "text after the object";
        return std::nullopt;
    }
    return obj;
}

const json_value* flat_object::find(std::string_view key) const noexcept {
    for (const auto& [k, v] : items_) {
        if (k == key) return &v;
    }
    return nullptr;
}

std::optional<std::string> flat_object::string(std::string_view key) const {
    const auto* v = find(key);
    if (v == nullptr || v->type != json_value::kind::string) return std::nullopt;
    return v->text;
}

std::optional<std::string> flat_object::decimal(std::string_view key) const {
    const auto* v = find(key);
    if (v == nullptr || v->type == json_value::kind::boolean) return std::nullopt;
    return v->text;
}

std::optional<std::int64_t> flat_object::integer(std::string_view key) const {
    const auto* v = find(key);
    if (v == nullptr || v->type == json_value::kind::boolean || v->text.empty()) {
        return std::nullopt;
    }
    std::int64_t out = 0;
    const auto* first = v->text.data();
    const auto* last = first + v->text.size();
    auto [p, ec] = std::from_chars(first, last, out);
    if (ec != std::errc() || p != last) return std::nullopt;
    return out;
}

std::string json_error(std::string_view text) {
    std::string out = "{\"error\":";
    append_json_string(out, text);
    out.push_back('}');
    return out;
}

std::optional<std::string> request_for(const std::vector<std::string>& args, std::string& error) {
    if (args.empty()) {
        error =
            "expected a command: quote, walk, positions, executions, orders, drop, status, json";
        return std::nullopt;
    }
    const std::string& cmd = args[0];
    const std::size_t n = args.size() - 1;
    std::string out = "{\"cmd\":";
    append_json_string(out, cmd);
    auto field = [&](std::string_view key, std::string_view value) {
        out += ',';
        append_json_string(out, key);
        out += ':';
        append_json_string(out, value);
    };
    auto whole = [&](std::string_view key, const std::string& value) {
        std::int64_t v = 0;
        auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
        if (ec != std::errc() || p != value.data() + value.size() || v < 0) {
            error = std::string(key) + ": expected a whole number >= 0, got \"" + value + "\"";
            return false;
        }
        out += ',';
        append_json_string(out, key);
        out += ':' + std::to_string(v);
        return true;
    };
    if (cmd == "quote") {
        if (n != 3 && n != 5) {
            error = "usage: quote SYMBOL BID ASK [BID_QTY ASK_QTY]";
            return std::nullopt;
        }
        field("symbol", args[1]);
        field("bid", args[2]);
        field("ask", args[3]);
        if (n == 5 && (!whole("bid_qty", args[4]) || !whole("ask_qty", args[5]))) {
            return std::nullopt;
        }
    } else if (cmd == "walk") {
        if (n != 1) {
            error = "usage: walk SYMBOL";
            return std::nullopt;
        }
        field("symbol", args[1]);
    } else if (cmd == "orders" || cmd == "drop") {
        if (n != 1) {
            error = "usage: " + cmd + " CLIENT";
            return std::nullopt;
        }
        field("client", args[1]);
    } else if (cmd == "positions" || cmd == "executions" || cmd == "status") {
        if (n != 0) {
            error = "usage: " + cmd + " (no arguments)";
            return std::nullopt;
        }
    } else if (cmd == "json") {
        if (n != 1) {
            error = "usage: json '{\"cmd\":...}'";
            return std::nullopt;
        }
        return args[1];
    } else {
        error = "unknown command \"" + cmd +
                "\" (quote, walk, positions, executions, orders, drop, status, json)";
        return std::nullopt;
    }
    out += '}';
    return out;
}

}  // namespace tradebus::fix::sim
