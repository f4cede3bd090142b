#include "cli_runner.hpp"

#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>

namespace tradebus::test {

namespace {

// RFC 8259 grammar check: enough to prove each line a script would feed to jq parses.
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
        if (!digits()) return false;
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

}  // namespace

bool valid_json(std::string_view s) { return json_checker(s).valid(); }

std::optional<double> json_number(std::string_view json, std::string_view key) {
    const std::string needle = "\"" + std::string(key) + "\":";
    const auto at = json.find(needle);
    if (at == std::string_view::npos) return std::nullopt;
    const char* begin = json.data() + at + needle.size();
    double v = 0;
    const auto [p, ec] = std::from_chars(begin, json.data() + json.size(), v);
    if (ec != std::errc{} || p == begin) return std::nullopt;
    return v;
}

bool has(std::string_view text, std::string_view needle) {
    return text.find(needle) != std::string_view::npos;
}

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

#ifdef TRADEBUS_EXE_TRADEBUS
cli_process::cli_process(const temp_dir& dir, const std::string& name,
                         std::vector<std::string> args)
    : out(dir.file(name + ".out")), err(dir.file(name + ".err")) {
    std::vector<std::string> sh{"-c", "exec \"$0\" \"$@\" 2>>'" + err.string() + "'",
                                TRADEBUS_EXE_TRADEBUS};
    sh.insert(sh.end(), args.begin(), args.end());
    proc = std::make_unique<process_guard>("/bin/sh", sh, out);
}

cli_result run_cli(const temp_dir& dir, const std::string& name, std::vector<std::string> args,
                   std::chrono::milliseconds limit) {
    cli_process p(dir, name, std::move(args));
    const int status = p.wait(limit);
    return {status, p.stdout_text(), p.stderr_text()};
}
#endif

}  // namespace tradebus::test
