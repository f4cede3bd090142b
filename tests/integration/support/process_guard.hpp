// Runs a real executable as a child process for the length of a scope (redis
// tests/support/server.tcl, nats RunServer): common::child_process (stdout and stderr to a log
// file, SIGTERM then SIGKILL on scope exit), plus the child's log printed to stderr when the
// test failed.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "tradebus/common/child_process.hpp"

namespace tradebus::test {

class process_guard : public common::child_process {
  public:
    using common::child_process::child_process;
    ~process_guard();
    process_guard(const process_guard&) = delete;
    process_guard& operator=(const process_guard&) = delete;

    /// Prints the log to stderr with a header naming the process.
    void dump_log() const;
};

/// Waits (a hang guard, polling the log file) until `proc`'s log contains `text`; false when
/// `guard` passed first.
bool log_shows(const process_guard& proc, std::string_view text,
               std::chrono::milliseconds guard = std::chrono::seconds(10));

/// Runs `executable` to completion (killed after `timeout`) and returns its exit status and
/// everything it printed, e.g. for config-error and --help checks.
struct run_result {
    int status = -1;
    std::string output;
};
run_result run_to_exit(const std::string& executable, const std::vector<std::string>& args,
                       const std::filesystem::path& log_path,
                       std::chrono::milliseconds timeout = std::chrono::seconds(20));

}  // namespace tradebus::test
