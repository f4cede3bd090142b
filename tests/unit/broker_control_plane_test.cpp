// The broker's control plane without sockets: requests in, replies and sys.* events out, on a
// fake monotonic clock. Covers register rules, readiness, liveness timing, sessions,
// deregister, status and the trading kill switch, plus malformed frames.
#include <doctest/doctest.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "scratch_dir.hpp"
#include "tradebus/broker/control_plane.hpp"
#include "tradebus/broker/defaults.hpp"
#include "tradebus/schema/codec.hpp"
#include "tradebus/schema/topics.hpp"

using namespace tradebus;
using namespace tradebus::broker;
using schema::health;
namespace code = schema::error_code;

namespace {

struct published {
    std::string topic;
    schema::payload body;
};

class recording_sink : public event_sink {
  public:
    void publish(std::string_view topic, const schema::payload& body) override {
        events.push_back({std::string(topic), body});
    }
    void forget(std::string_view topic) override { forgotten.emplace_back(topic); }
    /// The node_health events published so far, as "node: old -> new".
    std::vector<std::string> health_changes() const {
        std::vector<std::string> out;
        for (const auto& e : events) {
            if (const auto* h = std::get_if<schema::node_health>(&e.body)) {
                out.push_back(h->node + ": " + std::string(schema::to_string(h->old_state)) +
                              " -> " + std::string(schema::to_string(h->new_state)));
            }
        }
        return out;
    }
    std::vector<published> events;
    std::vector<std::string> forgotten;
};

broker_config test_config() {
    broker_config cfg = parse_config(R"(
[heartbeat]
interval_ms = 100
liveness = 3
gone_after_ms = 1000
[pipeline.marketdata]
[pipeline.strategy]
depends_on = ["marketdata"]
[pipeline.risk]
depends_on = ["marketdata"]
[pipeline.execution]
depends_on = ["risk"]
)",
                                     "test.toml");
    return cfg;
}

struct fixture {
    fixture() : stats(100), cp(test_config(), 77, sink, stats, 0) {
        spdlog::set_level(spdlog::level::off);
        cp.set_advertised("tcp://127.0.0.1:1", "tcp://127.0.0.1:2");
    }

    schema::control_message call(const schema::control_message& req, std::int64_t now) {
        // Round trip through the codec, as on the wire.
        std::string in, out;
        schema::encode_control(req, in);
        cp.handle_frame(in, now, out);
        auto decoded = schema::decode_control(out);
        REQUIRE_MESSAGE(decoded.ok(), decoded.error().to_string());
        return decoded.value();
    }

    template <class Reply>
    Reply expect(const schema::control_message& req, std::int64_t now) {
        auto reply = call(req, now);
        if (const auto* e = std::get_if<schema::error_reply>(&reply)) {
            FAIL("unexpected error " << e->code << ": " << e->reason);
        }
        REQUIRE(std::holds_alternative<Reply>(reply));
        return std::get<Reply>(reply);
    }

    schema::error_reply expect_error(const schema::control_message& req, std::int64_t now,
                                     std::string_view code_expected) {
        auto reply = call(req, now);
        REQUIRE(std::holds_alternative<schema::error_reply>(reply));
        auto e = std::get<schema::error_reply>(reply);
        CHECK(e.code == code_expected);
        return e;
    }

    schema::register_reply reg(const std::string& name, std::int64_t now,
                               std::vector<std::string> deps = {}, std::string host = "h1",
                               std::int64_t pid = 100) {
        return expect<schema::register_reply>(register_req(name, std::move(deps), host, pid), now);
    }

    static schema::register_request register_req(const std::string& name,
                                                 std::vector<std::string> deps = {},
                                                 std::string host = "h1", std::int64_t pid = 100) {
        schema::register_request r;
        r.name = name;
        r.kind = "test";
        r.host = std::move(host);
        r.version = "1";
        r.pid = pid;
        r.depends_on = std::move(deps);
        return r;
    }

    static schema::heartbeat_request hb(const std::string& name, std::uint64_t session,
                                        health state = health::healthy) {
        schema::heartbeat_request h;
        h.name = name;
        h.session_id = session;
        h.state = state;
        h.counters.published = 3;
        return h;
    }

    health state_of(const std::string& name) const { return cp.nodes().find(name)->state; }

    recording_sink sink;
    data_stats stats;
    control_plane cp;
};

}  // namespace

TEST_CASE("broker control plane: register replies with session, epoch, endpoints, timing") {
    fixture f;
    const auto r = f.reg("marketdata", 0);
    CHECK(r.session_id != 0);
    CHECK(r.epoch == 77);
    CHECK(r.xsub_endpoint == "tcp://127.0.0.1:1");
    CHECK(r.xpub_endpoint == "tcp://127.0.0.1:2");
    CHECK(r.heartbeat_interval_ms == 100);
    CHECK(r.liveness == 3);
    CHECK(r.ready);
    CHECK(r.waiting_for.empty());
    CHECK(r.trading == schema::trading_state::active);
    CHECK(f.state_of("marketdata") == health::starting);
    REQUIRE(f.sink.events.size() == 2);
    CHECK(f.sink.events[0].topic == schema::topics::node_registered);
    const auto& registered = std::get<schema::node_registered>(f.sink.events[0].body);
    CHECK(registered.node == "marketdata");
    CHECK(registered.session_id == r.session_id);
    CHECK(f.sink.events[1].topic == schema::topics::node_health);
    CHECK(f.sink.health_changes() == std::vector<std::string>{"marketdata: stopped -> starting"});

    // A node may ask for its own heartbeat interval.
    auto req = fixture::register_req("sniffer");
    req.heartbeat_interval_ms = 500;
    CHECK(f.expect<schema::register_reply>(req, 0).heartbeat_interval_ms == 500);
    req.heartbeat_interval_ms = 5;
    f.expect_error(req, 0, code::bad_request);
}

TEST_CASE("broker control plane: ready waits for every dependency to be healthy or degraded") {
    fixture f;
    auto ex = f.reg("execution", 0);
    CHECK_FALSE(ex.ready);
    CHECK(ex.waiting_for == std::vector<std::string>{"risk"});
    auto risk = f.reg("risk", 0);
    CHECK(risk.waiting_for == std::vector<std::string>{"marketdata"});
    auto md = f.reg("marketdata", 0);
    CHECK(md.ready);

    // execution reports healthy but risk is not ready: it stays starting.
    auto hb = f.expect<schema::heartbeat_reply>(fixture::hb("execution", ex.session_id), 10);
    CHECK_FALSE(hb.ready);
    CHECK(hb.waiting_for == std::vector<std::string>{"risk"});
    CHECK(f.state_of("execution") == health::starting);

    f.expect<schema::heartbeat_reply>(fixture::hb("marketdata", md.session_id), 10);
    CHECK(f.state_of("marketdata") == health::healthy);
    hb = f.expect<schema::heartbeat_reply>(fixture::hb("risk", risk.session_id, health::degraded),
                                           10);
    CHECK(hb.ready);
    CHECK(f.state_of("risk") == health::degraded);  // degraded counts as ready for dependents
    hb = f.expect<schema::heartbeat_reply>(fixture::hb("execution", ex.session_id), 20);
    CHECK(hb.ready);
    CHECK(hb.waiting_for.empty());
    CHECK(f.state_of("execution") == health::healthy);

    const auto status = f.expect<schema::status_reply>(schema::status_request{}, 30);
    CHECK(status.start_order ==
          std::vector<std::string>{"marketdata", "risk", "execution", "strategy"});
}

TEST_CASE("broker control plane: dependency refusals name the culprit") {
    fixture f;
    auto e = f.expect_error(fixture::register_req("strategy", {"marketdata", "riks"}), 0,
                            code::unknown_dependency);
    CHECK(e.reason.find("\"riks\"") != std::string::npos);
    e = f.expect_error(fixture::register_req("marketdata", {"execution"}), 0,
                       code::dependency_cycle);
    CHECK(e.reason.find("marketdata -> execution -> risk -> marketdata") != std::string::npos);
    // A refused node is not registered and declares nothing.
    CHECK(f.cp.nodes().find("marketdata") == nullptr);
    CHECK(f.sink.events.empty());
    // Nodes outside the pipeline may register (observers) but depend only on pipeline nodes.
    CHECK(f.reg("sniffer", 0, {"marketdata"}).waiting_for ==
          std::vector<std::string>{"marketdata"});
    f.expect_error(fixture::register_req("tool", {"sniffer"}), 0, code::unknown_dependency);
}

TEST_CASE("broker control plane: a missed liveness deadline publishes unhealthy on time") {
    fixture f;
    const auto md = f.reg("marketdata", 0);
    f.expect<schema::heartbeat_reply>(fixture::hb("marketdata", md.session_id), 50);
    f.sink.events.clear();
    // Deadline = last heartbeat + liveness x interval = 50 + 300.
    CHECK(f.cp.next_deadline() == 350);
    f.cp.run_timers(349);
    CHECK(f.state_of("marketdata") == health::healthy);
    f.cp.run_timers(350);
    CHECK(f.state_of("marketdata") == health::unhealthy);
    REQUIRE(f.sink.events.size() == 1);
    const auto& h = std::get<schema::node_health>(f.sink.events[0].body);
    CHECK(h.old_state == health::healthy);
    CHECK(h.new_state == health::unhealthy);
    CHECK(h.reason.find("missed heartbeats") != std::string::npos);
    CHECK(h.reason.find("300 ms") != std::string::npos);

    // A heartbeat brings it back.
    f.expect<schema::heartbeat_reply>(fixture::hb("marketdata", md.session_id), 400);
    CHECK(f.state_of("marketdata") == health::healthy);
    // Silent again: unhealthy at 700, gone (stopped) at 400 + gone_after_ms.
    f.cp.run_timers(700);
    CHECK(f.state_of("marketdata") == health::unhealthy);
    CHECK(f.cp.next_deadline() == 1400);
    f.cp.run_timers(1400);
    CHECK(f.state_of("marketdata") == health::stopped);
    CHECK(f.cp.next_deadline() == no_deadline);
    CHECK(f.sink.health_changes().back() == "marketdata: unhealthy -> stopped");
    // The ended session is told to register again.
    f.expect_error(fixture::hb("marketdata", md.session_id), 1500, code::unknown_session);
    CHECK(f.reg("marketdata", 1600).session_id != md.session_id);
    CHECK(f.state_of("marketdata") == health::starting);
}

TEST_CASE("broker control plane: a silent node past both deadlines goes unhealthy then stopped") {
    fixture f;
    f.reg("marketdata", 0);
    f.sink.events.clear();
    f.cp.run_timers(5000);
    CHECK(f.sink.health_changes() == std::vector<std::string>{"marketdata: starting -> unhealthy",
                                                              "marketdata: unhealthy -> stopped"});
}

TEST_CASE("broker control plane: unknown sessions are told to register again") {
    fixture f;
    auto e = f.expect_error(fixture::hb("marketdata", 12345), 0, code::unknown_session);
    CHECK(e.reason.find("register again") != std::string::npos);
    const auto md = f.reg("marketdata", 0);
    f.expect_error(fixture::hb("marketdata", md.session_id + 1), 0, code::unknown_session);
    f.expect_error(fixture::hb("strategy", md.session_id), 0, code::unknown_session);
    schema::deregister_request d{"marketdata", 999};
    f.expect_error(d, 0, code::unknown_session);
}

TEST_CASE("broker control plane: duplicate names, restarts and replaced sessions") {
    fixture f;
    const auto first = f.reg("marketdata", 0, {}, "h1", 100);
    f.expect<schema::heartbeat_reply>(fixture::hb("marketdata", first.session_id), 10);

    // A live name from another host is refused; the live session is untouched.
    auto e = f.expect_error(fixture::register_req("marketdata", {}, "h2", 200), 20,
                            code::duplicate_name);
    CHECK(e.reason.find("\"h1\"") != std::string::npos);
    CHECK(f.state_of("marketdata") == health::healthy);

    // The same host with a new pid is a restart: it replaces the session at once.
    f.sink.events.clear();
    const auto second = f.reg("marketdata", 30, {}, "h1", 101);
    CHECK(second.session_id != first.session_id);
    CHECK(f.sink.health_changes() == std::vector<std::string>{"marketdata: healthy -> starting"});
    // The replaced session learns why (another instance) instead of re-registering in a loop.
    e = f.expect_error(fixture::hb("marketdata", first.session_id), 40, code::duplicate_name);
    CHECK(e.reason.find("pid 101") != std::string::npos);
    f.expect<schema::heartbeat_reply>(fixture::hb("marketdata", second.session_id), 40);

    // Once unhealthy, another host may take the name over.
    f.cp.run_timers(40 + 300);
    CHECK(f.state_of("marketdata") == health::unhealthy);
    const auto third = f.reg("marketdata", 400, {}, "h2", 7);
    CHECK(third.session_id != second.session_id);
    CHECK(f.cp.nodes().find("marketdata")->host == "h2");
}

TEST_CASE("broker control plane: the same process re-registering (a retried REGISTER)") {
    fixture f;
    const auto a = f.reg("marketdata", 0);
    const auto b = f.reg("marketdata", 1);
    CHECK(a.session_id != b.session_id);
    CHECK(f.state_of("marketdata") == health::starting);
    f.expect<schema::heartbeat_reply>(fixture::hb("marketdata", b.session_id), 2);
}

TEST_CASE("broker control plane: deregister publishes stopping then stopped") {
    fixture f;
    const auto md = f.reg("marketdata", 0);
    f.expect<schema::heartbeat_reply>(fixture::hb("marketdata", md.session_id), 10);
    f.sink.events.clear();
    const auto ok =
        f.expect<schema::ok_reply>(schema::deregister_request{"marketdata", md.session_id}, 20);
    CHECK(ok.detail.find("marketdata") != std::string::npos);
    CHECK(f.sink.health_changes() == std::vector<std::string>{"marketdata: healthy -> stopping",
                                                              "marketdata: stopping -> stopped"});
    f.expect_error(schema::deregister_request{"marketdata", md.session_id}, 30,
                   code::unknown_session);
    f.expect_error(fixture::hb("marketdata", md.session_id), 30, code::unknown_session);
    // A dependent is no longer ready.
    const auto st = f.reg("strategy", 40, {});
    CHECK(st.waiting_for == std::vector<std::string>{"marketdata"});
}

TEST_CASE("broker control plane: heartbeat reporting stopping, then silence, ends stopped") {
    fixture f;
    const auto md = f.reg("marketdata", 0);
    f.expect<schema::heartbeat_reply>(fixture::hb("marketdata", md.session_id, health::stopping),
                                      10);
    CHECK(f.state_of("marketdata") == health::stopping);
    f.cp.run_timers(310);
    CHECK(f.state_of("marketdata") == health::stopped);
}

TEST_CASE("broker control plane: a heartbeat may not claim unhealthy or stopped") {
    fixture f;
    const auto md = f.reg("marketdata", 0);
    f.expect_error(fixture::hb("marketdata", md.session_id, health::unhealthy), 10,
                   code::bad_request);
    CHECK(f.state_of("marketdata") == health::starting);
}

TEST_CASE("broker control plane: halt and resume publish the trading state") {
    fixture f;
    auto ok = f.expect<schema::ok_reply>(
        schema::halt_request{.reason = "fat finger", .by = "alice", .symbol = "", .strategy = ""},
        0);
    CHECK(ok.detail == "trading halted (was active)");
    CHECK(f.cp.trading() == schema::trading_state::halted);
    REQUIRE(f.sink.events.size() == 1);
    CHECK(f.sink.events[0].topic == schema::topics::trading);
    const auto& t = std::get<schema::trading_state_changed>(f.sink.events[0].body);
    CHECK(t.state == schema::trading_state::halted);
    CHECK(t.reason == "fat finger");
    CHECK(t.by == "alice");
    CHECK(f.reg("marketdata", 1).trading == schema::trading_state::halted);
    auto status = f.expect<schema::status_reply>(schema::status_request{}, 2);
    CHECK(status.trading == schema::trading_state::halted);
    CHECK(status.trading_reason == "fat finger");

    ok = f.expect<schema::ok_reply>(
        schema::resume_request{.reason = "", .by = "", .symbol = "", .strategy = ""}, 3);
    CHECK(ok.detail == "trading active (was halted)");
    const auto& r = std::get<schema::trading_state_changed>(f.sink.events.back().body);
    CHECK(r.state == schema::trading_state::active);
    CHECK(r.by == "operator");
}

TEST_CASE("broker control plane: cancel is published on sys.cancel, a bad scope is refused") {
    fixture f;
    const auto cmd = [](std::uint64_t id, std::string order, std::string sym, bool all) {
        return schema::cancel_command{id, std::move(order), std::move(sym), all, "", "alice"};
    };
    const auto ok = f.expect<schema::ok_reply>(cmd(5, "risk-1-2-3", "", false), 0);
    CHECK(ok.detail.find("cancel request 5") == 0);
    REQUIRE(f.sink.events.size() == 1);
    CHECK(f.sink.events[0].topic == schema::topics::cancel);
    const auto& c = std::get<schema::cancel_request>(f.sink.events[0].body);
    CHECK(c.request_id == 5);
    CHECK(c.order_id == "risk-1-2-3");
    CHECK(c.by == "alice");
    CHECK(c.reason == "operator cancel");  // the default for an empty reason

    struct row {
        schema::cancel_command c;
        const char* reason;
    };
    const row rows[] = {
        {cmd(6, "", "", false), "give exactly one of order_id, symbol and all (got 0)"},
        {cmd(7, "x", "", true), "exactly one of"},
        {cmd(0, "", "", true), "request_id must not be 0"},
        {cmd(8, "", "BRK.B", false), "symbol is not 1..32 bytes"},
    };
    for (const auto& r : rows) {
        CAPTURE(r.reason);
        const auto e = f.expect_error(r.c, 1, code::bad_request);
        CHECK(e.reason.find(r.reason) != std::string::npos);
    }
    CHECK(f.sink.events.size() == 1);  // nothing published for a refused cancel
}

TEST_CASE("broker control plane: flatten publishes the cancel, then the flatten request") {
    fixture f;
    const auto ok = f.expect<schema::ok_reply>(
        schema::flatten_command{.request_id = 9, .symbol = "AAPL", .reason = "", .by = "alice"}, 0);
    CHECK(ok.detail.find("flatten request 9 for \"AAPL\"") == 0);
    REQUIRE(f.sink.events.size() == 2);
    CHECK(f.sink.events[0].topic == schema::topics::cancel);
    const auto& c = std::get<schema::cancel_request>(f.sink.events[0].body);
    CHECK(c.request_id == 9);
    CHECK(c.symbol == "AAPL");
    CHECK_FALSE(c.all);
    CHECK(c.by == "alice");
    CHECK(c.reason == "flatten: operator flatten");
    CHECK(f.sink.events[1].topic == schema::topics::flatten);
    const auto& r = std::get<schema::flatten_request>(f.sink.events[1].body);
    CHECK(r.request_id == 9);
    CHECK(r.symbol == "AAPL");
    CHECK(r.reason == "operator flatten");

    (void)f.expect<schema::ok_reply>(
        schema::flatten_command{.request_id = 10, .symbol = "", .reason = "eod", .by = ""}, 1);
    REQUIRE(f.sink.events.size() == 4);
    CHECK(std::get<schema::cancel_request>(f.sink.events[2].body).all);
    CHECK(std::get<schema::flatten_request>(f.sink.events[3].body).by == "operator");

    auto e = f.expect_error(
        schema::flatten_command{.request_id = 0, .symbol = "", .reason = "", .by = ""}, 2,
        code::bad_request);
    CHECK(e.reason.find("request_id must not be 0") != std::string::npos);
    e = f.expect_error(
        schema::flatten_command{.request_id = 11, .symbol = "BRK.B", .reason = "", .by = ""}, 3,
        code::bad_request);
    CHECK(e.reason.find("symbol is not 1..32 bytes") != std::string::npos);
    CHECK(f.sink.events.size() == 4);  // nothing published for a refused flatten
}

TEST_CASE("broker control plane: halt and resume are saved before they are answered") {
    scratch_dir dir("cp-trading");
    const trading_store store(dir.file("state/trading.toml"));
    fixture f;
    f.cp.restore_trading(store.load(schema::trading_state::active, 0).record, &store);
    (void)f.expect<schema::ok_reply>(
        schema::halt_request{.reason = "fat finger", .by = "alice", .symbol = "", .strategy = ""},
        0);
    auto saved = store.load(schema::trading_state::active, 0);
    CHECK(saved.restored);
    CHECK(saved.record.state == schema::trading_state::halted);
    CHECK(saved.record.reason == "fat finger");
    CHECK(saved.record.by == "alice");
    (void)f.expect<schema::ok_reply>(
        schema::resume_request{.reason = "", .by = "", .symbol = "", .strategy = ""}, 1);
    saved = store.load(schema::trading_state::halted, 0);
    CHECK(saved.record.state == schema::trading_state::active);
    CHECK(saved.record.by == "operator");
}

TEST_CASE("broker control plane: a symbol or strategy scope is published on its own topic") {
    scratch_dir dir("cp-scopes");
    const trading_store store(dir.file("trading.toml"));
    fixture f;
    f.cp.restore_trading({schema::trading_state::active, "start", "test", 0}, &store);
    auto ok = f.expect<schema::ok_reply>(
        schema::halt_request{.reason = "news", .by = "alice", .symbol = "AAPL", .strategy = ""}, 0);
    CHECK(ok.detail == "trading symbol AAPL halted (was active)");
    ok = f.expect<schema::ok_reply>(schema::halt_request{.reason = "wind down",
                                                         .by = "bob",
                                                         .symbol = "",
                                                         .strategy = "strategy",
                                                         .reduce_only = true},
                                    1);
    CHECK(ok.detail == "trading strategy strategy reducing (was active)");
    CHECK(f.cp.trading() == schema::trading_state::active);  // the desk is untouched
    REQUIRE(f.sink.events.size() == 2);
    CHECK(f.sink.events[0].topic == "sys.trading.symbol.AAPL");
    const auto& a = std::get<schema::trading_state_changed>(f.sink.events[0].body);
    CHECK(a.state == schema::trading_state::halted);
    CHECK(a.symbol == "AAPL");
    CHECK(a.strategy.empty());
    CHECK(a.by == "alice");
    CHECK(f.sink.events[1].topic == "sys.trading.strategy.strategy");
    const auto& b = std::get<schema::trading_state_changed>(f.sink.events[1].body);
    CHECK(b.state == schema::trading_state::reducing);
    CHECK(b.strategy == "strategy");

    // Status lists both; the store keeps both; a new control plane gets them back and
    // republishes them at start.
    const auto status = f.expect<schema::status_reply>(schema::status_request{}, 2);
    REQUIRE(status.trading_scopes.size() == 2);
    CHECK(status.trading_scopes[0].strategy == "strategy");
    CHECK(status.trading_scopes[0].state == schema::trading_state::reducing);
    CHECK(status.trading_scopes[0].reason == "wind down");
    CHECK(status.trading_scopes[1].symbol == "AAPL");
    CHECK(status.trading_scopes[1].by == "alice");
    const auto loaded = store.load(schema::trading_state::halted, 0);
    REQUIRE(loaded.scopes.size() == 2);
    fixture g;
    g.cp.restore_trading(loaded.record, &store, loaded.scopes);
    g.cp.publish_scopes();
    REQUIRE(g.sink.events.size() == 2);
    CHECK(g.sink.events[1].topic == "sys.trading.symbol.AAPL");

    // Resume: published as active, forgotten by the cache, gone from the file.
    ok = f.expect<schema::ok_reply>(
        schema::resume_request{.reason = "", .by = "", .symbol = "AAPL", .strategy = ""}, 3);
    CHECK(ok.detail == "trading symbol AAPL active (was halted)");
    CHECK(f.sink.events.back().topic == "sys.trading.symbol.AAPL");
    CHECK(std::get<schema::trading_state_changed>(f.sink.events.back().body).state ==
          schema::trading_state::active);
    CHECK(f.sink.forgotten == std::vector<std::string>{"sys.trading.symbol.AAPL"});
    CHECK(store.load(schema::trading_state::halted, 0).scopes.size() == 1);
    // Resuming a scope that is not in force changes nothing and says so.
    const auto before = f.sink.events.size();
    ok = f.expect<schema::ok_reply>(
        schema::resume_request{.reason = "", .by = "", .symbol = "MSFT", .strategy = ""}, 4);
    CHECK(ok.detail.find("trading symbol MSFT was not halted or reducing") == 0);
    CHECK(f.sink.events.size() == before);
}

TEST_CASE("broker control plane: a bad scope is refused and changes nothing") {
    fixture f;
    const auto reg = f.reg("strategy2", 0, {});  // registered, not in [pipeline]: known
    (void)reg;
    struct row {
        schema::control_message req;
        std::string_view code;
        const char* reason;
    };
    const row rows[] = {
        {schema::halt_request{.reason = "", .by = "", .symbol = "AAPL", .strategy = "strategy"},
         code::bad_request, "halt: give at most one of symbol and strategy"},
        {schema::halt_request{.reason = "", .by = "", .symbol = "BRK.B", .strategy = ""},
         code::bad_request, "halt: symbol is not 1..32 bytes"},
        {schema::resume_request{.reason = "", .by = "", .symbol = "BRK B", .strategy = ""},
         code::bad_request, "resume: symbol is not 1..32 bytes"},
        {schema::halt_request{.reason = "", .by = "", .symbol = "", .strategy = "Strategy"},
         code::bad_request, "halt: strategy is not a node name"},
        {schema::halt_request{.reason = "", .by = "", .symbol = "", .strategy = "nosuch"},
         code::unknown_node, "no node \"nosuch\" is registered or in the broker's [pipeline]"},
        {schema::halt_request{
             .reason = std::string(1025, 'x'), .by = "", .symbol = "AAPL", .strategy = ""},
         code::bad_request, "reason of 1025 bytes, at most 1024"},
    };
    for (const auto& r : rows) {
        CAPTURE(r.reason);
        const auto e = f.expect_error(r.req, 1, r.code);
        CHECK(e.reason.find(r.reason) != std::string::npos);
    }
    CHECK(f.expect<schema::status_reply>(schema::status_request{}, 2).trading_scopes.empty());
    // A registered node outside [pipeline] is a strategy the broker knows.
    (void)f.expect<schema::ok_reply>(
        schema::halt_request{.reason = "", .by = "", .symbol = "", .strategy = "strategy2"}, 3);
    // The scope table is bounded.
    for (std::size_t i = 1; i < defaults::max_trading_scopes; ++i) {
        (void)f.expect<schema::ok_reply>(
            schema::halt_request{
                .reason = "", .by = "", .symbol = "S" + std::to_string(i), .strategy = ""},
            4);
    }
    const auto e = f.expect_error(
        schema::halt_request{.reason = "", .by = "", .symbol = "ONE_MORE", .strategy = ""}, 5,
        code::too_many_scopes);
    CHECK(e.reason.find("256 symbol and strategy scopes are in force") != std::string::npos);
    // Re-halting a scope in force is no new scope.
    (void)f.expect<schema::ok_reply>(
        schema::halt_request{.reason = "again", .by = "", .symbol = "S1", .strategy = ""}, 6);
}

TEST_CASE(
    "broker control plane: a halt that cannot be saved holds and says so, a resume is refused") {
    scratch_dir dir("cp-trading");
    // A regular file where the state's directory should be: nothing can be saved below it.
    std::ofstream(dir.file("blocker")) << "x";
    const trading_store store(dir.file("blocker/trading.toml"));
    fixture f;
    f.cp.restore_trading({schema::trading_state::active, "test", "test", 0}, &store);
    auto e = f.expect_error(
        schema::halt_request{.reason = "risk event", .by = "bob", .symbol = "", .strategy = ""}, 0,
        code::not_durable);
    CHECK(e.reason.find("trading halted (was active), but not saved") == 0);
    CHECK(f.cp.trading() == schema::trading_state::halted);  // the safe side holds in memory
    REQUIRE(f.sink.events.size() == 1);
    e = f.expect_error(
        schema::resume_request{.reason = "go", .by = "bob", .symbol = "", .strategy = ""}, 1,
        code::not_durable);
    CHECK(f.cp.trading() == schema::trading_state::halted);  // unchanged
    CHECK(f.sink.events.size() == 1);                        // nothing published
}

TEST_CASE("broker control plane: status shows nodes, start order, topics and drops") {
    fixture f;
    f.stats.topics.count("md.tick.AAPL", 10);
    f.stats.topics.count("md.tick.AAPL", 10);
    f.stats.topics.count("md.bar.AAPL", 5);
    f.stats.drop(drop_reason::topic_utf8);
    const auto md = f.reg("marketdata", 0);
    f.expect<schema::heartbeat_reply>(fixture::hb("marketdata", md.session_id), 40);
    schema::status_request req;
    req.max_topics = 1;
    const auto s = f.expect<schema::status_reply>(req, 100);
    CHECK(s.epoch == 77);
    CHECK(s.uptime_ms == 100);
    REQUIRE(s.nodes.size() == 4);  // marketdata + the three configured, never registered
    CHECK(s.nodes[0].name == "execution");
    CHECK(s.nodes[0].state == health::stopped);
    CHECK(s.nodes[0].pid == 0);
    CHECK(s.nodes[1].name == "marketdata");
    CHECK(s.nodes[1].state == health::healthy);
    CHECK(s.nodes[1].last_heartbeat_age_ms == 60);
    CHECK(s.nodes[1].counters.published == 3);
    CHECK(s.nodes[3].name == "strategy");
    CHECK(s.nodes[3].depends_on == std::vector<std::string>{"marketdata"});
    REQUIRE(s.topics.size() == 1);
    CHECK(s.topics[0].topic == "md.tick.AAPL");
    CHECK(s.topics[0].messages == 2);
    CHECK(s.topics[0].bytes == 20);
    CHECK(s.topics_total == 2);
    REQUIRE(s.drops.size() == drop_reason_count);
    for (const auto& d : s.drops) {
        CHECK(d.count == (d.reason == "topic_utf8" ? 1u : 0u));
    }
    req.max_topics = -1;
    f.expect_error(req, 0, code::bad_request);
}

TEST_CASE("broker control plane: malformed frames and misplaced messages get error replies") {
    fixture f;
    struct row {
        std::string frame;
        std::string_view code;
    };
    std::string reply_type;
    schema::encode_control(schema::ok_reply{"x"}, reply_type);
    std::string bad_version = reply_type;
    bad_version[2] = 9;  // {"v": 9, ...}: fixint after the "v" key
    const row rows[] = {
        {"", code::bad_request},
        {"garbage", code::bad_request},
        {std::string("\x81\xa1v\x01", 4), code::bad_request},  // {"v": 1}: no type
        {std::string("\x82\xa1v\x01\xa4type\xa4nope", 14), code::unknown_type},
        {bad_version, code::unsupported_version},
        {reply_type, code::bad_request},  // a reply sent as a request
        {std::string(2 << 20, 'x'), code::bad_request},
    };
    for (const auto& r : rows) {
        CAPTURE(r.frame.substr(0, 16));
        std::string out;
        f.cp.handle_frame(r.frame, 0, out);
        auto decoded = schema::decode_control(out);
        REQUIRE(decoded.ok());
        REQUIRE(std::holds_alternative<schema::error_reply>(decoded.value()));
        const auto& e = std::get<schema::error_reply>(decoded.value());
        CHECK(e.code == r.code);
        CHECK_FALSE(e.reason.empty());
    }
    // Register requests with bad fields.
    f.expect_error(fixture::register_req("bad name"), 0, code::bad_request);
    f.expect_error(fixture::register_req(""), 0, code::bad_request);
    f.expect_error(fixture::register_req("broker"), 0, code::not_allowed);
    f.expect_error(fixture::register_req("x", {}, ""), 0, code::bad_request);
    f.expect_error(fixture::register_req("x", {}, "h", -1), 0, code::bad_request);
    std::string out;
    f.cp.refuse("two frames", out);
    const auto refused = schema::decode_control(out);
    REQUIRE(refused.ok());
    CHECK(std::get<schema::error_reply>(refused.value()).reason == "two frames");
}

TEST_CASE("broker control plane: a fixed-seed random-bytes loop always gets a decodable reply") {
    fixture f;
    std::uint64_t x = 42;
    for (int i = 0; i < 2000; ++i) {
        std::string frame;
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        const std::size_t len = (x >> 33) % 64;
        for (std::size_t k = 0; k < len; ++k) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            frame.push_back(static_cast<char>(x >> 56));
        }
        if (i % 2 == 0 && !frame.empty()) frame[0] = static_cast<char>(0x80 | (len % 16));
        std::string out;
        f.cp.handle_frame(frame, 0, out);
        REQUIRE(schema::decode_control(out).ok());
    }
}

TEST_CASE("broker control plane: services are announced, looked up, listed and forgotten") {
    fixture f;
    const auto j = f.reg("journal", 0);
    f.expect<schema::heartbeat_reply>(fixture::hb("journal", j.session_id), 10);
    f.expect<schema::ok_reply>(
        schema::announce_request{"journal", j.session_id, "journal", "tcp://127.0.0.1:4000"}, 20);
    const auto found = f.expect<schema::lookup_reply>(schema::lookup_request{"journal"}, 30);
    CHECK(found.endpoint == "tcp://127.0.0.1:4000");
    CHECK(found.node == "journal");
    CHECK(found.healthy);
    const auto listed = f.expect<schema::services_reply>(schema::services_request{}, 30);
    REQUIRE(listed.services.size() == 1);
    CHECK(listed.services[0].state == health::healthy);

    // Bad announcements: another session, a malformed name or endpoint.
    f.expect_error(schema::announce_request{"journal", j.session_id + 1, "journal", "tcp://x:1"},
                   40, code::unknown_session);
    f.expect_error(schema::announce_request{"journal", j.session_id, "Jour nal", "tcp://x:1"}, 40,
                   code::bad_request);
    f.expect_error(schema::announce_request{"journal", j.session_id, "journal", "localhost"}, 40,
                   code::bad_request);
    f.expect_error(schema::lookup_request{"nothing"}, 40, code::unknown_service);
    // journal_query belongs to the journal, not the broker.
    f.expect_error(schema::journal_query{}, 40, code::not_allowed);

    // A new registration of the node replaces the session: its old endpoint is forgotten...
    const auto j2 = f.reg("journal", 50, {}, "h1", 101);
    f.expect_error(schema::lookup_request{"journal"}, 60, code::unknown_service);
    // ...until it announces again; a deregister forgets it too.
    f.expect<schema::ok_reply>(
        schema::announce_request{"journal", j2.session_id, "journal", "tcp://127.0.0.1:4001"}, 70);
    CHECK(f.expect<schema::lookup_reply>(schema::lookup_request{"journal"}, 80).endpoint ==
          "tcp://127.0.0.1:4001");
    CHECK_FALSE(f.expect<schema::lookup_reply>(schema::lookup_request{"journal"}, 80).healthy);
    f.expect<schema::ok_reply>(schema::deregister_request{"journal", j2.session_id}, 90);
    f.expect_error(schema::lookup_request{"journal"}, 100, code::unknown_service);
    CHECK(f.expect<schema::services_reply>(schema::services_request{}, 100).services.empty());

    // The deregistered session cannot announce any more: it would take a live node's service.
    const auto r = f.reg("recorder", 110);
    f.expect<schema::heartbeat_reply>(fixture::hb("recorder", r.session_id), 110);
    f.expect<schema::ok_reply>(
        schema::announce_request{"recorder", r.session_id, "journal", "tcp://127.0.0.1:4002"}, 120);
    f.expect_error(
        schema::announce_request{"journal", j2.session_id, "journal", "tcp://127.0.0.1:4003"}, 130,
        code::unknown_session);
    const auto kept = f.expect<schema::lookup_reply>(schema::lookup_request{"journal"}, 140);
    CHECK(kept.node == "recorder");
    CHECK(kept.endpoint == "tcp://127.0.0.1:4002");
}

TEST_CASE("broker control plane: what one register may hold is bounded, the reason says which") {
    fixture f;
    struct over {
        std::string_view what;
        std::function<void(schema::register_request&)> make;
        std::string_view reason;
    };
    const over cases[] = {
        {"too many publishes",
         [](auto& r) { r.publishes.assign(defaults::max_registration_prefixes + 1, "md."); },
         "publishes: expected at most 256 entries, got 257"},
        {"too many subscribes",
         [](auto& r) { r.subscribes.assign(defaults::max_registration_prefixes + 1, "md."); },
         "subscribes: expected at most 256 entries, got 257"},
        {"a prefix longer than any topic",
         [](auto& r) {
             r.subscribes = {"md.", std::string(256, 'x')};
         },
         "subscribes[1]: expected at most 255 bytes, got 256"},
        {"a long host", [](auto& r) { r.host = std::string(257, 'h'); },
         "host: expected at most 256 bytes, got 257"},
        {"too many bytes in all",
         [](auto& r) {
             r.publishes.assign(100, std::string(100, 'p'));
             r.subscribes.assign(100, std::string(100, 's'));
         },
         "register: expected at most 16384 bytes"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.what);
        auto r = fixture::register_req("marketdata");
        c.make(r);
        const auto e = f.expect_error(r, 0, code::bad_request);
        CHECK(e.reason.find(c.reason) != std::string::npos);
        CHECK(f.cp.nodes().find("marketdata") == nullptr);  // nothing changed
    }
    // At the limits exactly: accepted.
    auto r = fixture::register_req("marketdata");
    r.publishes.assign(defaults::max_registration_prefixes, "md.tick.");
    r.subscribes = {std::string(255, 's')};
    (void)f.expect<schema::register_reply>(r, 0);
}

TEST_CASE("broker control plane: a re-register replaces the lists, and gives their memory back") {
    fixture f;
    auto r = fixture::register_req("marketdata");
    r.publishes.assign(200, std::string(60, 'p'));
    (void)f.expect<schema::register_reply>(r, 0);
    CHECK(f.cp.nodes().find("marketdata")->publishes.size() == 200);
    r.publishes.clear();
    (void)f.expect<schema::register_reply>(r, 10);
    CHECK(f.cp.nodes().find("marketdata")->publishes.capacity() == 0);
}

TEST_CASE("broker control plane: a full node table still admits every [pipeline] node") {
    fixture f;
    // Live names not in [pipeline] fill the table (they heartbeat: nothing ages out).
    for (std::size_t i = 0; i < defaults::max_nodes; ++i) {
        auto r = fixture::register_req("junk" + std::to_string(i));
        r.heartbeat_interval_ms = defaults::max_heartbeat_interval_ms;
        (void)f.expect<schema::register_reply>(r, 0);
    }
    const auto e = f.expect_error(fixture::register_req("junk-more"), 1, code::not_allowed);
    CHECK(e.reason.find("node table full") != std::string::npos);
    // A node of the desk's pipeline is never locked out by them.
    (void)f.reg("marketdata", 2);
    (void)f.reg("risk", 2, {"marketdata"});
    CHECK(f.cp.nodes().size() == defaults::max_nodes + 2);
    // Once a junk name goes silent it is declared gone (stopped) and makes room.
    f.cp.run_timers(10 * defaults::max_heartbeat_interval_ms);
    (void)f.reg("junk-more", 10 * defaults::max_heartbeat_interval_ms + 1);
}

TEST_CASE("broker control plane: recorder_ack and recorder_resume only from the recorder client") {
    fixture f;
    const auto j = f.reg("journal", 0);
    // No recorder link configured: both refused.
    CHECK(f.expect_error(schema::recorder_ack{"journal", j.session_id, 77, 0}, 1, code::not_allowed)
              .reason.find("no recorder link") != std::string::npos);

    zmq::context_t ctx;
    data_stats rec_stats(16);
    recorder rec(ctx, 10, rec_stats, 77, 100, 1 << 20);
    f.cp.set_recorder(&rec, "journal");
    const auto s = f.reg("strategy", 2, {"marketdata"});
    CHECK(f.expect_error(schema::recorder_resume{"strategy", s.session_id, 77, 0}, 3,
                         code::not_allowed)
              .reason.find("only the recorder client \"journal\"") != std::string::npos);
    (void)f.expect_error(schema::recorder_resume{"journal", j.session_id + 1, 77, 0}, 4,
                         code::unknown_session);
    CHECK(f.expect_error(schema::recorder_ack{"journal", j.session_id, 78, 0}, 5, code::bad_request)
              .reason.find("recorder_ack: epoch 78 is not this broker's (77)") !=
          std::string::npos);
    const auto ok = f.expect<schema::recorder_resume_reply>(
        schema::recorder_resume{"journal", j.session_id, 77, 0}, 6);
    CHECK(ok.epoch == 77);
    CHECK(ok.first == 1);
    CHECK(ok.missing == 0);
    CHECK(ok.next == 1);  // nothing offered to this recorder yet
    (void)f.expect<schema::ok_reply>(schema::recorder_ack{"journal", j.session_id, 77, 0}, 7);
}
