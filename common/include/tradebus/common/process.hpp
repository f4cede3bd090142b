// Process plumbing every tradebus executable shares: logging setup, stop signals, systemd
// notification, clocks, and rate-limited warnings for dropped input.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace tradebus::common {

/// The version string every binary prints and registers with ("0.1.0+<git sha>").
[[nodiscard]] std::string_view version() noexcept;

/// Builds the default spdlog logger named `instance`. Colour stderr on a TTY. When stderr is
/// systemd's journal stream (JOURNAL_STREAM names its device and inode), each line starts with
/// its sd-daemon(3) priority ("<4>" for a warning) and carries no timestamp, since journald adds
/// one. `level` is a spdlog level name; SPDLOG_LEVEL in the environment overrides it. Returns false
/// for an unknown level name.
bool init_logging(std::string_view instance, std::string_view level);

/// SIGINT/SIGTERM set a flag (and nothing else). Install once at startup.
void install_stop_signals();
[[nodiscard]] bool stop_requested() noexcept;
/// Lets tests and shutdown paths request a stop without a signal.
void request_stop() noexcept;

/// SIGHUP sets a flag (and nothing else) instead of terminating the process: a node reloads
/// its config file (`systemctl reload`). Install once at startup, after install_stop_signals.
void install_reload_signal();
/// True once per SIGHUP received since the last call (several coalesce into one).
[[nodiscard]] bool take_reload_request() noexcept;

/// sd_notify wrappers; no-ops when NOTIFY_SOCKET is unset.
void notify_ready(std::string_view status);
void notify_status(std::string_view status);
void notify_stopping();
/// The watchdog interval systemd expects pings within, or 0 when the watchdog is off.
[[nodiscard]] std::chrono::milliseconds watchdog_interval();
void notify_watchdog();

/// Wall-clock ns since the Unix epoch (envelope timestamps).
[[nodiscard]] std::int64_t now_ns() noexcept;
/// A random non-zero 64-bit number: 64 bits from the OS's entropy source mixed with the clock.
/// Broker epochs, publishers' incarnations (the envelope's `inc`) and request ids.
[[nodiscard]] std::uint64_t random_id();
/// Monotonic ms (deadlines, ages).
[[nodiscard]] std::int64_t mono_ms() noexcept;

/// Counts an event on every call and lets the caller log at most once per `period`, reporting
/// how many happened since the last report (always count, log at most 1/s: CONTRIBUTING.md "Bad
/// input").
class rate_limited {
  public:
    explicit rate_limited(std::chrono::milliseconds period = std::chrono::seconds(1))
        : period_ms_(period.count()) {}
    /// Counts one occurrence; returns the number to report (>0) when it is time to log.
    std::uint64_t hit() noexcept;

  private:
    std::int64_t period_ms_;
    std::int64_t last_ms_ = -1'000'000;
    std::uint64_t pending_ = 0;
};

}  // namespace tradebus::common
