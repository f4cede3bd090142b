#include "tradebus/risk/risk_config.hpp"

#include <algorithm>

#include "tradebus/schema/topics.hpp"

namespace tradebus::risk {

namespace {

constexpr std::int64_t max_lots = 1'000'000'000;
constexpr double max_money = 1e10;  // currency units; far below the fixed-point range

std::int64_t money(common::section& s, std::string_view key, std::int64_t fallback, double min) {
    return schema::to_fixed(s.number(key, schema::from_fixed(fallback), min, max_money));
}

symbol_limits read_limits(common::section& s, const symbol_limits& base) {
    symbol_limits l;
    l.max_order_qty = s.integer("max_order_qty", base.max_order_qty, 1, max_lots);
    l.max_position = s.integer("max_position", base.max_position, 1, max_lots);
    return l;
}

}  // namespace

const symbol_limits& risk_config::limits_for(const std::string& symbol) const {
    auto it = symbols.find(symbol);
    return it == symbols.end() ? limits : it->second;
}

risk_config load_risk_config(common::section& own) {
    risk_config cfg;
    cfg.allowed_symbols = own.strings("allowed_symbols");
    for (const auto& sym : cfg.allowed_symbols) {
        if (!schema::topics::valid_symbol(sym)) {
            own.error("allowed_symbols", "\"" + sym + "\" is not a valid symbol");
        }
    }
    cfg.limits = read_limits(own, cfg.limits);
    cfg.reduce_oversize = own.boolean("reduce_oversize", cfg.reduce_oversize);
    cfg.max_gross_notional = money(own, "max_gross_notional", cfg.max_gross_notional, 0.01);
    cfg.max_daily_loss = money(own, "max_daily_loss", cfg.max_daily_loss, 0.01);
    cfg.reducing_daily_loss = money(own, "reducing_daily_loss", cfg.reducing_daily_loss, 0.0);
    if (cfg.reducing_daily_loss >= cfg.max_daily_loss) {
        own.error("reducing_daily_loss",
                  "must be less than max_daily_loss (reduce-only comes before the halt), or 0");
    }
    cfg.max_orders_per_sec =
        own.integer("max_orders_per_sec", cfg.max_orders_per_sec, 1, 1'000'000);
    cfg.price_band_bps = own.number("price_band_bps", cfg.price_band_bps, 0.0, 10'000.0);
    cfg.stale_quote_ms = own.integer("stale_quote_ms", cfg.stale_quote_ms, 1, 86'400'000);
    const auto kind = own.choice("order_type", "market", {"market", "limit"});
    cfg.order_kind = kind == "limit" ? schema::order_type::limit : schema::order_type::market;
    cfg.limit_offset_bps = own.number("limit_offset_bps", cfg.limit_offset_bps, 0.0, 10'000.0);
    cfg.limit_tick_size = schema::to_fixed(
        own.number("limit_tick_size", schema::from_fixed(cfg.limit_tick_size), 1e-8, 1e6));
    if (cfg.limit_tick_size <= 0) cfg.limit_tick_size = 1;
    cfg.position_interval_ms =
        own.integer("position_interval_ms", cfg.position_interval_ms, 10, 3'600'000);
    const auto tif = own.choice("default_tif", "day", {"day", "gtc", "ioc", "fok"});
    cfg.default_tif = tif == "gtc"   ? schema::time_in_force::gtc
                      : tif == "ioc" ? schema::time_in_force::ioc
                      : tif == "fok" ? schema::time_in_force::fok
                                     : schema::time_in_force::day;
    cfg.max_working_orders =
        own.integer("max_working_orders", cfg.max_working_orders, 1, 1'000'000);

    auto overrides = own.table("symbols");
    for (const auto& sym : overrides.table_keys()) {
        auto sub = overrides.table(sym);
        if (!schema::topics::valid_symbol(sym)) {
            overrides.error(sym, "is not a valid symbol");
        } else if (!cfg.allowed_symbols.empty() &&
                   std::find(cfg.allowed_symbols.begin(), cfg.allowed_symbols.end(), sym) ==
                       cfg.allowed_symbols.end()) {
            overrides.error(sym, "overrides a symbol that is not in allowed_symbols");
        }
        cfg.symbols[sym] = read_limits(sub, cfg.limits);
    }
    return cfg;
}

}  // namespace tradebus::risk
