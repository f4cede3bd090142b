// The options of `tradebus backtest`, shared by the CLI's subcommand (app.cpp) and an SDK
// node's backtest entry point (backtest_main): one definition, one --help.
#pragma once

#include <CLI/CLI.hpp>

#include "tradebus/cli/app.hpp"

namespace tradebus::cli {

/// Adds every backtest option to `cmd`, parsed into `o` (its fields hold the defaults).
void add_backtest_options(CLI::App& cmd, backtest_options& o);

}  // namespace tradebus::cli
