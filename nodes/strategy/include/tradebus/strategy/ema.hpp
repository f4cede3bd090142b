// Exponential moving average, fed one price at a time. Part of the strategy's per-symbol
// indicator set (signal_engine.hpp); prices are doubles here because indicators are the one
// place the pipeline leaves fixed point (schema/types.hpp).
#pragma once

#include <cstdint>

namespace tradebus::strategy {

/// EMA over `period` samples with alpha = 2 / (period + 1), seeded with the simple average of
/// the first `period` samples (the usual charting convention, so values match a spreadsheet).
/// Before it is ready, value() is the running simple average of the samples so far.
class ema {
  public:
    /// `period` >= 1 (config validation guarantees it; smaller values are treated as 1).
    explicit ema(int period);

    /// Adds one sample and returns the new value.
    double update(double x);

    [[nodiscard]] double value() const noexcept { return value_; }
    /// True once `period` samples have been seen.
    [[nodiscard]] bool ready() const noexcept { return count_ >= period_; }
    [[nodiscard]] int period() const noexcept { return period_; }
    [[nodiscard]] double alpha() const noexcept { return alpha_; }

  private:
    int period_;
    double alpha_;
    double value_ = 0.0;
    double seed_sum_ = 0.0;
    std::int64_t count_ = 0;
};

}  // namespace tradebus::strategy
