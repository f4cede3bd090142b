// Late joiners against the real broker: its last-value cache over the control plane
// (`snapshot`, PROTOCOL.md): byte-for-byte bodies of forwarded messages, the max_topics
// bound, prefixes outside the cache answered with an empty snapshot, paging; and a real node
// (execution) started after the market went quiet that fills at once against the cached quote.
#include <doctest/doctest.h>

#include "broker_process.hpp"
#include "bus_clients.hpp"
#include "pipeline.hpp"
#include "temp_dir.hpp"
#include "tradebus/common/process.hpp"
#include "tradebus/schema/topics.hpp"

using namespace tradebus;
using namespace tradebus::test;

namespace {

// The topics of a snapshot, in order.
std::vector<std::string> topics_of(const cached_snapshot& s) {
    std::vector<std::string> out;
    for (const auto& p : s.pairs) out.push_back(p.topic);
    return out;
}

// Until the cache under `prefix` holds exactly `topics` (the broker forwarded them).
cached_snapshot wait_topics(control_client& control, const std::string& prefix,
                            const std::vector<std::string>& topics) {
    return wait_snapshot(control, prefix,
                         [&](const cached_snapshot& s) { return topics_of(s) == topics; });
}

}  // namespace

TEST_CASE("late join: the broker's snapshot holds the last forwarded body per topic") {
    zmq::context_t ctx;
    temp_dir dir;
    broker_process broker(ctx, dir);  // default [lvc]: md.tick. and md.bar.
    control_client control(ctx, broker.control);
    // Nobody subscribes to market data: the broker's own subscription brings it in.
    subscriber probes(ctx, broker.xpub, {"test.probe"});
    publisher pub(ctx, broker.xsub);
    wait_until_flowing(pub, probes, "test.probe");

    CHECK(ask_snapshot(control, "md.tick.").header.count == 0);  // nothing yet
    const std::string aapl5 = sample_tick("AAPL", 5), msft3 = sample_tick("MSFT", 3);
    pub.send("md.tick.AAPL", sample_tick("AAPL", 4));
    pub.send("md.tick.MSFT", msft3);
    pub.send("md.tick.AAPL", aapl5);
    pub.send("md.bar.AAPL", sample_tick("AAPL", 1));
    pub.send("md.trade.AAPL", sample_tick("AAPL", 1));  // not a cached prefix
    (void)wait_topics(control, "md.", {"md.bar.AAPL", "md.tick.AAPL", "md.tick.MSFT"});

    const cached_snapshot ticks = wait_snapshot(control, "md.tick.", [&](const auto& s) {
        return s.pairs.size() == 2 && s.pairs[0].body == aapl5;  // the last AAPL arrived
    });
    CHECK(ticks.header.covered);
    CHECK(ticks.header.next.empty());
    REQUIRE(ticks.header.count == 2);
    CHECK(ticks.pairs[0].topic == "md.tick.AAPL");
    CHECK(ticks.pairs[0].body == aapl5);  // byte for byte, the last one
    CHECK(ticks.pairs[1].topic == "md.tick.MSFT");
    CHECK(ticks.pairs[1].body == msft3);

    const cached_snapshot outside = ask_snapshot(control, "exec.");
    CHECK_FALSE(outside.header.covered);
    CHECK(outside.header.count == 0);
    CHECK(outside.pairs.empty());
    const cached_snapshot trades = ask_snapshot(control, "md.trade.");
    CHECK_FALSE(trades.header.covered);
    CHECK(trades.header.count == 0);

    // A cursor past the first topic pages on from there.
    const cached_snapshot after = ask_snapshot(control, "md.tick.", "md.tick.AAPL");
    REQUIRE(after.header.count == 1);
    CHECK(after.pairs[0].topic == "md.tick.MSFT");

    // A subscriber that comes and goes does not cancel the broker's own subscription.
    { subscriber passing(ctx, broker.xpub, {"md.tick."}); }
    const std::string aapl6 = sample_tick("AAPL", 6);
    pub.send("md.tick.AAPL", aapl6);
    (void)wait_snapshot(control, "md.tick.AAPL", [&](const auto& s) {
        return s.pairs.size() == 1 && s.pairs[0].body == aapl6;
    });
}

TEST_CASE("late join: the broker's cache keeps at most max_topics topics") {
    zmq::context_t ctx;
    temp_dir dir;
    broker_settings s;
    s.extra_toml = "[lvc]\nprefixes = [\"md.tick.\"]\nmax_topics = 3\n";
    broker_process broker(ctx, dir, s);
    control_client control(ctx, broker.control);
    subscriber sub(ctx, broker.xpub, {"md.", "test.probe"});
    publisher pub(ctx, broker.xsub);
    wait_until_flowing(pub, sub, "test.probe");

    for (const char* sym : {"A", "B", "C", "D", "E"}) {
        pub.send(std::string("md.tick.") + sym, sample_tick(sym, 1));
    }
    for (int i = 0; i < 5; ++i) {  // all five forwarded: D and E were seen and not cached
        REQUIRE(
            sub.recv_until([](const bus_message& m) { return m.topic.rfind("md.", 0) == 0; }, 5s));
    }
    CHECK(topics_of(ask_snapshot(control, "md.tick.")) ==
          std::vector<std::string>{"md.tick.A", "md.tick.B", "md.tick.C"});

    // Cached topics keep updating while full; new ones stay out.
    const std::string b2 = sample_tick("B", 2);
    pub.send("md.tick.F", sample_tick("F", 1));
    pub.send("md.tick.B", b2);
    const cached_snapshot full = wait_snapshot(control, "md.tick.", [&](const auto& snap) {
        return snap.pairs.size() == 3 && snap.pairs[1].body == b2;
    });
    CHECK(topics_of(full) == std::vector<std::string>{"md.tick.A", "md.tick.B", "md.tick.C"});
    CHECK(ask_snapshot(control, "md.tick.F").header.count == 0);
    CHECK_FALSE(ask_snapshot(control, "md.bar.").header.covered);  // not in prefixes
}

#if defined(TRADEBUS_EXE_TRADEBUS_EXECUTION) && defined(TRADEBUS_EXE_TRADEBUS_JOURNAL)
TEST_CASE("late join: a node started after the last quote fills against it at once") {
    zmq::context_t ctx;
    temp_dir dir;
    pipeline p(ctx, dir, 100);
    control_client control(ctx, p.broker.control);
    subscriber bus(ctx, p.broker.xpub, {"exec.", "test.probe"});
    publisher pub(ctx, p.broker.xsub);
    wait_until_flowing(pub, bus, "test.probe");
    // The market publishes a few quotes and goes quiet before execution exists.
    for (std::uint64_t seq = 1; seq <= 3; ++seq) pub.send("md.tick.AAPL", sample_tick("AAPL", seq));
    (void)wait_snapshot(control, "md.tick.", [](const auto& s) {
        return s.pairs.size() == 1 && s.pairs[0].body == sample_tick("AAPL", 3);
    });

    p.configure("journal",
                "[journal]\ndir = \"" + dir.file("journal").string() + "\"\nfsync = \"none\"\n");
    p.configure("execution", "[execution]\nslippage_bps = 0.0\npartial_fills = false\n");
    p.start("journal");
    p.start("execution");
    std::uint64_t published_at_start = 0;  // its probes: a healthy node is done probing
    for (const auto& n : p.wait_healthy({"journal", "execution"}, 20s).nodes) {
        if (n.name == "execution") published_at_start = n.counters.published;
    }

    // An approved market order: without the cached quote execution would refuse it (no quote).
    const auto send_order = [&](const std::string& id, std::uint64_t seq) {
        schema::order o;
        o.order_id = id;
        o.symbol = "AAPL";
        o.dir = schema::side::buy;
        o.qty = 5;
        o.requested_qty = 5;
        o.signal_src = "test";
        o.signal_id = seq;
        std::string body;
        schema::encode_event(schema::envelope{"risk", seq, common::now_ns(), 9}, o, body);
        pub.send("risk.approved.AAPL", body);
        const auto answer = bus.recv_until(
            [](const bus_message& m) {  // the fill or a reject, after the order_ack
                return m.topic.starts_with(schema::topics::exec_fill) ||
                       m.topic.starts_with(schema::topics::exec_reject);
            },
            10s);
        REQUIRE_MESSAGE(answer.has_value(), "execution did not answer order " << id);
        CAPTURE(answer->topic);
        const auto ev = answer->event();
        REQUIRE(ev);
        const auto* f = std::get_if<schema::fill>(&ev->body);
        REQUIRE_MESSAGE(f != nullptr, "expected a fill, got " << ev->type_name());
        CHECK(f->order_id == id);
        CHECK(f->px == schema::to_fixed(100.02));  // the cached ask, no slippage
        CHECK(f->qty == 5);
    };
    send_order("late-join-1", 1);

    // Live quotes resume after the cached seq 3, then a second order: by its fill, execution
    // has taken tick 4 (one SUB queue, in order). It counts no false gap and no decode error.
    pub.send("md.tick.AAPL", sample_tick("AAPL", 4));
    send_order("late-join-2", 2);
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    std::optional<schema::node_status> exec;
    while (std::chrono::steady_clock::now() < deadline) {
        for (const auto& n : p.broker.status().nodes) {
            if (n.name == "execution") exec = n;
        }
        // A heartbeat sent after both orders' ack and fill.
        if (exec && exec->counters.published >= published_at_start + 4) break;
    }
    REQUIRE(exec);
    CHECK(exec->counters.published == published_at_start + 4);
    CHECK(exec->counters.gaps == 0);
    CHECK(exec->counters.decode_errors == 0);
}
#endif
