#include "cli_runner.hpp"

#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>

#include "../../common/json_checker.hpp"

namespace tradebus::test {

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
