// What tradebus reads about a process from /proc: resident memory (VmRSS, and the peak VmHWM), CPU
// time (utime + stime) and open file descriptors. The benchmark and the tests read their children
// with it; the node runtime reads its own process for every heartbeat (PROTOCOL.md
// "node_counters"). Linux only, like the rest of tradebus.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace tradebus::common {

struct memory_sample {
    std::uint64_t rss_kib = 0;  // VmRSS: resident now
    std::uint64_t hwm_kib = 0;  // VmHWM: peak resident since the process started
};

/// /proc/<pid>/status VmRSS and VmHWM, or nullopt when the process is gone.
[[nodiscard]] std::optional<memory_sample> read_memory(pid_t pid);

/// utime + stime of /proc/<pid>/stat in clock ticks (all threads) and the ticks per second, or
/// nullopt when it is gone.
struct cpu_ticks {
    std::uint64_t ticks = 0;
    std::uint64_t per_second = 100;
};
[[nodiscard]] std::optional<cpu_ticks> read_cpu_ticks(pid_t pid);

/// utime + stime of /proc/<pid>/stat in seconds (all threads), or nullopt when it is gone.
[[nodiscard]] std::optional<double> read_cpu_seconds(pid_t pid);

/// The number of entries in /proc/<pid>/fd (for the calling process, not counting the descriptor
/// used to list them), or nullopt when it cannot be listed (gone, or not ours to read).
[[nodiscard]] std::optional<std::uint64_t> read_open_fds(pid_t pid);

/// The calling process's resources, as a node reports them in its heartbeat: a field it could not
/// read is 0 (PROTOCOL.md "node_counters": 0 = not reported).
struct process_resources {
    std::uint64_t cpu_ms = 0;     // utime + stime
    std::uint64_t rss_bytes = 0;  // VmRSS
    std::uint64_t open_fds = 0;
};
[[nodiscard]] process_resources read_own_resources();

}  // namespace tradebus::common
