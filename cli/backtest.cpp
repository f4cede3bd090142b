// `tradebus backtest`: the pipeline's marketdata, strategy, risk and execution logic, built from
// their node files as the live executables build them, replaying a CSV of quotes (or a journal's
// market data: backtest_feed.cpp) on a simulated clock in this one process (runtime::simulation),
// every message journaled; then the journal's trading report of the run and its performance
// (text or JSON, and OUT/report.html).
#include "tradebus/cli/backtest.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <ostream>
#include <tuple>

#include "backtest_options.hpp"
#include "backtest_run.hpp"
#include "tradebus/cli/app.hpp"
#include "tradebus/cli/format.hpp"
#include "tradebus/cli/journal_report.hpp"
#include "tradebus/cli/journal_view.hpp"
#include "tradebus/cli/performance.hpp"
#include "tradebus/common/config.hpp"
#include "tradebus/common/process.hpp"
#include "tradebus/execution/execution_node.hpp"
#include "tradebus/journal/writer.hpp"
#include "tradebus/marketdata/csv_source.hpp"
#include "tradebus/marketdata/marketdata_node.hpp"
#include "tradebus/risk/risk_node.hpp"
#include "tradebus/runtime/node_config.hpp"
#include "tradebus/runtime/simulation.hpp"
#include "tradebus/strategy/strategy_node.hpp"

namespace tradebus::cli {

namespace fs = std::filesystem;

namespace {

// Splits "a,b,[c,d],\"e,f\"" at the commas outside brackets and quotes.
std::vector<std::string> split_values(std::string_view text) {
    std::vector<std::string> out;
    std::string cur;
    int depth = 0;
    bool quoted = false;
    for (const char c : text) {
        if (c == '"') quoted = !quoted;
        if (!quoted && (c == '[' || c == '{')) ++depth;
        if (!quoted && (c == ']' || c == '}')) --depth;
        if (c == ',' && depth == 0 && !quoted) {
            out.push_back(std::move(cur));
            cur.clear();
        } else {
            cur.push_back(c);
        }
    }
    out.push_back(std::move(cur));
    return out;
}

// A sweep's grid beyond this is a typo more likely than a plan (each run is a process).
constexpr std::size_t max_sweep_runs = 10'000;

}  // namespace

std::vector<backtest_kind> pipeline_kinds() {
    return {
        {"marketdata", &marketdata::make_marketdata},
        {"strategy", &strategy::make_strategy},
        {"risk", &risk::make_risk},
        {"execution", &execution::make_execution},
    };
}

std::string describe(const replay_window& window) {
    const auto utc = [](std::int64_t ns) {
        return format_day(ns, true) + "T" + format_time(ns, true) + "Z";
    };
    std::string out;
    if (window.from_ns) out = "at or after " + utc(*window.from_ns);
    if (window.to_ns) out += (out.empty() ? "before " : " and before ") + utc(*window.to_ns);
    return out;
}

void replay_data(toml::table& file, const std::string& data, const replay_window& window) {
    auto* own = file["marketdata"].as_table();
    if (own == nullptr)
        own = file.insert_or_assign("marketdata", toml::table{}).first->second.as_table();
    own->insert_or_assign("source", "csv");
    auto* csv = (*own)["csv"].as_table();
    if (csv == nullptr) csv = own->insert_or_assign("csv", toml::table{}).first->second.as_table();
    csv->insert_or_assign("path", data);
    csv->insert_or_assign("speed", 1.0);
    csv->insert_or_assign("loop", false);
    csv->insert_or_assign("exit_at_end", true);
    csv->insert_or_assign("timestamps", "recorded");
    csv->insert_or_assign("from_ns", std::max<std::int64_t>(window.from_ns.value_or(0), 0));
    csv->insert_or_assign("to_ns", window.to_ns.value_or(0));
}

std::vector<backtest_node> load_backtest_nodes(
    const std::string& dir, const std::vector<backtest_kind>& kinds,
    const std::function<void(std::string_view kind, toml::table& file)>& adjust,
    std::vector<std::string>& errors) {
    std::vector<backtest_node> nodes;
    const std::size_t errors_before = errors.size();
    for (const auto& k : kinds) {
        const std::string path = (fs::path(dir) / (k.kind + ".toml")).string();
        common::config_errors problems(path);
        auto table = common::parse_config_file(path, problems);
        if (table) {
            if (adjust) adjust(k.kind, *table);
            common::section root(&*table, "", problems);
            const auto cfg = runtime::read_node_config(root, k.kind);
            auto own = root.table(k.kind, false);
            auto logic = k.factory(own);
            root.finish();
            if (problems.empty()) {
                logic->configure(cfg.name, cfg.session);
                nodes.push_back({k.kind, cfg.name, std::move(logic)});
            }
        }
        errors.insert(errors.end(), problems.lines().begin(), problems.lines().end());
    }
    if (errors.size() > errors_before) nodes.clear();
    return nodes;
}

std::optional<setting> parse_setting(std::string_view arg, std::string& error) {
    const auto eq = arg.find('=');
    if (eq == std::string_view::npos || eq == 0 || eq + 1 == arg.size()) {
        error = "--set " + std::string(arg) + ": expected KIND.PATH=VALUE[,VALUE...]";
        return std::nullopt;
    }
    setting s;
    s.text = std::string(arg.substr(0, eq));
    std::size_t from = 0;
    for (;;) {
        const auto dot = s.text.find('.', from);
        const std::string part = s.text.substr(from, dot == std::string::npos ? dot : dot - from);
        if (part.empty()) {
            error = "--set " + std::string(arg) + ": an empty part in " + s.text;
            return std::nullopt;
        }
        s.path.push_back(part);
        if (dot == std::string::npos) break;
        from = dot + 1;
    }
    if (s.path.size() < 2) {
        error = "--set " + std::string(arg) + ": expected KIND.PATH (e.g. strategy.fast_period)";
        return std::nullopt;
    }
    s.kind = s.path.front();
    for (auto& text : split_values(arg.substr(eq + 1))) {
        if (text.empty()) {
            error = "--set " + std::string(arg) + ": an empty value";
            return std::nullopt;
        }
        // A TOML value as written (5, 2.5, true, "x", [1, 2]); anything else is a string.
        s.value_texts.push_back(text);
        std::optional<toml::table> doc;
        try {
            doc = toml::parse("v = " + text);
        } catch (const toml::parse_error&) {
        }
        if (doc && doc->size() == 1 && doc->get("v") != nullptr) {
            s.values.push_back(std::move(*doc));
        } else {
            s.values.push_back(toml::table{{"v", text}});
        }
    }
    return s;
}

void apply_setting(toml::table& file, const std::vector<std::string>& path,
                   const toml::node& value) {
    toml::table* at = &file;
    for (std::size_t i = 0; i + 1 < path.size(); ++i) {
        toml::table* next = (*at)[path[i]].as_table();
        if (next == nullptr) {
            next = at->insert_or_assign(path[i], toml::table{}).first->second.as_table();
        }
        at = next;
    }
    value.visit([&](const auto& v) { at->insert_or_assign(path.back(), v); });
}

void add_backtest_options(CLI::App& cmd, backtest_options& o) {
    cmd.add_option("--config", o.config_dir,
                   "The directory of the node files: KIND.toml for each of --nodes")
        ->type_name("DIR")
        ->capture_default_str();
    cmd.add_option("--data", o.data,
                   "The quotes to replay: a CSV (as [marketdata.csv]), or a journal directory "
                   "(its md.tick.* and md.bar.* records)")
        ->type_name("FILE|DIR")
        ->required();
    cmd.add_option("--from", o.from, "Replay only the data at or after this time (UTC)")
        ->type_name("TIME");
    cmd.add_option("--to", o.to, "Replay only the data before this time (UTC)")->type_name("TIME");
    cmd.add_option("--out", o.out, "Where the run's journal goes (OUT/journal)")
        ->type_name("DIR")
        ->capture_default_str();
    cmd.add_option("--latency-ms", o.latency_ms,
                   "Simulated delay of every message from publisher to subscriber")
        ->type_name("MS")
        ->check(CLI::Range(0.0, 60'000.0))
        ->capture_default_str();
    cmd.add_option("--seed", o.seed, "Seeds the trace ids (the run repeats)")
        ->capture_default_str();
    cmd.add_flag("--json", o.json, "Print the report as one JSON object");
    cmd.add_flag("--force", o.force, "Replace OUT/journal if it holds a run");
    cmd.add_option("--log-level", o.log_level,
                   "The nodes' logs on stderr: trace, debug, info, warn, error, off")
        ->capture_default_str();
    cmd.add_option("--set", o.set,
                   "Override a setting of a node file, e.g. strategy.fast_period=8; several "
                   "values (5,8,13) sweep them: every combination of every --set, ranked")
        ->type_name("KIND.PATH=V[,V...]")
        ->take_all()
        ->allow_extra_args(false);
    cmd.add_option("--jobs", o.jobs, "A sweep's backtests at once [default: one per CPU]")
        ->check(CLI::Range(1U, 256U));

    cmd.add_option("--nodes", o.nodes,
                   "The node kinds to run, in the order each message reaches them (their files "
                   "are --config's KIND.toml)")
        ->type_name("KIND,...")
        ->delimiter(',')
        ->capture_default_str();
}

run_summary summarize_run(const fs::path& journal_dir) {
    report_builder days(true);
    performance_builder perf;
    journal::reader reader(journal_dir.string());
    while (const journal::read_item* item = reader.next()) {
        if (item->what == journal::read_item::status::corrupt) {
            days.add_damaged();
            continue;
        }
        days.add(item->rec);
        perf.add(item->rec);
    }
    return {days.days(), perf.result(), days.damaged()};
}

bool backtest_requested(int argc, char** argv) {
    return argc > 1 && argv != nullptr && argv[1] != nullptr &&
           std::string_view(argv[1]) == "backtest";
}

int backtest_main(int argc, char** argv, std::string_view kind, runtime::logic_factory factory) {
    const std::string exe = argc > 0 ? fs::path(argv[0]).filename().string() : "node";
    CLI::App app("A tradebus node: `" + exe + " --config FILE` runs it on the bus; `" + exe +
                     " backtest ...` runs it on recorded quotes on a simulated clock, with "
                     "the built-in marketdata, risk and execution",
                 exe);
    backtest_options opts;
    opts.nodes = {"marketdata", std::string(kind), "risk", "execution"};
    auto* cmd = app.add_subcommand("backtest",
                                   "This node on recorded quotes, as `tradebus "
                                   "backtest` runs the built-in strategy");
    add_backtest_options(*cmd, opts);
    cmd->footer(
        "README \"Backtesting\": every option is tradebus backtest's; --nodes defaults "
        "to marketdata," +
        std::string(kind) + ",risk,execution.");
    app.require_subcommand(1, 1);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? exit_code::ok : exit_code::usage;
    }
    std::vector<backtest_kind> kinds = pipeline_kinds();
    const auto same = std::find_if(kinds.begin(), kinds.end(),
                                   [&](const backtest_kind& k) { return k.kind == kind; });
    if (same != kinds.end()) {
        same->factory = factory;  // a node of a built-in kind: its own logic in its place
    } else {
        kinds.push_back({std::string(kind), factory});
    }
    zmq::context_t zmq(0);  // no sockets: the backtest runs in this process
    environment env{std::cout, std::cerr, zmq};
    return run_backtest(opts, env, kinds, {"backtest"});
}

namespace {

// What the data holds for the run: where the simulated clock starts, and for a journal what
// its check found (the feeder replays exactly that).
struct checked_data {
    std::int64_t start_ns = 0;
    std::optional<journal_scan> journal;
    std::map<std::string, std::uint64_t> symbols;  // CSV rows or md records to replay, by symbol
};

// A symbol the data and the strategy's trade_symbols do not share is skipped, not an error
// (a recording of the whole market is good data for a strategy of three symbols); said on
// stderr so that it is never a silent surprise. Only the built-in strategy's list is known
// here: an SDK node's settings are its own.
void note_symbols(const std::map<std::string, std::uint64_t>& in_data,
                  const std::optional<std::vector<std::string>>& traded, const std::string& file,
                  std::ostream& err) {
    if (!traded) return;
    std::string missing, unused;
    std::uint64_t unused_quotes = 0;
    for (const auto& s : *traded) {
        if (!in_data.contains(s)) missing += (missing.empty() ? "" : ", ") + s;
    }
    for (const auto& [s, n] : in_data) {
        if (std::find(traded->begin(), traded->end(), s) != traded->end()) continue;
        unused += (unused.empty() ? "" : ", ") + s;
        unused_quotes += n;
    }
    if (!unused.empty()) {
        err << "backtest: note: " << unused_quotes << " market data record(s) for " << unused
            << ", not in " << file << "'s trade_symbols: replayed, and the strategy ignores them"
            << std::endl;
    }
    if (!missing.empty()) {
        err << "backtest: note: " << file << " trades " << missing
            << ", with no market data for it: nothing to trade there" << std::endl;
    }
}

// The data is read once before the run, up to the end of the window: every row (record) must
// be good (a skipped one would make a silently different backtest), and the first one in the
// window sets the simulated clock's start. Nullopt after saying why on `err`.
std::optional<checked_data> check_csv(const std::string& data, const replay_window& window,
                                      std::ostream& err) {
    checked_data out;
    try {
        marketdata::csv_reader reader(data);
        std::uint64_t rows = 0;
        while (const auto row = reader.next()) {
            if (window.after(row->ts_ns)) break;  // rows are in time order: the rest is later
            if (window.before(row->ts_ns)) continue;
            if (rows++ == 0) out.start_ns = row->ts_ns;
            ++out.symbols[row->symbol];
        }
        if (reader.rows_bad() > 0) {
            err << "tradebus backtest: " << data << ":" << reader.last_bad().line << ": "
                << reader.last_bad().reason << " (" << reader.rows_bad()
                << " bad row(s) in all, the last one shown; a backtest replays every row or "
                   "none)"
                << std::endl;
            return std::nullopt;
        }
        if (rows == 0) {
            err << "tradebus backtest: " << data << ": no quote rows"
                << (window.bounded() ? " " + describe(window) : "") << std::endl;
            return std::nullopt;
        }
    } catch (const std::exception& e) {
        err << "tradebus backtest: " << e.what() << std::endl;
        return std::nullopt;
    }
    return out;
}

std::optional<checked_data> check_journal(const std::string& dir, const replay_window& window,
                                          std::ostream& err) {
    checked_data out;
    try {
        out.journal = scan_journal(dir, window);
    } catch (const journal_data_error& e) {
        err << "tradebus backtest: " << e.what() << " (a backtest replays every record or none)"
            << std::endl;
        return std::nullopt;
    } catch (const std::exception& e) {
        err << "tradebus backtest: " << e.what() << std::endl;
        return std::nullopt;
    }
    if (out.journal->segments == 0) {
        err << "tradebus backtest: " << dir
            << ": not a journal (no segment files journal-<index>.tjl in it)" << std::endl;
        return std::nullopt;
    }
    if (out.journal->records == 0) {
        err << "tradebus backtest: " << dir << ": no market data records (md.tick.*, md.bar.*)"
            << (window.bounded() ? " " + describe(window) : "") << std::endl;
        return std::nullopt;
    }
    out.start_ns = out.journal->first_ns;
    out.symbols = out.journal->symbols;
    return out;
}

// True when `inner` is `outer` or inside it (both made absolute; neither need exist).
bool within(const fs::path& inner, const fs::path& outer) {
    std::error_code ec;
    const fs::path a = fs::weakly_canonical(fs::absolute(inner, ec), ec);
    const fs::path b = fs::weakly_canonical(fs::absolute(outer, ec), ec);
    const fs::path rel = a.lexically_relative(b);
    return !rel.empty() && *rel.begin() != "..";
}

// What the report page calls the run: the CSV's file name, or a journal directory's last two
// parts ("var/journal").
std::string data_title(const std::string& data, bool journal) {
    fs::path p = fs::path(data).lexically_normal();
    if (p.filename().empty()) p = p.parent_path();
    if (!journal || p.parent_path().filename().empty()) return p.filename().string();
    return (p.parent_path().filename() / p.filename()).string();
}

}  // namespace

int run_backtest(const backtest_options& opts, environment& env) {
    return run_backtest(opts, env, pipeline_kinds(), {"backtest"});
}

int run_backtest(const backtest_options& given, environment& env,
                 const std::vector<backtest_kind>& available,
                 const std::vector<std::string>& self_args) {
    backtest_options opts = given;
    // The nodes' logs go to stderr (stdout is the report), at --log-level.
    if (!common::init_logging("backtest", opts.log_level)) {
        env.err << "tradebus backtest: --log-level: expected trace, debug, info, warn, error or "
                   "off, got \""
                << opts.log_level << "\"" << std::endl;
        return exit_code::usage;
    }
    // --from/--to: UTC, as the backtest's report shows times.
    {
        const std::int64_t now = common::now_ns();
        std::string error;
        for (auto [text, name, ns] : {std::tuple{&opts.from, "--from", &opts.from_ns},
                                      std::tuple{&opts.to, "--to", &opts.to_ns}}) {
            if (text->empty()) continue;
            *ns = parse_time(*text, now, true);
            if (!*ns && error.empty()) {
                error = std::string(name) +
                        ": expected a time (2024-05-01T14:03:22, 14:03, -10m, @1700000000), "
                        "got \"" +
                        *text + "\"";
            }
        }
        if (error.empty() && opts.from_ns && opts.to_ns && *opts.from_ns >= *opts.to_ns) {
            error = "--from " + opts.from + " is not before --to " + opts.to;
        }
        if (!error.empty()) {
            env.err << "tradebus backtest: " << error << std::endl;
            return exit_code::usage;
        }
    }
    const fs::path journal_dir = fs::path(opts.out) / "journal";
    if (within(opts.data, journal_dir)) {
        env.err << "tradebus backtest: --data " << opts.data << " is in this run's journal "
                << journal_dir.string() << ", which the run replaces: choose another --out"
                << std::endl;
        return exit_code::usage;
    }
    std::error_code ec;
    const bool from_journal = fs::is_directory(opts.data, ec);
    // --nodes: the kinds that run, each once, in the order given. A journal's md records stand
    // in for marketdata (its node file is not read): the feeder comes first, where marketdata
    // would be, so the others keep their places (and trace ids).
    std::vector<backtest_kind> kinds;
    for (const auto& name : opts.nodes) {
        const auto it = std::find_if(available.begin(), available.end(),
                                     [&](const backtest_kind& k) { return k.kind == name; });
        std::string error;
        if (it == available.end()) {
            error = "--nodes: no node kind \"" + name + "\" here (";
            for (const auto& k : available)
                error += (&k == &available.front() ? "" : ", ") + k.kind;
            error += ")";
        } else if (std::any_of(kinds.begin(), kinds.end(),
                               [&](const backtest_kind& k) { return k.kind == name; })) {
            error = "--nodes: " + name + " twice";
        }
        if (!error.empty()) {
            env.err << "tradebus backtest: " << error << std::endl;
            return exit_code::usage;
        }
        kinds.push_back(*it);
    }
    const bool has_marketdata = std::any_of(
        kinds.begin(), kinds.end(), [](const backtest_kind& k) { return k.kind == "marketdata"; });
    if (from_journal) {
        std::erase_if(kinds, [](const auto& k) { return k.kind == "marketdata"; });
    } else if (!has_marketdata) {
        env.err << "tradebus backtest: --nodes: marketdata replays the CSV --data; it must be one "
                   "of them"
                << std::endl;
        return exit_code::usage;
    }
    // --set: each names a kind this backtest runs; more than one value anywhere is a sweep.
    std::vector<setting> settings;
    std::size_t combinations = 1;
    for (const auto& arg : opts.set) {
        std::string error;
        auto s = parse_setting(arg, error);
        if (s && std::none_of(kinds.begin(), kinds.end(),
                              [&](const backtest_kind& k) { return k.kind == s->kind; })) {
            error = "--set " + arg + ": no node kind \"" + s->kind + "\" in this backtest (";
            for (const auto& k : kinds) error += (&k == &kinds.front() ? "" : ", ") + k.kind;
            error += ")";
            s.reset();
        }
        if (!s) {
            env.err << "tradebus backtest: " << error << std::endl;
            return exit_code::usage;
        }
        combinations *= s->values.size();
        if (combinations > max_sweep_runs) {
            env.err << "tradebus backtest: the --set values make more than " << max_sweep_runs
                    << " combinations; sweep a smaller grid" << std::endl;
            return exit_code::usage;
        }
        settings.push_back(std::move(*s));
    }

    const replay_window window{opts.from_ns, opts.to_ns};
    const auto data = from_journal ? check_journal(opts.data, window, env.err)
                                   : check_csv(opts.data, window, env.err);
    if (!data) return exit_code::usage;
    const std::int64_t start_ns = data->start_ns;

    if (combinations > 1) {
        const fs::path self = fs::read_symlink("/proc/self/exe", ec);
        if (ec) {
            env.err << "tradebus backtest: cannot find this executable to run the sweep's "
                       "backtests (/proc/self/exe: "
                    << ec.message() << ")" << std::endl;
            return exit_code::failure;
        }
        return run_sweep(opts, settings, kinds, self.string(), self_args, env);
    }

    runtime::simulation sim({.start_ns = start_ns,
                             .hop_latency_ns = static_cast<std::int64_t>(opts.latency_ms * 1e6),
                             .seed = opts.seed});
    std::vector<std::string> errors;
    std::optional<std::vector<std::string>> traded;  // the built-in strategy's trade_symbols
    auto nodes = load_backtest_nodes(
        opts.config_dir, kinds,
        [&](std::string_view kind, toml::table& file) {
            if (kind == "marketdata") replay_data(file, opts.data, window);
            for (const auto& s : settings) {
                if (s.kind == kind) apply_setting(file, s.path, s.value_at(0));
            }
            const toml::array* list =
                kind == "strategy" ? file["strategy"]["trade_symbols"].as_array() : nullptr;
            if (list != nullptr) {
                traded.emplace();
                for (const auto& v : *list) {
                    if (const auto sym = v.value<std::string>()) traded->push_back(*sym);
                }
            }
        },
        errors);
    for (const auto& n : nodes) {
        if (from_journal && n.name == journal_feed_name) {
            errors.push_back((fs::path(opts.config_dir) / (n.kind + ".toml")).string() +
                             ": [node] name \"" + n.name +
                             "\" is the name of the backtest's journal replay: choose another");
        }
    }
    if (!errors.empty()) {
        for (const auto& e : errors) env.err << e << "\n";
        env.err << "tradebus backtest: " << errors.size() << " problem(s) in the node files of "
                << opts.config_dir << std::endl;
        return exit_code::usage;
    }
    note_symbols(data->symbols, traded, (fs::path(opts.config_dir) / "strategy.toml").string(),
                 env.err);
    if (from_journal) {
        sim.add_node(std::string(journal_feed_name),
                     std::make_unique<journal_feed>(opts.data, window, *data->journal,
                                                    marketdata::defaults::max_batch));
    }
    for (auto& n : nodes) sim.add_node(n.name, std::move(n.logic));

    if (fs::exists(journal_dir, ec) && !fs::is_empty(journal_dir, ec)) {
        if (!opts.force) {
            env.err << "tradebus backtest: " << journal_dir.string()
                    << " holds an earlier run; choose another --out, or --force to replace it"
                    << std::endl;
            return exit_code::failure;
        }
        fs::remove_all(journal_dir, ec);
        if (ec) {
            env.err << "tradebus backtest: cannot remove " << journal_dir.string() << ": "
                    << ec.message() << std::endl;
            return exit_code::failure;
        }
    }

    runtime::simulation_stats stats;
    std::uint64_t ticks = 0;
    const auto wall_start = std::chrono::steady_clock::now();
    try {
        journal::writer journal({.dir = journal_dir.string(),
                                 .fsync = journal::fsync_policy::none,
                                 .created_ns = start_ns});
        bool journal_failed = false;
        sim.set_tap([&](std::int64_t now, std::string_view topic, std::string_view raw) {
            if (topic.starts_with("md.tick.")) ++ticks;
            if (!journal.append(topic, raw, now)) journal_failed = true;
        });
        stats = sim.run();
        if (!journal.flush() || journal_failed) {
            env.err << "tradebus backtest: writing the journal in " << journal_dir.string()
                    << " failed: " << journal.last_error() << std::endl;
            return exit_code::failure;
        }
    } catch (const std::exception& e) {
        env.err << "tradebus backtest: " << e.what() << std::endl;
        return exit_code::failure;
    }
    const double wall_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();

    // What ran, on stderr: the wall-clock figures differ run to run, the report does not.
    env.err << "backtest: " << ticks << " ticks, " << stats.published << " messages ("
            << stats.delivered << " deliveries, " << stats.timers << " timers) over "
            << static_cast<double>(stats.end_ns - start_ns) / 1e9 << " s of simulated time in "
            << wall_s << " s ("
            << static_cast<std::uint64_t>(static_cast<double>(ticks) / std::max(wall_s, 1e-9))
            << " ticks/s); journal: " << journal_dir.string() << std::endl;
    if (data->journal && data->journal->gap_markers > 0) {
        env.err << "backtest: note: " << opts.data << " marks " << data->journal->gap_markers
                << " sequence gap(s) in its market data"
                << (window.bounded() ? " " + describe(window) : "")
                << ": what the recording journal never received is not in the backtest either"
                << std::endl;
    }
    // The report: the journal's trading summary per day, then the run's performance, both
    // read from the journal just written (what any `tradebus journal` command would see).
    run_summary run;
    try {
        run = summarize_run(journal_dir);
    } catch (const std::exception& e) {
        env.err << "tradebus backtest: reading the run's journal: " << e.what() << std::endl;
        return exit_code::failure;
    }
    const auto& summary = run.days;
    const performance& p = run.perf;
    const fs::path html = fs::path(opts.out) / "report.html";
    {
        std::ofstream page(html, std::ios::trunc);
        page << performance_html(p, data_title(opts.data, from_journal));
        if (!page.flush()) {
            env.err << "tradebus backtest: cannot write " << html.string() << std::endl;
            return exit_code::failure;
        }
    }
    env.err << "backtest: report page: " << html.string() << std::endl;
    if (opts.json) {
        env.out << "{\"report\":" << report_json(summary, journal_dir.string(), true, run.damaged)
                << ",\"performance\":" << performance_json(p) << "}\n";
    } else {
        env.out << format_report(summary, journal_dir.string(), true, run.damaged) << "\n"
                << format_performance(p);
    }
    env.out.flush();
    return run.damaged > 0 ? exit_code::failure : exit_code::ok;
}

}  // namespace tradebus::cli
