// One forwarding run through a bus target: P publisher threads send encoded ticks (one topic
// per symbol, envelope seq per topic, as nodes do), S subscriber threads receive everything
// and check each topic's seq is continuous: a jump is a lost message, counted by its size.
//
// Two modes:
// - paced (window > 0): credit-based flow control, as in the Guide's "credit-based flow
//   control": a publisher never has more than `window` messages in flight towards its slowest
//   subscriber. With the window below every high-water mark on the path nothing can be dropped,
//   so the rate measured is what the target forwards with zero loss.
// - burst (window == 0): publishers send as fast as they can and the high-water marks decide
//   what is lost. Afterwards, once nothing more arrives, one trailing message per topic makes
//   the loss at the tail visible as a gap too, so "lost" and "seen as gaps" can be compared.
// Every run is bounded by its message count and by `time_limit`.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <zmq.hpp>

#include "bus_target.hpp"
#include "tradebus/schema/events.hpp"

namespace tradebus::bench {

struct stream_options {
    std::size_t publishers = 1;
    std::size_t subscribers = 1;
    /// Distinct topics (md.tick.<symbol>) each publisher cycles through.
    std::size_t topics_per_publisher = 1;
    std::uint64_t messages_per_publisher = 100'000;
    /// Messages in flight per publisher (paced); 0 = full-speed burst.
    std::uint64_t window = 1000;
    std::chrono::milliseconds time_limit{10'000};
    /// The clients' PUB SNDHWM and SUB RCVHWM (tradebus nodes default to 100000).
    int client_sndhwm = 100'000;
    int client_rcvhwm = 100'000;
    /// Makes this run's symbols distinct from earlier runs' ("<tag>P<p>S<n>").
    std::string symbol_tag = "B";
};

struct stream_result {
    std::uint64_t sent = 0;            // stream messages published (incl. trailing ones)
    std::uint64_t expected = 0;        // sent x subscribers
    std::uint64_t received = 0;        // stream messages received, all subscribers
    std::uint64_t lost = 0;            // expected - received
    std::uint64_t gap_messages = 0;    // messages missing according to the seq jumps seen
    std::uint64_t gap_events = 0;      // how many jumps
    std::uint64_t out_of_order = 0;    // seq lower than expected (duplicates, reordering)
    std::uint64_t bad_messages = 0;    // unknown topic, undecodable body, scan != decode
    std::uint64_t reached_target = 0;  // broker only: its per-topic counters, all stream topics
    bool timed_out = false;
    double seconds = 0;          // first send -> last message received
    double delivered_per_s = 0;  // received / seconds
    double published_per_s = 0;  // sent / seconds
    double target_cpu_seconds = 0;
    std::size_t topic_bytes = 0, body_bytes = 0;  // of one message
};

/// Runs one stream through `target`. Throws std::runtime_error when the clients cannot get a
/// probe through within the time limit or the target has exited.
[[nodiscard]] stream_result run_stream(zmq::context_t& ctx, bus_target& target,
                                       const stream_options& opts);

/// The tick the benchmark publishes (realistic prices and sizes; exch_ts_ns left 0).
[[nodiscard]] schema::tick sample_tick(std::string_view symbol);

/// An encoded tick as the benchmark publishes it (realistic prices and sizes), for sizing.
[[nodiscard]] std::string sample_tick_body(std::string_view symbol, std::uint64_t seq);

}  // namespace tradebus::bench
