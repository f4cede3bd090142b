// A child process and a scratch directory for the length of a scope, shared by the integration
// test harness (tests/integration/support/process_guard) and the benchmark driver (bench/):
// no doctest here. The child's stdout and stderr go to a log file, it dies with its parent
// (PR_SET_PDEATHSIG), and it gets SIGTERM then SIGKILL on scope exit. Nothing here sleeps for
// readiness: waiting for an exit polls waitpid.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tradebus::common {

class child_process {
  public:
    /// Starts `executable` with `args`, its output appended to `log_path`. `env` entries
    /// ("KEY=VALUE") are added to (or replace in) this process's environment. Throws
    /// std::runtime_error when the log cannot be opened or fork fails.
    child_process(std::string executable, std::vector<std::string> args,
                  std::filesystem::path log_path, std::vector<std::string> env = {});
    ~child_process();
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    [[nodiscard]] pid_t pid() const noexcept { return pid_; }
    [[nodiscard]] const std::string& executable() const noexcept { return executable_; }
    [[nodiscard]] const std::filesystem::path& log_path() const noexcept { return log_path_; }
    /// True while the child has not exited.
    [[nodiscard]] bool running();
    /// Waits up to `timeout` for the exit. Returns the exit status (the exit code, or 128 +
    /// signal number when a signal ended it), or nullopt while it is still running.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);
    /// Sends `sig` to the child (if still running).
    void signal(int sig);
    /// SIGTERM, up to `grace` for the exit, then SIGKILL (said on stderr). Returns the exit
    /// status.
    int stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
    /// Everything the child has written so far.
    [[nodiscard]] std::string log() const;

  private:
    std::string executable_;
    std::filesystem::path log_path_;
    pid_t pid_ = -1;
    std::optional<int> status_;
};

/// A fresh directory $TMPDIR/<prefix>-XXXXXX (/tmp when TMPDIR is long: ipc:// paths must fit
/// in sockaddr_un's 108 bytes) for configs, logs, ipc:// sockets and journals; removed with
/// everything in it on scope exit unless keep() was called.
class scratch_dir {
  public:
    explicit scratch_dir(std::string_view prefix);
    ~scratch_dir();
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;

    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
    [[nodiscard]] std::filesystem::path file(std::string_view name) const { return path_ / name; }
    /// Writes `content` to file(name) and returns its path (throws when it cannot).
    std::filesystem::path write(std::string_view name, std::string_view content) const;
    void keep() noexcept { keep_ = true; }

  private:
    std::filesystem::path path_;
    bool keep_ = false;
};

}  // namespace tradebus::common
