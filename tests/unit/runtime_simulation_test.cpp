// runtime::simulation: node logic on a simulated clock in one process. Toy nodes check the
// bus's rules (routing by prefix, envelopes and sequence numbers, hop latency, the order of
// deliveries (subscribers by prefix length, as the live broker) and timers, a node that stops);
// then the shipped marketdata, strategy, risk and execution logic replay the sample quotes twice,
// byte for byte the same run.
#include <doctest/doctest.h>
#include <toml++/toml.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tradebus/common/config.hpp"
#include "tradebus/execution/execution_node.hpp"
#include "tradebus/marketdata/marketdata_node.hpp"
#include "tradebus/risk/risk_node.hpp"
#include "tradebus/runtime/node_config.hpp"
#include "tradebus/runtime/simulation.hpp"
#include "tradebus/schema/codec.hpp"
#include "tradebus/schema/topics.hpp"
#include "tradebus/strategy/strategy_node.hpp"

using namespace tradebus;
using runtime::simulation;
using runtime::simulation_stats;

namespace {

constexpr std::int64_t t0 = 1'700'000'000'000'000'000;
constexpr std::int64_t ms = 1'000'000;

schema::tick tick_at(std::string symbol, std::int64_t ts) {
    schema::tick t;
    t.symbol = std::move(symbol);
    t.bid_px = schema::to_fixed(100.0);
    t.ask_px = schema::to_fixed(100.5);
    t.bid_qty = t.ask_qty = 1;
    t.exch_ts_ns = ts;
    return t;
}

// Publishes a tick on md.tick.FEED at t0, t0 + 10 ms, t0 + 20 ms, then asks to stop.
class feed final : public runtime::node_logic {
  public:
    [[nodiscard]] std::vector<std::string> subscriptions() const override { return {}; }
    [[nodiscard]] std::vector<std::string> publications() const override { return {"md."}; }
    std::int64_t on_timer(runtime::context& ctx, std::int64_t now) override {
        ctx.publish("md.tick.FEED", tick_at("FEED", now), ctx.new_trace_id());
        if (++sent_ == 3) {
            ctx.request_stop("three ticks");
            return 0;
        }
        return now + 10 * ms;
    }

  private:
    int sent_ = 0;
};

// Answers each md.tick.FEED with one on md.tick.ECHO (same trace); a timer every 5 ms. Logs
// what it was called for and when (ms after t0).
class echo final : public runtime::node_logic {
  public:
    [[nodiscard]] std::vector<std::string> subscriptions() const override {
        return {"md.tick.FEED"};
    }
    [[nodiscard]] std::vector<std::string> publications() const override { return {"md."}; }
    void on_event(runtime::context& ctx, const runtime::inbound& in) override {
        ctx.publish("md.tick.ECHO", tick_at("ECHO", ctx.now_ns()), in.ev.env.trace_id);
        calls.push_back("tick " + std::to_string((ctx.now_ns() - t0) / ms));
    }
    std::int64_t on_timer(runtime::context& /*ctx*/, std::int64_t now) override {
        calls.push_back("timer " + std::to_string((now - t0) / ms));
        return now + 5 * ms;
    }
    void on_drained(runtime::context&) override { ++drained; }
    std::vector<std::string> calls;
    int drained = 0;
};

// Everything, with when it arrived.
class recorder final : public runtime::node_logic {
  public:
    struct seen {
        std::int64_t at;
        std::string topic, src;
        std::uint64_t seq, trace;
        std::int64_t ts;
    };
    [[nodiscard]] std::vector<std::string> subscriptions() const override { return {""}; }
    [[nodiscard]] std::vector<std::string> publications() const override { return {}; }
    void on_event(runtime::context& ctx, const runtime::inbound& in) override {
        got.push_back({ctx.now_ns(), std::string(in.topic), in.ev.env.src, in.ev.env.seq,
                       in.ev.env.trace_id, in.ev.env.ts_ns});
    }
    std::vector<seen> got;
};

struct toy_run {
    simulation_stats stats;
    std::vector<recorder::seen> seen;
    std::vector<std::string> echo_calls;
    int echo_drained = 0;
    std::string tapped;
};

toy_run run_toy(std::int64_t latency) {
    simulation sim({.start_ns = t0, .hop_latency_ns = latency, .seed = 7});
    sim.add_node("feed", std::make_unique<feed>());
    sim.add_node("echo", std::make_unique<echo>());
    sim.add_node("rec", std::make_unique<recorder>());
    toy_run r;
    sim.set_tap([&](std::int64_t now, std::string_view topic, std::string_view raw) {
        r.tapped += std::to_string(now) + " " + std::string(topic) + " " + std::string(raw) + "\n";
    });
    r.stats = sim.run();
    r.seen = dynamic_cast<recorder*>(sim.logic("rec"))->got;
    r.echo_calls = dynamic_cast<echo*>(sim.logic("echo"))->calls;
    r.echo_drained = dynamic_cast<echo*>(sim.logic("echo"))->drained;
    return r;
}

}  // namespace

TEST_CASE("simulation: routing, envelopes, sequence numbers and order at zero latency") {
    const auto r = run_toy(0);
    REQUIRE(r.seen.size() == 6);
    // Each feed tick, then the echo it caused, at the tick's own time.
    for (int i = 0; i < 3; ++i) {
        const auto& f = r.seen[static_cast<std::size_t>(2 * i)];
        const auto& e = r.seen[static_cast<std::size_t>(2 * i + 1)];
        CAPTURE(i);
        CHECK(f.topic == "md.tick.FEED");
        CHECK(f.src == "feed");
        CHECK(f.seq == static_cast<std::uint64_t>(i + 1));
        CHECK(f.at == t0 + i * 10 * ms);
        CHECK(f.ts == f.at);
        CHECK(e.topic == "md.tick.ECHO");
        CHECK(e.src == "echo");
        CHECK(e.seq == static_cast<std::uint64_t>(i + 1));
        CHECK(e.at == f.at);
        CHECK(e.trace == f.trace);
        CHECK(f.trace != 0);
    }
    CHECK(r.seen[0].trace != r.seen[2].trace);
    // Timers and deliveries in (time, scheduling order): at 10 ms the echo's timer (scheduled
    // at 5 ms) runs before the tick the feed publishes at 10 ms; on_drained follows each
    // delivery; after the feed's stop the run settles (1 s) and ends.
    REQUIRE(r.echo_calls.size() > 8);
    CHECK(std::vector<std::string>(r.echo_calls.begin(), r.echo_calls.begin() + 8) ==
          std::vector<std::string>{"timer 0", "tick 0", "timer 5", "timer 10", "tick 10",
                                   "timer 15", "timer 20", "tick 20"});
    CHECK(r.echo_calls.back() == "timer 1020");
    CHECK(r.echo_drained == 3);
    CHECK(r.stats.published == 6);
    CHECK(r.stats.delivered == 9);  // three ticks to echo and rec, three echoes to rec
    CHECK(r.stats.stopped_by == "feed");
    CHECK(r.stats.stop_reason == "three ticks");
    CHECK(r.stats.end_ns == t0 + 20 * ms + 1000 * ms);
}

namespace {

// Notes its name in a shared log when a message reaches it.
class listener final : public runtime::node_logic {
  public:
    listener(std::string name, std::string prefix, std::vector<std::string>& log)
        : name_(std::move(name)), prefix_(std::move(prefix)), log_(log) {}
    [[nodiscard]] std::vector<std::string> subscriptions() const override { return {prefix_}; }
    [[nodiscard]] std::vector<std::string> publications() const override { return {}; }
    void on_event(runtime::context& /*ctx*/, const runtime::inbound& /*in*/) override {
        log_.push_back(name_);
    }

  private:
    std::string name_, prefix_;
    std::vector<std::string>& log_;
};

}  // namespace

TEST_CASE("simulation: a message reaches shorter subscription prefixes first, as live") {
    // The live broker's XPUB walks its subscription trie from the root: "md.tick." gets a
    // message on md.tick.FEED before "md.tick.FEED" does, whichever subscribed first; equal
    // prefixes in the order the nodes were added.
    std::vector<std::string> log;
    simulation sim({.start_ns = t0});
    sim.add_node("feed", std::make_unique<feed>());
    sim.add_node("narrow", std::make_unique<listener>("narrow", "md.tick.FEED", log));
    sim.add_node("wide", std::make_unique<listener>("wide", "md.tick.", log));
    sim.add_node("middle", std::make_unique<listener>("middle", "md.tick.F", log));
    sim.add_node("wide2", std::make_unique<listener>("wide2", "md.", log));
    sim.add_node("wide3", std::make_unique<listener>("wide3", "md.tick.", log));
    (void)sim.run();
    REQUIRE(log.size() == 15);
    CHECK(std::vector<std::string>(log.begin(), log.begin() + 5) ==
          std::vector<std::string>{"wide2", "wide", "wide3", "middle", "narrow"});
}

TEST_CASE("simulation: a hop latency delays every delivery by it, in publish order") {
    const auto r = run_toy(3 * ms);
    REQUIRE(r.seen.size() == 6);
    for (int i = 0; i < 3; ++i) {
        const auto& f = r.seen[static_cast<std::size_t>(2 * i)];
        const auto& e = r.seen[static_cast<std::size_t>(2 * i + 1)];
        CAPTURE(i);
        CHECK(f.ts == t0 + i * 10 * ms);
        CHECK(f.at == f.ts + 3 * ms);  // one hop
        CHECK(e.ts == f.at);           // published when the tick arrived
        CHECK(e.at == f.ts + 6 * ms);  // two hops after the tick
    }
}

TEST_CASE("simulation: the same nodes and seed give the same bytes, run after run") {
    const auto a = run_toy(1 * ms), b = run_toy(1 * ms);
    CHECK(a.tapped == b.tapped);
    CHECK_FALSE(a.tapped.empty());
}

namespace {

// A timer that always asks to run again at once and does nothing.
class spinner final : public runtime::node_logic {
  public:
    [[nodiscard]] std::vector<std::string> subscriptions() const override { return {}; }
    [[nodiscard]] std::vector<std::string> publications() const override { return {}; }
    std::int64_t on_timer(runtime::context& /*ctx*/, std::int64_t now) override { return now; }
};

}  // namespace

TEST_CASE("simulation: a timer that holds the clock still forever is an error, not a hang") {
    simulation sim({.start_ns = t0});
    sim.add_node("feed", std::make_unique<feed>());
    sim.add_node("spinner", std::make_unique<spinner>());
    try {
        (void)sim.run();
        FAIL("the run ended");
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()).starts_with(
            "simulation: node spinner's on_timer asked to run again at once 1000000 times in a "
            "row without publishing anything"));
    }
}

TEST_CASE("simulation: misuse is refused") {
    CHECK_THROWS_AS(simulation({.hop_latency_ns = -1}), std::invalid_argument);
    simulation sim({.start_ns = t0});
    sim.add_node("a", std::make_unique<recorder>());
    CHECK_THROWS_AS(sim.add_node("a", std::make_unique<recorder>()), std::invalid_argument);
    (void)sim.run();
    CHECK_THROWS_AS((void)sim.run(), std::logic_error);
}

namespace {

// One shipped node config (config/nodes/<kind>.toml) with `replace` applied: the logic, as
// tradebus-<kind> would build it from that file.
template <class Factory>
std::unique_ptr<runtime::node_logic> shipped(
    const std::string& kind, Factory factory,
    const std::vector<std::pair<std::string, std::string>>& replace = {}) {
    const std::string file = std::string(TRADEBUS_SOURCE_DIR) + "/config/nodes/" + kind + ".toml";
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    std::string toml = text.str();
    for (const auto& [from, to] : replace) {
        const auto at = toml.find(from);
        REQUIRE_MESSAGE(at != std::string::npos, kind << ".toml has no " << from);
        toml.replace(at, from.size(), to);
    }
    auto table = toml::parse(toml);
    common::config_errors errors(file);
    common::section root(&table, "", errors);
    const auto cfg = runtime::read_node_config(root, kind);
    auto own = root.table(kind, false);
    auto logic = factory(own);
    logic->configure(cfg.name, cfg.session);
    root.finish();
    REQUIRE_MESSAGE(errors.lines().empty(), errors.lines().front());
    return logic;
}

struct pipeline_run {
    simulation_stats stats;
    std::string tapped;
    std::size_t fills = 0, signals = 0;
};

pipeline_run run_sample(std::int64_t latency) {
    const std::string data = std::string(TRADEBUS_SOURCE_DIR) + "/config/data/sample_quotes.csv";
    // The first quote's time: the simulated clock starts there (risk's stale-quote check reads
    // the recorded exchange times against it).
    simulation sim({.start_ns = 1'710'509'400'000'000'000, .hop_latency_ns = latency});
    sim.add_node("marketdata",
                 shipped("marketdata", &marketdata::make_marketdata,
                         {{"source = \"synthetic\"", "source = \"csv\""},
                          {"path = \"config/data/sample_quotes.csv\"", "path = \"" + data + "\""},
                          {"loop = true", "loop = false"},
                          {"exit_at_end = false", "exit_at_end = true"},
                          {"timestamps = \"replay\"", "timestamps = \"recorded\""}}));
    sim.add_node("strategy", shipped("strategy", &strategy::make_strategy));
    sim.add_node("risk", shipped("risk", &risk::make_risk));
    sim.add_node("execution", shipped("execution", &execution::make_execution));
    pipeline_run r;
    sim.set_tap([&](std::int64_t now, std::string_view topic, std::string_view raw) {
        r.tapped += std::to_string(now) + " " + std::string(topic) + " ";
        r.tapped.append(raw.data(), raw.size());
        r.tapped += '\n';
        if (topic.starts_with(schema::topics::exec_fill)) ++r.fills;
        if (topic.starts_with("strategy.signal.")) ++r.signals;
    });
    r.stats = sim.run();
    return r;
}

}  // namespace

TEST_CASE("simulation: the shipped nodes replay the sample quotes, the same run twice") {
    const auto a = run_sample(0);
    CHECK(a.stats.stopped_by == "marketdata");
    CHECK(a.stats.stop_reason == "CSV replay finished");
    CHECK(a.signals > 0);
    CHECK(a.fills > 0);
    const auto b = run_sample(0);
    CHECK(a.tapped.size() == b.tapped.size());
    CHECK(a.tapped == b.tapped);
    // With 50 ms a hop the same quotes give a different run (later fills, other prices).
    const auto slow = run_sample(50 * ms);
    CHECK(slow.fills > 0);
    CHECK(slow.tapped != a.tapped);
}
