// The execution node with [execution] venue = "fix" against tradebus-venue-sim, real processes
// over loopback: broker, journal, risk and execution (FIX initiator), the simulator (FIX
// acceptor, its house market set by the test through its control endpoint), and the test as
// market data and strategy (it publishes the quotes and signals itself, so it decides when an
// order rests and when it fills). Risk prices LIMIT orders at the signal's ref_px. Each
// deadline is a hang guard, not a timing assertion.
#include <doctest/doctest.h>

#ifdef TRADEBUS_EXE_TRADEBUS_VENUE_SIM

#include <poll.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <deque>
#include <functional>
#include <thread>

#include "bus_clients.hpp"
#include "cli_runner.hpp"
#include "net.hpp"
#include "pipeline.hpp"
#include "tradebus/common/process.hpp"
#include "tradebus/fix/config.hpp"
#include "tradebus/fix/engine.hpp"
#include "tradebus/fix/wire.hpp"
#include "tradebus/schema/topics.hpp"

using namespace tradebus;
using namespace tradebus::test;
using namespace std::chrono_literals;
namespace topics = schema::topics;

namespace {

constexpr std::int64_t interval_ms = 100;

std::size_t count_of(const std::string& text, const std::string& part) {
    std::size_t n = 0;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
    return n;
}

// The simulator, market source "none": every price is the test's.
struct venue {
    explicit venue(const temp_dir& dir)
        : port(free_tcp_port()), control(ipc_endpoint(dir, "venue.ctl")) {
        const auto config =
            dir.write("venue-sim.toml",
                      "[venue]\nsender_comp_id = \"VENUE\"\nport = " + std::to_string(port) +
                          "\nstore_dir = \"" + dir.file("venue-store").string() +
                          "\"\nclients = [\"TRADEBUS\"]\ncontrol = \"" + control +
                          "\"\nlog_level = \"debug\"\n[market]\nsource = \"none\"\n"
                          "[market.symbols.AAPL]\n");
        proc = std::make_unique<process_guard>(
            TRADEBUS_EXE_TRADEBUS_VENUE_SIM, std::vector<std::string>{"--config", config.string()},
            dir.file("venue-sim.log"));
        REQUIRE(log_shows(*proc, "listening on port"));
    }

    std::string ctl(const std::string& request) {
        zmq::socket_t req(ctx, zmq::socket_type::req);
        req.set(zmq::sockopt::linger, 0);
        req.set(zmq::sockopt::rcvtimeo, 5000);
        req.connect(control);
        req.send(zmq::buffer(request), zmq::send_flags::none);
        zmq::message_t reply;
        REQUIRE_MESSAGE(req.recv(reply, zmq::recv_flags::none), "no reply to " << request);
        return reply.to_string();
    }

    void quote(const std::string& bid, const std::string& ask) {
        const auto r = ctl(R"({"cmd":"quote","symbol":"AAPL","bid":")" + bid + R"(","ask":")" +
                           ask + R"(","bid_qty":500,"ask_qty":500})");
        REQUIRE_MESSAGE(r.find("error") == std::string::npos, r);
    }

    zmq::context_t ctx;
    int port;
    std::string control;
    std::unique_ptr<process_guard> proc;
};

std::string risk_table() {
    return "[risk]\nallowed_symbols = [\"AAPL\"]\nmax_order_qty = 100\nmax_position = 300\n"
           "max_gross_notional = 1000000000.0\nmax_daily_loss = 1000000000.0\n"
           "max_orders_per_sec = 100\nprice_band_bps = 500.0\nstale_quote_ms = 600000\n"
           "order_type = \"limit\"\nlimit_tick_size = 0.01\nposition_interval_ms = 200\n"
           "limit_offset_bps = 0.0\n";
}

std::string fix_table(const temp_dir& dir, int port, const std::string& sender = "TRADEBUS") {
    return "[execution]\nvenue = \"fix\"\nmax_order_age_ms = 5000\n[execution.fix]\n"
           "sender_comp_id = \"" +
           sender + "\"\ntarget_comp_id = \"VENUE\"\nport = " + std::to_string(port) +
           "\nstore_dir = \"" + dir.file("fix-store").string() +
           "\"\nheartbeat_interval_s = 2\nreconnect_interval_s = 1\n";
}

// The desk: broker, journal, execution (FIX), risk; a subscriber to everything and a publisher
// the test speaks through (quotes as "md", signals as "strategy").
class desk {
  public:
    desk(zmq::context_t& ctx, const temp_dir& dir, int venue_port,
         const std::string& sender = "TRADEBUS", bool wait = true)
        : p(ctx, dir, interval_ms), log_(ctx, p.broker.xpub, {""}), pub_(ctx, p.broker.xsub) {
        wait_until_flowing(pub_, log_.sub(), "test.probe");
        p.configure("journal", "[journal]\ndir = \"" + dir.file("journal").string() +
                                   "\"\nfsync = \"none\"\n");
        p.configure("execution", fix_table(dir, venue_port, sender));
        p.configure("risk", risk_table());
        for (const auto* kind : {"journal", "execution", "risk"}) p.start(kind);
        if (wait) (void)p.wait_healthy({"journal", "execution", "risk"}, 30s);
    }

    // A quote on the bus (risk prices and marks with it), seen back by the test.
    void quote(double bid, double ask) {
        schema::tick t{"AAPL", schema::to_fixed(bid), 500, schema::to_fixed(ask), 500, 0,
                       0,      common::now_ns()};
        send(topics::for_symbol(topics::md_tick, "AAPL"),
             schema::envelope{"md", ++tick_seq_, common::now_ns(), 1000 + tick_seq_}, t);
        (void)expect(
            [&](const seen& s) { return s.ev.env.src == "md" && s.ev.env.seq == tick_seq_; },
            "the test's own quote");
    }

    // A signal for AAPL at `ref`; returns risk's approved order (fails on a rejection).
    schema::order approved(schema::side dir, std::int64_t qty, double ref) {
        const std::uint64_t id = ++signal_id_;
        schema::signal s{id, "AAPL", dir, qty, 0.9, schema::to_fixed(ref), "fix venue test"};
        send(topics::for_symbol(topics::signal, "AAPL"),
             schema::envelope{"strategy", id, common::now_ns(), 5000 + id}, s);
        const seen d = expect(
            [id](const seen& e) {
                if (e.ev.env.src != "risk") return false;
                if (const auto* o = std::get_if<schema::order>(&e.ev.body)) {
                    return o->signal_id == id;
                }
                const auto* r = std::get_if<schema::order_rejected>(&e.ev.body);
                return r != nullptr && r->signal_id == id;
            },
            "risk's decision on signal " + std::to_string(id));
        const auto* o = std::get_if<schema::order>(&d.ev.body);
        REQUIRE_MESSAGE(o != nullptr,
                        "risk rejected: " << std::get<schema::order_rejected>(d.ev.body).reason);
        return *o;
    }

    template <class T>
    static std::function<bool(const seen&)> of(const std::string& order_id) {
        return [order_id](const seen& s) {
            const auto* b = std::get_if<T>(&s.ev.body);
            return b != nullptr && b->order_id == order_id;
        };
    }

    seen expect(const std::function<bool(const seen&)>& match, const std::string& what,
                std::chrono::milliseconds guard = 15s) {
        return log_.find_or_expect(match, guard, what);
    }

    // Receives whatever arrives for `d`.
    void drain(std::chrono::milliseconds d) { (void)log_.collect(d); }

    [[nodiscard]] std::vector<schema::fill> fills() const {
        std::vector<schema::fill> out;
        for (const auto& s : log_.events) {
            if (const auto* f = std::get_if<schema::fill>(&s.ev.body)) out.push_back(*f);
        }
        return out;
    }

    // Risk's latest AAPL position.
    std::int64_t risk_position(std::int64_t expected) {
        const seen pos = expect(
            [expected](const seen& s) {
                const auto* q = std::get_if<schema::position>(&s.ev.body);
                return s.ev.env.src == "risk" && q != nullptr && q->qty == expected;
            },
            "risk's position " + std::to_string(expected));
        return std::get<schema::position>(pos.ev.body).qty;
    }

    pipeline p;

  private:
    template <class Body>
    void send(const std::string& topic, const schema::envelope& env, const Body& body) {
        std::string bytes;
        schema::encode_event(env, body, bytes);
        pub_.send(topic, bytes);
    }

    bus_log log_;
    publisher pub_;
    std::uint64_t tick_seq_ = 0, signal_id_ = 0;
};

}  // namespace

TEST_CASE("fix venue: orders trade end to end and the bus's fills match the venue's executions") {
    zmq::context_t ctx;
    temp_dir dir;
    venue v(dir);
    v.quote("100.49", "100.51");
    desk d(ctx, dir, v.port);
    d.quote(100.49, 100.51);

    // A BUY at 100.50 rests at the venue: acknowledged, nothing filled.
    const auto resting = d.approved(schema::side::buy, 100, 100.50);
    const seen ack = d.expect(desk::of<schema::order_ack>(resting.order_id), "the ack");
    CHECK(std::get<schema::order_ack>(ack.ev.body).qty == 100);
    CHECK(ack.topic == "exec.ack.AAPL");
    CHECK(count_of(v.ctl(R"({"cmd":"orders","client":"TRADEBUS"})"),
                   "\"cl_ord_id\":\"" + resting.order_id + "\"") == 1);

    // A marketable BUY at 100.52 takes the house's ask: filled at 100.51, the resting price.
    const auto taker = d.approved(schema::side::buy, 50, 100.52);
    const seen f1 = d.expect(desk::of<schema::fill>(taker.order_id), "the taker's fill");
    const auto& fill1 = std::get<schema::fill>(f1.ev.body);
    CHECK(fill1.qty == 50);
    CHECK(fill1.px == schema::to_fixed(100.51));
    CHECK(fill1.leaves_qty == 0);
    CHECK(f1.ev.env.trace_id == 5000 + 2);  // the signal's trace id, carried to the fill

    // The market moves onto the resting BUY: it fills at its own limit.
    v.quote("100.40", "100.50");
    const seen f2 = d.expect(desk::of<schema::fill>(resting.order_id), "the resting fill");
    CHECK(std::get<schema::fill>(f2.ev.body).px == schema::to_fixed(100.50));
    CHECK(std::get<schema::fill>(f2.ev.body).leaves_qty == 0);
    CHECK(f2.ev.env.trace_id == 5000 + 1);

    // One for one: every bus fill is a venue execution of that order, and the positions agree.
    CHECK(d.risk_position(150) == 150);
    const std::string executions = v.ctl(R"({"cmd":"executions"})");
    const auto fills = d.fills();
    CHECK(fills.size() == 2);
    CHECK(count_of(executions, "\"owner\":\"TRADEBUS\"") == fills.size());
    for (const auto& f : fills) {
        CHECK(count_of(executions, "\"cl_ord_id\":\"" + f.order_id + "\"") == 1);
        CHECK(f.fill_id.starts_with("execution-"));
    }
    CHECK(count_of(v.ctl(R"({"cmd":"positions"})"), "\"AAPL\":150") == 1);
}

TEST_CASE("fix venue: a fill while execution is killed arrives exactly once after its restart") {
    zmq::context_t ctx;
    temp_dir dir;
    venue v(dir);
    v.quote("100.49", "100.51");
    desk d(ctx, dir, v.port);
    d.quote(100.49, 100.51);
    const auto o = d.approved(schema::side::buy, 100, 100.50);
    (void)d.expect(desk::of<schema::order_ack>(o.order_id), "the ack");

    d.p.node("execution").signal(SIGKILL);
    REQUIRE(d.p.node("execution").wait_exit(5s) == 128 + SIGKILL);
    // The venue fills it while the adapter is down: the ExecutionReport waits in its store.
    v.quote("100.40", "100.50");
    REQUIRE(count_of(v.ctl(R"({"cmd":"executions"})"), "\"cl_ord_id\":\"" + o.order_id + "\"") ==
            1);

    d.p.start("execution");
    const seen f = d.expect(desk::of<schema::fill>(o.order_id), "the fill after the restart", 30s);
    // It came by the venue's resend: the adapter saw the sequence gap at logon and asked.
    CHECK(log_shows(d.p.node("execution"), "ResendRequest", 10s));
    CHECK(std::get<schema::fill>(f.ev.body).qty == 100);
    CHECK(std::get<schema::fill>(f.ev.body).leaves_qty == 0);
    CHECK(f.ev.env.trace_id == 5000 + 1);  // the approval's trace id, from the journal
    (void)d.p.wait_healthy({"execution"}, 30s);
    CHECK(d.risk_position(100) == 100);

    // Once more: a second kill and restart publishes nothing again.
    d.p.node("execution").signal(SIGKILL);
    REQUIRE(d.p.node("execution").wait_exit(5s) == 128 + SIGKILL);
    d.p.start("execution");
    (void)d.p.wait_healthy({"execution"}, 30s);
    d.drain(2s);
    const auto fills = d.fills();
    CHECK(std::count_if(fills.begin(), fills.end(),
                        [&](const schema::fill& x) { return x.order_id == o.order_id; }) == 1);
    CHECK(log_shows(d.p.node("execution"), "reconciled with the venue", 10s));
}

TEST_CASE("fix venue: the venue dropping the connection refuses orders until it is back") {
    zmq::context_t ctx;
    temp_dir dir;
    venue v(dir);
    v.quote("100.49", "100.51");
    desk d(ctx, dir, v.port);
    d.quote(100.49, 100.51);
    const auto o = d.approved(schema::side::buy, 100, 100.50);
    (void)d.expect(desk::of<schema::order_ack>(o.order_id), "the ack");

    // Venue down for good: every approval is refused "halted", naming the venue.
    v.proc->signal(SIGKILL);
    REQUIRE(v.proc->wait_exit(5s) == 128 + SIGKILL);
    REQUIRE(log_shows(d.p.node("execution"), "logged out", 10s));
    const auto refused = d.approved(schema::side::buy, 10, 100.50);
    const seen r = d.expect(desk::of<schema::exec_reject>(refused.order_id), "the refusal");
    CHECK(std::get<schema::exec_reject>(r.ev.body).code == "halted");
    CHECK(std::get<schema::exec_reject>(r.ev.body).reason.starts_with("venue disconnected"));
}

TEST_CASE("fix venue: the venue drops the connection mid-order and the fill still arrives once") {
    zmq::context_t ctx;
    temp_dir dir;
    venue v(dir);
    v.quote("100.49", "100.51");
    desk d(ctx, dir, v.port);
    d.quote(100.49, 100.51);
    const auto o = d.approved(schema::side::buy, 100, 100.50);
    (void)d.expect(desk::of<schema::order_ack>(o.order_id), "the ack");

    // The connection drops and the order fills at the venue before the adapter is back.
    REQUIRE(v.ctl(R"({"cmd":"drop","client":"TRADEBUS"})").find("\"ok\":true") !=
            std::string::npos);
    v.quote("100.40", "100.50");
    REQUIRE(log_shows(d.p.node("execution"), "logged out", 10s));
    const seen f =
        d.expect(desk::of<schema::fill>(o.order_id), "the fill after the reconnect", 30s);
    CHECK(std::get<schema::fill>(f.ev.body).leaves_qty == 0);
    REQUIRE(log_shows(d.p.node("execution"), "reconciled with the venue", 20s));
    (void)d.p.wait_healthy({"execution"}, 20s);
    d.drain(1s);
    const auto fills = d.fills();
    CHECK(std::count_if(fills.begin(), fills.end(),
                        [&](const schema::fill& x) { return x.order_id == o.order_id; }) == 1);
    CHECK(d.risk_position(100) == 100);
}

TEST_CASE("fix venue: a logon the venue refuses is a clear error and nothing trades") {
    zmq::context_t ctx;
    temp_dir dir;
    venue v(dir);
    v.quote("100.49", "100.51");
    desk d(ctx, dir, v.port, "NOT-LISTED", false);
    (void)d.p.wait_healthy({"journal", "risk"}, 30s);
    REQUIRE(log_shows(d.p.node("execution"), "not accepted", 15s));
    d.quote(100.49, 100.51);
    const auto o = d.approved(schema::side::buy, 10, 100.52);
    const seen r = d.expect(desk::of<schema::exec_reject>(o.order_id), "the refusal");
    CHECK(std::get<schema::exec_reject>(r.ev.body).code == "halted");
    CHECK(count_of(v.ctl(R"({"cmd":"executions"})"), "\"owner\"") == 0);
}

TEST_CASE("fix venue: tradebus cancel and a halt cancel at the venue") {
    zmq::context_t ctx;
    temp_dir dir;
    venue v(dir);
    v.quote("100.49", "100.51");
    desk d(ctx, dir, v.port);
    d.quote(100.49, 100.51);
    const auto a = d.approved(schema::side::buy, 100, 100.50);
    const auto b = d.approved(schema::side::buy, 100, 100.48);
    (void)d.expect(desk::of<schema::order_ack>(a.order_id), "a's ack");
    (void)d.expect(desk::of<schema::order_ack>(b.order_id), "b's ack");

    const auto cancelled = run_cli(dir, "cancel-a",
                                   {"cancel", a.order_id, "--reason", "test pull", "--control",
                                    d.p.broker.control, "--xpub", d.p.broker.xpub});
    CHECK(cancelled.status == 0);
    const seen c = d.expect(desk::of<schema::order_cancelled>(a.order_id), "a's cancel");
    CHECK(std::get<schema::order_cancelled>(c.ev.body).leaves_qty == 100);
    CHECK(std::get<schema::order_cancelled>(c.ev.body).reason == "test pull");
    const auto unknown = run_cli(
        dir, "cancel-unknown",
        {"cancel", "no-such-order", "--control", d.p.broker.control, "--xpub", d.p.broker.xpub});
    CHECK(unknown.status == 1);

    const auto halt =
        run_cli(dir, "halt", {"halt", "--reason", "drill", "--control", d.p.broker.control});
    CHECK(halt.status == 0);
    const seen h = d.expect(desk::of<schema::order_cancelled>(b.order_id), "b's halt cancel");
    CHECK(std::get<schema::order_cancelled>(h.ev.body).by == "execution");
    CHECK(count_of(v.ctl(R"({"cmd":"orders","client":"TRADEBUS"})"), "\"cl_ord_id\"") == 0);
}

// A venue that misbehaves: the test is the venue (a fix::engine acceptor in this process).
class rogue_venue {
  public:
    rogue_venue(const temp_dir& dir) {
        fix::session_settings s;
        s.acceptor = true;
        s.sender_comp_id = "VENUE";
        s.target_comp_id = "TRADEBUS";
        s.port = port = free_tcp_port();
        s.store_dir = dir.file("rogue-store").string();
        s.data_dictionary = fix::default_dictionary();
        engine_ = std::make_unique<fix::engine>(s);
        engine_->start();
    }

    // The next application message of type `type` the adapter sends (fails after 15 s).
    fix::message expect(std::string_view type) {
        const auto end = std::chrono::steady_clock::now() + 15s;
        while (std::chrono::steady_clock::now() < end) {
            if (inbox_.empty()) {
                pollfd p{engine_->event_fd(), POLLIN, 0};
                (void)::poll(&p, 1, 50);
                for (auto& e : engine_->drain()) {
                    if (e.kind != fix::event::app_message) continue;
                    std::string error;
                    auto m = fix::message::parse(std::move(e.raw), error);
                    REQUIRE_MESSAGE(m, error);
                    inbox_.push_back(std::move(*m));
                }
                continue;
            }
            fix::message m = std::move(inbox_.front());
            inbox_.pop_front();
            if (m.type() == type) return m;
        }
        FAIL("the adapter sent no " << type);
        throw std::logic_error("unreachable");
    }

    // An ExecutionReport with `fields` (raw tag=value text may be garbage on purpose).
    void report(const std::string& fields) {
        std::string error;
        REQUIRE_MESSAGE(engine_->send("", "8", fields, error), error);
    }

    int port = 0;

  private:
    std::unique_ptr<fix::engine> engine_;
    std::deque<fix::message> inbox_;
};

std::string er(const std::string& cl_ord_id, const std::string& exec_id,
               const std::string& exec_type, const std::string& status, const std::string& more,
               const std::string& avg = "100.5") {
    fix::body b;
    b.add(fix::tag::order_id, "V-" + cl_ord_id).add(fix::tag::cl_ord_id, cl_ord_id);
    b.add(fix::tag::exec_id, exec_id).add(fix::tag::exec_type, exec_type);
    b.add(fix::tag::ord_status, status).add(fix::tag::side, "1").add(fix::tag::symbol, "AAPL");
    b.add(fix::tag::avg_px, avg);
    return b.str() + more;
}

// Answers the adapter's OrderMassStatusRequest (after its logon) with "none open", echoing its
// MassStatusReqID, so it reconciles and accepts orders.
void answer_mass_status(rogue_venue& rogue) {
    const auto mass = rogue.expect("AF");
    rogue.report(er("NONE", "S1", "I", "8",
                    "151=0\x01"
                    "14=0\x01"
                    "584=" +
                        std::string(*mass.get(fix::tag::mass_status_req_id)) +
                        "\x01"
                        "911=0\x01"
                        "912=Y\x01"));
}

TEST_CASE("fix venue: bad reports from the venue are counted, logged and change no position") {
    zmq::context_t ctx;
    temp_dir dir;
    rogue_venue rogue(dir);
    desk d(ctx, dir, rogue.port, "TRADEBUS", false);
    // Logged on; answer the mass status "none open" with its id, so the adapter reconciles.
    answer_mass_status(rogue);
    (void)d.p.wait_healthy({"journal", "execution", "risk"}, 30s);
    d.quote(100.49, 100.51);

    // An order: the venue acknowledges it, cancels it, then reports a fill for it anyway.
    const auto o = d.approved(schema::side::buy, 100, 100.50);
    const auto nos = rogue.expect("D");
    CHECK(nos.get(fix::tag::cl_ord_id) == o.order_id);
    CHECK(nos.get_qty(fix::tag::order_qty) == 100);
    CHECK(nos.get_price(fix::tag::price) == schema::to_fixed(100.50));
    rogue.report(er(o.order_id, "E1", "0", "0",
                    "151=100\x01"
                    "14=0\x01"));
    (void)d.expect(desk::of<schema::order_ack>(o.order_id), "the ack");
    rogue.report(er(o.order_id, "E2", "4", "4",
                    "151=0\x01"
                    "14=0\x01"
                    "58=venue pulled it\x01"));
    const seen c = d.expect(desk::of<schema::order_cancelled>(o.order_id), "the venue's cancel");
    CHECK(std::get<schema::order_cancelled>(c.ev.body).by == "venue");
    rogue.report(er(o.order_id, "E3", "F", "2",
                    "32=100\x01"
                    "31=100.5\x01"
                    "151=0\x01"
                    "14=100\x01"));
    // A fill for an order the adapter never sent.
    rogue.report(er("nobody-1-1", "E4", "F", "2",
                    "32=100\x01"
                    "31=100.5\x01"
                    "151=0\x01"
                    "14=100\x01"));
    // Garbage: a quantity that is not a number (QuickFIX refuses it against the dictionary).
    rogue.report(er("nobody-1-2", "E5", "F", "2",
                    "32=abc\x01"
                    "31=100.5\x01"
                    "151=0\x01"
                    "14=100\x01"));

    d.drain(2s);
    CHECK(d.fills().empty());
    CHECK(d.p.node("execution").running());
    CHECK(d.p.stop("execution") == 0);
    CHECK(log_shows(d.p.node("execution"), "ExecutionReport for unknown ClOrdID", 5s));
    CHECK(log_shows(d.p.node("execution"), "refused a malformed FIX message", 5s));
    CHECK(log_shows(d.p.node("execution"),
                    "1 duplicate report(s) ignored, 1 report(s) for unknown orders, 1 malformed",
                    5s));
}

TEST_CASE("fix venue: a trade the adapter missed shows in the next report and is filled once") {
    zmq::context_t ctx;
    temp_dir dir;
    rogue_venue rogue(dir);
    desk d(ctx, dir, rogue.port, "TRADEBUS", false);
    answer_mass_status(rogue);
    (void)d.p.wait_healthy({"journal", "execution", "risk"}, 30s);
    d.quote(100.49, 100.51);
    const auto o = d.approved(schema::side::buy, 100, 100.50);
    (void)rogue.expect("D");
    rogue.report(er(o.order_id, "E1", "0", "0",
                    "151=100\x01"
                    "14=0\x01"));
    (void)d.expect(desk::of<schema::order_ack>(o.order_id), "the ack");
    // A trade of 30 at 100.40; then the trade of 40 is lost and the venue's cancel reports
    // CumQty 70 at an average of 100.4571428...: the adapter publishes the missing 40 (at the
    // price the average leaves for them, 100.48) before the cancel of the last 30.
    rogue.report(er(o.order_id, "E2", "F", "1",
                    "32=30\x01"
                    "31=100.4\x01"
                    "151=70\x01"
                    "14=30\x01"));
    const seen f1 = d.expect(desk::of<schema::fill>(o.order_id), "the first fill");
    CHECK(std::get<schema::fill>(f1.ev.body).qty == 30);
    // The same trade resent (PossDup, as after a reconnect): nothing new.
    rogue.report(er(o.order_id, "E2", "F", "1",
                    "32=30\x01"
                    "31=100.4\x01"
                    "151=70\x01"
                    "14=30\x01"));
    rogue.report(er(o.order_id, "E4", "4", "4",
                    "151=0\x01"
                    "14=70\x01",
                    "100.44571429"));
    const seen c = d.expect(desk::of<schema::order_cancelled>(o.order_id), "the cancel");
    CHECK(std::get<schema::order_cancelled>(c.ev.body).leaves_qty == 30);
    const auto fills = d.fills();
    REQUIRE(fills.size() == 2);
    CHECK(fills[1].qty == 40);
    CHECK(fills[1].leaves_qty == 30);
    CHECK(std::abs(fills[1].px - schema::to_fixed(100.48)) <= 2);
    // Fills before the terminal event, ids unique and derived from the order.
    CHECK(fills[0].fill_id != fills[1].fill_id);
    CHECK(fills[1].fill_id.starts_with("execution-" + o.order_id));
    CHECK(d.risk_position(70) == 70);
}

TEST_CASE(
    "fix venue: an order sent just before a kill -9 is asked about and settled after the restart") {
    zmq::context_t ctx;
    temp_dir dir;
    rogue_venue rogue(dir);
    desk d(ctx, dir, rogue.port, "TRADEBUS", false);
    answer_mass_status(rogue);
    (void)d.p.wait_healthy({"journal", "execution", "risk"}, 30s);
    d.quote(100.49, 100.51);
    const auto o = d.approved(schema::side::buy, 100, 100.50);
    (void)rogue.expect("D");  // sent; the venue has not answered yet

    // Killed before the venue's New: the journal has nothing of the order.
    d.p.node("execution").signal(SIGKILL);
    REQUIRE(d.p.node("execution").wait_exit(5s) == 128 + SIGKILL);
    d.p.start("execution");
    // QuickFIX's store says it was sent: the adapter asks the venue about it.
    const auto status = rogue.expect("H");
    CHECK(status.get(fix::tag::cl_ord_id) == o.order_id);
    answer_mass_status(rogue);
    // The venue took it and filled 60 of it meanwhile: acknowledged and filled once.
    rogue.report(er(o.order_id, "S2", "I", "1",
                    "151=40\x01"
                    "14=60\x01"
                    "38=100\x01"
                    "40=2\x01"
                    "44=100.5\x01"));
    (void)d.expect(desk::of<schema::order_ack>(o.order_id), "the ack after the restart", 20s);
    const seen f = d.expect(desk::of<schema::fill>(o.order_id), "the fill after the restart", 20s);
    CHECK(std::get<schema::fill>(f.ev.body).qty == 60);
    CHECK(std::get<schema::fill>(f.ev.body).leaves_qty == 40);
    CHECK(std::get<schema::fill>(f.ev.body).px == schema::to_fixed(100.5));
    (void)d.p.wait_healthy({"execution"}, 20s);
    CHECK(d.risk_position(60) == 60);
}

#endif
