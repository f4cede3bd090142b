#include "tradebus/common/pacing.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <ctime>

namespace tradebus::common {

std::int64_t mono_ns() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void sleep_until_mono_ns(std::int64_t when) noexcept {
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(when / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(when % 1'000'000'000);
    while (::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
}

percentiles compute_percentiles(std::vector<double>& v) {
    percentiles p;
    if (v.empty()) return p;
    std::sort(v.begin(), v.end());
    const auto rank = [&](double q) {
        const auto k = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
        return v[std::min(v.size() - 1, k == 0 ? 0 : k - 1)];
    };
    p.p50 = rank(0.50);
    p.p90 = rank(0.90);
    p.p99 = rank(0.99);
    p.p999 = rank(0.999);
    p.max = v.back();
    return p;
}

}  // namespace tradebus::common
