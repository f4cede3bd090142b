// The broker's config loader: the shipped file is valid, and each bad config produces its
// `file:line:col: key: ...` line (a table, as nats config_check_test.go).
#include <doctest/doctest.h>

#include <string>

#include "tradebus/broker/config.hpp"
#include "tradebus/broker/defaults.hpp"
#include "tradebus/common/config.hpp"
#include "tradebus/schema/topics.hpp"

using namespace tradebus::broker;
using tradebus::common::config_error;

namespace {
// The repository root, from this file's path (CMake compiles it by absolute path).
std::string source_dir() {
    const std::string file = __FILE__;
    return file.substr(0, file.rfind("/tests/unit/"));
}

std::string errors_of(const std::string& toml) {
    try {
        (void)parse_config(toml, "broker.toml");
    } catch (const config_error& e) {
        return e.what();
    }
    return {};
}
}  // namespace

TEST_CASE("broker config: an empty file gives every default") {
    const auto cfg = parse_config("", "broker.toml");
    CHECK(cfg.name == defaults::name);
    CHECK(cfg.endpoints.xsub == defaults::xsub_endpoint);
    CHECK(cfg.endpoints.xpub == defaults::xpub_endpoint);
    CHECK(cfg.endpoints.control == defaults::control_endpoint);
    CHECK(cfg.endpoints.xsub_advertised.empty());
    CHECK(cfg.data.sndhwm == defaults::sndhwm);
    CHECK(cfg.data.max_message_bytes == static_cast<std::size_t>(defaults::max_message_bytes));
    CHECK(cfg.data.topic_idle_s == defaults::topic_idle_s);
    CHECK(cfg.data.max_subscriptions == static_cast<std::size_t>(defaults::max_subscriptions));
    CHECK(cfg.heartbeat.interval_ms == defaults::heartbeat_interval_ms);
    CHECK(cfg.heartbeat.liveness == defaults::liveness);
    CHECK(cfg.pipeline.empty());
    CHECK(cfg.metrics.listen.empty());  // off unless configured
    CHECK(cfg.lvc.prefixes == std::vector<std::string>{"md.tick.", "md.bar.", "risk.limits."});
    CHECK(cfg.lvc.max_topics == static_cast<std::size_t>(defaults::lvc_max_topics));
    CHECK(cfg.lvc.max_bytes == static_cast<std::size_t>(defaults::lvc_max_bytes));
    CHECK(cfg.trading.state_file.empty());
    CHECK(cfg.trading.missing_state == tradebus::schema::trading_state::halted);  // fail safe
    CHECK(cfg.recorder.retain_messages ==
          static_cast<std::size_t>(defaults::recorder_retain_messages));
    CHECK(cfg.recorder.retain_bytes == static_cast<std::size_t>(defaults::recorder_retain_bytes));
    CHECK(cfg.recorder.client == "journal");
}

TEST_CASE("broker config: the shipped config/broker.toml is valid") {
    const auto cfg = load_config(source_dir() + "/config/broker.toml");
    CHECK(cfg.pipeline.size() >= 4);
    CHECK(cfg.heartbeat.liveness == defaults::liveness);
}

TEST_CASE("broker config: a full file is read into the struct") {
    const auto cfg = parse_config(R"(
[broker]
name = "hub"
log_level = "debug"
[endpoints]
xsub = "ipc:///tmp/x.sock"
xpub = "tcp://*:6001"
control = "tcp://127.0.0.1:6002"
xpub_advertised = "tcp://10.0.0.5:6001"
[data]
sndhwm = 5
rcvhwm = 6
max_message_bytes = 2048
max_topics_tracked = 7
topic_idle_s = 9
max_subscriptions = 11
[heartbeat]
interval_ms = 100
liveness = 4
gone_after_ms = 500
[pipeline.b]
depends_on = ["a"]
[pipeline.a]
)",
                                  "broker.toml");
    CHECK(cfg.name == "hub");
    CHECK(cfg.endpoints.xsub == "ipc:///tmp/x.sock");
    CHECK(cfg.endpoints.xpub_advertised == "tcp://10.0.0.5:6001");
    CHECK(cfg.data.sndhwm == 5);
    CHECK(cfg.data.rcvhwm == 6);
    CHECK(cfg.data.max_message_bytes == 2048);
    CHECK(cfg.data.max_topics_tracked == 7);
    CHECK(cfg.data.topic_idle_s == 9);
    CHECK(cfg.data.max_subscriptions == 11);
    CHECK(cfg.heartbeat.gone_after_ms == 500);
    REQUIRE(cfg.pipeline.size() == 2);
    CHECK(cfg.pipeline[0].name == "a");
    CHECK(cfg.pipeline[0].depends_on.empty());
    CHECK(cfg.pipeline[1].depends_on == std::vector<std::string>{"a"});
}

TEST_CASE("broker config: each bad config names file, line, key and what was expected") {
    struct row {
        const char* toml;
        const char* expect;  // a substring of the error text
    };
    const row rows[] = {
        {"[broker]\nnmae = \"x\"\n",
         "broker.toml:2:1: broker.nmae: unknown key (did you mean \"name\"?)"},
        {"[brokr]\nname = \"x\"\n",
         "broker.toml:1:2: brokr: unknown key (did you mean \"broker\"?)"},
        {"[broker]\nname = 5\n", "broker.toml:2:8: broker.name: expected a string, got 5"},
        {"[broker]\nname = \"a b\"\n", "broker.toml:2:8: broker.name: expected a node name"},
        {"[broker]\nlog_level = \"loud\"\n",
         "broker.toml:2:13: broker.log_level: expected one of trace|debug|info"},
        {"[endpoints]\nxsub = \"localhost\"\n",
         "broker.toml:2:8: endpoints.xsub: expected a ZeroMQ endpoint (tcp://host:port or "
         "ipc://path): missing transport"},
        {"[endpoints]\nxpub = \"tcp://127.0.0.1:70000\"\n",
         "broker.toml:2:8: endpoints.xpub: expected a ZeroMQ endpoint (tcp://host:port or "
         "ipc://path): port must be 1..65535 or *, got \"tcp://127.0.0.1:70000\""},
        {"[endpoints]\ncontrol = \"inproc://x\"\n",
         "broker.toml:2:11: endpoints.control: expected a ZeroMQ endpoint"},
        {"[endpoints]\nxsub = \"tcp://127.0.0.1:1\"\nxpub = \"tcp://127.0.0.1:1\"\n",
         "broker.toml:3:8: endpoints.xpub: expected an endpoint other than endpoints.xsub"},
        {"[endpoints]\nrecorder = \"tcp://127.0.0.1:5551\"\n",
         "broker.toml:2:12: endpoints.recorder: expected an endpoint other than endpoints.xsub, "
         "xpub and control, got \"tcp://127.0.0.1:5551\""},
        {"[endpoints]\nrecorder = \"inproc://rec\"\n",
         "broker.toml:2:12: endpoints.recorder: expected a ZeroMQ endpoint"},
        {"[endpoints]\nxsub_advertised = \"tcp://*:5550\"\n",
         "broker.toml:2:19: endpoints.xsub_advertised: expected an endpoint a node can connect "
         "to"},
        {"[data]\nsndhwm = \"big\"\n",
         "broker.toml:2:10: data.sndhwm: expected an integer, got \"big\""},
        {"[data]\nmax_subscriptions = 0\n",
         "broker.toml:2:21: data.max_subscriptions: expected an integer in [1, 1000000], got 0"},
        {"[data]\ntopic_idle_s = 0\n",
         "broker.toml:2:16: data.topic_idle_s: expected an integer in [1, 604800], got 0"},
        {"[data]\nsndhwm = 0\n",
         "broker.toml:2:10: data.sndhwm: expected an integer in [1, 10000000], got 0"},
        {"[data]\nmax_message_bytes = 1.5\n",
         "broker.toml:2:21: data.max_message_bytes: expected an integer, got 1.5"},
        {"[metrics]\nlisten = \"ipc:///tmp/m\"\n",
         "broker.toml:2:10: metrics.listen: expected tcp://host:port (e.g. "
         "\"tcp://127.0.0.1:9464\"), got \"ipc:///tmp/m\""},
        {"[metrics]\nlisten = \"tcp://127.0.0.1:*\"\n", "metrics.listen: expected tcp://host:port"},
        {"[metrics]\nlisten = \"tcp://127.0.0.1:0\"\n", "metrics.listen: expected tcp://host:port"},
        {"[metrics]\nlisten = \"tcp://127.0.0.1:5552\"\n",
         "broker.toml:2:10: metrics.listen: expected an address no [endpoints] entry uses"},
        {"[metrics]\nlisten = 9464\n",
         "broker.toml:2:10: metrics.listen: expected a string, got 9464"},
        {"[metrics]\nlisen = \"x\"\n", "metrics.lisen: unknown key (did you mean \"listen\"?)"},
        {"[lvc]\nprefixes = [\"\"]\n",
         "broker.toml:2:12: lvc.prefixes: expected topic prefixes of 1..255 bytes, got \"\""},
        {"[lvc]\nmax_topics = 0\n",
         "broker.toml:2:14: lvc.max_topics: expected an integer in [1, 10000000], got 0"},
        {"[lvc]\nmax_bytes = 10\n", "lvc.max_bytes: expected an integer in [1024, "},
        {"[recorder]\nretain_messages = -1\n",
         "broker.toml:2:19: recorder.retain_messages: expected an integer in [0, 100000000], got "
         "-1"},
        {"[recorder]\nretain_bytes = \"1G\"\n", "recorder.retain_bytes: expected an integer"},
        {"[recorder]\nclient = \"Journal\"\n",
         "broker.toml:2:10: recorder.client: expected a node name"},
        {"[trading]\nmissing_state = \"reducing\"\n",
         "broker.toml:2:17: trading.missing_state: expected one of"},
        {"[trading]\nstate_file = 5\n",
         "broker.toml:2:14: trading.state_file: expected a string, got 5"},
        {"[trading]\nstatefile = \"x\"\n",
         "trading.statefile: unknown key (did you mean \"state_file\"?)"},
        {"[heartbeat]\nliveness = 0\n",
         "broker.toml:2:12: heartbeat.liveness: expected an integer in [1, 100], got 0"},
        {"[heartbeat]\ninterval_ms = 1000\nliveness = 3\ngone_after_ms = 3000\n",
         "broker.toml:4:17: heartbeat.gone_after_ms: expected more than interval_ms x liveness "
         "(3000 ms), got 3000"},
        {"[heartbeat]\ninterval = 5\n",
         "broker.toml:2:1: heartbeat.interval: unknown key (did you mean \"interval_ms\"?)"},
        {"[pipeline.a]\ndepends_on = [\"b\"]\n",
         "broker.toml:2:14: pipeline.a.depends_on: expected names of [pipeline] nodes, got \"b\""},
        {"[pipeline.risk]\n[pipeline.exec]\ndepends_on = [\"rsik\"]\n",
         "pipeline.exec.depends_on: expected names of [pipeline] nodes, got \"rsik\" (did you mean "
         "\"risk\"?)"},
        {"[pipeline.a]\ndepends_on = [\"b\"]\n[pipeline.b]\ndepends_on = "
         "[\"c\"]\n[pipeline.c]\ndepends_on = [\"a\"]\n",
         "broker.toml:2:14: pipeline.a.depends_on: expected no dependency cycle, got a -> b -> c "
         "-> a"},
        {"[pipeline.a]\ndepends_on = [\"a\"]\n",
         "pipeline.a.depends_on: expected no dependency cycle, got a -> a"},
        {"[pipeline.a]\ndepends_on = \"b\"\n",
         "broker.toml:2:14: pipeline.a.depends_on: expected an array of strings, got \"b\""},
        {"[pipeline.a]\ndepend_on = []\n",
         "broker.toml:2:1: pipeline.a.depend_on: unknown key (did you mean \"depends_on\"?)"},
        {"[pipeline]\na = [\"b\"]\n",
         "broker.toml:2:5: pipeline.a: expected a table, got an array"},
        {"[pipeline.\"a b\"]\n", "pipeline.a b: expected a node name"},
        {"[broker\nname = 1\n", "broker.toml:1:8: (syntax):"},
    };
    for (const auto& r : rows) {
        CAPTURE(r.toml);
        const std::string got = errors_of(r.toml);
        CAPTURE(got);
        CHECK(got.find(r.expect) != std::string::npos);
    }
}

TEST_CASE("broker config: every error is reported at once") {
    const std::string got = errors_of(
        "[broker]\nname = 1\n[data]\nsndhwm = -1\n[heartbeat]\nliveness = \"x\"\nbogus = 1\n");
    CHECK(got.find("broker.name") != std::string::npos);
    CHECK(got.find("data.sndhwm") != std::string::npos);
    CHECK(got.find("heartbeat.liveness") != std::string::npos);
    CHECK(got.find("heartbeat.bogus: unknown key") != std::string::npos);
    CHECK(got.find("4 config errors in broker.toml") != std::string::npos);
}

TEST_CASE("broker config: a missing file is an error, not a default") {
    try {
        (void)load_config("/nonexistent/broker.toml");
        FAIL("expected config_error");
    } catch (const config_error& e) {
        CHECK(std::string(e.what()).find("/nonexistent/broker.toml: (file): cannot open") !=
              std::string::npos);
    }
}

TEST_CASE("node names: one rule for the broker, the nodes and the CLI") {
    using tradebus::schema::topics::valid_node_name;
    CHECK(valid_node_name("risk"));
    CHECK(valid_node_name("strategy-aapl_2"));
    CHECK(valid_node_name(std::string(64, 'a')));
    CHECK_FALSE(valid_node_name(""));
    CHECK_FALSE(valid_node_name(std::string(65, 'a')));
    CHECK_FALSE(valid_node_name("a b"));
    CHECK_FALSE(valid_node_name("a/b"));
    CHECK_FALSE(valid_node_name("caf\xc3\xa9"));
    // A dot would split the sys.probe.<node> token; upper case would break lower-case topics.
    CHECK_FALSE(valid_node_name("strategy.b"));
    CHECK_FALSE(valid_node_name("Risk"));
    // The broker's config and control plane refuse what the nodes' config refuses.
    CHECK_THROWS_WITH_AS((void)parse_config("[broker]\nname = \"Broker.1\"\n", "broker.toml"),
                         doctest::Contains("expected a node name (1..64 bytes of [a-z0-9_-])"),
                         config_error);
}
