// Market data over FIX with real processes: a real broker, the real tradebus-marketdata with
// source = "fix", and a scripted FIX venue inside this test (a tradebus::fix::engine acceptor
// on a free loopback port). The venue answers the node's MarketDataRequest with snapshots and
// incremental refreshes; a bus subscriber checks the ticks, the broker's status the node's
// health (stale feed, rejected request, disconnect and re-subscription). Deadlines are hang
// guards, not timing assertions.
#include <doctest/doctest.h>
#include <poll.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bus_clients.hpp"
#include "net.hpp"
#include "node_process.hpp"
#include "pipeline.hpp"
#include "tradebus/fix/config.hpp"
#include "tradebus/fix/engine.hpp"
#include "tradebus/fix/wire.hpp"
#include "tradebus/schema/topics.hpp"

using namespace tradebus;
using namespace tradebus::test;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t stale_after_ms = 1500;

// The scripted venue: a FIX acceptor whose events the test waits for.
class venue {
  public:
    venue(const temp_dir& dir, int port) {
        fix::session_settings s;
        s.acceptor = true;
        s.sender_comp_id = "VENUE";
        s.target_comp_id = "TB-MD";
        s.port = port;
        s.reset_on_logon = true;
        s.data_dictionary = fix::default_dictionary();
        s.store_dir = dir.file("venue-store").string();
        engine_ = std::make_unique<fix::engine>(s);
        engine_->start();
    }
    ~venue() { engine_->stop(); }
    venue(const venue&) = delete;
    venue& operator=(const venue&) = delete;

    // Waits until an event `match` accepts arrives (earlier ones are kept in `seen`); fails
    // the test after `guard`.
    fix::event expect(const std::function<bool(const fix::event&)>& match,
                      std::chrono::milliseconds guard, std::string_view what) {
        const auto deadline = std::chrono::steady_clock::now() + guard;
        while (std::chrono::steady_clock::now() < deadline) {
            for (; next_ < seen.size(); ++next_) {
                if (match(seen[next_])) return seen[next_++];
            }
            pollfd p{engine_->event_fd(), POLLIN, 0};
            (void)::poll(&p, 1, 50);
            for (auto& e : engine_->drain()) seen.push_back(std::move(e));
        }
        FAIL("the venue saw no " << what << " within " << guard.count() << " ms");
        return {};
    }
    // The next MarketDataRequest, parsed.
    fix::message expect_request(std::chrono::milliseconds guard) {
        const auto ev = expect(
            [](const fix::event& e) {
                return e.kind == fix::event::app_message && e.raw.find(
                                                                "\x01"
                                                                "35=V\x01") != std::string::npos;
            },
            guard, "MarketDataRequest (35=V)");
        std::string error;
        auto m = fix::message::parse(ev.raw, error);
        REQUIRE_MESSAGE(m.has_value(), error);
        return *m;
    }
    // Sends `type` with `body` ('|' for SOH).
    void send(const std::string& type, std::string body) {
        for (auto& c : body) {
            if (c == '|') c = fix::soh;
        }
        std::string error;
        REQUIRE_MESSAGE(engine_->send("", type, body, error), error);
    }
    void disconnect() { engine_->disconnect(""); }
    bool logged_on() const { return engine_->logged_on(""); }

    std::vector<fix::event> seen;

  private:
    std::unique_ptr<fix::engine> engine_;
    std::size_t next_ = 0;
};

std::string node_table(const temp_dir& dir, int port) {
    return "[marketdata]\nsource = \"fix\"\nbar_interval_ms = 1000\n"
           "[marketdata.fix]\nsender_comp_id = \"TB-MD\"\ntarget_comp_id = \"VENUE\"\n"
           "host = \"127.0.0.1\"\nport = " +
           std::to_string(port) + "\nstore_dir = \"" + dir.file("md-store").string() +
           "\"\nreset_on_logon = true\nreconnect_interval_s = 1\nheartbeat_interval_s = 30\n"
           "symbols = [\"AAPL\", \"MSFT\"]\nstale_after_ms = " +
           std::to_string(stale_after_ms) + "\n";
}

schema::health node_state(broker_process& broker, const std::string& name) {
    for (const auto& n : broker.status().nodes) {
        if (n.name == name) return n.state;
    }
    return schema::health::stopped;
}

// Polls the broker's status until the node is in `state`, calling `feed` (the venue's quotes)
// between polls; fails the test after `guard`.
void wait_state(broker_process& broker, schema::health state, const std::function<void()>& feed,
                std::chrono::milliseconds guard) {
    const auto deadline = std::chrono::steady_clock::now() + guard;
    schema::health last = schema::health::stopped;
    while (std::chrono::steady_clock::now() < deadline) {
        if (feed) feed();
        last = node_state(broker, "md");
        if (last == state) return;
        std::this_thread::sleep_for(100ms);  // polling interval only
    }
    FAIL("md not " << schema::to_string(state) << " within " << guard.count()
                   << " ms (last: " << schema::to_string(last) << ")");
}

bool has_tick(const seen& s, std::string_view symbol, std::int64_t bid_px, std::int64_t bid_qty,
              std::int64_t ask_px, std::int64_t ask_qty, std::int64_t last_px,
              std::int64_t last_qty) {
    const auto* t = std::get_if<schema::tick>(&s.ev.body);
    return t != nullptr && s.topic == "md.tick." + std::string(symbol) && t->symbol == symbol &&
           t->bid_px == bid_px && t->bid_qty == bid_qty && t->ask_px == ask_px &&
           t->ask_qty == ask_qty && t->last_px == last_px && t->last_qty == last_qty;
}

}  // namespace

TEST_CASE(
    "fix marketdata: subscribes, publishes W and X as ticks, degrades when stale, "
    "rejected or disconnected, and subscribes again after a reconnect") {
    zmq::context_t zctx;
    temp_dir dir;
    broker_process broker(zctx, dir);
    const int port = free_tcp_port();
    venue v(dir, port);
    bus_log ticks(zctx, broker.xpub, {"md.tick."});
    auto node = start_node(broker, dir, "marketdata", "md", node_table(dir, port));

    // Logon, then the MarketDataRequest for both symbols.
    (void)v.expect([](const fix::event& e) { return e.kind == fix::event::logon; }, 15s, "logon");
    const auto req = v.expect_request(10s);
    CHECK(req.get(fix::tag::subscription_request_type) == "1");
    CHECK(req.get(fix::tag::market_depth) == "1");
    CHECK(req.get(fix::tag::md_update_type) == "1");
    CHECK(req.get(fix::tag::no_md_entry_types) == "3");
    std::vector<std::string> types, symbols;
    for (const auto& f : req.fields()) {
        if (f.tag == fix::tag::md_entry_type) types.emplace_back(req.value(f));
        if (f.tag == fix::tag::symbol) symbols.emplace_back(req.value(f));
    }
    CHECK(types == std::vector<std::string>{"0", "1", "2"});
    CHECK(symbols == std::vector<std::string>{"AAPL", "MSFT"});
    const std::string req_id(req.get(fix::tag::md_req_id).value_or(""));
    CHECK_FALSE(req_id.empty());

    // Snapshot, then an incremental change: ticks with exactly those prices and sizes.
    v.send("W", "262=" + req_id +
                    "|55=AAPL|268=3|269=0|270=189.5|271=100|269=1|270=189.52|271=200|"
                    "269=2|270=189.51|271=40|");
    v.send("W", "262=" + req_id + "|55=MSFT|268=2|269=0|270=417.1|271=5|269=1|270=417.2|271=6|");
    v.send("X", "262=" + req_id +
                    "|268=2|279=1|269=0|55=AAPL|270=189.49|271=300|"
                    "279=0|269=2|55=AAPL|270=189.52|271=25|");
    (void)ticks.expect(
        [](const seen& s) {
            return has_tick(s, "AAPL", 18950000000, 100, 18952000000, 200, 18951000000, 40);
        },
        10s, "AAPL snapshot tick");
    (void)ticks.expect(
        [](const seen& s) {
            return has_tick(s, "AAPL", 18949000000, 300, 18952000000, 200, 18952000000, 25);
        },
        10s, "AAPL incremental tick");
    CHECK(ticks.events.front().ev.env.trace_id != ticks.events.back().ev.env.trace_id);

    // Both symbols quoted: healthy while quotes keep coming.
    int n = 0;
    const auto feed = [&] {
        const std::string px = "189." + std::to_string(60 + (n++ % 30));
        v.send("X", "268=2|279=1|269=1|55=AAPL|270=" + px + "|271=7|" +
                        "279=1|269=1|55=MSFT|270=417.3|271=8|");
    };
    wait_state(broker, schema::health::healthy, feed, 10s);

    // Quotes stop: stale after stale_after_ms; they resume: healthy again.
    wait_state(broker, schema::health::degraded, nullptr, 10s);
    CHECK(log_shows(*node, "market data stale: AAPL for", 5s));
    wait_state(broker, schema::health::healthy, feed, 10s);

    // A rejected request: degraded although quotes keep coming (until the next logon).
    v.send("Y", "262=" + req_id + "|281=3|58=not entitled|");
    wait_state(broker, schema::health::degraded, feed, 10s);
    CHECK(log_shows(
        *node, "market data request rejected: insufficient permissions (3): not entitled", 5s));
    for (int i = 0; i < 5; ++i) {
        feed();
        std::this_thread::sleep_for(100ms);
    }
    CHECK(node_state(broker, "md") == schema::health::degraded);

    // The venue drops the connection: the node logs on again and subscribes again.
    v.disconnect();
    (void)v.expect([](const fix::event& e) { return e.kind == fix::event::logout; }, 10s,
                   "logout after the disconnect");
    CHECK(log_shows(*node, "reporting degraded: venue disconnected", 10s));
    (void)v.expect([](const fix::event& e) { return e.kind == fix::event::logon; }, 15s,
                   "second logon");
    const auto req2 = v.expect_request(10s);
    const std::string req_id2(req2.get(fix::tag::md_req_id).value_or(""));
    CHECK(req_id2 != req_id);
    // An answer to the old request is dropped; the new snapshot is the state.
    v.send("W", "262=" + req_id + "|55=AAPL|268=2|269=0|270=1|271=1|269=1|270=2|271=1|");
    v.send("W", "262=" + req_id2 + "|55=AAPL|268=2|269=0|270=190|271=1|269=1|270=190.02|271=2|");
    v.send("W", "262=" + req_id2 + "|55=MSFT|268=2|269=0|270=418|271=3|269=1|270=418.1|271=4|");
    (void)ticks.expect(
        [](const seen& s) { return has_tick(s, "AAPL", 19000000000, 1, 19002000000, 2, 0, 0); },
        10s, "AAPL snapshot tick after the reconnect");
    for (const auto& e : ticks.events) {
        const auto* t = std::get_if<schema::tick>(&e.ev.body);
        CHECK((t == nullptr || t->bid_px != schema::price_scale));
    }
    wait_state(broker, schema::health::healthy, feed, 10s);
    CHECK(node->running());
}
