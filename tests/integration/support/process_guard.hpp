// Runs a real executable as a child process for the length of a scope (redis
// tests/support/server.tcl, nats RunServer): stdout and stderr go to a log file, the process
// gets SIGTERM then SIGKILL on scope exit, and its log is printed to stderr when the test
// failed. Nothing here sleeps for readiness: waiting for a process to exit polls waitpid.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tradebus::test {

class process_guard {
  public:
    /// Starts `executable` with `args`, appending its output to `log_path`. `env` entries
    /// ("KEY=VALUE") are added to (or replace in) this process's environment.
    process_guard(std::string executable, std::vector<std::string> args,
                  std::filesystem::path log_path, std::vector<std::string> env = {});
    ~process_guard();
    process_guard(const process_guard&) = delete;
    process_guard& operator=(const process_guard&) = delete;

    [[nodiscard]] pid_t pid() const noexcept { return pid_; }
    /// True while the child has not exited.
    [[nodiscard]] bool running();
    /// Waits up to `timeout` for the child to exit. Returns its exit status (the exit code, or
    /// 128 + signal number when a signal ended it), or nullopt if it is still running.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);
    /// Sends `sig` to the child (if still running).
    void signal(int sig);
    /// SIGTERM, waits up to `grace`, then SIGKILL. Returns the exit status.
    int stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

    /// Everything the child wrote so far.
    [[nodiscard]] std::string log() const;
    [[nodiscard]] const std::filesystem::path& log_path() const noexcept { return log_path_; }
    /// Prints the log to stderr with a header naming the process.
    void dump_log() const;

  private:
    std::string executable_;
    std::filesystem::path log_path_;
    pid_t pid_ = -1;
    std::optional<int> status_;
};

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
