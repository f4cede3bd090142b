#include "backtest_rate.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <fstream>
#include <random>
#include <stdexcept>
#include <vector>

#include "tradebus/cli/backtest.hpp"
#include "tradebus/common/child_process.hpp"
#include "tradebus/runtime/simulation.hpp"
#include "tradebus/schema/events.hpp"
#include "tradebus/schema/topics.hpp"
#include "tradebus/schema/types.hpp"

namespace tradebus::bench {

namespace fs = std::filesystem;

namespace {

using bench_clock = std::chrono::steady_clock;

// 2024-03-15 13:30 UTC (09:30 New York), inside the sample node files' trading session.
constexpr std::int64_t start_ns = 1'710'509'400'000'000'000;
constexpr std::int64_t spacing_ns = 1'000'000;  // a tick every simulated ms, symbols in turn

struct quote {
    std::int64_t ts_ns;
    std::size_t symbol;
    std::int64_t bid_c, ask_c, bid_qty, ask_qty;
};

const std::array<std::string, 3> symbols = {"AAPL", "MSFT", "SPY"};

// A random walk of each symbol's mid in cents (seeded: every run the same ticks), one-cent
// spreads, sizes 1..30 lots: enough crossings of the moving averages to trade.
std::vector<quote> make_quotes(std::uint64_t n) {
    std::mt19937_64 rng(20240315);
    std::normal_distribution<double> step(0.0, 1.5);
    std::uniform_int_distribution<std::int64_t> size(1, 30);
    std::array<double, 3> mid = {17117.5, 41928.5, 51021.5};
    std::vector<quote> out;
    out.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i) {
        const std::size_t s = i % symbols.size();
        mid[s] = std::max(100.0, mid[s] + step(rng));
        const auto bid = static_cast<std::int64_t>(std::floor(mid[s] - 0.5));
        out.push_back({start_ns + static_cast<std::int64_t>(i) * spacing_ns, s, bid, bid + 1,
                       size(rng), size(rng)});
    }
    return out;
}

std::int64_t fixed_of_cents(std::int64_t cents) { return cents * (schema::price_scale / 100); }

// Publishes the quotes on the simulated clock, each at its time, then asks the run to stop.
class feeder final : public runtime::node_logic {
  public:
    explicit feeder(const std::vector<quote>& quotes) : quotes_(quotes) {
        for (const auto& s : symbols) topics_.push_back(schema::topics::for_symbol("md.tick.", s));
    }
    std::vector<std::string> subscriptions() const override { return {}; }
    std::vector<std::string> publications() const override { return {"md.tick."}; }
    std::int64_t on_timer(runtime::context& ctx, std::int64_t now) override {
        while (next_ < quotes_.size() && quotes_[next_].ts_ns <= now) {
            const quote& q = quotes_[next_++];
            schema::tick t;
            t.symbol = symbols[q.symbol];
            t.bid_px = fixed_of_cents(q.bid_c);
            t.ask_px = fixed_of_cents(q.ask_c);
            t.bid_qty = q.bid_qty;
            t.ask_qty = q.ask_qty;
            t.exch_ts_ns = q.ts_ns;
            ctx.publish(topics_[q.symbol], t, ctx.new_trace_id());
        }
        if (next_ < quotes_.size()) return quotes_[next_].ts_ns;
        ctx.request_stop("end of the quotes");
        return 0;
    }

  private:
    const std::vector<quote>& quotes_;
    std::vector<std::string> topics_;
    std::size_t next_ = 0;
};

struct engine_run {
    double ticks_per_s = 0;
    runtime::simulation_stats stats;
    std::uint64_t signals = 0, orders = 0, fills = 0;
};

engine_run run_engine(const std::vector<quote>& quotes, const std::string& config_dir,
                      bool decode_each) {
    std::vector<std::string> errors;
    std::vector<cli::backtest_kind> kinds;
    for (auto& k : cli::pipeline_kinds()) {
        if (k.kind != "marketdata") kinds.push_back(k);
    }
    auto nodes = cli::load_backtest_nodes(config_dir, kinds, {}, errors);
    if (!errors.empty()) throw std::runtime_error("backtest: " + errors.front());
    runtime::simulation sim(
        {.start_ns = start_ns, .hop_latency_ns = 0, .seed = 1, .decode_each = decode_each});
    sim.add_node("marketdata", std::make_unique<feeder>(quotes));
    for (auto& n : nodes) sim.add_node(n.name, std::move(n.logic));
    engine_run r;
    sim.set_tap([&](std::int64_t, std::string_view topic, std::string_view) {
        if (topic.starts_with("strategy.signal.")) ++r.signals;
        if (topic.starts_with("risk.approved.")) ++r.orders;
        if (topic.starts_with("exec.fill.")) ++r.fills;
    });
    const auto t0 = bench_clock::now();
    r.stats = sim.run();
    const double s = std::chrono::duration<double>(bench_clock::now() - t0).count();
    r.ticks_per_s = s > 0 ? static_cast<double>(quotes.size()) / s : 0;
    return r;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
}

void write_csv(const fs::path& path, const std::vector<quote>& quotes) {
    std::ofstream out(path, std::ios::trunc);
    out << "ts_ns,symbol,bid_px,bid_qty,ask_px,ask_qty,last_px,last_qty\n";
    const auto px = [](std::int64_t c) {
        const std::string cents = std::to_string(100 + c % 100).substr(1);
        return std::to_string(c / 100) + "." + cents;
    };
    for (const auto& q : quotes) {
        out << q.ts_ns << ',' << symbols[q.symbol] << ',' << px(q.bid_c) << ',' << q.bid_qty << ','
            << px(q.ask_c) << ',' << q.ask_qty << ",,\n";
    }
    if (!out.flush()) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace

backtest_bench_result run_backtest_bench(const fs::path& dir, const backtest_bench_options& opts) {
    const std::vector<quote> quotes = make_quotes(opts.ticks);
    backtest_bench_result r;
    r.ticks = quotes.size();
    std::vector<double> engine, wire;
    // Alternated, so a noisy moment hurts both modes alike.
    for (unsigned i = 0; i < std::max(1U, opts.rounds); ++i) {
        const engine_run e = run_engine(quotes, opts.config_dir, false);
        engine.push_back(e.ticks_per_s);
        wire.push_back(run_engine(quotes, opts.config_dir, true).ticks_per_s);
        r.messages = e.stats.published;
        r.deliveries = e.stats.delivered;
        r.timers = e.stats.timers;
        r.signals = e.signals;
        r.orders = e.orders;
        r.fills = e.fills;
    }
    r.engine_ticks_per_s = median(engine);
    r.engine_min = *std::min_element(engine.begin(), engine.end());
    r.engine_max = *std::max_element(engine.begin(), engine.end());
    r.wire_ticks_per_s = median(wire);

    const fs::path csv = dir / "backtest-quotes.csv";
    write_csv(csv, quotes);
    const auto t0 = bench_clock::now();
    common::child_process cli(opts.tradebus_exe,
                              {"backtest", "--config", opts.config_dir, "--data", csv.string(),
                               "--out", (dir / "backtest-out").string(), "--force", "--json"},
                              dir / "backtest-cli.log");
    const auto status = cli.wait_exit(std::chrono::minutes(5));
    r.cli_seconds = std::chrono::duration<double>(bench_clock::now() - t0).count();
    if (!status || *status != 0) {
        throw std::runtime_error(
            "tradebus backtest on " + csv.string() +
            (status ? " exited " + std::to_string(*status) : std::string(" ran past 5 minutes")) +
            "; its log: " + cli.log_path().string());
    }
    r.cli_ticks_per_s = static_cast<double>(quotes.size()) / r.cli_seconds;
    return r;
}

}  // namespace tradebus::bench
