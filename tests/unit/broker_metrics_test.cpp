// The broker's Prometheus exposition (broker/metrics.cpp): the text format itself (HELP/TYPE,
// escaping) and the families rendered from a real control plane and data counters.
#include <doctest/doctest.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tradebus/broker/control_plane.hpp"
#include "tradebus/broker/last_value_cache.hpp"
#include "tradebus/broker/metrics.hpp"
#include "tradebus/schema/codec.hpp"

using namespace tradebus;
using namespace tradebus::broker;

namespace {

class null_sink : public event_sink {
  public:
    void publish(std::string_view, const schema::payload&) override {}
};

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

bool has_line(const std::string& text, const std::string& line) {
    for (const auto& l : lines_of(text)) {
        if (l == line) return true;
    }
    return false;
}

}  // namespace

TEST_CASE("metrics: label values escape backslash, double quote and line feed") {
    std::string out;
    exposition::escape_label_value("a\\b\"c\nd", out);
    CHECK(out == "a\\\\b\\\"c\\nd");
    out.clear();
    exposition::escape_help("x\\y\nz \"q\"", out);
    CHECK(out == "x\\\\y\\nz \"q\"");  // HELP keeps double quotes

    exposition e;
    e.family("t_total", "counter", "Help with \\ and\nnewline.");
    e.sample("t_total", {{"topic", "md.\"x\"\n"}, {"b", "\\"}}, std::uint64_t{42});
    e.sample("t_total", {}, 1.5);
    CHECK(e.text() ==
          "# HELP t_total Help with \\\\ and\\nnewline.\n"
          "# TYPE t_total counter\n"
          "t_total{topic=\"md.\\\"x\\\"\\n\",b=\"\\\\\"} 42\n"
          "t_total 1.5\n");
}

TEST_CASE("metrics: every family has HELP and TYPE before its samples, with the broker's numbers") {
    spdlog::set_level(spdlog::level::off);
    const broker_config cfg = parse_config(R"(
[heartbeat]
interval_ms = 100
liveness = 3
gone_after_ms = 1000
[pipeline.risk]
[pipeline.marketdata]
)",
                                           "test.toml");
    null_sink sink;
    data_stats stats(2);  // two topics of their own, then "*other*"
    control_plane cp(cfg, 99, sink, stats, 1000);

    stats.received = 7;
    stats.forwarded = 5;
    stats.topics.count("md.tick.AAPL", 100);
    stats.topics.count("md.tick.AAPL", 50);
    stats.topics.count("we\"ird\\topic", 10);
    stats.topics.count("md.tick.MSFT", 30);  // beyond the cap
    stats.drop(drop_reason::oversized);
    stats.drop(drop_reason::oversized);
    stats.subscriptions = 3;
    // The recorder link: two finished stalls (700 ms) and one stalled since 2500 ms.
    stats.recorder.enabled = true;
    stats.recorder.stalls = 3;
    stats.recorder.stalled_ms = 700;
    stats.recorder.stalled_since_ms = 2500;
    stats.recorder.held = 4;
    stats.recorder.overflow = 2;
    stats.recorder.seq = 90;
    stats.recorder.acked = 80;
    stats.risk_states["risk"] = {.state = schema::trading_state::reducing, .by_operator = false};

    // One node registered and heartbeating its counters, then it misses its heartbeats.
    std::string in, out;
    schema::register_request reg;
    reg.name = "risk";
    reg.kind = "risk";
    reg.host = "h";
    reg.pid = 1;
    schema::encode_control(reg, in);
    cp.handle_frame(in, 1000, out);
    const auto reply = schema::decode_control(out);
    REQUIRE(reply.ok());
    const auto session = std::get<schema::register_reply>(reply.value()).session_id;
    schema::heartbeat_request hb;
    hb.name = "risk";
    hb.session_id = session;
    hb.counters = {.published = 11,
                   .received = 22,
                   .gaps = 3,
                   .decode_errors = 4,
                   .queue_depth = 5,
                   .misrouted = 0,
                   .cpu_ms = 1250,
                   .rss_bytes = 8 << 20,
                   .open_fds = 17};
    schema::encode_control(hb, in);
    cp.handle_frame(in, 1100, out);
    cp.handle_frame("\xc1garbage", 1100, out);
    cp.run_timers(1100 + 301);  // 3 x 100 ms without a heartbeat: unhealthy
    schema::encode_control(
        schema::halt_request{
            .reason = "", .by = "", .symbol = "AAPL", .strategy = "", .reduce_only = true},
        in);
    cp.handle_frame(in, 1100, out);
    schema::encode_control(
        schema::halt_request{.reason = "", .by = "", .symbol = "", .strategy = "risk"}, in);
    cp.handle_frame(in, 1100, out);

    last_value_cache lvc({"md."}, 10, 4096);
    lvc.update("md.tick.AAPL", "body");
    metrics_http_stats http;
    http.ok = 2;

    exposition e;
    render_metrics({stats, cp, "broker", &lvc, &http}, 3000, e);
    const std::string& text = e.text();

    // Structure: each sample's family was announced by HELP then TYPE just before its samples.
    std::set<std::string> helped, typed;
    std::string current;
    for (const auto& line : lines_of(text)) {
        REQUIRE_FALSE(line.empty());
        if (line.rfind("# HELP ", 0) == 0) {
            current = line.substr(7, line.find(' ', 7) - 7);
            CHECK_MESSAGE(helped.insert(current).second, "family announced twice: " << current);
        } else if (line.rfind("# TYPE ", 0) == 0) {
            CHECK(line.substr(7, line.find(' ', 7) - 7) == current);
            typed.insert(current);
        } else {
            const std::string name = line.substr(0, line.find_first_of("{ "));
            CHECK_MESSAGE(name == current, "sample " << line << " outside its family");
            CHECK(name.rfind("tradebus_", 0) == 0);
        }
    }
    CHECK(helped == typed);

    CHECK(has_line(text, "# TYPE tradebus_messages_received_total counter"));
    CHECK(has_line(text, "tradebus_messages_received_total 7"));
    CHECK(has_line(text, "tradebus_messages_forwarded_total 5"));
    CHECK(has_line(text, "tradebus_broker_uptime_seconds 2"));
    CHECK(has_line(text, "tradebus_topic_messages_total{topic=\"md.tick.AAPL\"} 2"));
    CHECK(has_line(text, "tradebus_topic_bytes_total{topic=\"md.tick.AAPL\"} 150"));
    CHECK(has_line(text, "tradebus_topic_messages_total{topic=\"we\\\"ird\\\\topic\"} 1"));
    CHECK(has_line(text, "tradebus_topic_messages_total{topic=\"*other*\"} 1"));
    CHECK(has_line(text, "tradebus_topic_bytes_total{topic=\"*other*\"} 30"));
    CHECK(has_line(text, "tradebus_messages_dropped_total{reason=\"oversized\"} 2"));
    CHECK(has_line(text, "tradebus_messages_dropped_total{reason=\"frame_count\"} 0"));
    CHECK(has_line(text, "tradebus_subscriptions_total 3"));
    CHECK(has_line(text, "tradebus_node_state{node=\"risk\",state=\"unhealthy\"} 1"));
    CHECK(has_line(text, "tradebus_node_state{node=\"risk\",state=\"healthy\"} 0"));
    // A configured node that never registered shows as stopped.
    CHECK(has_line(text, "tradebus_node_state{node=\"marketdata\",state=\"stopped\"} 1"));
    CHECK(has_line(text, "tradebus_node_liveness_missed_total{node=\"risk\"} 1"));
    CHECK(has_line(text, "tradebus_node_heartbeats_total{node=\"risk\"} 1"));
    CHECK(has_line(text, "tradebus_node_heartbeat_age_seconds{node=\"risk\"} 1.9"));
    CHECK(has_line(text, "tradebus_node_published_total{node=\"risk\"} 11"));
    CHECK(has_line(text, "tradebus_node_received_total{node=\"risk\"} 22"));
    CHECK(has_line(text, "tradebus_node_gaps_total{node=\"risk\"} 3"));
    CHECK(has_line(text, "tradebus_node_decode_errors_total{node=\"risk\"} 4"));
    CHECK(has_line(text, "# TYPE tradebus_node_queue_depth gauge"));
    CHECK(has_line(text, "tradebus_node_queue_depth{node=\"risk\"} 5"));
    CHECK(has_line(text, "# TYPE tradebus_node_cpu_seconds_total counter"));
    CHECK(has_line(text, "tradebus_node_cpu_seconds_total{node=\"risk\"} 1.25"));
    CHECK(has_line(text, "# TYPE tradebus_node_resident_memory_bytes gauge"));
    CHECK(has_line(text, "tradebus_node_resident_memory_bytes{node=\"risk\"} 8388608"));
    CHECK(has_line(text, "tradebus_node_open_fds{node=\"risk\"} 17"));
    // A node that reported no resources (never registered here) has no resource samples.
    CHECK(text.find("tradebus_node_open_fds{node=\"marketdata\"}") == std::string::npos);
    CHECK(has_line(text,
                   "tradebus_node_info{node=\"risk\",kind=\"risk\",host=\"h\",version=\"\"} 1"));
    CHECK(has_line(text,
                   "tradebus_risk_trading_state{node=\"risk\",state=\"reducing\",by=\"risk\"} 1"));
    CHECK(has_line(text, "tradebus_node_configured{node=\"marketdata\"} 1"));
    CHECK(has_line(text, "tradebus_node_configured{node=\"risk\"} 1"));
    CHECK(has_line(text, "tradebus_recorder_stalled 1"));
    CHECK(has_line(text, "tradebus_recorder_stalls_total 3"));
    CHECK(has_line(text, "tradebus_recorder_stalled_seconds_total 1.2"));  // 0.7 + 3.0 - 2.5
    CHECK(has_line(text, "tradebus_recorder_overflow_total 2"));
    CHECK(has_line(text, "tradebus_recorder_sequence 90"));
    CHECK(has_line(text, "tradebus_recorder_acked_sequence 80"));
    CHECK(has_line(text, "tradebus_control_requests_total{type=\"register\"} 1"));
    CHECK(has_line(text, "tradebus_control_requests_total{type=\"heartbeat\"} 1"));
    CHECK(has_line(text, "tradebus_control_requests_total{type=\"invalid\"} 1"));
    CHECK(has_line(text, "tradebus_trading_state{state=\"active\"} 1"));
    CHECK(has_line(text, "tradebus_trading_state{state=\"halted\"} 0"));
    CHECK(has_line(
        text, "tradebus_trading_scope_state{scope=\"symbol\",name=\"AAPL\",state=\"reducing\"} 1"));
    CHECK(has_line(
        text, "tradebus_trading_scope_state{scope=\"strategy\",name=\"risk\",state=\"halted\"} 1"));
    CHECK(has_line(text, "tradebus_lvc_topics 1"));
    CHECK(has_line(text, "tradebus_lvc_bytes 16"));
    CHECK(has_line(text, "tradebus_metrics_http_responses_total{code=\"200\"} 2"));
    CHECK(text.find("epoch=\"99\"") != std::string::npos);
}

TEST_CASE("metrics: a scrape of a big topic table renders in slices, with the same text") {
    spdlog::set_level(spdlog::level::off);
    const broker_config cfg = parse_config("[pipeline.risk]\n", "test.toml");
    null_sink sink;
    data_stats stats(20'000);
    control_plane cp(cfg, 99, sink, stats, 0);
    for (int i = 0; i < 25'000; ++i) {  // 20,000 rows, then 5,000 messages under "*other*"
        stats.topics.count("md.tick.S" + std::to_string(i), static_cast<std::size_t>(i % 7 + 1));
    }
    exposition whole;
    render_metrics({stats, cp, "broker"}, 5000, whole);

    metrics_render sliced({stats, cp, "broker"});
    sliced.start(5000);
    int steps = 1;
    while (!sliced.step(1000)) ++steps;
    CHECK_FALSE(sliced.busy());
    // 2 x 20,000 topic rows at about 1,000 a step (a step may finish one family and start the
    // next): the loop is never held for the whole table.
    CHECK(steps >= 39);
    const std::string text = sliced.take();

    auto a = lines_of(whole.text());
    auto b = lines_of(text);
    CHECK(a.size() == b.size());
    std::multiset<std::string> sa(a.begin(), a.end()), sb(b.begin(), b.end());
    CHECK(sa == sb);
    CHECK(has_line(text, "tradebus_topic_messages_total{topic=\"md.tick.S19999\"} 1"));
    CHECK(has_line(text, "tradebus_topic_messages_total{topic=\"*other*\"} 5000"));
    CHECK(has_line(text, "tradebus_topics_tracked 20000"));

    // The table growing during a sliced scrape restarts it: no row is shown twice.
    data_stats growing(100'000);
    control_plane cp2(cfg, 99, sink, growing, 0);
    for (int i = 0; i < 1000; ++i) growing.topics.count("t." + std::to_string(i), 1);
    metrics_render r({growing, cp2, "broker"});
    r.start(0);
    CHECK_FALSE(r.step(100));
    for (int i = 1000; i < 5000; ++i) growing.topics.count("t." + std::to_string(i), 1);
    while (!r.step(100)) {
    }
    const auto lines = lines_of(r.take());
    std::set<std::string> unique(lines.begin(), lines.end());
    CHECK(unique.size() == lines.size());
    CHECK(std::count_if(lines.begin(), lines.end(), [](const std::string& l) {
              return l.rfind("tradebus_topic_messages_total{", 0) == 0;
          }) >= 1000);
}

namespace {

std::uint64_t register_node(control_plane& cp, const std::string& name, std::int64_t now) {
    std::string in, out;
    schema::register_request reg;
    reg.name = name;
    reg.kind = name;
    reg.host = "h";
    reg.pid = 1;
    schema::encode_control(reg, in);
    cp.handle_frame(in, now, out);
    const auto reply = schema::decode_control(out);
    REQUIRE(reply.ok());
    return std::get<schema::register_reply>(reply.value()).session_id;
}

void heartbeat(control_plane& cp, const std::string& name, std::uint64_t session,
               std::int64_t now) {
    std::string in, out;
    schema::heartbeat_request hb;
    hb.name = name;
    hb.session_id = session;
    hb.state = schema::health::healthy;
    schema::encode_control(hb, in);
    cp.handle_frame(in, now, out);
    const auto reply = schema::decode_control(out);
    REQUIRE(reply.ok());
    REQUIRE(std::holds_alternative<schema::heartbeat_reply>(reply.value()));
}

}  // namespace

TEST_CASE("metrics: /health is ok only while every expected node is healthy, with the reasons") {
    spdlog::set_level(spdlog::level::off);
    const broker_config cfg = parse_config(R"(
[heartbeat]
interval_ms = 100
liveness = 3
gone_after_ms = 1000
[pipeline.risk]
[pipeline.marketdata]
)",
                                           "test.toml");
    null_sink sink;
    data_stats stats(10);
    control_plane cp(cfg, 7, sink, stats, 1000);
    const metrics_sources src{stats, cp, "desk\"broker"};

    auto h = render_health(src, 1000);
    CHECK_FALSE(h.healthy);
    CHECK(h.json ==
          R"({"status":"unavailable","broker":"desk\"broker","epoch":7,"trading":"active",)"
          R"("nodes":{"marketdata":"stopped","risk":"stopped"},)"
          R"("reasons":["marketdata: never registered","risk: never registered"]})"
          "\n");

    const auto risk = register_node(cp, "risk", 1000);
    heartbeat(cp, "risk", risk, 1010);
    h = render_health(src, 1010);
    CHECK_FALSE(h.healthy);
    CHECK(h.json.find(R"("reasons":["marketdata: never registered"])") != std::string::npos);
    CHECK(h.json.find(R"("risk":"healthy")") != std::string::npos);

    const auto md = register_node(cp, "marketdata", 1020);
    heartbeat(cp, "marketdata", md, 1030);
    heartbeat(cp, "risk", risk, 1030);
    h = render_health(src, 1030);
    CHECK(h.healthy);
    CHECK(h.json == R"({"status":"ok","broker":"desk\"broker","epoch":7,"trading":"active",)"
                    R"("nodes":{"marketdata":"healthy","risk":"healthy"}})"
                    "\n");

    // A node outside [pipeline] counts while it has a session.
    const auto extra = register_node(cp, "sniffer", 1040);
    h = render_health(src, 1040);
    CHECK_FALSE(h.healthy);
    CHECK(h.json.find(R"("reasons":["sniffer: starting"])") != std::string::npos);
    std::string in, out;
    schema::encode_control(schema::deregister_request{"sniffer", extra}, in);
    cp.handle_frame(in, 1050, out);
    CHECK(render_health(src, 1050).healthy);

    // risk stops heartbeating: unhealthy after 3 x 100 ms, with the heartbeat's age.
    heartbeat(cp, "marketdata", md, 1300);
    cp.run_timers(1030 + 301);
    h = render_health(src, 1331);
    CHECK_FALSE(h.healthy);
    CHECK(h.json.find(R"("reasons":["risk: unhealthy, last heartbeat 301 ms ago"])") !=
          std::string::npos);
}
