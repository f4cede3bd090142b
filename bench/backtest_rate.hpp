// How fast the backtester runs the pipeline's logic (runtime::simulation): synthetic ticks held
// in memory, published on a simulated clock to the built-in strategy, risk and execution
// (paper exchange) built from the project's node files (config/nodes), as `tradebus backtest`
// builds them; the same with every message decoded from its bytes as a live subscriber would
// (simulation_options::decode_each); and `tradebus backtest` itself on the same ticks as a CSV
// file (reading the CSV, journaling every message, the report).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace tradebus::bench {

struct backtest_bench_options {
    std::uint64_t ticks = 1'000'000;
    unsigned rounds = 3;     // engine runs per mode (the median is reported)
    std::string config_dir;  // the node files (the project's config/nodes)
    std::string tradebus_exe;
};

struct backtest_bench_result {
    std::uint64_t ticks = 0;
    double engine_ticks_per_s = 0;  // median of the rounds
    double engine_min = 0, engine_max = 0;
    double wire_ticks_per_s = 0;                             // decode_each, median
    std::uint64_t messages = 0, deliveries = 0, timers = 0;  // one engine run
    std::uint64_t signals = 0, orders = 0, fills = 0;
    double cli_ticks_per_s = 0;  // `tradebus backtest` wall time, process start to exit
    double cli_seconds = 0;
};

/// Runs every measurement in `dir` (the CSV and the CLI's output go there). Throws
/// std::runtime_error when a run fails (e.g. the CLI exits non-zero).
[[nodiscard]] backtest_bench_result run_backtest_bench(const std::filesystem::path& dir,
                                                       const backtest_bench_options& opts);

}  // namespace tradebus::bench
