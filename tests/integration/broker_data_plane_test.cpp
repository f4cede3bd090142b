// The broker's data plane over real sockets: XSUB in, XPUB out, ZeroMQ prefix filters, and the
// per-topic counters of `status` matching exactly what was published.
#include <doctest/doctest.h>

#include <map>

#include "broker_process.hpp"
#include "bus_clients.hpp"
#include "temp_dir.hpp"
#include "tradebus/schema/topics.hpp"

using namespace tradebus;
using namespace tradebus::test;

namespace {

const schema::topic_status* find_topic(const schema::status_reply& s, std::string_view topic) {
    for (const auto& t : s.topics) {
        if (t.topic == topic) return &t;
    }
    return nullptr;
}

// Everything except probes, until `count` messages arrived or the deadline passed.
std::vector<bus_message> receive(subscriber& sub, std::size_t count,
                                 std::chrono::milliseconds timeout = 10s) {
    std::vector<bus_message> got;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (got.size() < count && std::chrono::steady_clock::now() < deadline) {
        auto m = sub.recv(50ms);
        if (m && m->topic.rfind("test.probe", 0) != 0) got.push_back(std::move(*m));
    }
    return got;
}

void run_flow(broker_process& broker, zmq::context_t& ctx) {
    subscriber ticks(ctx, broker.xpub, {"md.tick.", "test.probe"});
    subscriber bars(ctx, broker.xpub, {"md.bar.", "test.probe"});
    publisher pub(ctx, broker.xsub);
    wait_until_flowing(pub, ticks, "test.probe");
    wait_until_flowing(pub, bars, "test.probe");

    struct plan {
        std::string topic;
        int count;
    };
    const plan plans[] = {{"md.tick.AAPL", 100},
                          {"md.tick.MSFT", 50},
                          {"md.bar.AAPL", 30},
                          {"risk.state", 10}};  // nobody subscribes: filtered at the publisher
    std::map<std::string, std::uint64_t> bytes;
    std::uint64_t seq = 0;
    for (int round = 0; round < 100; ++round) {
        for (const auto& p : plans) {
            if (round >= p.count) continue;
            const std::string body = sample_tick(p.topic.substr(p.topic.rfind('.') + 1), ++seq);
            pub.send(p.topic, body);
            bytes[p.topic] += p.topic.size() + body.size();
        }
    }

    const auto got_ticks = receive(ticks, 150);
    const auto got_bars = receive(bars, 30);
    REQUIRE(got_ticks.size() == 150);
    REQUIRE(got_bars.size() == 30);
    std::map<std::string, int> tick_counts;
    for (const auto& m : got_ticks) {
        CHECK(m.frames == 2);
        CHECK(m.topic.rfind("md.tick.", 0) == 0);
        ++tick_counts[m.topic];
        const auto ev = m.event();
        REQUIRE(ev);
        CHECK(ev->env.src == "test-md");  // forwarded untouched
    }
    CHECK(tick_counts["md.tick.AAPL"] == 100);
    CHECK(tick_counts["md.tick.MSFT"] == 50);
    for (const auto& m : got_bars) CHECK(m.topic == "md.bar.AAPL");
    // Per-publisher order is kept: sequence numbers only grow.
    std::uint64_t last = 0;
    for (const auto& m : got_ticks) {
        const auto s = m.event()->env.seq;
        CHECK(s > last);
        last = s;
    }
    // Nothing more (no duplicates, no bars on the tick subscriber).
    CHECK_FALSE(
        ticks.recv_until([](const auto& m) { return m.topic.rfind("test.", 0) != 0; }, 100ms));

    const auto status = broker.status();
    for (const auto& p : plans) {
        CAPTURE(p.topic);
        const auto* t = find_topic(status, p.topic);
        if (p.topic == "risk.state") {
            CHECK(t == nullptr);
            continue;
        }
        REQUIRE(t != nullptr);
        CHECK(t->messages == static_cast<std::uint64_t>(p.count));
        CHECK(t->bytes == bytes[p.topic]);
    }
    // Busiest first.
    for (std::size_t i = 1; i < status.topics.size(); ++i) {
        CHECK(status.topics[i - 1].messages >= status.topics[i].messages);
    }
    for (const auto& d : status.drops) {
        CAPTURE(d.reason);
        CHECK(d.count == 0);
    }
    // max_topics limits the list, topics_total still counts every topic.
    const auto one = broker.status(1);
    REQUIRE(one.topics.size() == 1);
    CHECK(one.topics[0].topic == "md.tick.AAPL");
    CHECK(one.topics_total == status.topics_total);
    CHECK(one.topics_total >= 4);  // the three above, the probe topic, sys.* events
}

}  // namespace

TEST_CASE("broker: events flow XSUB -> XPUB by prefix and status counts them (tcp)") {
    zmq::context_t ctx;
    temp_dir dir;
    broker_process broker(ctx, dir);
    run_flow(broker, ctx);
}

TEST_CASE("broker: events flow XSUB -> XPUB by prefix and status counts them (ipc)") {
    zmq::context_t ctx;
    temp_dir dir;
    broker_process broker(ctx, dir, {.ipc = true});
    CHECK(broker.xsub.rfind("ipc://", 0) == 0);
    run_flow(broker, ctx);
}

TEST_CASE("broker: its own sys.* events carry its envelope and sequence") {
    zmq::context_t ctx;
    temp_dir dir;
    broker_process broker(ctx, dir, {.pipeline_toml = "[pipeline.marketdata]\n"});
    subscriber sub(ctx, broker.xpub, {"sys.", "test.probe"});
    publisher pub(ctx, broker.xsub);
    wait_until_flowing(pub, sub, "test.probe");
    control_client c(ctx, broker.control);
    schema::register_request r;
    r.name = "marketdata";
    r.kind = "marketdata";
    r.host = "h";
    r.pid = 1;
    const auto reply = c.call<schema::register_reply>(r);

    auto reg = sub.recv_until(
        [](const auto& m) { return m.topic == schema::topics::node_registered; }, 10s);
    REQUIRE(reg);
    auto health =
        sub.recv_until([](const auto& m) { return m.topic == schema::topics::node_health; }, 10s);
    REQUIRE(health);
    const auto a = reg->event();
    const auto b = health->event();
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->env.src == "broker");
    CHECK(b->env.src == "broker");
    // Sequence numbers run per (src, topic): the first event on each topic is 1.
    CHECK(a->env.seq == 1);
    CHECK(b->env.seq == 1);
    const auto& registered = std::get<schema::node_registered>(a->body);
    CHECK(registered.node == "marketdata");
    CHECK(registered.session_id == reply.session_id);
    const auto& h = std::get<schema::node_health>(b->body);
    CHECK(h.old_state == schema::health::stopped);
    CHECK(h.new_state == schema::health::starting);
    CHECK(h.reason == "registered");
    r.name = "journal";
    c.call<schema::register_reply>(r);
    reg = sub.recv_until([](const auto& m) { return m.topic == schema::topics::node_registered; },
                         10s);
    REQUIRE(reg);
    CHECK(reg->event()->env.seq == 2);

    // sys.broker.started went out at startup (before anyone could subscribe): counted once.
    const auto status = broker.status();
    const auto* started = find_topic(status, schema::topics::broker_started);
    REQUIRE(started != nullptr);
    CHECK(started->messages == 1);
}
