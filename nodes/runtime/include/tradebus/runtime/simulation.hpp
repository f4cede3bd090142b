// Node logic on a simulated clock, in one process (the backtester's engine): the same
// node_logic classes as a live pipeline, connected by an in-process bus with the live bus's
// routing (a message goes to every node with a subscription prefix of its topic, the publisher
// included), envelopes (envelope_stamper: src, inc, seq per topic, ts_ns) and encoding (each
// message is encoded and decoded as on the wire), under a clock that jumps from one scheduled
// happening to the next: nothing sleeps, and the same nodes, config and input give the same
// run, byte for byte.
//
// Order of effects (what a strategy can rely on, as live when the bus keeps up):
// - everything is scheduled at a simulated time and runs in (time, scheduling order) order;
// - a message published at time t reaches each subscriber at t + hop_latency_ns, in the order
//   it was published; subscribers get it in the order the live broker writes it to them: the
//   subscribers of shorter matching prefixes first (libzmq's XPUB walks its subscription trie
//   from the root: "md.tick." before "md.tick.AAPL"), equal ones in the order the nodes were
//   added;
// - a node's timer runs at the deadline its on_timer returned (a deadline <= now: after what
//   is already scheduled for now); a timer due at the same time as a delivery runs after the
//   deliveries scheduled before it;
// - on_drained follows each delivery, as after a live drain of one message;
// - a subscriber gets the event as it was published (its envelope stamped), or, with
//   decode_each, as decoded from the bytes that would cross the wire.
// With hop_latency_ns = 0 a strategy sees the fill of its order before the next tick whenever
// that tick is later than the tick that caused the order; a positive latency exposes a
// strategy that only works at zero latency.
//
// Not simulated: the broker's control plane (send_control, announce_service and watch_* are
// refused as in any context without them: the trading nodes do not use them), recovery from a
// journal (a simulation starts fresh), last-value caches, and operators (no sys.trading: the
// desk is active unless a node's own rule halts it).
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tradebus/runtime/node.hpp"

namespace tradebus::runtime {

struct simulation_options {
    /// The simulated clock when the run starts (ns since the Unix epoch).
    std::int64_t start_ns = 0;
    /// Publisher to subscriber, per message (ns of simulated time; the broker's hop included).
    std::int64_t hop_latency_ns = 0;
    /// Nothing scheduled after this runs: the run ends there.
    std::int64_t end_ns = std::numeric_limits<std::int64_t>::max();
    /// Seeds the trace ids the nodes draw (new_trace_id), so they repeat run after run.
    std::uint64_t seed = 1;
    /// Every message is encoded (its bytes are what a subscriber's inbound::raw and the tap
    /// see); a subscriber gets the event that was encoded. With decode_each, it gets instead
    /// the event decoded from those bytes, as a live subscriber does: slower (a decode per
    /// message), and the same run whenever the codec round-trips (the tests check both).
    bool decode_each = false;
};

/// What a run did.
struct simulation_stats {
    std::uint64_t published = 0;  // messages published by the nodes
    std::uint64_t delivered = 0;  // deliveries to nodes (one message to three nodes: 3)
    std::uint64_t timers = 0;     // on_timer calls
    std::int64_t end_ns = 0;      // the simulated clock when the run ended
    std::string stopped_by;       // the node that asked to stop ("" when the run ran dry)
    std::string stop_reason;
};

class simulation {
  public:
    explicit simulation(simulation_options options);
    ~simulation();
    simulation(const simulation&) = delete;
    simulation& operator=(const simulation&) = delete;

    /// Adds node `name` (unique) running `logic`, already configured (node_logic::configure).
    /// Nodes start, and get a message, in the order they were added.
    void add_node(std::string name, std::unique_ptr<node_logic> logic);

    /// Called with every message as it is published (the run's journal, tests): the simulated
    /// time, the topic and the encoded event as it would cross the wire.
    using tap =
        std::function<void(std::int64_t now_ns, std::string_view topic, std::string_view raw)>;
    void set_tap(tap on_publish);

    /// Starts the nodes (on_start, then each one's first timer), runs until nothing is left to
    /// run before end_ns or a node asks to stop (context::request_stop: a CSV replay at its end
    /// with exit_at_end), then stops them (on_stop). Runs once. What a logic throws comes out
    /// of here; so does std::runtime_error when a node's on_timer keeps asking to run again at
    /// once without publishing anything (the clock could never move).
    simulation_stats run();

    /// The logic of node `name` (to read its state after the run); nullptr if none.
    [[nodiscard]] node_logic* logic(std::string_view name) const;

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace tradebus::runtime
