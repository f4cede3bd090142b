// Average True Range with Wilder's smoothing: the strategy's volatility measure (minimum
// volatility filter, and the yardstick that turns an EMA spread into a confidence).
#pragma once

#include <cstdint>

namespace tradebus::strategy {

/// Wilder's ATR over `period` true ranges. TR = max(high - low, |high - prev_close|,
/// |low - prev_close|); the first sample has no previous close, so its TR is high - low.
/// The first ATR is the simple mean of the first `period` TRs; after that
/// atr = (atr * (period - 1) + tr) / period. Fed from ticks, high == low == close == mid, so
/// TR is simply |mid - previous mid| (and 0 for the very first tick).
class atr {
  public:
    /// `period` >= 1 (smaller values are treated as 1).
    explicit atr(int period);

    /// Adds one bar (or one price, with high == low == close) and returns the new value.
    double update(double high, double low, double close);
    double update(double price) { return update(price, price, price); }

    /// The ATR once ready; before that, the mean of the true ranges seen so far.
    [[nodiscard]] double value() const noexcept { return value_; }
    [[nodiscard]] bool ready() const noexcept { return count_ >= period_; }
    [[nodiscard]] int period() const noexcept { return period_; }

  private:
    int period_;
    bool has_prev_ = false;
    double prev_close_ = 0.0;
    std::int64_t count_ = 0;
    double seed_sum_ = 0.0;
    double value_ = 0.0;
};

}  // namespace tradebus::strategy
