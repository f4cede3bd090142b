// A strict RFC 8259 JSON grammar check shared by the unit and integration tests: enough to prove
// that each line `tradebus ... --json` prints would parse in jq or a script.
#pragma once

#include <cctype>
#include <cstddef>
#include <string_view>

namespace tradebus::test {

class json_checker {
  public:
    explicit json_checker(std::string_view s) : s_(s) {}
    bool valid() {
        skip_ws();
        if (!value(0)) return false;
        skip_ws();
        return i_ == s_.size();
    }

  private:
    bool value(int depth) {
        if (depth > 64 || i_ >= s_.size()) return false;
        const char c = s_[i_];
        if (c == '{' || c == '[') return container(depth, c == '{' ? '}' : ']');
        if (c == '"') return string();
        for (std::string_view w : {"true", "false", "null"}) {
            if (s_.substr(i_, w.size()) == w) return i_ += w.size(), true;
        }
        return number();
    }
    bool container(int depth, char close) {
        const bool object = s_[i_++] == '{';
        skip_ws();
        if (eat(close)) return true;
        do {
            skip_ws();
            if (object && (!string() || (skip_ws(), !eat(':')))) return false;
            skip_ws();
            if (!value(depth + 1)) return false;
            skip_ws();
        } while (eat(','));
        return eat(close);
    }
    bool string() {
        if (!eat('"')) return false;
        while (i_ < s_.size()) {
            const auto c = static_cast<unsigned char>(s_[i_++]);
            if (c == '"') return true;
            if (c < 0x20) return false;
            if (c != '\\' || i_ >= s_.size()) continue;
            const char e = s_[i_++];
            if (e == 'u') {
                for (int k = 0; k < 4; ++k, ++i_) {
                    if (i_ >= s_.size() || !std::isxdigit(static_cast<unsigned char>(s_[i_])))
                        return false;
                }
            } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
                return false;
            }
        }
        return false;
    }
    bool number() {
        const std::size_t start = i_;
        eat('-');
        if (eat('0')) {  // "0" or [1-9][0-9]*: no leading zeros
            if (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) return false;
        } else if (!digits()) {
            return false;
        }
        if (eat('.') && !digits()) return false;
        if (eat('e') || eat('E')) {
            if (!eat('+')) eat('-');
            if (!digits()) return false;
        }
        return i_ > start;
    }
    bool digits() {
        const std::size_t start = i_;
        while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_;
        return i_ > start;
    }
    bool eat(char c) { return i_ < s_.size() && s_[i_] == c ? (++i_, true) : false; }
    void skip_ws() {
        while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
    }
    std::string_view s_;
    std::size_t i_ = 0;
};

}  // namespace tradebus::test
