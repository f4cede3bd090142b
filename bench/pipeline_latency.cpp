#include "pipeline_latency.hpp"

#include <sys/prctl.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "report.hpp"
#include "tradebus/common/process.hpp"
#include "tradebus/schema/codec.hpp"
#include "tradebus/schema/topics.hpp"

namespace tradebus::bench {

namespace {

using namespace std::chrono_literals;
namespace topics = schema::topics;

constexpr std::string_view symbol = "BENCH";

// What the subscriber saw: quotes in publish order (the first `warmup` not recorded) and, per
// recorded quote, its answer. Keyed by trace id (pipeline) or seq (raw chain).
class collector {
  public:
    collector(std::uint64_t warmup, std::uint64_t quotes)
        : warmup_(warmup), quotes_(quotes), ts_(quotes, 0), latency_ns_(quotes, -1) {
        index_.reserve(quotes);
    }

    /// A quote with its publish time. Returns true when it was the last one to record.
    bool quote(std::uint64_t key, std::int64_t ts_ns) {
        const std::uint64_t n = seen_++;
        if (n < warmup_ || n >= warmup_ + quotes_) return false;
        const std::uint64_t i = n - warmup_;
        index_.emplace(key, i);
        ts_[i] = ts_ns;
        return i + 1 == quotes_;
    }

    void answer(std::uint64_t key, std::int64_t now_ns, bool filled) {
        auto it = index_.find(key);
        if (it == index_.end() || latency_ns_[it->second] != -1) return;
        latency_ns_[it->second] = filled ? now_ns - ts_[it->second] : -2;
        ++(filled ? filled_ : rejected_);
    }

    [[nodiscard]] bool all_quoted() const { return seen_ >= warmup_ + quotes_; }
    [[nodiscard]] bool all_answered() const {
        return all_quoted() && filled_ + rejected_ == quotes_;
    }

    [[nodiscard]] chain_result result(double asked_rate, bool timed_out) const {
        chain_result r;
        r.asked_rate = asked_rate;
        r.timed_out = timed_out;
        r.quotes = seen_ <= warmup_ ? 0 : std::min(seen_ - warmup_, quotes_);
        r.filled = filled_;
        r.rejected = rejected_;
        if (r.quotes > 1 && ts_[r.quotes - 1] > ts_[0]) {
            r.achieved_rate = static_cast<double>(r.quotes - 1) /
                              (static_cast<double>(ts_[r.quotes - 1] - ts_[0]) / 1e9);
        }
        std::vector<double> all, first, second;
        for (std::uint64_t i = 0; i < r.quotes; ++i) {
            if (latency_ns_[i] < 0) continue;
            const double us = static_cast<double>(latency_ns_[i]) / 1e3;
            all.push_back(us);
            (i < r.quotes / 2 ? first : second).push_back(us);
        }
        r.us = compute_percentiles(all);
        r.first_half = compute_percentiles(first);
        r.second_half = compute_percentiles(second);
        return r;
    }

  private:
    std::uint64_t warmup_, quotes_, seen_ = 0, filled_ = 0, rejected_ = 0;
    std::vector<std::int64_t> ts_, latency_ns_;  // latency -1: no answer yet, -2: rejected
    std::unordered_map<std::uint64_t, std::uint64_t> index_;
};

// How the subscriber tells the messages apart, and what keys them.
struct chain_topics {
    std::string quote, fill;
    std::vector<std::string> rejects;
    bool key_by_trace = true;  // pipeline: trace id; raw chain: seq
};

// The pipeline's: quotes, fills and both kinds of rejection of the benchmark's symbol.
chain_topics pipeline_topics() {
    return {topics::for_symbol(topics::md_tick, symbol),
            topics::for_symbol(topics::exec_fill, symbol),
            {topics::for_symbol(topics::rejected, symbol),
             topics::for_symbol(topics::exec_reject, symbol)},
            true};
}

zmq::socket_t subscribe(zmq::context_t& ctx, const std::string& xpub, const chain_topics& t) {
    zmq::socket_t sub(ctx, zmq::socket_type::sub);
    sub.set(zmq::sockopt::linger, 0);
    sub.set(zmq::sockopt::rcvhwm, 1'000'000);
    for (const auto& topic : {t.quote, t.fill}) sub.set(zmq::sockopt::subscribe, topic);
    for (const auto& topic : t.rejects) sub.set(zmq::sockopt::subscribe, topic);
    sub.set(zmq::sockopt::subscribe, probe_topic);  // last: once it works, all of them do
    sub.connect(xpub);
    return sub;
}

zmq::socket_t publisher(zmq::context_t& ctx, bus_target& target) {
    zmq::socket_t pub(ctx, zmq::socket_type::pub);
    pub.set(zmq::sockopt::linger, 0);
    pub.set(zmq::sockopt::sndhwm, 100'000);
    pub.connect(target.xsub());
    return pub;
}

// The subscriber's loop: records quotes and answers until every recorded quote is answered,
// 2 s after the last recorded quote, or the time limit. `on_last_quote` runs once, when the
// last quote to record has been seen (it stops the source).
template <class OnLastQuote>
chain_result receive(zmq::socket_t& sub, const chain_topics& t, const chain_options& o,
                     OnLastQuote on_last_quote) {
    collector c(o.warmup, o.quotes);
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + o.time_limit;
    std::optional<std::chrono::steady_clock::time_point> last_quote_at;
    bool timed_out = false;
    zmq::message_t topic, body;
    while (!c.all_answered()) {
        const auto now = std::chrono::steady_clock::now();
        if (now >= deadline) {
            timed_out = true;
            break;
        }
        if (last_quote_at && now >= *last_quote_at + 2s) break;  // the rest is lost
        if (!sub.recv(topic, zmq::recv_flags::none)) continue;   // rcvtimeo: check the clocks
        if (!topic.more()) continue;
        (void)sub.recv(body, zmq::recv_flags::none);
        const std::int64_t arrived = common::now_ns();
        while (body.more()) (void)sub.recv(body, zmq::recv_flags::none);
        const std::string_view name = topic.to_string_view();
        const bool is_quote = name.starts_with(t.quote);
        const bool is_fill = !is_quote && name.starts_with(t.fill);
        if (!is_quote && !is_fill &&
            std::none_of(t.rejects.begin(), t.rejects.end(),
                         [&](const std::string& r) { return name.starts_with(r); })) {
            continue;  // a late probe
        }
        auto ev = schema::decode_event(body.to_string_view());
        if (!ev) continue;
        const std::uint64_t key = t.key_by_trace ? ev.value().env.trace_id : ev.value().env.seq;
        if (is_quote) {
            if (c.quote(key, ev.value().env.ts_ns)) {
                last_quote_at = std::chrono::steady_clock::now();
                on_last_quote();
            }
        } else {
            c.answer(key, arrived, is_fill);
        }
    }
    if (!c.all_quoted()) on_last_quote();  // stop the source whatever happened
    return c.result(o.rate_per_s, timed_out);
}

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p);
    if (!in) throw std::runtime_error("cannot read " + p.string());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Each node waits for the one it publishes to: execution, then risk, strategy, marketdata.
const std::map<std::string, std::string>& depends_on() {
    static const std::map<std::string, std::string> deps = {{"execution", "[]"},
                                                            {"risk", R"(["execution"])"},
                                                            {"strategy", R"(["risk"])"},
                                                            {"marketdata", R"(["strategy"])"}};
    return deps;
}

std::uint64_t hwm_kib(pid_t pid) { return read_memory(pid).value_or(memory_sample{}).hwm_kib; }

}  // namespace

void wait_subscribed(zmq::socket_t& pub, bus_target& target, zmq::socket_t& sub) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    zmq_pollitem_t item{sub.handle(), 0, ZMQ_POLLIN, 0};
    for (;;) {
        (void)pub.send(zmq::buffer(probe_topic), zmq::send_flags::sndmore);
        (void)pub.send(zmq::str_buffer("probe"), zmq::send_flags::none);
        if (zmq::poll(&item, 1, 20ms) > 0) {
            zmq::message_t m;
            while (sub.recv(m, zmq::recv_flags::dontwait)) {
                const bool probe = m.to_string_view() == probe_topic;
                while (m.more()) (void)sub.recv(m, zmq::recv_flags::none);
                if (probe) return;
            }
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            target.check_alive();
            throw std::runtime_error("the driver's probe did not get through " +
                                     std::string(target.name()));
        }
    }
}

std::string chain_result::unsustainable_because() const {
    if (quotes == 0) return "no quote recorded";
    if (timed_out) return "time limit hit";
    if (lost() > 0) return std::to_string(lost()) + " quotes without a fill";
    if (rejected > 0) return std::to_string(rejected) + " quotes rejected";
    if (achieved_rate < 0.95 * asked_rate) {
        return "source reached only " + fmt_rate(achieved_rate) + " of " + fmt_rate(asked_rate);
    }
    return backlog_in(us, first_half, second_half, "quotes");
}

std::string backlog_in(const percentiles& all, const percentiles& first_half,
                       const percentiles& second_half, std::string_view what) {
    if (all.p90 > max_sustained_p90_us) {
        return "p90 " + fmt_fixed(all.p90, 0) + " us > " + fmt_fixed(max_sustained_p90_us, 0) +
               " us: " + std::string(what) + " queued behind each other";
    }
    if (second_half.p90 > 2 * first_half.p90 + 2000) {
        return "p90 grew from " + fmt_fixed(first_half.p90, 0) + " us (first half) to " +
               fmt_fixed(second_half.p90, 0) + " us (second half): a queue is building up";
    }
    return {};
}

// ------------------------------------------------------------------ pipeline_rig

struct pipeline_rig::node {
    std::string kind;
    std::unique_ptr<child_process> process;
};

pipeline_rig::pipeline_rig(zmq::context_t& ctx, const executables& exe, const temp_dir& dir,
                           const std::string& source_dir)
    : ctx_(ctx), exe_(exe), dir_(dir) {
    std::string pipeline_toml;
    for (const auto& [kind, deps] : depends_on()) {
        pipeline_toml += "[pipeline." + kind + "]\ndepends_on = " + deps + "\n";
    }
    broker_ = std::make_unique<bus_target>(
        ctx_, exe_, dir_,
        target_options{target_kind::broker, transport::tcp, 0, "", "pl-broker", pipeline_toml});
    // Each node waits for the one it publishes to: execution, then risk, then strategy.
    const std::filesystem::path own = std::filesystem::path(source_dir) / "bench" / "pipeline";
    for (const std::string kind : {"execution", "risk", "strategy"}) {
        write_node_config(kind, read_file(own / (kind + ".toml")));
        const std::string* path = kind == "execution" ? &exe_.execution
                                  : kind == "risk"    ? &exe_.risk
                                                      : &exe_.strategy;
        nodes_.push_back(std::make_unique<node>(node{
            kind,
            std::make_unique<child_process>(
                *path,
                std::vector<std::string>{"--config", dir_.file("pl-" + kind + ".toml").string()},
                dir_.file("pl-" + kind + ".log"))}));
    }
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    for (;;) {
        check_nodes_alive();
        std::size_t healthy = 0;
        if (auto st = broker_->status()) {
            for (const auto& n : st->nodes) healthy += n.state == schema::health::healthy ? 1 : 0;
        }
        if (healthy == nodes_.size()) break;
        if (std::chrono::steady_clock::now() >= deadline) {
            throw std::runtime_error(
                "pipeline: strategy, risk and execution not all healthy "
                "within 30 s (logs in " +
                dir_.path().string() + " with --keep-temp)");
        }
        std::this_thread::sleep_for(50ms);  // polling interval of the status requests
    }
}

pipeline_rig::~pipeline_rig() {
    for (auto it = nodes_.rbegin(); it != nodes_.rend(); ++it) (void)(*it)->process->stop();
}

void pipeline_rig::write_node_config(const std::string& kind, const std::string& own) {
    const std::string text = "[node]\nkind = \"" + kind + "\"\nname = \"" + kind +
                             "\"\ndepends_on = " + depends_on().at(kind) +
                             "\nheartbeat_interval_ms = 500\nlog_level = \"warn\"\n"
                             // No journal in this rig: risk and execution start empty.
                             "start_fresh = true\n"
                             "[broker]\ncontrol_endpoint = \"" +
                             broker_->control() + "\"\n" + own;
    (void)dir_.write("pl-" + kind + ".toml", text);
}

void pipeline_rig::check_nodes_alive() {
    broker_->check_alive();
    for (auto& n : nodes_) {
        if (!n->process->running()) {
            throw std::runtime_error("pipeline: tradebus-" + n->kind + " exited with status " +
                                     std::to_string(n->process->wait_exit(0ms).value_or(-1)) +
                                     "; its log:\n" + n->process->log());
        }
    }
}

void pipeline_rig::drain() {
    const chain_topics t = pipeline_topics();
    zmq::socket_t sub = subscribe(ctx_, broker_->xpub(), t);
    sub.set(zmq::sockopt::rcvtimeo, 20);
    zmq::socket_t pub = publisher(ctx_, *broker_);
    // First our own probe through the broker (a busy broker forwards subscriptions late: no
    // traffic seen before that proves nothing), then 1 s without a quote or an answer.
    const auto start = std::chrono::steady_clock::now();
    bool through = false;
    auto last = start, probed = start - 1s;
    zmq::message_t m;
    while (std::chrono::steady_clock::now() - start < 60s) {
        if (!through && std::chrono::steady_clock::now() - probed >= 20ms) {
            (void)pub.send(zmq::buffer(probe_topic), zmq::send_flags::sndmore);
            (void)pub.send(zmq::str_buffer("probe"), zmq::send_flags::none);
            probed = std::chrono::steady_clock::now();
        }
        if (sub.recv(m, zmq::recv_flags::none)) {
            if (!through && m.to_string_view() == probe_topic) through = true;
            last = std::chrono::steady_clock::now();
        } else if (through && std::chrono::steady_clock::now() - last >= 1s) {
            return;
        }
    }
}

chain_result pipeline_rig::run(const chain_options& o) {
    check_nodes_alive();
    drain();  // what an overloaded run left queued must not count against this one
    const chain_topics t = pipeline_topics();
    zmq::socket_t sub = subscribe(ctx_, broker_->xpub(), t);
    sub.set(zmq::sockopt::rcvtimeo, 20);
    {
        zmq::socket_t pub = publisher(ctx_, *broker_);
        wait_subscribed(pub, *broker_, sub);
    }

    // A fresh marketdata per measurement, at the asked rate (its own timer paces the quotes,
    // with the node's millisecond loop: at 10k/s about ten quotes leave per wake-up).
    // No trades, no bars to speak of, a quote size no order can exhaust.
    const std::string rate = fmt_fixed(o.rate_per_s, 1);
    write_node_config("marketdata",
                      "[marketdata]\nsource = \"synthetic\"\nbar_interval_ms = 86400000\n"
                      "max_batch = 1000000\n[marketdata.synthetic]\nrate_per_sec = " +
                          rate +
                          "\nseed = 1\ntrade_probability = 0.0\nvolatility_bps = 1.0\n"
                          "spread_bps = 1.0\nmin_qty = 1000000\nmax_qty = 1000000\n"
                          "[marketdata.synthetic.symbols.BENCH]\nstart_px = 100.0\n");
    const std::string label = "pl-marketdata-" + std::to_string(++runs_);
    child_process md(exe_.marketdata, {"--config", dir_.file("pl-marketdata.toml").string()},
                     dir_.file(label + ".log"));
    bool stopped = false;
    const auto stop_source = [&] {
        if (stopped) return;
        stopped = true;
        marketdata_hwm_kib_ = std::max(marketdata_hwm_kib_, hwm_kib(md.pid()));
        md.signal(SIGTERM);  // no wait here: the fills still in flight are being timed
    };
    chain_result r = receive(sub, t, o, stop_source);
    if (const int status = md.stop(); status != 0) {
        throw std::runtime_error("pipeline: tradebus-marketdata exited with status " +
                                 std::to_string(status) + "; its log:\n" + md.log());
    }
    if (r.quotes == 0) {
        throw std::runtime_error("pipeline: no quote from tradebus-marketdata; its log:\n" +
                                 md.log());
    }
    check_nodes_alive();
    return r;
}

std::map<std::string, std::uint64_t> pipeline_rig::peak_rss_kib() {
    std::map<std::string, std::uint64_t> out{{"broker", hwm_kib(broker_->pid())},
                                             {"marketdata", marketdata_hwm_kib_}};
    for (auto& n : nodes_) out[n->kind] = hwm_kib(n->process->pid());
    return out;
}

void pipeline_rig::stop() {
    for (auto it = nodes_.rbegin(); it != nodes_.rend(); ++it) {
        if (const int s = (*it)->process->stop(); s != 0) {
            throw std::runtime_error("pipeline: tradebus-" + (*it)->kind + " exited with status " +
                                     std::to_string(s) + " on SIGTERM; its log:\n" +
                                     (*it)->process->log());
        }
    }
    if (const int s = broker_->stop(); s != 0) {
        throw std::runtime_error("pipeline: the broker exited with status " + std::to_string(s));
    }
}

// ------------------------------------------------------------------ raw_chain

namespace {
std::string hop_topic(int i) {
    std::string t = "bench.hop";
    t += std::to_string(i);
    t += '.';
    return t;
}
}  // namespace

raw_chain::raw_chain(zmq::context_t& ctx, const executables& exe, const temp_dir& dir) : ctx_(ctx) {
    // Same HWMs as the broker's defaults, as in the other bare-proxy comparisons.
    proxy_ = std::make_unique<bus_target>(
        ctx_, exe, dir, target_options{target_kind::bare, transport::tcp, 100'000, "", "chain"});
    for (int i = 0; i < chain_relays; ++i) {
        relays_.push_back(std::make_unique<child_process>(
            exe.proxy,
            std::vector<std::string>{"--xsub", proxy_->xsub(), "--xpub", proxy_->xpub(),
                                     "--relay-from", hop_topic(i), "--relay-to", hop_topic(i + 1),
                                     "--sndhwm", "100000", "--rcvhwm", "100000"},
            dir.file("chain-relay-" + std::to_string(i) + ".log")));
    }
    // Readiness: a probe through the whole chain (every relay subscribed and connected).
    zmq::socket_t pub(ctx_, zmq::socket_type::pub), sub(ctx_, zmq::socket_type::sub);
    pub.set(zmq::sockopt::linger, 0);
    sub.set(zmq::sockopt::linger, 0);
    sub.set(zmq::sockopt::subscribe, hop_topic(chain_relays));
    pub.connect(proxy_->xsub());
    sub.connect(proxy_->xpub());
    const auto deadline = std::chrono::steady_clock::now() + 15s;
    zmq_pollitem_t item{sub.handle(), 0, ZMQ_POLLIN, 0};
    for (;;) {
        const std::string first = hop_topic(0);
        (void)pub.send(zmq::buffer(first), zmq::send_flags::sndmore);
        (void)pub.send(zmq::str_buffer("probe"), zmq::send_flags::none);
        if (zmq::poll(&item, 1, 20ms) > 0) break;
        proxy_->check_alive();
        for (auto& r : relays_) {
            if (!r->running()) throw std::runtime_error("raw chain: a relay exited:\n" + r->log());
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            throw std::runtime_error("raw chain: no probe through the relays within 15 s");
        }
    }
}

raw_chain::~raw_chain() {
    for (auto& r : relays_) (void)r->stop();
}

chain_result raw_chain::run(const chain_options& o) {
    const chain_topics t{hop_topic(0), hop_topic(chain_relays), {}, false};
    zmq::socket_t sub = subscribe(ctx_, proxy_->xpub(), t);
    sub.set(zmq::sockopt::rcvtimeo, 20);
    // The source's socket, probed before the thread takes it over (connected and subscribed).
    zmq::socket_t pub = publisher(ctx_, *proxy_);
    wait_subscribed(pub, *proxy_, sub);

    // The source: this process, on an open-loop schedule paced like marketdata's.
    std::atomic<bool> stop{false};
    std::thread source([&] {
        ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
        const std::string topic = hop_topic(0) + std::string(symbol);
        schema::tick q{std::string(symbol),
                       schema::to_fixed(99.99),
                       1'000'000,
                       schema::to_fixed(100.01),
                       1'000'000,
                       0,
                       0,
                       0};
        std::string buf;
        const auto period_ns = static_cast<std::int64_t>(1e9 / o.rate_per_s);
        const std::int64_t t0 = mono_ns() + 1'000'000;
        const std::uint64_t total = o.warmup + o.quotes;
        // Like marketdata's node loop: wake at most once per millisecond and send every quote
        // that is due (at 10k/s about ten per wake-up), each stamped when it is sent.
        const auto due = [&](std::uint64_t k) {
            return t0 + static_cast<std::int64_t>(k) * period_ns;
        };
        std::int64_t wake = t0;
        std::uint64_t k = 0;
        while (k < total && !stop.load(std::memory_order_relaxed)) {
            wake = std::max(due(k), wake + 1'000'000);
            sleep_until_mono_ns(wake);
            const std::int64_t now = mono_ns();
            for (; k < total && due(k) <= now; ++k) {
                q.exch_ts_ns = common::now_ns();
                schema::encode_event(schema::envelope{"bench", k + 1, q.exch_ts_ns, k + 1}, q, buf);
                (void)pub.send(zmq::buffer(topic), zmq::send_flags::sndmore);
                (void)pub.send(zmq::buffer(buf), zmq::send_flags::none);
            }
        }
    });
    chain_result r = receive(sub, t, o, [&] { stop.store(true); });
    stop.store(true);
    source.join();
    proxy_->check_alive();
    return r;
}

std::map<std::string, std::uint64_t> raw_chain::peak_rss_kib() {
    std::uint64_t relay = 0;
    for (auto& r : relays_) relay = std::max(relay, hwm_kib(r->pid()));
    return {{"proxy", hwm_kib(proxy_->pid())}, {"relay", relay}};
}

void raw_chain::stop() {
    for (auto& r : relays_) {
        if (const int s = r->stop(); s != 0) {
            throw std::runtime_error("raw chain: a relay exited with status " + std::to_string(s) +
                                     ":\n" + r->log());
        }
    }
    if (const int s = proxy_->stop(); s != 0) {
        throw std::runtime_error("raw chain: the proxy exited with status " + std::to_string(s));
    }
}

}  // namespace tradebus::bench
