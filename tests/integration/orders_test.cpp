// The order lifecycle with real processes (issue 15): broker, journal, execution and risk,
// with the test as market data and strategy (it publishes the quotes and signals itself, so it
// decides when an order rests and when it fills). Risk prices LIMIT orders at the signal's
// ref_px (limit_offset_bps 0), inside a spread of one unit, so a BUY rests until the test moves
// the quote onto it. Each deadline is a hang guard, not a timing assertion; the one fixed
// duration is the first case's wait past the 10 s after which risk used to forget an order.
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <functional>
#include <optional>

#include "bus_clients.hpp"
#include "cli_runner.hpp"
#include "pipeline.hpp"
#include "tradebus/common/process.hpp"
#include "tradebus/schema/topics.hpp"

using namespace tradebus;
using namespace tradebus::test;
namespace topics = schema::topics;

namespace {

constexpr std::int64_t interval_ms = 100;

std::string risk_table(const std::string& extra = "") {
    return std::string(
               "[risk]\nallowed_symbols = [\"AAPL\"]\nmax_order_qty = 100\nmax_position = 100\n"
               "max_gross_notional = 1000000000.0\nmax_daily_loss = 1000000000.0\n"
               "max_orders_per_sec = 100\nprice_band_bps = 500.0\nstale_quote_ms = 600000\n"
               "order_type = \"limit\"\nlimit_tick_size = 0.01\nposition_interval_ms = 200\n") +
           (extra.find("limit_offset_bps") == std::string::npos ? "limit_offset_bps = 0.0\n" : "") +
           extra;
}

// The pipeline without marketdata and strategy, a subscriber to everything and a publisher the
// test speaks through (quotes as "md", signals as "strategy").
class desk {
  public:
    desk(zmq::context_t& ctx, const temp_dir& dir, const std::string& risk_extra,
         const std::string& execution_extra)
        : p(ctx, dir, interval_ms), log_(ctx, p.broker.xpub, {""}), pub_(ctx, p.broker.xsub) {
        wait_until_flowing(pub_, log_.sub(), "test.probe");
        p.configure("journal", "[journal]\ndir = \"" + dir.file("journal").string() +
                                   "\"\nfsync = \"none\"\n");
        p.configure("execution",
                    "[execution]\nslippage_bps = 0.0\nmax_order_age_ms = 5000\n" + execution_extra);
        p.configure("risk", risk_table(risk_extra));
        for (const auto* kind : {"journal", "execution", "risk"}) p.start(kind);
        (void)p.wait_healthy({"journal", "execution", "risk"}, std::chrono::seconds(30));
    }

    // Publishes a quote until execution and risk have surely seen it: risk's next position
    // mark or the test's own copy arriving proves the broker forwarded it; both subscribed
    // before they reported healthy.
    void quote(double bid, std::int64_t bid_qty, double ask, std::int64_t ask_qty) {
        schema::tick t{"AAPL", schema::to_fixed(bid), bid_qty, schema::to_fixed(ask), ask_qty, 0,
                       0,      common::now_ns()};
        send(topics::for_symbol(topics::md_tick, "AAPL"),
             schema::envelope{"md", ++tick_seq_, common::now_ns(), 1000 + tick_seq_}, t);
        (void)expect(
            [&](const seen& s) { return s.ev.env.src == "md" && s.ev.env.seq == tick_seq_; },
            "the test's own quote");
    }

    // A BUY/SELL signal for AAPL at `ref`; returns the risk decision about it.
    seen signal(schema::side dir, std::int64_t qty, double ref) {
        const std::uint64_t id = ++signal_id_;
        schema::signal s{id, "AAPL", dir, qty, 0.9, schema::to_fixed(ref), "orders test"};
        send(topics::for_symbol(topics::signal, "AAPL"),
             schema::envelope{"strategy", id, common::now_ns(), 5000 + id}, s);
        return expect(
            [id](const seen& e) {
                if (e.ev.env.src != "risk") return false;
                if (const auto* o = std::get_if<schema::order>(&e.ev.body)) {
                    return o->signal_id == id;
                }
                const auto* r = std::get_if<schema::order_rejected>(&e.ev.body);
                return r != nullptr && r->signal_id == id;
            },
            "risk's decision on signal " + std::to_string(id));
    }

    // An approved BUY that execution acknowledged and that rests (no fill): its order id.
    std::string resting_buy(std::int64_t qty) {
        const seen d = signal(schema::side::buy, qty, 100.50);
        const auto* o = std::get_if<schema::order>(&d.ev.body);
        REQUIRE_MESSAGE(o != nullptr,
                        "risk rejected: " << std::get<schema::order_rejected>(d.ev.body).reason);
        const std::string id = o->order_id;
        (void)expect(of<schema::order_ack>(id), "exec.ack of " + id);
        return id;
    }

    // kill -9 of execution, started again: healthy with `resting` orders rebuilt from the
    // journal.
    void kill9_execution_and_restart(int resting) {
        p.node("execution").signal(SIGKILL);
        REQUIRE(p.node("execution").wait_exit(std::chrono::seconds(5)) == 128 + SIGKILL);
        p.start("execution");
        REQUIRE(log_shows(p.node("execution"), std::to_string(resting) + " order(s) resting again",
                          std::chrono::seconds(20)));
        (void)p.wait_healthy({"execution"}, std::chrono::seconds(20));
    }

    template <class T>
    static std::function<bool(const seen&)> of(const std::string& order_id) {
        return [order_id](const seen& s) {
            const auto* b = std::get_if<T>(&s.ev.body);
            return b != nullptr && b->order_id == order_id;
        };
    }

    seen expect(const std::function<bool(const seen&)>& match, const std::string& what,
                std::chrono::milliseconds guard = std::chrono::seconds(10)) {
        return log_.find_or_expect(match, guard, what);
    }

    // Keeps receiving until `until` (steady clock).
    void drain_until(std::chrono::steady_clock::time_point until) {
        (void)log_.collect(std::chrono::duration_cast<std::chrono::milliseconds>(
            until - std::chrono::steady_clock::now()));
    }

    pipeline p;
    const std::vector<seen>& events() const noexcept { return log_.events; }

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

std::string rule_of(const seen& s) {
    const auto* r = std::get_if<schema::order_rejected>(&s.ev.body);
    return r != nullptr ? r->rule : "";
}

std::vector<std::string> cancel_args(const desk& d, std::vector<std::string> what) {
    std::vector<std::string> args{"cancel"};
    args.insert(args.end(), what.begin(), what.end());
    args.insert(args.end(), {"--control", d.p.broker.control, "--xpub", d.p.broker.xpub});
    return args;
}

}  // namespace

TEST_CASE("orders: a resting order stays counted past 10 s, so a late fill keeps max_position") {
    zmq::context_t ctx;
    temp_dir dir;
    desk d(ctx, dir, "", "");
    d.quote(100.00, 500, 101.00, 500);
    const std::string first = d.resting_buy(100);

    // Past the 10 s (and the 250 ms timer) after which risk used to stop counting it.
    d.drain_until(std::chrono::steady_clock::now() + std::chrono::milliseconds(11'000));
    CHECK(d.events().end() ==
          std::find_if(d.events().begin(), d.events().end(),
                       [&](const seen& s) { return desk::of<schema::fill>(first)(s); }));

    // Still working: a second BUY would take the position past max_position once both fill.
    const seen second = d.signal(schema::side::buy, 100, 100.50);
    CHECK(rule_of(second) == "max_position");

    // The late fill: the quote moves onto the resting limit.
    d.quote(99.00, 500, 100.00, 500);
    const seen f = d.expect(desk::of<schema::fill>(first), "the late fill");
    CHECK(std::get<schema::fill>(f.ev.body).leaves_qty == 0);
    const seen pos = d.expect(
        [](const seen& s) {
            const auto* p = std::get_if<schema::position>(&s.ev.body);
            return s.ev.env.src == "risk" && p != nullptr && p->qty != 0;
        },
        "risk's position after the fill");
    CHECK(std::get<schema::position>(pos.ev.body).qty == 100);
    for (const auto& s : d.events()) {
        if (const auto* p = std::get_if<schema::position>(&s.ev.body)) CHECK(p->qty <= 100);
    }
}

TEST_CASE("orders: tradebus cancel cancels a resting order end to end, bad ids change nothing") {
    zmq::context_t ctx;
    temp_dir dir;
    desk d(ctx, dir, "", "");
    d.quote(100.00, 500, 101.00, 500);
    const std::string id = d.resting_buy(100);
    CHECK(rule_of(d.signal(schema::side::buy, 10, 100.50)) == "max_position");

    // Unknown id and unknown symbol: a clear error, exit 1, the order still resting.
    const auto unknown = run_cli(dir, "cancel-unknown", cancel_args(d, {"no-such-order"}));
    CHECK(unknown.status == 1);
    CHECK_MESSAGE(has(unknown.err, "unknown_order"), unknown.err);
    CHECK_MESSAGE(has(unknown.err, "no-such-order"), unknown.err);
    const auto nvda = run_cli(dir, "cancel-nvda", cancel_args(d, {"--symbol", "NVDA"}));
    CHECK(nvda.status == 1);
    CHECK_MESSAGE(has(nvda.err, "unknown_symbol"), nvda.err);
    const auto usage = run_cli(dir, "cancel-usage", cancel_args(d, {id, "--all"}));
    CHECK(usage.status == 2);
    CHECK(rule_of(d.signal(schema::side::buy, 10, 100.50)) == "max_position");

    const auto ok = run_cli(dir, "cancel-ok", cancel_args(d, {id, "--reason", "test pull"}));
    CHECK_MESSAGE(ok.status == 0, ok.err);
    CHECK_MESSAGE(has(ok.out, "cancelled " + id + " AAPL BUY 100 (100 unfilled)"), ok.out);
    CHECK_MESSAGE(has(ok.out, "1 order(s) cancelled"), ok.out);
    const seen c = d.expect(desk::of<schema::order_cancelled>(id), "exec.cancelled");
    CHECK(c.topic == "exec.cancelled.AAPL");
    const auto& body = std::get<schema::order_cancelled>(c.ev.body);
    CHECK(body.leaves_qty == 100);
    CHECK(body.reason == "test pull");
    CHECK(body.request_id != 0);

    // Risk stops counting it: the same BUY is approved now.
    const seen after = d.signal(schema::side::buy, 100, 100.50);
    CHECK(std::holds_alternative<schema::order>(after.ev.body));

    // Cancelling it again: it is no longer resting.
    const auto again = run_cli(dir, "cancel-again", cancel_args(d, {id}));
    CHECK(again.status == 1);
    CHECK_MESSAGE(has(again.err, "already_terminal"), again.err);
}

TEST_CASE("orders: an IOC order's unfilled rest is cancelled and no longer counted") {
    zmq::context_t ctx;
    temp_dir dir;
    // The limit goes 1 % through the mid, so it takes the ask; only 30 are displayed.
    desk d(ctx, dir, "default_tif = \"ioc\"\nlimit_offset_bps = 100.0\n", "partial_fills = true\n");
    d.quote(100.00, 500, 101.00, 30);
    const seen a = d.signal(schema::side::buy, 100, 100.50);
    REQUIRE(std::holds_alternative<schema::order>(a.ev.body));
    const auto& o = std::get<schema::order>(a.ev.body);
    CHECK(o.tif == schema::time_in_force::ioc);
    const seen f = d.expect(desk::of<schema::fill>(o.order_id), "the IOC's fill");
    CHECK(std::get<schema::fill>(f.ev.body).qty == 30);
    CHECK(std::get<schema::fill>(f.ev.body).leaves_qty == 70);
    const seen c = d.expect(desk::of<schema::order_cancelled>(o.order_id), "the IOC's cancel");
    CHECK(std::get<schema::order_cancelled>(c.ev.body).leaves_qty == 70);
    CHECK(std::get<schema::order_cancelled>(c.ev.body).by == "execution");
    // Position 30, nothing working: 70 more fit within max_position 100.
    (void)d.expect(
        [](const seen& s) {
            const auto* p = std::get_if<schema::position>(&s.ev.body);
            return p != nullptr && p->qty == 30;
        },
        "position 30");
    CHECK(std::holds_alternative<schema::order>(d.signal(schema::side::buy, 70, 100.50).ev.body));
}

TEST_CASE("orders: a resting order survives kill -9 of execution and can be cancelled after") {
    zmq::context_t ctx;
    temp_dir dir;
    desk d(ctx, dir, "", "");
    d.quote(100.00, 500, 101.00, 500);
    const std::string id = d.resting_buy(100);
    // The journal has the ack before execution dies (it flushes before answering a query, and
    // the recorder link hands it every message before the bus).
    d.kill9_execution_and_restart(1);

    const auto ok = run_cli(dir, "cancel-restored", cancel_args(d, {"--all"}));
    CHECK_MESSAGE(ok.status == 0, ok.err);
    CHECK_MESSAGE(has(ok.out, "cancelled " + id + " AAPL BUY 100 (100 unfilled)"), ok.out);
    CHECK_MESSAGE(has(ok.out, "1 order(s) cancelled: every resting order"), ok.out);
    (void)d.expect(desk::of<schema::order_cancelled>(id), "exec.cancelled after the restart");
    CHECK(std::holds_alternative<schema::order>(d.signal(schema::side::buy, 100, 100.50).ev.body));
}

TEST_CASE(
    "orders: SIGHUP puts new risk limits in force, a bad file is refused and changes nothing") {
    zmq::context_t ctx;
    temp_dir dir;
    desk d(ctx, dir, "", "");
    d.quote(100.00, 500, 101.00, 500);
    // The risk.limits event with this cause and max_position (each appears once).
    const auto limits = [&](const std::string& cause, std::int64_t max_position) {
        const seen s = d.expect(
            [cause, max_position](const seen& e) {
                const auto* l = std::get_if<schema::risk_limits>(&e.ev.body);
                return l != nullptr && e.topic == "risk.limits.risk" && l->cause == cause &&
                       l->max_position == max_position;
            },
            "risk.limits.risk " + cause + " with max_position " + std::to_string(max_position));
        return std::get<schema::risk_limits>(s.ev.body);
    };
    const auto reload_with = [&](const std::string& max_position) {
        std::string table = risk_table();
        const std::string key = "max_position = 100\n";
        table.replace(table.find(key), key.size(), "max_position = " + max_position + "\n");
        d.p.configure("risk", table);
        d.p.node("risk").signal(SIGHUP);
    };
    (void)limits("start", 100);
    (void)d.resting_buy(20);

    // Lower: the 20 already working count against the new 10 at the next signal.
    reload_with("10");
    (void)limits("reload", 10);
    CHECK(rule_of(d.signal(schema::side::buy, 5, 100.50)) == "max_position");

    // A bad value: the same file:line:col error as at start, nothing changes, risk runs on.
    reload_with("-3");
    const auto refused = limits("refused", 10);  // what stays in force
    CHECK_MESSAGE(has(refused.error, "risk.toml:"), refused.error);
    CHECK_MESSAGE(has(refused.error, "max_position"), refused.error);
    CHECK(rule_of(d.signal(schema::side::buy, 5, 100.50)) == "max_position");
    CHECK(d.p.node("risk").running());

    const auto status = run_cli(dir, "status", {"status", "--control", d.p.broker.control});
    CHECK(status.status == 0);
    CHECK_MESSAGE(has(status.out, "reload REFUSED"), status.out);
    CHECK_MESSAGE(has(status.out, "max_position 10"), status.out);

    // Raised by a good file: a BUY that 10 refused is approved.
    reload_with("1000");
    (void)limits("reload", 1000);
    CHECK(std::holds_alternative<schema::order>(d.signal(schema::side::buy, 100, 100.50).ev.body));
}

TEST_CASE("orders: tradebus flatten cancels, closes through risk, and stops at an operator halt") {
    zmq::context_t ctx;
    temp_dir dir;
    desk d(ctx, dir, "", "");
    d.quote(100.00, 500, 101.00, 500);
    const auto cli_args = [&](std::vector<std::string> args) {
        args.insert(args.end(), {"--control", d.p.broker.control, "--xpub", d.p.broker.xpub});
        return args;
    };
    // Risk's AAPL position right after the (only) fill of `order_id`.
    const auto position_after = [&](const std::string& order_id) {
        const seen f = d.expect(desk::of<schema::fill>(order_id), "the fill of " + order_id);
        const std::string fill_id = std::get<schema::fill>(f.ev.body).fill_id;
        const seen after = d.expect(
            [fill_id](const seen& s) {
                const auto* p = std::get_if<schema::position>(&s.ev.body);
                return s.ev.env.src == "risk" && p != nullptr && p->last_fill_id == fill_id;
            },
            "risk's position after " + fill_id);
        return std::get<schema::position>(after.ev.body).qty;
    };
    // The closing order a flatten printed ("closing AAPL: SELL 30 (order <id>)").
    const auto closing_order = [](const std::string& out) {
        const auto at = out.find("(order ");
        if (at == std::string::npos) return std::string();
        const auto from = at + 7;
        return out.substr(from, out.find(')', from) - from);
    };
    // Long 30 (the BUY's limit is the ask), and a BUY 20 resting below the ask.
    const auto open_long = [&] {
        const seen b = d.signal(schema::side::buy, 30, 101.00);
        REQUIRE(std::holds_alternative<schema::order>(b.ev.body));
        CHECK(position_after(std::get<schema::order>(b.ev.body).order_id) == 30);
    };
    open_long();
    const std::string resting = d.resting_buy(20);

    const auto flat = run_cli(dir, "flatten", cli_args({"flatten", "--reason", "end of day"}));
    CHECK_MESSAGE(flat.status == 0, flat.err);
    CHECK_MESSAGE(has(flat.out, "cancelled " + resting + " AAPL BUY 20 (20 unfilled)"), flat.out);
    CHECK_MESSAGE(has(flat.out, "1 resting order(s) cancelled: every symbol"), flat.out);
    CHECK_MESSAGE(has(flat.out, "closing AAPL: SELL 30 (order "), flat.out);
    CHECK_MESSAGE(has(flat.out, "AAPL: SELL 30 of 30 filled at 100.00: closed"), flat.out);
    CHECK_MESSAGE(has(flat.out, "flat: every symbol"), flat.out);
    const std::string first_close = closing_order(flat.out);
    REQUIRE_FALSE(first_close.empty());
    CHECK(position_after(first_close) == 0);
    const seen closing = d.expect(desk::of<schema::order>(first_close), "the closing order");
    CHECK(closing.topic == "risk.approved.AAPL");
    const auto& o = std::get<schema::order>(closing.ev.body);
    CHECK(o.signal_src == schema::flatten_signal_src);
    CHECK(o.kind == schema::order_type::market);
    CHECK(o.tif == schema::time_in_force::ioc);

    // Again: nothing to cancel, nothing to close.
    const auto again = run_cli(dir, "flatten-again", cli_args({"flatten"}));
    CHECK_MESSAGE(again.status == 0, again.err);
    CHECK_MESSAGE(has(again.out, "0 resting order(s) cancelled: every symbol"), again.out);
    CHECK_MESSAGE(has(again.out, "flat: every symbol (no position to close)"), again.out);
    // A symbol execution never saw: its cancel_reject lets the flatten go on (nothing there).
    const auto nvda = run_cli(dir, "flatten-nvda", cli_args({"flatten", "--symbol", "NVDA"}));
    CHECK_MESSAGE(nvda.status == 0, nvda.err);
    CHECK_MESSAGE(has(nvda.out, "flat: NVDA (no position to close)"), nvda.out);
    const auto bad = run_cli(dir, "flatten-bad", cli_args({"flatten", "--symbol", "BRK.B"}));
    CHECK(bad.status == 2);

    // An operator's halt holds: the position stays, and the answer says how to close it.
    open_long();
    const auto halt =
        run_cli(dir, "halt", {"halt", "--reason", "stop", "--control", d.p.broker.control});
    REQUIRE_MESSAGE(halt.status == 0, halt.err);
    const auto held = run_cli(dir, "flatten-halted", cli_args({"flatten", "--symbol", "AAPL"}));
    CHECK(held.status == 1);
    CHECK_MESSAGE(has(held.out, "AAPL: position 30 left open: trading halted"), held.out);
    CHECK_MESSAGE(has(held.out, "NOT flat: AAPL"), held.out);
    const auto reduce = run_cli(
        dir, "reduce-only",
        {"halt", "--reduce-only", "--reason", "wind down", "--control", d.p.broker.control});
    REQUIRE_MESSAGE(reduce.status == 0, reduce.err);
    const auto closed = run_cli(dir, "flatten-reducing", cli_args({"flatten", "--symbol", "AAPL"}));
    CHECK_MESSAGE(closed.status == 0, closed.err);
    CHECK_MESSAGE(has(closed.out, "AAPL: SELL 30 of 30 filled at 100.00: closed"), closed.out);
    const std::string second_close = closing_order(closed.out);
    REQUIRE_FALSE(second_close.empty());
    CHECK(position_after(second_close) == 0);
}

TEST_CASE(
    "orders: a strategy halt cancels that strategy's order restored after kill -9 of execution") {
    zmq::context_t ctx;
    temp_dir dir;
    desk d(ctx, dir, "", "");
    d.quote(100.00, 500, 101.00, 500);
    const std::string id = d.resting_buy(100);  // the test's signals come as "strategy"
    d.kill9_execution_and_restart(1);

    const auto halt = run_cli(dir, "halt-strategy",
                              {"halt", "--strategy", "strategy", "--reason", "misbehaving",
                               "--control", d.p.broker.control});
    REQUIRE_MESSAGE(halt.status == 0, halt.err);
    const seen c = d.expect(desk::of<schema::order_cancelled>(id), "the restored order's cancel");
    const auto& body = std::get<schema::order_cancelled>(c.ev.body);
    CHECK(body.by == "execution");
    CHECK(body.leaves_qty == 100);
    CHECK_MESSAGE(has(body.reason, "strategy strategy"), body.reason);
}
