// The web node: its model of the desk (topic rates bounded whatever the bus holds, positions
// and P&L from risk's events, fills and rejections, trading scopes, the broker's status), the
// SSE and JSON framing, the answers to each path, and its [web] config errors (a table); the
// operator actions: the tokens file, the token check, each action's form and how the log
// follows an action to its end.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "config_loading.hpp"
#include "recording_context.hpp"
#include "scratch_dir.hpp"
#include "tradebus/schema/money.hpp"
#include "tradebus/web/desk_state.hpp"
#include "tradebus/web/json_out.hpp"
#include "tradebus/web/operator_actions.hpp"
#include "tradebus/web/web_node.hpp"

using namespace tradebus;
using namespace tradebus::web;
using schema::to_fixed;

namespace {

constexpr std::int64_t t0 = 1'700'000'000'000'000'000;
constexpr std::int64_t sec = 1'000'000'000;

schema::event from(std::string src, schema::payload body, std::int64_t ts = t0) {
    return schema::event{schema::envelope{std::move(src), 1, ts, 7}, std::move(body)};
}

schema::position pos(const std::string& sym, std::int64_t qty, double avg, double realized,
                     double unrealized) {
    schema::position p;
    p.symbol = sym;
    p.qty = qty;
    p.avg_px = to_fixed(avg);
    p.realized_pnl = to_fixed(realized);
    p.unrealized_pnl = to_fixed(unrealized);
    return p;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// A context whose loop is the test's: watch_fd registrations polled by turn(), as the
// runtime's engine polls them (ZeroMQ's POLLIN/POLLOUT flags in, the same flags out).
class fd_loop_context final : public runtime::context {
  public:
    void publish_event(std::string_view, schema::event) override {}
    std::uint64_t new_trace_id() override { return 1; }
    std::int64_t now_ns() override { return t0; }
    std::int64_t mono_ms() override {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now().time_since_epoch())
            .count();
    }
    [[nodiscard]] const std::string& node_name() const override { return name_; }
    void report_health(schema::health, std::string) override {}
    void request_stop(std::string) override {}
    void watch_fd(int fd, short events, std::function<void(short)> on_ready) override {
        watched_[fd] = {events, std::move(on_ready)};
    }
    void unwatch_fd(int fd) override { watched_.erase(fd); }

    void turn(int timeout_ms = 10) {
        std::vector<pollfd> fds;
        for (const auto& [fd, w] : watched_) {
            fds.push_back({fd,
                           static_cast<short>(((w.first & ZMQ_POLLIN) ? POLLIN : 0) |
                                              ((w.first & ZMQ_POLLOUT) ? POLLOUT : 0)),
                           0});
        }
        if (::poll(fds.data(), fds.size(), timeout_ms) <= 0) return;
        for (const auto& p : fds) {
            if (p.revents == 0) continue;
            auto it = watched_.find(p.fd);
            if (it == watched_.end()) continue;  // unwatched by an earlier callback
            const short z = static_cast<short>(((p.revents & (POLLIN | POLLHUP)) ? ZMQ_POLLIN : 0) |
                                               ((p.revents & POLLOUT) ? ZMQ_POLLOUT : 0) |
                                               ((p.revents & POLLERR) ? ZMQ_POLLERR : 0));
            auto callback = it->second.second;
            callback(z);
        }
    }

  private:
    std::string name_ = "web";
    std::map<int, std::pair<short, std::function<void(short)>>> watched_;
};

// A loopback port that was free a moment ago.
int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    ::close(fd);
    return ntohs(a.sin_port);
}

// A blocking loopback client with a small receive buffer, that sends `request`.
int client(int port, std::string_view request) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    const int small = 4096;
    (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(request.size()));
    return fd;
}

auto load(const std::string& toml) {
    return testing::load_own_table(toml, "web.toml", "web", &load_web_config);
}

}  // namespace

TEST_CASE("web: topic rates count per second, busiest first, with a 60 s history") {
    desk_state d;
    for (int i = 0; i < 30; ++i) d.count("md.tick.AAPL", 100);
    for (int i = 0; i < 10; ++i) d.count("md.tick.MSFT", 50);
    d.tick(t0);
    for (int i = 0; i < 20; ++i) d.count("md.tick.AAPL", 100);
    d.tick(t0 + sec);
    const auto top = d.busiest(10);
    REQUIRE(top.size() == 2);
    CHECK(top[0].topic == "md.tick.AAPL");
    CHECK(top[0].messages == 50);
    CHECK(top[0].bytes == 5000);
    CHECK(top[0].per_sec == doctest::Approx(50.0 / rate_window));
    REQUIRE(top[0].history.size() == rate_history);
    CHECK(top[0].history[rate_history - 2] == 30);
    CHECK(top[0].history[rate_history - 1] == 20);
    CHECK(top[1].topic == "md.tick.MSFT");
    CHECK(top[1].history[rate_history - 1] == 0);
    // After the history has passed, the counts are gone from it (the totals stay).
    for (std::size_t s = 0; s < rate_history + 1; ++s)
        d.tick(t0 + static_cast<std::int64_t>(s) * sec);
    const auto later = d.busiest(1);
    REQUIRE(later.size() == 1);
    CHECK(later[0].messages == 50);
    CHECK(later[0].per_sec == 0);
    for (const auto n : later[0].history) CHECK(n == 0);
}

TEST_CASE("web: 100000 topics keep at most max_topics rows, the rest counted under *other*") {
    desk_state d(desk_limits{.max_topics = 1000});
    for (int i = 0; i < 100'000; ++i) d.count("bench.run.t" + std::to_string(i), 10);
    CHECK(d.topic_rows() == 1000);
    for (int i = 0; i < 500; ++i) d.count("md.tick.HOT", 10);  // a new topic while full
    d.tick(t0);
    const auto top = d.busiest(5);
    REQUIRE(top.size() == 5);
    CHECK(top[0].topic == other_topic);
    CHECK(top[0].messages == 99'000 + 500);
    CHECK(d.topic_rows() == 1000);
    // The page shows N; a search finds any counted topic, bounded in what it returns.
    const std::string found = d.search_json("t99");
    CHECK(contains(found, "\"query\":\"t99\""));
    CHECK(contains(found, "\"matches\":11"));  // t99, t990..t999 are among the first 1000
    const std::string all = d.search_json("bench.");
    CHECK(contains(all, "\"matches\":1000"));
    std::size_t rows = 0;
    for (std::size_t at = all.find("\"topic\":"); at != std::string::npos;
         at = all.find("\"topic\":", at + 1)) {
        ++rows;
    }
    CHECK(rows == desk_limits{}.search_results);
    // Rows idle for the whole history give their place up when the table is full.
    for (std::size_t s = 0; s <= rate_history; ++s) d.tick(t0 + static_cast<std::int64_t>(s) * sec);
    CHECK(d.topic_rows() == 0);
    d.count("md.tick.HOT", 10);
    CHECK(d.topic_rows() == 1);
}

TEST_CASE("web: positions are risk's, the totals money::add over them, equity sampled") {
    desk_state d(desk_limits{.max_symbols = 2, .equity_points = 4});
    d.on_event("risk.position.AAPL", from("risk", pos("AAPL", 100, 171.5, 12.25, -3.5)));
    d.on_event("risk.position.MSFT", from("risk", pos("MSFT", -50, 417.0, -1.0, 2.0)));
    d.on_event("risk.position.AAPL", from("risk", pos("AAPL", 0, 0, 20.0, 0)));
    d.on_event("risk.position.SPY", from("risk", pos("SPY", 10, 510, 0, 0)));  // over max_symbols
    // A position body on another topic is not a position.
    d.on_event("md.tick.X", from("peer", pos("X", 1, 1, 1, 1)));
    REQUIRE(d.positions().size() == 2);
    CHECK(d.positions().at("AAPL").qty == 0);
    CHECK(d.dropped_symbols() == 1);
    const auto t = d.total();
    CHECK(t.realized == schema::money::add(to_fixed(20.0), to_fixed(-1.0)));
    CHECK(t.unrealized == to_fixed(2.0));
    CHECK(t.equity == to_fixed(21.0));
    const std::string json = d.state_json(5, t0);
    CHECK(contains(json,
                   "{\"symbol\":\"MSFT\",\"qty\":-50,\"avg_px\":417.00000000,"
                   "\"realized\":-1.00000000,\"unrealized\":2.00000000,"
                   "\"total\":1.00000000}"));
    CHECK(contains(json,
                   "\"totals\":{\"realized\":19.00000000,\"unrealized\":2.00000000,"
                   "\"equity\":21.00000000,\"dropped_symbols\":1}"));
    // Saturating, never wrapping.
    desk_state big;
    big.on_event("risk.position.A", from("risk", pos("A", 1, 1, 0, 0)));
    schema::position huge;
    huge.symbol = "B";
    huge.realized_pnl = std::numeric_limits<std::int64_t>::max();
    big.on_event("risk.position.B", from("risk", huge));
    huge.symbol = "C";
    big.on_event("risk.position.C", from("risk", huge));
    CHECK(big.total().realized == std::numeric_limits<std::int64_t>::max());
    // The session's equity: one sample a tick, thinned to every other one when full.
    for (int s = 0; s < 6; ++s) d.tick(t0 + s * sec);
    CHECK(d.equity().size() <= 4);
    CHECK(d.equity().front().first == t0);
    CHECK(d.equity().back().second == to_fixed(21.0));
}

TEST_CASE("web: fills and rejections, newest first, bounded") {
    desk_state d(desk_limits{.recent = 3});
    for (int i = 0; i < 5; ++i) {
        schema::fill f;
        f.fill_id = "f" + std::to_string(i);
        f.symbol = "AAPL";
        f.qty = 10;
        f.px = to_fixed(171);
        d.on_event("exec.fill.AAPL", from("execution", f, t0 + i));
    }
    REQUIRE(d.fills().size() == 3);
    CHECK(d.fills().front().second.fill_id == "f4");
    CHECK(d.fills().back().second.fill_id == "f2");
    schema::order_rejected r;
    r.symbol = "MSFT";
    r.dir = schema::side::buy;
    r.qty = 100;
    r.rule = "max_position";
    r.reason = "position 150 > max_position 50";
    d.on_event("risk.rejected.MSFT", from("risk", r));
    schema::exec_reject x;
    x.symbol = "SPY";
    x.code = "no_quote";
    x.reason = "no quote for SPY";
    x.order_id = "risk-1-2";
    d.on_event("exec.reject.SPY", from("execution", x));
    REQUIRE(d.rejections().size() == 2);
    CHECK(d.rejections()[0].rule == "no_quote");
    CHECK(d.rejections()[0].source == "execution");
    CHECK(d.rejections()[1].rule == "max_position");
    CHECK(d.rejections()[1].reason == "position 150 > max_position 50");
    const std::string json = d.state_json(5, t0);
    CHECK(contains(json, "\"fills_total\":5"));
    CHECK(contains(json, "\"rejections_total\":2"));
    CHECK(contains(json, "\"rule\":\"max_position\""));
}

TEST_CASE("web: trading state and scopes from events and from the broker's status") {
    desk_state d;
    schema::trading_state_changed halt{schema::trading_state::halted, "fat finger", "operator: ann",
                                       "", ""};
    d.on_event("sys.trading", from("broker", halt));
    CHECK(d.desk_trading() == schema::trading_state::halted);
    CHECK(contains(d.state_json(1, t0),
                   "\"trading\":{\"state\":\"halted\",\"reason\":\"fat "
                   "finger\",\"by\":\"operator: ann\""));
    schema::trading_state_changed sym{schema::trading_state::reducing, "news", "operator: bob",
                                      "AAPL", ""};
    d.on_event("sys.trading.symbol.AAPL", from("broker", sym));
    REQUIRE(d.scopes().size() == 1);
    CHECK(d.scopes().begin()->first == "symbol AAPL");
    sym.state = schema::trading_state::active;
    d.on_event("sys.trading.symbol.AAPL", from("broker", sym));
    CHECK(d.scopes().empty());
    schema::trading_state_changed risk{schema::trading_state::reducing, "daily loss", "risk", "",
                                       ""};
    d.on_event("risk.state", from("risk", risk));
    CHECK(contains(d.state_json(1, t0), "\"risk\":[{\"node\":\"risk\",\"state\":\"reducing\""));

    schema::status_reply s;
    s.trading = schema::trading_state::active;
    s.trading_scopes.push_back(
        {"", "strategy", schema::trading_state::halted, "bad model", "ops", t0});
    schema::node_status n;
    n.name = "journal";
    n.kind = "journal";
    n.state = schema::health::healthy;
    n.last_heartbeat_age_ms = 120;
    n.counters.gaps = 3;
    s.nodes.push_back(n);
    s.recorder.enabled = true;
    s.recorder.sent = 42;
    d.on_status(s, t0);
    CHECK(d.desk_trading() == schema::trading_state::active);
    REQUIRE(d.scopes().size() == 1);
    CHECK(d.scopes().begin()->first == "strategy strategy");
    std::string json = d.state_json(1, t0 + 2'000'000);
    CHECK(contains(json,
                   "{\"name\":\"journal\",\"kind\":\"journal\",\"host\":\"\",\"pid\":0,"
                   "\"state\":\"healthy\",\"heartbeat_age_ms\":120,"));
    CHECK(contains(json, "\"gaps\":3"));
    CHECK(contains(json, "\"recorder\":{\"enabled\":true,\"stalled\":false,\"sent\":42"));
    CHECK(contains(json, "\"answering\":true"));
    CHECK(contains(json, "\"status_age_ms\":2"));
    // sys.node.health changes a node's state before the next status.
    schema::node_health h;
    h.node = "journal";
    h.new_state = schema::health::unhealthy;
    d.on_event("sys.node.health", from("broker", h));
    CHECK(d.nodes().at(0).state == schema::health::unhealthy);
    d.on_status_failed("the broker did not answer the status request");
    json = d.state_json(1, t0);
    CHECK(contains(json, "\"answering\":false,\"error\":\"the broker did not answer"));
}

TEST_CASE("web: SSE frames split every line into a data field") {
    CHECK(sse_frame("state", "{\"a\":1}") == "event: state\ndata: {\"a\":1}\n\n");
    CHECK(sse_frame("state", "one\ntwo\r\nthree\rfour") ==
          "event: state\ndata: one\ndata: two\ndata: three\ndata: four\n\n");
    CHECK(sse_frame("x\ny", "") == "event: x\ndata: \n\n");
}

TEST_CASE("web: JSON strings escape quotes, control bytes and invalid UTF-8") {
    std::string out;
    append_json_string(out, "a\"b\\c\n\x01\x7f\xC3\xA9\xFF");
    CHECK(out == "\"a\\\"b\\\\c\\n\\u0001\\u007f\xC3\xA9\xEF\xBF\xBD\"");
    // Whatever a peer puts in a reason, the state stays one line of JSON.
    desk_state d;
    schema::order_rejected r;
    r.rule = "x";
    r.reason = "line\nbreak \"quoted\"";
    d.on_event("risk.rejected.A", from("risk", r));
    const std::string json = d.state_json(1, t0);
    CHECK(json.find('\n') == std::string::npos);
    CHECK(contains(json, "line\\nbreak \\\"quoted\\\""));
}

TEST_CASE("web: the node answers each path, GET and HEAD only") {
    web_node node(web_config{});
    auto req = [](std::string_view method, std::string_view path, std::string_view query = "") {
        return common::http::request{method, path, query, ""};
    };
    CHECK(node.answer(req("GET", "/"), t0).code == 200);
    CHECK(contains(node.answer(req("GET", "/"), t0).body, "<title>tradebus desk</title>"));
    CHECK(node.answer(req("GET", "/"), t0).content_type == "text/html; charset=utf-8");
    CHECK(contains(node.answer(req("GET", "/app.js"), t0).body, "EventSource"));
    CHECK(node.answer(req("GET", "/app.css"), t0).content_type == "text/css; charset=utf-8");
    const auto state = node.answer(req("GET", "/state"), t0);
    CHECK(state.content_type == "application/json");
    CHECK(state.body.starts_with("{\"now_ns\":"));
    const auto events = node.answer(req("GET", "/events"), t0);
    CHECK(events.stream);
    CHECK(events.content_type == "text/event-stream; charset=utf-8");
    CHECK(contains(events.body, "event: state\ndata: {\"now_ns\":"));
    CHECK_FALSE(node.answer(req("HEAD", "/events"), t0).stream);
    CHECK(contains(node.answer(req("GET", "/topics", "q=md%2Etick"), t0).body,
                   "\"query\":\"md.tick\""));
    CHECK(node.answer(req("GET", "/nope"), t0).code == 404);
    const auto post = node.answer(req("POST", "/"), t0);
    CHECK(post.code == 405);
    CHECK(contains(post.extra_headers, "Allow: GET, HEAD\r\n"));
    CHECK(contains(post.extra_headers, "Content-Security-Policy: default-src 'self'"));
}

TEST_CASE("web: the node counts traffic after the cached values and polls the status") {
    recording_context ctx;
    ctx.now = t0;
    web_node node(web_config{});
    // A cached value delivered before the first timer is state, not traffic.
    const inbound_message cached("risk.position.AAPL", from("risk", pos("AAPL", 100, 171, 0, 5)));
    node.on_event(ctx, cached.view());
    CHECK(node.state().positions().size() == 1);
    CHECK(node.state().topic_rows() == 0);
    // The first timer asks the broker's status (one request at a time) and starts counting.
    const std::int64_t next = node.on_timer(ctx, t0);
    CHECK(next > t0);
    CHECK(next <= t0 + 500'000'000);
    REQUIRE(ctx.control.size() == 1);
    const auto req = schema::decode_control(ctx.control[0].request);
    REQUIRE(req);
    REQUIRE(std::holds_alternative<schema::status_request>(req.value()));
    CHECK(std::get<schema::status_request>(req.value()).max_topics == 0);
    (void)node.on_timer(ctx, t0 + 600'000'000);
    CHECK(ctx.control.size() == 1);  // still waiting for the first reply
    node.on_event(ctx, cached.view());
    CHECK(node.state().topic_rows() == 1);
    schema::status_reply s;
    schema::node_status n;
    n.name = "risk";
    n.state = schema::health::healthy;
    s.nodes.push_back(n);
    const schema::control_message reply = s;
    ctx.control[0].on_reply(&reply);
    REQUIRE(node.state().nodes().size() == 1);
    CHECK(node.state().nodes()[0].name == "risk");
    (void)node.on_timer(ctx, t0 + 1'200'000'000);
    CHECK(ctx.control.size() == 2);
    ctx.control[1].on_reply(nullptr);
    CHECK(contains(node.state().state_json(1, t0), "\"answering\":false"));
}

TEST_CASE("web: config defaults and errors are collected with the key (table)") {
    const auto ok = load("[web]\n");
    CHECK(ok.errors.empty());
    CHECK(ok.cfg.listen == "tcp://127.0.0.1:8470");
    CHECK(ok.cfg.max_clients == 16);
    CHECK(ok.cfg.update_interval_ms == 500);
    CHECK(ok.cfg.client_buffer_bytes == 1 << 20);
    CHECK(ok.cfg.top_topics == 20);
    CHECK(ok.cfg.max_topics == 100'000);
    struct row {
        const char* toml;
        const char* expect;
    };
    const row rows[] = {
        {"[web]\nlisten = \"127.0.0.1:8470\"\n",
         "web.toml:2:10: web.listen: expected tcp://host:port (e.g. \"tcp://127.0.0.1:8470\"), got "
         "\"127.0.0.1:8470\""},
        {"[web]\nlisten = \"tcp://127.0.0.1:0\"\n", "web.listen: expected tcp://host:port"},
        {"[web]\nlisten = \"tcp://127.0.0.1:70000\"\n", "web.listen: expected tcp://host:port"},
        {"[web]\nmax_clients = 0\n",
         "web.toml:2:15: web.max_clients: expected an integer in [1, 1024], got 0"},
        {"[web]\nupdate_interval_ms = 10\n",
         "web.update_interval_ms: expected an integer in [50, 60000], got 10"},
        {"[web]\nclient_buffer_bytes = 1024\n",
         "web.client_buffer_bytes: expected an integer in [65536, 268435456], got 1024"},
        {"[web]\ntop_topics = \"20\"\n", "web.top_topics: expected an integer, got \"20\""},
        {"[web]\nmax_topics = 5\ntop_topics = 10\n",
         "web.top_topics: expected at most max_topics (5), got 10"},
        {"[web]\nmax_client = 3\n", "web.max_client: unknown key (did you mean \"max_clients\"?)"},
        {"[web]\nactions = true\n",
         "web.tokens_file: expected the path of the operators' tokens file with actions = true"},
        {"[web]\nactions = true\ntokens_file = \"/nonexistent/tokens\"\n",
         "web.tokens_file: /nonexistent/tokens: cannot read it (No such file or directory)"},
        {"[web]\nactions = \"yes\"\n",
         "web.toml:2:11: web.actions: expected true or false, got \"yes\""},
    };
    for (const auto& r : rows) {
        CAPTURE(std::string(r.toml));
        const auto l = load(r.toml);
        std::string all;
        bool found = false;
        for (const auto& e : l.errors) {
            found = found || contains(e, r.expect);
            all += e + "\n";
        }
        CAPTURE(all);
        CHECK(found);
    }
}

TEST_CASE("web: a stream client that stops reading is dropped at client_buffer_bytes") {
    fd_loop_context ctx;
    http_limits limits;
    limits.max_clients = 4;
    limits.client_buffer_bytes = 65'536;
    http_server server(limits, [](const common::http::request& r, std::uint64_t /*ticket*/) {
        http_answer a;
        a.stream = r.path == "/events";
        a.content_type = a.stream ? "text/event-stream" : "text/plain";
        a.body = sse_frame("state", "{}");
        return a;
    });
    const int port = free_port();
    std::string error;
    REQUIRE(server.start(ctx, "tcp://127.0.0.1:" + std::to_string(port), error));
    const int reader = client(port, "GET /events HTTP/1.1\r\n\r\n");
    const int stalled = client(port, "GET /events HTTP/1.1\r\n\r\n");
    for (int i = 0; i < 200 && server.streams() < 2; ++i) ctx.turn();
    REQUIRE(server.streams() == 2);
    // Frames far beyond what the kernel buffers: the stalled client's unsent bytes pass the
    // cap and it is dropped; the one that reads keeps its stream. A frame larger than the cap
    // still reaches a client that is not behind.
    const auto frame =
        std::make_shared<const std::string>(sse_frame("state", std::string(16'384, 'x')));
    std::size_t got = 0;
    char buf[65536];
    for (int i = 0; i < 4000 && server.stats().slow_dropped == 0; ++i) {
        server.broadcast(frame);
        for (int k = 0; k < 50; ++k) {
            ctx.turn(0);
            const ssize_t n = ::recv(reader, buf, sizeof buf, MSG_DONTWAIT);
            if (n > 0) got += static_cast<std::size_t>(n);
        }
    }
    CHECK(server.stats().slow_dropped == 1);
    CHECK(server.streams() == 1);
    CHECK(got > limits.client_buffer_bytes);
    const auto big = std::make_shared<const std::string>(
        sse_frame("state", std::string(limits.client_buffer_bytes * 2, 'y')));
    for (int k = 0; k < 2000 && server.stats().slow_dropped == 1; ++k) {
        if (k % 100 == 0) server.broadcast(big);
        ctx.turn(0);
        const ssize_t n = ::recv(reader, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) got += static_cast<std::size_t>(n);
        if (got > 8 * limits.client_buffer_bytes) break;
    }
    CHECK(server.stats().slow_dropped == 1);
    CHECK(server.streams() == 1);
    // The dropped client sees its connection end.
    std::size_t drained = 0;
    for (;;) {
        const ssize_t n = ::recv(stalled, buf, sizeof buf, 0);
        if (n <= 0) break;
        drained += static_cast<std::size_t>(n);
    }
    CHECK(drained > 0);
    ::close(reader);
    ::close(stalled);
    server.stop();
}

namespace {

// A tokens file only its owner may read (load_tokens refuses one others can).
std::string tokens_file(const scratch_dir& dir, const std::string& text,
                        std::filesystem::perms perms = std::filesystem::perms::owner_read |
                                                       std::filesystem::perms::owner_write) {
    const std::string path = dir.file("tokens");
    {
        std::ofstream out(path, std::ios::trunc);
        out << text;
    }
    std::filesystem::permissions(path, perms);
    return path;
}

}  // namespace

TEST_CASE("web actions: the tokens file, and what is wrong with it (table)") {
    scratch_dir dir("web-tokens");
    const std::string good =
        tokens_file(dir,
                    "# desk operators\n\nalice  aaaaaaaaaaaaaaaaaaaaaaaa\r\nbob.b@desk-1 "
                    "B0b/+token=with.symbols_0123\n");
    std::string error;
    const auto ops = load_tokens(good, error);
    REQUIRE_MESSAGE(ops, error);
    REQUIRE(ops->size() == 2);
    CHECK((*ops)[0].name == "alice");
    CHECK((*ops)[0].token == "aaaaaaaaaaaaaaaaaaaaaaaa");
    CHECK((*ops)[1].name == "bob.b@desk-1");
    CHECK(authenticate(*ops, "Bearer aaaaaaaaaaaaaaaaaaaaaaaa") == "alice");
    CHECK(authenticate(*ops, "bearer B0b/+token=with.symbols_0123") == "bob.b@desk-1");
    CHECK_FALSE(authenticate(*ops, "Bearer aaaaaaaaaaaaaaaaaaaaaaab"));
    CHECK_FALSE(authenticate(*ops, "Bearer aaaaaaaaaaaaaaaaaaaaaaa"));  // a prefix
    CHECK_FALSE(authenticate(*ops, "Basic YWxpY2U6eA=="));
    CHECK_FALSE(authenticate(*ops, "Bearer "));
    CHECK_FALSE(authenticate(*ops, std::nullopt));

    struct row {
        std::string text;
        const char* expect;
    };
    const row rows[] = {
        {"", "expected at least one line NAME TOKEN"},
        {"# only a comment\n", "expected at least one line NAME TOKEN"},
        {"alice short\n", ":1: expected a TOKEN of 24..256 printable characters"},
        {"alice\n", ":1: expected a TOKEN of 24..256"},
        {"al ice aaaaaaaaaaaaaaaaaaaaaaaa\n", ":1: expected a TOKEN of 24..256"},
        {"al!ce aaaaaaaaaaaaaaaaaaaaaaaa\n", ":1: expected NAME TOKEN with NAME of 1..64"},
        {"a aaaaaaaaaaaaaaaaaaaaaaaa\na bbbbbbbbbbbbbbbbbbbbbbbb\n",
         ":2: operator a is listed twice"},
        {"a aaaaaaaaaaaaaaaaaaaaaaaa\nb aaaaaaaaaaaaaaaaaaaaaaaa\n",
         ":2: this token is already another operator's"},
        {"a aaaaaaaaaaaaaaaaaaaaaaa\xff\n", ":1: expected a TOKEN of 24..256"},
    };
    for (const auto& r : rows) {
        CAPTURE(r.text);
        error.clear();
        CHECK_FALSE(load_tokens(tokens_file(dir, r.text), error));
        CHECK(contains(error, r.expect));
        CHECK(error.starts_with(dir.file("tokens")));
    }
    error.clear();
    const auto open =
        tokens_file(dir, "alice aaaaaaaaaaaaaaaaaaaaaaaa\n",
                    std::filesystem::perms::owner_read | std::filesystem::perms::others_read);
    CHECK_FALSE(load_tokens(open, error));
    CHECK(contains(error, "other users may read or write it (mode 0404)"));
    CHECK(contains(error, "chmod o-rwx"));
    error.clear();
    CHECK_FALSE(load_tokens(dir.file("missing"), error));
    CHECK(contains(error, "cannot read it (No such file or directory)"));
}

TEST_CASE("web actions: each action's form becomes the CLI's control request") {
    std::string error;
    auto a = parse_action("halt", "symbol=AAPL&reason=news+pending&reduce_only=1", "alice via web",
                          7, error);
    REQUIRE_MESSAGE(a, error);
    CHECK(a->what == "halt symbol AAPL (reduce-only)");
    CHECK(a->request_id == 0);  // the broker answers a halt itself
    const auto& h = std::get<schema::halt_request>(a->request);
    CHECK(h.symbol == "AAPL");
    CHECK(h.strategy.empty());
    CHECK(h.reason == "news pending");
    CHECK(h.by == "alice via web");
    CHECK(h.reduce_only);

    a = parse_action("resume", "", "alice via web", 7, error);
    REQUIRE(a);
    CHECK(a->what == "resume the desk");
    CHECK(std::get<schema::resume_request>(a->request).by == "alice via web");

    a = parse_action("flatten", "symbol=MSFT", "bob via web", 42, error);
    REQUIRE(a);
    CHECK(a->what == "flatten MSFT");
    CHECK(a->request_id == 42);
    CHECK(std::get<schema::flatten_command>(a->request).request_id == 42);

    a = parse_action("cancel", "all=1&reason=eod", "bob via web", 43, error);
    REQUIRE(a);
    CHECK(a->what == "cancel every order");
    const auto& c = std::get<schema::cancel_command>(a->request);
    CHECK(c.all);
    CHECK(c.request_id == 43);
    CHECK(c.reason == "eod");
    a = parse_action("cancel", "order_id=risk-1-2", "bob via web", 44, error);
    REQUIRE(a);
    CHECK(a->what == "cancel order risk-1-2");

    struct row {
        const char* verb;
        std::string form;
        const char* expect;
    };
    const row rows[] = {
        {"halt", "size=1",
         "expected the fields symbol, strategy, reason, reduce_only; got \"size\""},
        {"resume", "reduce_only=1", "expected the fields symbol, strategy, reason; got"},
        {"halt", "symbol=A&symbol=B", "expected the field symbol once, got it twice"},
        {"halt", "reduce_only=yes", "expected reduce_only = 1 or 0, got \"yes\""},
        {"cancel", "all=2", "expected all = 1 or 0, got \"2\""},
        {"flatten", "order_id=x", "expected the fields symbol, reason; got \"order_id\""},
        {"halt", "reason=" + std::string(257, 'r'), "expected reason of at most 256 bytes"},
        {"halt", "symbol=" + std::string(65, 'S'), "expected symbol of at most 64 bytes"},
        {"sell", "", "expected an action: POST /actions/halt"},
    };
    for (const auto& r : rows) {
        CAPTURE(r.form);
        error.clear();
        CHECK_FALSE(parse_action(r.verb, r.form, "x", 1, error));
        CHECK(contains(error, r.expect));
    }
}

TEST_CASE("web actions: the log follows each action to the broker's and execution's answer") {
    action_log log(3);
    const auto halt = log.add(t0, "alice via web", "halt the desk", 0);
    const auto cancel = log.add(t0, "alice via web", "cancel every order", 11);
    const auto flatten = log.add(t0, "bob via web", "flatten AAPL", 12);
    CHECK(log.entries().front().id == flatten);  // newest first
    CHECK(log.entries().front().st == action_log::status::sent);

    const schema::control_message ok = schema::ok_reply{"trading halted (was active)"};
    const auto* e = log.on_reply(halt, &ok);
    REQUIRE(e);
    CHECK(e->st == action_log::status::done);
    CHECK(e->detail == "trading halted (was active)");
    // Cancel and flatten: accepted by the broker, done when execution and risk answer.
    e = log.on_reply(cancel, &ok);
    REQUIRE(e);
    CHECK(e->st == action_log::status::accepted);
    CHECK_FALSE(
        log.on_event(from("execution", schema::cancel_done{.request_id = 99, .cancelled = 1})));
    CHECK(log.on_event(from("execution", schema::cancel_done{.request_id = 11, .cancelled = 3})));
    CHECK(log.entries()[1].st == action_log::status::done);
    CHECK(log.entries()[1].detail == "3 order(s) cancelled");
    (void)log.on_reply(flatten, &ok);
    // Flatten's own cancel (same request id) does not end it; its flatten_done does.
    CHECK_FALSE(
        log.on_event(from("execution", schema::cancel_done{.request_id = 12, .cancelled = 1})));
    schema::flatten_done done;
    done.request_id = 12;
    done.symbol = "AAPL";
    done.cancelled = 1;
    done.closing.resize(1);
    done.left.push_back({.symbol = "AAPL", .qty = 5, .reason = "halted"});
    CHECK(log.on_event(from("risk", done)));
    CHECK(log.entries()[0].st == action_log::status::done);
    CHECK(log.entries()[0].detail ==
          "1 order(s) cancelled, 1 closing order(s) sent, 1 position(s) left open (AAPL: halted)");

    // Refusals: the broker's error, execution's reject, no answer; a halt that could not be
    // saved is in force all the same.
    const schema::control_message refused =
        schema::error_reply{"not_allowed", "halt refused: client \"web\" is not an operator"};
    const auto r1 = log.add(t0, "alice via web", "resume the desk", 0);
    CHECK(log.on_reply(r1, &refused)->st == action_log::status::refused);
    const schema::control_message unsaved =
        schema::error_reply{"not_durable", "trading halted (was active), but not saved"};
    const auto r2 = log.add(t0, "alice via web", "halt the desk", 0);
    CHECK(log.on_reply(r2, &unsaved)->st == action_log::status::done);
    const auto r3 = log.add(t0, "alice via web", "halt the desk", 0);
    CHECK(log.on_reply(r3, nullptr)->st == action_log::status::unknown);
    CHECK(log.entries().size() == 3);      // kept to its bound
    CHECK_FALSE(log.on_reply(halt, &ok));  // pushed out
    const auto r4 = log.add(t0, "alice via web", "cancel order x", 13);
    CHECK(log.on_reply(r4, &ok)->st == action_log::status::accepted);
    CHECK(log.on_event(from("execution", schema::cancel_reject{.request_id = 13,
                                                               .order_id = "x",
                                                               .symbol = "",
                                                               .code = "unknown_order",
                                                               .reason = "no such order"})));
    CHECK(log.entries()[0].detail == "refused by execution: unknown_order: no such order");
    // Execution's answer may come before the broker's reply: it stays.
    const auto r6 = log.add(t0, "alice via web", "cancel every order", 14);
    CHECK(log.on_event(from("execution", schema::cancel_done{.request_id = 14, .cancelled = 2})));
    CHECK(log.on_reply(r6, &ok)->st == action_log::status::done);
    CHECK(log.entries()[0].detail == "2 order(s) cancelled");
    const auto r5 = log.add(t0, "alice via web", "halt the desk", 0);
    CHECK(log.on_not_sent(r5)->st == action_log::status::refused);
    std::string json;
    log.append_json(json);
    CHECK(json.starts_with("[{\"id\":" + std::to_string(r5) + ",\"ts_ns\":"));
    CHECK(contains(json,
                   "\"by\":\"alice via web\",\"what\":\"cancel order x\",\"request_id\":\"13\","
                   "\"status\":\"refused\""));
}

TEST_CASE("web actions: off by default (403), POST only (405), a token required (401)") {
    auto req = [](std::string_view method, std::string_view path, std::string_view headers = "") {
        common::http::request r{method, path, "", headers};
        return r;
    };
    web_node off(web_config{});
    auto a = off.answer(req("POST", "/actions/halt"), t0, 1);
    CHECK(a.code == 403);
    CHECK(contains(a.body, "operator actions are off on this page ([web] actions = false)"));
    CHECK(a.content_type == "application/json");
    a = off.answer(req("GET", "/actions/halt"), t0, 1);
    CHECK(a.code == 405);
    CHECK(contains(a.extra_headers, "Allow: POST\r\n"));
    CHECK(contains(off.answer(req("GET", "/state"), t0).body,
                   "\"actions\":{\"enabled\":false,\"log\":[]}}"));

    web_config cfg;
    cfg.actions = true;
    cfg.operators = {{"alice", "aaaaaaaaaaaaaaaaaaaaaaaa"}};
    web_node on(cfg);
    a = on.answer(req("POST", "/actions/halt"), t0, 1);
    CHECK(a.code == 401);
    CHECK(contains(a.extra_headers, "WWW-Authenticate: Bearer"));
    a = on.answer(req("POST", "/actions/halt", "Authorization: Bearer wrong\r\n"), t0, 1);
    CHECK(a.code == 401);
    // The right token, but the node is not registered with a broker: nothing is sent.
    a = on.answer(
        req("POST", "/actions/halt", "Authorization: Bearer aaaaaaaaaaaaaaaaaaaaaaaa\r\n"), t0, 1);
    CHECK(a.code == 503);
    CHECK(contains(a.body, "nothing was sent"));
    CHECK(on.actions().entries().empty());
    auto bad = req("POST", "/actions/halt", "Authorization: Bearer aaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    bad.body = "symbol=AAPL";
    CHECK(on.answer(bad, t0, 1).code == 415);  // a body without its form type
    CHECK(contains(on.answer(req("GET", "/state"), t0).body, "\"actions\":{\"enabled\":true,"));
}
