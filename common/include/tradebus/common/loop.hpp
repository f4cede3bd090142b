// The one loop the broker and every node run (ARCHITECTURE.md "The loop"): one thread waits on
// its owner's sockets until the nearest deadline, hands over what is readable, runs what is due
// before it sleeps again, and feeds the systemd watchdog, until a stop signal (or the owner)
// ends it. A stop signal that interrupts a ZeroMQ call ends the turn, never the process.
#pragma once

#include <zmq.h>

#include <cstdint>
#include <span>

namespace tradebus::common {

/// What a loop's owner does in each turn.
class loop_owner {
  public:
    virtual ~loop_owner() = default;

    /// What to wait on this turn.
    struct wait {
        std::span<zmq_pollitem_t> items;  // owned by the owner; revents are read in dispatch()
        std::int64_t timeout_ms;          // until the owner's nearest deadline (<= 0: no wait)
    };
    /// Before the wait: what to poll and for how long (the loop caps it at max_wait_ms).
    virtual wait prepare() = 0;
    /// After the wait: drain each readable item within its budget (dontwait).
    virtual void dispatch() = 0;
    /// After dispatch, before the next wait: run the timers that are due, finish a batch.
    virtual void before_sleep() {}
    /// True to end the loop (besides a stop signal).
    [[nodiscard]] virtual bool done() const { return false; }
};

/// Runs turns of `owner` until common::stop_requested() or owner.done(). No wait lasts longer
/// than `max_wait_ms` (so a stop is noticed) or past the next systemd watchdog ping, which the
/// loop sends at half the watchdog interval when the watchdog is on.
void run_loop(loop_owner& owner, std::int64_t max_wait_ms);

}  // namespace tradebus::common
