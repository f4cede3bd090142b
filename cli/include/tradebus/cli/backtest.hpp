// The pieces of `tradebus backtest` others reuse: building a desk's nodes from its node files
// as the live executables build them (the bench's backtest section, an SDK node's backtest
// entry point), and `--set` overrides of their settings (sweeps).
#pragma once

#include <toml++/toml.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tradebus/cli/app.hpp"
#include "tradebus/runtime/node.hpp"

namespace tradebus::cli {

/// A node kind a backtest can run: its node file is DIR/<kind>.toml.
struct backtest_kind {
    std::string kind;
    runtime::logic_factory factory;
};

/// The pipeline's kinds, in the order they get each message: marketdata, strategy, risk,
/// execution.
[[nodiscard]] std::vector<backtest_kind> pipeline_kinds();

/// Makes marketdata's node file replay the CSV `data` on the simulated clock, at its recorded
/// pace and times, and stop at its end: whatever the file says about its source.
void replay_data(toml::table& marketdata_file, const std::string& data);

/// One node built from its file, configured (node_logic::configure) and ready to add.
struct backtest_node {
    std::string kind, name;
    std::unique_ptr<runtime::node_logic> logic;
};

/// Builds one node per kind from DIR/<kind>.toml, in the order given. `adjust` may edit a
/// file's table before it is read (the replayed data, --set). Every problem (a missing file, a
/// bad value: "file: key: what was expected") is added to `errors`; nothing is returned then.
[[nodiscard]] std::vector<backtest_node> load_backtest_nodes(
    const std::string& dir, const std::vector<backtest_kind>& kinds,
    const std::function<void(std::string_view kind, toml::table& file)>& adjust,
    std::vector<std::string>& errors);

/// `tradebus backtest` running `kinds` (pipeline_kinds(), or an SDK node's with the
/// pipeline's): one backtest, or a sweep whose runs are this executable again with
/// `self_args` (e.g. "backtest") and the run's options. README "Backtesting".
int run_backtest(const backtest_options& opts, environment& env,
                 const std::vector<backtest_kind>& kinds,
                 const std::vector<std::string>& self_args);

/// An SDK node's backtest entry point, for its main():
///
///     if (tradebus::cli::backtest_requested(argc, argv))
///         return tradebus::cli::backtest_main(argc, argv, "meanrev", &make_meanrev);
///     return tradebus::runtime::run_node(argc, argv, "meanrev", &make_meanrev);
///
/// `EXE backtest --config DIR --data FILE ...` then runs `tradebus backtest` (every option the
/// same) with `kind`, built by `factory` from DIR/<kind>.toml as run_node builds it, in the
/// built-in strategy's place: --nodes defaults to marketdata,<kind>,risk,execution. Returns
/// the exit code (0, 1 failure, 2 usage).
[[nodiscard]] bool backtest_requested(int argc, char** argv);
int backtest_main(int argc, char** argv, std::string_view kind, runtime::logic_factory factory);

/// One `--set KIND.PATH=V1,V2,...`: the setting at the dotted PATH (its first part the kind's
/// own table, e.g. strategy.fast_period or strategy.symbols.MSFT.fast_period) in KIND's node
/// file, and the values to try, each a TOML value (5, 2.5, true, "x"; a bare word is a
/// string).
struct setting {
    std::string kind;
    std::vector<std::string> path;         // inside the node file, from its root
    std::string text;                      // as given, KIND.PATH
    std::vector<toml::table> values;       // each the value at key "v" (value_at(i))
    std::vector<std::string> value_texts;  // each as given
    [[nodiscard]] const toml::node& value_at(std::size_t i) const { return *values.at(i).get("v"); }
};

/// Parses one --set; on a malformed one returns nothing and says why in `error`.
[[nodiscard]] std::optional<setting> parse_setting(std::string_view arg, std::string& error);

/// Sets `path` in `file` to `value`, creating the tables on the way.
void apply_setting(toml::table& file, const std::vector<std::string>& path,
                   const toml::node& value);

}  // namespace tradebus::cli
