// The max_orders_per_sec rule: a sliding one-second window over the node clock of the orders
// risk approved. A window (not a token bucket) so "N orders in the last second" in a rejection
// means exactly what it says.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>

namespace tradebus::risk {

class order_rate_limiter {
  public:
    explicit order_rate_limiter(std::int64_t max_per_window,
                                std::int64_t window_ns = 1'000'000'000);

    /// True when one more order at `now_ns` stays within the limit. Does not record it.
    [[nodiscard]] bool allow(std::int64_t now_ns);
    /// Records an approved order at `now_ns`.
    void record(std::int64_t now_ns);
    /// Orders in the window ending at `now_ns`.
    [[nodiscard]] std::size_t in_window(std::int64_t now_ns);
    [[nodiscard]] std::int64_t limit() const noexcept { return max_; }
    /// A new limit (config reload): orders already in the window keep counting against it.
    void set_limit(std::int64_t max_per_window) noexcept { max_ = max_per_window; }
    [[nodiscard]] std::int64_t window_ns() const noexcept { return window_ns_; }

  private:
    std::int64_t max_;
    std::int64_t window_ns_;
    std::deque<std::int64_t> times_;  // at most max_ entries
};

}  // namespace tradebus::risk
