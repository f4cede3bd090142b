// The bus keeps its promises under hostile peers (real processes): a publisher forging a broker
// restart (a broker_started body on a data topic, on sys.probe.<node>, on a topic a node
// consumes, or on sys.broker.started itself) makes no node re-register. Every forgery that
// reaches a node is counted there as misrouted (its type does not belong to its topic); the one
// on sys.broker.started never reaches anyone (the broker drops it as reserved_topic); the
// journal records no broker restart and `tradebus journal report` counts none. A real broker
// restart still makes every node re-register, and the report counts exactly that one.
#include <doctest/doctest.h>

#include <csignal>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bus_clients.hpp"
#include "cli_runner.hpp"
#include "node_process.hpp"
#include "tradebus/common/process.hpp"
#include "tradebus/schema/codec.hpp"
#include "tradebus/schema/topics.hpp"

using namespace tradebus;
using namespace tradebus::test;
namespace topics = schema::topics;

namespace {

const schema::node_status& node_of(const schema::status_reply& st, const std::string& name) {
    for (const auto& n : st.nodes) {
        if (n.name == name) return n;
    }
    FAIL("no node " << name << " in status");
    throw std::logic_error("unreachable");
}

std::uint64_t dropped(const schema::status_reply& st, std::string_view reason) {
    for (const auto& d : st.drops) {
        if (d.reason == reason) return d.count;
    }
    FAIL("no drop counter " << reason);
    return 0;
}

// Polls status until `done` accepts it; fails the test after `guard` (a hang guard).
schema::status_reply wait_status(broker_process& broker,
                                 const std::function<bool(const schema::status_reply&)>& done,
                                 std::chrono::milliseconds guard, std::string_view what) {
    const auto deadline = std::chrono::steady_clock::now() + guard;
    auto st = broker.status();
    while (!done(st) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling status only
        st = broker.status();
    }
    CHECK_MESSAGE(done(st), "not within " << guard.count() << " ms: " << what);
    return st;
}

// Sums every "key":N of a `tradebus journal report --json` output (one entry per day).
std::uint64_t sum_of(const std::string& json, std::string_view key) {
    const std::string needle = "\"" + std::string(key) + "\":";
    std::uint64_t total = 0;
    for (auto at = json.find(needle); at != std::string::npos; at = json.find(needle, at + 1)) {
        total += std::stoull(json.substr(at + needle.size()));
    }
    return total;
}

}  // namespace

TEST_CASE(
    "integrity: a forged broker restart re-registers no node and is counted, a real one does") {
    zmq::context_t ctx;
    temp_dir dir;
    const auto journal_dir = dir.file("journal");
    broker_process broker(ctx, dir, recording_broker());
    auto journal = start_journal(broker, dir, journal_dir);
    auto risk = start_node(broker, dir, "risk", "risk",
                           "[risk]\nallowed_symbols = [\"AAPL\"]\nmax_order_qty = 100\n");
    const auto risk_before = wait_node_state(broker, "risk", schema::health::healthy, 30s);
    const auto before = broker.status();

    // Who registers from now on (a node acting on a forgery registers again).
    subscriber registrations(ctx, broker.xpub, {std::string(topics::node_registered)});
    publisher forger(ctx, broker.xsub);
    wait_publisher_through(ctx, broker, forger, "test.forger");
    // The probe above proves the forger's connection; this one proves the registrations
    // subscription is through (the broker publishes sys.node.registered on its own).
    {
        control_client control(ctx, broker.control);
        schema::register_request probe;
        probe.name = "integrity-probe";
        probe.kind = "test";
        probe.host = "h";
        (void)control.call<schema::register_reply>(probe);
        REQUIRE(registrations.recv_until(
            [](const bus_message& m) {
                const auto ev = m.event();
                const auto* r = ev ? std::get_if<schema::node_registered>(&ev->body) : nullptr;
                return r != nullptr && r->node == "integrity-probe";
            },
            10s));
    }

    // As the issue found them: 10 a second, each with a new random epoch, looking like the
    // broker's own (src "broker", trace 0).
    std::mt19937_64 rng(20240611);
    const std::vector<std::string> targets = {
        "md.tick.AAPL",                       // a data topic risk and the journal consume
        "sys.probe.risk",                     // a probe topic: the broker forwards those
        "strategy.signal.AAPL",               // a strategy's own topic, consumed by risk
        "sys.probe.journal",                  // the journal's probe topic
        std::string(topics::broker_started),  // the real topic: only the broker may
    };
    constexpr int rounds = 10;
    std::uint64_t seq = 0;
    std::string body;
    for (int i = 0; i < rounds; ++i) {
        for (const auto& topic : targets) {
            schema::broker_started forged{.epoch = rng() | 1,
                                          .version = "0.1.0",
                                          .xsub_endpoint = broker.xsub,
                                          .xpub_endpoint = broker.xpub,
                                          .control_endpoint = broker.control};
            schema::encode_event(schema::envelope{"broker", ++seq, common::now_ns(), 0}, forged,
                                 body);
            forger.send(topic, body);
        }
        std::this_thread::sleep_for(100ms);
    }

    // Risk got three of every round (md.tick., strategy.signal., its probe), the journal four
    // (everything but sys.broker.started, which the broker dropped): counted, acted on by nobody.
    const std::uint64_t to_risk = 3 * rounds, to_journal = 4 * rounds;
    const auto st = wait_status(
        broker,
        [&](const schema::status_reply& s) {
            return node_of(s, "risk").counters.misrouted >= to_risk &&
                   node_of(s, "journal").counters.misrouted >= to_journal;
        },
        10s, "every forgery counted as misrouted");
    CHECK(node_of(st, "risk").counters.misrouted == to_risk);
    CHECK(node_of(st, "journal").counters.misrouted == to_journal);
    CHECK(dropped(st, "reserved_topic") == dropped(before, "reserved_topic") + rounds);
    CHECK(st.epoch == before.epoch);
    for (const std::string name : {"risk", "journal"}) {
        CAPTURE(name);
        const auto& n = node_of(st, name);
        CHECK(n.state == schema::health::healthy);
        CHECK(n.pid == node_of(before, name).pid);
    }
    CHECK(node_of(st, "risk").pid == risk_before.pid);
    // Nobody registered again, nobody said so, the journal marked no broker restart.
    const auto again = registrations.recv(300ms);
    CHECK_MESSAGE(!again.has_value(), "a node registered again after the forgeries");
    CHECK(risk->log().find("re-registering") == std::string::npos);
    CHECK(risk->log().find("after restart") == std::string::npos);
    CHECK(journal->log().find("broker restarted") == std::string::npos);
    CHECK(risk->log().find("does not belong to that topic") != std::string::npos);

    // A real broker restart: both nodes see the new epoch through the control plane and
    // register again by themselves, the journal marks it once.
    REQUIRE(broker.stop() == 0);
    broker.start();
    const auto after = wait_status(
        broker,
        [&](const schema::status_reply& s) {
            for (const std::string name : {"risk", "journal"}) {
                bool healthy = false;
                for (const auto& n : s.nodes) {
                    healthy = healthy || (n.name == name && n.state == schema::health::healthy);
                }
                if (!healthy) return false;
            }
            return true;
        },
        15s, "risk and journal healthy under the new broker");
    CHECK(after.epoch != before.epoch);
    CHECK(node_of(after, "risk").pid == risk_before.pid);  // the same process, registered again
    CHECK(risk->running());
    CHECK(journal->running());
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (journal->log().find("broker restarted") == std::string::npos &&
           std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(50ms);  // polling a log file only
    }
    CHECK(risk->log().find("after restart") != std::string::npos);
    CHECK(journal->log().find("broker restarted") != std::string::npos);

    // The report counts the one real restart, and the forgeries as misrouted, nothing else.
    REQUIRE(journal->stop() == 0);
#ifdef TRADEBUS_EXE_TRADEBUS
    const auto report = run_cli(
        dir, "report", {"journal", "report", "--dir", journal_dir.string(), "--utc", "--json"});
    CAPTURE(report.out);
    CAPTURE(report.err);
    REQUIRE(report.status == 0);
    CHECK(sum_of(report.out, "broker_restarts") == 1);
    CHECK(sum_of(report.out, "misrouted") == to_journal);
    const auto text =
        run_cli(dir, "report-text", {"journal", "report", "--dir", journal_dir.string(), "--utc"});
    CAPTURE(text.out);
    CHECK(has(text.out, " 1 broker restart(s)"));
#endif
}

TEST_CASE("integrity: gap counts stay exact across a broker restart and a publisher restart") {
    zmq::context_t ctx;
    temp_dir dir;
    broker_process broker(ctx, dir, recording_broker());
    auto journal = start_journal(broker, dir, dir.file("journal"));  // risk recovers from it
    auto risk = start_node(broker, dir, "risk", "risk",
                           "[risk]\nallowed_symbols = [\"AAPL\"]\nmax_order_qty = 100\n");
    (void)wait_node_state(broker, "risk", schema::health::healthy, 30s);
    const auto gaps_at_risk = [&](std::uint64_t want, std::string_view what) {
        const auto st = wait_status(
            broker,
            [&](const schema::status_reply& s) {
                for (const auto& n : s.nodes) {
                    if (n.name == "risk" && n.state == schema::health::healthy &&
                        n.counters.gaps >= want) {
                        return true;
                    }
                }
                return false;
            },
            15s, what);
        return node_of(st, "risk").counters.gaps;
    };
    // A feed process "md" as the runtime numbers it: seq per topic, one inc per process run.
    const auto tick = [](std::uint64_t seq, std::uint64_t inc) {
        std::string body;
        schema::encode_event(schema::envelope{"md", seq, common::now_ns(), 0, inc},
                             schema::tick{"AAPL", schema::to_fixed(100.0), 10,
                                          schema::to_fixed(100.1), 10, 0, 0, common::now_ns()},
                             body);
        return body;
    };
    const auto send = [&](publisher& pub, std::uint64_t inc, std::vector<std::uint64_t> seqs) {
        for (const auto seq : seqs) pub.send("md.tick.AAPL", tick(seq, inc));
    };

    // Incarnation 1: seq 1..10 with 6 and 7 lost.
    {
        publisher feed(ctx, broker.xsub);
        wait_publisher_through(ctx, broker, feed, "test.feed1");
        send(feed, 1, {1, 2, 3, 4, 5, 8, 9, 10});
        CHECK(gaps_at_risk(2, "risk counting the first gap") == 2);
    }

    // kill -9 of the broker. Meanwhile the feed restarts (incarnation 2) and its seq 1..3 go
    // nowhere. Once the new broker is up, seq 4..10 with 7 lost: 1 more gap, exactly. By seq
    // alone 4..10 would all be repeats of incarnation 1's (no gap), and the broker's own
    // events, numbered again from 1 by its new epoch, could count as gaps or repeats.
    broker.process().signal(SIGKILL);
    REQUIRE(broker.process().wait_exit(5s) == 128 + SIGKILL);
    publisher restarted(ctx, broker.xsub);
    send(restarted, 2, {1, 2, 3});
    broker.start();
    (void)wait_node_state(broker, "risk", schema::health::healthy, 30s);
    wait_publisher_through(ctx, broker, restarted, "test.feed2");
    send(restarted, 2, {4, 5, 6, 8, 9, 10});
    CHECK(gaps_at_risk(3, "risk counting the gap of the restarted feed") == 3);

    // A real node restarts: marketdata, killed with -9 and started again, numbers its ticks
    // from 1 under a new incarnation. Risk sees every tick of both runs: no gap at all.
    const std::string md_toml =
        "[marketdata]\nsource = \"synthetic\"\nbar_interval_ms = 500\n"
        "[marketdata.synthetic]\nrate_per_sec = 100.0\nseed = 7\n"
        "[marketdata.synthetic.symbols.AAPL]\nstart_px = 171.0\n";
    auto md = start_node(broker, dir, "marketdata", "marketdata", md_toml);
    (void)wait_node_state(broker, "marketdata", schema::health::healthy, 30s);
    const auto received_by_risk = [&] {
        return node_of(broker.status(), "risk").counters.received;
    };
    const auto wait_received = [&](std::uint64_t at_least) {
        const auto deadline = std::chrono::steady_clock::now() + 15s;
        while (received_by_risk() < at_least && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(50ms);  // polling status only
        }
        REQUIRE(received_by_risk() >= at_least);
    };
    wait_received(received_by_risk() + 20);
    md->signal(SIGKILL);
    REQUIRE(md->wait_exit(5s) == 128 + SIGKILL);
    md = start_node(broker, dir, "marketdata", "marketdata", md_toml);
    (void)wait_node_state(broker, "marketdata", schema::health::healthy, 30s);
    wait_received(received_by_risk() + 20);
    CHECK(node_of(broker.status(), "risk").counters.gaps == 3);
}
