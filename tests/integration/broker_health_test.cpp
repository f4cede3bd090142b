// The broker's GET /health and what the desk is watched with, over real sockets against a real
// broker and the real node executables: /health answers 503 with the reasons until every
// [pipeline] node is healthy, 200 then, 503 again once a node is killed; each node's heartbeat
// carries its process's CPU time, resident memory and open descriptors, as /proc shows them; and
// every metric name the shipped alerting rules (config/prometheus/tradebus-alerts.yml) use is
// one a live broker with nodes serves, so a rule cannot watch a name that does not exist.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "net.hpp"
#include "pipeline.hpp"
#include "tradebus/common/proc_stats.hpp"

using namespace tradebus;
using namespace tradebus::test;
using namespace std::chrono_literals;

namespace {

struct http_answer {
    std::string status_line, head, body;
};

http_answer http_get(int port, const std::string& method, const std::string& path) {
    const auto raw =
        http_exchange(port, method + " " + path + " HTTP/1.1\r\nHost: test\r\n\r\n", 5s);
    REQUIRE_MESSAGE(raw.has_value(), "no HTTP answer from port " << port);
    const auto end = raw->find("\r\n\r\n");
    REQUIRE(end != std::string::npos);
    http_answer a;
    a.head = raw->substr(0, end);
    a.status_line = a.head.substr(0, a.head.find("\r\n"));
    a.body = raw->substr(end + 4);
    return a;
}

// "name{labels}" -> value, and the families announced by `# TYPE`.
struct scrape_result {
    std::map<std::string, double> samples;
    std::set<std::string> families;
};

scrape_result scrape(int port) {
    const http_answer a = http_get(port, "GET", "/metrics");
    REQUIRE(a.status_line == "HTTP/1.0 200 OK");
    scrape_result r;
    std::istringstream in(a.body);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("# TYPE ", 0) == 0) {
            r.families.insert(line.substr(7, line.find(' ', 7) - 7));
        } else if (!line.empty() && line[0] != '#') {
            const auto sp = line.rfind(' ');
            r.samples[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
        }
    }
    return r;
}

double value(const scrape_result& r, const std::string& sample) {
    const auto it = r.samples.find(sample);
    REQUIRE_MESSAGE(it != r.samples.end(), "missing from the scrape: " << sample);
    return it->second;
}

// The nodes' own tables: a feed, a strategy and risk limits that keep them busy, as in the
// fault tests.
std::string node_table(const temp_dir& dir, const std::string& kind) {
    const std::map<std::string, std::string> tables = {
        {"journal",
         "[journal]\ndir = \"" + dir.file("journal").string() + "\"\nfsync = \"none\"\n"},
        {"marketdata",
         "[marketdata]\nsource = \"synthetic\"\nbar_interval_ms = 500\n"
         "[marketdata.synthetic]\nrate_per_sec = 50.0\nseed = 7\n"
         "[marketdata.synthetic.symbols.AAPL]\nstart_px = 171.0\n"},
        {"execution", "[execution]\nslippage_bps = 1.0\npartial_fills = false\n"},
        {"risk",
         "[risk]\nallowed_symbols = [\"AAPL\"]\nmax_order_qty = 100\nmax_position = 1000000\n"
         "max_gross_notional = 1000000000.0\nmax_daily_loss = 1000000000.0\n"
         "max_orders_per_sec = 10\nprice_band_bps = 100.0\nstale_quote_ms = 2000\n"},
        {"strategy", "[strategy]\ntrade_symbols = [\"AAPL\"]\norder_qty = 10\n"},
    };
    return tables.at(kind);
}

std::string metrics_table(int port) {
    return "[metrics]\nlisten = \"tcp://127.0.0.1:" + std::to_string(port) + "\"\n";
}

// The metric names of every `expr:` of a Prometheus rules file: an expression with its strings,
// label matchers, range durations, label lists (on(...), by(...), ...), function calls, keywords
// and numbers taken out leaves the metric names.
std::set<std::string> rule_metric_names(const std::string& path) {
    std::ifstream in(path);
    REQUIRE_MESSAGE(in.good(), "cannot read " << path);
    std::set<std::string> names;
    const std::regex strip[] = {
        std::regex(R"("([^"\\]|\\.)*")"),
        std::regex(R"(\{[^}]*\})"),
        std::regex(R"(\[[^\]]*\])"),
        std::regex(R"(\b(on|ignoring|group_left|group_right|by|without)\s*\([^)]*\))"),
        std::regex(R"(\b[a-z_]+\s*\()"),
        std::regex(R"(\b(and|or|unless|bool|offset)\b)"),
        std::regex(R"(\b[0-9][0-9.eE+-]*[a-z]*\b)"),
    };
    const std::regex ident(R"([a-zA-Z_:][a-zA-Z0-9_:]*)");
    for (std::string line; std::getline(in, line);) {
        const auto at = line.find("expr:");
        if (at == std::string::npos) continue;
        std::string expr = line.substr(at + 5);
        // One line each: a block scalar (`expr: |`) would hide its names from this reader.
        const auto first = expr.find_first_not_of(' ');
        REQUIRE_MESSAGE((first != std::string::npos && expr[first] != '|' && expr[first] != '>'),
                        "write each expr: on one line: " << line);
        for (const auto& re : strip) expr = std::regex_replace(expr, re, " ");
        for (auto it = std::sregex_iterator(expr.begin(), expr.end(), ident);
             it != std::sregex_iterator(); ++it) {
            names.insert(it->str());
        }
    }
    return names;
}

}  // namespace

TEST_CASE(
    "health: 503 with the reasons until every [pipeline] node is healthy, 200, 503 after a kill") {
    zmq::context_t ctx;
    temp_dir dir;
    const int port = free_tcp_port();
    pipeline p(ctx, dir, 100, false, metrics_table(port));

    // The broker runs, no node yet: every [pipeline] node is a reason.
    http_answer h = http_get(port, "GET", "/health");
    CHECK(h.status_line == "HTTP/1.0 503 Service Unavailable");
    CHECK(h.head.find("Content-Type: application/json") != std::string::npos);
    CHECK(h.body.rfind(R"({"status":"unavailable","broker":)", 0) == 0);
    for (const auto& kind : pipeline_kinds) {
        CHECK_MESSAGE(h.body.find("\"" + kind + ": never registered\"") != std::string::npos,
                      h.body);
    }

    // One node up is not enough.
    p.configure("journal", node_table(dir, "journal"));
    p.start("journal");
    (void)p.wait_healthy({"journal"}, 30s);
    h = http_get(port, "GET", "/health");
    CHECK(h.status_line == "HTTP/1.0 503 Service Unavailable");
    CHECK(h.body.find(R"("journal":"healthy")") != std::string::npos);
    CHECK(h.body.find("journal: ") == std::string::npos);
    CHECK(h.body.find(R"("risk: never registered")") != std::string::npos);

    for (const auto& kind : pipeline_kinds) {
        if (kind == "journal") continue;
        p.configure(kind, node_table(dir, kind));
        p.start(kind);
    }
    (void)p.wait_healthy(pipeline_kinds, 30s);
    h = http_get(port, "GET", "/health");
    CHECK(h.status_line == "HTTP/1.0 200 OK");
    CHECK(h.body.rfind(R"({"status":"ok","broker":)", 0) == 0);
    CHECK(h.body.find("reasons") == std::string::npos);
    for (const auto& kind : pipeline_kinds) {
        CHECK(h.body.find("\"" + kind + "\":\"healthy\"") != std::string::npos);
    }
    const http_answer head = http_get(port, "HEAD", "/health");
    CHECK(head.status_line == "HTTP/1.0 200 OK");
    CHECK(head.body.empty());
    CHECK(head.head.find("Content-Length: " + std::to_string(h.body.size())) != std::string::npos);

    // kill -9: unhealthy after 3 missed 100 ms heartbeats, and /health says which and why.
    p.node("strategy").signal(SIGKILL);
    REQUIRE(p.node("strategy").wait_exit(5s) == 128 + SIGKILL);
    const auto deadline = std::chrono::steady_clock::now() + 15s;  // a hang guard
    do {
        h = http_get(port, "GET", "/health");
        if (h.status_line != "HTTP/1.0 200 OK") break;
        std::this_thread::sleep_for(50ms);
    } while (std::chrono::steady_clock::now() < deadline);
    CHECK(h.status_line == "HTTP/1.0 503 Service Unavailable");
    CHECK_MESSAGE(
        h.body.find(R"("reasons":["strategy: unhealthy, last heartbeat )") != std::string::npos,
        h.body);
    const scrape_result s = scrape(port);
    CHECK(value(s, "tradebus_metrics_http_responses_total{code=\"503\"}") >= 3);
}

TEST_CASE(
    "health: heartbeats carry each node's CPU time, memory and descriptors as /proc has them") {
    zmq::context_t ctx;
    temp_dir dir;
    const int port = free_tcp_port();
    pipeline p(ctx, dir, 100, false, metrics_table(port));
    for (const auto& kind : pipeline_kinds) {
        p.configure(kind, node_table(dir, kind));
        p.start(kind);
    }
    (void)p.wait_healthy(pipeline_kinds, 30s);
    std::this_thread::sleep_for(300ms);  // a few heartbeats after the start's burst of sockets

    const scrape_result s = scrape(port);
    const schema::status_reply st = p.broker.status();
    for (const auto& kind : pipeline_kinds) {
        CAPTURE(kind);
        const pid_t pid = p.node(kind).pid();
        const auto mem = common::read_memory(pid);
        const auto fds = common::read_open_fds(pid);
        const auto cpu = common::read_cpu_seconds(pid);
        REQUIRE(mem.has_value());
        REQUIRE(fds.has_value());
        REQUIRE(cpu.has_value());
        const std::string node = "{node=\"" + kind + "\"}";
        const double rss = value(s, "tradebus_node_resident_memory_bytes" + node);
        const double open = value(s, "tradebus_node_open_fds" + node);
        const double cpu_s = value(s, "tradebus_node_cpu_seconds_total" + node);
        // Read by the node a heartbeat (100 ms) ago: the same process, give or take a little.
        CHECK(rss > 1e6);
        CHECK(rss > 0.5 * static_cast<double>(mem->rss_kib) * 1024);
        CHECK(rss < 2.0 * static_cast<double>(mem->rss_kib) * 1024);
        CHECK(open >= 3);  // at least the ZeroMQ sockets' descriptors
        CHECK(std::abs(open - static_cast<double>(*fds)) <= 8);
        CHECK(cpu_s >= 0);
        CHECK(cpu_s <= *cpu + 0.01);  // never ahead of what /proc says now
        // The status reply (tradebus status) carries the same counters.
        const auto n = std::find_if(st.nodes.begin(), st.nodes.end(),
                                    [&](const schema::node_status& x) { return x.name == kind; });
        REQUIRE(n != st.nodes.end());
        CHECK(n->counters.rss_bytes > 1'000'000);
        CHECK(n->counters.open_fds >= 3);
    }
}

TEST_CASE("health: every metric the alerting rules use is in a live broker's scrape") {
    const auto names = rule_metric_names(std::string(TRADEBUS_SOURCE_DIR) +
                                         "/config/prometheus/tradebus-alerts.yml");
    // Not an empty or broken extraction: the rules watch a dozen families.
    REQUIRE(names.size() >= 12);
    for (const auto& n : names) {
        CAPTURE(n);
        // `up` is Prometheus's own series for the scrape job; every other name is the broker's.
        CHECK((n == "up" || n.rfind("tradebus_", 0) == 0));
    }

    zmq::context_t ctx;
    temp_dir dir;
    const int port = free_tcp_port();
    pipeline p(ctx, dir, 100, false, metrics_table(port));
    for (const auto& kind : pipeline_kinds) {
        p.configure(kind, node_table(dir, kind));
        p.start(kind);
    }
    (void)p.wait_healthy(pipeline_kinds, 30s);

    // Families with samples (a family announced with no sample would still be a name Prometheus
    // never sees): retried briefly, as risk's first risk.state may still be on its way.
    std::set<std::string> missing;
    const auto deadline = std::chrono::steady_clock::now() + 10s;  // a hang guard
    do {
        const scrape_result s = scrape(port);
        std::set<std::string> sampled;
        for (const auto& [sample, v] : s.samples)
            sampled.insert(sample.substr(0, sample.find('{')));
        missing.clear();
        for (const auto& n : names) {
            if (n == "up") continue;
            if (!s.families.contains(n) || !sampled.contains(n)) missing.insert(n);
        }
        if (missing.empty()) break;
        std::this_thread::sleep_for(100ms);
    } while (std::chrono::steady_clock::now() < deadline);
    for (const auto& n : missing)
        FAIL_CHECK("the alerting rules use " << n << ", not in the scrape");
    CHECK(missing.empty());
}
