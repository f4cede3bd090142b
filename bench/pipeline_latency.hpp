// Pipeline latency (issue 8, item 2): a quote published by tradebus-marketdata to the fill
// published by tradebus-execution, through the broker, tradebus-strategy (signalling on every
// quote), tradebus-risk (limits that never bind, bench/pipeline/risk.toml) and execution. A
// subscriber in the driver sees each quote (its envelope ts_ns and trace id) and each fill
// (the same trace id, carried tick -> signal -> order -> fill) and takes fill arrival - quote
// publish time, both on CLOCK_REALTIME of this machine.
//
// The baseline is the physical limit of the design: the same number of ZeroMQ hops with no
// work in them. The driver publishes (paced like marketdata: what is due, once per ms), three
// tradebus-bench-proxy relays (separate processes, like the three nodes) pass the body on under a
// new topic, through one bare zmq_proxy, and the driver receives: publisher -> proxy -> relay ->
// proxy -> relay -> proxy -> relay -> proxy -> subscriber, four passes through the proxy as through
// the broker.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>
#include <zmq.hpp>

#include "bus_target.hpp"
#include "latency.hpp"

namespace tradebus::bench {

struct chain_options {
    double rate_per_s = 1000;
    std::uint64_t quotes = 5000;  // recorded, after the warm-up
    std::uint64_t warmup = 500;   // published first, not recorded
    std::chrono::milliseconds time_limit{20'000};
};

/// A step whose p90 quote -> fill latency exceeds this is not sustainable however steady it
/// is: a queue formed (early in the step, then stayed full). Far above this machine's
/// scheduling noise (p90 about 1 ms at 1k/s), far below any queue worth the name.
inline constexpr double max_sustained_p90_us = 20'000;

/// Why a step's latencies say the node did not keep up, "" when they do: a p90 over
/// max_sustained_p90_us (`what` queued behind each other), or a p90 that grew from the first half
/// of the step to the second (a queue building up). The pipeline and python sections' rule.
[[nodiscard]] std::string backlog_in(const percentiles& all, const percentiles& first_half,
                                     const percentiles& second_half, std::string_view what);

struct chain_result {
    double asked_rate = 0;
    double achieved_rate = 0;    // recorded quotes / their publish-time span
    std::uint64_t quotes = 0;    // recorded quotes published
    std::uint64_t filled = 0;    // of those, with a fill at the subscriber
    std::uint64_t rejected = 0;  // of those, answered by a rejection (risk or execution)
    bool timed_out = false;
    percentiles us;                       // quote publish -> fill arrival, microseconds
    percentiles first_half, second_half;  // by quote order: a growing queue shows here

    [[nodiscard]] std::uint64_t lost() const { return quotes - filled - rejected; }
    /// "Sustainable" (bench/README.md): every quote filled (no loss, no rejection), the
    /// source kept >= 95% of the asked rate, and no queue building up: the second half's p90
    /// at most 2x the first half's + 2 ms (a queue that grows moves the whole distribution;
    /// this machine's scheduling noise moves only the far tail). Empty when sustainable,
    /// else why not.
    [[nodiscard]] std::string unsustainable_because() const;
};

/// The broker and the strategy, risk and execution nodes, up for the length of a scope;
/// run() starts a marketdata node at the asked rate for each measurement.
class pipeline_rig {
  public:
    /// Starts everything and waits until the broker reports the three nodes healthy. Throws
    /// std::runtime_error (with the logs) when something exits or does not come up.
    pipeline_rig(zmq::context_t& ctx, const executables& exe, const temp_dir& dir,
                 const std::string& source_dir);
    ~pipeline_rig();
    pipeline_rig(const pipeline_rig&) = delete;
    pipeline_rig& operator=(const pipeline_rig&) = delete;

    chain_result run(const chain_options& opts);
    /// Returns once no quote, fill or rejection has passed for 1 s (at most 60 s): the nodes
    /// have worked off what an overloaded run queued.
    void drain();
    /// Peak RSS (VmHWM, KiB) so far: "broker", "strategy", "risk", "execution" and
    /// "marketdata" (the largest of its runs).
    [[nodiscard]] std::map<std::string, std::uint64_t> peak_rss_kib();
    /// SIGTERM to every process; throws when one does not exit 0.
    void stop();

  private:
    struct node;
    void write_node_config(const std::string& kind, const std::string& own);
    void check_nodes_alive();

    zmq::context_t& ctx_;
    const executables& exe_;
    const temp_dir& dir_;
    std::unique_ptr<bus_target> broker_;
    std::vector<std::unique_ptr<node>> nodes_;
    std::uint64_t marketdata_hwm_kib_ = 0;
    unsigned runs_ = 0;
};

/// A bare zmq_proxy and three relays, for the same hops as the pipeline with no work in them.
class raw_chain {
  public:
    raw_chain(zmq::context_t& ctx, const executables& exe, const temp_dir& dir);
    ~raw_chain();
    raw_chain(const raw_chain&) = delete;
    raw_chain& operator=(const raw_chain&) = delete;

    chain_result run(const chain_options& opts);
    /// Peak RSS (VmHWM, KiB): "proxy" and the largest relay ("relay").
    [[nodiscard]] std::map<std::string, std::uint64_t> peak_rss_kib();
    void stop();

  private:
    zmq::context_t& ctx_;
    std::unique_ptr<bus_target> proxy_;
    std::vector<std::unique_ptr<child_process>> relays_;
};

/// The topic of the driver's raw probes (not an event: a subscriber skips it).
inline constexpr std::string_view probe_topic = "bench.probe";

/// Publishes raw probes on probe_topic through `pub` until `sub` (subscribed to it) has one:
/// the slow-joiner wait of both. Throws when none gets through `target` within 10 s.
void wait_subscribed(zmq::socket_t& pub, bus_target& target, zmq::socket_t& sub);

/// Number of relays (= nodes between marketdata and the subscriber: strategy, risk, execution).
inline constexpr int chain_relays = 3;

}  // namespace tradebus::bench
