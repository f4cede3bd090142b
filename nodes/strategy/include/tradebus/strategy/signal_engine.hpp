// The per-symbol decision maker of the strategy node: an EMA fast/slow crossover, filtered by
// RSI (no BUY when overbought, no SELL when oversold) and ATR (minimum volatility), silent
// during warmup, and aware of the symbol's exposure so it never stacks a second entry on top
// of the first. Pure: no clock, no I/O; strategy_node.cpp feeds it and publishes its output.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "tradebus/schema/types.hpp"
#include "tradebus/strategy/atr.hpp"
#include "tradebus/strategy/ema.hpp"
#include "tradebus/strategy/rsi.hpp"
#include "tradebus/strategy/strategy_config.hpp"

namespace tradebus::strategy {

/// One price sample: a tick's mid (high == low == close) or a bar.
struct sample {
    double high = 0.0, low = 0.0, close = 0.0;
    static sample of_price(double px) { return {px, px, px}; }
};

/// What the engine wants to do. qty > 0 always; for FLAT it is the exposure to close.
struct decision {
    schema::side dir = schema::side::flat;
    std::int64_t qty = 0;
    double confidence = 0.0;  // [0, 1]
    std::string reason;
};

class signal_engine {
  public:
    explicit signal_engine(const symbol_params& params, bool signal_every_tick = false);

    /// Feeds one sample. `exposure` is the symbol's signed position plus the orders and
    /// signals still in flight (position_tracker::exposure). Returns a decision when the fast
    /// EMA crossed the slow one on this sample (and the filters and the exposure leave
    /// something to do), or on every sample in signal_every_tick mode; nullopt otherwise.
    ///
    /// On an upward cross the target is +order_qty; on a downward cross -order_qty (0 when
    /// allow_short is false). BUY/SELL qty = |target - exposure|, nothing when the exposure is
    /// already at or beyond the target (no stacking); reaching a target of 0 is a FLAT. When a
    /// filter blocks the entry but the exposure is on the wrong side of the cross, the engine
    /// still closes it with a FLAT: a reversal is a reason to get out even when it is not a
    /// reason to get in.
    std::optional<decision> on_sample(const sample& s, std::int64_t exposure);

    [[nodiscard]] const symbol_params& params() const noexcept { return params_; }
    /// Samples needed before the first signal: max(slow_period, rsi_period + 1, atr_period,
    /// warmup_samples).
    [[nodiscard]] std::int64_t warmup() const noexcept { return warmup_; }
    [[nodiscard]] std::int64_t samples() const noexcept { return samples_; }
    [[nodiscard]] const ema& fast() const noexcept { return fast_; }
    [[nodiscard]] const ema& slow() const noexcept { return slow_; }
    [[nodiscard]] const rsi& rsi_indicator() const noexcept { return rsi_; }
    [[nodiscard]] const atr& atr_indicator() const noexcept { return atr_; }

  private:
    symbol_params params_;
    bool every_tick_;
    ema fast_;
    ema slow_;
    rsi rsi_;
    atr atr_;
    std::int64_t warmup_;
    std::int64_t samples_ = 0;
    int last_sign_ = 0;  // sign of fast - slow at the last sample where it was not 0
    bool next_buy_ = true;
};

}  // namespace tradebus::strategy
