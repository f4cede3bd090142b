// Node runtime pieces that need no broker: gap accounting, [node]/[broker] config checks, and
// the Lazy Pirate control client against an in-process peer that never answers.
#include <doctest/doctest.h>
#include <toml++/toml.h>

#include "tradebus/common/process.hpp"
#include "tradebus/runtime/control_client.hpp"
#include "tradebus/runtime/gap_tracker.hpp"
#include "tradebus/runtime/node_config.hpp"

using namespace tradebus;
using runtime::gap_tracker;

TEST_CASE("runtime: gap tracker counts missing sequence numbers per source and topic") {
    gap_tracker g;
    CHECK(g.observe("md", "md.tick.AAPL", 1, 7).what == gap_tracker::outcome::first);
    CHECK(g.observe("md", "md.tick.AAPL", 2, 7).what == gap_tracker::outcome::in_order);
    // Another topic of the same source has its own sequence: no false gap.
    CHECK(g.observe("md", "md.bar.AAPL", 1, 7).what == gap_tracker::outcome::first);
    const auto gap = g.observe("md", "md.tick.AAPL", 6, 7);
    CHECK(gap.what == gap_tracker::outcome::gap);
    CHECK(gap.missing == 3);
    CHECK(gap.expected == 3);
    CHECK(g.gaps() == 3);
    CHECK(g.observe("md", "md.tick.AAPL", 7, 7).what == gap_tracker::outcome::in_order);
    CHECK(g.gaps() == 3);
}

TEST_CASE("runtime: gap tracker treats seq 1 as a publisher restart and a repeat as duplicate") {
    gap_tracker g;
    g.observe("risk", "risk.approved.SPY", 10, 7);
    CHECK(g.observe("risk", "risk.approved.SPY", 1, 7).what == gap_tracker::outcome::restart);
    CHECK(g.observe("risk", "risk.approved.SPY", 2, 7).what == gap_tracker::outcome::in_order);
    CHECK(g.observe("risk", "risk.approved.SPY", 2, 7).what == gap_tracker::outcome::duplicate);
    CHECK(g.gaps() == 0);
}

TEST_CASE("runtime: gap tracker tells a restarted source by its incarnation, at any seq") {
    gap_tracker g;
    CHECK(g.observe("md", "md.tick.AAPL", 1, 7).what == gap_tracker::outcome::first);
    CHECK(g.observe("md", "md.tick.AAPL", 3, 7).what == gap_tracker::outcome::gap);  // 1 lost
    // md restarted (incarnation 8); the subscriber missed its first four: a new baseline,
    // neither a gap (by seq alone: 3 -> 5) nor a duplicate.
    const auto restarted = g.observe("md", "md.tick.AAPL", 5, 8);
    CHECK(restarted.what == gap_tracker::outcome::restart);
    CHECK(restarted.expected == 4);
    CHECK(g.observe("md", "md.tick.AAPL", 6, 8).what == gap_tracker::outcome::in_order);
    // Restarted again, seen from seq 2 while the last was 6: by seq alone, a duplicate.
    CHECK(g.observe("md", "md.tick.AAPL", 2, 9).what == gap_tracker::outcome::restart);
    CHECK(g.observe("md", "md.tick.AAPL", 5, 9).what == gap_tracker::outcome::gap);  // 2 lost
    CHECK(g.observe("md", "md.tick.AAPL", 5, 9).what == gap_tracker::outcome::duplicate);
    CHECK(g.gaps() == 3);  // exactly the events missing within each incarnation
}

TEST_CASE("runtime: gap tracker memory is bounded by max_streams") {
    gap_tracker g(2);
    g.observe("a", "t", 1, 7);
    g.observe("b", "t", 1, 7);
    CHECK(g.observe("c", "t", 1, 7).what == gap_tracker::outcome::untracked);
    CHECK(g.streams() == 2);
    CHECK(g.untracked() == 1);
}

namespace {
struct loaded {
    runtime::node_config cfg;
    std::vector<std::string> errors;
};
loaded load(std::string_view text, std::string_view kind = "risk") {
    common::config_errors errors("node.toml");
    auto table = toml::parse(text);
    common::section root(&table, "", errors);
    loaded out;
    out.cfg = runtime::read_node_config(root, kind);
    root.table(kind);
    root.finish();
    out.errors = errors.lines();
    return out;
}
bool has_error(const loaded& l, std::string_view needle) {
    for (const auto& e : l.errors) {
        if (e.find(needle) != std::string::npos) return true;
    }
    return false;
}
}  // namespace

TEST_CASE("runtime: a valid node config loads with defaults") {
    auto l = load(R"(
[node]
kind = "risk"
name = "risk-1"
depends_on = ["execution"]
[broker]
control_endpoint = "tcp://127.0.0.1:5552"
)");
    CHECK(l.errors.empty());
    CHECK(l.cfg.name == "risk-1");
    CHECK(l.cfg.depends_on == std::vector<std::string>{"execution"});
    CHECK(l.cfg.heartbeat_interval_ms == runtime::defaults::heartbeat_interval_ms);
    CHECK(l.cfg.xsub_endpoint.empty());
    CHECK_FALSE(l.cfg.start_fresh);  // recover from the journal unless told otherwise
    CHECK(l.cfg.recovery_retry_ms == runtime::defaults::recovery_retry_ms);
    CHECK(l.cfg.executable.empty());  // the launcher execs tradebus-<kind> next to itself
}

TEST_CASE("runtime: [node] executable, the launcher's, is accepted as an absolute path") {
    auto l = load(R"(
[node]
kind = "risk"
name = "risk-1"
executable = "/opt/desk/bin/tradebus-risk"
[broker]
control_endpoint = "tcp://127.0.0.1:5552"
)");
    CHECK(l.errors.empty());
    CHECK(l.cfg.executable == "/opt/desk/bin/tradebus-risk");
}

TEST_CASE("runtime: node config errors name the file, line, key and what was expected") {
    struct row {
        const char* text;
        const char* expected;
    };
    const row rows[] = {
        {"[node]\nkind='risk'\n[broker]\ncontrol_endpoint='tcp://127.0.0.1:1'\n",
         "node.name: missing required key"},
        {"[node]\nkind='strategy'\nname='x'\n[broker]\ncontrol_endpoint='tcp://127.0.0.1:1'\n",
         "node.toml:2:6: node.kind: this is the tradebus-risk executable"},
        {"[node]\nkind='risk'\nname='Bad Name'\n[broker]\ncontrol_endpoint='tcp://127.0.0.1:1'\n",
         "node.toml:3:6: node.name: expected 1..64 bytes of [a-z0-9_-]"},
        {"[node]\nkind='risk'\nname='r'\nheartbeat_interval_ms=5\n[broker]\ncontrol_endpoint='tcp:/"
         "/"
         "127.0.0.1:1'\n",
         "node.toml:4:23: node.heartbeat_interval_ms: expected an integer in [10, 60000], got 5"},
        {"[node]\nkind='risk'\nname='r'\n[broker]\ncontrol_endpoint='localhost'\n",
         "node.toml:5:18: broker.control_endpoint: expected a ZeroMQ endpoint"},
        {"[node]\nkind='risk'\nname='r'\nheartbeat_interval='x'\n[broker]\ncontrol_endpoint='tcp://"
         "127.0.0.1:1'\n",
         "node.toml:4:1: node.heartbeat_interval: unknown key (did you mean "
         "\"heartbeat_interval_ms\"?)"},
        {"[node]\nkind='risk'\nname='r'\ndepends_on=['r']\n[broker]\ncontrol_endpoint='tcp://"
         "127.0.0.1:1'\n",
         "node.depends_on: a node cannot depend on itself"},
        {"[node]\nkind='risk'\nname='r'\n", "broker: missing required table [broker]"},
        {"[node]\nkind='risk'\nname='r'\nstart_fresh='yes'\n[broker]\ncontrol_endpoint='tcp://"
         "127.0.0.1:1'\n",
         "node.toml:4:13: node.start_fresh: expected true or false, got \"yes\""},
        {"[node]\nkind='risk'\nname='r'\nrecovery_retry_ms=0\n[broker]\ncontrol_endpoint='tcp:/"
         "/127.0.0.1:1'\n",
         "node.recovery_retry_ms: expected an integer in [10, 600000], got 0"},
        {"[node]\nkind='risk'\nname='r'\nexecutable='bin/"
         "tradebus-risk'\n[broker]\ncontrol_endpoint="
         "'tcp://127.0.0.1:1'\n",
         "node.toml:4:12: node.executable: expected an absolute path to the node's executable, "
         "e.g. \"/usr/local/bin/tradebus-risk\", got \"bin/tradebus-risk\""},
        {"[node]\nkind='risk'\nname='r'\nexecutable=7\n[broker]\ncontrol_endpoint='tcp://"
         "127.0.0.1:1'\n",
         "node.toml:4:12: node.executable: expected a string"},
    };
    for (const auto& r : rows) {
        const std::string text = r.text;
        CAPTURE(text);
        const auto l = load(r.text);
        std::string all;
        for (const auto& e : l.errors) all += e + "\n";
        CAPTURE(all);
        CHECK(has_error(l, r.expected));
    }
}

TEST_CASE("runtime: control client gives up on a silent broker and can send again") {
    zmq::context_t ctx;
    zmq::socket_t silent(ctx, zmq::socket_type::router);  // receives, never replies
    silent.set(zmq::sockopt::linger, 0);
    silent.bind("inproc://silent-broker");
    runtime::control_client client(ctx, "inproc://silent-broker", std::chrono::milliseconds(50));

    // Blocking form: returns nullopt after the timeout instead of hanging.
    CHECK_FALSE(client.request("hello").has_value());
    CHECK_FALSE(client.busy());

    // Asynchronous form: expire() resets the socket so a second request can be sent at once
    // (a plain REQ socket would refuse with EFSM).
    const auto now = common::mono_ms();
    client.send("one", now);
    CHECK(client.busy());
    CHECK_FALSE(client.expire(now));
    CHECK(client.expire(now + 51));
    CHECK_FALSE(client.busy());
    client.send("two", now + 51);
    CHECK(client.busy());
}

TEST_CASE("runtime: control client returns the reply of a live peer") {
    zmq::context_t ctx;
    zmq::socket_t rep(ctx, zmq::socket_type::rep);
    rep.set(zmq::sockopt::linger, 0);
    rep.bind("inproc://live-broker");
    runtime::control_client client(ctx, "inproc://live-broker", std::chrono::milliseconds(2000));
    client.send("ping", common::mono_ms());
    zmq::message_t req;
    REQUIRE(rep.recv(req));
    CHECK(req.to_string() == "ping");
    rep.send(zmq::buffer(std::string_view("pong")));
    zmq::pollitem_t item{client.socket().handle(), 0, ZMQ_POLLIN, 0};
    REQUIRE(zmq::poll(&item, 1, std::chrono::milliseconds(2000)) == 1);
    auto reply = client.receive();
    REQUIRE(reply.has_value());
    CHECK(*reply == "pong");
    CHECK_FALSE(client.busy());
}
