#include "tradebus/common/loop.hpp"

#include <algorithm>
#include <cerrno>
#include <limits>
#include <zmq.hpp>

#include "tradebus/common/process.hpp"

namespace tradebus::common {

void run_loop(loop_owner& owner, std::int64_t max_wait_ms) {
    const std::int64_t watchdog_ms = watchdog_interval().count();
    std::int64_t next_watchdog =
        watchdog_ms > 0 ? mono_ms() : std::numeric_limits<std::int64_t>::max();
    while (!stop_requested() && !owner.done()) {
        try {
            const auto w = owner.prepare();
            const std::int64_t now = mono_ms();
            const std::int64_t wait = std::clamp<std::int64_t>(
                std::min({w.timeout_ms, max_wait_ms, next_watchdog - now}), 0, max_wait_ms);
            zmq::poll(w.items.data(), w.items.size(), std::chrono::milliseconds(wait));
            owner.dispatch();
            owner.before_sleep();
        } catch (const zmq::error_t& e) {
            // A stop signal interrupted a ZeroMQ call not already retried (eintr.hpp): the
            // loop condition decides, so a SIGTERM is a clean stop, never an error.
            if (e.num() != EINTR) throw;
        }
        if (const std::int64_t now = mono_ms(); now >= next_watchdog) {
            notify_watchdog();
            next_watchdog = now + std::max<std::int64_t>(1, watchdog_ms / 2);
        }
    }
}

}  // namespace tradebus::common
