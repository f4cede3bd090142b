#include "tradebus/strategy/strategy_config.hpp"

#include <algorithm>

#include "tradebus/schema/topics.hpp"

namespace tradebus::strategy {

namespace {

int period(common::section& s, std::string_view key, int fallback) {
    return static_cast<int>(s.integer(key, fallback, 1, 100'000));
}

// Reads the per-symbol keys from `s`, each defaulting to `base` (the [strategy] values for a
// symbol table, the built-in defaults for [strategy] itself), then checks cross-field rules.
symbol_params read_params(common::section& s, const symbol_params& base) {
    symbol_params p;
    p.fast_period = period(s, "fast_period", base.fast_period);
    p.slow_period = period(s, "slow_period", base.slow_period);
    p.rsi_period = period(s, "rsi_period", base.rsi_period);
    p.rsi_overbought = s.number("rsi_overbought", base.rsi_overbought, 0.0, 100.0);
    p.rsi_oversold = s.number("rsi_oversold", base.rsi_oversold, 0.0, 100.0);
    p.atr_period = period(s, "atr_period", base.atr_period);
    p.min_atr_bps = s.number("min_atr_bps", base.min_atr_bps, 0.0, 10'000.0);
    p.order_qty = s.integer("order_qty", base.order_qty, 1, 1'000'000'000);
    p.warmup_samples =
        static_cast<int>(s.integer("warmup_samples", base.warmup_samples, 0, 1'000'000));
    p.allow_short = s.boolean("allow_short", base.allow_short);
    if (p.fast_period >= p.slow_period) {
        s.error(s.has("fast_period") ? "fast_period" : "slow_period",
                "fast_period (" + std::to_string(p.fast_period) +
                    ") must be less than slow_period (" + std::to_string(p.slow_period) + ")");
    }
    if (p.rsi_oversold >= p.rsi_overbought) {
        s.error(s.has("rsi_oversold") ? "rsi_oversold" : "rsi_overbought",
                "rsi_oversold must be less than rsi_overbought");
    }
    return p;
}

}  // namespace

strategy_config load_strategy_config(common::section& own) {
    strategy_config cfg;
    cfg.symbols = own.strings("trade_symbols");
    if (!own.has("trade_symbols")) {
        own.error("trade_symbols", "missing required key (expected an array of symbols)");
    } else if (cfg.symbols.empty()) {
        own.error("trade_symbols", "expected at least one symbol");
    }
    for (const auto& sym : cfg.symbols) {
        if (!schema::topics::valid_symbol(sym)) {
            own.error("trade_symbols", "\"" + sym +
                                           "\" is not a valid symbol (1..32 of A-Z a-z 0-9 _ - / "
                                           ":)");
        } else if (std::count(cfg.symbols.begin(), cfg.symbols.end(), sym) > 1) {
            own.error("trade_symbols", "\"" + sym + "\" is listed twice");
        }
    }
    const auto source = own.choice("price_source", "tick_mid", {"tick_mid", "bar_close"});
    cfg.source = source == "bar_close" ? price_source::bar_close : price_source::tick_mid;
    cfg.signal_every_tick = own.boolean("signal_every_tick", false);
    cfg.pending_timeout_ms =
        own.integer("pending_timeout_ms", cfg.pending_timeout_ms, 1, 3'600'000);

    const symbol_params defaults = read_params(own, symbol_params{});
    auto overrides = own.table("symbols");
    for (const auto& key : overrides.table_keys()) {
        if (std::find(cfg.symbols.begin(), cfg.symbols.end(), key) == cfg.symbols.end()) {
            overrides.error(key, "overrides a symbol that is not in trade_symbols");
            auto ignored = overrides.table(key);
            (void)read_params(ignored, defaults);  // still check its keys and values
        }
    }
    for (const auto& sym : cfg.symbols) {
        auto sub = overrides.table(sym);
        cfg.params[sym] = sub.present() ? read_params(sub, defaults) : defaults;
    }
    return cfg;
}

}  // namespace tradebus::strategy
