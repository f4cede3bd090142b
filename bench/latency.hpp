// Round-trip latency through a bus target: A publishes a tick on md.tick.<sym> at a fixed rate
// (an open-loop schedule: a slow reply never delays the next send), B receives it and
// publishes the same bytes back on exec.fill.<sym>, A receives that. The round trip is taken
// from just before A's send to just after A's receive, on one monotonic clock (A's sender and
// receiver are two threads of one process). Each message is matched by its envelope seq.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <vector>
#include <zmq.hpp>

#include "bus_target.hpp"
#include "tradebus/common/pacing.hpp"
#include "tradebus/common/process.hpp"
#include "tradebus/schema/codec.hpp"

namespace tradebus::bench {

struct latency_options {
    double rate_per_s = 1000;
    std::uint64_t messages = 5000;  // recorded, after the warm-up
    std::uint64_t warmup = 200;     // sent first, not recorded
    std::chrono::milliseconds time_limit{20'000};
};

using common::compute_percentiles;
using common::mono_ns;
using common::percentiles;  // microseconds here
using common::sleep_until_mono_ns;

struct latency_result {
    std::uint64_t sent = 0;      // recorded messages sent
    std::uint64_t answered = 0;  // of those, echoes received
    bool timed_out = false;
    double achieved_rate = 0;  // recorded messages / send duration
    percentiles us;
    std::vector<double> samples_us;  // every recorded round trip, sorted
    std::vector<percentiles> runs;   // each run's own percentiles (one, or one per half)

    /// Adds another run's samples and counts (for runs split in ABBA order) and recomputes
    /// the percentiles over all samples.
    void merge(const latency_result& other);

    /// Fills in one open-loop run from its clocks: messages [warmup, sent_count) with their send
    /// and answer times (ns; an answer of 0 = none), each sample (answer - send) / `ns_per_sample`
    /// (1e3: the round trip in us; 2e3: half of it, one way), the achieved rate over the
    /// recorded sends.
    void record(const std::atomic<std::int64_t>* sent_ns, const std::atomic<std::int64_t>* recv_ns,
                std::uint64_t warmup, std::uint64_t sent_count, std::int64_t first_recorded_ns,
                std::int64_t last_sent_ns, double ns_per_sample);
};

/// The sending side of an open-loop run (`latency` and `peers`): message n, a copy of `t`
/// encoded with seq n + 1 just before its time, goes out at t0 + n * period_ns through
/// `send(body)` (false: stop), its send time stamped in sent_ns[n]. Stops after `total` or at
/// `deadline_ns` (timed_out).
struct open_loop_sends {
    std::uint64_t sent = 0;
    std::int64_t first_recorded_ns = 0, last_sent_ns = 0;
    bool timed_out = false;
};
template <class Send>
open_loop_sends send_open_loop(schema::tick t, std::uint64_t total, std::uint64_t warmup,
                               std::int64_t t0, std::int64_t period_ns, std::int64_t deadline_ns,
                               std::atomic<std::int64_t>* sent_ns, Send&& send) {
    open_loop_sends s;
    std::string buf;
    for (; s.sent < total; ++s.sent) {
        const std::int64_t when = t0 + static_cast<std::int64_t>(s.sent) * period_ns;
        if (when >= deadline_ns) {
            s.timed_out = true;
            break;
        }
        const std::uint64_t seq = s.sent + 1;
        t.exch_ts_ns = common::now_ns();
        schema::encode_event(schema::envelope{"bench-a", seq, t.exch_ts_ns, seq}, t, buf);
        sleep_until_mono_ns(when);
        const std::int64_t now = mono_ns();
        sent_ns[s.sent].store(now, std::memory_order_release);
        if (!send(std::string_view(buf))) break;
        if (s.sent == warmup) s.first_recorded_ns = now;
        s.last_sent_ns = now;
    }
    return s;
}

/// Runs one latency measurement through `target`. Throws std::runtime_error when the probes
/// cannot get through or the target has exited.
[[nodiscard]] latency_result run_latency(zmq::context_t& ctx, bus_target& target,
                                         const latency_options& opts);

}  // namespace tradebus::bench
