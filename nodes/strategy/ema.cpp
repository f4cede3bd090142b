#include "tradebus/strategy/ema.hpp"

#include <algorithm>

namespace tradebus::strategy {

ema::ema(int period)
    : period_(std::max(period, 1)), alpha_(2.0 / (static_cast<double>(period_) + 1.0)) {}

double ema::update(double x) {
    if (count_ < period_) {
        // Seeding: the simple average of the first `period` samples.
        seed_sum_ += x;
        ++count_;
        value_ = seed_sum_ / static_cast<double>(count_);
    } else {
        value_ += alpha_ * (x - value_);
    }
    return value_;
}

}  // namespace tradebus::strategy
