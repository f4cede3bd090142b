// Faults with real processes (issue 7): kill -9 a node, kill -9 the broker, freeze a node with
// SIGSTOP, start a node before its broker, lose risk, halt (of the desk, a symbol or a
// strategy: issue 15), and a subscriber that stops reading. Short heartbeats (100 ms x 3) keep
// every case to a few seconds; each deadline below is a hang guard, not a timing assertion. Order
// is checked through the bus itself: one subscriber sees events in the order the broker forwarded
// them, and every event carries its publisher's CLOCK_REALTIME timestamp, comparable with the
// test's common::now_ns().
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include "bus_clients.hpp"
#include "cli_runner.hpp"
#include "node_process.hpp"
#include "pipeline.hpp"
#include "tradebus/common/process.hpp"
#include "tradebus/journal/format.hpp"
#include "tradebus/schema/topics.hpp"

using namespace tradebus;
using namespace tradebus::test;
namespace topics = schema::topics;

namespace {

constexpr std::int64_t interval_ms = 100;       // every node's and the broker's heartbeat
constexpr std::int64_t max_order_age_ms = 500;  // execution's stale-approval limit here

// The nodes' own tables: a 50 quotes/s feed, a strategy that signals on every quote, and risk
// limits wide enough that approvals and fills keep coming for the whole test.
std::string node_table(const temp_dir& dir, const std::string& kind) {
    const std::map<std::string, std::string> tables = {
        {"journal",
         "[journal]\ndir = \"" + dir.file("journal").string() + "\"\nfsync = \"none\"\n"},
        {"marketdata",
         "[marketdata]\nsource = \"synthetic\"\nbar_interval_ms = 500\n"
         "[marketdata.synthetic]\nrate_per_sec = 50.0\nseed = 7\n"
         "[marketdata.synthetic.symbols.AAPL]\nstart_px = 171.0\n"
         "[marketdata.synthetic.symbols.SPY]\nstart_px = 510.0\n"},
        {"execution",
         "[execution]\nslippage_bps = 1.0\npartial_fills = false\nmax_order_age_ms = " +
             std::to_string(max_order_age_ms) + "\n"},
        {"risk",
         "[risk]\nallowed_symbols = [\"AAPL\", \"SPY\"]\nmax_order_qty = 100\n"
         "max_position = 1000000\nmax_gross_notional = 1000000000.0\n"
         "max_daily_loss = 1000000000.0\nmax_orders_per_sec = 10\nprice_band_bps = 100.0\n"
         "stale_quote_ms = 2000\nposition_interval_ms = 200\n"},
        {"strategy",
         "[strategy]\ntrade_symbols = [\"AAPL\", \"SPY\"]\nsignal_every_tick = true\n"
         "order_qty = 10\n"},
    };
    return tables.at(kind);
}

void start_nodes(pipeline& p, const temp_dir& dir, const std::vector<std::string>& kinds) {
    for (const auto& kind : kinds) {
        p.configure(kind, node_table(dir, kind));
        p.start(kind);
    }
    (void)p.wait_healthy(kinds, std::chrono::seconds(30));
}

auto health_of(const std::string& node, schema::health to) {
    return [node, to](const seen& s) {
        const auto* h = std::get_if<schema::node_health>(&s.ev.body);
        return s.topic == topics::node_health && h != nullptr && h->node == node &&
               h->new_state == to;
    };
}

auto from(const std::string& src, std::string_view prefix, std::int64_t after_ns = 0) {
    return [src, prefix = std::string(prefix), after_ns](const seen& s) {
        return s.ev.env.src == src && s.topic.starts_with(prefix) && s.ev.env.ts_ns > after_ns;
    };
}

const schema::node_status* find_node(const schema::status_reply& st, const std::string& name) {
    for (const auto& n : st.nodes) {
        if (n.name == name) return &n;
    }
    return nullptr;
}

void kill9(process_guard& proc) {
    proc.signal(SIGKILL);
    REQUIRE(proc.wait_exit(std::chrono::seconds(5)) == 128 + SIGKILL);
}

}  // namespace

TEST_CASE("faults: a killed node is published unhealthy, the rest run on, a restart resumes it") {
    zmq::context_t ctx;
    temp_dir dir;
    pipeline p(ctx, dir, interval_ms);
    bus_log bus(ctx, p.broker.xpub, {""});
    publisher probe(ctx, p.broker.xsub);
    wait_until_flowing(probe, bus.sub(), "test.probe");
    start_nodes(p, dir, pipeline_kinds);
    (void)bus.expect(from("strategy", topics::signal), std::chrono::seconds(10), "signal");

    const std::int64_t killed_ns = common::now_ns();
    kill9(p.node("strategy"));
    const seen down = bus.expect(health_of("strategy", schema::health::unhealthy),
                                 std::chrono::seconds(10), "strategy unhealthy");
    // Published by the broker after the kill, never before it, because of missed heartbeats.
    CHECK(down.ev.env.ts_ns > killed_ns);
    CHECK(std::get<schema::node_health>(down.ev.body).reason.find("missed heartbeats") !=
          std::string::npos);
    std::size_t unhealthy_events = 0;
    for (const auto& s : bus.events) {
        if (health_of("strategy", schema::health::unhealthy)(s)) ++unhealthy_events;
    }
    CHECK(unhealthy_events == 1);

    // The rest keep running: healthy in status, their processes alive, quotes still flowing.
    const auto st = p.broker.status();
    for (const auto& kind : pipeline_kinds) {
        CAPTURE(kind);
        const auto* n = find_node(st, kind);
        REQUIRE(n != nullptr);
        CHECK(n->state ==
              (kind == "strategy" ? schema::health::unhealthy : schema::health::healthy));
        if (kind != "strategy") CHECK(p.node(kind).running());
    }
    const std::int64_t after_down = down.ev.env.ts_ns;
    for (int i = 0; i < 20; ++i) {
        (void)bus.expect(from("marketdata", topics::md_tick, after_down), std::chrono::seconds(5),
                         "tick after the kill");
    }

    // Restart: a new session replaces the old one (registered, then healthy), and it trades.
    p.start("strategy");
    const auto new_pid = static_cast<std::int64_t>(p.node("strategy").pid());
    const seen reg = bus.expect(
        [&](const seen& s) {
            const auto* r = std::get_if<schema::node_registered>(&s.ev.body);
            return r != nullptr && r->node == "strategy" && r->pid == new_pid;
        },
        std::chrono::seconds(10), "strategy registered again");
    CHECK(std::get<schema::node_registered>(reg.ev.body).session_id != 0);
    const seen up = bus.expect(health_of("strategy", schema::health::healthy),
                               std::chrono::seconds(10), "strategy healthy again");
    (void)bus.expect(from("strategy", topics::signal, up.ev.env.ts_ns), std::chrono::seconds(10),
                     "signal from the restarted strategy");
    const auto after = p.wait_healthy(pipeline_kinds, std::chrono::seconds(10));
    CHECK(find_node(after, "strategy")->pid == new_pid);
}

TEST_CASE("faults: after kill -9 of the broker every node re-registers and no subscriber is deaf") {
    zmq::context_t ctx;
    temp_dir dir;
    pipeline p(ctx, dir, interval_ms);
    bus_log all(ctx, p.broker.xpub, {""});
    // A raw SUB to one topic only, subscribed once, before the broker dies: it must receive
    // fills again from the new broker without subscribing again.
    bus_log fills(ctx, p.broker.xpub, {std::string(topics::exec_fill)});
    // And one to a topic no node publishes: after the restart only this test's PUB (also
    // connected before the kill) sends on it.
    subscriber quiet(ctx, p.broker.xpub, {"test.quiet."});
    publisher probe(ctx, p.broker.xsub);
    wait_until_flowing(probe, all.sub(), "test.probe");
    wait_until_flowing(probe, fills.sub(), std::string(topics::exec_fill) + "TESTPROBE");
    wait_until_flowing(probe, quiet, "test.quiet.before");
    start_nodes(p, dir, pipeline_kinds);
    (void)fills.expect(from("execution", topics::exec_fill), std::chrono::seconds(15), "fill");
    const auto before = p.broker.status();

    kill9(p.broker.process());
    const std::int64_t restarted_ns = common::now_ns();
    p.broker.start();  // same config, same endpoints

    // Every node notices the new epoch by itself and is healthy again under it.
    const auto st = p.wait_healthy(pipeline_kinds, std::chrono::seconds(15));
    CHECK(st.epoch != before.epoch);
    for (const auto& kind : pipeline_kinds) {
        CAPTURE(kind);
        CHECK(p.node(kind).running());  // nobody exited, nobody was restarted
        CHECK(find_node(st, kind)->pid == static_cast<std::int64_t>(p.node(kind).pid()));
        CHECK(log_shows(p.node(kind), "after restart"));
    }

    // The data plane resumes for every subscription, including one no one published on since
    // the restart until a fill happens, on sockets subscribed before the kill.
    (void)fills.expect(from("execution", topics::exec_fill, restarted_ns), std::chrono::seconds(15),
                       "fill after the broker restart");
    wait_until_flowing(probe, quiet, "test.quiet.after");
    (void)all.expect(from("marketdata", topics::md_tick, restarted_ns), std::chrono::seconds(10),
                     "tick after the broker restart");
    (void)all.expect(from("risk", topics::approved, restarted_ns), std::chrono::seconds(10),
                     "approval after the broker restart");
    (void)all.expect(from("risk", topics::position, restarted_ns), std::chrono::seconds(10),
                     "position after the broker restart");
    // And the nodes still hear each other (a fill needs tick -> signal -> approval -> fill).
    for (const auto& kind : pipeline_kinds) {
        CAPTURE(kind);
        CHECK(p.node(kind).running());
    }
}

TEST_CASE("faults: a frozen node (SIGSTOP) is unhealthy like a dead one and recovers on SIGCONT") {
    zmq::context_t ctx;
    temp_dir dir;
    pipeline p(ctx, dir, interval_ms);
    bus_log bus(ctx, p.broker.xpub, {""});
    publisher probe(ctx, p.broker.xsub);
    wait_until_flowing(probe, bus.sub(), "test.probe");
    start_nodes(p, dir, {"journal", "marketdata"});
    auto& md = p.node("marketdata");

    const std::int64_t frozen_ns = common::now_ns();
    md.signal(SIGSTOP);
    const seen down = bus.expect(health_of("marketdata", schema::health::unhealthy),
                                 std::chrono::seconds(10), "frozen marketdata unhealthy");
    CHECK(down.ev.env.ts_ns > frozen_ns);
    CHECK(md.running());
    md.signal(SIGCONT);
    const seen up = bus.expect(health_of("marketdata", schema::health::healthy),
                               std::chrono::seconds(10), "marketdata healthy after SIGCONT");
    CHECK(std::get<schema::node_health>(up.ev.body).reason.find("heartbeat received again") !=
          std::string::npos);
    (void)bus.expect(from("marketdata", topics::md_tick, up.ev.env.ts_ns), std::chrono::seconds(5),
                     "tick after SIGCONT");

    // Its name is given to a new instance while it is frozen: the old one gives way.
    {
        md.signal(SIGSTOP);
        (void)bus.expect(health_of("marketdata", schema::health::unhealthy),
                         std::chrono::seconds(10), "marketdata unhealthy again");
        process_guard second(node_executable("marketdata"),
                             {"--config", dir.file("marketdata.toml").string()},
                             dir.file("marketdata-2.log"));
        const auto second_pid = static_cast<std::int64_t>(second.pid());
        (void)bus.expect(
            [&](const seen& s) {
                const auto* r = std::get_if<schema::node_registered>(&s.ev.body);
                return r != nullptr && r->node == "marketdata" && r->pid == second_pid;
            },
            std::chrono::seconds(10), "the second instance registered");
        (void)bus.expect(health_of("marketdata", schema::health::healthy), std::chrono::seconds(10),
                         "the second instance healthy");

        md.signal(SIGCONT);
        // The old instance learns its session was replaced and stops (exit 1) instead of
        // publishing alongside the new one; the new one stays healthy.
        CHECK(md.wait_exit(std::chrono::seconds(10)) == 1);
        CHECK(md.log().find("gave our name to another instance") != std::string::npos);
        const auto st = p.broker.status();
        const auto* n = find_node(st, "marketdata");
        REQUIRE(n != nullptr);
        CHECK(n->pid == second_pid);
        CHECK(n->state == schema::health::healthy);
        CHECK(second.running());
        CHECK(second.stop() == 0);
    }
}

TEST_CASE("faults: a node started before its broker waits, retries, then registers") {
    zmq::context_t ctx;
    temp_dir dir;
    pipeline p(ctx, dir, interval_ms);
    REQUIRE(p.broker.stop() == 0);  // the endpoints are known, nothing answers on them

    p.configure("journal", node_table(dir, "journal"));
    p.start("journal");
    auto& journal = p.node("journal");
    CHECK(log_shows(journal, "did not answer register"));
    // Still running after several retry intervals (request_timeout 500 ms, retry_max 500 ms).
    CHECK_FALSE(journal.wait_exit(std::chrono::milliseconds(2000)).has_value());

    p.broker.start();
    (void)p.wait_healthy({"journal"}, std::chrono::seconds(15));
    CHECK(journal.running());
}

TEST_CASE("faults: with risk killed nothing new is approved or executed") {
    zmq::context_t ctx;
    temp_dir dir;
    pipeline p(ctx, dir, interval_ms);
    bus_log bus(ctx, p.broker.xpub, {""});
    publisher probe(ctx, p.broker.xsub);
    wait_until_flowing(probe, bus.sub(), "test.probe");
    start_nodes(p, dir, pipeline_kinds);
    (void)bus.expect(from("execution", topics::exec_fill), std::chrono::seconds(15), "fill");

    const std::int64_t killed_ns = common::now_ns();
    kill9(p.node("risk"));
    (void)bus.expect(health_of("risk", schema::health::unhealthy), std::chrono::seconds(10),
                     "risk unhealthy");
    // Long enough for every approval risk published before it died to reach execution and be
    // either filled or refused as stale (max_order_age_ms), plus strategy's signals meanwhile.
    (void)bus.collect(std::chrono::milliseconds(max_order_age_ms + 1000));

    // Approvals by order id, with their publish time; all of them from before the kill.
    std::map<std::string, std::int64_t> approved_ns;
    for (const auto& s : bus.events) {
        if (const auto* o = std::get_if<schema::order>(&s.ev.body)) {
            if (s.topic.starts_with(topics::approved)) approved_ns[o->order_id] = s.ev.env.ts_ns;
        }
    }
    std::size_t late_fills = 0;
    for (const auto& s : bus.events) {
        if (s.topic.starts_with(topics::approved)) CHECK(s.ev.env.ts_ns < killed_ns);
        const auto* f = std::get_if<schema::fill>(&s.ev.body);
        if (f == nullptr || s.ev.env.ts_ns <= killed_ns) continue;
        // A fill after the kill executes an approval from before it, and only while that
        // approval was younger than max_order_age_ms (execution refuses older ones).
        CAPTURE(f->order_id);
        REQUIRE(approved_ns.count(f->order_id) == 1);
        CHECK(approved_ns[f->order_id] < killed_ns);
        if (s.ev.env.ts_ns > killed_ns + (max_order_age_ms + 200) * 1'000'000) ++late_fills;
    }
    CHECK(late_fills == 0);
    const auto st = p.broker.status();
    CHECK(find_node(st, "risk")->state == schema::health::unhealthy);
    CHECK(p.node("execution").running());
    CHECK(p.node("strategy").running());
}

namespace {

// Waits until risk rejects a signal for the halt (it evaluates signals and refuses them) after
// `after_ns`; returns that rejection's publish time.
std::int64_t expect_halted_rejection(bus_log& bus, std::int64_t after_ns, std::string_view what) {
    return bus
        .expect(
            [after_ns](const seen& s) {
                const auto* r = std::get_if<schema::order_rejected>(&s.ev.body);
                return s.ev.env.src == "risk" && r != nullptr && r->rule == "halted" &&
                       s.ev.env.ts_ns > after_ns;
            },
            std::chrono::seconds(15), what)
        .ev.env.ts_ns;
}

// Publishes an approval straight to execution until it answers; returns the exec_reject code
// ("" when it filled instead).
std::string offer_approval(zmq::context_t& ctx, pipeline& p, bus_log& bus, const std::string& id) {
    schema::order o;
    o.order_id = id;
    o.symbol = "AAPL";
    o.dir = schema::side::buy;
    o.qty = 10;
    o.requested_qty = 10;
    o.signal_src = "strategy";
    std::string body;
    schema::encode_event(schema::envelope{"risk", 2'000'000, common::now_ns(), 43}, o, body);
    publisher pub(ctx, p.broker.xsub);
    const auto answer = bus.expect(
        [&](const seen& s) {
            const auto* r = std::get_if<schema::exec_reject>(&s.ev.body);
            const auto* f = std::get_if<schema::fill>(&s.ev.body);
            if ((r != nullptr && r->order_id == id) || (f != nullptr && f->order_id == id)) {
                return true;
            }
            pub.send(std::string(topics::approved) + "AAPL", body);  // until it is heard
            return false;
        },
        std::chrono::seconds(10), "execution's answer to an approval");
    const auto* r = std::get_if<schema::exec_reject>(&answer.ev.body);
    return r != nullptr ? r->code : "";
}

// Checks that risk approved nothing and execution filled nothing after `after_ns`, leaving out
// the approval the test published itself (`injected`, offered to execution).
void check_nothing_traded_after(const bus_log& bus, std::int64_t after_ns,
                                const std::string& injected) {
    for (const auto& s : bus.events) {
        if (s.ev.env.ts_ns <= after_ns) continue;
        const auto* o = std::get_if<schema::order>(&s.ev.body);
        if (o != nullptr && o->order_id == injected) continue;
        CAPTURE(s.topic);
        CHECK_FALSE((s.ev.env.src == "risk" && s.topic.starts_with(topics::approved)));
        CHECK_FALSE((s.ev.env.src == "execution" && s.topic.starts_with(topics::exec_fill)));
    }
}

// The whole pipeline trading (a fill seen), then halted by an operator with `reason`; the halt
// is confirmed once risk rejects a signal for it (at `confirmed_ns`).
struct halted_desk {
    halted_desk(zmq::context_t& ctx, const temp_dir& dir, const std::string& reason)
        : p(ctx, dir, interval_ms), bus(ctx, p.broker.xpub, {""}), control(ctx, p.broker.control) {
        publisher probe(ctx, p.broker.xsub);
        wait_until_flowing(probe, bus.sub(), "test.probe");
        start_nodes(p, dir, pipeline_kinds);
        (void)bus.expect(from("execution", topics::exec_fill), std::chrono::seconds(15), "fill");
        (void)control.call<schema::ok_reply>(
            schema::halt_request{.reason = reason, .by = "desk-op", .symbol = "", .strategy = ""});
        confirmed_ns = expect_halted_rejection(bus, 0, "a rejection for the halt");
    }

    pipeline p;
    bus_log bus;
    control_client control;
    std::int64_t confirmed_ns = 0;
};

}  // namespace

TEST_CASE("faults: halt stops approvals and execution, resume lets orders flow again") {
    zmq::context_t ctx;
    temp_dir dir;
    pipeline p(ctx, dir, interval_ms);
    bus_log bus(ctx, p.broker.xpub, {""});
    publisher probe(ctx, p.broker.xsub);
    wait_until_flowing(probe, bus.sub(), "test.probe");
    start_nodes(p, dir, pipeline_kinds);
    (void)bus.expect(from("execution", topics::exec_fill), std::chrono::seconds(15), "fill");

    control_client control(ctx, p.broker.control);
    (void)control.call<schema::ok_reply>(
        schema::halt_request{.reason = "faults test", .by = "test", .symbol = "", .strategy = ""});
    (void)bus.expect(
        [](const seen& s) {
            const auto* t = std::get_if<schema::trading_state_changed>(&s.ev.body);
            return s.topic == topics::trading && t != nullptr &&
                   t->state == schema::trading_state::halted;
        },
        std::chrono::seconds(5), "sys.trading halted");
    // Risk has seen the halt once it rejects a signal for it; from then on it approves nothing.
    (void)bus.expect(
        [](const seen& s) {
            const auto* r = std::get_if<schema::order_rejected>(&s.ev.body);
            return s.ev.env.src == "risk" && r != nullptr && r->rule == "halted";
        },
        std::chrono::seconds(10), "a signal rejected for the halt");

    // Execution refuses an approval that reaches it during the halt (as a stale one from
    // before the halt would): an order published straight to it.
    const std::string ours = "faults-halted-1";
    CHECK(offer_approval(ctx, p, bus, ours) == "halted");

    // Execution handles its inputs in order: once it refused that order it has seen the halt,
    // so nothing it publishes from here on is a fill (approvals risk published before it saw
    // the halt may still have been filled before this point).
    const auto halted = bus.collect(std::chrono::milliseconds(1000));
    for (const auto& s : halted) {
        CAPTURE(s.topic);
        const auto* approved = std::get_if<schema::order>(&s.ev.body);
        const bool injected = approved != nullptr && approved->order_id == ours;
        CHECK_FALSE((!injected && s.ev.env.src == "risk" && s.topic.starts_with(topics::approved)));
        CHECK_FALSE((s.ev.env.src == "execution" && s.topic.starts_with(topics::exec_fill)));
    }

    const std::int64_t resumed_ns = common::now_ns();
    (void)control.call<schema::ok_reply>(schema::resume_request{
        .reason = "faults test over", .by = "test", .symbol = "", .strategy = ""});
    (void)bus.expect(from("risk", topics::approved, resumed_ns), std::chrono::seconds(10),
                     "an approval after resume");
    (void)bus.expect(from("execution", topics::exec_fill, resumed_ns), std::chrono::seconds(10),
                     "a fill after resume");
}

TEST_CASE("faults: a halt survives kill -9 of the broker, risk and execution until resume") {
    zmq::context_t ctx;
    temp_dir dir;
    halted_desk desk(ctx, dir, "durable halt test");
    auto& [p, bus, control, confirmed_ns] = desk;

    // The broker dies and comes back (as systemd restarts it): still halted, as the operator
    // left it, and the nodes that re-register under it refuse to trade.
    kill9(p.broker.process());
    const std::int64_t broker_back_ns = common::now_ns();
    p.broker.start();
    auto st = p.wait_healthy(pipeline_kinds, std::chrono::seconds(15));
    CHECK(st.trading == schema::trading_state::halted);
    CHECK(st.trading_reason == "durable halt test");
    (void)expect_halted_rejection(bus, broker_back_ns, "a rejection after the broker restart");

    // Risk and execution die and come back: they take the halt from the broker.
    kill9(p.node("risk"));
    const std::int64_t risk_back_ns = common::now_ns();
    p.start("risk");
    (void)p.wait_healthy({"risk"}, std::chrono::seconds(15));
    (void)expect_halted_rejection(bus, risk_back_ns, "a rejection after the risk restart");
    kill9(p.node("execution"));
    p.start("execution");
    (void)p.wait_healthy({"execution"}, std::chrono::seconds(15));
    CHECK(offer_approval(ctx, p, bus, "durable-halt-1") == "halted");

    // Nothing approved by risk and nothing filled from the moment the halt was confirmed.
    (void)bus.collect(std::chrono::milliseconds(500));
    check_nothing_traded_after(bus, confirmed_ns, "durable-halt-1");

    // Only the operator's resume trades again.
    const std::int64_t resumed_ns = common::now_ns();
    (void)control.call<schema::ok_reply>(schema::resume_request{
        .reason = "durable halt over", .by = "desk-op", .symbol = "", .strategy = ""});
    (void)bus.expect(from("risk", topics::approved, resumed_ns), std::chrono::seconds(10),
                     "an approval after resume");
    (void)bus.expect(from("execution", topics::exec_fill, resumed_ns), std::chrono::seconds(10),
                     "a fill after resume");
    CHECK(p.broker.status().trading == schema::trading_state::active);
}

TEST_CASE("faults: a restarted broker that lost its state (missing_state active) resumes no node") {
    zmq::context_t ctx;
    temp_dir dir;
    halted_desk desk(ctx, dir, "lost file test");
    auto& [p, bus, control, confirmed_ns] = desk;

    // The saved state is lost with the broker; this pipeline says missing_state = "active", so
    // the new broker reports active. Risk and execution keep the halt they were under.
    kill9(p.broker.process());
    std::filesystem::remove(p.broker_state_file());
    const std::int64_t broker_back_ns = common::now_ns();
    p.broker.start();
    const auto st = p.wait_healthy(pipeline_kinds, std::chrono::seconds(15));
    CHECK(st.trading == schema::trading_state::active);
    (void)expect_halted_rejection(bus, broker_back_ns, "a rejection after the broker restart");
    CHECK(log_shows(p.node("risk"), "staying halted"));
    CHECK(offer_approval(ctx, p, bus, "lost-state-1") == "halted");
    (void)bus.collect(std::chrono::milliseconds(500));
    check_nothing_traded_after(bus, confirmed_ns, "lost-state-1");

    const std::int64_t resumed_ns = common::now_ns();
    (void)control.call<schema::ok_reply>(
        schema::resume_request{.reason = "resume", .by = "desk-op", .symbol = "", .strategy = ""});
    (void)bus.expect(from("execution", topics::exec_fill, resumed_ns), std::chrono::seconds(10),
                     "a fill after resume");
}

TEST_CASE("faults: a subscriber that stops reading does not slow the broker or a fast one") {
    zmq::context_t ctx;
    temp_dir dir;
    // A per-subscriber queue of 1000 messages at the broker (the default is 100 000, which
    // would hold this whole test's traffic for the slow one).
    broker_process broker(ctx, dir, broker_settings{.sndhwm = 1000});
    publisher pub(ctx, broker.xsub);
    subscriber fast(ctx, broker.xpub, {std::string(topics::md_tick)});
    // The slow one: a tiny queue and kernel buffer, and it never reads.
    zmq::socket_t slow(ctx, zmq::socket_type::sub);
    slow.set(zmq::sockopt::linger, 0);
    slow.set(zmq::sockopt::rcvhwm, 10);
    slow.set(zmq::sockopt::rcvbuf, 4096);
    slow.set(zmq::sockopt::subscribe, topics::md_tick);
    slow.connect(broker.xpub);
    wait_until_flowing(pub, fast, std::string(topics::md_tick) + "PROBE");
    // The slow one's subscription is through once it receives a probe too (hang guard only).
    const auto probe_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (bool through = false; !through;) {
        REQUIRE_MESSAGE(std::chrono::steady_clock::now() < probe_deadline,
                        "the slow subscriber's subscription never reached the broker");
        pub.send(std::string(topics::md_tick) + "PROBE", "p");
        zmq::pollitem_t item{slow.handle(), 0, ZMQ_POLLIN, 0};
        through = zmq::poll(&item, 1, std::chrono::milliseconds(100)) > 0;
    }
    for (zmq::message_t m; slow.recv(m, zmq::recv_flags::dontwait);) {
    }
    while (fast.recv(std::chrono::milliseconds(50))) {
    }

    // 20 MB in bursts of 200 x 1 KB; each burst must reach the fast subscriber completely and
    // in order before the next one, while the slow one's queues overflow.
    constexpr std::uint64_t total = 20'000, burst = 200;
    const std::string padding(1000, 'x');
    std::uint64_t received = 0, out_of_order = 0;
    for (std::uint64_t sent = 0; sent < total;) {
        for (std::uint64_t i = 0; i < burst; ++i, ++sent) {
            std::string body(sizeof sent, '\0');
            std::memcpy(body.data(), &sent, sizeof sent);
            pub.send("md.tick.FAST", body + padding);
        }
        while (received < sent) {
            auto m = fast.recv(std::chrono::seconds(5));
            REQUIRE_MESSAGE(m.has_value(),
                            "fast subscriber stalled at " << received << " of " << sent);
            std::uint64_t seq = 0;
            REQUIRE(m->body.size() >= sizeof seq);
            std::memcpy(&seq, m->body.data(), sizeof seq);
            if (seq != received) ++out_of_order;
            ++received;
        }
        if (sent % 5000 == 0) CHECK(broker.status().epoch != 0);  // still answering
    }
    CHECK(received == total);
    CHECK(out_of_order == 0);

    // The slow subscriber lost most of it (its own queues overflowed); it did not hold anyone up.
    // Its losses show as gaps in the sequence it did get: it has what fitted in its queues;
    // once it reads again, it gets new messages, after a gap.
    std::uint64_t slow_got = 0, slow_gaps = 0, expected = 0;
    bool sent_more = false;
    for (;;) {
        zmq::message_t msg;
        if (!slow.recv(msg, zmq::recv_flags::dontwait)) {
            zmq::pollitem_t item{slow.handle(), 0, ZMQ_POLLIN, 0};
            if (zmq::poll(&item, 1, std::chrono::milliseconds(200)) > 0) continue;
            if (sent_more) break;
            sent_more = true;
            for (std::uint64_t seq = total; seq < total + 10; ++seq) {
                std::string body(sizeof seq, '\0');
                std::memcpy(body.data(), &seq, sizeof seq);
                pub.send("md.tick.FAST", body + padding);
            }
            continue;
        }
        if (msg.more() || msg.size() < sizeof expected + 1) continue;  // topic, or a probe
        std::uint64_t seq = 0;
        std::memcpy(&seq, msg.data(), sizeof seq);
        if (seq != expected) ++slow_gaps;
        expected = seq + 1;
        ++slow_got;
    }
    CAPTURE(slow_got);
    CHECK(slow_got < total);
    CHECK(expected == total + 10);
    CHECK(slow_gaps > 0);
    CHECK(broker.process().running());
}

namespace {

// Garbage bodies a raw PUB can put on the consumed topics (the broker forwards any 2-frame
// message with a valid topic and a non-empty body; only the nodes decode).
std::vector<std::string> garbage_bodies() {
    std::string truncated = sample_tick("AAPL", 1);
    truncated.resize(truncated.size() / 2);
    // A whole tick envelope with `seq` as a string: the right shape, a wrong type.
    std::string wrong_type = sample_tick("AAPL", 1);
    const auto at = wrong_type.find("\xa3seq");
    REQUIRE(at != std::string::npos);
    wrong_type.replace(at + 4, 1, "\xa1x");  // seq 1 (positive fixint) -> "x"
    return {
        std::string("\x00\x01\x02 not msgpack at all \xff\xfe", 26),
        truncated,
        wrong_type,
        std::string("\xdd\xff\xff\xff\xff", 5),               // array32 claiming 4G items
        std::string("\xdf\xff\xff\xff\xff\xa1v\x01", 8),      // map32 claiming 4G entries
        std::string("\x81\xa1v\xdb\xff\xff\xff\xf0xyz", 11),  // str32 claiming ~4 GiB
        std::string(4000, '\x91') + '\x01',                   // 4000 nested arrays
        std::string("\x2a", 1),                               // a msgpack int, not a map
    };
}

std::uint64_t decode_errors_of(const schema::status_reply& st, const std::string& name) {
    const auto* n = find_node(st, name);
    REQUIRE(n != nullptr);
    return n->counters.decode_errors;
}

}  // namespace

TEST_CASE("faults: garbage on the topics every node consumes is counted, journaled raw, survived") {
    zmq::context_t ctx;
    temp_dir dir;
    pipeline p(ctx, dir, interval_ms);
    bus_log fills(ctx, p.broker.xpub, {std::string(topics::exec_fill)});
    publisher raw(ctx, p.broker.xsub);
    wait_until_flowing(raw, fills.sub(), std::string(topics::exec_fill) + "TESTPROBE");
    start_nodes(p, dir, pipeline_kinds);
    (void)fills.expect(from("execution", topics::exec_fill), std::chrono::seconds(15), "fill");
    const std::vector<std::string> consumers = {"strategy", "risk", "execution", "journal"};
    const auto before = p.broker.status();

    // Every garbage body on a topic each consuming node subscribes to (md.tick.AAPL reaches
    // all four; the others reach strategy, risk and execution as their subscriptions say).
    const auto bodies = garbage_bodies();
    const std::vector<std::string> targets = {"md.tick.AAPL", "strategy.signal.AAPL",
                                              "risk.approved.AAPL", "exec.fill.AAPL"};
    for (const auto& topic : targets) {
        for (const auto& body : bodies) raw.send(topic, body);
    }
    const std::int64_t after_ns = common::now_ns();

    // Each node counted them (heartbeat counters, as `tradebus status` shows them) ...
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    schema::status_reply st = p.broker.status();
    for (const auto& name : consumers) {
        CAPTURE(name);
        while (decode_errors_of(st, name) < decode_errors_of(before, name) + bodies.size() &&
               std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling status only
            st = p.broker.status();
        }
        CHECK(decode_errors_of(st, name) >= decode_errors_of(before, name) + bodies.size());
    }
#ifdef TRADEBUS_EXE_TRADEBUS
    const auto status =
        run_to_exit(TRADEBUS_EXE_TRADEBUS, {"status", "--json", "--control", p.broker.control},
                    dir.file("status.out"));
    CHECK(status.status == 0);
    for (const auto& name : consumers) {
        CAPTURE(name);
        const auto at = status.output.find("\"name\":\"" + name + "\"");
        REQUIRE(at != std::string::npos);
        const auto key = status.output.find("\"decode_errors\":", at);
        REQUIRE(key != std::string::npos);
        CHECK(std::stoull(status.output.substr(key + 16)) >= bodies.size());
    }
#endif
    // ... every node keeps serving: the pipeline still trades ...
    (void)fills.expect(from("execution", topics::exec_fill, after_ns), std::chrono::seconds(15),
                       "fill after the garbage");
    for (const auto& kind : pipeline_kinds) {
        CAPTURE(kind);
        CHECK(p.node(kind).running());
    }
    // ... and the journal kept each garbage message's bytes, flagged undecodable.
    REQUIRE(p.stop("journal") == 0);
    const auto j = read_journal(p.journal_dir);
    for (const auto& topic : targets) {
        for (const auto& body : bodies) {
            CAPTURE(topic);
            CAPTURE(body.size());
            const bool kept = std::any_of(j.records.begin(), j.records.end(), [&](const auto& r) {
                return r.topic == topic && r.body == body &&
                       (r.flags & journal::format::flags::undecodable) != 0;
            });
            CHECK(kept);
        }
    }
}

// systemd stops a unit with SIGTERM and marks it failed unless it exits 0; operators press
// Ctrl-C twice; supervisors repeat SIGTERM (tradebus-bench did). A second signal lands while
// the node deregisters, inside the control request's wait, where libzmq reports EINTR: that
// ended the node with exit 1. With the broker frozen the deregister waits its full timeout,
// so the second signal surely lands there.
TEST_CASE("faults: a second SIGTERM while a node deregisters still stops it cleanly (exit 0)") {
    temp_dir dir;
    zmq::context_t ctx;
    broker_process broker(ctx, dir);
    subscriber sub(ctx, broker.xpub, {"md."});
    auto md = start_node(broker, dir, "marketdata", "marketdata",
                         "[marketdata]\nsource = \"synthetic\"\n[marketdata.synthetic]\n"
                         "rate_per_sec = 20000.0\n[marketdata.synthetic.symbols.AAPL]\n"
                         "start_px = 100.0\n");
    REQUIRE(sub.recv_until([](const bus_message& m) { return m.topic.starts_with("md."); }, 10s));
    (void)wait_node_state(broker, "marketdata", schema::health::healthy, 10s);

    broker.process().signal(SIGSTOP);
    md->signal(SIGTERM);
    std::this_thread::sleep_for(150ms);  // into the deregister wait (request_timeout_ms 500)
    md->signal(SIGTERM);
    const auto status = md->wait_exit(10s);
    broker.process().signal(SIGCONT);
    REQUIRE_MESSAGE(status.has_value(), "marketdata did not stop within 10 s");
    CHECK_MESSAGE(*status == 0, "exit " << *status << "; log:\n" << md->log());
    CHECK(md->log().find("did not acknowledge deregister; exiting anyway") != std::string::npos);
}

// ---------------------------------------------------------------- scoped kill switch (issue 15)

namespace {

// `tradebus <verb> <args> --control <broker>`, to its exit.
cli_result trading_cli(const temp_dir& dir, const pipeline& p, const std::string& name,
                       std::vector<std::string> args) {
    args.insert(args.end(), {"--control", p.broker.control, "--by", "desk-op"});
    return run_cli(dir, name, std::move(args));
}

// Risk's rejection for a halted scope (its reason names it) published after `after_ns`.
std::int64_t expect_scope_rejection(bus_log& bus, std::int64_t after_ns, const std::string& symbol,
                                    const std::string& scope, std::string_view what) {
    return bus
        .expect(
            [=](const seen& s) {
                const auto* r = std::get_if<schema::order_rejected>(&s.ev.body);
                return s.ev.env.src == "risk" && r != nullptr && r->rule == "halted" &&
                       (symbol.empty() || r->symbol == symbol) &&
                       r->reason.find(scope + " halted by desk-op") != std::string::npos &&
                       s.ev.env.ts_ns > after_ns;
            },
            std::chrono::seconds(15), what)
        .ev.env.ts_ns;
}

// The whole pipeline trading (a fill seen), and a log of everything on the bus.
struct trading_pipeline {
    trading_pipeline(zmq::context_t& ctx, const temp_dir& dir)
        : p(ctx, dir, interval_ms), bus(ctx, p.broker.xpub, {""}) {
        publisher probe(ctx, p.broker.xsub);
        wait_until_flowing(probe, bus.sub(), "test.probe");
        start_nodes(p, dir, pipeline_kinds);
        (void)bus.expect(from("execution", topics::exec_fill), std::chrono::seconds(15), "fill");
    }
    pipeline p;
    bus_log bus;
};

// An order risk approved for `symbol` after `after_ns`.
auto approved_for(const std::string& symbol, std::int64_t after_ns) {
    return [=](const seen& s) {
        const auto* o = std::get_if<schema::order>(&s.ev.body);
        return s.ev.env.src == "risk" && o != nullptr && o->symbol == symbol &&
               s.ev.env.ts_ns > after_ns;
    };
}

}  // namespace

TEST_CASE("kill switch: halt --symbol stops that symbol only, bad scopes change nothing") {
    zmq::context_t ctx;
    temp_dir dir;
    trading_pipeline desk(ctx, dir);
    auto& [p, bus] = desk;

    const auto halt =
        trading_cli(dir, p, "halt-aapl", {"halt", "--symbol", "AAPL", "--reason", "news pending"});
    CHECK(halt.status == 0);
    CHECK(has(halt.out, "trading symbol AAPL halted (was active)"));
    const auto scope_event = bus.expect(
        [](const seen& s) {
            const auto* t = std::get_if<schema::trading_state_changed>(&s.ev.body);
            return s.topic == "sys.trading.symbol.AAPL" && t != nullptr &&
                   t->state == schema::trading_state::halted && t->symbol == "AAPL";
        },
        std::chrono::seconds(5), "sys.trading.symbol.AAPL halted");
    (void)scope_event;
    const std::int64_t confirmed_ns =
        expect_scope_rejection(bus, 0, "AAPL", "symbol AAPL", "an AAPL signal rejected");
    // SPY trades on: approved and filled after the AAPL halt took effect.
    (void)bus.expect(approved_for("SPY", confirmed_ns), std::chrono::seconds(10),
                     "a SPY approval during the AAPL halt");
    (void)bus.expect(from("execution", "exec.fill.SPY", confirmed_ns), std::chrono::seconds(10),
                     "a SPY fill during the AAPL halt");
    // Risk decides in order: after the first rejection for the scope it approves no AAPL.
    for (const auto& s : bus.events) {
        CAPTURE(s.topic);
        CHECK_FALSE(approved_for("AAPL", confirmed_ns)(s));
    }

    // Bad scopes: refused with a clear error, nothing changes.
    const auto unknown = trading_cli(dir, p, "halt-unknown", {"halt", "--strategy", "nosuch"});
    CHECK(unknown.status == 1);
    CHECK(has(unknown.err, "unknown_node"));
    CHECK(has(unknown.err, "no node \"nosuch\" is registered or in the broker's [pipeline]"));
    const auto malformed = trading_cli(dir, p, "halt-malformed", {"halt", "--symbol", "BRK.B"});
    CHECK(malformed.status == 2);
    CHECK(has(malformed.err, "symbol is not 1..32 bytes"));
    const auto both =
        trading_cli(dir, p, "halt-both", {"halt", "--symbol", "AAPL", "--strategy", "strategy"});
    CHECK(both.status == 2);
    control_client control(ctx, p.broker.control);
    const auto refused = control.call_error(
        schema::halt_request{.reason = "", .by = "", .symbol = "BRK B", .strategy = ""});
    CHECK(refused.code == schema::error_code::bad_request);
    CHECK(has(refused.reason, "halt: symbol is not 1..32 bytes"));

    // Status shows the one scope in force (text and JSON); the desk stays active.
    const auto st = p.broker.status();
    CHECK(st.trading == schema::trading_state::active);
    REQUIRE(st.trading_scopes.size() == 1);
    CHECK(st.trading_scopes[0].symbol == "AAPL");
    CHECK(st.trading_scopes[0].by == "desk-op");
    const auto text = run_cli(dir, "status", {"status", "--control", p.broker.control});
    CHECK(text.status == 0);
    CHECK(has(text.out, "symbol AAPL: HALTED (news pending, by desk-op)"));
    const auto json =
        run_cli(dir, "status-json", {"status", "--json", "--control", p.broker.control});
    CHECK(valid_json(json.out));
    CHECK(has(json.out, R"("trading_scopes":[{"symbol":"AAPL","strategy":"","state":"halted")"));

    // Resume of the scope: AAPL trades again.
    const std::int64_t resumed_ns = common::now_ns();
    const auto resume = trading_cli(dir, p, "resume-aapl", {"resume", "--symbol", "AAPL"});
    CHECK(resume.status == 0);
    CHECK(has(resume.out, "trading symbol AAPL active (was halted)"));
    (void)bus.expect(approved_for("AAPL", resumed_ns), std::chrono::seconds(10),
                     "an AAPL approval after the resume");
    CHECK(p.broker.status().trading_scopes.empty());
}

TEST_CASE("kill switch: a strategy halt survives kill -9 of the broker and of risk until resume") {
    zmq::context_t ctx;
    temp_dir dir;
    trading_pipeline desk(ctx, dir);
    auto& [p, bus] = desk;

    const auto halt = trading_cli(dir, p, "halt-strategy",
                                  {"halt", "--strategy", "strategy", "--reason", "misbehaving"});
    REQUIRE(halt.status == 0);
    CHECK(has(halt.out, "trading strategy strategy halted (was active)"));
    const std::int64_t confirmed_ns = expect_scope_rejection(
        bus, 0, "", "strategy strategy", "a signal of the halted strategy rejected");

    // The broker dies and comes back: the scope is read back from its state file, shown by
    // status, and risk (which kept it) still refuses the strategy.
    kill9(p.broker.process());
    const std::int64_t broker_back_ns = common::now_ns();
    p.broker.start();
    auto st = p.wait_healthy(pipeline_kinds, std::chrono::seconds(15));
    CHECK(st.trading == schema::trading_state::active);
    REQUIRE(st.trading_scopes.size() == 1);
    CHECK(st.trading_scopes[0].strategy == "strategy");
    CHECK(st.trading_scopes[0].reason == "misbehaving");
    (void)expect_scope_rejection(bus, broker_back_ns, "", "strategy strategy",
                                 "a rejection after the broker restart");

    // Risk dies and comes back: it takes the scope from the restarted broker's cache.
    kill9(p.node("risk"));
    const std::int64_t risk_back_ns = common::now_ns();
    p.start("risk");
    (void)p.wait_healthy({"risk"}, std::chrono::seconds(15));
    (void)expect_scope_rejection(bus, risk_back_ns, "", "strategy strategy",
                                 "a rejection after the risk restart");
    (void)bus.collect(std::chrono::milliseconds(300));
    for (const auto& s : bus.events) {
        if (s.ev.env.ts_ns <= confirmed_ns) continue;
        CAPTURE(s.topic);
        CHECK_FALSE((s.ev.env.src == "risk" && s.topic.starts_with(topics::approved)));
    }

    // Only the operator's resume of that scope trades again.
    const std::int64_t resumed_ns = common::now_ns();
    const auto resume =
        trading_cli(dir, p, "resume-strategy", {"resume", "--strategy", "strategy"});
    CHECK(resume.status == 0);
    (void)bus.expect(from("risk", topics::approved, resumed_ns), std::chrono::seconds(10),
                     "an approval after the resume");
    (void)bus.expect(from("execution", topics::exec_fill, resumed_ns), std::chrono::seconds(10),
                     "a fill after the resume");
    CHECK(p.broker.status().trading_scopes.empty());
}
