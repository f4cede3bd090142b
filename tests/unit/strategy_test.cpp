// The strategy: the crossover signal engine (warmup, crossover, RSI/ATR filters, no stacking),
// its position tracking from its own order flow, its config, and the node wiring (topics,
// trace ids, signal ids) through a fake context.
#include <doctest/doctest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "config_loading.hpp"
#include "fake_node_context.hpp"
#include "tradebus/schema/topics.hpp"
#include "tradebus/strategy/signal_engine.hpp"
#include "tradebus/strategy/strategy_config.hpp"
#include "tradebus/strategy/strategy_node.hpp"

using namespace tradebus;
using namespace tradebus::strategy;
using schema::side;
using testing::deliver;
using testing::fake_context;

namespace {

// Small periods so a dozen prices cover warmup and two crosses. Filters off unless a test
// turns them on (overbought 100 / oversold 0 / min_atr_bps 0).
symbol_params small_params() {
    symbol_params p;
    p.fast_period = 2;
    p.slow_period = 4;
    p.rsi_period = 3;
    p.atr_period = 3;
    p.rsi_overbought = 100.0;
    p.rsi_oversold = 0.0;
    p.min_atr_bps = 0.0;
    p.order_qty = 100;
    return p;
}

// With fast 2 / slow 4 / RSI 3 / ATR 3 (warmup 4) this series crosses UP at sample 8 and
// DOWN at sample 11, then UP again at sample 14:
//   #8  p=10  EMA2 9.638 > EMA4 9.458   RSI 71.6  ATR 0.645 (644.7 bps)
//   #11 p=9   EMA2 9.394 < EMA4 9.627   RSI 32.1
//   #14 p=10  EMA2 9.607 > EMA4 9.391   RSI 66.1
const std::vector<double> series = {10, 10.5, 10, 9.5, 9, 8.5, 9, 10, 11, 10, 9, 8, 9, 10, 11, 12};

struct fired {
    std::size_t at;  // 1-based sample number
    decision d;
};

// Feeds series[0, n) with a constant exposure; returns every decision.
std::vector<fired> feed(signal_engine& e, std::size_t n, std::int64_t exposure = 0) {
    std::vector<fired> out;
    for (std::size_t i = 0; i < n && i < series.size(); ++i) {
        if (auto d = e.on_sample(sample::of_price(series[i]), exposure)) out.push_back({i + 1, *d});
    }
    return out;
}

schema::tick tick_at(const std::string& sym, double px) {
    schema::tick t;
    t.symbol = sym;
    t.bid_px = schema::to_fixed(px - 0.01);
    t.ask_px = schema::to_fixed(px + 0.01);
    t.bid_qty = t.ask_qty = 100;
    return t;
}

strategy_config one_symbol(const symbol_params& p, std::string sym = "AAPL") {
    strategy_config cfg;
    cfg.symbols = {sym};
    cfg.params[sym] = p;
    return cfg;
}

}  // namespace

TEST_CASE("strategy: warmup suppresses crosses until the indicators are ready") {
    signal_engine e(small_params());
    CHECK(e.warmup() == 4);  // max(slow 4, fast 2, rsi 3 + 1, atr 3)
    // 10, 8, 12: EMA2 crosses above EMA4 at sample 3, inside the warmup: no signal. Sample 4
    // only establishes the side (below); the cross at 5 is the first signal.
    std::vector<std::optional<decision>> got;
    for (double p : {10.0, 8.0, 12.0, 8.0, 12.0})
        got.push_back(e.on_sample(sample::of_price(p), 0));
    CHECK_FALSE(got[2].has_value());
    CHECK_FALSE(got[3].has_value());
    REQUIRE(got[4].has_value());
    CHECK(got[4]->dir == side::buy);

    auto p = small_params();
    p.warmup_samples = 6;  // longer configured warmup wins
    signal_engine longer(p);
    CHECK(longer.warmup() == 6);
    int signals = 0;
    for (double px : {10.0, 8.0, 12.0, 8.0, 12.0, 8.0}) {
        if (longer.on_sample(sample::of_price(px), 0)) ++signals;
    }
    CHECK(signals == 0);
}

TEST_CASE("strategy: EMA crossover fires BUY up and SELL down with reason and confidence") {
    signal_engine e(small_params());
    auto up = feed(e, 8);
    REQUIRE(up.size() == 1);
    CHECK(up[0].at == 8);
    CHECK(up[0].d.dir == side::buy);
    CHECK(up[0].d.qty == 100);
    CHECK(up[0].d.reason == "EMA2 9.638 crossed above EMA4 9.458, RSI 71.6, ATR 0.645 (644.7 bps)");
    // spread 0.1806 / ATR 0.6447 = 0.2801 -> 0.2801 / 1.2801 = 0.2188
    CHECK(up[0].d.confidence == doctest::Approx(0.2188).epsilon(1e-3));

    // Now long 100: the down cross at 11 wants -100, so SELL 200.
    std::vector<fired> down;
    for (std::size_t i = 8; i < 11; ++i) {
        if (auto d = e.on_sample(sample::of_price(series[i]), 100)) down.push_back({i + 1, *d});
    }
    REQUIRE(down.size() == 1);
    CHECK(down[0].at == 11);
    CHECK(down[0].d.dir == side::sell);
    CHECK(down[0].d.qty == 200);
    CHECK(down[0].d.reason.find("crossed below EMA4") != std::string::npos);
    CHECK(down[0].d.confidence > 0.0);
    CHECK(down[0].d.confidence < 1.0);
}

TEST_CASE("strategy: allow_short = false turns a down cross into FLAT of the long, or nothing") {
    auto p = small_params();
    p.allow_short = false;
    signal_engine long_only(p);
    feed(long_only, 8);
    std::optional<decision> d;
    for (std::size_t i = 8; i < 11; ++i) d = long_only.on_sample(sample::of_price(series[i]), 100);
    REQUIRE(d.has_value());
    CHECK(d->dir == side::flat);
    CHECK(d->qty == 100);

    signal_engine flat_already(p);
    CHECK(feed(flat_already, 8, 0).size() == 1);  // the BUY
    std::optional<decision> none;
    for (std::size_t i = 8; i < 11; ++i)
        none = flat_already.on_sample(sample::of_price(series[i]), 0);
    CHECK_FALSE(none.has_value());  // flat and not allowed short: nothing to do
}

TEST_CASE("strategy: filters block entries (table) and close a position against the cross") {
    struct row {
        const char* name;
        double overbought, oversold, min_atr_bps;
        std::int64_t exposure;  // held while crossing
        std::size_t upto;       // samples fed: 8 = the up cross, 11 = through the down cross
        std::optional<side> expect;
        std::int64_t qty;
        const char* reason_part;
    };
    const row rows[] = {
        {"RSI 71.6 > overbought 70 blocks BUY", 70, 0, 0, 0, 8, std::nullopt, 0, ""},
        {"RSI 71.6 <= overbought 75 lets BUY", 75, 0, 0, 0, 8, side::buy, 100, "crossed above"},
        {"overbought BUY blocked but short closed", 70, 0, 0, -50, 8, side::flat, 50,
         "RSI 71.6 > rsi_overbought 70.0: closing short 50 instead of buying"},
        {"RSI 32.1 < oversold 35 blocks SELL", 100, 35, 0, 0, 11, std::nullopt, 0, ""},
        {"RSI 32.1 >= oversold 30 lets SELL", 100, 30, 0, 0, 11, side::sell, 100, "crossed below"},
        {"oversold SELL blocked but long closed", 100, 35, 0, 100, 11, side::flat, 100,
         "closing long 100 instead of selling"},
        {"ATR 644.7 bps < min 1000 blocks BUY", 100, 0, 1000, 0, 8, std::nullopt, 0, ""},
        {"ATR 644.7 bps >= min 500 lets BUY", 100, 0, 500, 0, 8, side::buy, 100, "644.7 bps"},
    };
    for (const auto& r : rows) {
        CAPTURE(std::string(r.name));
        auto p = small_params();
        p.rsi_overbought = r.overbought;
        p.rsi_oversold = r.oversold;
        p.min_atr_bps = r.min_atr_bps;
        signal_engine e(p);
        std::optional<decision> last;
        std::size_t last_at = 0;
        for (std::size_t i = 0; i < r.upto; ++i) {
            // Before the cross under test the exposure is whatever makes the earlier cross a
            // no-op: for the down-cross rows, exposure is given for the whole run.
            if (auto d = e.on_sample(sample::of_price(series[i]), r.exposure)) {
                last = d;
                last_at = i + 1;
            }
        }
        if (!r.expect) {
            CHECK((!last.has_value() || last_at != r.upto));
            continue;
        }
        REQUIRE(last.has_value());
        CHECK(last_at == r.upto);
        CHECK(last->dir == *r.expect);
        CHECK(last->qty == r.qty);
        CHECK(last->reason.find(r.reason_part) != std::string::npos);
    }
}

TEST_CASE("strategy: no stacking: exposure at or beyond the target means no new entry") {
    struct row {
        std::int64_t exposure;
        std::optional<side> expect;
        std::int64_t qty;
    };
    const row rows[] = {
        {0, side::buy, 100},     // flat: buy the target
        {40, side::buy, 60},     // partly there: buy the rest
        {100, std::nullopt, 0},  // already long the target: nothing
        {250, std::nullopt, 0},  // beyond it: nothing (risk may have reduced elsewhere)
        {-100, side::buy, 200},  // short: flip to +100
    };
    for (const auto& r : rows) {
        CAPTURE(r.exposure);
        signal_engine e(small_params());
        auto got = feed(e, 8, r.exposure);
        if (!r.expect) {
            CHECK(got.empty());
            continue;
        }
        REQUIRE(got.size() == 1);
        CHECK(got[0].d.dir == *r.expect);
        CHECK(got[0].d.qty == r.qty);
    }
}

TEST_CASE("strategy: signal_every_tick alternates BUY and SELL on every sample") {
    signal_engine e(small_params(), /*signal_every_tick=*/true);
    std::vector<side> dirs;
    for (double p : {10.0, 10.0, 10.0, 10.0}) {
        auto d = e.on_sample(sample::of_price(p), 0);
        REQUIRE(d.has_value());
        CHECK(d->qty == 100);
        dirs.push_back(d->dir);
    }
    CHECK(dirs == std::vector<side>{side::buy, side::sell, side::buy, side::sell});
}

TEST_CASE("strategy: position tracker follows only its own orders and fills") {
    position_tracker t;
    t.on_signal_sent(1, "AAPL", 100, 0);
    CHECK(t.exposure("AAPL") == 100);  // unanswered signal counts
    CHECK(t.position("AAPL") == 0);

    schema::order o;
    o.order_id = "risk-1-1";
    o.symbol = "AAPL";
    o.dir = side::buy;
    o.qty = 80;  // risk reduced it
    o.requested_qty = 100;
    o.signal_id = 1;
    t.on_approved(o, 0);
    CHECK(t.exposure("AAPL") == 80);

    schema::fill f{"risk-1-1", "f1", "AAPL", side::buy, 30, schema::to_fixed(10), 50};
    CHECK(t.on_fill(f, 0));
    CHECK(t.position("AAPL") == 30);
    CHECK(t.exposure("AAPL") == 80);
    CHECK_FALSE(t.on_fill(f, 0));  // the same fill_id again
    CHECK(t.position("AAPL") == 30);
    schema::fill other{"someone-else", "f9", "AAPL", side::buy, 500, schema::to_fixed(10), 0};
    CHECK_FALSE(t.on_fill(other, 0));
    f.fill_id = "f2";
    f.qty = 50;
    f.leaves_qty = 0;
    CHECK(t.on_fill(f, 0));
    CHECK(t.position("AAPL") == 80);
    CHECK(t.in_flight() == 0);

    t.on_signal_sent(2, "AAPL", -80, 0);
    t.on_rejected(2);
    CHECK(t.exposure("AAPL") == 80);
    t.on_signal_sent(3, "AAPL", -80, 0);
    CHECK(t.expire(1'000, 5'000) == 0);
    CHECK(t.expire(10'000, 5'000) == 1);  // no answer for 10 us > 5 us timeout
    CHECK(t.exposure("AAPL") == 80);
}

TEST_CASE("strategy: node subscribes per symbol and publishes signals with the tick's trace id") {
    strategy_node node(one_symbol(small_params()));
    const auto subs = node.subscriptions();
    for (const char* t :
         {"md.tick.AAPL", "risk.approved.AAPL", "risk.rejected.AAPL", "exec.fill.AAPL",
          "exec.reject.AAPL", "exec.cancelled.AAPL", "exec.expired.AAPL"}) {
        CHECK(std::find(subs.begin(), subs.end(), t) != subs.end());
    }
    CHECK(node.publications() == std::vector<std::string>{"strategy.signal."});

    fake_context ctx("strat");
    node.on_start(ctx);
    for (std::size_t i = 0; i < 8; ++i) {
        deliver(node, ctx, "md.tick.AAPL", tick_at("AAPL", series[i]), 100 + i, "md");
    }
    // A tick of another symbol that shares the prefix is ignored.
    deliver(node, ctx, "md.tick.AAPLX", tick_at("AAPLX", 1.0), 999, "md");
    auto sigs = ctx.of<schema::signal>();
    REQUIRE(sigs.size() == 1);
    CHECK(sigs[0].topic == "strategy.signal.AAPL");
    CHECK(sigs[0].trace_id == 107);  // the 8th tick's
    // Ids start at the start time in µs, so a restarted strategy is not refused as a duplicate.
    CHECK(sigs[0].body.signal_id == static_cast<std::uint64_t>(ctx.now / 1000));
    CHECK(sigs[0].body.symbol == "AAPL");
    CHECK(sigs[0].body.dir == side::buy);
    CHECK(sigs[0].body.qty == 100);
    CHECK(sigs[0].body.ref_px == schema::to_fixed(10.0));  // the mid
    CHECK(sigs[0].body.confidence > 0.0);
    CHECK(sigs[0].body.reason.find("EMA2") == 0);
}

TEST_CASE("strategy: a restarted node issues signal ids above the previous instance's") {
    std::uint64_t last_of_first = 0;
    fake_context ctx("strat");
    {
        strategy_node node(one_symbol(small_params()));
        node.on_start(ctx);
        for (std::size_t i = 0; i < 8; ++i) {
            deliver(node, ctx, "md.tick.AAPL", tick_at("AAPL", series[i]), 100 + i, "md");
        }
        auto sigs = ctx.of<schema::signal>();
        REQUIRE(!sigs.empty());
        last_of_first = sigs.back().body.signal_id;
        CHECK(node.signals_sent() == sigs.size());
    }
    ctx.events.clear();
    ctx.now += 1'000'000;  // restarted a millisecond later
    strategy_node node(one_symbol(small_params()));
    node.on_start(ctx);
    for (std::size_t i = 0; i < 8; ++i) {
        deliver(node, ctx, "md.tick.AAPL", tick_at("AAPL", series[i]), 200 + i, "md");
    }
    auto sigs = ctx.of<schema::signal>();
    REQUIRE(!sigs.empty());
    CHECK(sigs.front().body.signal_id > last_of_first);
}

TEST_CASE("strategy: node does not stack after its BUY filled, even when its SELL was rejected") {
    strategy_node node(one_symbol(small_params()));
    fake_context ctx("strat");
    node.on_start(ctx);
    auto tick = [&](std::size_t i) {
        deliver(node, ctx, "md.tick.AAPL", tick_at("AAPL", series[i]), 1000 + i, "md");
    };
    for (std::size_t i = 0; i < 8; ++i) tick(i);
    REQUIRE(ctx.of<schema::signal>().size() == 1);

    // Another strategy's approval and fill on the same symbol: not ours, ignored.
    schema::order theirs{
        "risk-9-1", "AAPL",           side::sell, 500, 500, schema::order_type::market,
        0,          "other-strategy", 1};
    deliver(node, ctx, "risk.approved.AAPL", theirs, 1, "risk");
    deliver(node, ctx, "exec.fill.AAPL",
            schema::fill{"risk-9-1", "x1", "AAPL", side::sell, 500, schema::to_fixed(10), 0}, 1,
            "exec");
    // Ours: approved and filled.
    const std::uint64_t first_id = ctx.of<schema::signal>()[0].body.signal_id;
    schema::order ours{"risk-9-2", "AAPL",  side::buy, 100, 100, schema::order_type::market,
                       0,          "strat", first_id};
    deliver(node, ctx, "risk.approved.AAPL", ours, 1007, "risk");
    deliver(node, ctx, "exec.fill.AAPL",
            schema::fill{"risk-9-2", "x2", "AAPL", side::buy, 100, schema::to_fixed(10), 0}, 1007,
            "exec");
    CHECK(node.tracker().position("AAPL") == 100);

    for (std::size_t i = 8; i < 11; ++i) tick(i);  // down cross at 11: SELL 200 (flip)
    auto sigs = ctx.of<schema::signal>();
    REQUIRE(sigs.size() == 2);
    CHECK(sigs[1].body.dir == side::sell);
    CHECK(sigs[1].body.qty == 200);
    CHECK(sigs[1].body.signal_id == sigs[0].body.signal_id + 1);
    schema::order_rejected rej{"AAPL",          side::sell, 200, "strat", sigs[1].body.signal_id,
                               "max_order_qty", "qty 200"};
    deliver(node, ctx, "risk.rejected.AAPL", rej, 1010, "risk");
    CHECK(node.tracker().exposure("AAPL") == 100);

    for (std::size_t i = 11; i < 16; ++i) tick(i);  // up cross at 14: already long 100
    CHECK(ctx.of<schema::signal>().size() == 2);
}

TEST_CASE("strategy: node re-enters when execution rejected its order") {
    strategy_node node(one_symbol(small_params()));
    fake_context ctx("strat");
    node.on_start(ctx);
    for (std::size_t i = 0; i < 8; ++i) {
        deliver(node, ctx, "md.tick.AAPL", tick_at("AAPL", series[i]), 1, "md");
    }
    deliver(
        node, ctx, "risk.approved.AAPL",
        schema::order{"r-1", "AAPL", side::buy, 100, 100, schema::order_type::market, 0, "strat",
                      ctx.of<schema::signal>().at(0).body.signal_id, schema::time_in_force::day, 0},
        1, "risk");
    CHECK(node.tracker().exposure("AAPL") == 100);
    deliver(node, ctx, "exec.reject.AAPL",
            schema::exec_reject{"r-1", "AAPL", "no_quote", "no quote"}, 1, "exec");
    CHECK(node.tracker().exposure("AAPL") == 0);
    // A cancelled order's rest never fills either: it stops counting as exposure.
    deliver(
        node, ctx, "risk.approved.AAPL",
        schema::order{"r-c", "AAPL", side::buy, 100, 100, schema::order_type::market, 0, "strat",
                      ctx.of<schema::signal>().at(0).body.signal_id, schema::time_in_force::ioc, 0},
        2, "risk");
    CHECK(node.tracker().exposure("AAPL") == 100);
    deliver(node, ctx, "exec.cancelled.AAPL",
            schema::order_cancelled{"r-c", "AAPL", side::buy, 100, 100, "execution", "IOC", 0}, 1,
            "exec");
    CHECK(node.tracker().exposure("AAPL") == 0);
    // Flat again: the down cross at 11 sells short 100, the up cross at 14 buys 200.
    for (std::size_t i = 8; i < 16; ++i) {
        deliver(node, ctx, "md.tick.AAPL", tick_at("AAPL", series[i]), 1, "md");
    }
    auto sigs = ctx.of<schema::signal>();
    REQUIRE(sigs.size() == 3);
    CHECK(sigs[1].body.dir == side::sell);
    CHECK(sigs[1].body.qty == 100);
    CHECK(sigs[2].body.dir == side::buy);
    CHECK(sigs[2].body.qty == 200);  // from the unanswered -100 SELL signal to +100
    CHECK(sigs[2].body.signal_id == sigs[0].body.signal_id + 2);
}

TEST_CASE("strategy: in-flight signals expire on the timer") {
    auto cfg = one_symbol(small_params());
    cfg.pending_timeout_ms = 500;
    strategy_node node(cfg);
    fake_context ctx("strat");
    node.on_start(ctx);
    for (std::size_t i = 0; i < 8; ++i) {
        deliver(node, ctx, "md.tick.AAPL", tick_at("AAPL", series[i]), 1, "md");
    }
    CHECK(node.tracker().exposure("AAPL") == 100);
    const auto next = node.on_timer(ctx, ctx.now + 400'000'000);
    CHECK(next > ctx.now);
    CHECK(node.tracker().exposure("AAPL") == 100);
    node.on_timer(ctx, ctx.now + 600'000'000);
    CHECK(node.tracker().exposure("AAPL") == 0);
}

TEST_CASE("strategy: bar_close source subscribes to bars and feeds high/low to the ATR") {
    auto cfg = one_symbol(small_params(), "SPY");
    cfg.source = price_source::bar_close;
    strategy_node node(cfg);
    const auto subs = node.subscriptions();
    CHECK(std::find(subs.begin(), subs.end(), "md.bar.SPY") != subs.end());
    CHECK(std::find(subs.begin(), subs.end(), "md.tick.SPY") == subs.end());
    fake_context ctx("strat");
    node.on_start(ctx);
    deliver(node, ctx, "md.tick.SPY", tick_at("SPY", 10.0), 1, "md");  // ignored
    CHECK(node.engine("SPY")->samples() == 0);
    for (std::size_t i = 0; i < 8; ++i) {
        schema::bar b;
        b.symbol = "SPY";
        b.close_px = schema::to_fixed(series[i]);
        b.high_px = schema::to_fixed(series[i] + 1.0);
        b.low_px = schema::to_fixed(series[i] - 1.0);
        deliver(node, ctx, "md.bar.SPY", b, 500 + i, "md");
    }
    CHECK(node.engine("SPY")->samples() == 8);
    CHECK(node.engine("SPY")->atr_indicator().value() >= 2.0);  // every bar spans 2.0
    auto sigs = ctx.of<schema::signal>();
    REQUIRE(sigs.size() == 1);
    CHECK(sigs[0].topic == "strategy.signal.SPY");
    CHECK(sigs[0].trace_id == 507);
    CHECK(sigs[0].body.ref_px == schema::to_fixed(10.0));
}

TEST_CASE("strategy: signal_every_tick node publishes one signal per tick with rising ids") {
    auto cfg = one_symbol(small_params());
    cfg.signal_every_tick = true;
    strategy_node node(cfg);
    fake_context ctx("bench");
    for (std::uint64_t i = 1; i <= 5; ++i) {
        deliver(node, ctx, "md.tick.AAPL", tick_at("AAPL", 10.0), i, "md");
    }
    auto sigs = ctx.of<schema::signal>();
    REQUIRE(sigs.size() == 5);
    for (std::size_t i = 0; i < 5; ++i) {
        CHECK(sigs[i].body.signal_id == i + 1);
        CHECK(sigs[i].trace_id == i + 1);
        CHECK(sigs[i].body.dir == (i % 2 == 0 ? side::buy : side::sell));
    }
}

namespace {
auto load(const std::string& toml_text) {
    return testing::load_own_table(toml_text, "strategy.toml", "strategy",
                                   [](common::section& own) { return load_strategy_config(own); });
}
}  // namespace

TEST_CASE("strategy: config defaults, per-symbol overrides and inheritance") {
    auto l = load(R"(
[strategy]
trade_symbols = ["AAPL", "MSFT"]
fast_period = 8
slow_period = 21
order_qty = 50
rsi_overbought = 75.0
[strategy.symbols.MSFT]
order_qty = 20
min_atr_bps = 1.5
allow_short = false
)");
    REQUIRE(l.errors.empty());
    CHECK(l.cfg.symbols == std::vector<std::string>{"AAPL", "MSFT"});
    CHECK(l.cfg.source == price_source::tick_mid);
    CHECK_FALSE(l.cfg.signal_every_tick);
    const auto& a = l.cfg.params.at("AAPL");
    CHECK(a.fast_period == 8);
    CHECK(a.slow_period == 21);
    CHECK(a.order_qty == 50);
    CHECK(a.rsi_period == 14);  // built-in default
    CHECK(a.rsi_overbought == doctest::Approx(75.0));
    CHECK(a.allow_short);
    const auto& m = l.cfg.params.at("MSFT");
    CHECK(m.fast_period == 8);  // inherited from [strategy]
    CHECK(m.order_qty == 20);
    CHECK(m.min_atr_bps == doctest::Approx(1.5));
    CHECK_FALSE(m.allow_short);
}

TEST_CASE("strategy: the shipped config/nodes/strategy.toml loads without errors") {
    // tests/unit/<this file> -> the repository's config/nodes/
    const std::string here = __FILE__;
    const std::string path =
        here.substr(0, here.rfind("tests/unit/")) + "config/nodes/strategy.toml";
    common::config_errors errors(path);
    auto table = common::parse_config_file(path, errors);
    REQUIRE(table.has_value());
    common::section root(&*table, "", errors);
    auto own = root.table("strategy", true);
    const auto cfg = load_strategy_config(own);
    own.finish();
    std::string all;
    for (const auto& e : errors.lines()) all += e + "\n";
    CAPTURE(all);
    CHECK(errors.empty());
    CHECK(cfg.symbols == std::vector<std::string>{"AAPL", "MSFT", "SPY"});
    CHECK(cfg.params.at("SPY").order_qty == 200);
    CHECK(cfg.params.at("MSFT").slow_period == 21);
    CHECK_FALSE(cfg.signal_every_tick);
}

TEST_CASE("strategy: config errors are collected with the key (table)") {
    struct row {
        const char* toml;
        const char* expect;  // a substring of one error line
    };
    const row rows[] = {
        {"[strategy]\n", "strategy.trade_symbols: missing required key"},
        {"[strategy]\ntrade_symbols = []\n", "expected at least one symbol"},
        {"[strategy]\ntrade_symbols = [\"A.B\"]\n", "is not a valid symbol"},
        {"[strategy]\ntrade_symbols = [\"X\", \"X\"]\n", "listed twice"},
        {"[strategy]\ntrade_symbols = [\"X\"]\nfast_period = 30\n",
         "strategy.fast_period: fast_period (30) must be less than slow_period (20)"},
        {"[strategy]\ntrade_symbols = [\"X\"]\nrsi_oversold = 80.0\n",
         "rsi_oversold must be less than rsi_overbought"},
        {"[strategy]\ntrade_symbols = [\"X\"]\norder_qty = 0\n",
         "strategy.order_qty: expected an integer in [1, "},
        {"[strategy]\ntrade_symbols = [\"X\"]\nrsi_overbought = 120.0\n",
         "strategy.rsi_overbought: expected a number in [0, 100]"},
        {"[strategy]\ntrade_symbols = [\"X\"]\nprice_source = \"trades\"\n",
         "expected one of tick_mid|bar_close"},
        {"[strategy]\ntrade_symbols = [\"X\"]\n[strategy.symbols.Y]\norder_qty = 5\n",
         "strategy.symbols.Y: overrides a symbol that is not in trade_symbols"},
        {"[strategy]\ntrade_symbols = [\"X\"]\n[strategy.symbols.X]\nslow_period = 3\n",
         "strategy.symbols.X.slow_period: fast_period (5) must be less than slow_period (3)"},
        {"[strategy]\ntrade_symbols = [\"X\"]\n[strategy.symbols.X]\norder_qtty = 5\n",
         "strategy.symbols.X.order_qtty: unknown key (did you mean \"order_qty\"?)"},
        {"[strategy]\ntrade_symbols = [\"X\"]\nfast = 5\n", "strategy.fast: unknown key"},
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
