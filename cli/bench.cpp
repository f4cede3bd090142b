// `tradebus bench`: the operator's `nats bench`. Against any running broker: a forwarding
// throughput run (N publishers, M subscribers, a message size and count, bounded in time) and
// a round trip at a fixed rate (A publishes, B echoes, A times it), on topics under bench.<run>.
// Every message is a real event (type probe, padded to the size asked), so sniff shows them
// and each subscriber checks the envelope seq of every publisher: loss is counted, not guessed.
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <ctime>
#include <memory>
#include <optional>
#include <ostream>
#include <random>
#include <thread>

#include "text_table.hpp"
#include "tradebus/cli/app.hpp"
#include "tradebus/cli/endpoints.hpp"
#include "tradebus/cli/json.hpp"
#include "tradebus/cli/usage_error.hpp"
#include "tradebus/common/pacing.hpp"
#include "tradebus/common/process.hpp"
#include "tradebus/runtime/control_client.hpp"
#include "tradebus/schema/codec.hpp"
#include "tradebus/schema/topics.hpp"

namespace tradebus::cli {
namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

using common::mono_ns;

// An event body of exactly `size` bytes: a probe event whose node name is padded.
std::string make_body(const std::string& src, std::uint64_t seq, std::size_t size) {
    schema::probe p;
    p.nonce = seq;
    std::string out;
    const schema::envelope env{src, seq, common::now_ns(), seq};
    schema::encode_event(env, p, out);
    // msgpack str headers grow by a byte or two with the length: converge in a few steps.
    for (int i = 0; i < 4 && out.size() != size; ++i) {
        const auto diff = static_cast<std::int64_t>(size) - static_cast<std::int64_t>(out.size());
        const auto want = static_cast<std::int64_t>(p.node.size()) + diff;
        p.node.assign(static_cast<std::size_t>(std::max<std::int64_t>(0, want)), 'x');
        schema::encode_event(env, p, out);
    }
    return out;
}

constexpr int publisher_linger_ms = 10'000;

zmq::socket_t make_socket(environment& env, zmq::socket_type type, const std::string& ep) {
    zmq::socket_t s(env.zmq, type);
    common::set_curve_client(s, env.curve);  // a no-op without keys
    // A publisher closes right after its last send: with linger 0 whatever the broker had not
    // read yet (a loaded machine, a sanitizer build) was discarded and counted as lost. It gets
    // a bounded time to hand its queue over; the rest need none.
    s.set(zmq::sockopt::linger, type == zmq::socket_type::pub ? publisher_linger_ms : 0);
    // The project's default high-water marks (the broker's and the nodes'): what a node gets.
    s.set(zmq::sockopt::sndhwm, 100'000);
    s.set(zmq::sockopt::rcvhwm, 100'000);
    if (type == zmq::socket_type::sub) s.set(zmq::sockopt::rcvtimeo, 20);
    s.connect(ep);
    return s;
}

using common::percentiles;

struct throughput_result {
    std::uint64_t sent = 0, expected = 0, received = 0, gaps = 0;
    double publish_s = 0, deliver_s = 0;
    bool timed_out = false;
    [[nodiscard]] std::uint64_t lost() const {
        return expected > received ? expected - received : 0;
    }
};

struct latency_result {
    std::uint64_t sent = 0, answered = 0;
    double achieved_rate = 0;
    bool timed_out = false;
    percentiles us;
};

class bench_run {
  public:
    bench_run(const bench_options& o, environment& env, std::string prefix)
        : o_(o), env_(env), prefix_(std::move(prefix)) {}

    throughput_result throughput();
    latency_result latency();

  private:
    // Publishes a probe on `topic` until `seen()` is true; throws after 5 s.
    template <class Seen>
    void probe(zmq::socket_t& pub, const std::string& topic, Seen seen) {
        const auto deadline = steady::now() + 5s;
        while (!seen()) {
            if (steady::now() >= deadline || common::stop_requested()) {
                throw std::runtime_error("no message on " + topic + " came back through the " +
                                         "broker within 5 s (xsub " + o_.xsub + ", xpub " +
                                         o_.xpub + ")");
            }
            (void)pub.send(zmq::buffer(topic), zmq::send_flags::sndmore);
            (void)pub.send(zmq::str_buffer("probe"), zmq::send_flags::none);
            std::this_thread::sleep_for(10ms);  // between probes, while subscriptions travel
        }
    }

    const bench_options& o_;
    environment& env_;
    std::string prefix_;  // bench.<run>.
};

throughput_result bench_run::throughput() {
    const std::size_t pubs = o_.publishers, subs = o_.subscribers;
    const std::string data = prefix_ + "d.";  // + publisher index
    const std::string probe_prefix = prefix_ + "probe.";
    // After its last message a publisher sends one on bench.<run>.end.<index>: one publisher's
    // messages arrive in order, so a subscriber that saw every end has all that will come. The
    // run then ends on those, not on a quiet period a loaded machine can outlast.
    const std::string end_prefix = prefix_ + "end.";
    std::vector<std::unique_ptr<std::atomic<std::uint32_t>>> probes_seen;  // per publisher
    for (std::size_t i = 0; i < pubs; ++i) {
        probes_seen.push_back(std::make_unique<std::atomic<std::uint32_t>>(0));
    }
    std::atomic<std::uint64_t> received{0}, gaps{0}, sent_total{0};
    std::atomic<std::int64_t> last_rx_ns{0};
    std::atomic<bool> publishers_done{false}, stop{false};
    std::atomic<std::size_t> ready{0}, subs_finished{0};
    std::atomic<std::int64_t> start_ns{0};

    std::vector<std::uint64_t> sent(pubs, 0);  // per publisher, final once it joined
    std::vector<std::thread> sub_threads;
    std::vector<std::vector<std::uint64_t>> nexts(subs);  // per subscriber: next seq expected
    std::vector<zmq::socket_t> sub_sockets;
    for (std::size_t s = 0; s < subs; ++s) {
        sub_sockets.push_back(make_socket(env_, zmq::socket_type::sub, o_.xpub));
        sub_sockets.back().set(zmq::sockopt::subscribe, prefix_);
    }
    for (std::size_t s = 0; s < subs; ++s) {
        sub_threads.emplace_back([&, s] {
            zmq::socket_t& sub = sub_sockets[s];
            std::vector<std::uint64_t> next(pubs, 1);
            std::vector<bool> probed(pubs, false), ended(pubs, false);
            std::size_t ends = 0;
            zmq::message_t topic, body;
            while (ends < pubs && !stop.load(std::memory_order_relaxed)) {
                if (!sub.recv(topic, zmq::recv_flags::none)) continue;
                if (!topic.more()) continue;
                (void)sub.recv(body, zmq::recv_flags::none);
                while (body.more()) (void)sub.recv(body, zmq::recv_flags::none);
                const std::string_view name = topic.to_string_view();
                const std::string* kind = nullptr;
                for (const std::string* k : {&data, &probe_prefix, &end_prefix}) {
                    if (name.starts_with(*k)) kind = k;
                }
                if (kind == nullptr) continue;
                std::size_t idx = 0;
                for (const char ch : name.substr(kind->size())) {
                    idx = idx * 10 + static_cast<std::size_t>(ch - '0');
                }
                if (idx >= pubs) continue;
                if (kind != &data) {
                    auto& flag = kind == &probe_prefix ? probed : ended;
                    if (!flag[idx]) {
                        flag[idx] = true;
                        if (kind == &probe_prefix)
                            probes_seen[idx]->fetch_add(1);
                        else
                            ++ends;
                    }
                    continue;
                }
                auto ev = schema::decode_event(body.to_string_view());
                if (!ev) continue;
                const std::uint64_t seq = ev.value().env.seq;
                if (seq > next[idx]) gaps.fetch_add(seq - next[idx]);
                next[idx] = std::max(next[idx], seq + 1);
                received.fetch_add(1, std::memory_order_relaxed);
                last_rx_ns.store(mono_ns(), std::memory_order_relaxed);
            }
            nexts[s] = std::move(next);  // the end of each sequence is counted after the join
            subs_finished.fetch_add(1);
        });
    }

    std::vector<std::thread> pub_threads;
    const auto duration_ns = static_cast<std::int64_t>(o_.duration_s * 1e9);
    std::atomic<bool> failed{false};
    std::string failure;
    for (std::size_t p = 0; p < pubs; ++p) {
        pub_threads.emplace_back([&, p] {
            zmq::socket_t pub = make_socket(env_, zmq::socket_type::pub, o_.xsub);
            const std::string index = std::to_string(p);
            try {
                probe(pub, probe_prefix + index, [&] { return probes_seen[p]->load() >= subs; });
            } catch (const std::exception& e) {
                if (!failed.exchange(true)) failure = e.what();
            }
            ready.fetch_add(1);
            while (ready.load() < pubs) std::this_thread::yield();  // start together
            if (failed.load()) return;
            std::int64_t unset = 0;
            (void)start_ns.compare_exchange_strong(unset, mono_ns());  // the first one starts
            const std::int64_t t0 = start_ns.load();
            // 1 ns timer slack: the default 50 us would make every paced send late.
            ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
            const std::string topic = data + index;
            const std::string src = "tradebus-bench-" + std::to_string(::getpid()) + "-" + index;
            std::string body = make_body(src, 1, o_.size);
            const double period = o_.rate > 0 ? 1e9 / o_.rate : 0;
            const auto due = [&](std::uint64_t k) {
                return t0 + static_cast<std::int64_t>(static_cast<double>(k) * period);
            };
            // Paced: wake at most once per millisecond and send what is due (a sleep per
            // message would cap the rate at what the kernel's wake-ups allow, ~20k/s on a VM).
            std::int64_t wake = t0;
            for (std::uint64_t k = 0; k < o_.count;) {
                if (period > 0) {
                    wake = std::max(due(k), wake + 1'000'000);
                    common::sleep_until_mono_ns(wake);
                }
                const std::int64_t now = mono_ns();
                if (now - t0 > duration_ns || common::stop_requested()) break;
                for (std::uint64_t n = 0; k < o_.count && (period > 0 ? due(k) <= now : n < 256);
                     ++k, ++n) {
                    body = make_body(src, k + 1, o_.size);
                    (void)pub.send(zmq::buffer(topic), zmq::send_flags::sndmore);
                    (void)pub.send(zmq::buffer(body), zmq::send_flags::none);
                    ++sent[p];
                }
            }
            (void)pub.send(zmq::buffer(end_prefix + index), zmq::send_flags::sndmore);
            (void)pub.send(zmq::str_buffer("end"), zmq::send_flags::none);
            sent_total.fetch_add(sent[p]);
        });
    }
    for (auto& t : pub_threads) t.join();
    const std::int64_t published_ns = mono_ns();
    publishers_done.store(true);
    throughput_result r;
    if (failed.load()) {
        stop.store(true);
        for (auto& t : sub_threads) t.join();
        throw std::runtime_error(failure);
    }
    r.sent = sent_total.load();
    r.expected = r.sent * subs;
    // The last messages: until every subscriber saw every end marker, or (a marker lost at a
    // full queue) nothing more for 3 s, or the bound.
    const std::int64_t bound = start_ns.load() + duration_ns + 5'000'000'000;
    while (subs_finished.load() < subs && !common::stop_requested()) {
        const std::int64_t now = mono_ns();
        const std::int64_t last = std::max(last_rx_ns.load(), published_ns);
        if (now - last > 3'000'000'000) break;
        if (now > bound) {
            r.timed_out = true;
            break;
        }
        std::this_thread::sleep_for(5ms);  // polling a counter at the end of the run
    }
    stop.store(true);
    for (auto& t : sub_threads) t.join();
    // What never arrived at the end of a publisher's sequence is a gap too, so gaps account
    // for every loss.
    for (const auto& next : nexts) {
        for (std::size_t p = 0; p < pubs; ++p) {
            if (sent[p] + 1 > next[p]) gaps.fetch_add(sent[p] + 1 - next[p]);
        }
    }
    r.received = received.load();
    r.gaps = gaps.load();
    r.publish_s = static_cast<double>(published_ns - start_ns.load()) / 1e9;
    r.deliver_s =
        static_cast<double>(std::max(last_rx_ns.load(), start_ns.load()) - start_ns.load()) / 1e9;
    r.timed_out = r.timed_out || r.sent < o_.count * pubs;
    return r;
}

latency_result bench_run::latency() {
    const std::string ping = prefix_ + "ping", pong = prefix_ + "pong";
    zmq::socket_t a_pub = make_socket(env_, zmq::socket_type::pub, o_.xsub);
    zmq::socket_t b_pub = make_socket(env_, zmq::socket_type::pub, o_.xsub);
    zmq::socket_t a_sub = make_socket(env_, zmq::socket_type::sub, o_.xpub);
    zmq::socket_t b_sub = make_socket(env_, zmq::socket_type::sub, o_.xpub);
    a_sub.set(zmq::sockopt::subscribe, pong);
    b_sub.set(zmq::sockopt::subscribe, ping);
    const std::uint64_t warmup = std::max<std::uint64_t>(10, o_.latency_count / 10);
    const std::uint64_t total = warmup + o_.latency_count;
    auto sent_ns = std::make_unique<std::atomic<std::int64_t>[]>(total);
    auto rtt_ns = std::make_unique<std::atomic<std::int64_t>[]>(total);
    for (std::uint64_t i = 0; i < total; ++i) sent_ns[i].store(0), rtt_ns[i].store(0);
    std::atomic<bool> stop{false}, a_probed{false}, b_probed{false};
    std::atomic<std::uint64_t> answered{0};

    std::thread echo([&] {  // B: every ping back as a pong, body untouched
        zmq::message_t topic, body;
        while (!stop.load(std::memory_order_relaxed)) {
            if (!b_sub.recv(topic, zmq::recv_flags::none) || !topic.more()) continue;
            (void)b_sub.recv(body, zmq::recv_flags::none);
            while (body.more()) (void)b_sub.recv(body, zmq::recv_flags::none);
            b_probed.store(true);
            (void)b_pub.send(zmq::buffer(pong), zmq::send_flags::sndmore);
            (void)b_pub.send(body, zmq::send_flags::none);
        }
    });
    std::thread receiver([&] {  // A's receiving side
        zmq::message_t topic, body;
        while (!stop.load(std::memory_order_relaxed)) {
            if (!a_sub.recv(topic, zmq::recv_flags::none) || !topic.more()) continue;
            (void)a_sub.recv(body, zmq::recv_flags::none);
            const std::int64_t now = mono_ns();
            while (body.more()) (void)a_sub.recv(body, zmq::recv_flags::none);
            a_probed.store(true);
            auto ev = schema::decode_event(body.to_string_view());
            if (!ev) continue;
            const std::uint64_t seq = ev.value().env.seq;
            if (seq == 0 || seq > total) continue;
            const std::int64_t t = sent_ns[seq - 1].load(std::memory_order_acquire);
            std::int64_t none = 0;
            if (t != 0 && rtt_ns[seq - 1].compare_exchange_strong(none, now - t)) {
                answered.fetch_add(1);
            }
        }
    });
    latency_result r;
    try {
        // The round trip works once a probe body has come back (both subscriptions are up).
        probe(a_pub, ping, [&] { return a_probed.load() && b_probed.load(); });
    } catch (...) {
        stop.store(true);
        echo.join();
        receiver.join();
        throw;
    }
    // Probes still in flight are not events: the receiver ignores them.
    ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    const std::string src = "tradebus-bench-" + std::to_string(::getpid()) + "-a";
    const auto period = static_cast<std::int64_t>(1e9 / o_.latency_rate);
    const std::int64_t t0 = mono_ns() + 1'000'000;
    const std::int64_t bound =
        t0 + static_cast<std::int64_t>(static_cast<double>(total) * 1e9 / o_.latency_rate) +
        static_cast<std::int64_t>(o_.duration_s * 1e9);
    std::uint64_t k = 0;
    std::int64_t first_ns = 0, last_ns = 0;
    for (; k < total && !common::stop_requested(); ++k) {
        const std::int64_t when = t0 + static_cast<std::int64_t>(k) * period;
        if (when > bound) {
            r.timed_out = true;
            break;
        }
        const std::string body = make_body(src, k + 1, o_.size);
        common::sleep_until_mono_ns(when);
        const std::int64_t now = mono_ns();
        sent_ns[k].store(now, std::memory_order_release);
        (void)a_pub.send(zmq::buffer(ping), zmq::send_flags::sndmore);
        (void)a_pub.send(zmq::buffer(body), zmq::send_flags::none);
        if (k == warmup) first_ns = now;
        last_ns = now;
    }
    const std::int64_t wait_until = last_ns + 1'000'000'000;
    while (answered.load() < k && mono_ns() < wait_until && !common::stop_requested()) {
        std::this_thread::sleep_for(1ms);  // polling a counter at the end of the run
    }
    stop.store(true);
    echo.join();
    receiver.join();
    std::vector<double> us;
    for (std::uint64_t i = warmup; i < k; ++i) {
        const std::int64_t v = rtt_ns[i].load();
        if (v != 0) us.push_back(static_cast<double>(v) / 1e3);
    }
    r.sent = k > warmup ? k - warmup : 0;
    r.answered = us.size();
    if (r.sent > 1 && last_ns > first_ns) {
        r.achieved_rate =
            static_cast<double>(r.sent - 1) / (static_cast<double>(last_ns - first_ns) / 1e9);
    }
    r.us = common::compute_percentiles(us);
    return r;
}

std::string num(double v, int digits = 0) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}

// 1234567 -> "1,234,567"
std::string count(std::uint64_t n) {
    std::string s = std::to_string(n), out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (i > 0 && (s.size() - i) % 3 == 0) out += ',';
        out += s[i];
    }
    return out;
}

double per_s(double n, double seconds) { return seconds > 0 ? n / seconds : 0; }

void print_text(std::ostream& out, const bench_options& o, const std::string& prefix,
                const throughput_result* t, const latency_result* l) {
    out << "tradebus bench: xsub " << o.xsub << ", xpub " << o.xpub << ", topics " << prefix
        << ">\n";
    if (t != nullptr) {
        out << "\nthroughput: " << o.publishers << " publisher" << (o.publishers > 1 ? "s" : "")
            << " -> " << o.subscribers << " subscriber" << (o.subscribers > 1 ? "s" : "") << ", "
            << count(o.count) << " msgs per publisher of " << o.size << " B, "
            << (o.rate > 0 ? count(static_cast<std::uint64_t>(o.rate)) + " msgs/s each"
                           : std::string("full speed"))
            << "\n";
        using col = detail::text_table::align;
        detail::text_table table({{"", col::left},
                                  {"msgs", col::right},
                                  {"seconds", col::right},
                                  {"msgs/s", col::right},
                                  {"MB/s", col::right}});
        const auto row = [&](const char* what, std::uint64_t n, double s) {
            table.add(
                {what, count(n), num(s, 2),
                 count(static_cast<std::uint64_t>(per_s(static_cast<double>(n), s))),
                 num(per_s(static_cast<double>(n) * static_cast<double>(o.size), s) / 1e6, 1)});
        };
        row("published", t->sent, t->publish_s);
        row("delivered", t->received, t->deliver_s);
        out << table.render();
        out << "lost " << count(t->lost()) << " of " << count(t->expected) << " ("
            << num(t->expected > 0
                       ? 100.0 * static_cast<double>(t->lost()) / static_cast<double>(t->expected)
                       : 0,
                   2)
            << "%), seen as seq gaps " << count(t->gaps)
            << (o.subscribers > 1 ? "; delivered = summed over subscribers" : "")
            << (t->timed_out ? "; stopped by --duration before --count" : "") << "\n";
    }
    if (l != nullptr) {
        out << "\nround trip: " << count(o.latency_count) << " msgs at "
            << count(static_cast<std::uint64_t>(o.latency_rate)) << " msgs/s of " << o.size
            << " B (A -> broker -> B -> broker -> A), achieved "
            << count(static_cast<std::uint64_t>(l->achieved_rate)) << " msgs/s, answered "
            << count(l->answered) << "/" << count(l->sent) << (l->timed_out ? " (time bound)" : "")
            << "\n";
        using col = detail::text_table::align;
        detail::text_table table({{"latency", col::left},
                                  {"p50", col::right},
                                  {"p90", col::right},
                                  {"p99", col::right},
                                  {"p99.9", col::right},
                                  {"max", col::right}});
        table.add({"us", num(l->us.p50), num(l->us.p90), num(l->us.p99), num(l->us.p999),
                   num(l->us.max)});
        out << table.render();
    }
}

void print_json(std::ostream& out, const bench_options& o, const std::string& prefix,
                const throughput_result* t, const latency_result* l) {
    std::string j = "{\"xsub\":";
    append_json_string(j, o.xsub);
    j += ",\"xpub\":";
    append_json_string(j, o.xpub);
    j += ",\"topics\":";
    append_json_string(j, prefix + ">");
    j += ",\"size\":" + std::to_string(o.size);
    if (t != nullptr) {
        j += ",\"throughput\":{\"publishers\":" + std::to_string(o.publishers) +
             ",\"subscribers\":" + std::to_string(o.subscribers) +
             ",\"count\":" + std::to_string(o.count) + ",\"rate\":" + num(o.rate, 1) +
             ",\"sent\":" + std::to_string(t->sent) +
             ",\"expected\":" + std::to_string(t->expected) +
             ",\"received\":" + std::to_string(t->received) +
             ",\"lost\":" + std::to_string(t->lost()) + ",\"gaps\":" + std::to_string(t->gaps) +
             ",\"publish_seconds\":" + num(t->publish_s, 6) +
             ",\"deliver_seconds\":" + num(t->deliver_s, 6) +
             ",\"published_per_s\":" + num(per_s(static_cast<double>(t->sent), t->publish_s), 1) +
             ",\"delivered_per_s\":" +
             num(per_s(static_cast<double>(t->received), t->deliver_s), 1) +
             ",\"stopped_by_duration\":" + (t->timed_out ? "true" : "false") + "}";
    }
    if (l != nullptr) {
        j += ",\"latency\":{\"rate\":" + num(o.latency_rate, 1) +
             ",\"sent\":" + std::to_string(l->sent) +
             ",\"answered\":" + std::to_string(l->answered) +
             ",\"achieved_per_s\":" + num(l->achieved_rate, 1) +
             ",\"us\":{\"p50\":" + num(l->us.p50, 1) + ",\"p90\":" + num(l->us.p90, 1) +
             ",\"p99\":" + num(l->us.p99, 1) + ",\"p99.9\":" + num(l->us.p999, 1) +
             ",\"max\":" + num(l->us.max, 1) + "}}";
    }
    out << j << "}\n";
}

}  // namespace

std::size_t bench_min_size() { return make_body("tradebus-bench-4194304-99", 1, 0).size(); }

int run_bench(const bench_options& opts, environment& env) {
    if (opts.size < bench_min_size() || opts.size > 1'000'000) {
        throw usage_error("--size: expected " + std::to_string(bench_min_size()) +
                          "..1000000 bytes (a message is an event: its envelope alone takes " +
                          std::to_string(bench_min_size()) + "), got " + std::to_string(opts.size));
    }
    // The broker must answer before anything is measured: a dead one is an error, not 0 msgs/s.
    runtime::control_client client(env.zmq, opts.control,
                                   std::chrono::milliseconds(std::llround(opts.timeout_s * 1000)),
                                   env.curve);
    std::string request;
    schema::encode_control(schema::status_request{}, request);
    const auto reply = client.request(request);
    if (!reply || !schema::decode_control(*reply)) {
        env.err << "tradebus bench: no " << (reply ? "valid reply" : "reply")
                << " from the broker at " << opts.control << " within " << num(opts.timeout_s, 1)
                << " s (" << silent_broker_hint(env.curve) << ")" << std::endl;
        return exit_code::failure;
    }
    std::random_device rd;
    char id[16];
    std::snprintf(id, sizeof id, "%06x", rd() & 0xffffffu);
    const std::string prefix = std::string(schema::topics::bench) + id + ".";
    bench_run run(opts, env, prefix);
    std::optional<throughput_result> t;
    std::optional<latency_result> l;
    try {
        if (opts.throughput) t = run.throughput();
        if (opts.latency && !common::stop_requested()) l = run.latency();
    } catch (const std::runtime_error& e) {
        env.err << "tradebus bench: " << e.what() << std::endl;
        return exit_code::failure;
    }
    if (opts.json) {
        print_json(env.out, opts, prefix, t ? &*t : nullptr, l ? &*l : nullptr);
    } else {
        print_text(env.out, opts, prefix, t ? &*t : nullptr, l ? &*l : nullptr);
    }
    env.out.flush();
    return exit_code::ok;
}

}  // namespace tradebus::cli
