// execution: the paper exchange (fills with slippage, limit orders resting and filling later,
// partial fills, every reject code, idempotence) and the node adapter through a recording
// context (topics, trace ids, trading state).
#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "recording_context.hpp"
#include "tradebus/execution/execution_node.hpp"
#include "tradebus/schema/topics.hpp"

using namespace tradebus;
using namespace tradebus::execution;
using schema::order_type;
using schema::side;
using schema::to_fixed;

namespace {

constexpr std::int64_t t_now = 1'700'000'000'000'000'000;
constexpr std::int64_t ms = 1'000'000;

schema::tick quote(const std::string& sym, double bid, std::int64_t bid_qty, double ask,
                   std::int64_t ask_qty) {
    return schema::tick{sym, to_fixed(bid), bid_qty, to_fixed(ask), ask_qty, 0, 0, t_now};
}

schema::order market(const std::string& id, side s, std::int64_t qty,
                     const std::string& sym = "AAPL",
                     schema::time_in_force tif = schema::time_in_force::day) {
    return schema::order{id, sym, s, qty, qty, order_type::market, 0, "strategy", 1, tif, 0};
}

schema::order limit(const std::string& id, side s, std::int64_t qty, double px,
                    const std::string& sym = "AAPL",
                    schema::time_in_force tif = schema::time_in_force::day) {
    return schema::order{id,           sym,        s, qty, qty, order_type::limit,
                         to_fixed(px), "strategy", 1, tif, 0};
}

schema::envelope env(std::uint64_t trace, std::int64_t ts = t_now) {
    return schema::envelope{"risk", 1, ts, trace};
}

template <class T>
std::vector<T> only(const std::vector<exec_output>& out) {
    std::vector<T> r;
    for (const auto& o : out) {
        if (const auto* b = std::get_if<T>(&o.body)) r.push_back(*b);
    }
    return r;
}

exchange_config no_slippage() {
    exchange_config c;
    c.slippage_bps = 0.0;
    return c;
}

// An execution node (no slippage) after on_start, and how the tests hand it an event.
struct started_node {
    execution_node node{no_slippage()};
    recording_context ctx;
    started_node() { node.on_start(ctx); }
    void deliver(const std::string& topic, schema::event ev) {
        inbound_message m(topic, std::move(ev));
        node.on_event(ctx, m.view());
    }
};

}  // namespace

TEST_CASE("execution: market orders fill at the touch, slipped against the taker") {
    exchange_config cfg;
    cfg.slippage_bps = 10.0;  // 0.1 %
    paper_exchange ex(cfg, "x");
    std::vector<exec_output> out;
    ex.on_tick(quote("AAPL", 100.00, 5, 100.10, 7), out);
    CHECK(out.empty());

    ex.on_order(env(11), market("o1", side::buy, 3), t_now, out);
    REQUIRE(out.size() == 2);
    const auto ack = std::get<schema::order_ack>(out[0].body);
    CHECK(ack.order_id == "o1");
    CHECK(ack.qty == 3);
    CHECK(out[0].trace_id == 11);
    const auto buy = std::get<schema::fill>(out[1].body);
    CHECK(buy.px == to_fixed(100.10) + to_fixed(0.1001));  // ask + 10 bps
    CHECK(buy.qty == 3);  // no partial fills: all at once, whatever the displayed size
    CHECK(buy.leaves_qty == 0);
    CHECK(buy.fill_id == "x-1");
    CHECK(out[1].trace_id == 11);

    out.clear();
    ex.on_order(env(12), market("o2", side::sell, 9), t_now, out);
    const auto sell = only<schema::fill>(out);
    REQUIRE(sell.size() == 1);
    CHECK(sell[0].px == to_fixed(100.00) - to_fixed(0.1));  // bid - 10 bps
    CHECK(sell[0].qty == 9);
    CHECK(sell[0].fill_id == "x-2");
    CHECK(ex.resting() == 0);
    CHECK(ex.fills() == 2);
}

TEST_CASE("execution: limit orders fill only when marketable, else rest and fill later") {
    exchange_config cfg;
    cfg.slippage_bps = 50.0;
    paper_exchange ex(cfg, "x");
    std::vector<exec_output> out;
    ex.on_tick(quote("AAPL", 100.00, 10, 100.20, 10), out);

    ex.on_order(env(1), limit("buy-low", side::buy, 4, 100.10), t_now, out);
    CHECK(only<schema::order_ack>(out).size() == 1);
    CHECK(only<schema::fill>(out).empty());
    CHECK(ex.resting() == 1);

    // Marketable at once: fills at the slipped ask but never above the limit.
    out.clear();
    ex.on_order(env(2), limit("buy-now", side::buy, 2, 100.30), t_now, out);
    auto f = only<schema::fill>(out);
    REQUIRE(f.size() == 1);
    CHECK(f[0].px == to_fixed(100.30));  // 100.20 + 50 bps = 100.701 capped at the limit

    // Sell limit above the bid rests too.
    out.clear();
    ex.on_order(env(3), limit("sell-high", side::sell, 1, 100.50), t_now, out);
    CHECK(only<schema::fill>(out).empty());
    CHECK(ex.resting() == 2);

    // The ask comes down to the buy limit: the resting buy fills, with its own trace id.
    out.clear();
    ex.on_tick(quote("AAPL", 99.90, 10, 100.05, 10), out);
    f = only<schema::fill>(out);
    REQUIRE(f.size() == 1);
    CHECK(f[0].order_id == "buy-low");
    CHECK(f[0].px == to_fixed(100.10));
    CHECK(out[0].trace_id == 1);
    CHECK(ex.resting() == 1);

    // The bid rises through the sell limit: the resting sell fills at bid - slippage
    // (101.00 - 0.505 = 100.495), floored at its limit.
    out.clear();
    ex.on_tick(quote("AAPL", 101.00, 10, 101.10, 10), out);
    f = only<schema::fill>(out);
    REQUIRE(f.size() == 1);
    CHECK(f[0].order_id == "sell-high");
    CHECK(f[0].px == to_fixed(100.50));
    CHECK(ex.resting() == 0);

    // A quote for another symbol fills nothing.
    out.clear();
    ex.on_tick(quote("MSFT", 1.0, 1, 1.01, 1), out);
    CHECK(out.empty());
}

TEST_CASE("execution: partial fills take at most the displayed size per quote") {
    exchange_config cfg = no_slippage();
    cfg.partial_fills = true;
    paper_exchange ex(cfg, "x");
    std::vector<exec_output> out;
    ex.on_tick(quote("AAPL", 100.00, 6, 100.01, 10), out);

    ex.on_order(env(5), market("big", side::buy, 25), t_now, out);
    auto f = only<schema::fill>(out);
    REQUIRE(f.size() == 1);
    CHECK(f[0].qty == 10);
    CHECK(f[0].leaves_qty == 15);
    CHECK(ex.resting() == 1);

    // The same quote has nothing left on the ask for a second buyer...
    out.clear();
    ex.on_order(env(6), market("second", side::buy, 1), t_now, out);
    CHECK(only<schema::fill>(out).empty());
    // ...but its bid side is untouched.
    ex.on_order(env(7), market("seller", side::sell, 8), t_now, out);
    f = only<schema::fill>(out);
    REQUIRE(f.size() == 1);
    CHECK(f[0].qty == 6);
    CHECK(f[0].leaves_qty == 2);

    // Each new quote fills the resting orders in arrival order, up to its size.
    out.clear();
    ex.on_tick(quote("AAPL", 100.00, 50, 100.02, 10), out);
    f = only<schema::fill>(out);
    REQUIRE(f.size() == 2);
    CHECK(f[0].order_id == "big");
    CHECK(f[0].qty == 10);
    CHECK(f[0].leaves_qty == 5);
    CHECK(f[1].order_id == "seller");
    CHECK(f[1].qty == 2);
    CHECK(f[1].leaves_qty == 0);

    out.clear();
    ex.on_tick(quote("AAPL", 100.00, 50, 100.02, 10), out);
    f = only<schema::fill>(out);
    REQUIRE(f.size() == 2);
    CHECK(f[0].order_id == "big");
    CHECK(f[0].qty == 5);
    CHECK(f[0].leaves_qty == 0);
    CHECK(f[1].order_id == "second");
    CHECK(f[1].leaves_qty == 0);
    CHECK(ex.resting() == 0);
    CHECK(ex.fills() == 6);
}

TEST_CASE("execution: every reject code, with the order's trace id") {
    exchange_config cfg = no_slippage();
    cfg.max_order_age_ms = 1000;
    cfg.max_resting_orders = 1;
    paper_exchange ex(cfg, "x");
    std::vector<exec_output> out;
    ex.on_tick(quote("AAPL", 100.00, 5, 100.01, 5), out);
    ex.on_tick(schema::tick{"ONESIDED", to_fixed(5.0), 1, 0, 0, 0, 0, t_now}, out);

    struct row {
        const char* name;
        schema::order o;
        std::int64_t ts;
        const char* code;
        const char* reason;
    };
    auto bad_side = market("r3", side::flat, 1);
    auto bad_limit = limit("r5", side::buy, 1, 0.0);
    const row table[] = {
        {"empty id", market("", side::buy, 1), t_now, "invalid", "order_id"},
        {"zero qty", market("r1", side::buy, 0), t_now, "invalid", "qty 0"},
        {"negative qty", market("r2", side::sell, -3), t_now, "invalid", "qty -3"},
        {"FLAT side", bad_side, t_now, "invalid", "side FLAT"},
        {"bad symbol", market("r4", side::buy, 1, "AA PL"), t_now, "invalid", "symbol"},
        {"limit without price", bad_limit, t_now, "invalid", "limit_px"},
        {"no quote at all", market("r6", side::buy, 1, "MSFT"), t_now, "no_quote", "no ask"},
        {"no ask", market("r7", side::buy, 1, "ONESIDED"), t_now, "no_quote", "no ask"},
        {"stale approval", market("r8", side::buy, 1), t_now - 1001 * ms, "stale_order", "1001 ms"},
        {"fresh enough", limit("r9", side::buy, 1, 1.0), t_now - 1000 * ms, "", ""},
        {"book full", limit("r10", side::buy, 1, 1.0), t_now, "invalid", "book full"},
        {"duplicate", market("r9", side::buy, 1), t_now, "duplicate", "r9"},
        {"duplicate of a rejected id", market("r1", side::buy, 1), t_now, "duplicate", "r1"},
    };
    std::uint64_t trace = 100;
    for (const auto& r : table) {
        CAPTURE(r.name);
        out.clear();
        ex.on_order(env(++trace, r.ts), r.o, t_now, out);
        const auto rejects = only<schema::exec_reject>(out);
        if (std::string_view(r.code).empty()) {
            CHECK(rejects.empty());
            continue;
        }
        REQUIRE(rejects.size() == 1);
        CHECK(out.size() == 1);  // no ack for a rejected order
        CHECK(rejects[0].code == r.code);
        CHECK(rejects[0].order_id == r.o.order_id);
        CHECK_MESSAGE(rejects[0].reason.find(r.reason) != std::string::npos, rejects[0].reason);
        CHECK(out[0].trace_id == trace);
    }

    out.clear();
    std::vector<exec_output> cancels;
    ex.set_halted(true, "operator: kill switch", cancels);
    const auto cancelled = only<schema::order_cancelled>(cancels);
    REQUIRE(cancelled.size() == 1);  // the resting r9
    CHECK(cancels.size() == 1);
    CHECK(cancelled[0].order_id == "r9");
    CHECK(cancelled[0].by == "execution");
    CHECK(cancelled[0].leaves_qty == cancelled[0].qty);
    CHECK(cancelled[0].reason == "trading halted (operator: kill switch)");
    CHECK(ex.resting() == 0);
    ex.on_order(env(999), market("r11", side::buy, 1), t_now, out);
    REQUIRE(only<schema::exec_reject>(out).size() == 1);
    CHECK(only<schema::exec_reject>(out)[0].code == "halted");

    out.clear();
    ex.set_halted(false, "", out);
    ex.on_order(env(1000), market("r12", side::buy, 1), t_now, out);
    CHECK(only<schema::fill>(out).size() == 1);
    // An order refused while halted keeps its id: sending it again is a duplicate.
    out.clear();
    ex.on_order(env(1001), market("r11", side::buy, 1), t_now, out);
    CHECK(only<schema::exec_reject>(out)[0].code == "duplicate");
}

TEST_CASE("execution: the same order id twice fills once") {
    paper_exchange ex(no_slippage(), "x");
    std::vector<exec_output> out;
    ex.on_tick(quote("AAPL", 100.00, 5, 100.01, 5), out);
    for (int i = 0; i < 5; ++i) ex.on_order(env(1), market("once", side::buy, 2), t_now, out);
    CHECK(only<schema::fill>(out).size() == 1);
    CHECK(only<schema::order_ack>(out).size() == 1);
    CHECK(only<schema::exec_reject>(out).size() == 4);
    CHECK(ex.fills() == 1);

    // Also while the first one is still resting.
    out.clear();
    ex.on_order(env(2), limit("rest", side::buy, 2, 50.0), t_now, out);
    ex.on_order(env(2), limit("rest", side::buy, 2, 200.0), t_now, out);
    ex.on_tick(quote("AAPL", 49.00, 5, 49.50, 5), out);
    const auto f = only<schema::fill>(out);
    REQUIRE(f.size() == 1);
    CHECK(f[0].order_id == "rest");
    CHECK(f[0].qty == 2);
}

TEST_CASE("execution: order id memory is bounded and forgets the oldest first") {
    order_id_memory m(3);
    CHECK(m.insert("a"));
    CHECK(m.insert("b"));
    CHECK(m.insert("c"));
    CHECK_FALSE(m.insert("a"));
    CHECK(m.insert("d"));  // forgets "a"
    CHECK(m.size() == 3);
    CHECK(m.forgotten() == 1);
    CHECK_FALSE(m.contains("a"));
    CHECK(m.contains("b"));
    CHECK(m.contains("d"));
}

TEST_CASE("execution: order id memory keeps exactly the newest ids through heavy churn") {
    // 100,000 ids through a memory of 10,000: every eviction shifts a probe chain back; any
    // key left unreachable would show as a forgotten duplicate or a wrongly kept one.
    constexpr int capacity = 10'000, total = 100'000;
    order_id_memory m(capacity);
    const auto id = [](int n) { return "risk-1732190000123-" + std::to_string(n); };
    for (int n = 0; n < total; ++n) {
        REQUIRE(m.insert(id(n)));
        if (n % 97 == 0) CHECK_FALSE(m.insert(id(n)));  // a repeat within the window
        if (n >= capacity && n % 89 == 0) CHECK_FALSE(m.contains(id(n - capacity)));
    }
    CHECK(m.size() == capacity);
    CHECK(m.forgotten() == total - capacity);
    int kept = 0, gone = 0;
    for (int n = 0; n < total; ++n) (m.contains(id(n)) ? kept : gone) += 1;
    CHECK(kept == capacity);
    CHECK(gone == total - capacity);
    for (int n = total - capacity; n < total; ++n) CHECK_FALSE(m.insert(id(n)));
    CHECK(m.insert(id(0)));  // long forgotten: new again
}

TEST_CASE("execution: node publishes on per-symbol exec topics with the order's trace id") {
    exchange_config cfg = no_slippage();
    execution_node node(cfg);
    recording_context ctx;
    ctx.name = "execution";
    node.on_start(ctx);
    REQUIRE(ctx.out.size() == 1);  // its (empty) book: exec.snapshot.execution
    CHECK(ctx.out[0].topic == "exec.snapshot.execution");
    ctx.out.clear();
    const auto subs = node.subscriptions();
    CHECK(std::find(subs.begin(), subs.end(), schema::topics::approved) != subs.end());
    CHECK(std::find(subs.begin(), subs.end(), schema::topics::md_tick) != subs.end());
    CHECK(std::find(subs.begin(), subs.end(), schema::topics::trading) != subs.end());

    auto deliver = [&](const std::string& topic, schema::event ev) {
        inbound_message m(topic, std::move(ev));
        node.on_event(ctx, m.view());
    };
    using schema::topics::for_symbol;
    deliver(for_symbol(schema::topics::md_tick, "SPY"),
            {schema::envelope{"md", 1, t_now, 77}, quote("SPY", 500.00, 10, 500.01, 10)});
    CHECK(ctx.out.empty());
    deliver(for_symbol(schema::topics::approved, "SPY"),
            {env(4242, ctx.now), market("risk-1-1", side::buy, 3, "SPY")});
    REQUIRE(ctx.out.size() == 2);
    CHECK(ctx.out[0].topic == "exec.ack.SPY");
    CHECK(ctx.out[0].ev.env.trace_id == 4242);
    CHECK(ctx.out[1].topic == "exec.fill.SPY");
    CHECK(ctx.out[1].ev.env.trace_id == 4242);
    const auto& fill = std::get<schema::fill>(ctx.out[1].ev.body);
    CHECK(fill.fill_id == "execution-" + std::to_string(ctx.now / ms) + "-1");
    CHECK(fill.px == to_fixed(500.01));

    deliver(for_symbol(schema::topics::approved, "SPY"),
            {env(4243, ctx.now), market("risk-1-1", side::buy, 3, "SPY")});
    REQUIRE(ctx.out.size() == 3);
    CHECK(ctx.out[2].topic == "exec.reject.SPY");
    CHECK(std::get<schema::exec_reject>(ctx.out[2].ev.body).code == "duplicate");
    CHECK(ctx.out[2].ev.env.trace_id == 4243);

    // An order with no usable symbol still gets an answer, on a valid topic.
    deliver(for_symbol(schema::topics::approved, "SPY"),
            {env(4244, ctx.now), market("risk-1-2", side::buy, 3, "")});
    REQUIRE(ctx.out.size() == 4);
    CHECK(ctx.out[3].topic == "exec.reject._invalid");
    CHECK_FALSE(schema::topics::topic_error(ctx.out[3].topic).has_value());
}

TEST_CASE("execution: node halts on sys.trading, risk.state and on_trading_state") {
    started_node f;
    auto& [node, ctx] = f;
    const auto deliver = [&](const std::string& topic, schema::event ev) {
        f.deliver(topic, std::move(ev));
    };
    auto state = [](schema::trading_state s) {
        return schema::trading_state_changed{s, "test", "operator", "", ""};
    };
    auto codes_of = [&](const schema::order& o) {
        ctx.out.clear();
        deliver("risk.approved.AAPL", {env(1, ctx.now), o});
        std::string codes;
        for (const auto& p : ctx.out) {
            if (const auto* r = std::get_if<schema::exec_reject>(&p.ev.body)) codes += r->code;
            if (std::holds_alternative<schema::fill>(p.ev.body)) codes += "fill";
        }
        return codes;
    };
    auto order_codes = [&](const std::string& id) { return codes_of(market(id, side::buy, 1)); };
    deliver("md.tick.AAPL", {env(2, ctx.now), quote("AAPL", 10.0, 5, 10.01, 5)});
    CHECK(order_codes("a") == "fill");

    deliver(std::string(schema::topics::trading), {env(3), state(schema::trading_state::halted)});
    CHECK(order_codes("b") == "halted");
    node.on_trading_state(ctx, schema::trading_state::active, "resumed");  // idempotent source
    CHECK(order_codes("c") == "fill");

    deliver(std::string(schema::topics::risk_state),
            {env(4), state(schema::trading_state::halted)});
    CHECK(order_codes("d") == "halted");
    node.on_trading_state(ctx, schema::trading_state::active, "");  // risk still halted
    CHECK(order_codes("e") == "halted");
    deliver(std::string(schema::topics::risk_state),
            {env(5), state(schema::trading_state::reducing)});  // reducing: risk's job
    CHECK(order_codes("f") == "fill");

    // A flatten's closing order: through risk's own halt (its daily loss), never through an
    // operator's.
    auto closing_codes = [&](const std::string& id) {
        auto o = market(id, side::sell, 1, "AAPL", schema::time_in_force::ioc);
        o.signal_src = std::string(schema::flatten_signal_src);
        return codes_of(o);
    };
    deliver(std::string(schema::topics::risk_state),
            {env(7), state(schema::trading_state::halted)});
    CHECK(order_codes("g") == "halted");
    CHECK(closing_codes("h") == "fill");
    deliver(std::string(schema::topics::trading), {env(8), state(schema::trading_state::halted)});
    CHECK(closing_codes("i") == "halted");
    deliver(std::string(schema::topics::trading), {env(9), state(schema::trading_state::active)});
    CHECK(closing_codes("j") == "fill");
}

TEST_CASE("execution: config keys are read and range-checked") {
    common::config_errors errors("execution.toml");
    auto tbl = toml::parse(R"(
        [execution]
        slippage_bps = 2.5
        partial_fills = true
        max_order_age_ms = 750
        max_remembered_orders = 1000
        max_resting_orders = 0
        cancel_on_halt = false
    )");
    common::section root(&tbl, "", errors);
    auto own = root.table("execution");
    const auto cfg = read_config(own);
    own.finish();
    CHECK(cfg.slippage_bps == 2.5);
    CHECK(cfg.partial_fills);
    CHECK(cfg.max_order_age_ms == 750);
    CHECK(cfg.max_remembered_orders == 1000);
    CHECK_FALSE(cfg.cancel_on_halt);
    CHECK(exchange_config{}.cancel_on_halt);  // the default: a halt cancels resting orders
    REQUIRE(errors.lines().size() == 1);
    CHECK(errors.lines()[0].find("max_resting_orders") != std::string::npos);
}

TEST_CASE(
    "execution: recovery reads back to the session start or max_order_age_ms, whichever is "
    "earlier") {
    constexpr std::int64_t min_ns = 60LL * 1'000'000'000LL;
    const runtime::trading_session ny("America/New_York", "09:30");
    // 2026-03-09 13:30 UTC = 09:30 EDT: the session began then.
    const std::int64_t start = ny.start_of(1'773'063'000'000'000'000);
    REQUIRE(start == 1'773'063'000'000'000'000);

    exchange_config cfg;
    cfg.max_order_age_ms = 5 * 60'000;  // approvals stay valid 5 minutes
    execution_node node(cfg);
    node.configure("execution", ny);
    // Hours into the session: from its start (more than the age window).
    // (The resting book comes from the last snapshot within the horizon, searched from there.)
    auto req = node.recovery(start + 120 * min_ns);
    REQUIRE(req.has_value());
    CHECK(req->replay_since_ns == start);
    CHECK(req->since_ns == ny.horizon_start(start + 120 * min_ns));
    CHECK(req->anchor_topic == "exec.snapshot.execution");
    // A minute after the start: an approval from the previous session is still valid, so the
    // ids acted on in those last minutes are read too.
    req = node.recovery(start + min_ns);
    REQUIRE(req.has_value());
    CHECK(req->replay_since_ns == start + min_ns - 5 * min_ns);

    cfg.max_order_age_ms = 0;  // no age check: any old approval could still be acted on
    execution_node no_age(cfg);
    no_age.configure("execution", ny);
    req = no_age.recovery(start + min_ns);
    REQUIRE(req.has_value());
    CHECK(req->replay_since_ns == ny.horizon_start(start + min_ns));
}

// ---- time in force, expiry, cancels, restore (issue 15) ---------------------------------

namespace {
schema::order with_expiry(schema::order o, std::int64_t expire_ns) {
    o.expire_ts_ns = expire_ns;
    return o;
}
}  // namespace

TEST_CASE("execution: IOC fills what the quote allows and cancels the rest") {
    exchange_config cfg = no_slippage();
    cfg.partial_fills = true;
    paper_exchange ex(cfg, "x");
    std::vector<exec_output> out;
    ex.on_tick(quote("AAPL", 100.0, 50, 100.5, 30), out);
    ex.on_order(env(7), market("i1", side::buy, 100, "AAPL", schema::time_in_force::ioc), t_now,
                out);
    REQUIRE(out.size() == 3);
    const auto ack = std::get<schema::order_ack>(out[0].body);
    CHECK(ack.tif == schema::time_in_force::ioc);
    CHECK(ack.expire_ts_ns == 0);
    const auto f = std::get<schema::fill>(out[1].body);
    CHECK(f.qty == 30);
    CHECK(f.leaves_qty == 70);
    const auto c = std::get<schema::order_cancelled>(out[2].body);
    CHECK(c.order_id == "i1");
    CHECK(c.leaves_qty == 70);
    CHECK(c.by == "execution");
    CHECK(c.request_id == 0);
    CHECK(out[2].trace_id == 7);
    CHECK(ex.resting() == 0);

    // Not marketable at all: nothing fills, all of it is cancelled, nothing rests.
    out.clear();
    ex.on_order(env(8), limit("i2", side::buy, 10, 99.0, "AAPL", schema::time_in_force::ioc), t_now,
                out);
    REQUIRE(out.size() == 2);
    CHECK(std::get<schema::order_cancelled>(out[1].body).leaves_qty == 10);
    out.clear();
    ex.on_tick(quote("AAPL", 98.0, 50, 98.5, 30), out);  // would have filled a resting i2
    CHECK(out.empty());
}

TEST_CASE("execution: FOK fills all at once or nothing") {
    exchange_config cfg = no_slippage();
    cfg.partial_fills = true;
    paper_exchange ex(cfg, "x");
    std::vector<exec_output> out;
    ex.on_tick(quote("AAPL", 100.0, 50, 100.5, 30), out);
    ex.on_order(env(1), market("k1", side::buy, 31, "AAPL", schema::time_in_force::fok), t_now,
                out);
    REQUIRE(out.size() == 2);  // ack, cancelled: 31 > 30 displayed
    CHECK(only<schema::fill>(out).empty());
    CHECK(std::get<schema::order_cancelled>(out[1].body).leaves_qty == 31);
    out.clear();
    ex.on_order(env(2), market("k2", side::buy, 30, "AAPL", schema::time_in_force::fok), t_now,
                out);
    REQUIRE(only<schema::fill>(out).size() == 1);
    CHECK(only<schema::fill>(out)[0].qty == 30);
    CHECK(only<schema::fill>(out)[0].leaves_qty == 0);
    CHECK(only<schema::order_cancelled>(out).empty());
    out.clear();
    ex.on_order(env(3), limit("k3", side::sell, 5, 100.01, "AAPL", schema::time_in_force::fok),
                t_now, out);  // bid 100.00 < limit: not marketable
    CHECK(only<schema::fill>(out).empty());
    CHECK(only<schema::order_cancelled>(out).size() == 1);
    CHECK(ex.resting() == 0);
}

TEST_CASE("execution: DAY expires at the end of the day, GTC and explicit expiries as given") {
    paper_exchange ex(no_slippage(), "x");
    std::vector<exec_output> out;
    ex.on_tick(quote("AAPL", 100.0, 50, 100.5, 30), out);
    ex.on_order(env(1), limit("d1", side::buy, 10, 99.0), t_now, out);
    ex.on_order(env(2), limit("g1", side::buy, 10, 99.0, "AAPL", schema::time_in_force::gtc), t_now,
                out);
    ex.on_order(env(3),
                with_expiry(limit("e1", side::buy, 10, 99.0, "AAPL", schema::time_in_force::gtc),
                            t_now + 5'000 * ms),
                t_now, out);
    const auto acks = only<schema::order_ack>(out);
    REQUIRE(acks.size() == 3);
    const runtime::trading_session utc;  // the default session: the UTC day
    const std::int64_t day_end = utc.next_start(t_now);
    CHECK(day_end > t_now);
    CHECK(day_end - utc.start_of(t_now) == 86'400'000 * ms);
    CHECK(acks[0].expire_ts_ns == day_end);
    CHECK(acks[1].expire_ts_ns == 0);
    CHECK(acks[2].expire_ts_ns == t_now + 5'000 * ms);
    CHECK(ex.resting() == 3);
    REQUIRE(ex.next_expiry_ns().has_value());
    CHECK(*ex.next_expiry_ns() == t_now + 5'000 * ms);

    out.clear();
    CHECK(ex.expire(t_now + 5'000 * ms - 1, out) == 0);
    CHECK(ex.expire(t_now + 5'000 * ms, out) == 1);
    const auto e = std::get<schema::order_expired>(out.at(0).body);
    CHECK(e.order_id == "e1");
    CHECK(e.leaves_qty == 10);
    CHECK(e.expire_ts_ns == t_now + 5'000 * ms);
    CHECK(out[0].trace_id == 3);
    out.clear();
    CHECK(ex.expire(day_end, out) == 1);
    CHECK(std::get<schema::order_expired>(out.at(0).body).order_id == "d1");
    CHECK(ex.resting() == 1);  // g1: GTC never expires
    CHECK_FALSE(ex.next_expiry_ns().has_value());
    out.clear();
    ex.on_tick(quote("AAPL", 98.0, 50, 98.5, 30), out);  // only g1 is left to fill
    REQUIRE(only<schema::fill>(out).size() == 1);
    CHECK(only<schema::fill>(out)[0].order_id == "g1");
}

TEST_CASE("execution: a DAY order lives to the next start of the configured session") {
    const runtime::trading_session ny("America/New_York", "09:30");
    paper_exchange ex(no_slippage(), "x");
    ex.set_session(ny);
    std::vector<exec_output> out;
    ex.on_tick(quote("AAPL", 100.0, 50, 100.5, 30), out);
    ex.on_order(env(1), limit("ny1", side::buy, 10, 99.0), t_now, out);
    const auto acks = only<schema::order_ack>(out);
    REQUIRE(acks.size() == 1);
    CHECK(acks[0].expire_ts_ns == ny.next_start(t_now));
    CHECK(acks[0].expire_ts_ns != runtime::trading_session{}.next_start(t_now));
    out.clear();
    CHECK(ex.expire(ny.next_start(t_now) - 1, out) == 0);
    CHECK(ex.expire(ny.next_start(t_now), out) == 1);
}

TEST_CASE("execution: bad expiries are refused as invalid") {
    struct row {
        schema::order o;
        const char* reason;
    };
    const row rows[] = {
        {with_expiry(limit("x1", side::buy, 1, 99.0), -5), "expire_ts_ns -5: must be 0 or after"},
        {with_expiry(limit("x2", side::buy, 1, 99.0), t_now), "must be 0 or after now"},
        {with_expiry(market("x3", side::buy, 1, "AAPL", schema::time_in_force::ioc), t_now + 1),
         "must be 0 for IOC"},
        {with_expiry(market("x4", side::buy, 1, "AAPL", schema::time_in_force::fok), t_now + 1),
         "must be 0 for FOK"},
    };
    paper_exchange ex(no_slippage(), "x");
    std::vector<exec_output> out;
    ex.on_tick(quote("AAPL", 100.0, 50, 100.5, 30), out);
    for (const auto& r : rows) {
        CAPTURE(r.o.order_id);
        out.clear();
        ex.on_order(env(1), r.o, t_now, out);
        REQUIRE(out.size() == 1);
        const auto rej = std::get<schema::exec_reject>(out[0].body);
        CHECK(rej.code == "invalid");
        CHECK_MESSAGE(rej.reason.find(r.reason) != std::string::npos, rej.reason);
    }
    CHECK(ex.resting() == 0);
}

TEST_CASE("execution: cancel requests by id, symbol and all, and every refusal") {
    paper_exchange ex(no_slippage(), "x");
    std::vector<exec_output> out;
    ex.on_tick(quote("AAPL", 100.0, 50, 100.5, 30), out);
    ex.on_tick(quote("MSFT", 300.0, 50, 300.5, 30), out);
    ex.on_order(env(1), limit("a1", side::buy, 10, 99.0), t_now, out);
    ex.on_order(env(2), limit("a2", side::sell, 20, 101.0), t_now, out);
    ex.on_order(env(3), limit("m1", side::buy, 5, 299.0, "MSFT"), t_now, out);
    ex.on_order(env(4), market("done", side::buy, 5), t_now, out);  // fills at once
    REQUIRE(ex.resting() == 3);
    const auto request = [](std::uint64_t id, std::string order, std::string sym, bool all) {
        return schema::cancel_request{id, std::move(order), std::move(sym), all, "why", "ana"};
    };

    struct refusal {
        schema::cancel_request r;
        const char* code;
    };
    const refusal refusals[] = {
        {request(1, "nope", "", false), "unknown_order"},
        {request(2, "done", "", false), "already_terminal"},
        {request(3, "", "NVDA", false), "unknown_symbol"},
        {request(4, "", "", false), "invalid"},
        {request(5, "a1", "AAPL", false), "invalid"},
        {request(0, "a1", "", false), "invalid"},
        {request(6, "", "A B", false), "invalid"},
    };
    for (const auto& f : refusals) {
        CAPTURE(f.r.request_id);
        out.clear();
        ex.cancel(f.r, out);
        REQUIRE(out.size() == 1);
        const auto rej = std::get<schema::cancel_reject>(out[0].body);
        CHECK(rej.code == f.code);
        CHECK(rej.request_id == f.r.request_id);
        CHECK(ex.resting() == 3);  // nothing changed
    }

    out.clear();
    ex.cancel(request(10, "a1", "", false), out);
    REQUIRE(out.size() == 2);
    const auto c = std::get<schema::order_cancelled>(out[0].body);
    CHECK(c.order_id == "a1");
    CHECK(c.leaves_qty == 10);
    CHECK(c.by == "ana");
    CHECK(c.reason == "why");
    CHECK(c.request_id == 10);
    CHECK(out[0].trace_id == 1);
    CHECK(std::get<schema::cancel_done>(out[1].body).cancelled == 1);
    CHECK_FALSE(ex.resting_leaves("a1").has_value());
    out.clear();
    ex.cancel(request(11, "a1", "", false), out);  // again: it is no longer resting
    CHECK(std::get<schema::cancel_reject>(out.at(0).body).code == "already_terminal");

    out.clear();
    ex.cancel(request(12, "", "MSFT", false), out);
    REQUIRE(only<schema::order_cancelled>(out).size() == 1);
    CHECK(only<schema::order_cancelled>(out)[0].order_id == "m1");
    CHECK(only<schema::cancel_done>(out).at(0).cancelled == 1);
    out.clear();
    ex.cancel(request(13, "", "MSFT", false), out);  // a known symbol with nothing resting
    CHECK(out.size() == 1);
    CHECK(std::get<schema::cancel_done>(out[0].body).cancelled == 0);

    out.clear();
    ex.cancel(request(14, "", "", true), out);
    REQUIRE(only<schema::order_cancelled>(out).size() == 1);
    CHECK(only<schema::order_cancelled>(out)[0].order_id == "a2");
    CHECK(only<schema::cancel_done>(out).at(0).cancelled == 1);
    CHECK(ex.resting() == 0);
    out.clear();
    ex.on_tick(quote("AAPL", 101.5, 50, 102.0, 30), out);  // would have filled a2
    CHECK(out.empty());
}

TEST_CASE("execution: with cancel_on_halt false a halt keeps resting orders, unfilled") {
    exchange_config cfg = no_slippage();
    cfg.cancel_on_halt = false;
    paper_exchange ex(cfg, "x");
    std::vector<exec_output> out;
    ex.on_tick(quote("AAPL", 100.0, 50, 100.5, 30), out);
    ex.on_order(env(1), limit("h1", side::buy, 10, 99.0), t_now, out);
    out.clear();
    ex.set_halted(true, "operator", out);
    CHECK(out.empty());
    CHECK(ex.resting() == 1);
    ex.on_tick(quote("AAPL", 98.0, 50, 98.5, 30), out);
    CHECK(out.empty());  // halted: nothing fills
    ex.set_halted(false, "", out);
    ex.on_tick(quote("AAPL", 98.0, 50, 98.5, 30), out);
    CHECK(only<schema::fill>(out).size() == 1);
}

TEST_CASE("execution: a halted symbol or strategy scope cancels only its resting orders") {
    started_node f;
    auto& [node, ctx] = f;
    const auto deliver = [&](const std::string& topic, schema::event ev) {
        f.deliver(topic, std::move(ev));
    };
    deliver("md.tick.AAPL", {env(1, ctx.now), quote("AAPL", 100.0, 50, 100.5, 30)});
    deliver("md.tick.MSFT", {env(1, ctx.now), quote("MSFT", 50.0, 50, 50.5, 30)});
    auto other = limit("o1", side::buy, 10, 99.0);
    other.signal_src = "strategy2";
    deliver("risk.approved.AAPL", {env(2, ctx.now), limit("a1", side::buy, 10, 99.0)});
    deliver("risk.approved.AAPL", {env(3, ctx.now), other});
    deliver("risk.approved.MSFT", {env(4, ctx.now), limit("m1", side::buy, 10, 49.0, "MSFT")});
    REQUIRE(node.exchange().resting() == 3);
    std::string ack_sources;  // each ack names its order's strategy (a restart restores it)
    for (const auto& p : ctx.out) {
        if (const auto* a = std::get_if<schema::order_ack>(&p.ev.body)) {
            ack_sources += a->order_id + ":" + a->signal_src + " ";
        }
    }
    CHECK(ack_sources == "a1:strategy o1:strategy2 m1:strategy ");
    const auto cancelled_ids = [&] {
        std::string ids;
        for (const auto& p : ctx.out) {
            if (const auto* c = std::get_if<schema::order_cancelled>(&p.ev.body)) {
                ids += c->order_id + " ";
                CHECK(c->by == "execution");
            }
        }
        ctx.out.clear();
        return ids;
    };
    ctx.out.clear();
    const auto scope = [](schema::trading_state st, std::string sym, std::string strategy) {
        return schema::trading_state_changed{.state = st,
                                             .reason = "test",
                                             .by = "alice",
                                             .symbol = std::move(sym),
                                             .strategy = std::move(strategy)};
    };
    // Reduce-only cancels nothing; an event whose scope is not its topic's is ignored.
    deliver("sys.trading.symbol.MSFT",
            {env(5), scope(schema::trading_state::reducing, "MSFT", "")});
    deliver("sys.trading.symbol.AAPL", {env(6), scope(schema::trading_state::halted, "MSFT", "")});
    CHECK(cancelled_ids().empty());
    deliver("sys.trading.strategy.strategy2",
            {env(7), scope(schema::trading_state::halted, "", "strategy2")});
    CHECK(cancelled_ids() == "o1 ");
    deliver("sys.trading.symbol.MSFT", {env(8), scope(schema::trading_state::halted, "MSFT", "")});
    CHECK(cancelled_ids() == "m1 ");
    CHECK(node.exchange().resting() == 1);  // a1: neither its symbol nor its strategy halted
    CHECK_FALSE(node.exchange().halted());  // new orders are risk's to refuse
}

TEST_CASE("execution: the resting book is rebuilt from the node's own journaled events") {
    std::vector<exec_output> out;
    exchange_config cfg = no_slippage();
    cfg.partial_fills = true;
    paper_exchange ex(cfg, "x");
    const auto ack = [](std::string id, schema::time_in_force tif, std::int64_t expire) {
        return schema::order_ack{std::move(id),  "AAPL", side::buy, 10,        order_type::limit,
                                 to_fixed(99.0), tif,    expire,    "strategy"};
    };
    CHECK(ex.restore_ack(ack("r1", schema::time_in_force::day, t_now + 60'000 * ms), 41));
    CHECK(ex.restore_ack(ack("r2", schema::time_in_force::gtc, 0), 42));
    CHECK(ex.restore_ack(ack("r3", schema::time_in_force::gtc, 0), 43));
    CHECK_FALSE(ex.restore_ack(ack("r4", schema::time_in_force::ioc, 0), 44));  // never rests
    CHECK_FALSE(ex.restore_ack(ack("r1", schema::time_in_force::day, 0), 45));  // already
    ex.restore_fill(schema::fill{"r2", "f1", "AAPL", side::buy, 4, to_fixed(99.0), 6});
    ex.restore_end("r3");  // cancelled before the restart
    CHECK(ex.resting() == 2);
    CHECK(ex.resting_leaves("r1") == 10);
    CHECK(ex.resting_leaves("r2") == 6);
    ex.restore_fill(schema::fill{"r9", "f2", "AAPL", side::buy, 4, to_fixed(99.0), 0});  // unknown
    CHECK(ex.resting() == 2);

    // The restored orders live on: they fill on a quote, expire and can be cancelled.
    ex.on_tick(quote("AAPL", 98.0, 50, 98.5, 100), out);
    const auto fills = only<schema::fill>(out);
    REQUIRE(fills.size() == 2);
    CHECK(fills[0].order_id == "r1");
    CHECK(fills[1].order_id == "r2");
    CHECK(fills[1].qty == 6);
    CHECK(out[0].trace_id == 41);
    CHECK(ex.resting() == 0);
    CHECK(ex.restore_ack(ack("r5", schema::time_in_force::day, t_now + 1), 46));
    out.clear();
    CHECK(ex.expire(t_now + 1, out) == 1);
    CHECK(std::get<schema::order_expired>(out.at(0).body).order_id == "r5");

    // The ack's signal_src comes back with the order: a halt of that strategy cancels it.
    auto mine = ack("r6", schema::time_in_force::gtc, 0);
    mine.signal_src = "strategy2";
    auto theirs = ack("r7", schema::time_in_force::gtc, 0);
    theirs.signal_src = "strategy1";
    CHECK(ex.restore_ack(mine, 47));
    CHECK(ex.restore_ack(theirs, 48));
    out.clear();
    CHECK(ex.cancel_scope("", "strategy2", "strategy2 halted", out) == 1);
    CHECK(only<schema::order_cancelled>(out).at(0).order_id == "r6");
    CHECK(ex.resting() == 1);
}

TEST_CASE("execution: node expires on its timer and answers cancel requests on sys.cancel") {
    execution_node node(no_slippage());
    recording_context ctx;
    node.on_start(ctx);
    auto deliver = [&](const std::string& topic, schema::event ev) {
        inbound_message m(topic, std::move(ev));
        node.on_event(ctx, m.view());
    };
    const auto subs = node.subscriptions();
    CHECK(std::find(subs.begin(), subs.end(), "sys.cancel") != subs.end());
    deliver("md.tick.AAPL", {env(2, ctx.now), quote("AAPL", 10.0, 5, 10.01, 5)});
    deliver("risk.approved.AAPL",
            {env(3, ctx.now), with_expiry(limit("n1", side::buy, 1, 9.0), ctx.now + 1'000 * ms)});
    deliver("risk.approved.AAPL", {env(4, ctx.now), limit("n2", side::buy, 1, 9.0)});
    CHECK(node.exchange().resting() == 2);
    // The timer wakes at the earliest expiry at the latest.
    CHECK(node.on_timer(ctx, ctx.now) <= ctx.now + 1'000 * ms);
    ctx.out.clear();
    CHECK(node.on_timer(ctx, ctx.now + 1'000 * ms) > ctx.now + 1'000 * ms);
    REQUIRE(ctx.out.size() == 1);
    CHECK(ctx.out[0].topic == "exec.expired.AAPL");
    CHECK(ctx.out[0].ev.env.trace_id == 3);

    // A cancel_request only counts on sys.cancel (only the broker publishes there).
    const schema::cancel_request req{99, "n2", "", false, "pull", "ana"};
    ctx.out.clear();
    deliver("exec.cancelled.AAPL", {env(0, ctx.now), req});
    CHECK(ctx.out.empty());
    deliver("sys.cancel", {env(0, ctx.now), req});
    REQUIRE(ctx.out.size() == 2);
    CHECK(ctx.out[0].topic == "exec.cancelled.AAPL");
    CHECK(ctx.out[1].topic == "exec.cancel_done");
    ctx.out.clear();
    deliver("sys.cancel", {env(0, ctx.now), req});
    REQUIRE(ctx.out.size() == 1);
    CHECK(ctx.out[0].topic == "exec.cancel_reject");
    CHECK(std::get<schema::cancel_reject>(ctx.out[0].ev.body).code == "already_terminal");
}

TEST_CASE("execution: a snapshot of the resting book restores it whole, in fill order") {
    std::vector<exec_output> out;
    exchange_config cfg = no_slippage();
    cfg.partial_fills = true;
    paper_exchange ex(cfg, "x");
    ex.on_tick(quote("AAPL", 100.0, 10, 100.5, 10), out);
    ex.on_tick(quote("MSFT", 400.0, 10, 400.5, 10), out);
    auto gtc = limit("a1", side::buy, 30, 99.0, "AAPL", schema::time_in_force::gtc);
    gtc.signal_src = "strategy2";
    ex.on_order(env(11), gtc, t_now, out);
    ex.on_order(env(12), with_expiry(limit("a2", side::buy, 5, 99.0), t_now + 60'000 * ms), t_now,
                out);
    ex.on_order(env(13), limit("m1", side::sell, 8, 401.0, "MSFT"), t_now, out);
    ex.on_tick(quote("AAPL", 98.5, 10, 99.0, 12), out);  // a1 takes 12 of its 30
    REQUIRE(ex.resting_leaves("a1") == 18);

    const schema::exec_snapshot snap{t_now, ex.resting_orders()};
    REQUIRE(snap.resting.size() == 3);
    CHECK(snap.resting[0].order_id == "a1");  // AAPL's in arrival order, then MSFT's
    CHECK(snap.resting[1].order_id == "a2");
    CHECK(snap.resting[2].order_id == "m1");
    CHECK(snap.resting[0].qty == 30);
    CHECK(snap.resting[0].leaves_qty == 18);
    CHECK(snap.resting[0].trace_id == 11);
    CHECK(snap.resting[0].signal_src == "strategy2");
    CHECK(snap.resting[0].tif == schema::time_in_force::gtc);
    CHECK(snap.resting[0].expire_ts_ns == 0);
    CHECK(snap.resting[1].expire_ts_ns == t_now + 60'000 * ms);
    // And through the wire, as the journal keeps it.
    std::string bytes;
    schema::encode_event(schema::envelope{"execution", 1, t_now, 0}, snap, bytes);
    const auto decoded = schema::decode_event(bytes);
    REQUIRE(decoded);
    const auto& wire = std::get<schema::exec_snapshot>(decoded.value().body);

    // A restarted exchange: an order acked before the snapshot that it does not hold (it ended
    // before the snapshot) is gone; the snapshot's orders rest with their leaves.
    paper_exchange again(cfg, "y");
    CHECK(again.restore_ack(schema::order_ack{"gone", "AAPL", side::buy, 5, order_type::limit,
                                              to_fixed(99.0), schema::time_in_force::gtc, 0, ""},
                            9));
    auto bad = wire;
    bad.resting.push_back(snap.resting[2]);
    bad.resting.back().order_id = "over";
    bad.resting.back().leaves_qty = 9;  // more than qty 8: skipped
    CHECK(again.restore_snapshot(bad) == 3);
    CHECK(again.resting() == 3);
    CHECK_FALSE(again.resting_leaves("gone"));
    CHECK_FALSE(again.resting_leaves("over"));
    CHECK(again.resting_leaves("a1") == 18);
    CHECK(again.resting_leaves("a2") == 5);
    CHECK(again.resting_leaves("m1") == 8);
    CHECK(again.next_expiry_ns() == t_now + 60'000 * ms);

    out.clear();
    again.on_tick(quote("AAPL", 98.0, 50, 98.5, 100), out);
    const auto fills = only<schema::fill>(out);
    REQUIRE(fills.size() == 2);
    CHECK(fills[0].order_id == "a1");  // first in line, as before the restart
    CHECK(fills[0].qty == 18);
    CHECK(fills[0].leaves_qty == 0);
    CHECK(out[0].trace_id == 11);
    CHECK(fills[1].order_id == "a2");
    out.clear();
    CHECK(again.cancel_scope("", "strategy2", "halted", out) == 0);  // a1 is done
    CHECK(again.resting() == 1);
}

TEST_CASE("execution: node snapshots its book at start and at each session start, recovers it") {
    execution_node node(no_slippage());
    recording_context ctx;
    ctx.name = "execution-2";
    const runtime::trading_session session;  // UTC, 00:00
    node.configure(ctx.name, session);
    const auto req = node.recovery(ctx.now);
    REQUIRE(req);
    CHECK(req->anchor_topic == "exec.snapshot.execution-2");
    CHECK(std::find(req->prefixes.begin(), req->prefixes.end(), "exec.snapshot.execution-2") !=
          req->prefixes.end());
    CHECK(req->since_ns == session.horizon_start(ctx.now));
    // Order ids from the earlier of the session start and max_order_age_ms ago.
    CHECK(req->replay_since_ns ==
          std::min(session.start_of(ctx.now), ctx.now - defaults::max_order_age_ms * ms));
    const auto pubs = node.publications();
    CHECK(std::find(pubs.begin(), pubs.end(), "exec.snapshot.execution-2") != pubs.end());

    // Recovery: the own snapshot replaces what acks before it rebuilt; another node's is
    // ignored (it shares the prefix).
    const auto recover = [&](const std::string& topic, const std::string& src,
                             schema::payload body) {
        inbound_message m(topic, {schema::envelope{src, 1, ctx.now, 0}, std::move(body)});
        node.on_recover(ctx, m.view());
    };
    recover("exec.ack.AAPL", "execution-2",
            schema::order_ack{"old", "AAPL", side::buy, 5, order_type::limit, to_fixed(99.0),
                              schema::time_in_force::gtc, 0, "strategy"});
    schema::exec_snapshot snap{session.start_of(ctx.now),
                               {{"g1", "AAPL", side::buy, 10, 4, order_type::limit, to_fixed(99.0),
                                 schema::time_in_force::gtc, 0, "strategy", 77}}};
    recover("exec.snapshot.execution-2", "execution-2", snap);
    auto theirs = snap;
    theirs.resting[0].order_id = "theirs";
    recover("exec.snapshot.execution-22", "execution-22", theirs);
    recover("exec.snapshot.execution-22", "execution-2", theirs);  // not its own topic
    CHECK(node.exchange().resting() == 1);
    CHECK(node.exchange().resting_leaves("g1") == 4);
    CHECK(node.exchange().seen().contains("g1"));  // an approval with it is a duplicate

    node.on_start(ctx);
    auto snaps = ctx.of<schema::exec_snapshot>();
    REQUIRE(snaps.size() == 1);
    CHECK(snaps[0].first->topic == "exec.snapshot.execution-2");
    CHECK(snaps[0].first->ev.env.trace_id == 0);
    CHECK(snaps[0].second->session_start_ns == session.start_of(ctx.now));
    REQUIRE(snaps[0].second->resting.size() == 1);
    CHECK(snaps[0].second->resting[0].order_id == "g1");
    CHECK(snaps[0].second->resting[0].leaves_qty == 4);
    CHECK(snaps[0].second->resting[0].trace_id == 77);

    // The timer wakes at the next session start, and snapshots the book there (once).
    const std::int64_t next = session.next_start(ctx.now);
    CHECK(node.on_timer(ctx, next - 1) == next);
    CHECK(ctx.of<schema::exec_snapshot>().size() == 1);
    ctx.now = next;
    (void)node.on_timer(ctx, next);
    (void)node.on_timer(ctx, next + 1);
    snaps = ctx.of<schema::exec_snapshot>();
    REQUIRE(snaps.size() == 2);
    CHECK(snaps[1].second->session_start_ns == next);
    CHECK(snaps[1].second->resting.size() == 1);
}
