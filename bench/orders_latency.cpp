#include "orders_latency.hpp"

#include <sys/prctl.h>

#include <atomic>
#include <random>
#include <stdexcept>
#include <thread>

#include "pipeline_latency.hpp"  // probe_topic, wait_subscribed
#include "tradebus/common/process.hpp"
#include "tradebus/schema/codec.hpp"
#include "tradebus/schema/topics.hpp"

namespace tradebus::bench {

namespace {

using namespace std::chrono_literals;
namespace topics = schema::topics;

constexpr std::string_view symbol = "AAPL";

// A random start for a run's trace ids: fresh ones, never those of another run.
std::uint64_t trace_base() {
    static std::mt19937_64 gen{std::random_device{}()};
    return (gen() >> 2) + 1;
}

std::string epoch_ms() { return std::to_string(common::now_ns() / 1'000'000); }

std::uint64_t hwm_kib(pid_t pid) { return read_memory(pid).value_or(memory_sample{}).hwm_kib; }

// The answers of one order as the subscriber saw them.
enum class answer : std::uint8_t { ack, fill, reject, other };

struct seen_answer {
    answer what = answer::other;
    std::uint64_t trace = 0;
    std::string reject;  // "<code>: <reason>"
};

// Receives one message (rcvtimeo applies); nullopt on timeout, a probe or anything else.
std::optional<seen_answer> receive_answer(zmq::socket_t& sub, std::int64_t& arrived_ns) {
    zmq::message_t topic, body;
    if (!sub.recv(topic, zmq::recv_flags::none)) return std::nullopt;
    if (!topic.more()) return std::nullopt;
    (void)sub.recv(body, zmq::recv_flags::none);
    arrived_ns = common::now_ns();
    while (body.more()) (void)sub.recv(body, zmq::recv_flags::none);
    const std::string_view name = topic.to_string_view();
    if (name == probe_topic) return std::nullopt;  // a late probe
    auto ev = schema::decode_event(body.to_string_view());
    if (!ev) return std::nullopt;
    seen_answer a;
    a.trace = ev.value().env.trace_id;
    const auto& b = ev.value().body;
    if (std::holds_alternative<schema::order_ack>(b)) {
        a.what = answer::ack;
    } else if (std::holds_alternative<schema::fill>(b)) {
        a.what = answer::fill;
    } else if (const auto* r = std::get_if<schema::exec_reject>(&b)) {
        a.what = answer::reject;
        a.reject = r->code + ": " + r->reason;
    }
    return a;
}

zmq::socket_t answers_subscriber(zmq::context_t& ctx, const std::string& xpub) {
    zmq::socket_t sub(ctx, zmq::socket_type::sub);
    sub.set(zmq::sockopt::linger, 0);
    sub.set(zmq::sockopt::rcvhwm, 1'000'000);
    sub.set(zmq::sockopt::rcvtimeo, 20);
    for (const auto t : {topics::exec_ack, topics::exec_fill, topics::exec_reject}) {
        sub.set(zmq::sockopt::subscribe, topics::for_symbol(t, symbol));
    }
    sub.set(zmq::sockopt::subscribe, probe_topic);  // last: once it works, all of them do
    sub.connect(xpub);
    return sub;
}

zmq::socket_t driver_publisher(zmq::context_t& ctx, const std::string& xsub) {
    zmq::socket_t pub(ctx, zmq::socket_type::pub);
    pub.set(zmq::sockopt::linger, 0);
    pub.set(zmq::sockopt::sndhwm, 100'000);
    pub.connect(xsub);
    return pub;
}

int port_of(const std::string& endpoint) {
    return std::stoi(endpoint.substr(endpoint.rfind(':') + 1));
}

}  // namespace

std::string_view to_string(order_venue v) noexcept {
    return v == order_venue::fix ? "fix" : "paper";
}

void orders_result::merge(const orders_result& other) {
    orders += other.orders;
    acked += other.acked;
    filled += other.filled;
    rejected += other.rejected;
    if (first_reject.empty()) first_reject = other.first_reject;
    timed_out = timed_out || other.timed_out;
    achieved_rate =
        achieved_rate == 0 ? other.achieved_rate : std::min(achieved_rate, other.achieved_rate);
    ack_us.insert(ack_us.end(), other.ack_us.begin(), other.ack_us.end());
    fill_us.insert(fill_us.end(), other.fill_us.begin(), other.fill_us.end());
    to_venue_us.insert(to_venue_us.end(), other.to_venue_us.begin(), other.to_venue_us.end());
    from_venue_us.insert(from_venue_us.end(), other.from_venue_us.begin(),
                         other.from_venue_us.end());
    ack = compute_percentiles(ack_us);
    fill = compute_percentiles(fill_us);
    to_venue = compute_percentiles(to_venue_us);
    from_venue = compute_percentiles(from_venue_us);
}

order_rig::order_rig(zmq::context_t& ctx, const executables& exe, const temp_dir& dir,
                     order_venue venue)
    : ctx_(ctx),
      exe_(exe),
      dir_(dir),
      venue_(venue),
      label_("or-" + std::string(to_string(venue))) {
    broker_ = std::make_unique<bus_target>(
        ctx_, exe_, dir_,
        target_options{target_kind::broker, transport::tcp, 0, "", label_ + "-broker",
                       "[pipeline.execution]\ndepends_on = []\n"});

    std::string execution_table = "[execution]\nvenue = \"" + std::string(to_string(venue)) +
                                  "\"\npartial_fills = false\nslippage_bps = 1.0\n";
    if (venue_ == order_venue::fix) {
        // The simulator first: the node's first connection attempt then finds it listening.
        const int port = port_of(free_tcp_endpoint());
        sim_control_ = "ipc://" + dir_.file(label_ + "-venue.ctl").string();
        const auto config = dir_.write(
            label_ + "-venue-sim.toml",
            "[venue]\nsender_comp_id = \"VENUE\"\nport = " + std::to_string(port) +
                "\nstore_dir = \"" + dir_.file(label_ + "-venue-store").string() +
                "\"\nclients = [\"TRADEBUS\"]\ncontrol = \"" + sim_control_ +
                // warn: no log line per fill (info logs each one)
                "\"\nlog_level = \"warn\"\n[market]\nsource = \"none\"\n[market.symbols.AAPL]\n");
        sim_ = std::make_unique<child_process>(
            exe_.venue_sim, std::vector<std::string>{"--config", config.string()},
            dir_.file(label_ + "-venue-sim.log"));
        // The house quote: sizes no run exhausts, so every MARKET order fills against it.
        const std::string quote = R"({"cmd":"quote","symbol":"AAPL","bid":"100.00","ask":"100.02",)"
                                  R"("bid_qty":1000000,"ask_qty":1000000})";
        const auto deadline = std::chrono::steady_clock::now() + 15s;
        for (;;) {
            if (!sim_->running()) {
                throw std::runtime_error("orders: tradebus-venue-sim exited; its log:\n" +
                                         sim_->log());
            }
            if (auto r = venue_ctl(quote, 500ms)) {
                if (r->find("\"ok\":true") == std::string::npos) {
                    throw std::runtime_error("orders: the simulator refused the quote: " + *r);
                }
                break;
            }
            if (std::chrono::steady_clock::now() >= deadline) {
                throw std::runtime_error(
                    "orders: tradebus-venue-sim did not answer on its control endpoint within 15 "
                    "s; its log:\n" +
                    sim_->log());
            }
        }
        execution_table +=
            "[execution.fix]\nsender_comp_id = \"TRADEBUS\"\n"
            "target_comp_id = \"VENUE\"\nhost = \"127.0.0.1\"\nport = " +
            std::to_string(port) + "\nstore_dir = \"" + dir_.file(label_ + "-fix-store").string() +
            "\"\nheartbeat_interval_s = 30\nreconnect_interval_s = 1\n";
    }
    // No journal in this rig (depends_on = [], start_fresh): the node starts empty.
    const auto node_config =
        dir_.write(label_ + "-execution.toml",
                   "[node]\nkind = \"execution\"\nname = \"execution\"\ndepends_on = []\n"
                   "heartbeat_interval_ms = 500\nlog_level = \"warn\"\nstart_fresh = true\n"
                   "[broker]\ncontrol_endpoint = \"" +
                       broker_->control() + "\"\n" + execution_table);
    execution_ = std::make_unique<child_process>(
        exe_.execution, std::vector<std::string>{"--config", node_config.string()},
        dir_.file(label_ + "-execution.log"));

    // Healthy: registered, and for FIX logged on with the venue's status answers in.
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    for (;;) {
        check_alive();
        bool healthy = false;
        if (auto st = broker_->status()) {
            for (const auto& n : st->nodes) {
                healthy = healthy || (n.name == "execution" && n.state == schema::health::healthy);
            }
        }
        if (healthy) break;
        if (std::chrono::steady_clock::now() >= deadline) {
            throw std::runtime_error("orders: tradebus-execution (" +
                                     std::string(to_string(venue_)) +
                                     ") not healthy within 30 s; its log:\n" + execution_->log());
        }
        std::this_thread::sleep_for(50ms);  // polling interval of the status requests
    }
    wait_first_fill();
}

order_rig::~order_rig() = default;

void order_rig::check_alive() {
    broker_->check_alive();
    if (sim_ && !sim_->running()) {
        throw std::runtime_error("orders: tradebus-venue-sim exited with status " +
                                 std::to_string(sim_->wait_exit(0ms).value_or(-1)) +
                                 "; its log:\n" + sim_->log());
    }
    if (!execution_->running()) {
        throw std::runtime_error("orders: tradebus-execution (" + std::string(to_string(venue_)) +
                                 ") exited with status " +
                                 std::to_string(execution_->wait_exit(0ms).value_or(-1)) +
                                 "; its log:\n" + execution_->log());
    }
}

std::optional<std::string> order_rig::venue_ctl(const std::string& request,
                                                std::chrono::milliseconds timeout) {
    zmq::socket_t req(ctx_, zmq::socket_type::req);
    req.set(zmq::sockopt::linger, 0);
    req.set(zmq::sockopt::rcvtimeo, static_cast<int>(timeout.count()));
    req.connect(sim_control_);
    (void)req.send(zmq::buffer(request), zmq::send_flags::none);
    zmq::message_t reply;
    if (!req.recv(reply, zmq::recv_flags::none)) return std::nullopt;
    return reply.to_string();
}

void order_rig::publish_quote(zmq::socket_t& pub) {
    const std::int64_t now = common::now_ns();
    const schema::tick t{std::string(symbol),
                         schema::to_fixed(100.00),
                         1'000'000,
                         schema::to_fixed(100.02),
                         1'000'000,
                         0,
                         0,
                         now};
    std::string buf;
    schema::encode_event(schema::envelope{"md", ++quote_seq_, now, quote_seq_}, t, buf);
    const std::string topic = topics::for_symbol(topics::md_tick, symbol);
    (void)pub.send(zmq::buffer(topic), zmq::send_flags::sndmore);
    (void)pub.send(zmq::buffer(buf), zmq::send_flags::none);
}

void order_rig::publish_order(zmq::socket_t& pub, const std::string& id, std::uint64_t trace,
                              std::int64_t ts_ns, std::string& buf) {
    // As risk approves them: MARKET IOC, qty 1; BUY and SELL in turn, so the house's sizes on
    // both sides shrink alike.
    const std::uint64_t n = ++order_seq_;
    const schema::order o{id,
                          std::string(symbol),
                          n % 2 == 0 ? schema::side::sell : schema::side::buy,
                          1,
                          1,
                          schema::order_type::market,
                          0,
                          "bench",
                          n,
                          schema::time_in_force::ioc,
                          0};
    schema::encode_event(schema::envelope{"risk", n, ts_ns, trace}, o, buf);
    const std::string topic = topics::for_symbol(topics::approved, symbol);
    (void)pub.send(zmq::buffer(topic), zmq::send_flags::sndmore);
    (void)pub.send(zmq::buffer(buf), zmq::send_flags::none);
}

// One order through end to end before anything is timed: the driver's subscriptions are in,
// the node's subscription to risk.approved. reached the broker, and (paper) it has a quote.
void order_rig::wait_first_fill() {
    zmq::socket_t sub = answers_subscriber(ctx_, broker_->xpub());
    zmq::socket_t pub = driver_publisher(ctx_, broker_->xsub());
    wait_subscribed(pub, *broker_, sub);
    const std::string prefix = "bench-" + epoch_ms() + "-ready-";
    const auto deadline = std::chrono::steady_clock::now() + 15s;
    std::string last_reject, buf;
    for (unsigned i = 0;; ++i) {
        check_alive();
        if (std::chrono::steady_clock::now() >= deadline) {
            throw std::runtime_error(
                "orders: no fill from tradebus-execution (" + std::string(to_string(venue_)) +
                ") within 15 s" + (last_reject.empty() ? "" : "; last rejection " + last_reject) +
                "; its log:\n" + execution_->log());
        }
        if (venue_ == order_venue::paper) publish_quote(pub);
        const std::uint64_t trace = trace_base();
        publish_order(pub, prefix + std::to_string(i), trace, common::now_ns(), buf);
        const auto until = std::chrono::steady_clock::now() + 500ms;
        while (std::chrono::steady_clock::now() < until) {
            std::int64_t arrived = 0;
            const auto a = receive_answer(sub, arrived);
            if (!a || a->trace != trace) continue;
            if (a->what == answer::fill) {
                ++bus_fills_;
                return;
            }
            if (a->what == answer::reject) {
                last_reject = a->reject;
                break;
            }
        }
    }
}

orders_result order_rig::run(const orders_options& o) {
    check_alive();
    zmq::socket_t sub = answers_subscriber(ctx_, broker_->xpub());
    // The source's socket, probed before its thread takes it over (connected and subscribed).
    zmq::socket_t pub = driver_publisher(ctx_, broker_->xsub());
    wait_subscribed(pub, *broker_, sub);

    const std::uint64_t total = o.warmup + o.orders;
    const std::string prefix = "bench-" + epoch_ms() + "-";
    const std::uint64_t base = trace_base();
    // Publish times (CLOCK_REALTIME ns, as in the envelope), written by the source before each
    // send; 0 = not sent yet.
    std::vector<std::atomic<std::int64_t>> sent(total);
    std::atomic<std::uint64_t> published{0};
    std::atomic<bool> stop{false};

    // Open loop: each order at its due time, whatever the answers do.
    std::thread source([&] {
        ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
        std::string buf;
        const auto period_ns = static_cast<std::int64_t>(1e9 / o.rate_per_s);
        const std::int64_t t0 = mono_ns() + 1'000'000;
        for (std::uint64_t k = 0; k < total && !stop.load(std::memory_order_relaxed); ++k) {
            sleep_until_mono_ns(t0 + static_cast<std::int64_t>(k) * period_ns);
            const std::int64_t ts = common::now_ns();
            sent[k].store(ts, std::memory_order_release);
            publish_order(pub, prefix + std::to_string(k), base + k, ts, buf);
            published.store(k + 1, std::memory_order_release);
        }
    });

    std::vector<std::int64_t> ack_ns(total, -1), fill_ns(total, -1);
    std::vector<char> rejected(total, 0);
    orders_result r;
    std::uint64_t complete = 0;  // recorded orders with (ack and fill) or a rejection
    const auto is_complete = [&](std::uint64_t k) {
        return rejected[k] != 0 || (ack_ns[k] >= 0 && fill_ns[k] >= 0);
    };
    const auto start = std::chrono::steady_clock::now();
    std::optional<std::chrono::steady_clock::time_point> all_sent_at;
    for (;;) {
        const auto now = std::chrono::steady_clock::now();
        if (now >= start + o.time_limit) {
            r.timed_out = true;
            break;
        }
        if (!all_sent_at && published.load(std::memory_order_acquire) == total) all_sent_at = now;
        if (all_sent_at && (complete == o.orders || now >= *all_sent_at + 2s)) break;
        std::int64_t arrived = 0;
        const auto a = receive_answer(sub, arrived);
        if (!a || a->trace < base || a->trace - base >= total) continue;
        const std::uint64_t k = a->trace - base;
        const std::int64_t ts = sent[k].load(std::memory_order_acquire);
        if (ts == 0) continue;
        const bool was = is_complete(k);
        if (a->what == answer::ack && ack_ns[k] < 0) {
            ack_ns[k] = arrived - ts;
        } else if (a->what == answer::fill) {
            ++bus_fills_;
            if (fill_ns[k] < 0) fill_ns[k] = arrived - ts;
        } else if (a->what == answer::reject && rejected[k] == 0) {
            rejected[k] = 1;
            if (k >= o.warmup && r.first_reject.empty()) r.first_reject = a->reject;
        }
        if (k >= o.warmup && !was && is_complete(k)) ++complete;
    }
    stop.store(true);
    source.join();

    const std::uint64_t sent_n = published.load();
    r.orders = sent_n > o.warmup ? sent_n - o.warmup : 0;
    for (std::uint64_t k = o.warmup; k < o.warmup + r.orders; ++k) {
        if (rejected[k] != 0) {
            ++r.rejected;
            continue;
        }
        if (ack_ns[k] >= 0) {
            ++r.acked;
            r.ack_us.push_back(static_cast<double>(ack_ns[k]) / 1e3);
        }
        if (fill_ns[k] >= 0) {
            ++r.filled;
            r.fill_us.push_back(static_cast<double>(fill_ns[k]) / 1e3);
        }
    }
    if (r.orders > 1) {
        const std::int64_t first = sent[o.warmup].load(),
                           last = sent[o.warmup + r.orders - 1].load();
        if (last > first) {
            r.achieved_rate =
                static_cast<double>(r.orders - 1) / (static_cast<double>(last - first) / 1e9);
        }
    }
    r.ack = compute_percentiles(r.ack_us);
    r.fill = compute_percentiles(r.fill_us);
    if (sim_) {
        for (const auto& [id, ts] : new_venue_trades()) {
            if (!id.starts_with(prefix)) continue;  // the readiness order
            const std::uint64_t k = std::stoull(id.substr(prefix.size()));
            if (k < o.warmup || k >= total || fill_ns[k] < 0) continue;
            const std::int64_t to_venue = ts - sent[k].load();
            r.to_venue_us.push_back(static_cast<double>(to_venue) / 1e3);
            r.from_venue_us.push_back(static_cast<double>(fill_ns[k] - to_venue) / 1e3);
        }
        r.to_venue = compute_percentiles(r.to_venue_us);
        r.from_venue = compute_percentiles(r.from_venue_us);
    }
    check_alive();
    return r;
}

std::vector<std::pair<std::string, std::int64_t>> order_rig::new_venue_trades() {
    std::vector<std::pair<std::string, std::int64_t>> out;
    const auto reply =
        venue_ctl(R"({"cmd":"executions","from":)" + std::to_string(venue_next_) + "}", 5s);
    if (!reply) return out;
    const std::string& j = *reply;
    // {"executions":[{..."cl_ord_id":"<id>",...,"ts_ns":<n>,...},...],"next":N,...}: order ids
    // are ours ("bench-..."), so no escapes inside them.
    const std::string id_key = "\"cl_ord_id\":\"", ts_key = "\"ts_ns\":", next_key = "\"next\":";
    for (auto at = j.find(id_key); at != std::string::npos; at = j.find(id_key, at + 1)) {
        const auto id_start = at + id_key.size();
        const auto id_end = j.find('"', id_start);
        const auto ts_at = j.find(ts_key, id_start);
        if (id_end == std::string::npos || ts_at == std::string::npos) break;
        out.emplace_back(j.substr(id_start, id_end - id_start),
                         std::stoll(j.substr(ts_at + ts_key.size(), 20)));
    }
    if (const auto n = j.rfind(next_key); n != std::string::npos) {
        venue_next_ = std::stoull(j.substr(n + next_key.size(), 20));
    }
    return out;
}

double order_rig::execution_cpu_seconds() const {
    return read_cpu_seconds(execution_->pid()).value_or(0);
}

std::map<std::string, std::uint64_t> order_rig::peak_rss_kib() const {
    std::map<std::string, std::uint64_t> out{{"broker", hwm_kib(broker_->pid())},
                                             {"execution", hwm_kib(execution_->pid())}};
    if (sim_) out["venue-sim"] = hwm_kib(sim_->pid());
    return out;
}

std::optional<std::uint64_t> order_rig::venue_executions() {
    if (!sim_) return std::nullopt;
    const auto r = venue_ctl(R"({"cmd":"executions","from":0})", 5s);
    if (!r) return std::nullopt;
    // One entry per client trade side; the house is no client, so every entry is ours.
    std::uint64_t n = 0;
    const std::string owner = "\"owner\":\"TRADEBUS\"";
    for (auto at = r->find(owner); at != std::string::npos; at = r->find(owner, at + 1)) ++n;
    return n;
}

void order_rig::stop() {
    const auto expect_clean = [](child_process& p, const std::string& what) {
        if (const int s = p.stop(); s != 0) {
            throw std::runtime_error("orders: " + what + " exited with status " +
                                     std::to_string(s) + " on SIGTERM; its log:\n" + p.log());
        }
    };
    expect_clean(*execution_, "tradebus-execution (" + std::string(to_string(venue_)) + ")");
    if (sim_) expect_clean(*sim_, "tradebus-venue-sim");
    if (const int s = broker_->stop(); s != 0) {
        throw std::runtime_error("orders: the broker exited with status " + std::to_string(s));
    }
}

}  // namespace tradebus::bench
