// A benchmark's child process (tradebus-broker, tradebus-bench-proxy, tradebus-bench-codec)
// for the length of a scope, after tests/integration/support/process_guard (which links
// doctest, so bench/ has its own): output goes to a log file, SIGTERM then SIGKILL on scope
// exit, the child dies with the driver (PR_SET_PDEATHSIG). Nothing here sleeps for readiness;
// waiting for an exit polls waitpid.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace tradebus::bench {

class child_process {
  public:
    /// Starts `executable` with `args`, its stdout and stderr appended to `log_path`. Throws
    /// std::runtime_error when the log cannot be opened or fork fails.
    child_process(std::string executable, std::vector<std::string> args,
                  std::filesystem::path log_path);
    ~child_process();
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    [[nodiscard]] pid_t pid() const noexcept { return pid_; }
    [[nodiscard]] const std::string& executable() const noexcept { return executable_; }
    [[nodiscard]] bool running();
    /// Waits up to `timeout` for the exit; the exit code (128 + signal when killed), or nullopt.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);
    /// SIGTERM, up to `grace` for the exit, then SIGKILL. Returns the exit status.
    int stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
    /// Everything the child has written so far.
    [[nodiscard]] std::string log() const;

  private:
    std::string executable_;
    std::filesystem::path log_path_;
    pid_t pid_ = -1;
    std::optional<int> status_;
};

/// A fresh directory under /tmp (or a short $TMPDIR) for configs, logs, ipc:// sockets and
/// journals; removed with everything in it on scope exit unless keep() was called.
class temp_dir {
  public:
    temp_dir();
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
    [[nodiscard]] std::filesystem::path file(std::string_view name) const { return path_ / name; }
    /// Writes `content` to file(name) and returns its path (throws when it cannot).
    std::filesystem::path write(std::string_view name, std::string_view content) const;
    void keep() noexcept { keep_ = true; }

  private:
    std::filesystem::path path_;
    bool keep_ = false;
};

}  // namespace tradebus::bench
