// What the benchmark and the tests read about a child process from /proc: resident memory (VmRSS,
// and the peak VmHWM) and CPU time (utime + stime). Linux only, like the rest of tradebus.
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

/// utime + stime of /proc/<pid>/stat in seconds (all threads), or nullopt when it is gone.
[[nodiscard]] std::optional<double> read_cpu_seconds(pid_t pid);

}  // namespace tradebus::common
