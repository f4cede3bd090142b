#include "tradebus/strategy/signal_engine.hpp"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <cmath>

namespace tradebus::strategy {

namespace {

// Confidence from the EMA spread measured in ATRs: s / (1 + s), so 0 at the cross itself,
// 0.5 at one ATR of spread, approaching 1 beyond. Without volatility yet, 10 bps of price
// counts as one unit.
double confidence_of(double spread, double atr_value, double price) {
    double s = 0.0;
    if (atr_value > 0.0) {
        s = spread / atr_value;
    } else if (price > 0.0) {
        s = spread / price * 1e4 / 10.0;
    }
    if (!std::isfinite(s) || s <= 0.0) return 0.0;
    return std::clamp(s / (1.0 + s), 0.0, 1.0);
}

}  // namespace

signal_engine::signal_engine(const symbol_params& params, bool signal_every_tick)
    : params_(params),
      every_tick_(signal_every_tick),
      fast_(params.fast_period),
      slow_(params.slow_period),
      rsi_(params.rsi_period),
      atr_(params.atr_period),
      warmup_(std::max<std::int64_t>({params.slow_period, params.fast_period,
                                      std::int64_t{params.rsi_period} + 1, params.atr_period,
                                      params.warmup_samples})) {}

std::optional<decision> signal_engine::on_sample(const sample& s, std::int64_t exposure) {
    const double f = fast_.update(s.close);
    const double sl = slow_.update(s.close);
    const double r = rsi_.update(s.close);
    const double a = atr_.update(s.high, s.low, s.close);
    ++samples_;

    if (every_tick_) {
        // Benchmark mode: a signal per sample, alternating so positions stay bounded.
        decision d{next_buy_ ? schema::side::buy : schema::side::sell, params_.order_qty, 1.0,
                   "benchmark: signal_every_tick"};
        next_buy_ = !next_buy_;
        return d;
    }
    if (samples_ < warmup_) return std::nullopt;

    const double diff = f - sl;
    const int sign = diff > 0.0 ? 1 : (diff < 0.0 ? -1 : 0);
    if (sign == 0) return std::nullopt;  // touching is not crossing
    const int prev = last_sign_;
    last_sign_ = sign;
    if (prev == 0 || prev == sign) return std::nullopt;  // first sample after warmup, or no cross

    const bool up = sign > 0;
    const double atr_bps = s.close > 0.0 ? a / s.close * 1e4 : 0.0;
    std::string why = fmt::format(
        "EMA{} {:.3f} crossed {} EMA{} {:.3f}, RSI {:.1f}, ATR {:.3f} "
        "({:.1f} bps)",
        params_.fast_period, f, up ? "above" : "below", params_.slow_period, sl, r, a, atr_bps);
    const double conf = confidence_of(std::fabs(diff), a, s.close);

    std::string blocked;
    if (up && r > params_.rsi_overbought) {
        blocked = fmt::format("RSI {:.1f} > rsi_overbought {:.1f}", r, params_.rsi_overbought);
    } else if (!up && r < params_.rsi_oversold) {
        blocked = fmt::format("RSI {:.1f} < rsi_oversold {:.1f}", r, params_.rsi_oversold);
    } else if (params_.min_atr_bps > 0.0 && atr_bps < params_.min_atr_bps) {
        blocked = fmt::format("ATR {:.1f} bps < min_atr_bps {:.1f}", atr_bps, params_.min_atr_bps);
    }
    if (!blocked.empty()) {
        // No entry; but a position against the cross is still closed.
        if ((up && exposure < 0) || (!up && exposure > 0)) {
            return decision{
                schema::side::flat, exposure < 0 ? -exposure : exposure, conf,
                fmt::format("{}; {}: closing {} {} instead of {}", why, blocked,
                            exposure < 0 ? "short" : "long", exposure < 0 ? -exposure : exposure,
                            up ? "buying" : "selling")};
        }
        return std::nullopt;
    }

    const std::int64_t target =
        up ? params_.order_qty : (params_.allow_short ? -params_.order_qty : 0);
    const std::int64_t delta = target - exposure;
    if (up ? delta <= 0 : delta >= 0) return std::nullopt;  // already there: no stacking
    if (target == 0) {
        return decision{schema::side::flat, -delta, conf,
                        fmt::format("{}; closing long {} (allow_short = false)", why, -delta)};
    }
    return decision{up ? schema::side::buy : schema::side::sell, delta > 0 ? delta : -delta, conf,
                    std::move(why)};
}

}  // namespace tradebus::strategy
