// The risk node's limits ([risk] and [risk.symbols.<SYM>] in config/nodes/risk.toml). Money is
// written in currency units in TOML (max_daily_loss = 5000.0) and held here as 1e-8 fixed
// point. Every limit is required to be positive: there is no "0 = off" for a risk limit, so a
// forgotten key can never silently disable one (the defaults below apply instead).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tradebus/common/config.hpp"
#include "tradebus/schema/types.hpp"

namespace tradebus::risk {

/// Limits that may differ per symbol.
struct symbol_limits {
    std::int64_t max_order_qty = 100;  // lots per order
    std::int64_t max_position = 100;   // |position| incl. open orders, lots
};

struct risk_config {
    /// Symbols risk accepts signals for; empty = any valid symbol.
    std::vector<std::string> allowed_symbols;
    symbol_limits limits;                          // [risk] defaults
    std::map<std::string, symbol_limits> symbols;  // [risk.symbols.<SYM>] overrides
    /// An order above max_order_qty (or, in reducing state, above what reduces the position)
    /// is approved at the limit (true) or rejected (false).
    bool reduce_oversize = true;
    /// Sum over symbols of |position| x mid after the order, 1e-8 money. 1,000,000.00.
    std::int64_t max_gross_notional = 1'000'000 * schema::price_scale;
    /// Day P&L (realized + unrealized) at or below -max_daily_loss halts trading. 10,000.00.
    std::int64_t max_daily_loss = 10'000 * schema::price_scale;
    /// Day P&L at or below -reducing_daily_loss switches to reduce-only; 0 = no such stage.
    std::int64_t reducing_daily_loss = 0;
    /// Approved orders per sliding second (NautilusTrader's default submit rate is 100/s).
    std::int64_t max_orders_per_sec = 100;
    /// Signal ref_px vs the current mid, basis points: a fat-finger / stale-signal guard.
    double price_band_bps = 50.0;
    /// A quote older than this rejects the symbol's signals; no quote on any symbol for this
    /// long makes risk degraded (nothing approved at all).
    std::int64_t stale_quote_ms = 2000;
    /// MARKET orders, or LIMIT at ref_px +/- limit_offset_bps rounded to limit_tick_size.
    schema::order_type order_kind = schema::order_type::market;
    double limit_offset_bps = 10.0;
    std::int64_t limit_tick_size = schema::price_scale / 100;  // 0.01
    /// risk.position for every open position at this period (marks move with quotes).
    std::int64_t position_interval_ms = 1000;
    /// Time in force of every approved order (PROTOCOL.md "Order lifecycle"): DAY rests until
    /// the end of the trading day, like an order a trader forgets to cancel should.
    schema::time_in_force default_tif = schema::time_in_force::day;
    /// Orders approved and not yet ended (filled, cancelled, expired, rejected) that risk counts
    /// against its limits: at this many it approves nothing more (rule max_working_orders).
    /// Bounds risk's memory by its own approvals; 1000 is far above any sane resting book here.
    std::int64_t max_working_orders = 1000;

    [[nodiscard]] const symbol_limits& limits_for(const std::string& symbol) const;
};

/// Reads the [risk] table, recording every problem in `own` (the runtime reports them all and
/// exits 2). Bad values fall back to the defaults above so loading goes on.
risk_config load_risk_config(common::section& own);

}  // namespace tradebus::risk
