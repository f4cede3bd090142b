#include "tradebus/strategy/rsi.hpp"

#include <algorithm>

namespace tradebus::strategy {

rsi::rsi(int period) : period_(std::max(period, 1)) {}

double rsi::update(double price) {
    if (!has_prev_) {
        has_prev_ = true;
        prev_ = price;
        return value();
    }
    const double change = price - prev_;
    prev_ = price;
    const double gain = change > 0.0 ? change : 0.0;
    const double loss = change < 0.0 ? -change : 0.0;
    const auto n = static_cast<double>(period_);
    if (changes_ < period_) {
        // Seeding: accumulate sums, turned into simple means at the period-th change.
        avg_gain_ += gain;
        avg_loss_ += loss;
        ++changes_;
        if (changes_ == period_) {
            avg_gain_ /= n;
            avg_loss_ /= n;
        }
    } else {
        avg_gain_ = (avg_gain_ * (n - 1.0) + gain) / n;
        avg_loss_ = (avg_loss_ * (n - 1.0) + loss) / n;
    }
    return value();
}

double rsi::value() const noexcept {
    if (!ready()) return 50.0;
    if (avg_loss_ <= 0.0) return avg_gain_ > 0.0 ? 100.0 : 50.0;
    return 100.0 - 100.0 / (1.0 + avg_gain_ / avg_loss_);
}

}  // namespace tradebus::strategy
