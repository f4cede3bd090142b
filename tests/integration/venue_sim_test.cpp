// tradebus-venue-sim as a process over loopback: the test is a FIX client (fix::engine as an
// initiator in this process, its event fd polled here) and drives the house market through the
// simulator's control endpoint (market source "none", so every price is the test's). Each
// deadline is a hang guard, not a timing assertion.
#include <doctest/doctest.h>

#ifdef TRADEBUS_EXE_TRADEBUS_VENUE_SIM

#include <poll.h>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <zmq.hpp>

#include "net.hpp"
#include "process_guard.hpp"
#include "temp_dir.hpp"
#include "tradebus/common/process.hpp"
#include "tradebus/fix/config.hpp"
#include "tradebus/fix/engine.hpp"
#include "tradebus/fix/wire.hpp"

using namespace tradebus;
using namespace tradebus::test;
using namespace std::chrono_literals;
namespace tag = tradebus::fix::tag;

namespace {

bool has(const std::string& text, std::string_view part) {
    return text.find(part) != std::string::npos;
}

// The simulator with a config in `dir`: port, store and control endpoint of its own.
struct venue_sim {
    explicit venue_sim(const temp_dir& dir, const std::string& market = "source = \"none\"\n")
        : port(free_tcp_port()), control(ipc_endpoint(dir, "venue.ctl")) {
        config = dir.write("venue-sim.toml",
                           "[venue]\nsender_comp_id = \"VENUE\"\nport = " + std::to_string(port) +
                               "\nstore_dir = \"" + dir.file("venue-store").string() +
                               "\"\nclients = [\"TRADEBUS\", \"TRADEBUS-MD\"]\ncontrol = \"" +
                               control + "\"\nlog_level = \"debug\"\n[market]\n" + market +
                               "[market.symbols.AAPL]\n"
                               "[market.symbols.MSFT]\n");
        proc = std::make_unique<process_guard>(
            TRADEBUS_EXE_TRADEBUS_VENUE_SIM, std::vector<std::string>{"--config", config.string()},
            dir.file("venue-sim.log"));
        REQUIRE(log_shows(*proc, "listening on port"));
    }

    // One control request -> its reply ("" when none came within 5 s).
    std::string ctl(const std::string& request) {
        zmq::socket_t req(ctx, zmq::socket_type::req);
        req.set(zmq::sockopt::linger, 0);
        req.set(zmq::sockopt::rcvtimeo, 5000);
        req.connect(control);
        req.send(zmq::buffer(request), zmq::send_flags::none);
        zmq::message_t reply;
        if (!req.recv(reply, zmq::recv_flags::none)) return "";
        return reply.to_string();
    }

    zmq::context_t ctx;
    int port;
    std::string control;
    std::filesystem::path config;
    std::unique_ptr<process_guard> proc;
};

// A FIX client of the simulator: the engine as an initiator, its events pumped here.
class client {
  public:
    client(const temp_dir& dir, int port, const std::string& sender, const std::string& store)
        : store_(dir.file(store).string()) {
        settings_.sender_comp_id = sender;
        settings_.target_comp_id = "VENUE";
        settings_.port = port;
        settings_.heartbeat_s = 5;
        settings_.reconnect_s = 1;
        settings_.data_dictionary = fix::default_dictionary();
        settings_.store_dir = store_;
        session = fix::session_name(sender, "VENUE");
        start();
    }

    void start() {
        engine_ = std::make_unique<fix::engine>(settings_);
        engine_->start();
    }
    // Logs out and stops (the store stays for the next start()).
    void stop() {
        engine_->stop();
        pump(0ms);
        engine_.reset();
    }

    // Takes the engine's events for up to `for_at_most` (at least one wait).
    void pump(std::chrono::milliseconds for_at_most) {
        pollfd p{engine_->event_fd(), POLLIN, 0};
        (void)::poll(&p, 1, static_cast<int>(for_at_most.count()));
        for (auto& e : engine_->drain()) {
            if (e.kind == fix::event::logon) ++logons;
            if (e.kind == fix::event::logout) ++logouts;
            if (e.kind == fix::event::reject_sent) rejects.push_back(e.raw);
            if (e.kind == fix::event::admin_message && has(e.raw,
                                                           "\x01"
                                                           "35=3\x01")) {
                session_rejects.push_back(e.raw);
            }
            if (e.kind != fix::event::app_message) continue;
            std::string error;
            auto m = fix::message::parse(e.raw, error);
            REQUIRE_MESSAGE(m, error);
            inbox.push_back(std::move(*m));
        }
    }

    bool wait_logons(int n, std::chrono::milliseconds guard = 10s) {
        const auto end = std::chrono::steady_clock::now() + guard;
        while (logons < n && std::chrono::steady_clock::now() < end) pump(50ms);
        return logons >= n;
    }

    // The first received message (removed from the inbox) that `match` accepts, or nullopt
    // after `guard`.
    std::optional<fix::message> wait_for(const std::function<bool(const fix::message&)>& match,
                                         std::chrono::milliseconds guard = 5s) {
        const auto end = std::chrono::steady_clock::now() + guard;
        for (;;) {
            for (auto it = inbox.begin(); it != inbox.end(); ++it) {
                if (match(*it)) {
                    fix::message m = std::move(*it);
                    inbox.erase(it);
                    return m;
                }
            }
            if (std::chrono::steady_clock::now() >= end) return std::nullopt;
            pump(50ms);
        }
    }

    // The next ExecutionReport for ClOrdID `id` with ExecType `exec_type`.
    std::optional<fix::message> report(const std::string& id, std::string_view exec_type,
                                       std::chrono::milliseconds guard = 5s) {
        return wait_for(
            [&](const fix::message& m) {
                return m.type() == "8" && m.get(tag::cl_ord_id) == id &&
                       m.get(tag::exec_type) == exec_type;
            },
            guard);
    }

    void send(const std::string& type, const fix::body& b) {
        std::string error;
        REQUIRE_MESSAGE(engine_->send(session, type, b.str(), error), error);
    }

    // A NewOrderSingle; px "" for MARKET.
    void order(const std::string& id, char side, std::int64_t qty, const std::string& px,
               char tif = '0', const std::string& symbol = "AAPL") {
        fix::body b;
        b.add(tag::cl_ord_id, id).add(tag::symbol, symbol).add(tag::side, std::string(1, side));
        b.add(tag::transact_time, fix::utc_timestamp(common::now_ns()));
        b.add(tag::order_qty, qty).add(tag::ord_type, px.empty() ? "1" : "2");
        if (!px.empty()) b.add(tag::price, px);
        b.add(tag::time_in_force, std::string(1, tif));
        send("D", b);
    }

    void cancel(const std::string& id, const std::string& orig, char side = '1') {
        fix::body b;
        b.add(tag::orig_cl_ord_id, orig).add(tag::cl_ord_id, id).add(tag::symbol, "AAPL");
        b.add(tag::side, std::string(1, side)).add(tag::order_qty, std::int64_t{1});
        b.add(tag::transact_time, fix::utc_timestamp(common::now_ns()));
        send("F", b);
    }

    [[nodiscard]] bool logged_on() const { return engine_->logged_on(session); }

    std::string session;
    int logons = 0, logouts = 0;
    std::deque<fix::message> inbox;
    std::vector<std::string> rejects, session_rejects;

  private:
    std::string store_;
    fix::session_settings settings_;
    std::unique_ptr<fix::engine> engine_;
};

std::string val(const std::optional<fix::message>& m, int t) {
    if (!m) return "<none>";
    return std::string(m->get(t).value_or("<absent>"));
}

}  // namespace

TEST_CASE("venue sim: orders rest, fill on the house quote, IOC rest, cancels and status") {
    temp_dir dir;
    venue_sim sim(dir);
    client c(dir, sim.port, "TRADEBUS", "client-store");
    REQUIRE(c.wait_logons(1));

    REQUIRE(sim.ctl(R"({"cmd":"quote","symbol":"AAPL","bid":"189.40","ask":"189.60"})") ==
            R"({"ok":true,"matches":0})");

    // A LIMIT BUY below the ask rests.
    c.order("b1", '1', 40, "189.50");
    auto ack = c.report("b1", "0");
    REQUIRE(ack);
    CHECK(val(ack, tag::ord_status) == "0");
    CHECK(val(ack, tag::leaves_qty) == "40");
    CHECK(val(ack, tag::order_id) != "NONE");
    CHECK(has(sim.ctl(R"({"cmd":"orders","client":"TRADEBUS"})"), R"("cl_ord_id":"b1")"));

    // The house's ask moves through it: filled at the order's own price.
    REQUIRE(sim.ctl(R"({"cmd":"quote","symbol":"AAPL","bid":"189.30","ask":"189.45"})") ==
            R"({"ok":true,"matches":1})");
    auto fill = c.report("b1", "F");
    REQUIRE(fill);
    CHECK(val(fill, tag::last_px) == "189.5");
    CHECK(val(fill, tag::last_qty) == "40");
    CHECK(val(fill, tag::cum_qty) == "40");
    CHECK(val(fill, tag::leaves_qty) == "0");
    CHECK(val(fill, tag::ord_status) == "2");
    CHECK(val(fill, tag::avg_px) == "189.5");
    const std::string exec_id = val(fill, tag::exec_id);
    CHECK(sim.ctl(R"({"cmd":"positions"})") ==
          R"({"positions":{"TRADEBUS":{"AAPL":40},"TRADEBUS-MD":{}}})");
    auto execs = sim.ctl(R"({"cmd":"executions"})");
    CAPTURE(execs);
    CHECK(has(execs, "\"exec_id\":\"" + exec_id + "\""));
    CHECK(has(execs, R"("owner":"TRADEBUS","cl_ord_id":"b1")"));
    CHECK(has(execs, R"("side":"BUY","qty":40,"px":"189.50")"));

    // IOC: 30 of 50 fill at the house's ask, the rest is cancelled.
    REQUIRE(has(sim.ctl(R"({"cmd":"quote","symbol":"AAPL","bid":"189.30","ask":"189.45",)"
                        R"("bid_qty":100,"ask_qty":30})"),
                R"("ok":true)"));
    c.order("i1", '1', 50, "189.46", '3');
    REQUIRE(c.report("i1", "0"));
    auto part = c.report("i1", "F");
    REQUIRE(part);
    CHECK(val(part, tag::last_qty) == "30");
    CHECK(val(part, tag::last_px) == "189.45");
    CHECK(val(part, tag::leaves_qty) == "20");
    auto rest = c.report("i1", "4");
    REQUIRE(rest);
    CHECK(val(rest, tag::cum_qty) == "30");
    CHECK(val(rest, tag::leaves_qty) == "0");
    CHECK(val(rest, tag::ord_status) == "4");
    CHECK(sim.ctl(R"({"cmd":"positions"})") ==
          R"({"positions":{"TRADEBUS":{"AAPL":70},"TRADEBUS-MD":{}}})");

    // Cancel of a resting SELL: Canceled with the cancel's ClOrdID and the order's OrigClOrdID.
    c.order("s1", '2', 10, "200.00", '1');
    REQUIRE(c.report("s1", "0"));
    c.cancel("c1", "s1", '2');
    auto cxl = c.report("c1", "4");
    REQUIRE(cxl);
    CHECK(val(cxl, tag::orig_cl_ord_id) == "s1");
    CHECK(val(cxl, tag::ord_status) == "4");
    CHECK(val(cxl, tag::leaves_qty) == "0");

    // Cancel of an unknown order, and of a filled one: OrderCancelReject.
    c.cancel("c2", "nope");
    auto rej = c.wait_for([](const fix::message& m) { return m.type() == "9"; });
    REQUIRE(rej);
    CHECK(val(rej, tag::cl_ord_id) == "c2");
    CHECK(val(rej, tag::orig_cl_ord_id) == "nope");
    CHECK(val(rej, tag::cxl_rej_reason) == "1");
    CHECK(val(rej, tag::cxl_rej_response_to) == "1");
    c.cancel("c3", "b1");
    rej = c.wait_for([](const fix::message& m) { return m.type() == "9"; });
    REQUIRE(rej);
    CHECK(val(rej, tag::cxl_rej_reason) == "0");
    CHECK(val(rej, tag::ord_status) == "2");

    // Cancel/replace is refused.
    {
        fix::body b;
        b.add(tag::orig_cl_ord_id, "s1").add(tag::cl_ord_id, "r1").add(tag::symbol, "AAPL");
        b.add(tag::side, "2").add(tag::order_qty, std::int64_t{5}).add(tag::ord_type, "2");
        b.add(tag::price, "201").add(tag::transact_time, fix::utc_timestamp(common::now_ns()));
        c.send("G", b);
        rej = c.wait_for([](const fix::message& m) { return m.type() == "9"; });
        REQUIRE(rej);
        CHECK(val(rej, tag::cxl_rej_response_to) == "2");
        CHECK(val(rej, tag::text) == "cancel/replace not supported");
    }

    // Order status: known (filled) and unknown.
    auto status = [&](const std::string& id) {
        fix::body b;
        b.add(tag::cl_ord_id, id).add(tag::symbol, "AAPL").add(tag::side, "1");
        c.send("H", b);
        return c.report(id, "I");
    };
    auto st = status("b1");
    REQUIRE(st);
    CHECK(val(st, tag::ord_status) == "2");
    CHECK(val(st, tag::cum_qty) == "40");
    st = status("ghost");
    REQUIRE(st);
    CHECK(val(st, tag::ord_status) == "8");
    CHECK(val(st, tag::text) == "unknown order");

    // Mass status: none open, then two.
    auto mass = [&](const std::string& req) {
        fix::body b;
        b.add(tag::mass_status_req_id, req).add(tag::mass_status_req_type, "7");
        c.send("AF", b);
    };
    auto of_req = [](const std::string& req) {
        return [req](const fix::message& m) {
            return m.type() == "8" && m.get(tag::mass_status_req_id) == req;
        };
    };
    mass("m1");
    auto none = c.wait_for(of_req("m1"));
    REQUIRE(none);
    CHECK(val(none, tag::tot_num_reports) == "0");
    CHECK(val(none, tag::last_rpt_requested) == "Y");
    CHECK(val(none, tag::exec_type) == "I");
    c.order("o1", '1', 5, "100.00", '1');
    c.order("o2", '2', 7, "300.00", '1');
    REQUIRE(c.report("o1", "0"));
    REQUIRE(c.report("o2", "0"));
    mass("m2");
    auto r1 = c.wait_for(of_req("m2"));
    auto r2 = c.wait_for(of_req("m2"));
    REQUIRE(r1);
    REQUIRE(r2);
    CHECK(val(r1, tag::cl_ord_id) == "o1");
    CHECK(val(r1, tag::tot_num_reports) == "2");
    CHECK(val(r1, tag::last_rpt_requested) == "<absent>");
    CHECK(val(r2, tag::cl_ord_id) == "o2");
    CHECK(val(r2, tag::leaves_qty) == "7");
    CHECK(val(r2, tag::last_rpt_requested) == "Y");

    // Malformed NewOrderSingles: rejected with the field named; the venue lives on.
    {
        fix::body b;  // no OrderQty
        b.add(tag::cl_ord_id, "bad1").add(tag::symbol, "AAPL").add(tag::side, "1");
        b.add(tag::transact_time, fix::utc_timestamp(common::now_ns())).add(tag::ord_type, "2");
        b.add(tag::price, "10");
        c.send("D", b);
        auto r = c.report("bad1", "8");
        REQUIRE(r);
        CHECK(val(r, tag::ord_status) == "8");
        CHECK(has(val(r, tag::text), "OrderQty (38)"));
        CHECK(val(r, tag::ord_rej_reason) == "13");
    }
    c.order("bad2", '1', 0, "10");
    auto r0 = c.report("bad2", "8");
    REQUIRE(r0);
    CHECK(has(val(r0, tag::text), "OrderQty (38)"));
    {
        fix::body b;  // LIMIT without a price
        b.add(tag::cl_ord_id, "bad3").add(tag::symbol, "AAPL").add(tag::side, "1");
        b.add(tag::transact_time, fix::utc_timestamp(common::now_ns()));
        b.add(tag::order_qty, std::int64_t{5}).add(tag::ord_type, "2");
        c.send("D", b);
        auto r = c.report("bad3", "8");
        REQUIRE(r);
        CHECK(has(val(r, tag::text), "Price (44)"));
    }
    c.order("bad4", '1', 5, "10", '0', "NOPE");
    auto r4 = c.report("bad4", "8");
    REQUIRE(r4);
    CHECK(val(r4, tag::ord_rej_reason) == "1");
    c.order("o1", '1', 5, "100.00", '1');  // a duplicate ClOrdID
    auto dup = c.report("o1", "8");
    REQUIRE(dup);
    CHECK(val(dup, tag::ord_rej_reason) == "6");
    CHECK(sim.proc->running());
    CHECK(c.logged_on());
    CHECK(has(sim.ctl(R"({"cmd":"status"})"), R"("TRADEBUS":{"logged_on":true)"));

    // Bad control requests get errors, never a crash.
    CHECK(has(sim.ctl("not json"), R"({"error":)"));
    CHECK(has(sim.ctl(R"({"cmd":"quote","symbol":"AAPL","bid":"x","ask":"1"})"), "bid"));
    CHECK(has(sim.ctl(R"({"cmd":"quote","symbol":"AAPL","bid":"2","ask":"1"})"), "error"));
    CHECK(has(sim.ctl(R"({"cmd":"orders","client":"NOBODY"})"), "unknown client"));
    CHECK(has(sim.ctl(R"({"cmd":"fly"})"), "unknown cmd"));
    CHECK(has(sim.ctl(std::string(5000, '{')), "longer than"));
    CHECK(sim.proc->running());
    CHECK(c.rejects.empty());
    CHECK(c.session_rejects.empty());
    CHECK_FALSE(has(sim.proc->log(), "rejected a message"));
    c.stop();
    CHECK(sim.proc->stop() == 0);
}

TEST_CASE("venue sim: a GTD order expires at its ExpireTime") {
    temp_dir dir;
    venue_sim sim(dir);
    client c(dir, sim.port, "TRADEBUS", "client-store");
    REQUIRE(c.wait_logons(1));
    fix::body b;
    b.add(tag::cl_ord_id, "gtd1").add(tag::symbol, "MSFT").add(tag::side, "1");
    b.add(tag::transact_time, fix::utc_timestamp(common::now_ns()));
    b.add(tag::order_qty, std::int64_t{5}).add(tag::ord_type, "2").add(tag::price, "400");
    b.add(tag::time_in_force, "6");
    b.add(tag::expire_time, fix::utc_timestamp(common::now_ns() + 1'000'000'000));
    c.send("D", b);
    REQUIRE(c.report("gtd1", "0"));
    auto expired = c.report("gtd1", "C", 5s);
    REQUIRE(expired);
    CHECK(val(expired, tag::ord_status) == "C");
    CHECK(val(expired, tag::leaves_qty) == "0");
    CHECK(has(sim.ctl(R"({"cmd":"orders","client":"TRADEBUS"})"), R"({"orders":[]})"));

    // A value outside the dictionary's enum (Side Z): QuickFIX refuses it with a session
    // Reject before the simulator sees it; the session goes on.
    fix::body z;
    z.add(tag::cl_ord_id, "z1").add(tag::symbol, "MSFT").add(tag::side, "Z");
    z.add(tag::transact_time, fix::utc_timestamp(common::now_ns()));
    z.add(tag::order_qty, std::int64_t{5}).add(tag::ord_type, "2").add(tag::price, "400");
    c.send("D", z);
    const auto end = std::chrono::steady_clock::now() + 5s;
    while (c.session_rejects.empty() && std::chrono::steady_clock::now() < end) c.pump(50ms);
    CHECK(c.session_rejects.size() == 1);
    CHECK_FALSE(c.report("z1", "8", 300ms));
    c.order("after", '1', 1, "1.00", '1', "MSFT");
    CHECK(c.report("after", "0"));
    CHECK(c.logged_on());
}

TEST_CASE("venue sim: the synthetic walk moves the house quote until a control quote freezes it") {
    temp_dir dir;
    venue_sim sim(dir,
                  "source = \"synthetic\"\ninterval_ms = 20\nseed = 7\n"
                  "volatility_bps = 200.0\nstart_px = 100.0\n");
    client c(dir, sim.port, "TRADEBUS-MD", "md-store");
    REQUIRE(c.wait_logons(1));
    fix::body b;
    b.add(tag::md_req_id, "w1").add(tag::subscription_request_type, "1");
    b.add(tag::market_depth, std::int64_t{1}).add(tag::no_md_entry_types, std::int64_t{2});
    b.add(tag::md_entry_type, "0").add(tag::md_entry_type, "1");
    b.add(tag::no_related_sym, std::int64_t{1}).add(tag::symbol, "MSFT");
    c.send("V", b);
    auto snap = c.wait_for([](const fix::message& m) { return m.type() == "W"; });
    REQUIRE(snap);
    CHECK(val(snap, tag::no_md_entries) == "2");
    CHECK(c.wait_for([](const fix::message& m) { return m.type() == "X"; }));
    // Frozen by a control quote: the quote stays the test's.
    REQUIRE(
        has(sim.ctl(R"({"cmd":"quote","symbol":"MSFT","bid":"50","ask":"51"})"), R"("ok":true)"));
    c.pump(300ms);
    c.inbox.clear();
    CHECK_FALSE(c.wait_for([](const fix::message& m) { return m.type() == "X"; }, 500ms));
    CHECK(has(sim.ctl(R"({"cmd":"status"})"), R"("MSFT":{"bid":"50.00","bid_qty":100,)"));
    // Walking again.
    CHECK(sim.ctl(R"({"cmd":"walk","symbol":"MSFT"})") == R"({"ok":true})");
    CHECK(c.wait_for([](const fix::message& m) { return m.type() == "X"; }));
}

TEST_CASE("venue sim: market data snapshot, increments and an unknown symbol") {
    temp_dir dir;
    venue_sim sim(dir);
    client c(dir, sim.port, "TRADEBUS-MD", "md-store");
    REQUIRE(c.wait_logons(1));
    REQUIRE(has(sim.ctl(R"({"cmd":"quote","symbol":"AAPL","bid":"189.40","ask":"189.60",)"
                        R"("bid_qty":100,"ask_qty":200})"),
                R"("ok":true)"));

    auto request = [&](const std::string& id, const std::string& symbol, char type) {
        fix::body b;
        b.add(tag::md_req_id, id).add(tag::subscription_request_type, std::string(1, type));
        b.add(tag::market_depth, std::int64_t{1}).add(tag::no_md_entry_types, std::int64_t{3});
        b.add(tag::md_entry_type, "0").add(tag::md_entry_type, "1").add(tag::md_entry_type, "2");
        b.add(tag::no_related_sym, std::int64_t{1}).add(tag::symbol, symbol);
        c.send("V", b);
    };
    request("md1", "AAPL", '1');
    auto snap = c.wait_for([](const fix::message& m) { return m.type() == "W"; });
    REQUIRE(snap);
    CAPTURE(fix::printable(snap->text()));
    CHECK(val(snap, tag::md_req_id) == "md1");
    CHECK(val(snap, tag::symbol) == "AAPL");
    CHECK(val(snap, tag::no_md_entries) == "2");
    CHECK(has(snap->text(),
              "\x01"
              "269=0\x01"
              "270=189.4\x01"
              "271=100\x01"));
    CHECK(has(snap->text(),
              "\x01"
              "269=1\x01"
              "270=189.6\x01"
              "271=200\x01"));

    // The quote moves: an incremental refresh with the new bid and ask.
    REQUIRE(has(sim.ctl(R"({"cmd":"quote","symbol":"AAPL","bid":"189.41","ask":"189.60",)"
                        R"("bid_qty":100,"ask_qty":200})"),
                R"("ok":true)"));
    auto inc = c.wait_for([](const fix::message& m) { return m.type() == "X"; });
    REQUIRE(inc);
    CAPTURE(fix::printable(inc->text()));
    CHECK(val(inc, tag::md_req_id) == "md1");
    CHECK(val(inc, tag::no_md_entries) == "1");
    CHECK(has(inc->text(),
              "279=1\x01"
              "269=0\x01"
              "55=AAPL\x01"
              "270=189.41\x01"
              "271=100\x01"));

    // Bid removed: a delete.
    REQUIRE(has(sim.ctl(R"({"cmd":"quote","symbol":"AAPL","ask":"189.60","bid_qty":0,)"
                        R"("ask_qty":200})"),
                R"("ok":true)"));
    inc = c.wait_for([](const fix::message& m) { return m.type() == "X"; });
    REQUIRE(inc);
    CHECK(has(inc->text(),
              "279=2\x01"
              "269=0\x01"));

    // A trade prints a trade entry (another client's order hits the house's ask).
    client t(dir, sim.port, "TRADEBUS", "trade-store");
    REQUIRE(t.wait_logons(1));
    t.order("t1", '1', 15, "", '3');  // MARKET IOC
    REQUIRE(t.report("t1", "F"));
    inc = c.wait_for(
        [](const fix::message& m) { return m.type() == "X" && has(m.text(), "269=2\x01"); });
    REQUIRE(inc);
    CHECK(has(inc->text(),
              "269=2\x01"
              "55=AAPL\x01"
              "270=189.6\x01"
              "271=15\x01"));

    // Unknown symbol: MarketDataRequestReject, 281=0.
    request("md2", "NOPE", '1');
    auto rej = c.wait_for([](const fix::message& m) { return m.type() == "Y"; });
    REQUIRE(rej);
    CHECK(val(rej, tag::md_req_id) == "md2");
    CHECK(val(rej, tag::md_req_rej_reason) == "0");
    CHECK(has(val(rej, tag::text), "NOPE"));
    // The same MDReqID again: 281=1.
    request("md1", "MSFT", '1');
    rej = c.wait_for([](const fix::message& m) { return m.type() == "Y"; });
    REQUIRE(rej);
    CHECK(val(rej, tag::md_req_rej_reason) == "1");

    // Unsubscribed: no more increments.
    request("md1", "AAPL", '2');
    c.pump(300ms);
    c.inbox.clear();
    REQUIRE(has(sim.ctl(R"({"cmd":"quote","symbol":"AAPL","bid":"189.10","ask":"189.20"})"),
                R"("ok":true)"));
    CHECK_FALSE(c.wait_for([](const fix::message& m) { return m.type() == "X"; }, 500ms));
}

TEST_CASE("venue sim: an unknown SenderCompID never logs on and the good client trades on") {
    temp_dir dir;
    venue_sim sim(dir);
    client good(dir, sim.port, "TRADEBUS", "good-store");
    client rogue(dir, sim.port, "ROGUE", "rogue-store");
    REQUIRE(good.wait_logons(1));
    REQUIRE(log_shows(*sim.proc, "refused a logon"));
    const auto end = std::chrono::steady_clock::now() + 2s;
    while (std::chrono::steady_clock::now() < end) {
        rogue.pump(20ms);
        good.pump(20ms);
    }
    CHECK(rogue.logons == 0);
    CHECK_FALSE(rogue.logged_on());
    REQUIRE(
        has(sim.ctl(R"({"cmd":"quote","symbol":"AAPL","bid":"10","ask":"11"})"), R"("ok":true)"));
    good.order("g1", '1', 1, "10.50");
    CHECK(good.report("g1", "0"));
    CHECK(has(sim.ctl(R"({"cmd":"status"})"), R"("TRADEBUS":{"logged_on":true)"));
    CHECK(sim.proc->running());
}

TEST_CASE("venue sim: a fill while the client is logged out arrives once after its logon") {
    temp_dir dir;
    venue_sim sim(dir);
    client c(dir, sim.port, "TRADEBUS", "client-store");
    REQUIRE(c.wait_logons(1));
    REQUIRE(has(sim.ctl(R"({"cmd":"quote","symbol":"AAPL","bid":"189.40","ask":"189.60"})"),
                R"("ok":true)"));
    c.order("r1", '2', 25, "189.55", '1');  // a SELL resting below the house's ask
    REQUIRE(c.report("r1", "0"));
    c.stop();
    REQUIRE(log_shows(*sim.proc, "TRADEBUS logged out"));

    // The market moves through it while the client is away.
    REQUIRE(sim.ctl(R"({"cmd":"quote","symbol":"AAPL","bid":"189.58","ask":"189.70"})") ==
            R"({"ok":true,"matches":1})");
    CHECK(has(sim.ctl(R"({"cmd":"positions"})"), R"("TRADEBUS":{"AAPL":-25})"));

    c.start();
    REQUIRE(c.wait_logons(2));
    auto fill = c.report("r1", "F", 10s);
    REQUIRE(fill);
    CHECK(fill->poss_dup());
    CHECK(val(fill, tag::last_px) == "189.55");
    CHECK(val(fill, tag::last_qty) == "25");
    CHECK(val(fill, tag::leaves_qty) == "0");
    // Exactly once.
    CHECK_FALSE(c.report("r1", "F", 1500ms));
    CHECK(c.session_rejects.empty());
}

TEST_CASE("venue sim: drop cuts the connection and the client logs on again by itself") {
    temp_dir dir;
    venue_sim sim(dir);
    client c(dir, sim.port, "TRADEBUS", "client-store");
    REQUIRE(c.wait_logons(1));
    REQUIRE(
        has(sim.ctl(R"({"cmd":"quote","symbol":"AAPL","bid":"50","ask":"51"})"), R"("ok":true)"));
    c.order("d1", '1', 3, "50.50", '1');
    REQUIRE(c.report("d1", "0"));
    CHECK(sim.ctl(R"({"cmd":"drop","client":"TRADEBUS"})") ==
          R"({"ok":true,"was_logged_on":true})");
    REQUIRE(c.wait_logons(2, 15s));
    CHECK(c.logouts >= 1);
    // The order still rests, and the session trades on.
    CHECK(has(sim.ctl(R"({"cmd":"orders","client":"TRADEBUS"})"), R"("cl_ord_id":"d1")"));
    c.order("d2", '1', 3, "50.40", '1');
    CHECK(c.report("d2", "0"));
}

TEST_CASE("venue sim: check-config errors and the control client mode") {
    temp_dir dir;
    const auto bad = dir.write("bad.toml",
                               "[venue]\nport = 70000\nstore_dir = \"/tmp/x\"\n"
                               "clients = [\"VENUE\"]\nbogus = 1\n");
    auto r = run_to_exit(TRADEBUS_EXE_TRADEBUS_VENUE_SIM,
                         {"--config", bad.string(), "--check-config"}, dir.file("check.log"));
    CAPTURE(r.output);
    CHECK(r.status == 2);
    CHECK(has(r.output, bad.string() + ":2:8: venue.port: expected an integer in [1, 65535]"));
    CHECK(has(r.output, "venue.clients: \"VENUE\" is the venue's own sender_comp_id"));
    CHECK(has(r.output, bad.string() + ":5:1: venue.bogus: unknown key"));

    venue_sim sim(dir);
    r = run_to_exit(TRADEBUS_EXE_TRADEBUS_VENUE_SIM,
                    {"--config", sim.config.string(), "--check-config"}, dir.file("check-ok.log"));
    CHECK(r.status == 0);
    r = run_to_exit(TRADEBUS_EXE_TRADEBUS_VENUE_SIM,
                    {"--control", sim.control, "quote", "MSFT", "417.10", "417.20", "10", "20"},
                    dir.file("ctl1.log"));
    CAPTURE(r.output);
    CHECK(r.status == 0);
    CHECK(has(r.output, R"({"ok":true,"matches":0})"));
    r = run_to_exit(TRADEBUS_EXE_TRADEBUS_VENUE_SIM, {"ctl", sim.control, "status"},
                    dir.file("ctl2.log"));
    CHECK(r.status == 0);
    CHECK(has(r.output, R"("MSFT":{"bid":"417.10","bid_qty":10,"ask":"417.20","ask_qty":20)"));
    r = run_to_exit(TRADEBUS_EXE_TRADEBUS_VENUE_SIM, {"ctl", sim.control, "orders", "NOBODY"},
                    dir.file("ctl3.log"));
    CHECK(r.status == 1);
    CHECK(has(r.output, "unknown client"));
    r = run_to_exit(TRADEBUS_EXE_TRADEBUS_VENUE_SIM, {"ctl", sim.control, "fly"},
                    dir.file("ctl4.log"));
    CHECK(r.status == 2);
}

#endif
