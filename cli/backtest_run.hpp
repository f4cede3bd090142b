// Inside `tradebus backtest` (backtest.cpp runs one backtest, backtest_sweep.cpp a grid of
// them in child processes): what the two share.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "tradebus/cli/app.hpp"
#include "tradebus/cli/backtest.hpp"
#include "tradebus/cli/journal_report.hpp"
#include "tradebus/cli/performance.hpp"

namespace tradebus::cli {

/// A run's journal read back: its trading report per UTC day and its performance.
struct run_summary {
    std::vector<day_summary> days;
    performance perf;
    std::uint64_t damaged = 0;  // corrupt records (a journal written by this run: none)
};

/// Reads `journal_dir`; throws std::runtime_error when it cannot.
[[nodiscard]] run_summary summarize_run(const std::filesystem::path& journal_dir);

/// Every combination of the settings' values (indexes into each one's values), the first
/// setting varying slowest.
[[nodiscard]] std::vector<std::vector<std::size_t>> settings_grid(
    const std::vector<setting>& settings);

/// The grid's runs, each `tradebus backtest` in a child process (`self` + `self_args`, e.g.
/// this executable and "backtest") with one value per setting, --jobs at a time, in
/// OUT/run-NNN; then one table of them ranked by final equity. Exit 0, 1 when a run failed,
/// 2 on a bad setting (every combination is checked before any run starts).
int run_sweep(const backtest_options& opts, const std::vector<setting>& settings,
              const std::vector<backtest_kind>& kinds, const std::string& self,
              const std::vector<std::string>& self_args, environment& env);

}  // namespace tradebus::cli
