// The broker's control plane over real sockets: registration with dependencies, refusals,
// liveness published on the bus, restarts, halt/resume (issue: broker tests).
#include <doctest/doctest.h>
#include <unistd.h>

#include "broker_process.hpp"
#include "bus_clients.hpp"
#include "temp_dir.hpp"
#include "tradebus/schema/topics.hpp"

using namespace tradebus;
using namespace tradebus::test;
using schema::health;
namespace code = schema::error_code;

namespace {

const char* const desk_pipeline = R"(
[pipeline.marketdata]
[pipeline.risk]
depends_on = ["marketdata"]
[pipeline.execution]
depends_on = ["risk"]
[pipeline.strategy]
depends_on = ["marketdata", "risk"]
)";

schema::register_request register_req(const std::string& name, std::vector<std::string> deps = {}) {
    schema::register_request r;
    r.name = name;
    r.kind = name;
    r.host = "test-host";
    r.version = "test";
    r.pid = ::getpid();
    r.depends_on = std::move(deps);
    return r;
}

schema::heartbeat_request heartbeat(const std::string& name, std::uint64_t session,
                                    health state = health::healthy) {
    schema::heartbeat_request h;
    h.name = name;
    h.session_id = session;
    h.state = state;
    return h;
}

// A node_health event for `node` with new state `to`, from a message on the bus.
bool is_health(const bus_message& m, std::string_view node, health to) {
    if (m.topic != schema::topics::node_health) return false;
    auto ev = m.event();
    if (!ev) return false;
    const auto* h = std::get_if<schema::node_health>(&ev->body);
    return h != nullptr && h->node == node && h->new_state == to;
}

}  // namespace

TEST_CASE("broker: register with dependencies -> waiting, ready, start order") {
    zmq::context_t ctx;
    temp_dir dir;
    // Each node heartbeats once: a 10 s interval keeps it healthy for the whole test however
    // slow this machine or build is (the default 100 ms would let it go unhealthy under load).
    broker_process broker(
        ctx, dir, {.pipeline_toml = desk_pipeline, .interval_ms = 10'000, .gone_after_ms = 60'000});
    control_client c(ctx, broker.control);

    auto exec = c.call<schema::register_reply>(register_req("execution"));
    CHECK_FALSE(exec.ready);
    CHECK(exec.waiting_for == std::vector<std::string>{"risk"});
    CHECK(exec.xsub_endpoint == broker.xsub);
    CHECK(exec.xpub_endpoint == broker.xpub);
    CHECK(exec.heartbeat_interval_ms == 10'000);  // the broker's, as none was asked for
    CHECK(exec.liveness == 3);

    auto strat = c.call<schema::register_reply>(register_req("strategy"));
    CHECK(strat.waiting_for == std::vector<std::string>{"marketdata", "risk"});
    auto risk = c.call<schema::register_reply>(register_req("risk"));
    CHECK(risk.waiting_for == std::vector<std::string>{"marketdata"});
    auto md = c.call<schema::register_reply>(register_req("marketdata"));
    CHECK(md.ready);
    CHECK(md.epoch == exec.epoch);

    // Registered is not enough: a dependency must be healthy (or degraded).
    auto hb = c.call<schema::heartbeat_reply>(heartbeat("strategy", strat.session_id));
    CHECK_FALSE(hb.ready);
    CHECK(hb.waiting_for == std::vector<std::string>{"marketdata", "risk"});
    c.call<schema::heartbeat_reply>(heartbeat("marketdata", md.session_id));
    hb = c.call<schema::heartbeat_reply>(heartbeat("strategy", strat.session_id));
    CHECK(hb.waiting_for == std::vector<std::string>{"risk"});
    c.call<schema::heartbeat_reply>(heartbeat("risk", risk.session_id, health::degraded));
    hb = c.call<schema::heartbeat_reply>(heartbeat("strategy", strat.session_id));
    CHECK(hb.ready);
    CHECK(hb.waiting_for.empty());
    hb = c.call<schema::heartbeat_reply>(heartbeat("execution", exec.session_id));
    CHECK(hb.ready);

    const auto status = broker.status();
    CHECK(status.start_order ==
          std::vector<std::string>{"marketdata", "risk", "execution", "strategy"});
    REQUIRE(status.nodes.size() == 4);
    for (const auto& n : status.nodes) {
        CAPTURE(n.name);
        CHECK(n.pid == ::getpid());
        CHECK(n.host == "test-host");
        CHECK(n.state == (n.name == "risk" ? health::degraded : health::healthy));
    }
}

TEST_CASE("broker: cycle and unknown-dependency refusals name the culprit") {
    zmq::context_t ctx;
    temp_dir dir;
    broker_process broker(ctx, dir, {.pipeline_toml = desk_pipeline});
    control_client c(ctx, broker.control);

    auto e = c.call_error(register_req("strategy", {"marketdata", "rsik"}));
    CHECK(e.code == code::unknown_dependency);
    CHECK(e.reason.find("\"rsik\"") != std::string::npos);

    e = c.call_error(register_req("marketdata", {"strategy"}));
    CHECK(e.code == code::dependency_cycle);
    CHECK(e.reason.find("marketdata -> strategy -> marketdata") != std::string::npos);

    e = c.call_error(register_req("marketdata", {"execution"}));
    CHECK(e.code == code::dependency_cycle);
    CHECK(e.reason.find("marketdata -> execution -> risk -> marketdata") != std::string::npos);

    // Nothing was registered by the refusals; the broker keeps serving.
    const auto status = broker.status();
    for (const auto& n : status.nodes) CHECK(n.state == health::stopped);
    CHECK(c.call<schema::register_reply>(register_req("marketdata")).ready);
}

TEST_CASE("broker: a node that stops heartbeating is published unhealthy, then recovers") {
    zmq::context_t ctx;
    temp_dir dir;
    broker_process broker(ctx, dir, {.pipeline_toml = desk_pipeline});
    control_client c(ctx, broker.control);
    subscriber sub(ctx, broker.xpub, {std::string(schema::topics::node_health), "test.probe"});
    publisher pub(ctx, broker.xsub);
    wait_until_flowing(pub, sub, "test.probe");

    const auto md = c.call<schema::register_reply>(register_req("marketdata"));
    const auto risk = c.call<schema::register_reply>(register_req("risk"));
    c.call<schema::heartbeat_reply>(heartbeat("marketdata", md.session_id));
    REQUIRE(sub.recv_until(
        [](const auto& m) { return is_health(m, "marketdata", health::healthy); }, 10s));

    // marketdata goes silent after this heartbeat; risk keeps heartbeating every interval.
    const auto silent_from = std::chrono::steady_clock::now();
    c.call<schema::heartbeat_reply>(heartbeat("marketdata", md.session_id));
    std::optional<bus_message> unhealthy;
    const auto deadline = silent_from + 10s;
    auto next_risk_hb = silent_from;
    while (!unhealthy && std::chrono::steady_clock::now() < deadline) {
        if (std::chrono::steady_clock::now() >= next_risk_hb) {
            c.call<schema::heartbeat_reply>(heartbeat("risk", risk.session_id));
            next_risk_hb += 100ms;
        }
        auto m = sub.recv(20ms);
        if (!m) continue;
        CHECK_FALSE(is_health(*m, "risk", health::unhealthy));
        if (is_health(*m, "marketdata", health::unhealthy)) unhealthy = m;
    }
    REQUIRE_MESSAGE(unhealthy, "no unhealthy event for marketdata within 10 s");
    const auto after = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - silent_from);
    // Never before liveness x interval (less 1 ms: the broker's clock counts whole ms); the
    // upper bound (liveness x interval + one interval) is a timing property checked exactly in
    // the unit tests with a fake clock, so here it only warns.
    CHECK(after.count() >= 299);
    WARN_LE(after.count(), 400 + 200);
    const auto ev = unhealthy->event();
    REQUIRE(ev);
    CHECK(ev->env.src == "broker");
    const auto& h = std::get<schema::node_health>(ev->body);
    CHECK(h.old_state == health::healthy);
    CHECK(h.kind == "marketdata");
    CHECK(h.reason.find("missed heartbeats") != std::string::npos);

    // A heartbeat brings it back, published too.
    c.call<schema::heartbeat_reply>(heartbeat("marketdata", md.session_id));
    CHECK(sub.recv_until([](const auto& m) { return is_health(m, "marketdata", health::healthy); },
                         10s));

    // Deregister: stopping then stopped, and the session is over.
    c.call<schema::ok_reply>(schema::deregister_request{"marketdata", md.session_id});
    CHECK(sub.recv_until([](const auto& m) { return is_health(m, "marketdata", health::stopping); },
                         10s));
    CHECK(sub.recv_until([](const auto& m) { return is_health(m, "marketdata", health::stopped); },
                         10s));
    CHECK(c.call_error(heartbeat("marketdata", md.session_id)).code == code::unknown_session);
}

TEST_CASE("broker: after a restart an old session is told to re-register") {
    zmq::context_t ctx;
    temp_dir dir;
    broker_process broker(ctx, dir, {.pipeline_toml = desk_pipeline});
    std::uint64_t old_session = 0, old_epoch = 0;
    {
        control_client c(ctx, broker.control);
        const auto md = c.call<schema::register_reply>(register_req("marketdata"));
        old_session = md.session_id;
        old_epoch = md.epoch;
        c.call<schema::heartbeat_reply>(heartbeat("marketdata", md.session_id));
    }
    CHECK(broker.stop() == 0);
    broker.start();  // same config, same endpoints

    control_client c(ctx, broker.control);
    const auto e = c.call_error(heartbeat("marketdata", old_session));
    CHECK(e.code == code::unknown_session);
    CHECK(e.reason.find("register again") != std::string::npos);
    CHECK(c.call_error(schema::deregister_request{"marketdata", old_session}).code ==
          code::unknown_session);
    const auto again = c.call<schema::register_reply>(register_req("marketdata"));
    CHECK(again.epoch != old_epoch);
    CHECK(again.session_id != old_session);
    CHECK(broker.status().epoch == again.epoch);
}

TEST_CASE("broker: a restarted node on the same host replaces its old session at once") {
    zmq::context_t ctx;
    temp_dir dir;
    broker_process broker(ctx, dir, {.pipeline_toml = desk_pipeline});
    control_client c(ctx, broker.control);
    auto first = register_req("risk");
    first.pid = 1000;
    const auto one = c.call<schema::register_reply>(first);
    // Another host may not take a live name.
    auto other = register_req("risk");
    other.host = "other-host";
    const auto dup = c.call_error(other);
    CHECK(dup.code == code::duplicate_name);
    CHECK(dup.reason.find("test-host") != std::string::npos);
    // The same host with a new pid (systemd restarted it) gets a new session at once.
    auto restarted = register_req("risk");
    restarted.pid = 1001;
    const auto two = c.call<schema::register_reply>(restarted);
    CHECK(two.session_id != one.session_id);
    // The old process, if it still runs, learns it was replaced.
    CHECK(c.call_error(heartbeat("risk", one.session_id)).code == code::duplicate_name);
    c.call<schema::heartbeat_reply>(heartbeat("risk", two.session_id, health::starting));
}

TEST_CASE("broker: halt and resume change the trading state and publish sys.trading") {
    zmq::context_t ctx;
    temp_dir dir;
    broker_process broker(ctx, dir);
    control_client c(ctx, broker.control);
    subscriber sub(ctx, broker.xpub, {std::string(schema::topics::trading), "test.probe"});
    publisher pub(ctx, broker.xsub);
    wait_until_flowing(pub, sub, "test.probe");

    const auto ok = c.call<schema::ok_reply>(
        schema::halt_request{.reason = "test halt", .by = "ci", .symbol = "", .strategy = ""});
    CHECK(ok.detail.find("halted") != std::string::npos);
    auto m = sub.recv_until([](const auto& x) { return x.topic == schema::topics::trading; }, 10s);
    REQUIRE(m);
    auto ev = m->event();
    REQUIRE(ev);
    const auto& t = std::get<schema::trading_state_changed>(ev->body);
    CHECK(t.state == schema::trading_state::halted);
    CHECK(t.reason == "test halt");
    CHECK(t.by == "ci");
    CHECK(broker.status().trading == schema::trading_state::halted);
    CHECK(c.call<schema::register_reply>(register_req("sniffer")).trading ==
          schema::trading_state::halted);

    c.call<schema::ok_reply>(
        schema::resume_request{.reason = "", .by = "", .symbol = "", .strategy = ""});
    m = sub.recv_until([](const auto& x) { return x.topic == schema::topics::trading; }, 10s);
    REQUIRE(m);
    CHECK(std::get<schema::trading_state_changed>(m->event()->body).state ==
          schema::trading_state::active);
    CHECK(broker.status().trading == schema::trading_state::active);
}
