#include "stream.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <vector>

#include "latency.hpp"
#include "seq_scan.hpp"
#include "tradebus/common/process.hpp"
#include "tradebus/schema/codec.hpp"
#include "tradebus/schema/topics.hpp"

namespace tradebus::bench {

namespace {

using namespace std::chrono_literals;
using bench_clock = std::chrono::steady_clock;

std::string probe_topic(std::size_t publisher) {
    return schema::topics::for_symbol(schema::topics::probe, "bench-p" + std::to_string(publisher));
}

std::string symbol_of(const std::string& tag, std::size_t publisher, std::size_t n) {
    std::string digits = std::to_string(n);
    if (digits.size() < 6) digits.insert(0, 6 - digits.size(), '0');
    return tag + "P" + std::to_string(publisher) + "S" + digits;
}

schema::tick make_tick(std::string_view symbol) {
    schema::tick t;
    t.symbol = std::string(symbol);
    t.bid_px = schema::to_fixed(187.42);
    t.ask_px = schema::to_fixed(187.44);
    t.bid_qty = 300;
    t.ask_qty = 500;
    t.last_px = schema::to_fixed(187.43);
    t.last_qty = 100;
    return t;
}

struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
        return std::hash<std::string_view>{}(s);
    }
};

struct topic_slot {
    std::uint32_t publisher = 0;
    std::uint64_t next_seq = 1;
};
using topic_map = std::unordered_map<std::string, topic_slot, string_hash, std::equal_to<>>;

// Shared between the driver thread, the publishers and the subscribers of one run.
struct flow_state {
    flow_state(std::size_t pubs, std::size_t subs)
        : publishers(pubs),
          subscribers(subs),
          delivered(std::make_unique<std::atomic<std::uint64_t>[]>(pubs * subs)),
          last_ns(std::make_unique<std::atomic<std::int64_t>[]>(subs)) {
        for (std::size_t i = 0; i < pubs * subs; ++i) delivered[i].store(0);
        for (std::size_t i = 0; i < subs; ++i) last_ns[i].store(0);
    }
    std::size_t publishers, subscribers;
    // delivered[s * publishers + p]: stream messages of publisher p subscriber s received.
    std::unique_ptr<std::atomic<std::uint64_t>[]> delivered;
    std::unique_ptr<std::atomic<std::int64_t>[]> last_ns;  // per subscriber: last receive
    std::atomic<bool> stop{false};
    std::atomic<std::size_t> subscribers_done{0};
    std::mutex m;
    std::condition_variable cv;

    // What publisher p may count as delivered: its slowest subscriber's count.
    std::uint64_t credit(std::size_t p) const {
        std::uint64_t c = UINT64_MAX;
        for (std::size_t s = 0; s < subscribers; ++s) {
            c = std::min(c, delivered[s * publishers + p].load(std::memory_order_acquire));
        }
        return c;
    }
    std::uint64_t total_received() const {
        std::uint64_t t = 0;
        for (std::size_t i = 0; i < publishers * subscribers; ++i) t += delivered[i].load();
        return t;
    }
    void notify() {
        { std::lock_guard lock(m); }
        cv.notify_all();
    }
};

struct subscriber_stats {
    std::uint64_t received = 0, gap_messages = 0, gap_events = 0, out_of_order = 0, bad = 0;
};

// One subscriber thread: receives until `expected` stream messages arrived (0 = until stop).
void subscriber_loop(zmq::socket_t& sock, topic_map topics, flow_state& flow, std::size_t s,
                     std::uint64_t notify_step, std::uint64_t expected, subscriber_stats& out) {
    const std::string_view probe_prefix = schema::topics::probe;
    std::vector<std::uint64_t> mine(flow.publishers, 0);
    zmq::message_t topic, body, extra;
    subscriber_stats st;
    while (!flow.stop.load(std::memory_order_relaxed)) {
        if (!sock.recv(topic, zmq::recv_flags::none)) continue;  // RCVTIMEO: check stop
        if (!topic.more()) {
            ++st.bad;
            continue;
        }
        (void)sock.recv(body, zmq::recv_flags::none);
        if (body.more()) {
            do (void)sock.recv(extra, zmq::recv_flags::none);
            while (extra.more());
            ++st.bad;
            continue;
        }
        const std::string_view t = topic.to_string_view();
        auto it = topics.find(t);
        if (it == topics.end()) {
            if (t.substr(0, probe_prefix.size()) != probe_prefix) ++st.bad;
            continue;
        }
        const std::string_view b = body.to_string_view();
        auto seq = envelope_seq(b);
        if (!seq) {
            ++st.bad;
            continue;
        }
        if ((st.received & 4095u) == 0) {  // spot-check the fast scan against the decoder
            auto full = schema::decode_event(b);
            if (!full || full.value().env.seq != *seq) ++st.bad;
        }
        topic_slot& slot = it->second;
        if (*seq >= slot.next_seq) {
            if (*seq > slot.next_seq) {
                st.gap_messages += *seq - slot.next_seq;
                ++st.gap_events;
            }
            slot.next_seq = *seq + 1;
        } else {
            ++st.out_of_order;
        }
        ++st.received;
        const std::uint64_t d = ++mine[slot.publisher];
        flow.delivered[s * flow.publishers + slot.publisher].store(d, std::memory_order_release);
        flow.last_ns[s].store(mono_ns(), std::memory_order_relaxed);
        if (notify_step > 0 && d % notify_step == 0) flow.notify();
        if (expected > 0 && st.received == expected) break;
    }
    out = st;
    flow.subscribers_done.fetch_add(1);
    flow.notify();
}

struct publisher_plan {
    std::string src;
    std::vector<std::string> topics, symbols;
    std::vector<std::uint64_t> last_seq;  // per topic, after the run
    std::uint64_t sent = 0;
};

void publisher_loop(zmq::socket_t& sock, publisher_plan& plan, flow_state& flow, std::size_t p,
                    std::uint64_t messages, std::uint64_t window,
                    bench_clock::time_point deadline) {
    std::vector<schema::tick> ticks;
    for (const auto& sym : plan.symbols) ticks.push_back(make_tick(sym));
    std::string buf;
    buf.reserve(512);
    const std::size_t n_topics = plan.topics.size();
    std::uint64_t sent = 0;
    for (std::size_t i = 0; sent < messages; ++sent, i = i + 1 == n_topics ? 0 : i + 1) {
        if (window > 0 && sent - flow.credit(p) >= window) {
            std::unique_lock lock(flow.m);
            while (sent - flow.credit(p) >= window && !flow.stop.load() &&
                   bench_clock::now() < deadline) {
                flow.cv.wait_for(lock, 5ms);
            }
        }
        if ((sent & 63u) == 0 &&
            (flow.stop.load(std::memory_order_relaxed) || bench_clock::now() >= deadline)) {
            break;
        }
        const std::uint64_t seq = ++plan.last_seq[i];
        const std::int64_t now = common::now_ns();
        ticks[i].exch_ts_ns = now;
        schema::encode_event(schema::envelope{plan.src, seq, now, seq}, ticks[i], buf);
        (void)sock.send(zmq::buffer(plan.topics[i]), zmq::send_flags::sndmore);
        (void)sock.send(zmq::buffer(buf), zmq::send_flags::none);
    }
    plan.sent = sent;
}

// Waits (on the flow condition, not by sleeping blind) until `done` or `deadline`.
template <class Pred>
bool wait_for(flow_state& flow, bench_clock::time_point deadline, Pred done) {
    std::unique_lock lock(flow.m);
    while (!done()) {
        if (bench_clock::now() >= deadline) return false;
        flow.cv.wait_for(lock, 5ms);
    }
    return true;
}

// Waits until the subscribers' total stops moving for `quiet` (or reaches `target`).
std::uint64_t wait_quiet(flow_state& flow, std::uint64_t target, std::chrono::milliseconds quiet,
                         bench_clock::time_point deadline) {
    std::uint64_t last = flow.total_received();
    auto since = bench_clock::now();
    while (last < target && bench_clock::now() < deadline) {
        {
            std::unique_lock lock(flow.m);
            flow.cv.wait_for(lock, 10ms);
        }
        const std::uint64_t now_total = flow.total_received();
        if (now_total != last) {
            last = now_total;
            since = bench_clock::now();
        } else if (bench_clock::now() - since >= quiet) {
            break;
        }
    }
    return last;
}

}  // namespace

schema::tick sample_tick(std::string_view symbol) { return make_tick(symbol); }

std::string sample_tick_body(std::string_view symbol, std::uint64_t seq) {
    std::string out;
    const std::int64_t now = common::now_ns();
    schema::tick t = make_tick(symbol);
    t.exch_ts_ns = now;
    schema::encode_event(schema::envelope{"bench-p0", seq, now, seq}, t, out);
    return out;
}

stream_result run_stream(zmq::context_t& ctx, bus_target& target, const stream_options& o) {
    target.check_alive();
    const std::size_t P = o.publishers, S = o.subscribers;
    flow_state flow(P, S);

    std::vector<publisher_plan> plans(P);
    topic_map all_topics;
    for (std::size_t p = 0; p < P; ++p) {
        plans[p].src = "bench-p" + std::to_string(p);
        for (std::size_t n = 0; n < o.topics_per_publisher; ++n) {
            plans[p].symbols.push_back(symbol_of(o.symbol_tag, p, n));
            plans[p].topics.push_back(
                schema::topics::for_symbol(schema::topics::md_tick, plans[p].symbols.back()));
            all_topics.emplace(plans[p].topics.back(), topic_slot{static_cast<std::uint32_t>(p)});
        }
        plans[p].last_seq.assign(o.topics_per_publisher, 0);
    }

    std::vector<zmq::socket_t> subs, pubs;
    for (std::size_t s = 0; s < S; ++s) {
        auto& sub = subs.emplace_back(ctx, zmq::socket_type::sub);
        sub.set(zmq::sockopt::linger, 0);
        sub.set(zmq::sockopt::rcvhwm, o.client_rcvhwm);
        sub.set(zmq::sockopt::rcvtimeo, 20);
        sub.set(zmq::sockopt::subscribe, schema::topics::md_tick);
        sub.set(zmq::sockopt::subscribe, schema::topics::probe);
        sub.connect(target.xpub());
    }
    for (std::size_t p = 0; p < P; ++p) {
        auto& pub = pubs.emplace_back(ctx, zmq::socket_type::pub);
        pub.set(zmq::sockopt::linger, 0);
        pub.set(zmq::sockopt::sndhwm, o.client_sndhwm);
        pub.connect(target.xsub());
    }

    // Slow joiners: every publisher probes until every subscriber has one of its probes, which
    // proves the connections and the subscription are through (each wait is a poll).
    {
        std::vector<std::string> probes;
        for (std::size_t p = 0; p < P; ++p) probes.push_back(probe_topic(p));
        std::vector<std::vector<bool>> seen(S, std::vector<bool>(P, false));
        std::vector<zmq_pollitem_t> items;
        for (auto& sub : subs) items.push_back({sub.handle(), 0, ZMQ_POLLIN, 0});
        const auto probe_deadline = bench_clock::now() + std::max(o.time_limit, 10'000ms);
        for (;;) {
            bool all = true;
            for (std::size_t p = 0; p < P; ++p) {
                bool through = true;
                for (std::size_t s = 0; s < S; ++s) through = through && seen[s][p];
                if (through) continue;
                all = false;
                (void)pubs[p].send(zmq::buffer(probes[p]), zmq::send_flags::sndmore);
                (void)pubs[p].send(zmq::str_buffer("probe"), zmq::send_flags::none);
            }
            if (all) break;
            if (bench_clock::now() >= probe_deadline) {
                target.check_alive();
                throw std::runtime_error("no probe got through " + std::string(target.name()) +
                                         " within the time limit");
            }
            (void)zmq::poll(items.data(), items.size(), 10ms);
            for (std::size_t s = 0; s < S; ++s) {
                zmq::message_t m;
                while (subs[s].recv(m, zmq::recv_flags::dontwait)) {
                    const std::string t = m.to_string();  // the topic frame
                    while (m.more()) (void)subs[s].recv(m, zmq::recv_flags::none);
                    for (std::size_t p = 0; p < P; ++p) {
                        if (t == probes[p]) seen[s][p] = true;
                    }
                }
            }
        }
    }

    const bool burst = o.window == 0;
    const std::uint64_t notify_step = burst ? 0 : std::max<std::uint64_t>(1, o.window / 4);
    const std::uint64_t per_sub = burst ? 0 : o.messages_per_publisher * P;
    const double cpu_before = target.cpu_seconds().value_or(0);
    std::vector<subscriber_stats> stats(S);
    std::vector<std::thread> sub_threads, pub_threads;
    for (std::size_t s = 0; s < S; ++s) {
        sub_threads.emplace_back(subscriber_loop, std::ref(subs[s]), all_topics, std::ref(flow), s,
                                 notify_step, per_sub, std::ref(stats[s]));
    }
    const auto start = bench_clock::now();
    const std::int64_t start_ns = mono_ns();
    const auto deadline = start + o.time_limit;
    for (std::size_t p = 0; p < P; ++p) {
        pub_threads.emplace_back(publisher_loop, std::ref(pubs[p]), std::ref(plans[p]),
                                 std::ref(flow), p, o.messages_per_publisher, o.window, deadline);
    }
    for (auto& t : pub_threads) t.join();
    std::uint64_t sent = 0;
    for (const auto& pl : plans) sent += pl.sent;

    stream_result r;
    std::int64_t end_ns = 0;
    std::uint64_t burst_received = 0, burst_sent = 0;  // before the trailing messages
    const auto last_receive = [&] {
        std::int64_t e = 0;
        for (std::size_t s = 0; s < S; ++s) e = std::max(e, flow.last_ns[s].load());
        return e;
    };
    if (!burst) {
        r.timed_out = !wait_for(flow, deadline, [&] {
            return flow.subscribers_done.load() == S || flow.total_received() >= sent * S;
        });
        end_ns = last_receive();
    } else {
        // Let the queues drain, then one trailing message per topic reveals any tail loss.
        const auto drain_deadline = std::max(deadline, bench_clock::now()) + 5s;
        burst_received = wait_quiet(flow, sent * S, 300ms, drain_deadline);
        end_ns = last_receive();
        std::string buf;
        std::size_t trailing = 0;
        for (std::size_t p = 0; p < P; ++p) {
            for (std::size_t i = 0; i < plans[p].topics.size(); ++i) {
                const std::uint64_t seq = ++plans[p].last_seq[i];
                schema::encode_event(schema::envelope{plans[p].src, seq, common::now_ns(), seq},
                                     make_tick(plans[p].symbols[i]), buf);
                (void)pubs[p].send(zmq::buffer(plans[p].topics[i]), zmq::send_flags::sndmore);
                (void)pubs[p].send(zmq::buffer(buf), zmq::send_flags::none);
                ++trailing;
            }
        }
        burst_sent = sent;
        sent += trailing;
        const std::uint64_t before = flow.total_received();
        (void)wait_quiet(flow, before + trailing * S, 500ms, bench_clock::now() + 5s);
        r.timed_out = bench_clock::now() > drain_deadline;
    }
    flow.stop.store(true);
    flow.notify();
    for (auto& t : sub_threads) t.join();
    r.target_cpu_seconds = target.cpu_seconds().value_or(0) - cpu_before;

    r.sent = sent;
    r.expected = sent * S;
    for (const auto& st : stats) {
        r.received += st.received;
        r.gap_messages += st.gap_messages;
        r.gap_events += st.gap_events;
        r.out_of_order += st.out_of_order;
        r.bad_messages += st.bad;
    }
    r.lost = r.expected > r.received ? r.expected - r.received : 0;
    r.seconds = static_cast<double>(std::max<std::int64_t>(end_ns - start_ns, 1)) / 1e9;
    // Burst: the rate of the burst itself (the trailing messages follow a quiet period).
    r.delivered_per_s = static_cast<double>(burst ? burst_received : r.received) / r.seconds;
    r.published_per_s = static_cast<double>(burst ? burst_sent : sent) / r.seconds;
    r.topic_bytes = plans[0].topics[0].size();
    r.body_bytes = sample_tick_body(plans[0].symbols[0], 1'000'000).size();
    // The broker's own per-topic counters say how many reached it (small topic sets only:
    // a status reply lists at most what fits in one control message).
    if (target.kind() == target_kind::broker && all_topics.size() <= 1000) {
        const std::int64_t wanted = static_cast<std::int64_t>(all_topics.size()) + 64;
        if (auto st = target.status(wanted)) {
            for (const auto& row : st->topics) {
                if (all_topics.count(row.topic) != 0) r.reached_target += row.messages;
            }
        }
    }
    target.check_alive();
    return r;
}

}  // namespace tradebus::bench
