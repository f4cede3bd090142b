#include "tradebus/risk/order_rate_limiter.hpp"

namespace tradebus::risk {

order_rate_limiter::order_rate_limiter(std::int64_t max_per_window, std::int64_t window_ns)
    : max_(max_per_window), window_ns_(window_ns) {}

std::size_t order_rate_limiter::in_window(std::int64_t now_ns) {
    // An order at t counts while now - t < window. A clock stepping backwards leaves entries
    // "in the future"; they simply count until the window passes them.
    while (!times_.empty() && now_ns - times_.front() >= window_ns_) times_.pop_front();
    return times_.size();
}

bool order_rate_limiter::allow(std::int64_t now_ns) {
    return static_cast<std::int64_t>(in_window(now_ns)) < max_;
}

void order_rate_limiter::record(std::int64_t now_ns) {
    times_.push_back(now_ns);
    while (static_cast<std::int64_t>(times_.size()) > max_) times_.pop_front();
}

}  // namespace tradebus::risk
