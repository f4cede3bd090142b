// How many ticks per second one strategy node keeps up with (the `python` section): the built-in
// tradebus-strategy with its shipped config (config/nodes/strategy.toml) against
// bench/python_strategy.py, the same logic on the Python package, each alone on a broker.
//
// The driver publishes md.tick.<SYM> for the shipped config's three symbols in turn (a seeded
// random walk of each mid, one-cent spreads; each tick its own trace id), paced like the
// pipeline's source: it wakes at most once per millisecond and sends what is due. The node
// signals where its EMAs cross (about one tick in ten), each signal carrying the trace id of the
// tick behind it; the driver subscribes to strategy.signal. and takes tick publish -> signal
// arrival for every signal.
//
// "Keeps up" at a rate (tick_step_result::unsustainable_because): the node got every tick and
// no queue built up in front of it. "Every tick" comes from the node's own heartbeat counters in
// the broker's status (received grew by the ticks published, gaps did not grow); the driver waits
// for them after each step, which also drains the node before the next one. "No queue" comes
// from the signals' latency, with the pipeline section's thresholds: p90 <= 20 ms and the second
// half's p90 <= 2x the first half's + 2 ms. The heartbeat's queue_depth is not used: a node
// reports how many messages its last drain pass took (capped by its budget), which says a queue
// exists but not whether it grows. With ZeroMQ's HWM at 100000 a node that falls behind loses
// nothing for a while, it queues: the latency is what shows it.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "bus_target.hpp"
#include "latency.hpp"

namespace tradebus::bench {

/// The node under test: how to start it and its own table (the [strategy] table and its
/// [strategy.symbols.*]); the rig writes [node] and [broker] in front.
struct strategy_node_spec {
    std::string name;  // [node] name, e.g. "strategy", "pystrategy"
    std::string executable;
    std::vector<std::string> args;  // before "--config FILE"
    std::vector<std::string> env;   // "KEY=VALUE", added to the environment
    std::string own_toml;
};

struct tick_step_options {
    double rate_per_s = 1000;
    double seconds = 1.5;   // ticks are published over this long
    double warmup_s = 0.3;  // of which the first are not recorded
};

struct tick_step_result {
    double asked_rate = 0;
    double achieved_rate = 0;    // ticks / their publish-time span
    std::uint64_t ticks = 0;     // published in the step
    std::uint64_t received = 0;  // the node's heartbeat counter: growth over the step
    std::uint64_t gaps = 0;      // the same for its gap counter
    bool counted = false;        // the counters reached `ticks` within 10 s of the end
    std::uint64_t signals = 0;   // signals seen for the step's ticks
    double cpu_us_per_tick = 0;  // the node's CPU time (user + system) over the step
    percentiles us;              // tick publish -> signal arrival, recorded ticks
    percentiles first_half, second_half;

    /// Empty when the node kept up (see the top of this file), else why not.
    [[nodiscard]] std::string unsustainable_because() const;
};

/// The node under test, up for the length of a scope, on `broker`; run() publishes one step.
class strategy_rig {
  public:
    /// Starts the node and waits until the broker reports it healthy. Throws
    /// std::runtime_error (with its log) when it exits or does not come up within 30 s.
    strategy_rig(zmq::context_t& ctx, bus_target& broker, const temp_dir& dir,
                 strategy_node_spec spec);
    ~strategy_rig();
    strategy_rig(const strategy_rig&) = delete;
    strategy_rig& operator=(const strategy_rig&) = delete;

    tick_step_result run(const tick_step_options& opts);
    /// SIGTERM; throws when the node does not exit 0.
    void stop();

  private:
    [[nodiscard]] schema::node_counters counters();
    void check_alive();

    zmq::context_t& ctx_;
    bus_target& broker_;
    strategy_node_spec spec_;
    std::unique_ptr<child_process> process_;
    std::uint64_t next_trace_ = 0;  // trace ids never repeat across steps
    std::uint64_t inc_ = 0;         // the source's incarnation, one per step
    std::mt19937_64 rng_{1};        // the walk goes on across steps
    std::vector<double> mids_;
};

/// The shipped config's trade_symbols: the driver publishes ticks for these.
inline constexpr const char* strategy_symbols[] = {"AAPL", "MSFT", "SPY"};

}  // namespace tradebus::bench
