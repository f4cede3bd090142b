// Node logic on a simulated clock, in one process (simulation.hpp).
//
// Deliveries: every message gets the same hop latency and is published at a time no earlier
// than the one before, so deliveries are due in publish order: one FIFO holds them. Timers: a
// node has at most one deadline (as in the live engine). The next happening is the earliest of
// the FIFO's front and the nodes' deadlines, by (time, scheduling order).
//
// Speed (bench/ "backtest"): a topic's subscribers are found once (nodes' subscriptions do not
// change), a message carries the event itself to its subscribers (no decode unless
// decode_each), and the buffers of delivered messages are reused.
#include "tradebus/runtime/simulation.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <optional>
#include <random>
#include <stdexcept>
#include <unordered_map>

#include "tradebus/runtime/envelope_stamper.hpp"
#include "tradebus/schema/codec.hpp"
#include "tradebus/schema/topics.hpp"

namespace tradebus::runtime {

namespace {

constexpr std::int64_t no_timer = std::numeric_limits<std::int64_t>::max();
// Once a node asked to stop (a replay at its end), what is still in flight gets this much
// simulated time to land (the last orders' fills, a mark-to-market) before the run ends.
constexpr std::int64_t settle_ns = 1'000'000'000;
// A timer that asks to run again at once this many times in a row, publishing nothing, would
// keep the clock where it is forever: the run stops with an error instead.
constexpr std::uint64_t max_idle_refires = 1'000'000;

}  // namespace

struct simulation::impl {
    struct sim_node;

    // A topic and the nodes subscribed to it (indexes, in delivery order: route_of).
    struct route {
        std::string topic;
        std::vector<std::size_t> to;
    };

    // One message on its way to its subscribers.
    struct pending {
        std::int64_t at = 0;
        std::uint64_t order = 0;
        const route* where = nullptr;
        std::string raw;
        schema::event ev;
    };

    simulation_options opts;
    std::vector<std::unique_ptr<sim_node>> nodes;
    std::deque<pending> in_flight;
    std::int64_t now = 0;
    std::uint64_t next_order = 0;
    std::int64_t stop_at = no_timer;  // set when a node asks to stop
    simulation_stats stats;
    tap on_publish;
    // Every topic published so far (the nodes' own topics: a handful of kinds per symbol).
    std::unordered_map<std::string, std::unique_ptr<route>> routes;
    std::vector<std::string> spare;  // raw buffers of delivered messages, reused
    bool ran = false;

    void publish(sim_node& from, std::string_view topic, schema::event ev);
    [[nodiscard]] const route& route_of(std::string_view topic);
    void deliver(pending& m);
    void fire_timer(sim_node& n);
    [[nodiscard]] sim_node* next_timer() const;
};

// A node's context: the simulated clock, its own envelopes and trace ids.
struct simulation::impl::sim_node final : context {
    sim_node(impl& sim, std::string name, std::unique_ptr<node_logic> own, std::size_t index)
        : sim_(sim),
          name_(std::move(name)),
          logic(std::move(own)),
          stamper(name_, 1),
          rng_(sim.opts.seed * 0x9E3779B97F4A7C15ULL + index),
          subscriptions(logic->subscriptions()) {}

    void publish_event(std::string_view topic, schema::event ev) override {
        sim_.publish(*this, topic, std::move(ev));
    }
    std::uint64_t new_trace_id() override {
        std::uint64_t id = 0;
        while (id == 0) id = rng_();
        return id;
    }
    std::int64_t now_ns() override { return sim_.now; }
    std::int64_t mono_ms() override { return sim_.now / 1'000'000; }
    [[nodiscard]] const std::string& node_name() const override { return name_; }
    void report_health(schema::health state, std::string reason) override {
        health = state;
        health_reason = std::move(reason);
    }
    void request_stop(std::string reason) override {
        if (stopped) return;
        stopped = true;
        if (sim_.stats.stopped_by.empty()) {
            sim_.stats.stopped_by = name_;
            sim_.stats.stop_reason = std::move(reason);
        }
        sim_.stop_at = std::min(sim_.stop_at,
                                sim_.now > no_timer - settle_ns ? no_timer : sim_.now + settle_ns);
    }

    // The length of this node's shortest subscription prefix matching `topic` (one matches).
    [[nodiscard]] std::size_t shortest_match(std::string_view topic) const {
        std::size_t shortest = topic.size();
        for (const auto& p : subscriptions) {
            if (schema::topics::matches(p, topic)) shortest = std::min(shortest, p.size());
        }
        return shortest;
    }

    [[nodiscard]] bool wants(std::string_view topic) const {
        return std::any_of(subscriptions.begin(), subscriptions.end(),
                           [&](const std::string& p) { return schema::topics::matches(p, topic); });
    }

    impl& sim_;
    std::string name_;
    std::unique_ptr<node_logic> logic;
    envelope_stamper stamper;
    std::mt19937_64 rng_;
    std::vector<std::string> subscriptions;
    std::int64_t timer_at = no_timer;
    std::uint64_t timer_order = 0;
    std::uint64_t idle_refires = 0;  // on_timer calls in a row that asked for "now" and did nothing
    bool stopped = false;
    schema::health health = schema::health::healthy;
    std::string health_reason;
};

const simulation::impl::route& simulation::impl::route_of(std::string_view topic) {
    auto it = routes.find(std::string(topic));
    if (it == routes.end()) {
        auto r = std::make_unique<route>();
        r->topic = std::string(topic);
        for (std::size_t i = 0; i < nodes.size(); ++i) {
            if (nodes[i]->wants(topic)) r->to.push_back(i);
        }
        // In the live broker's order: its XPUB (libzmq's subscription trie) hands a message to
        // the subscribers of its shorter matching prefixes first ("md.tick." before
        // "md.tick.AAPL"); among equal prefixes, in the order the nodes were added.
        std::stable_sort(r->to.begin(), r->to.end(), [&](std::size_t a, std::size_t b) {
            return nodes[a]->shortest_match(topic) < nodes[b]->shortest_match(topic);
        });
        it = routes.emplace(r->topic, std::move(r)).first;
    }
    return *it->second;
}

void simulation::impl::publish(sim_node& from, std::string_view topic, schema::event ev) {
    from.stamper.stamp(topic, ev.env, now);
    pending m;
    if (!spare.empty()) {
        m.raw = std::move(spare.back());
        spare.pop_back();
    }
    schema::encode_event(ev, m.raw);
    ++stats.published;
    if (on_publish) on_publish(now, topic, m.raw);
    m.where = &route_of(topic);
    if (std::none_of(m.where->to.begin(), m.where->to.end(),
                     [&](std::size_t i) { return !nodes[i]->stopped; })) {
        return;
    }
    m.at = now > no_timer - opts.hop_latency_ns ? no_timer : now + opts.hop_latency_ns;
    m.order = next_order++;
    m.ev = std::move(ev);
    in_flight.push_back(std::move(m));
}

void simulation::impl::deliver(pending& m) {
    // Handed to each subscriber as the live runtime hands a message over (an undecodable or
    // misrouted one as such); with decode_each, decoded once from the bytes a subscriber
    // would receive.
    const std::string_view topic = m.where->topic;
    std::optional<schema::result<schema::event>> decoded;
    if (opts.decode_each) decoded.emplace(schema::decode_event(m.raw));
    const schema::event* ev = decoded ? (*decoded ? &decoded->value() : nullptr) : &m.ev;
    const bool belongs = ev != nullptr && schema::topics::type_belongs(ev->type_name(), topic);
    for (const std::size_t i : m.where->to) {
        sim_node& n = *nodes[i];
        if (n.stopped) continue;
        ++stats.delivered;
        if (ev == nullptr) {
            n.logic->on_undecodable(n, topic, m.raw, decoded->error());
        } else if (!belongs) {
            n.logic->on_misrouted(n, inbound{topic, m.raw, *ev});
        } else {
            n.logic->on_event(n, inbound{topic, m.raw, *ev});
        }
        n.logic->on_drained(n);
    }
    if (spare.size() < 64) spare.push_back(std::move(m.raw));
}

void simulation::impl::fire_timer(sim_node& n) {
    ++stats.timers;
    n.timer_at = no_timer;
    const std::uint64_t published = stats.published;
    const std::int64_t next = n.logic->on_timer(n, now);
    // "Again at once" is fine while it does something (a replay behind its schedule publishes
    // a batch each time); doing nothing, it would hold the clock still for ever.
    n.idle_refires =
        next != 0 && next <= now && stats.published == published ? n.idle_refires + 1 : 0;
    if (n.idle_refires >= max_idle_refires) {
        throw std::runtime_error("simulation: node " + n.node_name() +
                                 "'s on_timer asked to run again at once " +
                                 std::to_string(max_idle_refires) +
                                 " times in a row without publishing anything: the simulated clock "
                                 "cannot move (return a later deadline, or 0 for none)");
    }
    if (next == 0 || n.stopped) return;
    // A deadline already passed means "again once what is due now ran": after it, in order.
    n.timer_at = std::max(next, now);
    n.timer_order = next_order++;
}

simulation::impl::sim_node* simulation::impl::next_timer() const {
    sim_node* best = nullptr;
    for (const auto& n : nodes) {
        if (n->stopped || n->timer_at == no_timer) continue;
        if (best == nullptr || n->timer_at < best->timer_at ||
            (n->timer_at == best->timer_at && n->timer_order < best->timer_order)) {
            best = n.get();
        }
    }
    return best;
}

simulation::simulation(simulation_options options) : impl_(std::make_unique<impl>()) {
    impl_->opts = options;
    impl_->now = options.start_ns;
    if (options.hop_latency_ns < 0) {
        throw std::invalid_argument("simulation: hop_latency_ns must not be negative");
    }
}

simulation::~simulation() = default;

void simulation::add_node(std::string name, std::unique_ptr<node_logic> logic) {
    if (impl_->ran) throw std::logic_error("simulation: add_node after run");
    if (this->logic(name) != nullptr) {
        throw std::invalid_argument("simulation: two nodes named " + name);
    }
    impl_->nodes.push_back(std::make_unique<impl::sim_node>(*impl_, std::move(name),
                                                            std::move(logic), impl_->nodes.size()));
}

void simulation::set_tap(tap on_publish) { impl_->on_publish = std::move(on_publish); }

node_logic* simulation::logic(std::string_view name) const {
    for (const auto& n : impl_->nodes) {
        if (n->node_name() == name) return n->logic.get();
    }
    return nullptr;
}

simulation_stats simulation::run() {
    impl& s = *impl_;
    if (s.ran) throw std::logic_error("simulation: run twice");
    s.ran = true;
    // Start as the live runtime does: on_start, then the first timer at once.
    for (auto& n : s.nodes) n->logic->on_start(*n);
    for (auto& n : s.nodes) {
        if (!n->stopped) s.fire_timer(*n);
    }
    const std::int64_t end = std::min(s.opts.end_ns, no_timer);
    for (;;) {
        impl::sim_node* timer = s.next_timer();
        const bool message_first =
            !s.in_flight.empty() && (timer == nullptr || s.in_flight.front().at < timer->timer_at ||
                                     (s.in_flight.front().at == timer->timer_at &&
                                      s.in_flight.front().order < timer->timer_order));
        const std::int64_t at = message_first      ? s.in_flight.front().at
                                : timer != nullptr ? timer->timer_at
                                                   : no_timer;
        if (at == no_timer || at > end || at > s.stop_at) break;
        s.now = std::max(s.now, at);
        if (message_first) {
            impl::pending m = std::move(s.in_flight.front());
            s.in_flight.pop_front();
            s.deliver(m);
        } else {
            s.fire_timer(*timer);
        }
    }
    for (auto& n : s.nodes) n->logic->on_stop(*n);
    s.stats.end_ns = s.now;
    return s.stats;
}

}  // namespace tradebus::runtime
