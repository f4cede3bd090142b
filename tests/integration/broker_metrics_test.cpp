// The broker's Prometheus endpoint over real sockets: a plain TCP HTTP GET against the real
// broker, numbers checked exactly against what the test sent (data plane messages of known
// sizes, a fake node's heartbeat counters, control requests), 404 elsewhere, and hostile
// clients (garbage, oversized, idle, too many) that do not hurt the broker.
#include <doctest/doctest.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <sstream>

#include "broker_process.hpp"
#include "bus_clients.hpp"
#include "net.hpp"
#include "temp_dir.hpp"

using namespace tradebus;
using namespace tradebus::test;

namespace {

struct scrape_result {
    std::string status_line, head, body;
    std::map<std::string, double> samples;  // "name{labels}" -> value
};

std::optional<scrape_result> http_get(int port, const std::string& path) {
    auto answer = http_exchange(port, "GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n");
    if (!answer) return std::nullopt;
    scrape_result r;
    const auto end = answer->find("\r\n\r\n");
    if (end == std::string::npos) return std::nullopt;
    r.head = answer->substr(0, end);
    r.status_line = r.head.substr(0, r.head.find("\r\n"));
    r.body = answer->substr(end + 4);
    if (r.status_line != "HTTP/1.0 200 OK") return r;
    std::istringstream in(r.body);
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') continue;
        const auto sp = line.rfind(' ');
        r.samples[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
    }
    return r;
}

scrape_result scrape(int port) {
    auto r = http_get(port, "/metrics");
    REQUIRE_MESSAGE(r.has_value(), "no HTTP answer from the metrics port " << port);
    REQUIRE(r->status_line == "HTTP/1.0 200 OK");
    return *r;
}

double value(const scrape_result& r, const std::string& sample) {
    auto it = r.samples.find(sample);
    INFO("sample " << sample);
    REQUIRE_MESSAGE(it != r.samples.end(), "missing from the scrape:\n" << r.body.substr(0, 4000));
    return it->second;
}

struct metrics_broker {
    zmq::context_t ctx;
    temp_dir dir;
    int port = free_tcp_port();
    std::unique_ptr<broker_process> broker;
    metrics_broker() {
        broker_settings s;
        s.pipeline_toml = "[pipeline.fakenode]\n";
        s.gone_after_ms = 60'000;  // a silent node stays unhealthy (not gone) for the checks
        s.extra_toml = "[metrics]\nlisten = \"tcp://127.0.0.1:" + std::to_string(port) + "\"\n";
        broker = std::make_unique<broker_process>(ctx, dir, s);
    }
};

// The broker still answers status and still forwards data.
void check_still_serving(metrics_broker& m) {
    (void)m.broker->status();
    subscriber sub(m.ctx, m.broker->xpub, {"test.after."});
    publisher pub(m.ctx, m.broker->xsub);
    wait_until_flowing(pub, sub, "test.after.probe");
}

}  // namespace

TEST_CASE("metrics: a scrape shows exactly the messages, bytes, node counters and requests sent") {
    metrics_broker m;
    auto& broker = *m.broker;

    subscriber sub(m.ctx, broker.xpub, {"test.metrics.", "test.probe"});
    publisher pub(m.ctx, broker.xsub);
    wait_until_flowing(pub, sub, "test.probe");
    while (sub.recv(100ms)) {
    }  // probes still in flight

    const scrape_result before = scrape(m.port);
    CHECK(before.head.find("Content-Type: text/plain; version=0.0.4") != std::string::npos);
    CHECK(before.body.find("# TYPE tradebus_topic_messages_total counter") != std::string::npos);

    // 7 messages of 100 bytes on .a, 3 of 1000 bytes on .b.
    const std::string ta = "test.metrics.a", tb = "test.metrics.b";
    for (int i = 0; i < 7; ++i) pub.send(ta, std::string(100, 'x'));
    for (int i = 0; i < 3; ++i) pub.send(tb, std::string(1000, 'y'));
    int got = 0;
    while (got < 10 &&
           sub.recv_until(
               [](const bus_message& b) { return b.topic.rfind("test.metrics.", 0) == 0; }, 5s)) {
        ++got;
    }
    REQUIRE(got == 10);

    // A fake node registers and heartbeats known counters.
    control_client control(m.ctx, broker.control);
    schema::register_request reg;
    reg.name = "fakenode";
    reg.kind = "fake";
    reg.host = "test-host";
    reg.version = "test";
    reg.pid = ::getpid();
    // Healthy for 3 x 2 s after its one heartbeat: the scrape below sees it healthy however
    // slow this machine or build is; then it goes unhealthy for the last check.
    reg.heartbeat_interval_ms = 2000;
    const auto session = control.call<schema::register_reply>(reg).session_id;
    schema::heartbeat_request hb;
    hb.name = "fakenode";
    hb.session_id = session;
    hb.counters = {
        .published = 1234, .received = 5678, .gaps = 9, .decode_errors = 2, .queue_depth = 17};
    (void)control.call<schema::heartbeat_reply>(hb);
    (void)control.request_raw({"not msgpack"});  // counted as "invalid"

    const scrape_result after = scrape(m.port);
    CHECK(value(after, "tradebus_topic_messages_total{topic=\"test.metrics.a\"}") == 7);
    CHECK(value(after, "tradebus_topic_bytes_total{topic=\"test.metrics.a\"}") == 7 * (14 + 100));
    CHECK(value(after, "tradebus_topic_messages_total{topic=\"test.metrics.b\"}") == 3);
    CHECK(value(after, "tradebus_topic_bytes_total{topic=\"test.metrics.b\"}") == 3 * (14 + 1000));
    CHECK(value(after, "tradebus_messages_received_total") -
              value(before, "tradebus_messages_received_total") ==
          10);
    CHECK(value(after, "tradebus_node_published_total{node=\"fakenode\"}") == 1234);
    CHECK(value(after, "tradebus_node_received_total{node=\"fakenode\"}") == 5678);
    CHECK(value(after, "tradebus_node_gaps_total{node=\"fakenode\"}") == 9);
    CHECK(value(after, "tradebus_node_decode_errors_total{node=\"fakenode\"}") == 2);
    CHECK(value(after, "tradebus_node_queue_depth{node=\"fakenode\"}") == 17);
    CHECK(value(after, "tradebus_node_heartbeats_total{node=\"fakenode\"}") == 1);
    CHECK(value(after, "tradebus_node_state{node=\"fakenode\",state=\"healthy\"}") == 1);
    CHECK(value(after, "tradebus_node_state{node=\"fakenode\",state=\"starting\"}") == 0);
    CHECK(value(after, "tradebus_control_requests_total{type=\"register\"}") == 1);
    CHECK(value(after, "tradebus_control_requests_total{type=\"heartbeat\"}") == 1);
    CHECK(value(after, "tradebus_control_requests_total{type=\"invalid\"}") == 1);
    CHECK(value(after, "tradebus_control_requests_total{type=\"status\"}") >= 1);
    CHECK(value(after, "tradebus_trading_state{state=\"active\"}") == 1);
    CHECK(value(after, "tradebus_messages_dropped_total{reason=\"oversized\"}") == 0);
    // The scrape before; this one is counted once written in full.
    CHECK(value(after, "tradebus_metrics_http_responses_total{code=\"200\"}") == 1);
    CHECK(value(after, "tradebus_broker_uptime_seconds") > 0);

    // The node stops heartbeating: unhealthy after liveness x interval, counted as missed.
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    double missed = 0;
    while (missed == 0 && std::chrono::steady_clock::now() < deadline) {
        missed = value(scrape(m.port), "tradebus_node_liveness_missed_total{node=\"fakenode\"}");
    }
    CHECK(missed == 1);
    CHECK(value(scrape(m.port), "tradebus_node_state{node=\"fakenode\",state=\"unhealthy\"}") == 1);
}

TEST_CASE("metrics: another path is 404, other methods 405, HEAD has no body") {
    metrics_broker m;
    auto r = http_get(m.port, "/");
    REQUIRE(r);
    CHECK(r->status_line == "HTTP/1.0 404 Not Found");
    r = http_get(m.port, "/metricsx");
    REQUIRE(r);
    CHECK(r->status_line == "HTTP/1.0 404 Not Found");
    auto post = tcp_exchange(m.port, "POST /metrics HTTP/1.1\r\n\r\n");
    REQUIRE(post);
    CHECK(post->rfind("HTTP/1.0 405 ", 0) == 0);
    auto head = tcp_exchange(m.port, "HEAD /metrics HTTP/1.0\r\n\r\n");
    REQUIRE(head);
    CHECK(head->rfind("HTTP/1.0 200 OK\r\n", 0) == 0);
    CHECK(head->ends_with("\r\n\r\n"));  // headers only
    const scrape_result s = scrape(m.port);
    CHECK(value(s, "tradebus_metrics_http_responses_total{code=\"404\"}") == 2);
    CHECK(value(s, "tradebus_metrics_http_responses_total{code=\"405\"}") == 1);  // the POST
    CHECK(value(s, "tradebus_metrics_http_responses_total{code=\"400\"}") == 0);
}

TEST_CASE("metrics: garbage and oversized requests are refused and the broker serves on") {
    metrics_broker m;
    // Not HTTP at all.
    auto bad = tcp_exchange(m.port, std::string("\x00\x01\xff garbage\r\n\r\n", 15));
    REQUIRE(bad);
    CHECK(bad->rfind("HTTP/1.0 400 ", 0) == 0);
    // Far above the request limit, with no end of headers: 431 and closed, never buffered.
    tcp_client big(m.port);
    REQUIRE(big.connected());
    (void)big.send("GET /metrics HTTP/1.1\r\nX-Fill: " + std::string(64 * 1024, 'a'));
    auto answer = big.read_until_closed(5s);
    REQUIRE(answer);
    CHECK(answer->rfind("HTTP/1.0 431 ", 0) == 0);
    // Raw binary noise of every byte value.
    std::string noise;
    for (int i = 0; i < 4096; ++i) noise.push_back(static_cast<char>(i * 7 % 256));
    (void)send_raw_tcp(m.port, noise);

    check_still_serving(m);
    const scrape_result s = scrape(m.port);
    CHECK(value(s, "tradebus_metrics_http_responses_total{code=\"431\"}") >= 1);
    CHECK(value(s, "tradebus_metrics_http_responses_total{code=\"400\"}") >= 1);
}

TEST_CASE("metrics: idle connections are bounded and timed out, then scrapes work again") {
    metrics_broker m;
    // More clients than connection slots (64), each sending half a request and stalling.
    std::vector<std::unique_ptr<tcp_client>> idle;
    for (int i = 0; i < 70; ++i) {
        idle.push_back(std::make_unique<tcp_client>(m.port));
        REQUIRE(idle.back()->connected());
        REQUIRE(idle.back()->send("GET /met"));
    }
    // A scrape still gets its answer: it evicts the oldest stalled client, not itself.
    const scrape_result during = scrape(m.port);
    CHECK(value(during, "tradebus_metrics_http_evicted_connections_total") >= 6);
    check_still_serving(m);  // the control and data planes do not care

    // Each stalled client was either evicted (closed unanswered) or, after the request timeout
    // (5 s), answered 408 and closed.
    int timed_out = 0, evicted = 0;
    for (auto& c : idle) {
        auto a = c->read_until_closed(10s);
        REQUIRE(a);
        if (a->empty()) {
            ++evicted;
        } else {
            CHECK(a->rfind("HTTP/1.0 408 ", 0) == 0);
            ++timed_out;
        }
    }
    CHECK(timed_out + evicted == 70);
    CHECK(evicted >= 6);
    const scrape_result s = scrape(m.port);
    CHECK(value(s, "tradebus_metrics_http_responses_total{code=\"408\"}") == timed_out);
    CHECK(value(s, "tradebus_metrics_http_evicted_connections_total") == evicted);
}

TEST_CASE("metrics: a scrape succeeds while 50 slow clients dribble their requests") {
    metrics_broker m;
    std::vector<std::unique_ptr<tcp_client>> slow;
    for (int i = 0; i < 50; ++i) {
        slow.push_back(std::make_unique<tcp_client>(m.port));
        REQUIRE(slow.back()->connected());
        REQUIRE(slow.back()->send("G"));
    }
    // They keep dribbling, one byte each, while Prometheus scrapes.
    const std::string rest = "ET /metrics HTTP/1.0\r\n";
    for (std::size_t b = 0; b < 3; ++b) {
        for (auto& c : slow) (void)c->send(rest.substr(b, 1));
        const scrape_result s = scrape(m.port);  // a complete 200 with every byte of its body
        CHECK(value(s, "tradebus_metrics_http_open_connections") >= 50);
        CHECK(value(s, "tradebus_metrics_http_evicted_connections_total") == 0);
        CHECK(value(s, "tradebus_metrics_http_refused_connections_total") == 0);
    }
}

TEST_CASE("metrics: a client that half-closes after its request still gets the whole answer") {
    metrics_broker m;
    for (int i = 0; i < 3; ++i) {
        tcp_client c(m.port);
        REQUIRE(c.connected());
        REQUIRE(c.send("GET /metrics HTTP/1.0\r\n\r\n"));
        c.shutdown_send();
        auto a = c.read_until_closed(10s);
        REQUIRE(a);
        REQUIRE(a->rfind("HTTP/1.0 200 OK\r\n", 0) == 0);
        const auto cl = a->find("Content-Length: ");
        REQUIRE(cl != std::string::npos);
        const auto end = a->find("\r\n\r\n");
        CHECK(a->size() - (end + 4) == std::stoul(a->substr(cl + 16)));
    }
    // The answers counted are the answers written: 3, then this scrape itself.
    const scrape_result s = scrape(m.port);
    CHECK(value(s, "tradebus_metrics_http_responses_total{code=\"200\"}") == 3);
    CHECK(value(s, "tradebus_metrics_http_unfinished_total") == 0);
}

TEST_CASE("metrics: a DEALER that pipelines without reading: every reply is received or counted") {
    metrics_broker m;
    // Before the dealer: the harness's own start-up status requests may have given up on a
    // slow (sanitized, loaded) broker and left, which counts as peer_gone too.
    const double gone_before =
        value(scrape(m.port), "tradebus_control_replies_dropped_total{reason=\"peer_gone\"}");
    zmq::socket_t dealer(m.ctx, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 0);
    dealer.set(zmq::sockopt::rcvhwm, 10);
    dealer.set(zmq::sockopt::rcvbuf, 4096);
    dealer.set(zmq::sockopt::sndhwm, 0);
    dealer.connect(m.broker->control);
    std::string request;
    schema::encode_control(schema::control_message{schema::status_request{}}, request);
    constexpr std::size_t sent = 30'000;
    for (std::size_t i = 0; i < sent; ++i) {
        REQUIRE(dealer.send(zmq::message_t(), zmq::send_flags::sndmore));
        REQUIRE(dealer.send(zmq::buffer(request), zmq::send_flags::none));
    }
    // The broker answers all of them before the dealer reads a thing.
    const auto handled = std::chrono::steady_clock::now() + 60s;
    double requests = 0;
    while (requests < static_cast<double>(sent) && std::chrono::steady_clock::now() < handled) {
        requests = value(scrape(m.port), "tradebus_control_requests_total{type=\"status\"}");
    }
    REQUIRE(requests >= static_cast<double>(sent));
    std::size_t received = 0;
    while (true) {
        zmq::pollitem_t item{dealer.handle(), 0, ZMQ_POLLIN, 0};
        if (zmq::poll(&item, 1, 2s) == 0) break;
        zmq::message_t delimiter, reply;
        REQUIRE(dealer.recv(delimiter));
        REQUIRE(dealer.recv(reply));
        ++received;
    }
    const scrape_result s = scrape(m.port);
    const double full =
        value(s, "tradebus_control_replies_dropped_total{reason=\"peer_queue_full\"}");
    CHECK(full > 0);  // 30000 status replies do not fit 1000 + socket buffers
    CHECK(static_cast<double>(received) + full == static_cast<double>(sent));
    CHECK(value(s, "tradebus_control_replies_dropped_total{reason=\"peer_gone\"}") ==
          gone_before);  // the dealer never left
}
