// Timing helpers for measuring tools (tradebus bench, bench/): a monotonic clock in ns, an
// absolute sleep for open-loop schedules, and nearest-rank percentiles of latency samples.
#pragma once

#include <cstdint>
#include <vector>

namespace tradebus::common {

/// CLOCK_MONOTONIC in ns.
[[nodiscard]] std::int64_t mono_ns() noexcept;

/// Sleeps until the CLOCK_MONOTONIC time `when` (returns at once when it has passed). Set
/// PR_SET_TIMERSLACK low in the sleeping thread, or every wake-up is ~50 us late.
void sleep_until_mono_ns(std::int64_t when) noexcept;

struct percentiles {
    double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;  // in the samples' unit
};

/// Nearest-rank percentiles of `samples` (sorted in place); all zero when empty.
[[nodiscard]] percentiles compute_percentiles(std::vector<double>& samples);

}  // namespace tradebus::common
