// Risk's rebuild from journaled events (risk_recovery.hpp): the same fills give the same book
// as a risk that saw them live; a loss halt it had latched comes back; its own decisions count
// as seen signals and working orders; events of other nodes named like its own are ignored.
// Across sessions: positions carry over, the daily loss counts only the current session, a
// snapshot replaces what came before it, and a running risk resets its loss at the boundary.
#include "tradebus/risk/risk_recovery.hpp"

#include <doctest/doctest.h>

#include "fake_node_context.hpp"
#include "tradebus/risk/risk_node.hpp"

using namespace tradebus;
using namespace tradebus::risk;

namespace {

constexpr std::int64_t t0 = 1'700'000'000'000'000'000;

risk_config config(double max_daily_loss) {
    risk_config c;
    c.max_daily_loss = schema::to_fixed(max_daily_loss);
    c.limits.max_order_qty = 1000;
    c.limits.max_position = 100000;
    c.max_gross_notional = schema::to_fixed(1e12);
    c.max_orders_per_sec = 1000;
    return c;
}

schema::event ev(std::string src, schema::payload body, std::int64_t ts = t0) {
    return schema::event{schema::envelope{std::move(src), 1, ts, 7}, std::move(body)};
}

schema::fill fill(std::string id, schema::side dir, std::int64_t qty, double px) {
    schema::fill f;
    f.fill_id = std::move(id);
    f.order_id = "risk-1-" + f.fill_id;
    f.symbol = "AAPL";
    f.dir = dir;
    f.qty = qty;
    f.px = schema::to_fixed(px);
    return f;
}

}  // namespace

TEST_CASE("risk recovery: replayed fills rebuild the book a live risk had") {
    risk_engine live(config(1e9)), rebuilt(config(1e9));
    state_rebuild rb("risk");
    const std::vector<schema::fill> fills = {fill("f1", schema::side::buy, 10, 100.0),
                                             fill("f2", schema::side::buy, 30, 101.0),
                                             fill("f3", schema::side::sell, 25, 103.5)};
    for (const auto& f : fills) {
        REQUIRE(live.on_fill(f, t0));
        rb.apply(rebuilt, "exec.fill.AAPL", ev("execution", f));
    }
    // A fill journaled twice (a replay) is counted once.
    rb.apply(rebuilt, "exec.fill.AAPL", ev("execution", fills[0]));
    rb.finish(rebuilt);
    CHECK(rb.applied().fills == 3);
    const auto* a = live.book().find("AAPL");
    const auto* b = rebuilt.book().find("AAPL");
    REQUIRE(b != nullptr);
    CHECK(b->qty == a->qty);
    CHECK(b->avg_px == a->avg_px);
    CHECK(b->realized_pnl == a->realized_pnl);
    CHECK(b->qty == 15);
    CHECK(rebuilt.state() == schema::trading_state::active);
}

TEST_CASE("risk recovery: a daily-loss halt risk latched survives the restart") {
    risk_engine rebuilt(config(50.0));
    state_rebuild rb("risk");
    // Bought 10 at 100; the last position risk published marked it at 90 (-100 unrealized),
    // and it published a halt for the daily loss.
    rb.apply(rebuilt, "exec.fill.AAPL", ev("execution", fill("f1", schema::side::buy, 10, 100.0)));
    schema::position pos{"AAPL", 10, schema::to_fixed(100.0), 0, schema::to_fixed(-100.0), ""};
    rb.apply(rebuilt, "risk.position.AAPL", ev("risk", pos));
    rb.apply(rebuilt, "risk.state",
             ev("risk", schema::trading_state_changed{schema::trading_state::halted,
                                                      "daily loss limit: day P&L -100.00", "risk",
                                                      "", ""}));
    rb.finish(rebuilt);
    CHECK(rebuilt.book().unrealized_pnl("AAPL") == schema::to_fixed(-100.0));
    CHECK(rebuilt.state() == schema::trading_state::halted);
    CHECK(rebuilt.trading().loss_driven());

    // Without the recovered mark and state the fills alone look flat: the same risk would be
    // active (what a restart without recovery did).
    risk_engine fresh(config(50.0));
    state_rebuild only_fills("risk");
    only_fills.apply(fresh, "exec.fill.AAPL",
                     ev("execution", fill("f1", schema::side::buy, 10, 100.0)));
    only_fills.finish(fresh);
    CHECK(fresh.state() == schema::trading_state::active);
}

TEST_CASE("risk recovery: an operator resume after the halt is respected, others' events ignored") {
    risk_engine rebuilt(config(50.0));
    state_rebuild rb("risk");
    rb.apply(rebuilt, "risk.state",
             ev("risk", schema::trading_state_changed{schema::trading_state::halted,
                                                      "daily loss limit", "risk", "", ""}));
    rb.apply(
        rebuilt, "risk.state",
        ev("risk", schema::trading_state_changed{schema::trading_state::active,
                                                 "operator active: new day", "operator", "", ""}));
    // Another node's risk.state and position are not ours.
    rb.apply(rebuilt, "risk.state",
             ev("risk-b", schema::trading_state_changed{schema::trading_state::halted,
                                                        "daily loss limit", "risk", "", ""}));
    rb.apply(rebuilt, "risk.position.AAPL",
             ev("risk-b", schema::position{"AAPL", 5, schema::to_fixed(10.0), 0, 0, ""}));
    rb.finish(rebuilt);
    CHECK(rebuilt.state() == schema::trading_state::active);
    CHECK(rb.applied().ignored == 2);
}

TEST_CASE("risk recovery: own decisions count as seen signals and working orders") {
    risk_engine rebuilt(config(1e9));
    state_rebuild rb("risk");
    schema::order o;
    o.order_id = "risk-1-1";
    o.symbol = "AAPL";
    o.dir = schema::side::buy;
    o.qty = 10;
    o.signal_src = "strategy";
    o.signal_id = 42;
    rb.apply(rebuilt, "risk.approved.AAPL", ev("risk", o));
    schema::order_rejected r;
    r.symbol = "AAPL";
    r.signal_src = "strategy";
    r.signal_id = 43;
    rb.apply(rebuilt, "risk.rejected.AAPL", ev("risk", r));
    rb.finish(rebuilt);
    CHECK(rebuilt.open_orders() == 1);
    CHECK(rebuilt.open_qty("AAPL", schema::side::buy) == 10);
    CHECK(rb.applied().approvals == 1);
    CHECK(rb.applied().rejections == 1);

    schema::tick t{"AAPL", schema::to_fixed(99.9), 100, schema::to_fixed(100.1), 100, 0, 0, t0};
    REQUIRE(rebuilt.on_quote(t, t0));
    for (std::uint64_t id : {42U, 43U}) {
        schema::signal s;
        s.symbol = "AAPL";
        s.dir = schema::side::buy;
        s.qty = 1;
        s.ref_px = schema::to_fixed(100.0);
        s.signal_id = id;
        const auto d = rebuilt.on_signal(s, "strategy", t0);
        REQUIRE(std::holds_alternative<schema::order_rejected>(d));
        CHECK(std::get<schema::order_rejected>(d).rule == "duplicate_signal");
    }
}

TEST_CASE("risk recovery: the node publishes nothing before on_start, then its rebuilt state") {
    testing::fake_context ctx("risk");
    ctx.now = t0;
    risk_node node(config(50.0));
    const auto req = node.recovery(t0);
    REQUIRE(req.has_value());
    // The last own snapshot within the default horizon, then what came after it.
    CHECK(req->anchor_topic == "risk.snapshot.risk");
    CHECK(req->since_ns ==
          t0 - runtime::session_defaults::recovery_horizon_days * 86'400LL * 1'000'000'000LL);
    // The broker reports an operator halt at registration, before recovery: nothing goes out.
    node.on_trading_state(ctx, schema::trading_state::halted, "kill switch");
    auto replay = [&](std::string_view topic, const schema::event& e) {
        node.on_recover(ctx, runtime::inbound{topic, std::string_view{}, e});
    };
    replay("exec.fill.AAPL", ev("execution", fill("f1", schema::side::buy, 10, 100.0)));
    replay("risk.position.AAPL", ev("risk", schema::position{"AAPL", 10, schema::to_fixed(100.0), 0,
                                                             schema::to_fixed(-100.0), "f1"}));
    replay("risk.state",
           ev("risk", schema::trading_state_changed{schema::trading_state::halted,
                                                    "daily loss limit", "risk", "", ""}));
    CHECK(ctx.events.empty());

    node.on_start(ctx);
    const auto states = ctx.of<schema::trading_state_changed>();
    REQUIRE(states.size() == 1);
    CHECK(states[0].body.state == schema::trading_state::halted);
    CHECK(states[0].body.by == "risk");  // the loss stage, not only the operator's halt
    const auto positions = ctx.of<schema::position>();
    REQUIRE(positions.size() == 1);
    CHECK(positions[0].body.qty == 10);
    CHECK(positions[0].body.unrealized_pnl == schema::to_fixed(-100.0));
}

namespace {
constexpr std::int64_t day_ns = 86'400LL * 1'000'000'000LL;
// Three UTC sessions: t0's day (2023-11-14) and the two after it.
const runtime::trading_session utc_days;
const std::int64_t day1 = utc_days.start_of(t0);
const std::int64_t day2 = day1 + day_ns, day3 = day2 + day_ns;

schema::position mark(double mid, std::int64_t qty, double avg) {
    // risk.position as risk publishes it: unrealized = qty x (mid - avg)
    return {"AAPL",
            qty,
            schema::to_fixed(avg),
            0,
            schema::to_fixed(static_cast<double>(qty) * (mid - avg)),
            ""};
}
}  // namespace

TEST_CASE("risk recovery: fills of three sessions carry over, the daily loss counts the last") {
    risk_engine rebuilt(config(50.0));
    state_rebuild rb("risk", utc_days);
    // Session 1: buy 10 @ 100, sell 4 @ 110 (+40 realized). Session 2: buy 4 @ 90 (avg 96),
    // marked at 80 (-160 unrealized: a loss that day, but that day is over). Session 3: sell 5
    // @ 85 (-55 realized against avg 96), marked at 85.
    rb.apply(rebuilt, "exec.fill.AAPL",
             ev("execution", fill("f1", schema::side::buy, 10, 100.0), day1 + 1000));
    rb.apply(rebuilt, "exec.fill.AAPL",
             ev("execution", fill("f2", schema::side::sell, 4, 110.0), day1 + 2000));
    rb.apply(rebuilt, "exec.fill.AAPL",
             ev("execution", fill("f3", schema::side::buy, 4, 90.0), day2 + 1000));
    rb.apply(rebuilt, "risk.position.AAPL", ev("risk", mark(80.0, 10, 96.0), day2 + 2000));
    rb.apply(rebuilt, "risk.state",
             ev("risk",
                schema::trading_state_changed{schema::trading_state::halted, "daily loss", "risk",
                                              "", ""},
                day2 + 2000));
    rb.apply(rebuilt, "risk.position.AAPL", ev("risk", mark(85.0, 10, 96.0), day3 + 500));
    rb.apply(rebuilt, "exec.fill.AAPL",
             ev("execution", fill("f4", schema::side::sell, 5, 85.0), day3 + 1000));
    rb.finish(rebuilt);
    const auto* p = rebuilt.book().find("AAPL");
    REQUIRE(p != nullptr);
    CHECK(p->qty == 5);
    CHECK(p->avg_px == schema::to_fixed(96.0));
    CHECK(p->realized_pnl == schema::to_fixed(40.0 - 55.0));  // carried: every session's
    CHECK(rebuilt.session_start() == day3);
    // Session 3 opened at the total P&L of session 2's last mark: 40 + 10 x (80 - 96) = -120.
    // Now realized -15 + 5 x (85 - 96) = -70: the session made +50 (session 2's -160 is not
    // today's loss).
    CHECK(rebuilt.day_pnl() == schema::to_fixed(50.0));
    // Yesterday's halt (session 2's loss) is not latched again today.
    CHECK(rebuilt.state() == schema::trading_state::active);
}

TEST_CASE("risk recovery: a snapshot replaces what came before it and opens its session") {
    risk_engine rebuilt(config(50.0));
    state_rebuild rb("risk", utc_days);
    // Something before the snapshot that the snapshot already contains.
    rb.apply(rebuilt, "exec.fill.AAPL",
             ev("execution", fill("f1", schema::side::buy, 10, 100.0), day1 + 1000));
    schema::risk_snapshot snap;
    snap.session_start_ns = day2;
    snap.day_base_pnl = schema::to_fixed(-20.0);
    snap.positions.push_back(
        {"AAPL", 10, schema::to_fixed(100.0), schema::to_fixed(5.0), schema::to_fixed(98.0), "f1"});
    rb.apply(rebuilt, "risk.snapshot.risk", ev("risk", snap, day2));
    // Another node's snapshot is not ours.
    snap.positions[0].qty = 999;
    rb.apply(rebuilt, "risk.snapshot.risk-2", ev("risk-2", snap, day2));
    rb.apply(rebuilt, "exec.fill.AAPL",
             ev("execution", fill("f2", schema::side::sell, 4, 97.0), day2 + 1000));
    rb.finish(rebuilt);
    CHECK(rb.applied().snapshots == 1);
    const auto* p = rebuilt.book().find("AAPL");
    REQUIRE(p != nullptr);
    CHECK(p->qty == 6);
    CHECK(p->avg_px == schema::to_fixed(100.0));
    CHECK(p->realized_pnl == schema::to_fixed(5.0 - 12.0));
    CHECK(rebuilt.session_start() == day2);
    // Total now: realized -7 + 6 x (98 - 100) = -19; the session opened at -20.
    CHECK(rebuilt.day_pnl() == schema::to_fixed(1.0));
}

TEST_CASE("risk recovery: an order working at the snapshot keeps counting after it") {
    // Day 1: a GTC BUY 30 approved, 10 filled; the session boundary snapshots the book with
    // that order's open 20. Recovery starts from the snapshot, so the approval is not replayed.
    risk_engine before(config(1e9));
    before.begin_session(day1);
    schema::order o;
    o.order_id = "risk-1-7";
    o.symbol = "AAPL";
    o.dir = schema::side::buy;
    o.qty = 30;
    o.signal_src = "strategy";
    o.signal_id = 7;
    before.restore_approved(o);
    auto f1 = fill("f1", schema::side::buy, 10, 100.0);
    f1.order_id = o.order_id;
    f1.leaves_qty = 20;
    REQUIRE(before.on_fill(f1, day1 + 1000));
    REQUIRE(before.begin_session(day2));
    const auto snap = before.snapshot();
    REQUIRE(snap.working.size() == 1);
    CHECK(snap.working[0].order_id == "risk-1-7");
    CHECK(snap.working[0].open_qty == 20);

    risk_engine rebuilt(config(1e9));
    state_rebuild rb("risk", utc_days);
    rb.apply(rebuilt, "risk.snapshot.risk", ev("risk", snap, day2));
    auto f2 = fill("f2", schema::side::buy, 5, 100.0);
    f2.order_id = o.order_id;
    f2.leaves_qty = 15;
    rb.apply(rebuilt, "exec.fill.AAPL", ev("execution", f2, day2 + 1000));
    rb.finish(rebuilt);
    CHECK(rebuilt.book().qty("AAPL") == 15);
    CHECK(rebuilt.open_orders() == 1);
    CHECK(rebuilt.open_qty("AAPL", schema::side::buy) == 15);  // 30 - 10 - 5, still counted
    // Its end after the snapshot ends it.
    CHECK(rebuilt.on_order_end("risk-1-7"));
    CHECK(rebuilt.open_orders() == 0);
}

TEST_CASE("risk recovery: a running risk resets its daily loss at the session boundary") {
    testing::fake_context ctx("risk");
    ctx.now = day1 + 10 * 3'600LL * 1'000'000'000LL;  // 10:00 UTC
    risk_node node(config(50.0));
    node.configure("risk", utc_days);
    node.on_start(ctx);
    // Starting with an empty journal opens the current session with an empty snapshot.
    auto snaps = ctx.of<schema::risk_snapshot>();
    REQUIRE(snaps.size() == 1);
    CHECK(snaps[0].topic == "risk.snapshot.risk");
    CHECK(snaps[0].body.session_start_ns == day1);
    CHECK(snaps[0].body.positions.empty());

    auto quote = [&](double bid, double ask) {
        schema::tick t;
        t.symbol = "AAPL";
        t.bid_px = schema::to_fixed(bid);
        t.ask_px = schema::to_fixed(ask);
        testing::deliver(node, ctx, "md.tick.AAPL", t);
    };
    quote(99.0, 101.0);
    testing::deliver(node, ctx, "exec.fill.AAPL", fill("f1", schema::side::buy, 10, 100.0));
    quote(93.0, 95.0);  // mid 94: -60 <= -50
    CHECK(node.engine().state() == schema::trading_state::halted);

    // The timer due before midnight asks to be called back at the boundary at the latest.
    const std::int64_t late = day2 - 1'000'000;
    ctx.now = late;
    CHECK(node.on_timer(ctx, late) <= day2);
    CHECK(node.engine().state() == schema::trading_state::halted);
    CHECK(ctx.of<schema::risk_snapshot>().size() == 1);

    ctx.now = day2 + 1'000'000;
    node.on_timer(ctx, ctx.now);
    CHECK(node.engine().state() == schema::trading_state::active);
    CHECK(node.engine().day_pnl() == 0);
    snaps = ctx.of<schema::risk_snapshot>();
    REQUIRE(snaps.size() == 2);
    const auto& s = snaps[1].body;
    CHECK(s.session_start_ns == day2);
    CHECK(s.day_base_pnl == schema::to_fixed(-60.0));
    REQUIRE(s.positions.size() == 1);
    CHECK(s.positions[0].symbol == "AAPL");
    CHECK(s.positions[0].qty == 10);
    CHECK(s.positions[0].avg_px == schema::to_fixed(100.0));
    CHECK(s.positions[0].mark_px == schema::to_fixed(94.0));
    const auto states = ctx.of<schema::trading_state_changed>();
    REQUIRE_FALSE(states.empty());
    CHECK(states.back().body.state == schema::trading_state::active);
    CHECK(states.back().body.by == "risk");

    // The new session has its own budget: -40 more is fine, -60 more halts again.
    quote(89.0, 91.0);  // mid 90: session P&L -40
    CHECK(node.engine().state() == schema::trading_state::active);
    quote(87.0, 89.0);  // mid 88: session P&L -60
    CHECK(node.engine().state() == schema::trading_state::halted);
    // Positions carried: the book is the same book.
    CHECK(node.engine().book().qty("AAPL") == 10);
}
