#include "latency.hpp"

#include <sys/prctl.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <ctime>
#include <memory>
#include <stdexcept>
#include <thread>

#include "seq_scan.hpp"
#include "tradebus/common/process.hpp"
#include "tradebus/schema/codec.hpp"
#include "tradebus/schema/topics.hpp"

namespace tradebus::bench {

namespace {

using namespace std::chrono_literals;
using bench_clock = std::chrono::steady_clock;

zmq::socket_t make_socket(zmq::context_t& ctx, zmq::socket_type type) {
    zmq::socket_t s(ctx, type);
    s.set(zmq::sockopt::linger, 0);
    if (type == zmq::socket_type::sub) s.set(zmq::sockopt::rcvtimeo, 20);
    return s;
}

// Publishes a probe on `topic` through `pub` until `sub` receives one (each wait is a poll).
void probe_path(zmq::socket_t& pub, zmq::socket_t& sub, const std::string& topic,
                bench_clock::time_point deadline, bus_target& target) {
    zmq_pollitem_t item{sub.handle(), 0, ZMQ_POLLIN, 0};
    for (;;) {
        (void)pub.send(zmq::buffer(topic), zmq::send_flags::sndmore);
        (void)pub.send(zmq::str_buffer("probe"), zmq::send_flags::none);
        if (zmq::poll(&item, 1, 10ms) > 0) {
            zmq::message_t m;
            while (sub.recv(m, zmq::recv_flags::dontwait)) {
                const bool match = m.to_string_view() == topic;
                while (m.more()) (void)sub.recv(m, zmq::recv_flags::none);
                if (match) return;
            }
        }
        if (bench_clock::now() >= deadline) {
            target.check_alive();
            throw std::runtime_error("latency: no probe on " + topic + " got through " +
                                     std::string(target.name()));
        }
    }
}

}  // namespace

latency_result run_latency(zmq::context_t& ctx, bus_target& target, const latency_options& o) {
    target.check_alive();
    const std::string ping = schema::topics::for_symbol(schema::topics::md_tick, "LAT");
    const std::string pong = schema::topics::for_symbol(schema::topics::exec_fill, "LAT");
    zmq::socket_t a_pub = make_socket(ctx, zmq::socket_type::pub);
    zmq::socket_t a_sub = make_socket(ctx, zmq::socket_type::sub);
    zmq::socket_t b_pub = make_socket(ctx, zmq::socket_type::pub);
    zmq::socket_t b_sub = make_socket(ctx, zmq::socket_type::sub);
    a_sub.set(zmq::sockopt::subscribe, pong);
    b_sub.set(zmq::sockopt::subscribe, ping);
    a_pub.connect(target.xsub());
    b_pub.connect(target.xsub());
    a_sub.connect(target.xpub());
    b_sub.connect(target.xpub());
    const auto probe_deadline = bench_clock::now() + 10s;
    probe_path(a_pub, b_sub, ping, probe_deadline, target);
    probe_path(b_pub, a_sub, pong, probe_deadline, target);

    const std::uint64_t total = o.warmup + o.messages;
    auto sent_ns = std::make_unique<std::atomic<std::int64_t>[]>(total);
    auto recv_ns = std::make_unique<std::atomic<std::int64_t>[]>(total);
    for (std::uint64_t i = 0; i < total; ++i) sent_ns[i].store(0), recv_ns[i].store(0);
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> answered{0};

    // B: echoes every ping, body untouched, on the pong topic (late probes included: A
    // ignores bodies that are not events).
    std::thread echo([&] {
        zmq::message_t topic, body;
        while (!stop.load(std::memory_order_relaxed)) {
            if (!b_sub.recv(topic, zmq::recv_flags::none)) continue;
            if (!topic.more()) continue;
            (void)b_sub.recv(body, zmq::recv_flags::none);
            while (body.more()) (void)b_sub.recv(body, zmq::recv_flags::none);
            (void)b_pub.send(zmq::buffer(pong), zmq::send_flags::sndmore);
            (void)b_pub.send(body, zmq::send_flags::none);
        }
    });
    // A's receiving side.
    std::thread receiver([&] {
        zmq::message_t topic, body;
        while (!stop.load(std::memory_order_relaxed)) {
            if (!a_sub.recv(topic, zmq::recv_flags::none)) continue;
            if (!topic.more()) continue;
            (void)a_sub.recv(body, zmq::recv_flags::none);
            const std::int64_t now = mono_ns();
            while (body.more()) (void)a_sub.recv(body, zmq::recv_flags::none);
            const auto seq = scan_seq(body.to_string_view());
            if (!seq || *seq == 0 || *seq > total) continue;
            const std::uint64_t i = *seq - 1;
            if (sent_ns[i].load(std::memory_order_acquire) == 0) continue;
            std::int64_t expected = 0;
            if (recv_ns[i].compare_exchange_strong(expected, now)) answered.fetch_add(1);
        }
    });

    // A's sending side: this thread, on an absolute schedule with a 1 ns timer slack (the
    // default 50 us slack would make every wake-up late).
    const int old_slack = ::prctl(PR_GET_TIMERSLACK, 0UL, 0UL, 0UL, 0UL);
    ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    const auto period_ns = static_cast<std::int64_t>(1e9 / o.rate_per_s);
    const std::int64_t t0 = mono_ns() + 1'000'000;
    const std::int64_t deadline_ns =
        mono_ns() + std::chrono::duration_cast<std::chrono::nanoseconds>(o.time_limit).count();
    schema::tick t;
    t.symbol = "LAT";
    t.bid_px = schema::to_fixed(187.42);
    t.ask_px = schema::to_fixed(187.44);
    t.bid_qty = 300;
    t.ask_qty = 500;
    latency_result r;
    const auto s = send_open_loop(t, total, o.warmup, t0, period_ns, deadline_ns, sent_ns.get(),
                                  [&](std::string_view body) {
                                      (void)a_pub.send(zmq::buffer(ping), zmq::send_flags::sndmore);
                                      (void)a_pub.send(zmq::buffer(body), zmq::send_flags::none);
                                      return true;
                                  });
    const std::uint64_t sent = s.sent;
    const std::int64_t first_recorded_ns = s.first_recorded_ns, last_sent_ns = s.last_sent_ns;
    r.timed_out = s.timed_out;
    // The last echoes: at most 1 s more (within the time limit).
    const std::int64_t wait_until = std::min(last_sent_ns + 1'000'000'000, deadline_ns);
    while (answered.load() < sent && mono_ns() < wait_until) {
        std::this_thread::sleep_for(1ms);  // polling a counter at the end of the run
    }
    if (old_slack > 0)
        ::prctl(PR_SET_TIMERSLACK, static_cast<unsigned long>(old_slack), 0UL, 0UL, 0UL);
    stop.store(true);
    echo.join();
    receiver.join();

    r.record(sent_ns.get(), recv_ns.get(), o.warmup, sent, first_recorded_ns, last_sent_ns, 1e3);
    target.check_alive();
    return r;
}

void latency_result::record(const std::atomic<std::int64_t>* sent_ns,
                            const std::atomic<std::int64_t>* recv_ns, std::uint64_t warmup,
                            std::uint64_t sent_count, std::int64_t first_recorded_ns,
                            std::int64_t last_sent_ns, double ns_per_sample) {
    std::vector<double> samples;
    samples.reserve(sent_count > warmup ? sent_count - warmup : 0);
    for (std::uint64_t i = warmup; i < sent_count; ++i) {
        const std::int64_t rx = recv_ns[i].load();
        if (rx != 0) samples.push_back(static_cast<double>(rx - sent_ns[i].load()) / ns_per_sample);
    }
    sent = sent_count > warmup ? sent_count - warmup : 0;
    answered = samples.size();
    if (sent > 1 && last_sent_ns > first_recorded_ns) {
        achieved_rate = static_cast<double>(sent - 1) /
                        (static_cast<double>(last_sent_ns - first_recorded_ns) / 1e9);
    }
    us = compute_percentiles(samples);
    runs.push_back(us);
    samples_us = std::move(samples);
}

void latency_result::merge(const latency_result& other) {
    const double n0 = static_cast<double>(sent), n1 = static_cast<double>(other.sent);
    if (n0 + n1 > 0) achieved_rate = (achieved_rate * n0 + other.achieved_rate * n1) / (n0 + n1);
    sent += other.sent;
    answered += other.answered;
    timed_out = timed_out || other.timed_out;
    samples_us.insert(samples_us.end(), other.samples_us.begin(), other.samples_us.end());
    runs.insert(runs.end(), other.runs.begin(), other.runs.end());
    us = compute_percentiles(samples_us);
}

}  // namespace tradebus::bench
