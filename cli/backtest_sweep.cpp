// `tradebus backtest --set K=V1,V2 ...` with more than one combination: a parameter sweep. Each
// combination is an ordinary backtest in its own child process (this executable again, one
// value per --set, its own OUT/run-NNN), at most --jobs at a time; then every run's journal is
// read back and one table ranks them by final equity. Runs are deterministic, so the table is
// the same whatever --jobs is and whichever run finished first.
#include <algorithm>
#include <chrono>
#include <memory>
#include <ostream>
#include <sstream>
#include <thread>

#include "backtest_run.hpp"
#include "text_table.hpp"
#include "tradebus/cli/json.hpp"
#include "tradebus/common/child_process.hpp"
#include "tradebus/schema/types.hpp"

namespace tradebus::cli {

namespace fs = std::filesystem;

namespace {

std::string run_name(std::size_t index) {
    std::string n = std::to_string(index + 1);
    return "run-" + std::string(n.size() < 3 ? 3 - n.size() : 0, '0') + n;
}

std::string fixed_digits(double v, int digits) {
    std::ostringstream o;
    o.setf(std::ios::fixed);
    o.precision(digits);
    o << v;
    return o.str();
}

struct sweep_run {
    std::size_t index = 0;
    std::vector<std::size_t> pick;  // a value index per setting
    fs::path dir;
    std::unique_ptr<common::child_process> child;
    int status = -1;
    run_summary summary;
    std::uint64_t rejected = 0;
    std::string error;  // why this run has no result
};

// A setting's value as JSON: TOML's numbers, booleans and strings are JSON's.
std::string value_json(const toml::node& v) {
    std::ostringstream o;
    o << toml::json_formatter{v, toml::format_flags::none};
    return o.str();
}

}  // namespace

std::vector<std::vector<std::size_t>> settings_grid(const std::vector<setting>& settings) {
    std::vector<std::vector<std::size_t>> grid{{}};
    for (const auto& s : settings) {
        std::vector<std::vector<std::size_t>> next;
        for (const auto& partial : grid) {
            for (std::size_t v = 0; v < s.values.size(); ++v) {
                next.push_back(partial);
                next.back().push_back(v);
            }
        }
        grid = std::move(next);
    }
    return grid;
}

int run_sweep(const backtest_options& opts, const std::vector<setting>& settings,
              const std::vector<backtest_kind>& kinds, const std::string& self,
              const std::vector<std::string>& self_args, environment& env) {
    const auto grid = settings_grid(settings);
    // Every combination is built before any run starts: a value a node refuses stops the
    // sweep here, naming the combination, instead of failing one run in the middle of it.
    for (const auto& pick : grid) {
        std::vector<std::string> errors;
        (void)load_backtest_nodes(
            opts.config_dir, kinds,
            [&](std::string_view kind, toml::table& file) {
                if (kind == "marketdata") replay_data(file, opts.data);
                for (std::size_t i = 0; i < settings.size(); ++i) {
                    if (settings[i].kind == kind) {
                        apply_setting(file, settings[i].path, settings[i].value_at(pick[i]));
                    }
                }
            },
            errors);
        if (!errors.empty()) {
            for (const auto& e : errors) env.err << e << "\n";
            env.err << "tradebus backtest: with";
            for (std::size_t i = 0; i < settings.size(); ++i) {
                env.err << " " << settings[i].text << "=" << settings[i].value_texts[pick[i]];
            }
            env.err << ": " << errors.size() << " problem(s) in the node files of "
                    << opts.config_dir << std::endl;
            return exit_code::usage;
        }
    }

    std::vector<sweep_run> runs(grid.size());
    std::error_code ec;
    for (std::size_t i = 0; i < grid.size(); ++i) {
        runs[i].index = i;
        runs[i].pick = grid[i];
        runs[i].dir = fs::path(opts.out) / run_name(i);
        const fs::path journal = runs[i].dir / "journal";
        if (!opts.force && fs::exists(journal, ec) && !fs::is_empty(journal, ec)) {
            env.err << "tradebus backtest: " << journal.string()
                    << " holds an earlier run; choose another --out, or --force to replace it"
                    << std::endl;
            return exit_code::failure;
        }
        fs::create_directories(runs[i].dir, ec);
        if (ec) {
            env.err << "tradebus backtest: cannot create " << runs[i].dir.string() << ": "
                    << ec.message() << std::endl;
            return exit_code::failure;
        }
    }
    const unsigned jobs =
        opts.jobs > 0 ? opts.jobs : std::max(1U, std::thread::hardware_concurrency());
    env.err << "sweep: " << grid.size() << " runs";
    for (const auto& s : settings) env.err << (&s == &settings.front() ? " of " : " x ") << s.text;
    env.err << ", " << std::min<std::size_t>(jobs, grid.size()) << " at a time; each in "
            << (fs::path(opts.out) / "run-NNN").string() << std::endl;

    // The children: at most `jobs` running; each one's stdout and stderr in its backtest.log.
    const auto start = [&](sweep_run& r) {
        std::vector<std::string> args = self_args;
        for (const std::string& a :
             {std::string("--config"), opts.config_dir, std::string("--data"), opts.data,
              std::string("--out"), r.dir.string(), std::string("--seed"),
              std::to_string(opts.seed), std::string("--log-level"), opts.log_level,
              std::string("--force")}) {
            args.push_back(a);
        }
        std::string nodes;
        for (const auto& k : kinds) nodes += (nodes.empty() ? "" : ",") + k.kind;
        args.insert(args.end(), {"--nodes", nodes});
        // The window as resolved here (a relative --from such as -2h must not move between
        // runs): seconds since the epoch with every nanosecond.
        for (const auto& [name, ns] :
             {std::pair{"--from", opts.from_ns}, std::pair{"--to", opts.to_ns}}) {
            if (!ns) continue;
            std::string frac = std::to_string(1'000'000'000 + *ns % 1'000'000'000).substr(1);
            args.insert(args.end(), {name, "@" + std::to_string(*ns / 1'000'000'000) + "." + frac});
        }
        std::ostringstream latency;
        latency << opts.latency_ms;
        args.insert(args.end(), {"--latency-ms", latency.str()});
        for (std::size_t i = 0; i < settings.size(); ++i) {
            args.push_back("--set");
            args.push_back(settings[i].text + "=" + settings[i].value_texts[r.pick[i]]);
        }
        r.child =
            std::make_unique<common::child_process>(self, std::move(args), r.dir / "backtest.log");
    };
    std::size_t next = 0, done = 0;
    std::vector<sweep_run*> running;
    while (done < runs.size()) {
        while (running.size() < jobs && next < runs.size()) {
            start(runs[next]);
            running.push_back(&runs[next++]);
        }
        bool any = false;
        for (auto it = running.begin(); it != running.end();) {
            if (const auto status = (*it)->child->wait_exit(std::chrono::milliseconds(0))) {
                (*it)->status = *status;
                ++done;
                any = true;
                it = running.erase(it);
            } else {
                ++it;
            }
        }
        if (!any) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }

    // Each run's result, read back from its journal as its own report was.
    bool failed = false;
    for (auto& r : runs) {
        if (r.status != 0) {
            r.error =
                "exit " + std::to_string(r.status) + ", see " + (r.dir / "backtest.log").string();
            failed = true;
            continue;
        }
        try {
            r.summary = summarize_run(r.dir / "journal");
            for (const auto& d : r.summary.days) {
                for (const auto& [rule, n] : d.rejections_by_rule) r.rejected += n;
            }
        } catch (const std::exception& e) {
            r.error = e.what();
            failed = true;
        }
    }
    std::vector<const sweep_run*> ranked;
    for (const auto& r : runs) {
        if (r.error.empty()) ranked.push_back(&r);
    }
    // Best final equity first; then the smaller drawdown; then the grid's order.
    std::stable_sort(ranked.begin(), ranked.end(), [](const sweep_run* a, const sweep_run* b) {
        if (a->summary.perf.final_equity != b->summary.perf.final_equity) {
            return a->summary.perf.final_equity > b->summary.perf.final_equity;
        }
        return a->summary.perf.max_drawdown < b->summary.perf.max_drawdown;
    });

    if (opts.json) {
        std::string o = "{\"sweep\":[";
        for (std::size_t k = 0; k < ranked.size(); ++k) {
            const sweep_run& r = *ranked[k];
            if (k > 0) o += ',';
            o += "{\"rank\":" + std::to_string(k + 1) + ",\"run\":";
            append_json_string(o, run_name(r.index));
            o += ",\"out\":";
            append_json_string(o, r.dir.string());
            o += ",\"settings\":{";
            for (std::size_t i = 0; i < settings.size(); ++i) {
                if (i > 0) o += ',';
                append_json_string(o, settings[i].text);
                o += ':' + value_json(settings[i].value_at(r.pick[i]));
            }
            o += "},\"rejected\":" + std::to_string(r.rejected) +
                 ",\"performance\":" + performance_json(r.summary.perf) + "}";
        }
        o += "],\"failed\":[";
        bool first = true;
        for (const auto& r : runs) {
            if (r.error.empty()) continue;
            if (!first) o += ',';
            first = false;
            o += "{\"run\":";
            append_json_string(o, run_name(r.index));
            o += ",\"error\":";
            append_json_string(o, r.error);
            o += '}';
        }
        env.out << o << "]}\n";
    } else {
        using col = detail::text_table::column;
        using al = detail::text_table::align;
        std::vector<col> cols = {{"rank", al::right}, {"run", al::left}};
        for (const auto& s : settings) cols.push_back({s.text, al::right});
        for (const char* h : {"equity", "realized", "max drawdown", "sharpe", "trades", "win rate",
                              "fills", "rejected"}) {
            cols.push_back({h, al::right});
        }
        detail::text_table t(std::move(cols));
        for (std::size_t k = 0; k < ranked.size(); ++k) {
            const sweep_run& r = *ranked[k];
            const performance& p = r.summary.perf;
            std::vector<std::string> row = {std::to_string(k + 1), run_name(r.index)};
            for (std::size_t i = 0; i < settings.size(); ++i) {
                row.push_back(settings[i].value_texts[r.pick[i]]);
            }
            for (const std::int64_t money : {p.final_equity, p.realized, p.max_drawdown}) {
                row.push_back(fixed_digits(schema::from_fixed(money), 2));  // to the cent
            }
            row.push_back(p.sharpe ? fixed_digits(*p.sharpe, 2) : "-");
            row.push_back(std::to_string(p.trades));
            row.push_back(p.win_rate() ? fixed_digits(100.0 * *p.win_rate(), 1) + "%" : "-");
            row.push_back(std::to_string(p.fills));
            row.push_back(std::to_string(r.rejected));
            t.add(std::move(row));
        }
        env.out << "sweep of " << runs.size() << " backtests on " << opts.data
                << ", ranked by final equity (then the smaller drawdown):\n"
                << t.render();
        for (const auto& r : runs) {
            if (!r.error.empty()) env.out << run_name(r.index) << ": FAILED: " << r.error << "\n";
        }
        env.out << "each run's journal and report.html: "
                << (fs::path(opts.out) / "run-NNN").string() << "\n";
    }
    env.out.flush();
    return failed ? exit_code::failure : exit_code::ok;
}

}  // namespace tradebus::cli
