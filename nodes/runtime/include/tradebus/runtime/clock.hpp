// Where a node gets the time. The engine reads time only through the clock it is given, and a
// node's logic only through its context (context::now_ns, context::mono_ms), which the engine
// answers from that clock. A live node runs on system_clock(); a simulated clock that jumps
// from event to event can run the same logic on history.
#pragma once

#include <cstdint>

namespace tradebus::runtime {

class clock {
  public:
    virtual ~clock() = default;
    /// Wall-clock ns since the Unix epoch: envelope timestamps, timers, trading sessions.
    virtual std::int64_t now_ns() = 0;
    /// Monotonic ms (any origin): timeouts, retries, heartbeats, how long a wait lasted.
    virtual std::int64_t mono_ms() = 0;
};

/// The machine's clocks (CLOCK_REALTIME and CLOCK_MONOTONIC).
[[nodiscard]] clock& system_clock() noexcept;

}  // namespace tradebus::runtime
