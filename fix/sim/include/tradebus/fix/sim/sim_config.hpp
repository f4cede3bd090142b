// The config of tradebus-venue-sim, the FIX 4.4 venue simulator (fix/sim/README.md is the
// reference): [venue] (its CompID, port, store, the client CompIDs it accepts, the control
// endpoint, bounds) and [market] (the house market: a synthetic random walk per symbol, or
// quotes only through the control endpoint). Errors are `file:line:col: key: ...` like every
// tradebus config (common/config.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tradebus/common/config.hpp"

namespace tradebus::fix::sim {

/// One symbol of the house market ([market.symbols.<SYM>]).
struct sim_symbol {
    std::string symbol;
    double start_px = 100.0;      // first mid, currency units
    double volatility_bps = 5.0;  // stddev of the mid's move over one second, bps
    double spread_bps = 2.0;      // quoted spread, bps of the mid
    std::int64_t min_qty = 100;   // house size on each side, lots: drawn in [min_qty, max_qty]
    std::int64_t max_qty = 500;
};

struct sim_config {
    // [venue]
    std::string sender_comp_id = "VENUE";
    int port = 0;
    std::string store_dir;
    std::string data_dictionary;       // default fix::default_dictionary()
    std::vector<std::string> clients;  // accepted client CompIDs, one session each
    std::string control;               // ZeroMQ REP endpoint, "" = none
    std::int64_t max_orders_per_client = 10'000;
    std::int64_t max_md_subscriptions = 100;  // per session
    std::string log_level = "info";
    // [market]
    std::string source = "synthetic";  // "synthetic" | "none"
    std::int64_t interval_ms = 200;
    std::uint64_t seed = 0;  // 0 = a different walk every run
    double tick_size = 0.01;
    std::vector<sim_symbol> symbols;
};

/// Reads the sections of an already parsed file; problems are recorded in `errors`.
sim_config read_sim_config(const toml::table& table, common::config_errors& errors);
/// Parses and reads `path`; throws common::config_error listing every problem.
sim_config load_sim_config(const std::string& path);

}  // namespace tradebus::fix::sim
