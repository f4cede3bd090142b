// The strategy node's own config ([strategy] and [strategy.symbols.<SYM>] in
// config/nodes/strategy.toml): defaults for every traded symbol plus per-symbol overrides.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tradebus/common/config.hpp"

namespace tradebus::strategy {

/// Where the indicators take their prices from.
enum class price_source : std::uint8_t {
    tick_mid,   // md.tick.<SYM>: (bid + ask) / 2, or the last trade for a one-sided quote
    bar_close,  // md.bar.<SYM>: close for EMA/RSI, high/low/close for ATR
};

/// Indicator and sizing parameters of one symbol (TOML key = member name).
struct symbol_params {
    int fast_period = 5;           // fast EMA, samples
    int slow_period = 20;          // slow EMA, samples (> fast_period)
    int rsi_period = 14;           // Wilder RSI, price changes
    double rsi_overbought = 70.0;  // no BUY while RSI is above (100 = filter off)
    double rsi_oversold = 30.0;    // no SELL while RSI is below (0 = filter off)
    int atr_period = 14;           // Wilder ATR, samples
    double min_atr_bps = 0.0;      // no entry while ATR / price < this, in bps (0 = filter off)
    std::int64_t order_qty = 100;  // target position size, lots
    int warmup_samples = 0;        // samples before any signal; 0 = what the indicators need
    bool allow_short = true;       // false: a downward cross only closes a long (FLAT)
};

struct strategy_config {
    std::vector<std::string> symbols;             // trade_symbols, in config order
    std::map<std::string, symbol_params> params;  // one entry per traded symbol
    price_source source = price_source::tick_mid;
    /// Benchmark mode: alternate BUY/SELL of order_qty on every sample, ignoring indicators.
    bool signal_every_tick = false;
    /// A signal risk has not answered, or an approved order with no fill, reject or further
    /// fill, stops counting towards the exposure after this long (lost message, risk down).
    std::int64_t pending_timeout_ms = 5000;
};

/// Reads the [strategy] table. Every problem (wrong type, out of range, fast >= slow, an
/// override for a symbol not traded, unknown keys via the runtime's finish()) is recorded in
/// `own`; the returned config then holds defaults where values were bad.
strategy_config load_strategy_config(common::section& own);

}  // namespace tradebus::strategy
