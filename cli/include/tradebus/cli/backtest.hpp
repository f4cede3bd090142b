// The pieces of `tradebus backtest` others reuse: building a desk's nodes from its node files
// as the live executables build them (the bench's backtest section, an SDK node's backtest
// entry point), `--set` overrides of their settings (sweeps), and the replay of a journal's
// market data (`--data DIR`) in place of marketdata.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "tradebus/cli/app.hpp"
#include "tradebus/journal/reader.hpp"
#include "tradebus/runtime/node.hpp"
#include "tradebus/schema/events.hpp"

namespace tradebus::cli {

/// A node kind a backtest can run: its node file is DIR/<kind>.toml.
struct backtest_kind {
    std::string kind;
    runtime::logic_factory factory;
};

/// The pipeline's kinds, in the order they get each message: marketdata, strategy, risk,
/// execution.
[[nodiscard]] std::vector<backtest_kind> pipeline_kinds();

/// The part of the data a backtest replays (--from/--to): times in [from_ns, to_ns), each bound
/// optional.
struct replay_window {
    std::optional<std::int64_t> from_ns, to_ns;
    [[nodiscard]] bool before(std::int64_t t) const noexcept { return from_ns && t < *from_ns; }
    [[nodiscard]] bool after(std::int64_t t) const noexcept { return to_ns && t >= *to_ns; }
    [[nodiscard]] bool bounded() const noexcept { return from_ns || to_ns; }
};

/// "at or after 2024-03-15T13:31:00.000Z and before ..." (UTC), for messages; "" when unbounded.
[[nodiscard]] std::string describe(const replay_window& window);

/// Makes marketdata's node file replay the CSV `data` on the simulated clock, at its recorded
/// pace and times, only its rows in `window` ([marketdata.csv] from_ns / to_ns), and stop at
/// its end: whatever the file says about its source.
void replay_data(toml::table& marketdata_file, const std::string& data,
                 const replay_window& window = {});

/// The node that stands in for marketdata when a backtest replays a journal (journal_feed): the
/// `src` of the md events it publishes.
inline constexpr std::string_view journal_feed_name = "replay";

/// A journal record a backtest cannot replay: "<segment file>:<offset>: why".
class journal_data_error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// A journal's market data records (md.tick.* and md.bar.*) in a window, one at a time in
/// journal order, each decoded. Every other record is skipped: other topics, and the journal's
/// own gap markers and recorder marks (counted: gap_markers()). Reading ends at the first md
/// record at or after the window's end (md records are in time order, so the rest is later).
class md_records {
  public:
    /// Lists `dir`'s segments; throws std::runtime_error when it cannot be listed.
    md_records(const std::string& dir, replay_window window);

    struct item {
        std::uint64_t index = 0;  // the record's index in the journal
        std::int64_t at = 0;      // its receive time: when it is published on the simulated clock
        std::string_view topic;   // valid until the next call
        schema::event ev;
    };

    /// The next md record in the window, or nullptr after the last. Throws journal_data_error
    /// ("<segment>:<offset>: why") for a torn or corrupt record anywhere up to there, an md
    /// record that does not decode or whose event does not belong on its topic, and an md record
    /// received earlier than the md record before it.
    item* next();

    [[nodiscard]] const std::vector<std::string>& segments() const noexcept {
        return reader_.segments();
    }
    /// Gap markers on md topics in the window: messages the recording journal never got.
    [[nodiscard]] std::uint64_t gap_markers() const noexcept { return gap_markers_; }

  private:
    journal::reader reader_;
    replay_window window_;
    item item_;
    std::optional<std::int64_t> last_at_;
    std::uint64_t gap_markers_ = 0;
    bool done_ = false;
};

/// What the check of a journal before a backtest found in the window.
struct journal_scan {
    std::size_t segments = 0;
    std::uint64_t records = 0, ticks = 0, bars = 0;  // md records to replay
    std::int64_t first_ns = 0, last_ns = 0;          // their first and last receive times
    std::uint64_t last_index = 0;                    // the journal index of the last one
    std::uint64_t gap_markers = 0;
    std::map<std::string, std::uint64_t> symbols;  // md records to replay, by their symbol
};

/// Reads every md record of the journal in `dir` in `window` (md_records): every one must be
/// good. Throws journal_data_error, or std::runtime_error when `dir` cannot be listed.
[[nodiscard]] journal_scan scan_journal(const std::string& dir, const replay_window& window);

/// Stands in for marketdata in a backtest of a journal: publishes the md records `scan` found,
/// each record's decoded event on its own topic at its receive time on the simulated clock (the
/// simulation stamps the envelope as for any publisher, with this node's name; the trace id is
/// the recorded one), then asks the run to stop as marketdata does at the end of a CSV. Reads
/// the journal again as it goes, in bounded memory, up to the last record the scan saw (a live
/// journal may have grown since); a record that went bad or missing since the scan is a
/// runtime error (thrown out of the simulation's run).
class journal_feed final : public runtime::node_logic {
  public:
    journal_feed(std::string dir, replay_window window, journal_scan scan, std::int64_t max_batch);

    [[nodiscard]] std::vector<std::string> subscriptions() const override { return {}; }
    [[nodiscard]] std::vector<std::string> publications() const override;
    void on_start(runtime::context& ctx) override;
    std::int64_t on_timer(runtime::context& ctx, std::int64_t now_ns) override;

    [[nodiscard]] std::uint64_t published() const noexcept { return published_; }
    [[nodiscard]] bool finished() const noexcept { return finished_; }

  private:
    std::string dir_;
    replay_window window_;
    journal_scan scan_;
    std::int64_t max_batch_;
    std::optional<md_records> records_;
    md_records::item* pending_ = nullptr;
    std::uint64_t published_ = 0;
    bool finished_ = false;
};

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
