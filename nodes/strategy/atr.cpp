#include "tradebus/strategy/atr.hpp"

#include <algorithm>
#include <cmath>

namespace tradebus::strategy {

atr::atr(int period) : period_(std::max(period, 1)) {}

double atr::update(double high, double low, double close) {
    double tr = high - low;
    if (has_prev_) {
        tr = std::max({tr, std::fabs(high - prev_close_), std::fabs(low - prev_close_)});
    }
    has_prev_ = true;
    prev_close_ = close;
    if (count_ < period_) {
        seed_sum_ += tr;
        ++count_;
        value_ = seed_sum_ / static_cast<double>(count_);
    } else {
        const auto n = static_cast<double>(period_);
        value_ = (value_ * (n - 1.0) + tr) / n;
    }
    return value_;
}

}  // namespace tradebus::strategy
