// Runs the `tradebus` CLI as a process for a test and checks what it printed: stdout and
// stderr in separate files, a JSON grammar check (enough to prove a line parses for jq) and a
// number lookup by key for --json output.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "process_guard.hpp"
#include "temp_dir.hpp"

namespace tradebus::test {

/// True when `s` is one RFC 8259 JSON value.
[[nodiscard]] bool valid_json(std::string_view s);
/// The number after the first "key": in `json` (no nesting awareness: pick unique keys).
[[nodiscard]] std::optional<double> json_number(std::string_view json, std::string_view key);
[[nodiscard]] bool has(std::string_view text, std::string_view needle);
[[nodiscard]] std::string read_file(const std::filesystem::path& p);
[[nodiscard]] std::vector<std::string> lines_of(const std::string& text);

// `tradebus <args>` as a process with stdout and stderr in separate files (through sh, so a
// note on stderr can never be mistaken for output).
struct cli_process {
    std::filesystem::path out, err;
    std::unique_ptr<process_guard> proc;

    cli_process(const temp_dir& dir, const std::string& name, std::vector<std::string> args);
    [[nodiscard]] std::string stdout_text() const { return read_file(out); }
    [[nodiscard]] std::string stderr_text() const { return read_file(err); }
    // Waits for the exit (a guard against hangs, not a timing assertion); -1 if it did not.
    int wait(std::chrono::milliseconds limit = std::chrono::seconds(20)) {
        return proc->wait_exit(limit).value_or(-1);
    }
};

struct cli_result {
    int status;
    std::string out, err;
};

/// Runs `tradebus <args>` to its exit (at most `limit`).
cli_result run_cli(const temp_dir& dir, const std::string& name, std::vector<std::string> args,
                   std::chrono::milliseconds limit = std::chrono::seconds(20));

}  // namespace tradebus::test
