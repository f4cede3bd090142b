// CURVE security against a real tradebus-broker: ZAP refuses unknown keys (they can neither
// subscribe nor publish, and the refusal is logged and counted), plaintext clients get nothing,
// topic ACLs drop (count, report) what a node may not publish while its allowed topics flow,
// the control plane only lets a key register as its own name and only operators halt, and a
// real node runs secured from its [security] table.
#include <doctest/doctest.h>

#include <map>
#include <thread>

#include "broker_process.hpp"
#include "bus_clients.hpp"
#include "pipeline.hpp"
#include "process_guard.hpp"
#include "temp_dir.hpp"
#include "tradebus/common/curve.hpp"
#include "tradebus/schema/topics.hpp"

using namespace tradebus;
using namespace tradebus::test;
using namespace std::chrono_literals;

namespace {

// Key pairs for one test: the broker, the listed clients risk and ops (an operator), and a
// stranger whose key the broker does not know.
struct secured_broker {
    secured_broker(zmq::context_t& ctx, const temp_dir& dir)
        : broker_keys(make(dir, "broker")),
          risk(client(dir, "risk")),
          ops(client(dir, "ops")),
          stranger(client(dir, "stranger")),
          broker(ctx, dir, settings(dir)) {}

    static common::curve_key_pair make(const temp_dir& dir, const std::string& name) {
        const auto pair = common::generate_key_pair();
        (void)common::write_key_files(dir.file("keys").string(), name, pair, false);
        return pair;
    }
    common::curve_client client(const temp_dir& dir, const std::string& name) const {
        const auto pair = make(dir, name);
        return {broker_keys.public_key, pair.public_key, pair.secret_key};
    }
    broker_settings settings(const temp_dir& dir) const {
        const std::string keys = dir.file("keys").string();
        broker_settings s;
        s.extra_toml = "[security]\ncurve = true\nsecret_key_file = \"" + keys +
                       "/broker.key\"\n"
                       "[[security.client]]\nname = \"risk\"\npublic_key_file = \"" +
                       keys + "/risk.pub\"\npublish = [\"risk.\"]\n" +
                       "[[security.client]]\nname = \"marketdata\"\npublic_key_file = \"" + keys +
                       "/marketdata.pub\"\npublish = [\"md.\"]\n" +
                       "[[security.client]]\nname = \"bench\"\npublic_key_file = \"" + keys +
                       "/bench.pub\"\npublish = [\"bench.\"]\n" +
                       "[[security.client]]\nname = \"ops\"\npublic_key = \"" + ops.public_key +
                       "\"\noperator = true\n";
        s.keys = ops;
        return s;
    }

    common::curve_key_pair broker_keys;
    common::curve_client risk, ops, stranger;
    broker_process broker;
};

std::uint64_t drops(const schema::status_reply& s, std::string_view reason) {
    for (const auto& d : s.drops) {
        if (d.reason == reason) return d.count;
    }
    FAIL("no drop reason " << reason << " in status");
    return 0;
}

// Polls status until drops[reason] >= at_least; fails after `timeout`.
std::uint64_t wait_drops(broker_process& b, std::string_view reason, std::uint64_t at_least,
                         std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::uint64_t n = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        n = drops(b.status(), reason);
        if (n >= at_least) return n;
        std::this_thread::sleep_for(20ms);
    }
    FAIL("drops[" << reason << "] stayed at " << n << ", expected >= " << at_least);
    return n;
}

// Keys must exist before the broker reads its config: make marketdata's pair up front.
struct keyed_dir {
    temp_dir dir;
    common::curve_key_pair marketdata = secured_broker::make(dir, "marketdata");
    common::curve_key_pair bench = secured_broker::make(dir, "bench");
};

}  // namespace

TEST_CASE("security: an unknown key can neither subscribe nor publish and is logged and counted") {
    zmq::context_t ctx;
    keyed_dir k;
    secured_broker s(ctx, k.dir);
    publisher risk_pub(ctx, s.broker.xsub, s.risk);
    subscriber ops_sub(ctx, s.broker.xpub, {"risk."}, s.ops);
    (void)wait_until_flowing(risk_pub, ops_sub, "risk.flow");

    subscriber stranger_sub(ctx, s.broker.xpub, {""}, s.stranger);
    publisher stranger_pub(ctx, s.broker.xsub, s.stranger);
    const std::uint64_t refused = wait_drops(s.broker, "unknown_key", 2);
    CHECK(refused >= 2);

    // Traffic the stranger would see, and traffic it tries to inject.
    for (int i = 0; i < 20; ++i) {
        risk_pub.send("risk.approved.AAPL", sample_tick("AAPL", static_cast<std::uint64_t>(i)));
        stranger_pub.send("risk.approved.FAKE", sample_tick("FAKE", 1));
    }
    int approved = 0;
    while (auto m = ops_sub.recv(1s)) {
        CHECK(m->topic != "risk.approved.FAKE");
        if (m->topic == "risk.approved.AAPL") ++approved;
        if (approved == 20) break;
    }
    CHECK(approved == 20);
    CHECK_FALSE(stranger_sub.recv(500ms).has_value());
    CHECK_FALSE(ops_sub.recv(300ms).has_value());  // nothing from the stranger arrived late

    const std::string log = s.broker.process().log();
    CHECK(log.find("refused CURVE client from 127.0.0.1: public key " + s.stranger.public_key +
                   " is not in [[security.client]]") != std::string::npos);
    for (const auto* secret : {&s.broker_keys.secret_key, &s.risk.secret_key, &s.ops.secret_key,
                               &s.stranger.secret_key}) {
        CHECK(log.find(*secret) == std::string::npos);
    }
    CHECK(log.find(s.broker_keys.public_key) != std::string::npos);  // the banner names it
}

TEST_CASE("security: a plaintext client gets nothing from a CURVE broker") {
    zmq::context_t ctx;
    keyed_dir k;
    secured_broker s(ctx, k.dir);
    publisher risk_pub(ctx, s.broker.xsub, s.risk);
    subscriber ops_sub(ctx, s.broker.xpub, {"risk."}, s.ops);
    (void)wait_until_flowing(risk_pub, ops_sub, "risk.flow");

    subscriber plain_sub(ctx, s.broker.xpub, {""});
    publisher plain_pub(ctx, s.broker.xsub);
    control_client plain_control(ctx, s.broker.control);
    CHECK_FALSE(plain_control.request(schema::status_request{}, 1s).has_value());
    for (int i = 0; i < 20; ++i) {
        risk_pub.send("risk.approved.AAPL", sample_tick("AAPL", static_cast<std::uint64_t>(i)));
        plain_pub.send("risk.approved.PLAIN", sample_tick("PLAIN", 1));
    }
    int approved = 0;
    while (auto m = ops_sub.recv(1s)) {
        CHECK(m->topic != "risk.approved.PLAIN");
        if (m->topic == "risk.approved.AAPL" && ++approved == 20) break;
    }
    CHECK(approved == 20);
    CHECK_FALSE(plain_sub.recv(500ms).has_value());
    // The same request with the operator's keys is answered: the broker was there all along.
    control_client keyed(ctx, s.broker.control, s.ops);
    CHECK(keyed.call<schema::status_reply>(schema::status_request{}).epoch != 0);
}

TEST_CASE("security: a topic outside the ACL is dropped, counted and reported, allowed ones flow") {
    zmq::context_t ctx;
    keyed_dir k;
    secured_broker s(ctx, k.dir);
    publisher risk_pub(ctx, s.broker.xsub, s.risk);
    subscriber ops_sub(ctx, s.broker.xpub, {"risk.", "exec.", "sys.acl.", "sys.probe.ops"}, s.ops);
    (void)wait_until_flowing(risk_pub, ops_sub, "risk.flow");
    const std::uint64_t before = drops(s.broker.status(), "acl");
    CHECK(before == 0);

    constexpr int n = 20;
    for (int i = 0; i < n; ++i) {
        risk_pub.send("exec.fill.AAPL", sample_tick("AAPL", static_cast<std::uint64_t>(i)));
        risk_pub.send("risk.approved.AAPL", sample_tick("AAPL", static_cast<std::uint64_t>(i)));
    }
    risk_pub.send("sys.probe.ops", sample_tick("AAPL", 1));  // another node's probe: refused
    risk_pub.send("risk.approved.LAST", sample_tick("AAPL", 1));
    int approved = 0;
    std::optional<schema::acl_violation> violation;
    bool last = false;
    while (auto m = ops_sub.recv(2s)) {
        CHECK(m->topic != "exec.fill.AAPL");
        CHECK(m->topic != "sys.probe.ops");
        if (m->topic == "risk.approved.AAPL") ++approved;
        if (m->topic == schema::topics::acl_violation) {
            auto ev = m->event();
            REQUIRE(ev.has_value());
            CHECK(ev->env.src == "broker");
            if (!violation) violation = std::get<schema::acl_violation>(ev->body);
        }
        if (m->topic == "risk.approved.LAST") last = true;
        if (last && violation) break;
    }
    CHECK(approved == n);
    REQUIRE(violation.has_value());
    CHECK(violation->node == "risk");
    CHECK(violation->topic == "exec.fill.AAPL");
    CHECK(violation->dropped == 1);  // the first one is reported at once, the rest rate-limited
    // Everything before risk.approved.LAST went through the broker before it: exact count.
    CHECK(drops(s.broker.status(), "acl") == n + 1);
    CHECK(s.broker.process().log().find("dropped message from risk on topic \"exec.fill.AAPL\"") !=
          std::string::npos);
}

TEST_CASE("security: a burst of 100 ACL violations is fully accounted for in sys.acl.violation") {
    zmq::context_t ctx;
    keyed_dir k;
    secured_broker s(ctx, k.dir);
    publisher risk_pub(ctx, s.broker.xsub, s.risk);
    // Subscribed to exec. too, so risk's PUB sends what it may not publish (ZeroMQ filters at
    // the publisher).
    subscriber ops_sub(ctx, s.broker.xpub, {"risk.", "exec.", "sys.acl."}, s.ops);
    (void)wait_until_flowing(risk_pub, ops_sub, "risk.flow");

    constexpr std::uint64_t n = 100;
    for (std::uint64_t i = 0; i < n; ++i) risk_pub.send("exec.fill.AAPL", sample_tick("AAPL", i));
    // Nothing else is sent: the violations suppressed after the first report must still be
    // reported, by a summary once the rate limit's second has passed.
    std::uint64_t reported = 0;
    int events = 0;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (reported < n && std::chrono::steady_clock::now() < deadline) {
        auto m = ops_sub.recv(200ms);
        if (!m || m->topic != schema::topics::acl_violation) continue;
        auto ev = m->event();
        REQUIRE(ev.has_value());
        const auto v = std::get<schema::acl_violation>(ev->body);
        CHECK(v.node == "risk");
        CHECK(v.topic == "exec.fill.AAPL");
        reported += v.dropped;
        ++events;
    }
    CHECK(reported == n);
    CHECK(events >= 2);  // the first at once, the rest rate-limited into a summary
    CHECK(drops(s.broker.status(), "acl") == n);
}

TEST_CASE("security: register as a foreign name and halt from a non-operator are refused") {
    zmq::context_t ctx;
    keyed_dir k;
    secured_broker s(ctx, k.dir);
    control_client risk(ctx, s.broker.control, s.risk);
    schema::register_request reg;
    reg.name = "execution";
    reg.kind = "execution";
    reg.host = "h";
    reg.pid = 1;
    const auto foreign = risk.call_error(reg);
    CHECK(foreign.code == schema::error_code::not_allowed);
    CHECK(foreign.reason.find("this client's CURVE key is \"risk\"'s") != std::string::npos);
    reg.name = "risk";
    reg.kind = "risk";
    CHECK(risk.call<schema::register_reply>(reg).session_id != 0);

    const auto halt = risk.call_error(
        schema::halt_request{.reason = "fake", .by = "risk", .symbol = "", .strategy = ""});
    CHECK(halt.code == schema::error_code::not_allowed);
    CHECK(halt.reason.find("not an operator") != std::string::npos);
    CHECK(risk.call<schema::status_reply>(schema::status_request{}).trading ==
          schema::trading_state::active);

    control_client ops(ctx, s.broker.control, s.ops);
    (void)ops.call<schema::ok_reply>(
        schema::halt_request{.reason = "drill", .by = "ops", .symbol = "", .strategy = ""});
    CHECK(s.broker.status().trading == schema::trading_state::halted);
}

TEST_CASE("security: a real node runs secured from its [security] table") {
    zmq::context_t ctx;
    keyed_dir k;
    secured_broker s(ctx, k.dir);
    const std::string keys = k.dir.file("keys").string();
    subscriber ops_sub(ctx, s.broker.xpub, {"md.tick."}, s.ops);
    const auto config = k.dir.write(
        "marketdata.toml",
        "[node]\nkind = \"marketdata\"\nname = \"marketdata\"\nheartbeat_interval_ms = 100\n"
        "[broker]\ncontrol_endpoint = \"" +
            s.broker.control +
            "\"\nrequest_timeout_ms = 500\nretry_max_ms = 500\n"
            "[security]\nbroker_public_key_file = \"" +
            keys + "/broker.pub\"\nkey_file = \"" + keys +
            "/marketdata.key\"\n"
            "[marketdata]\nsource = \"synthetic\"\n"
            "[marketdata.synthetic]\nrate_per_sec = 50.0\nseed = 7\n"
            "[marketdata.synthetic.symbols.AAPL]\nstart_px = 171.0\n");
    process_guard node(node_executable("marketdata"), {"--config", config.string()},
                       k.dir.file("marketdata.log"));
    // Healthy means registered under its own name and its probe came back through the ACL.
    const auto deadline = std::chrono::steady_clock::now() + 15s;
    bool healthy = false;
    while (!healthy && std::chrono::steady_clock::now() < deadline) {
        for (const auto& n : s.broker.status().nodes) {
            healthy = healthy || (n.name == "marketdata" && n.state == schema::health::healthy);
        }
        if (!healthy) std::this_thread::sleep_for(50ms);
    }
    REQUIRE_MESSAGE(healthy, node.log());
    const auto tick = ops_sub.recv(5s);
    REQUIRE(tick.has_value());
    CHECK(tick->topic == "md.tick.AAPL");
    CHECK(drops(s.broker.status(), "acl") == 0);
    CHECK(node.log().find(k.marketdata.secret_key) == std::string::npos);
}

TEST_CASE("security: the whole pipeline runs secured, trades end to end, nothing is refused") {
    zmq::context_t ctx;
    temp_dir dir;
    pipeline p(ctx, dir, 200, true);
    subscriber all(ctx, p.broker.xpub, {"exec.fill.", "sys.acl."}, p.observer);
    const std::map<std::string, std::string> own = {
        {"journal",
         "[journal]\ndir = \"" + dir.file("journal").string() + "\"\nfsync = \"none\"\n"},
        {"marketdata",
         "[marketdata]\nsource = \"synthetic\"\n[marketdata.synthetic]\nrate_per_sec = 100.0\n"
         "seed = 7\n[marketdata.synthetic.symbols.AAPL]\nstart_px = 171.0\n"},
        {"execution", "[execution]\nslippage_bps = 1.0\n"},
        {"risk",
         "[risk]\nallowed_symbols = [\"AAPL\"]\nmax_order_qty = 100\nmax_position = 300\n"
         "max_gross_notional = 1000000.0\nmax_orders_per_sec = 5\nprice_band_bps = 100.0\n"},
        {"strategy",
         "[strategy]\ntrade_symbols = [\"AAPL\"]\nsignal_every_tick = true\n"
         "order_qty = 20\n"},
    };
    for (const auto& kind : pipeline_kinds) {
        p.configure(kind, own.at(kind));
        p.start(kind);
    }
    (void)p.wait_healthy(pipeline_kinds, 30s);
    auto fill = all.recv(10s);
    REQUIRE_MESSAGE(fill.has_value(), "no fill through the secured pipeline");
    CHECK(fill->topic == "exec.fill.AAPL");
    const auto status = p.broker.status();
    CHECK(drops(status, "acl") == 0);
    CHECK(drops(status, "unknown_key") == 0);
    for (const auto& kind : pipeline_kinds) CHECK(p.stop(kind) == 0);
}

TEST_CASE("security: the tradebus CLI talks to a CURVE broker with --key-file only") {
    zmq::context_t ctx;
    keyed_dir k;
    secured_broker s(ctx, k.dir);
    const std::string keys = k.dir.file("keys").string();
    const auto plain = run_to_exit(TRADEBUS_EXE_TRADEBUS,
                                   {"status", "--control", s.broker.control, "--timeout", "0.5"},
                                   k.dir.file("cli-plain.log"));
    CHECK(plain.status == 1);
    CHECK(plain.output.find("a CURVE broker answers only --key-file clients") != std::string::npos);
    const auto keyed =
        run_to_exit(TRADEBUS_EXE_TRADEBUS,
                    {"halt", "--control", s.broker.control, "--reason", "cli drill", "--key-file",
                     keys + "/ops.key", "--broker-key-file", keys + "/broker.pub"},
                    k.dir.file("cli-keyed.log"));
    CHECK_MESSAGE(keyed.status == 0, keyed.output);
    CHECK(s.broker.status().trading == schema::trading_state::halted);
    const auto refused = run_to_exit(TRADEBUS_EXE_TRADEBUS,
                                     {"resume", "--control", s.broker.control, "--key-file",
                                      keys + "/risk.key", "--broker-key", s.broker_keys.public_key},
                                     k.dir.file("cli-risk.log"));
    CHECK(refused.status == 1);
    CHECK(refused.output.find("not an operator") != std::string::npos);
    CHECK(s.broker.status().trading == schema::trading_state::halted);
}

TEST_CASE("security: tradebus bench measures a CURVE broker with a listed key, not without") {
    zmq::context_t ctx;
    keyed_dir k;
    secured_broker s(ctx, k.dir);
    const std::string keys = k.dir.file("keys").string();
    const std::vector<std::string> endpoints{"bench",       "--json",        "--xsub",
                                             s.broker.xsub, "--xpub",        s.broker.xpub,
                                             "--control",   s.broker.control};
    auto plain_args = endpoints;
    plain_args.insert(plain_args.end(), {"--timeout", "0.5"});
    const auto plain =
        run_to_exit(TRADEBUS_EXE_TRADEBUS, plain_args, k.dir.file("bench-plain.log"));
    CHECK(plain.status == 1);
    CHECK(plain.output.find("a CURVE broker answers only --key-file clients") != std::string::npos);

    auto keyed_args = endpoints;
    keyed_args.insert(keyed_args.end(),
                      {"--count", "2000", "--rate", "2000", "--latency-count", "200", "--key-file",
                       keys + "/bench.key", "--broker-key-file", keys + "/broker.pub"});
    const auto keyed =
        run_to_exit(TRADEBUS_EXE_TRADEBUS, keyed_args, k.dir.file("bench-keyed.log"));
    REQUIRE_MESSAGE(keyed.status == 0, keyed.output);
    CHECK(keyed.output.find("\"sent\":2000") != std::string::npos);
    CHECK(keyed.output.find("\"received\":2000") != std::string::npos);
    CHECK(keyed.output.find("\"lost\":0") != std::string::npos);
    CHECK(keyed.output.find("\"answered\":200") != std::string::npos);
    // Its traffic stayed inside its ACL: nothing it sent was dropped.
    CHECK(drops(s.broker.status(), "acl") == 0);
}
