// Risk: every rule fires and does not fire (one table), the position book's P&L through
// open/add/reduce/close/flip, trading states and the daily-loss auto-halt, the order rate
// limit, the degraded fail-safe, config loading, and the node wiring (topics, trace ids,
// risk.state, health) through a fake context.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "config_loading.hpp"
#include "fake_node_context.hpp"
#include "tradebus/risk/order_rate_limiter.hpp"
#include "tradebus/risk/position_book.hpp"
#include "tradebus/risk/risk_config.hpp"
#include "tradebus/risk/risk_engine.hpp"
#include "tradebus/risk/risk_node.hpp"
#include "tradebus/risk/trading_state.hpp"

using namespace tradebus;
using namespace tradebus::risk;
using schema::side;
using schema::to_fixed;
using schema::trading_state;
using testing::deliver;
using testing::fake_context;

namespace {

constexpr std::int64_t t0 = 1'700'000'000'000'000'000;
constexpr std::int64_t ms = 1'000'000;

// Limits wide enough that only the rule under test can fire.
risk_config open_config() {
    risk_config c;
    c.limits = {1'000, 1'000};
    c.reduce_oversize = true;
    c.max_gross_notional = to_fixed(1e8);
    c.max_daily_loss = to_fixed(1e6);
    c.max_orders_per_sec = 1'000;
    c.price_band_bps = 50.0;
    c.stale_quote_ms = 2'000;
    return c;
}

schema::tick quote_of(const std::string& sym, double mid) {
    schema::tick t;
    t.symbol = sym;
    t.bid_px = to_fixed(mid) - to_fixed(0.01);
    t.ask_px = to_fixed(mid) + to_fixed(0.01);
    t.bid_qty = t.ask_qty = 100;
    return t;
}

void quote(risk_engine& e, const std::string& sym, double mid, std::int64_t at = t0) {
    REQUIRE(e.on_quote(quote_of(sym, mid), at));
}

int fill_seq = 0;
schema::fill fill_of(const std::string& sym, side dir, std::int64_t qty, double px,
                     std::string order_id = "ext") {
    return schema::fill{
        std::move(order_id), "f" + std::to_string(++fill_seq), sym, dir, qty, to_fixed(px), 0};
}

void fill(risk_engine& e, const std::string& sym, side dir, std::int64_t qty, double px) {
    REQUIRE(e.on_fill(fill_of(sym, dir, qty, px), t0));
}

std::uint64_t sig_seq = 1000;
schema::signal sig(const std::string& sym, side dir, std::int64_t qty, double ref = 100.0) {
    schema::signal s;
    s.signal_id = ++sig_seq;
    s.symbol = sym;
    s.dir = dir;
    s.qty = qty;
    s.confidence = 0.5;
    s.ref_px = to_fixed(ref);
    s.reason = "test";
    return s;
}

schema::trading_state_changed scope_event(std::string symbol, std::string strategy,
                                          trading_state st = trading_state::halted) {
    return {.state = st,
            .reason = "earnings",
            .by = "alice",
            .symbol = std::move(symbol),
            .strategy = std::move(strategy)};
}

std::string rule_of(const decision& d) {
    if (const auto* r = std::get_if<schema::order_rejected>(&d)) return r->rule;
    return "";
}

}  // namespace

TEST_CASE("risk: every rule fires and does not fire (table)") {
    struct row {
        const char* name;
        std::function<void(risk_config&)> tweak;
        std::function<void(risk_engine&)> setup;  // quotes AAPL at mid 100 first, at t0
        std::function<schema::signal()> make;
        std::int64_t at_ms;       // signal time after t0
        const char* rule;         // "" = approved
        std::int64_t qty;         // approved qty (when approved)
        side dir = side::buy;     // approved side (when approved)
        const char* reason = "";  // a substring of the rejection reason
    };
    auto none = [](auto&) {};
    auto buy = [](std::int64_t q, double ref = 100.0) {
        return [=] { return sig("AAPL", side::buy, q, ref); };
    };
    const row rows[] = {
        {"baseline approves", none, none, buy(10), 0, "", 10},

        {"risk_degraded: every quote silent > stale_quote_ms", none, none, buy(10), 2'001,
         "risk_degraded", 0, side::buy, "no quote on any symbol for 2001 ms"},
        {"risk_degraded: not while another symbol still quotes", none,
         [](risk_engine& e) { quote(e, "MSFT", 50.0, t0 + 1'500 * ms); }, buy(10), 2'001,
         "stale_data", 0, side::buy, "last AAPL quote 2001 ms ago > stale_quote_ms 2000"},

        {"halted: operator kill switch", none,
         [](risk_engine& e) { e.set_operator_state(trading_state::halted, "kill"); }, buy(10), 0,
         "halted", 0, side::buy, "operator halted: kill"},
        {"halted: not after resume", none,
         [](risk_engine& e) {
             e.set_operator_state(trading_state::halted, "kill");
             e.set_operator_state(trading_state::active, "resume");
         },
         buy(10), 0, "", 10},

        {"halted: the signal's symbol scope", none,
         [](risk_engine& e) { e.set_scope("sys.trading.symbol.AAPL", scope_event("AAPL", "")); },
         buy(10), 0, "halted", 0, side::buy,
         "trading halted: symbol AAPL halted by alice: earnings"},
        {"halted: another symbol's scope does not apply", none,
         [](risk_engine& e) { e.set_scope("sys.trading.symbol.MSFT", scope_event("MSFT", "")); },
         buy(10), 0, "", 10},
        {"halted: the sending strategy's scope", none,
         [](risk_engine& e) {
             e.set_scope("sys.trading.strategy.strat", scope_event("", "strat"));
         },
         buy(10), 0, "halted", 0, side::buy, "strategy strat halted by alice: earnings"},
        {"halted: another strategy's scope does not apply", none,
         [](risk_engine& e) {
             e.set_scope("sys.trading.strategy.other", scope_event("", "other"));
         },
         buy(10), 0, "", 10},
        {"halted: not after the scope's resume", none,
         [](risk_engine& e) {
             e.set_scope("sys.trading.symbol.AAPL", scope_event("AAPL", ""));
             e.set_scope("sys.trading.symbol.AAPL", scope_event("AAPL", "", trading_state::active));
         },
         buy(10), 0, "", 10},
        {"halted: an event whose scope is not its topic's changes nothing", none,
         [](risk_engine& e) {
             CHECK(e.set_scope("sys.trading.symbol.MSFT", scope_event("AAPL", "")) ==
                   trading_scopes::change::malformed);
             CHECK(e.set_scope("sys.trading.symbol.AAPL", scope_event("AAPL", "strat")) ==
                   trading_scopes::change::malformed);
         },
         buy(10), 0, "", 10},
        {"reducing: the symbol's reduce-only scope, BUY while flat", none,
         [](risk_engine& e) {
             e.set_scope("sys.trading.symbol.AAPL",
                         scope_event("AAPL", "", trading_state::reducing));
         },
         buy(10), 0, "reducing", 0, side::buy,
         "reduce-only (symbol AAPL reducing by alice: earnings)"},
        {"reducing: the strategy's reduce-only scope lets a reduction through", none,
         [](risk_engine& e) {
             fill(e, "AAPL", side::buy, 50, 100.0);
             e.set_scope("sys.trading.strategy.strat",
                         scope_event("", "strat", trading_state::reducing));
         },
         [] { return sig("AAPL", side::sell, 30); }, 0, "", 30, side::sell},
        {"halted: a halted scope beats the desk's reduce-only", none,
         [](risk_engine& e) {
             e.set_operator_state(trading_state::reducing, "wind down");
             e.set_scope("sys.trading.symbol.AAPL", scope_event("AAPL", ""));
         },
         buy(10), 0, "halted", 0, side::buy, "symbol AAPL halted"},

        {"max_daily_loss: day P&L -600 <= -500 halts",
         [](risk_config& c) { c.max_daily_loss = to_fixed(500); },
         [](risk_engine& e) {
             fill(e, "AAPL", side::buy, 100, 100.0);
             quote(e, "AAPL", 94.0);  // unrealized 100 x (94 - 100) = -600
         },
         buy(10, 94.0), 0, "max_daily_loss", 0, side::buy, "day P&L -600.00 <= -500.00"},
        {"max_daily_loss: -400 is within 500",
         [](risk_config& c) { c.max_daily_loss = to_fixed(500); },
         [](risk_engine& e) {
             fill(e, "AAPL", side::buy, 100, 100.0);
             quote(e, "AAPL", 96.0);
         },
         buy(10, 96.0), 0, "", 10},

        {"invalid_signal: qty 0", none, none, buy(0), 0, "invalid_signal", 0, side::buy,
         "qty must be > 0"},
        {"invalid_signal: ref_px 0", none, none, buy(10, 0.0), 0, "invalid_signal", 0, side::buy,
         "ref_px must be > 0"},

        {"unknown_symbol: not in allowed_symbols",
         [](risk_config& c) { c.allowed_symbols = {"MSFT"}; }, none, buy(10), 0, "unknown_symbol",
         0, side::buy, "AAPL is not in allowed_symbols"},
        {"unknown_symbol: listed",
         [](risk_config& c) {
             c.allowed_symbols = {"MSFT", "AAPL"};
         },
         none, buy(10), 0, "", 10},

        {"duplicate_signal: same src and id again", none,
         [](risk_engine& e) {
             auto s = sig("AAPL", side::buy, 10);
             s.signal_id = 7;
             e.on_signal(s, "strat", t0);
         },
         [] {
             auto s = sig("AAPL", side::buy, 10);
             s.signal_id = 7;
             return s;
         },
         0, "duplicate_signal", 0, side::buy, "signal 7 from strat"},

        {"nothing_to_close: FLAT while flat", none, none, [] { return sig("AAPL", side::flat, 0); },
         0, "nothing_to_close", 0, side::buy, "FLAT but the AAPL position is already 0"},
        {"FLAT closes a long with a SELL", none,
         [](risk_engine& e) { fill(e, "AAPL", side::buy, 30, 100.0); },
         [] { return sig("AAPL", side::flat, 0); }, 0, "", 30, side::sell},
        {"FLAT closes a short with a BUY", none,
         [](risk_engine& e) { fill(e, "AAPL", side::sell, 40, 100.0); },
         [] { return sig("AAPL", side::flat, 99); }, 0, "", 40, side::buy},

        {"no_quote: never quoted", none, none, [] { return sig("MSFT", side::buy, 10); }, 0,
         "no_quote", 0, side::buy, "no quote for MSFT"},
        {"stale_data: not at 1500 ms", none,
         [](risk_engine& e) { quote(e, "MSFT", 50.0, t0 + 1'500 * ms); }, buy(10), 1'500, "", 10},

        {"price_band: 60 bps > 50", none, none, buy(10, 100.6), 0, "price_band", 0, side::buy,
         "ref_px 100.6000 is 60.0 bps from mid 100.0000 > price_band_bps 50.0"},
        {"price_band: 40 bps", none, none, buy(10, 99.6), 0, "", 10},

        {"reducing: BUY while flat does not reduce", none,
         [](risk_engine& e) { e.set_operator_state(trading_state::reducing, "wind down"); },
         buy(10), 0, "reducing", 0, side::buy, "would not reduce position +0"},
        {"reducing: SELL 30 of a long 50", none,
         [](risk_engine& e) {
             fill(e, "AAPL", side::buy, 50, 100.0);
             e.set_operator_state(trading_state::reducing, "wind down");
         },
         [] { return sig("AAPL", side::sell, 30); }, 0, "", 30, side::sell},
        {"reducing: SELL 80 of a long 50 clipped to 50", none,
         [](risk_engine& e) {
             fill(e, "AAPL", side::buy, 50, 100.0);
             e.set_operator_state(trading_state::reducing, "wind down");
         },
         [] { return sig("AAPL", side::sell, 80); }, 0, "", 50, side::sell},
        {"reducing: SELL 80 of a long 50 rejected without reduce_oversize",
         [](risk_config& c) { c.reduce_oversize = false; },
         [](risk_engine& e) {
             fill(e, "AAPL", side::buy, 50, 100.0);
             e.set_operator_state(trading_state::reducing, "wind down");
         },
         [] { return sig("AAPL", side::sell, 80); }, 0, "reducing", 0, side::buy,
         "SELL 80 > 50 that would reduce position +50"},

        {"max_order_qty: 150 > 100 clipped", [](risk_config& c) { c.limits.max_order_qty = 100; },
         none, buy(150), 0, "", 100},
        {"max_order_qty: 150 > 100 rejected",
         [](risk_config& c) {
             c.limits.max_order_qty = 100;
             c.reduce_oversize = false;
         },
         none, buy(150), 0, "max_order_qty", 0, side::buy, "qty 150 > max_order_qty 100"},
        {"max_order_qty: 100 at the limit",
         [](risk_config& c) {
             c.limits.max_order_qty = 100;
             c.reduce_oversize = false;
         },
         none, buy(100), 0, "", 100},
        {"max_order_qty: per-symbol override",
         [](risk_config& c) {
             c.reduce_oversize = false;
             c.symbols["AAPL"] = symbol_limits{5, 1'000};
         },
         none, buy(10), 0, "max_order_qty", 0, side::buy, "qty 10 > max_order_qty 5"},

        {"max_position: +80 then BUY 30 > 100", [](risk_config& c) { c.limits.max_position = 100; },
         [](risk_engine& e) { fill(e, "AAPL", side::buy, 80, 100.0); }, buy(30), 0, "max_position",
         0, side::buy,
         "BUY 30 would take AAPL position +80 (incl. open orders) "
         "to +110 > max_position 100"},
        {"max_position: +80 then BUY 20 = 100", [](risk_config& c) { c.limits.max_position = 100; },
         [](risk_engine& e) { fill(e, "AAPL", side::buy, 80, 100.0); }, buy(20), 0, "", 20},
        {"max_position: above the limit, a reducing SELL passes",
         [](risk_config& c) { c.limits.max_position = 100; },
         [](risk_engine& e) { fill(e, "AAPL", side::buy, 150, 100.0); },
         [] { return sig("AAPL", side::sell, 30); }, 0, "", 30, side::sell},
        {"max_position: open orders count", [](risk_config& c) { c.limits.max_position = 100; },
         [](risk_engine& e) { e.on_signal(sig("AAPL", side::buy, 60), "strat", t0); }, buy(50), 0,
         "max_position", 0, side::buy, "position +60 (incl. open orders) to +110"},
        {"max_position: flipping within the limit",
         [](risk_config& c) { c.limits.max_position = 100; },
         [](risk_engine& e) { fill(e, "AAPL", side::sell, 100, 100.0); }, buy(200), 0, "", 200},

        {"max_gross_notional: 5000 + 60 x 100 > 10000",
         [](risk_config& c) { c.max_gross_notional = to_fixed(10'000); },
         [](risk_engine& e) {
             quote(e, "MSFT", 100.0);
             fill(e, "MSFT", side::buy, 50, 100.0);
         },
         buy(60), 0, "max_gross_notional", 0, side::buy,
         "would take gross notional 5000.00 to 11000.00 > max_gross_notional 10000.00"},
        {"max_gross_notional: exactly 10000",
         [](risk_config& c) { c.max_gross_notional = to_fixed(10'000); },
         [](risk_engine& e) {
             quote(e, "MSFT", 100.0);
             fill(e, "MSFT", side::buy, 50, 100.0);
         },
         buy(50), 0, "", 50},
        {"max_gross_notional: a reducing order passes above the limit",
         [](risk_config& c) { c.max_gross_notional = to_fixed(10'000); },
         [](risk_engine& e) { fill(e, "AAPL", side::buy, 150, 100.0); },
         [] { return sig("AAPL", side::sell, 20); }, 0, "", 20, side::sell},

        {"max_orders_per_sec: a third order within 1 s of two",
         [](risk_config& c) { c.max_orders_per_sec = 2; },
         [](risk_engine& e) {
             e.on_signal(sig("AAPL", side::buy, 1), "strat", t0);
             e.on_signal(sig("AAPL", side::buy, 1), "strat", t0 + 100 * ms);
         },
         buy(1), 999, "max_orders_per_sec", 0, side::buy,
         "2 orders approved in the last 1000 ms, max_orders_per_sec 2"},
        {"max_orders_per_sec: once the first left the window",
         [](risk_config& c) { c.max_orders_per_sec = 2; },
         [](risk_engine& e) {
             e.on_signal(sig("AAPL", side::buy, 1), "strat", t0);
             e.on_signal(sig("AAPL", side::buy, 1), "strat", t0 + 100 * ms);
             quote(e, "AAPL", 100.0, t0 + 1'000 * ms);
         },
         buy(1), 1'000, "", 1},
        {"max_orders_per_sec: rejections do not use up the rate",
         [](risk_config& c) { c.max_orders_per_sec = 1; },
         [](risk_engine& e) { e.on_signal(sig("AAPL", side::buy, 0), "strat", t0); }, buy(1), 0, "",
         1},
    };
    for (const auto& r : rows) {
        CAPTURE(std::string(r.name));
        auto cfg = open_config();
        r.tweak(cfg);
        risk_engine e(cfg);
        e.set_order_id_prefix("risk-1");
        quote(e, "AAPL", 100.0);
        r.setup(e);
        const auto s = r.make();
        const auto d = e.on_signal(s, "strat", t0 + r.at_ms * ms);
        CHECK(rule_of(d) == r.rule);
        if (const auto* rej = std::get_if<schema::order_rejected>(&d)) {
            CHECK(rej->reason.find(r.reason) != std::string::npos);
            CAPTURE(rej->reason);
            CHECK(rej->signal_src == "strat");
            CHECK(rej->signal_id == s.signal_id);
            CHECK(rej->symbol == s.symbol);
            CHECK(rej->dir == s.dir);
            CHECK(rej->qty == s.qty);
        } else {
            const auto& o = std::get<schema::order>(d);
            CHECK(o.qty == r.qty);
            CHECK(o.dir == r.dir);
            CHECK(o.symbol == s.symbol);
            CHECK(o.signal_id == s.signal_id);
            CHECK(o.signal_src == "strat");
            CHECK(o.kind == schema::order_type::market);
            CHECK(o.limit_px == 0);
            CHECK(o.order_id.rfind("risk-1-", 0) == 0);
            CHECK(o.requested_qty >= o.qty);
        }
    }
}

TEST_CASE("risk: a reduced order records requested_qty and qty") {
    auto cfg = open_config();
    cfg.limits.max_order_qty = 100;
    risk_engine e(cfg);
    quote(e, "AAPL", 100.0);
    auto d = e.on_signal(sig("AAPL", side::buy, 250), "strat", t0);
    const auto& o = std::get<schema::order>(d);
    CHECK(o.requested_qty == 250);
    CHECK(o.qty == 100);
}

TEST_CASE("risk: order ids are unique and carry the prefix, LIMIT prices round passively") {
    auto cfg = open_config();
    cfg.order_kind = schema::order_type::limit;
    cfg.limit_offset_bps = 10.0;
    cfg.limit_tick_size = to_fixed(0.01);
    risk_engine e(cfg);
    e.set_order_id_prefix("risk-1700000000000");
    quote(e, "AAPL", 100.0);
    const auto a = std::get<schema::order>(e.on_signal(sig("AAPL", side::buy, 1), "s", t0));
    // 100.00 + 10 bps = 100.10 (on the tick already)
    CHECK(a.kind == schema::order_type::limit);
    CHECK(a.limit_px == to_fixed(100.10));
    CHECK(a.order_id == "risk-1700000000000-1");
    // 100.005 - 10 bps (0.100005) = 99.904995, rounded up for a SELL to 99.91
    const auto b =
        std::get<schema::order>(e.on_signal(sig("AAPL", side::sell, 1, 100.005), "s", t0));
    CHECK(b.limit_px == to_fixed(99.91));
    CHECK(b.order_id == "risk-1700000000000-2");
    // 100.007 + 0.100007 = 100.107007, rounded down for a BUY to 100.10
    const auto c =
        std::get<schema::order>(e.on_signal(sig("AAPL", side::buy, 1, 100.007), "s", t0));
    CHECK(c.limit_px == to_fixed(100.10));
}

TEST_CASE("risk: working orders count until filled, rejected, cancelled or expired") {
    auto cfg = open_config();
    cfg.limits.max_position = 100;
    risk_engine e(cfg);
    quote(e, "AAPL", 100.0);
    const auto o = std::get<schema::order>(e.on_signal(sig("AAPL", side::buy, 70), "s", t0));
    CHECK(e.open_qty("AAPL", side::buy) == 70);
    CHECK(rule_of(e.on_signal(sig("AAPL", side::buy, 40), "s", t0)) == "max_position");
    // Partial fill of 30: position 30 + open 40 = 70, still no room for 40.
    auto f = fill_of("AAPL", side::buy, 30, 100.0, o.order_id);
    f.leaves_qty = 40;
    REQUIRE(e.on_fill(f, t0));
    CHECK(e.open_qty("AAPL", side::buy) == 40);
    CHECK(rule_of(e.on_signal(sig("AAPL", side::buy, 40), "s", t0)) == "max_position");
    // Execution rejects the rest: position 30, room for 70.
    e.on_exec_reject(schema::exec_reject{o.order_id, "AAPL", "halted", "venue halted"});
    CHECK(e.open_qty("AAPL", side::buy) == 0);
    const auto o2 = std::get<schema::order>(e.on_signal(sig("AAPL", side::buy, 70), "s", t0));
    CHECK(e.open_orders() == 1);
    // Still working a day later (no timer forgets it): a fill then must still find it counted.
    const std::int64_t later = t0 + 86'400'000 * ms;
    quote(e, "AAPL", 100.0, later);
    CHECK(rule_of(e.on_signal(sig("AAPL", side::buy, 1), "s", later)) == "max_position");
    CHECK(e.open_qty("AAPL", side::buy) == 70);
    // Cancelled: no longer working, room again; a second cancel of it changes nothing.
    CHECK(e.on_order_end(o2.order_id));
    CHECK_FALSE(e.on_order_end(o2.order_id));
    CHECK(e.open_qty("AAPL", side::buy) == 0);
    // Expired ends it the same way.
    const auto o3 =
        std::get<schema::order>(e.on_signal(sig("AAPL", side::buy, 70), "s", later + 1));
    CHECK(e.open_qty("AAPL", side::buy) == 70);
    CHECK(e.on_order_end(o3.order_id));
    CHECK(e.open_orders() == 0);
    CHECK_FALSE(e.on_order_end("someone-elses-order"));
}

TEST_CASE("risk: a resting order keeps a late fill within max_position") {
    // Issue 15: risk used to forget a working order after open_order_timeout_ms, so a second
    // order was approved beside it, and the late fills of both passed max_position.
    auto cfg = open_config();
    cfg.limits.max_position = 100;
    risk_engine e(cfg);
    quote(e, "AAPL", 100.0);
    const auto first = std::get<schema::order>(e.on_signal(sig("AAPL", side::buy, 100), "s", t0));
    const std::int64_t late = t0 + 60'000 * ms;  // far past the old 10 s timeout
    quote(e, "AAPL", 100.0, late);
    CHECK(rule_of(e.on_signal(sig("AAPL", side::buy, 100), "s", late)) == "max_position");
    REQUIRE(e.on_fill(fill_of("AAPL", side::buy, 100, 100.0, first.order_id), late));
    CHECK(e.book().qty("AAPL") == 100);
    CHECK(e.open_orders() == 0);
}

TEST_CASE("risk: max_working_orders bounds the orders counted as working") {
    auto cfg = open_config();
    cfg.max_working_orders = 2;
    risk_engine e(cfg);
    quote(e, "AAPL", 100.0);
    const auto a = std::get<schema::order>(e.on_signal(sig("AAPL", side::buy, 1), "s", t0));
    (void)std::get<schema::order>(e.on_signal(sig("AAPL", side::buy, 1), "s", t0));
    const auto d = e.on_signal(sig("AAPL", side::buy, 1), "s", t0);
    CHECK(rule_of(d) == "max_working_orders");
    CHECK(std::get<schema::order_rejected>(d).reason.find("max_working_orders 2") !=
          std::string::npos);
    CHECK(e.open_orders() == 2);
    e.on_exec_reject(schema::exec_reject{a.order_id, "AAPL", "no_quote", "none"});
    CHECK(rule_of(e.on_signal(sig("AAPL", side::buy, 1), "s", t0)) == "");
}

TEST_CASE("risk: approved orders carry the configured time in force") {
    auto cfg = open_config();
    risk_engine day(cfg);
    quote(day, "AAPL", 100.0);
    const auto a = std::get<schema::order>(day.on_signal(sig("AAPL", side::buy, 1), "s", t0));
    CHECK(a.tif == schema::time_in_force::day);
    CHECK(a.expire_ts_ns == 0);  // execution derives the end of the day
    cfg.default_tif = schema::time_in_force::ioc;
    risk_engine ioc(cfg);
    quote(ioc, "AAPL", 100.0);
    const auto b = std::get<schema::order>(ioc.on_signal(sig("AAPL", side::buy, 1), "s", t0));
    CHECK(b.tif == schema::time_in_force::ioc);
}

TEST_CASE("risk: fills that are malformed or repeated do not move the book") {
    risk_engine e(open_config());
    auto f = fill_of("AAPL", side::buy, 10, 100.0);
    CHECK(e.on_fill(f, t0));
    CHECK_FALSE(e.on_fill(f, t0));  // same fill_id (a journal replay, say)
    CHECK(e.book().qty("AAPL") == 10);
    CHECK_FALSE(e.on_fill(fill_of("AAPL", side::buy, 0, 100.0), t0));
    CHECK_FALSE(e.on_fill(fill_of("AAPL", side::buy, 5, 0.0), t0));
    CHECK_FALSE(e.on_fill(fill_of("AAPL", side::flat, 5, 100.0), t0));
    CHECK(e.book().qty("AAPL") == 10);
}

TEST_CASE("risk: position book P&L through open, add, reduce, close and flip") {
    position_book b;
    // Open long 100 @ 10.00
    CHECK(b.apply_fill("X", side::buy, 100, to_fixed(10.0)) == 0);
    CHECK(b.qty("X") == 100);
    CHECK(b.find("X")->avg_px == to_fixed(10.0));
    // Add 100 @ 12.00: avg (100 x 10 + 100 x 12) / 200 = 11.00
    CHECK(b.apply_fill("X", side::buy, 100, to_fixed(12.0)) == 0);
    CHECK(b.find("X")->avg_px == to_fixed(11.0));
    // Reduce 50 @ 13.00: realized 50 x (13 - 11) = +100, avg stays 11
    CHECK(b.apply_fill("X", side::sell, 50, to_fixed(13.0)) == to_fixed(100.0));
    CHECK(b.qty("X") == 150);
    CHECK(b.find("X")->avg_px == to_fixed(11.0));
    // Unrealized at mid 10.50: 150 x (10.5 - 11) = -75
    b.mark("X", to_fixed(10.5));
    CHECK(b.unrealized_pnl("X") == to_fixed(-75.0));
    CHECK(b.total_pnl() == to_fixed(25.0));      // 100 - 75
    CHECK(b.notional("X") == to_fixed(1575.0));  // 150 x 10.5
    // Close 150 @ 10.00: realized 150 x (10 - 11) = -150, total -50, avg 0
    CHECK(b.apply_fill("X", side::sell, 150, to_fixed(10.0)) == to_fixed(-150.0));
    CHECK(b.qty("X") == 0);
    CHECK(b.find("X")->avg_px == 0);
    CHECK(b.find("X")->realized_pnl == to_fixed(-50.0));
    CHECK(b.unrealized_pnl("X") == 0);

    // Flip: long 100 @ 10, SELL 150 @ 12: closes 100 for +200, opens short 50 @ 12
    b.apply_fill("Y", side::buy, 100, to_fixed(10.0));
    CHECK(b.apply_fill("Y", side::sell, 150, to_fixed(12.0)) == to_fixed(200.0));
    CHECK(b.qty("Y") == -50);
    CHECK(b.find("Y")->avg_px == to_fixed(12.0));
    // Short reduce: BUY 20 @ 11: realized 20 x (12 - 11) = +20
    CHECK(b.apply_fill("Y", side::buy, 20, to_fixed(11.0)) == to_fixed(20.0));
    CHECK(b.qty("Y") == -30);
    // Short add: SELL 30 @ 14: avg (30 x 12 + 30 x 14) / 60 = 13
    CHECK(b.apply_fill("Y", side::sell, 30, to_fixed(14.0)) == 0);
    CHECK(b.qty("Y") == -60);
    CHECK(b.find("Y")->avg_px == to_fixed(13.0));
    // Unrealized short at 13.50: -60 x (13.5 - 13) = -30
    b.mark("Y", to_fixed(13.5));
    CHECK(b.unrealized_pnl("Y") == to_fixed(-30.0));
    // Flip short to long: BUY 100 @ 12: closes 60 for 60 x (13 - 12) = +60, long 40 @ 12
    CHECK(b.apply_fill("Y", side::buy, 100, to_fixed(12.0)) == to_fixed(60.0));
    CHECK(b.qty("Y") == 40);
    CHECK(b.find("Y")->avg_px == to_fixed(12.0));
    CHECK(b.find("Y")->realized_pnl == to_fixed(280.0));  // 200 + 20 + 60
    // Totals across X and Y: realized -50 + 280; unrealized 40 x (13.5 - 12) = 60
    CHECK(b.total_realized_pnl() == to_fixed(230.0));
    CHECK(b.total_unrealized_pnl() == to_fixed(60.0));
    CHECK(b.total_pnl() == to_fixed(290.0));
    CHECK(b.gross_notional() == to_fixed(540.0));  // X flat; 40 x 13.5

    const auto snap = b.snapshot("Y");
    CHECK(snap.symbol == "Y");
    CHECK(snap.qty == 40);
    CHECK(snap.avg_px == to_fixed(12.0));
    CHECK(snap.realized_pnl == to_fixed(280.0));
    CHECK(snap.unrealized_pnl == to_fixed(60.0));
}

TEST_CASE("risk: position book rounds the average to the nearest 1e-8 and saturates") {
    position_book b;
    // (1 x 10.00000000 + 2 x 10.00000001) / 3 = 10.000000006667 -> 10.00000001
    b.apply_fill("R", side::buy, 1, 1'000'000'000);
    b.apply_fill("R", side::buy, 2, 1'000'000'001);
    CHECK(b.find("R")->avg_px == 1'000'000'001);
    // 1e9 lots at 100000.00: 1e22 in fixed point saturates instead of wrapping negative.
    b.apply_fill("BIG", side::buy, 1'000'000'000, to_fixed(100'000.0));
    CHECK(b.notional("BIG") == std::numeric_limits<std::int64_t>::max());
    CHECK(b.gross_notional() == std::numeric_limits<std::int64_t>::max());
    CHECK(b.find("BIG")->avg_px == to_fixed(100'000.0));
}

TEST_CASE("risk: trading states active, reducing, halted, operator commands are idempotent") {
    trading_state_machine t(to_fixed(500), to_fixed(300));
    CHECK(t.state() == trading_state::active);
    CHECK(t.by() == "risk");
    CHECK(t.set_operator(trading_state::reducing, "wind down", 0));
    CHECK(t.state() == trading_state::reducing);
    CHECK(t.reason() == "operator reducing: wind down");
    CHECK(t.by() == "operator");
    CHECK(t.set_operator(trading_state::halted, "kill", 0));
    CHECK(t.state() == trading_state::halted);
    CHECK_FALSE(t.set_operator(trading_state::halted, "kill", 0));  // the same again
    CHECK(t.set_operator(trading_state::active, "resume", 0));
    CHECK(t.state() == trading_state::active);
    CHECK_FALSE(t.loss_driven());
}

TEST_CASE("risk: daily loss latches reducing then halted, resume only once recovered") {
    trading_state_machine t(to_fixed(500), to_fixed(300));
    CHECK_FALSE(t.on_pnl(to_fixed(-299.99)));
    CHECK(t.on_pnl(to_fixed(-300)));
    CHECK(t.state() == trading_state::reducing);
    CHECK(t.by() == "risk");
    CHECK(t.reason() == "daily loss limit: day P&L -300.00 <= -300.00 (reducing_daily_loss)");
    CHECK(t.on_pnl(to_fixed(-650)));
    CHECK(t.state() == trading_state::halted);
    CHECK(t.loss_driven());
    CHECK(t.reason() == "daily loss limit: day P&L -650.00 <= -500.00 (max_daily_loss)");
    CHECK_FALSE(t.on_pnl(to_fixed(0)));  // latched: recovering alone does not resume
    CHECK(t.state() == trading_state::halted);
    // Resume while still breached: refused.
    t.set_operator(trading_state::active, "resume", to_fixed(-520));
    CHECK(t.state() == trading_state::halted);
    CHECK(t.reason().find("operator active refused, daily loss limit still breached") == 0);
    // The same resume once the P&L recovered above the reducing stage: active.
    CHECK(t.set_operator(trading_state::active, "resume", to_fixed(-100)));
    CHECK(t.state() == trading_state::active);
    // An operator halt is stricter than a loss stage and shows as the operator's.
    t.on_pnl(to_fixed(-350));
    CHECK(t.state() == trading_state::reducing);
    t.set_operator(trading_state::halted, "kill", to_fixed(-350));
    CHECK(t.state() == trading_state::halted);
    CHECK(t.by() == "operator");
    CHECK_FALSE(t.loss_driven());
}

TEST_CASE("risk: daily loss auto-halts the engine and rejects everything after") {
    auto cfg = open_config();
    cfg.max_daily_loss = to_fixed(500);
    risk_engine e(cfg);
    quote(e, "AAPL", 100.0);
    fill(e, "AAPL", side::buy, 100, 100.0);
    CHECK(e.state() == trading_state::active);
    quote(e, "AAPL", 95.0);  // -500: reaching the limit halts
    CHECK(e.state() == trading_state::halted);
    // Even a closing FLAT is refused while halted.
    CHECK(rule_of(e.on_signal(sig("AAPL", side::flat, 0, 95.0), "s", t0)) == "max_daily_loss");
    quote(e, "AAPL", 99.0);
    CHECK(e.state() == trading_state::halted);
    CHECK(e.set_operator_state(trading_state::active, "resume"));
    CHECK(e.state() == trading_state::active);
    CHECK(rule_of(e.on_signal(sig("AAPL", side::flat, 0, 99.0), "s", t0)) == "");
}

TEST_CASE("risk: order rate limiter is a sliding one-second window") {
    order_rate_limiter r(3);
    for (int i = 0; i < 3; ++i) {
        CHECK(r.allow(t0 + i * 100 * ms));
        r.record(t0 + i * 100 * ms);
    }
    CHECK_FALSE(r.allow(t0 + 300 * ms));
    CHECK_FALSE(r.allow(t0 + 999 * ms));
    CHECK(r.in_window(t0 + 999 * ms) == 3);
    CHECK(r.allow(t0 + 1'000 * ms));  // the order at t0 left the window
    CHECK(r.in_window(t0 + 1'000 * ms) == 2);
    CHECK(r.in_window(t0 + 1'200 * ms) == 0);
}

TEST_CASE("risk: fail-safe: degraded when market data goes silent, healthy when it resumes") {
    risk_engine e(open_config());
    CHECK_FALSE(e.update_health(t0 + 60'000 * ms));  // no quote yet: not degraded (no_quote)
    CHECK_FALSE(e.degraded());
    quote(e, "AAPL", 100.0);
    CHECK_FALSE(e.update_health(t0 + 2'000 * ms));
    CHECK(e.update_health(t0 + 2'001 * ms));
    CHECK(e.degraded());
    CHECK(rule_of(e.on_signal(sig("AAPL", side::buy, 1), "s", t0 + 2'001 * ms)) == "risk_degraded");
    quote(e, "AAPL", 100.0, t0 + 3'000 * ms);
    CHECK(e.update_health(t0 + 3'000 * ms));
    CHECK_FALSE(e.degraded());
    CHECK(rule_of(e.on_signal(sig("AAPL", side::buy, 1), "s", t0 + 3'000 * ms)) == "");
}

namespace {
auto load(const std::string& toml_text) {
    return testing::load_own_table(toml_text, "risk.toml", "risk",
                                   [](common::section& own) { return load_risk_config(own); });
}
}  // namespace

TEST_CASE("risk: config converts money to fixed point and applies per-symbol overrides") {
    auto l = load(R"(
[risk]
allowed_symbols = ["AAPL", "MSFT"]
max_order_qty = 100
max_position = 200
reduce_oversize = false
max_gross_notional = 60000.50
max_daily_loss = 5000
reducing_daily_loss = 2500.0
max_orders_per_sec = 5
price_band_bps = 25.5
stale_quote_ms = 1500
order_type = "limit"
limit_offset_bps = 5.0
limit_tick_size = 0.05
position_interval_ms = 500
default_tif = "gtc"
max_working_orders = 25
[risk.symbols.MSFT]
max_position = 50
)");
    CAPTURE(l.errors.size());
    REQUIRE(l.errors.empty());
    const auto& c = l.cfg;
    CHECK(c.allowed_symbols.size() == 2);
    CHECK(c.limits.max_order_qty == 100);
    CHECK(c.limits_for("AAPL").max_position == 200);
    CHECK(c.limits_for("MSFT").max_position == 50);
    CHECK(c.limits_for("MSFT").max_order_qty == 100);  // inherited
    CHECK_FALSE(c.reduce_oversize);
    CHECK(c.max_gross_notional == 6'000'050'000'000);
    CHECK(c.max_daily_loss == to_fixed(5000));
    CHECK(c.reducing_daily_loss == to_fixed(2500));
    CHECK(c.max_orders_per_sec == 5);
    CHECK(c.price_band_bps == doctest::Approx(25.5));
    CHECK(c.stale_quote_ms == 1500);
    CHECK(c.order_kind == schema::order_type::limit);
    CHECK(c.limit_tick_size == to_fixed(0.05));
    CHECK(c.position_interval_ms == 500);
    CHECK(c.default_tif == schema::time_in_force::gtc);
    CHECK(c.max_working_orders == 25);
}

TEST_CASE("risk: the shipped config/nodes/risk.toml loads without errors") {
    // tests/unit/<this file> -> the repository's config/nodes/
    const std::string here = __FILE__;
    const std::string path = here.substr(0, here.rfind("tests/unit/")) + "config/nodes/risk.toml";
    common::config_errors errors(path);
    auto table = common::parse_config_file(path, errors);
    REQUIRE(table.has_value());
    common::section root(&*table, "", errors);
    auto own = root.table("risk", true);
    const auto cfg = load_risk_config(own);
    own.finish();
    std::string all;
    for (const auto& e : errors.lines()) all += e + "\n";
    CAPTURE(all);
    CHECK(errors.empty());
    CHECK(cfg.limits.max_order_qty == 150);
    CHECK(cfg.limits_for("MSFT").max_position == 50);
    CHECK(cfg.max_daily_loss == to_fixed(5000.0));
}

TEST_CASE("risk: config errors are collected with the key (table)") {
    struct row {
        const char* toml;
        const char* expect;
    };
    const row rows[] = {
        {"[risk]\nmax_order_qty = 0\n", "risk.max_order_qty: expected an integer in [1, "},
        {"[risk]\nmax_position = \"10\"\n", "risk.max_position: expected an integer, got \"10\""},
        {"[risk]\nmax_daily_loss = 0.0\n", "risk.max_daily_loss: expected a number in [0.01, "},
        {"[risk]\nmax_daily_loss = 100.0\nreducing_daily_loss = 200.0\n",
         "risk.reducing_daily_loss: must be less than max_daily_loss"},
        {"[risk]\norder_type = \"stop\"\n", "risk.order_type: expected one of market|limit"},
        {"[risk]\nallowed_symbols = [\"A B\"]\n", "\"A B\" is not a valid symbol"},
        {"[risk]\nallowed_symbols = [\"AAPL\"]\n[risk.symbols.MSFT]\nmax_position = 5\n",
         "risk.symbols.MSFT: overrides a symbol that is not in allowed_symbols"},
        {"[risk]\n[risk.symbols.MSFT]\nmax_postion = 5\n",
         "risk.symbols.MSFT.max_postion: unknown key (did you mean \"max_position\"?)"},
        {"[risk]\nmax_loss = 5\n", "risk.max_loss: unknown key"},
        {"[risk]\nstale_quote_ms = -1\n", "risk.stale_quote_ms: expected an integer in [1, "},
        {"[risk]\ndefault_tif = \"GTD\"\n", "risk.default_tif: expected one of day|gtc|ioc|fok"},
        {"[risk]\nmax_working_orders = 0\n",
         "risk.max_working_orders: expected an integer in [1, "},
        {"[risk]\nopen_order_timeout_ms = 10000\n", "risk.open_order_timeout_ms: unknown key"},
    };
    for (const auto& r : rows) {
        CAPTURE(std::string(r.toml));
        auto l = load(r.toml);
        bool found = false;
        std::string all;
        for (const auto& e : l.errors) {
            found = found || e.find(r.expect) != std::string::npos;
            all += e + "\n";
        }
        CAPTURE(all);
        CHECK(found);
    }
}

// ---- the node: wiring through a fake context -----------------------------------------

TEST_CASE("risk: node subscriptions, publications and initial risk.state") {
    fake_context ctx("risk");
    ctx.now = t0;
    risk_node node(open_config());
    const auto subs = node.subscriptions();
    for (const char* t : {"md.tick.", "strategy.signal.", "exec.fill.", "exec.reject.",
                          "exec.cancelled.", "exec.expired.", "sys.trading"}) {
        CHECK(std::find(subs.begin(), subs.end(), t) != subs.end());
    }
    const auto pubs = node.publications();
    for (const char* t : {"risk.approved.", "risk.rejected.", "risk.position.", "risk.state"}) {
        CHECK(std::find(pubs.begin(), pubs.end(), t) != pubs.end());
    }
    node.on_start(ctx);
    auto states = ctx.of<schema::trading_state_changed>();
    REQUIRE(states.size() == 1);
    CHECK(states[0].topic == "risk.state");
    CHECK(states[0].body.state == trading_state::active);
    CHECK(states[0].body.by == "risk");
}

TEST_CASE("risk: node approves and rejects on per-symbol topics with the signal's trace id") {
    fake_context ctx("risk");
    ctx.now = t0;
    auto cfg = open_config();
    cfg.limits.max_position = 100;
    risk_node node(cfg);
    node.on_start(ctx);
    deliver(node, ctx, "md.tick.AAPL", quote_of("AAPL", 100.0), 11, "md");
    deliver(node, ctx, "strategy.signal.AAPL", sig("AAPL", side::buy, 100), 12, "strat");
    deliver(node, ctx, "strategy.signal.AAPL", sig("AAPL", side::buy, 100), 13, "strat");
    deliver(node, ctx, "strategy.signal.MSFT", sig("MSFT", side::buy, 1), 14, "strat");

    auto approved = ctx.of<schema::order>();
    REQUIRE(approved.size() == 1);
    CHECK(approved[0].topic == "risk.approved.AAPL");
    CHECK(approved[0].trace_id == 12);
    CHECK(approved[0].body.order_id == "risk-" + std::to_string(t0 / ms) + "-1");
    CHECK(approved[0].body.signal_src == "strat");
    auto rejected = ctx.of<schema::order_rejected>();
    REQUIRE(rejected.size() == 2);
    CHECK(rejected[0].topic == "risk.rejected.AAPL");
    CHECK(rejected[0].trace_id == 13);
    CHECK(rejected[0].body.rule == "max_position");
    CHECK(rejected[1].topic == "risk.rejected.MSFT");
    CHECK(rejected[1].trace_id == 14);
    CHECK(rejected[1].body.rule == "no_quote");
}

TEST_CASE("risk: node publishes positions after fills (fill's trace) and on the timer (tick's)") {
    fake_context ctx("risk");
    ctx.now = t0;
    auto cfg = open_config();
    cfg.position_interval_ms = 1'000;
    risk_node node(cfg);
    node.on_start(ctx);
    node.on_timer(ctx, t0);  // first run: no position yet, nothing published
    CHECK(ctx.of<schema::position>().empty());
    deliver(node, ctx, "md.tick.AAPL", quote_of("AAPL", 100.0), 21, "md");
    const auto first = fill_of("AAPL", side::buy, 10, 100.0);
    deliver(node, ctx, "exec.fill.AAPL", first, 22, "exec");
    auto pos = ctx.of<schema::position>();
    REQUIRE(pos.size() == 1);
    CHECK(pos[0].topic == "risk.position.AAPL");
    CHECK(pos[0].trace_id == 22);
    CHECK(pos[0].body.qty == 10);
    CHECK(pos[0].body.avg_px == to_fixed(100.0));
    CHECK(pos[0].body.last_fill_id == first.fill_id);  // what the position includes

    deliver(node, ctx, "md.tick.AAPL", quote_of("AAPL", 101.0), 23, "md");
    ctx.now = t0 + 500 * ms;
    const auto next = node.on_timer(ctx, ctx.now);
    CHECK(next > ctx.now);
    CHECK(ctx.of<schema::position>().size() == 1);  // not due yet
    ctx.now = t0 + 1'000 * ms;
    node.on_timer(ctx, ctx.now);
    pos = ctx.of<schema::position>();
    REQUIRE(pos.size() == 2);
    CHECK(pos[1].trace_id == 23);                         // the mark came from that tick
    CHECK(pos[1].body.unrealized_pnl == to_fixed(10.0));  // 10 x (101 - 100)
    CHECK(pos[1].body.last_fill_id == first.fill_id);     // no fill since: the same

    // A snapshot keeps it: a risk restored from it names the same last fill.
    risk_node restored(cfg);
    fake_context ctx2("risk");
    ctx2.now = ctx.now;
    const schema::event snap{schema::envelope{"risk", 1, ctx.now, 0}, node.engine().snapshot()};
    restored.on_recover(ctx2, runtime::inbound{"risk.snapshot.risk", "", snap});
    restored.on_start(ctx2);
    const auto* p = restored.engine().book().find("AAPL");
    REQUIRE(p != nullptr);
    CHECK(p->qty == 10);
    CHECK(p->last_fill_id == first.fill_id);
}

TEST_CASE("risk: node kill switch via sys.trading and the runtime, idempotent") {
    fake_context ctx("risk");
    ctx.now = t0;
    risk_node node(open_config());
    node.on_start(ctx);
    deliver(node, ctx, "md.tick.AAPL", quote_of("AAPL", 100.0), 1, "md");
    schema::trading_state_changed halt{trading_state::halted, "kill switch", "operator", "", ""};
    deliver(node, ctx, "sys.trading", halt, 31, "broker");
    node.on_trading_state(ctx, trading_state::halted, "kill switch");  // the same, via runtime
    auto states = ctx.of<schema::trading_state_changed>();
    REQUIRE(states.size() == 2);  // start + halt, once
    CHECK(states[1].topic == "risk.state");
    CHECK(states[1].trace_id == 0);  // an operator's halt: no tick caused it
    CHECK(states[1].body.state == trading_state::halted);
    CHECK(states[1].body.by == "operator");
    CHECK(states[1].body.reason == "operator halted: kill switch");

    deliver(node, ctx, "strategy.signal.AAPL", sig("AAPL", side::buy, 1), 32, "strat");
    auto rejected = ctx.of<schema::order_rejected>();
    REQUIRE(rejected.size() == 1);
    CHECK(rejected[0].body.rule == "halted");

    node.on_trading_state(ctx, trading_state::active, "resume");
    CHECK(ctx.of<schema::trading_state_changed>().back().body.state == trading_state::active);
    deliver(node, ctx, "strategy.signal.AAPL", sig("AAPL", side::buy, 1), 33, "strat");
    CHECK(ctx.of<schema::order>().size() == 1);
}

TEST_CASE("risk: risk.state carries the causing tick's trace id, and 0 when no tick caused it") {
    fake_context ctx("risk");
    ctx.now = t0;
    auto cfg = open_config();
    cfg.max_daily_loss = to_fixed(500);
    cfg.position_interval_ms = 1'000;
    risk_node node(cfg);
    const auto last_state = [&] { return ctx.of<schema::trading_state_changed>().back(); };
    const auto state_count = [&] { return ctx.of<schema::trading_state_changed>().size(); };

    node.on_start(ctx);  // the state at start: no tick
    REQUIRE(state_count() == 1);
    CHECK(last_state().trace_id == 0);

    // An operator halt through the runtime (a heartbeat reply told it) ...
    node.on_trading_state(ctx, trading_state::halted, "lunch");
    REQUIRE(state_count() == 2);
    CHECK(last_state().body.state == trading_state::halted);
    CHECK(last_state().trace_id == 0);
    // ... a repeated halt with a new reason through sys.trading (the broker's trace id is 0,
    // but whatever the envelope says, an operator's change is no tick's) ...
    schema::trading_state_changed halt{trading_state::halted, "still lunch", "operator", "", ""};
    deliver(node, ctx, "sys.trading", halt, 77, "broker");
    REQUIRE(state_count() == 3);
    CHECK(last_state().body.reason == "operator halted: still lunch");
    CHECK(last_state().trace_id == 0);
    // ... and the resume: all 0.
    node.on_trading_state(ctx, trading_state::active, "after lunch");
    REQUIRE(state_count() == 4);
    CHECK(last_state().body.state == trading_state::active);
    CHECK(last_state().trace_id == 0);

    // A tick whose mark crosses the daily loss limit: that tick's trace id.
    deliver(node, ctx, "md.tick.AAPL", quote_of("AAPL", 100.0), 5, "md");
    deliver(node, ctx, "exec.fill.AAPL", fill_of("AAPL", side::buy, 100, 100.0), 6, "exec");
    CHECK(state_count() == 4);
    deliver(node, ctx, "md.tick.AAPL", quote_of("AAPL", 94.0), 7, "md");
    REQUIRE(state_count() == 5);
    CHECK(last_state().body.state == trading_state::halted);
    CHECK(last_state().trace_id == 7);

    // Periodic positions: the last tick's trace for a quoted symbol, 0 for one never quoted.
    deliver(node, ctx, "exec.fill.MSFT", fill_of("MSFT", side::buy, 1, 50.0), 8, "exec");
    ctx.now = t0 + 2'000 * ms;
    node.on_timer(ctx, ctx.now);
    std::map<std::string, std::uint64_t> traces;
    for (const auto& p : ctx.of<schema::position>()) traces[p.body.symbol] = p.trace_id;
    CHECK(traces.at("AAPL") == 7);
    CHECK(traces.at("MSFT") == 0);
    CHECK(ctx.trace_ids_made() == 0);  // risk never starts a trace of its own
}

TEST_CASE("risk: node halts by itself on the daily loss and publishes risk.state by risk") {
    fake_context ctx("risk");
    ctx.now = t0;
    auto cfg = open_config();
    cfg.max_daily_loss = to_fixed(500);
    risk_node node(cfg);
    node.on_start(ctx);
    deliver(node, ctx, "md.tick.AAPL", quote_of("AAPL", 100.0), 1, "md");
    deliver(node, ctx, "exec.fill.AAPL", fill_of("AAPL", side::buy, 100, 100.0), 2, "exec");
    deliver(node, ctx, "md.tick.AAPL", quote_of("AAPL", 94.0), 41, "md");
    auto states = ctx.of<schema::trading_state_changed>();
    REQUIRE(states.size() == 2);
    CHECK(states[1].topic == "risk.state");
    CHECK(states[1].trace_id == 41);
    CHECK(states[1].body.state == trading_state::halted);
    CHECK(states[1].body.by == "risk");
    CHECK(states[1].body.reason.find("max_daily_loss") != std::string::npos);

    // Operator resume while still breached: refused, and said so once.
    schema::trading_state_changed resume{trading_state::active, "resume", "operator", "", ""};
    deliver(node, ctx, "sys.trading", resume, 42, "broker");
    node.on_trading_state(ctx, trading_state::active, "resume");
    states = ctx.of<schema::trading_state_changed>();
    REQUIRE(states.size() == 3);
    CHECK(states[2].body.state == trading_state::halted);
    CHECK(states[2].body.reason.find("refused") != std::string::npos);
    deliver(node, ctx, "strategy.signal.AAPL", sig("AAPL", side::flat, 0, 94.0), 43, "strat");
    CHECK(ctx.of<schema::order_rejected>().back().body.rule == "max_daily_loss");
}

TEST_CASE("risk: node reports degraded health when quotes stop, and approves nothing") {
    fake_context ctx("risk");
    ctx.now = t0;
    risk_node node(open_config());
    node.on_start(ctx);
    deliver(node, ctx, "md.tick.AAPL", quote_of("AAPL", 100.0), 1, "md");
    ctx.now = t0 + 2'500 * ms;
    node.on_timer(ctx, ctx.now);
    CHECK(ctx.health == schema::health::degraded);
    CHECK(ctx.health_reason.find("market data stale") != std::string::npos);
    deliver(node, ctx, "strategy.signal.AAPL", sig("AAPL", side::buy, 1), 51, "strat");
    CHECK(ctx.of<schema::order>().empty());
    CHECK(ctx.of<schema::order_rejected>().back().body.rule == "risk_degraded");
    deliver(node, ctx, "md.tick.AAPL", quote_of("AAPL", 100.0), 52, "md");
    CHECK(ctx.health == schema::health::healthy);
    CHECK(ctx.health_reports == 2);
    deliver(node, ctx, "strategy.signal.AAPL", sig("AAPL", side::buy, 1), 53, "strat");
    CHECK(ctx.of<schema::order>().size() == 1);
}

TEST_CASE("risk: flatten closes each position of its scope, refuses signals there meanwhile") {
    risk_engine e(open_config());
    e.set_order_id_prefix("r");
    quote(e, "AAPL", 100.0);
    quote(e, "MSFT", 400.0);
    quote(e, "TSLA", 200.0);
    fill(e, "AAPL", side::buy, 100, 100.0);
    fill(e, "MSFT", side::sell, 40, 400.0);
    fill(e, "TSLA", side::buy, 7, 200.0);
    // A working SELL 30 of AAPL (it had not reached execution when that cancelled).
    const auto working = e.on_signal(sig("AAPL", side::sell, 30), "s", t0);
    REQUIRE(std::holds_alternative<schema::order>(working));
    const std::string working_id = std::get<schema::order>(working).order_id;

    // One symbol: only its signals wait, and only it is closed.
    REQUIRE(e.begin_flatten(7, "AAPL"));
    CHECK_FALSE(e.begin_flatten(7, "AAPL"));  // the same request again
    CHECK(rule_of(e.on_signal(sig("AAPL", side::buy, 1), "s", t0)) == "flattening");
    CHECK(rule_of(e.on_signal(sig("MSFT", side::buy, 1, 400.0), "s", t0)) == "");
    const auto r = e.close_positions(7);
    CHECK(r.done.request_id == 7);
    CHECK(r.done.symbol == "AAPL");
    CHECK(r.done.error.empty());
    REQUIRE(r.orders.size() == 1);
    const schema::order& o = r.orders[0];
    CHECK(o.symbol == "AAPL");
    CHECK(o.dir == side::sell);
    CHECK(o.qty == 70);  // 100 long, 30 already closing in the working SELL
    CHECK(o.kind == schema::order_type::market);
    CHECK(o.tif == schema::time_in_force::ioc);
    CHECK(o.signal_src == schema::flatten_signal_src);
    CHECK(o.signal_id == 7);
    REQUIRE(r.done.closing.size() == 1);
    CHECK(r.done.closing[0].order_id == o.order_id);
    CHECK(r.done.closing[0].open_qty == 70);
    REQUIRE(r.done.working.size() == 1);  // the SELL 30, not the closing order
    CHECK(r.done.working[0].order_id == working_id);
    CHECK(r.done.left.empty());
    CHECK(e.open_qty("AAPL", side::sell) == 100);  // the closing order counts as working
    CHECK(rule_of(e.on_signal(sig("AAPL", side::buy, 1), "s", t0)) == "");  // flatten ended
    CHECK(e.close_positions(7).done.error == "no flatten request 7 is under way here");

    // Every symbol, through the daily loss halt and reduce-only, never through an operator's
    // halt of the desk or a symbol.
    CHECK(e.set_scope("sys.trading.symbol.TSLA", scope_event("TSLA", "")) ==
          trading_scopes::change::changed);
    CHECK(e.set_operator_state(trading_state::reducing, "wind down"));
    REQUIRE(e.begin_flatten(8, ""));
    CHECK(rule_of(e.on_signal(sig("MSFT", side::buy, 1), "s", t0)) == "flattening");
    const auto all = e.close_positions(8);
    // AAPL: long 100 with SELL 30 + 70 working, nothing more to send. MSFT: short 40 with the
    // BUY 1 approved above working.
    REQUIRE(all.orders.size() == 1);
    CHECK(all.orders[0].symbol == "MSFT");
    CHECK(all.orders[0].dir == side::buy);
    CHECK(all.orders[0].qty == 39);
    REQUIRE(all.done.left.size() == 1);
    CHECK(all.done.left[0].symbol == "TSLA");
    CHECK(all.done.left[0].qty == 7);
    CHECK(all.done.left[0].reason.find("symbol TSLA halted") != std::string::npos);

    CHECK(e.set_operator_state(trading_state::halted, "stop"));
    REQUIRE(e.begin_flatten(9, "MSFT"));
    const auto halted = e.close_positions(9);
    CHECK(halted.orders.empty());
    REQUIRE(halted.done.left.size() == 1);
    CHECK(halted.done.left[0].reason.find("stop") != std::string::npos);
    CHECK(halted.done.left[0].reason.find("reduce-only") != std::string::npos);

    // Bounded: at most max_flattens under way; abandon ends one without closing.
    CHECK(e.set_operator_state(trading_state::active, "go"));
    for (std::uint64_t id = 100; id < 100 + risk_engine::max_flattens; ++id) {
        REQUIRE(e.begin_flatten(id, "MSFT"));
    }
    CHECK_FALSE(e.begin_flatten(1, "MSFT"));
    CHECK(e.abandon_flatten(100) == std::optional<std::string>("MSFT"));
    CHECK_FALSE(e.abandon_flatten(100).has_value());
    CHECK(e.begin_flatten(1, "MSFT"));
}

TEST_CASE("risk: node flattens once execution answered the cancel, gives up without it") {
    fake_context ctx("risk");
    ctx.now = t0;
    risk_node node(open_config());
    node.on_start(ctx);
    const auto subs = node.subscriptions();
    for (const char* t : {"sys.flatten", "exec.cancel_done", "exec.cancel_reject"}) {
        CHECK(std::find(subs.begin(), subs.end(), t) != subs.end());
    }
    deliver(node, ctx, "md.tick.AAPL", quote_of("AAPL", 100.0), 1, "md");
    deliver(node, ctx, "exec.fill.AAPL", fill_of("AAPL", side::buy, 50, 100.0), 2, "exec");
    const schema::flatten_request req{.request_id = 5, .symbol = "", .reason = "eod", .by = "ana"};
    deliver(node, ctx, "sys.flatten", req, 0, "broker");
    CHECK(ctx.of<schema::order>().empty());  // nothing before execution cancelled
    deliver(node, ctx, "strategy.signal.AAPL", sig("AAPL", side::buy, 1), 3, "strat");
    REQUIRE(ctx.of<schema::order_rejected>().size() == 1);
    CHECK(ctx.of<schema::order_rejected>()[0].body.rule == "flattening");
    deliver(node, ctx, "exec.cancel_done", schema::cancel_done{.request_id = 99, .cancelled = 1}, 0,
            "exec");  // another request's answer
    CHECK(ctx.of<schema::order>().empty());
    deliver(node, ctx, "exec.cancel_done", schema::cancel_done{.request_id = 5, .cancelled = 2}, 0,
            "exec");
    const auto orders = ctx.of<schema::order>();
    REQUIRE(orders.size() == 1);
    CHECK(orders[0].topic == "risk.approved.AAPL");
    CHECK(orders[0].body.dir == side::sell);
    CHECK(orders[0].body.qty == 50);
    const auto done = ctx.of<schema::flatten_done>();
    REQUIRE(done.size() == 1);
    CHECK(done[0].topic == "risk.flatten.risk");
    CHECK(done[0].body.request_id == 5);
    CHECK(done[0].body.cancelled == 2);
    REQUIRE(done[0].body.closing.size() == 1);
    CHECK(done[0].body.closing[0].order_id == orders[0].body.order_id);

    // No answer from execution: after 5 s, nothing closed and the error says why.
    deliver(node, ctx, "sys.flatten",
            schema::flatten_request{.request_id = 6, .symbol = "AAPL", .reason = "", .by = ""}, 0,
            "broker");
    ctx.now += 4'900 * ms;
    (void)node.on_timer(ctx, ctx.now);
    CHECK(ctx.of<schema::flatten_done>().size() == 1);
    ctx.now += 200 * ms;
    (void)node.on_timer(ctx, ctx.now);
    const auto late = ctx.of<schema::flatten_done>();
    REQUIRE(late.size() == 2);
    CHECK(late[1].body.request_id == 6);
    CHECK(late[1].body.symbol == "AAPL");
    CHECK(late[1].body.error.find("execution did not answer the cancel within 5000 ms") !=
          std::string::npos);
    CHECK(ctx.of<schema::order>().size() == 1);

    // A symbol execution has no book for: its cancel_reject unknown_symbol lets the close go.
    deliver(node, ctx, "sys.flatten",
            schema::flatten_request{.request_id = 7, .symbol = "AAPL", .reason = "", .by = ""}, 0,
            "broker");
    deliver(node, ctx, "exec.cancel_reject",
            schema::cancel_reject{.request_id = 7,
                                  .order_id = "",
                                  .symbol = "AAPL",
                                  .code = "unknown_symbol",
                                  .reason = "no quote"},
            0, "exec");
    const auto third = ctx.of<schema::flatten_done>();
    REQUIRE(third.size() == 3);
    CHECK(third[2].body.error.empty());
    CHECK(third[2].body.closing.empty());  // the SELL 50 still working closes it already
}
