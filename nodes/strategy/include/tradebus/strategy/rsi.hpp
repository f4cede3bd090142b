// Relative Strength Index with Wilder's smoothing, fed one price at a time. The strategy uses
// it as a filter: no BUY into an overbought market, no SELL into an oversold one.
#pragma once

#include <cstdint>

namespace tradebus::strategy {

/// Wilder's RSI over `period` price changes (so it needs period + 1 prices to be ready).
/// The first average gain/loss is the simple mean of the first `period` changes; after that
/// avg = (avg * (period - 1) + current) / period. RSI = 100 - 100 / (1 + avg_gain / avg_loss),
/// 100 when there were gains but no losses, and 50 (neutral) when the price never moved.
class rsi {
  public:
    /// `period` >= 1 (smaller values are treated as 1).
    explicit rsi(int period);

    /// Adds one price and returns the new value (50 until ready).
    double update(double price);

    [[nodiscard]] double value() const noexcept;
    /// True once `period` changes (period + 1 prices) have been seen.
    [[nodiscard]] bool ready() const noexcept { return changes_ >= period_; }
    [[nodiscard]] int period() const noexcept { return period_; }
    [[nodiscard]] double avg_gain() const noexcept { return avg_gain_; }
    [[nodiscard]] double avg_loss() const noexcept { return avg_loss_; }

  private:
    int period_;
    bool has_prev_ = false;
    double prev_ = 0.0;
    std::int64_t changes_ = 0;
    double avg_gain_ = 0.0;
    double avg_loss_ = 0.0;
};

}  // namespace tradebus::strategy
