#include "strategy_rate.hpp"

#include <sys/prctl.h>

#include <algorithm>
#include <atomic>
#include <iterator>
#include <stdexcept>
#include <thread>
#include <utility>

#include "pipeline_latency.hpp"
#include "report.hpp"
#include "tradebus/common/process.hpp"
#include "tradebus/schema/codec.hpp"
#include "tradebus/schema/topics.hpp"

namespace tradebus::bench {

namespace {
using namespace std::chrono_literals;
namespace topics = schema::topics;
constexpr std::size_t n_symbols = std::size(strategy_symbols);
}  // namespace

std::string tick_step_result::unsustainable_because() const {
    if (ticks == 0) return "no tick published";
    if (!counted) {
        return "the node counted " + fmt_count(received) + " of " + fmt_count(ticks) +
               " ticks within 10 s of the last";
    }
    if (gaps > 0) return fmt_count(gaps) + " ticks lost (seq gaps)";
    if (achieved_rate < 0.95 * asked_rate) {
        return "source reached only " + fmt_rate(achieved_rate) + " of " + fmt_rate(asked_rate);
    }
    if (signals == 0) return "no signal to time";
    return backlog_in(us, first_half, second_half, "ticks");
}

strategy_rig::strategy_rig(zmq::context_t& ctx, bus_target& broker, const temp_dir& dir,
                           strategy_node_spec spec)
    : ctx_(ctx), broker_(broker), spec_(std::move(spec)), mids_(n_symbols, 100.0) {
    // Heartbeats every 100 ms: the counters in the broker's status are at most that old.
    const auto config = dir.write(spec_.name + ".toml",
                                  "[node]\nkind = \"strategy\"\nname = \"" + spec_.name +
                                      "\"\ndepends_on = []\nheartbeat_interval_ms = 100\n"
                                      "log_level = \"warn\"\n[broker]\ncontrol_endpoint = \"" +
                                      broker_.control() + "\"\n" + spec_.own_toml);
    std::vector<std::string> args = spec_.args;
    args.insert(args.end(), {"--config", config.string()});
    process_ = std::make_unique<child_process>(spec_.executable, args,
                                               dir.file(spec_.name + ".log"), spec_.env);
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    for (;;) {
        check_alive();
        if (auto st = broker_.status(1)) {
            for (const auto& n : st->nodes) {
                if (n.name == spec_.name && n.state == schema::health::healthy) return;
            }
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            throw std::runtime_error(spec_.name + " (" + spec_.executable +
                                     ") not healthy within 30 s; its log:\n" + process_->log());
        }
        std::this_thread::sleep_for(50ms);  // polling interval of the status requests
    }
}

strategy_rig::~strategy_rig() {
    if (process_) (void)process_->stop();
}

void strategy_rig::check_alive() {
    broker_.check_alive();
    if (!process_->running()) {
        // Its last line first (a Python node's exception): the table shows the first line.
        const std::string log = process_->log();
        std::string_view last = log;
        while (!last.empty() && last.back() == '\n') last.remove_suffix(1);
        last = last.substr(last.rfind('\n') + 1);  // npos + 1 == 0: the only line
        throw std::runtime_error(spec_.name + " (" + spec_.executable + ") exited with status " +
                                 std::to_string(process_->wait_exit(0ms).value_or(-1)) + ": " +
                                 std::string(last) + "; its log:\n" + log);
    }
}

schema::node_counters strategy_rig::counters() {
    if (auto st = broker_.status(1)) {
        for (const auto& n : st->nodes) {
            if (n.name == spec_.name) return n.counters;
        }
    }
    check_alive();
    throw std::runtime_error("the broker's status does not list " + spec_.name);
}

void strategy_rig::stop() {
    const int status = process_->stop();
    if (status != 0) {
        throw std::runtime_error(spec_.name + " exited with status " + std::to_string(status) +
                                 " on SIGTERM; its log:\n" + process_->log());
    }
}

tick_step_result strategy_rig::run(const tick_step_options& o) {
    check_alive();
    const auto total = static_cast<std::uint64_t>(o.rate_per_s * o.seconds);
    const auto warmup = static_cast<std::uint64_t>(o.rate_per_s * o.warmup_s);
    zmq::socket_t sub(ctx_, zmq::socket_type::sub);
    sub.set(zmq::sockopt::linger, 0);
    sub.set(zmq::sockopt::rcvhwm, 1'000'000);
    sub.set(zmq::sockopt::rcvtimeo, 20);
    sub.set(zmq::sockopt::subscribe, topics::signal);
    sub.set(zmq::sockopt::subscribe, probe_topic);
    sub.connect(broker_.xpub());
    zmq::socket_t pub(ctx_, zmq::socket_type::pub);
    pub.set(zmq::sockopt::linger, 0);
    pub.set(zmq::sockopt::sndhwm, 100'000);
    pub.connect(broker_.xsub());
    wait_subscribed(pub, broker_, sub);

    const schema::node_counters before = counters();
    const double cpu_before = read_cpu_seconds(process_->pid()).value_or(0);
    const std::uint64_t base = next_trace_;  // tick k has trace id base + k + 1
    next_trace_ += total;
    const std::uint64_t inc = ++inc_;  // a new incarnation: seq starts at 1, never a gap
    std::vector<std::int64_t> sent_ns(total, 0);
    std::atomic<bool> done{false};

    // The source, paced like the pipeline's: at most one wake-up per millisecond, sending every
    // tick that is due, each stamped as it is sent. Symbols in turn, each mid +-1 bp per tick.
    std::thread source([&] {
        ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
        std::vector<std::uint64_t> seq(n_symbols, 0);
        std::bernoulli_distribution up(0.5);
        std::vector<std::string> tick_topics;
        for (const char* sym : strategy_symbols) {
            tick_topics.push_back(topics::for_symbol(topics::md_tick, sym));
        }
        std::string buf;
        const auto period_ns = static_cast<std::int64_t>(1e9 / o.rate_per_s);
        const std::int64_t t0 = mono_ns() + 1'000'000;
        const auto due = [&](std::uint64_t k) {
            return t0 + static_cast<std::int64_t>(k) * period_ns;
        };
        std::int64_t wake = t0;
        for (std::uint64_t k = 0; k < total;) {
            wake = std::max(due(k), wake + 1'000'000);
            sleep_until_mono_ns(wake);
            const std::int64_t now = mono_ns();
            for (; k < total && due(k) <= now; ++k) {
                const std::size_t s = k % n_symbols;
                double& mid = mids_[s];
                mid *= up(rng_) ? 1.0001 : 0.9999;
                const std::int64_t ts = common::now_ns();
                const schema::tick q{strategy_symbols[s],
                                     schema::to_fixed(mid - 0.005),
                                     100,
                                     schema::to_fixed(mid + 0.005),
                                     100,
                                     0,
                                     0,
                                     ts};
                schema::encode_event(schema::envelope{"bench", ++seq[s], ts, base + k + 1, inc}, q,
                                     buf);
                (void)pub.send(zmq::buffer(tick_topics[s]), zmq::send_flags::sndmore);
                (void)pub.send(zmq::buffer(buf), zmq::send_flags::none);
                sent_ns[k] = ts;
            }
        }
        done.store(true);
    });

    // The signals as they arrive; once the source is done, the node's counters every 50 ms until
    // they show every tick (at most 10 s), then 100 ms more for the signals still in flight.
    std::vector<std::pair<std::uint64_t, std::int64_t>> arrivals;  // (trace id, arrival ns)
    tick_step_result r;
    r.asked_rate = o.rate_per_s;
    r.ticks = total;
    std::int64_t done_at = 0, next_status = 0, end_at = 0;
    zmq::message_t topic, body;
    for (;;) {
        const std::int64_t now = mono_ns();
        if (end_at > 0 && now >= end_at) break;
        if (end_at == 0 && done.load()) {
            if (done_at == 0) done_at = now;
            if (now >= next_status) {
                const schema::node_counters c = counters();
                r.received = c.received - before.received;
                r.gaps = c.gaps - before.gaps;
                r.counted = r.received >= total;
                next_status = now + 50'000'000;
                if (r.counted || now >= done_at + 10'000'000'000) end_at = now + 100'000'000;
            }
        }
        if (!sub.recv(topic, zmq::recv_flags::none)) continue;  // rcvtimeo: check the clocks
        if (!topic.more()) continue;
        (void)sub.recv(body, zmq::recv_flags::none);
        const std::int64_t arrived = common::now_ns();
        while (body.more()) (void)sub.recv(body, zmq::recv_flags::none);
        if (!topic.to_string_view().starts_with(topics::signal)) continue;  // a late probe
        if (auto ev = schema::decode_event(body.to_string_view())) {
            arrivals.emplace_back(ev.value().env.trace_id, arrived);
        }
    }
    source.join();
    r.cpu_us_per_tick = (read_cpu_seconds(process_->pid()).value_or(cpu_before) - cpu_before) *
                        1e6 / static_cast<double>(std::max<std::uint64_t>(total, 1));
    check_alive();

    if (total > 1 && sent_ns[total - 1] > sent_ns[0]) {
        r.achieved_rate = static_cast<double>(total - 1) /
                          (static_cast<double>(sent_ns[total - 1] - sent_ns[0]) / 1e9);
    }
    std::vector<double> all, first, second;
    const std::uint64_t half = warmup + (total - warmup) / 2;
    for (const auto& [trace, at] : arrivals) {
        if (trace <= base || trace > base + total) continue;  // a late one of an earlier step
        const std::uint64_t k = trace - base - 1;
        ++r.signals;
        if (k < warmup) continue;
        const double us = static_cast<double>(at - sent_ns[k]) / 1e3;
        all.push_back(us);
        (k < half ? first : second).push_back(us);
    }
    r.us = compute_percentiles(all);
    r.first_half = compute_percentiles(first);
    r.second_half = compute_percentiles(second);
    return r;
}

}  // namespace tradebus::bench
