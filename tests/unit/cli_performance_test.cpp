// A run's performance (cli/performance.hpp) from hand-made journal records: the equity curve
// from risk's positions, the drawdown, each day's P&L with Sharpe and Sortino worked out by
// hand, round trips and the win rate, the time in the market; and the HTML page's pieces.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <string>

#include "tradebus/cli/performance.hpp"
#include "tradebus/schema/codec.hpp"

using namespace tradebus;
using namespace tradebus::cli;

namespace {

constexpr std::int64_t day0 = 1'796'256'000'000'000'000;  // 2026-12-03 00:00 UTC
constexpr std::int64_t hour = 3'600'000'000'000;
constexpr std::int64_t day = 24 * hour;

std::int64_t px(double v) { return schema::to_fixed(v); }

// Feeds records to a builder; keeps their bytes alive.
struct feeder {
    performance_builder b;
    std::deque<std::string> bodies;
    std::uint64_t index = 0, seq = 0;

    template <class Body>
    void add(std::int64_t ts, const std::string& topic, const Body& body) {
        bodies.emplace_back();
        schema::encode_event(schema::envelope{"n", ++seq, ts, 1}, body, bodies.back());
        b.add(journal::record{++index, ts, 0, topic, bodies.back()});
    }
    void fill(std::int64_t ts, schema::side dir, std::int64_t qty, double price) {
        add(ts, "exec.fill.AAPL",
            schema::fill{.order_id = "o",
                         .fill_id = "f" + std::to_string(seq),
                         .symbol = "AAPL",
                         .dir = dir,
                         .qty = qty,
                         .px = px(price),
                         .leaves_qty = 0});
    }
    void position(std::int64_t ts, double realized, double unrealized) {
        schema::position p;
        p.symbol = "AAPL";
        p.realized_pnl = px(realized);
        p.unrealized_pnl = px(unrealized);
        add(ts, "risk.position.AAPL", p);
    }
};

}  // namespace

TEST_CASE("performance: equity, drawdown, daily P&L with Sharpe and Sortino, by hand") {
    feeder f;
    // Equity as risk marks it: +100 (peak), +40 (drawdown 60), +150 on day 0; day 1 ends at
    // +120 (-30 that day); day 2 at +200 (+80).
    f.position(day0 + 1 * hour, 0, 100);
    f.position(day0 + 2 * hour, 0, 40);
    f.position(day0 + 3 * hour, 150, 0);
    f.position(day0 + day + 1 * hour, 120, 0);
    f.position(day0 + 2 * day + 1 * hour, 200, 0);
    const performance p = f.b.result();
    REQUIRE(p.equity.size() == 5);
    CHECK(p.final_equity == px(200));
    CHECK(p.realized == px(200));
    CHECK(p.peak_equity == px(200));
    CHECK(p.max_drawdown == px(60));
    CHECK(p.max_drawdown_at_ns == day0 + 2 * hour);
    REQUIRE(p.daily_pnl.size() == 3);
    CHECK(p.daily_pnl[0] == std::pair<std::string, std::int64_t>{"2026-12-03", px(150)});
    CHECK(p.daily_pnl[1] == std::pair<std::string, std::int64_t>{"2026-12-04", px(-30)});
    CHECK(p.daily_pnl[2] == std::pair<std::string, std::int64_t>{"2026-12-05", px(80)});
    // Daily 150, -30, 80: mean 66.667; sample stdev sqrt(((83.333)^2 + (96.667)^2 +
    // (13.333)^2) / 2) = 90.738; Sharpe 66.667 / 90.738 x sqrt(252) = 11.663. Downside
    // deviation sqrt(30^2 / 3) = 17.321: Sortino 66.667 / 17.321 x sqrt(252) = 61.101.
    REQUIRE(p.sharpe);
    CHECK(*p.sharpe == doctest::Approx(11.663).epsilon(0.001));
    REQUIRE(p.sortino);
    CHECK(*p.sortino == doctest::Approx(61.101).epsilon(0.001));
    const std::string text = format_performance(p);
    CHECK_MESSAGE(text.find("max drawdown 60.00") != std::string::npos, text);
    CHECK(text.find("Sharpe 11.66  Sortino 61.10") != std::string::npos);
    const std::string json = performance_json(p);
    CHECK(json.find("\"max_drawdown\":6000000000,") != std::string::npos);
    CHECK(json.find("\"daily_pnl\":[{\"day\":\"2026-12-03\",\"pnl\":15000000000},") !=
          std::string::npos);
}

TEST_CASE("performance: a run that only loses draws down from its start at 0") {
    feeder f;
    f.position(day0 + hour, -10, 0);
    f.position(day0 + 2 * hour, 0, -30);
    const performance p = f.b.result();
    CHECK(p.peak_equity == 0);
    CHECK(p.max_drawdown == px(30));
    CHECK(p.final_equity == px(-30));
}

TEST_CASE("performance: one day has no Sharpe, and a run without a losing day no Sortino") {
    feeder f;
    f.position(day0 + hour, 10, 0);
    auto p = f.b.result();
    CHECK_FALSE(p.sharpe);
    CHECK_FALSE(p.sortino);
    CHECK(format_performance(p).find("Sharpe n/a (1 day(s))") != std::string::npos);
    CHECK(performance_json(p).find("\"sharpe\":null") != std::string::npos);
    f.position(day0 + day + hour, 30, 0);
    p = f.b.result();
    CHECK(p.sharpe);
    CHECK_FALSE(p.sortino);  // +10, +20: nothing below zero
}

TEST_CASE("performance: round trips, the win rate and the time in the market") {
    feeder f;
    using schema::side;
    // Long 10 at 100, out at 110: +100 (a win). Flat for an hour. Short 10 at 110, cover 5 at
    // 115 (-25), then buy 15 at 120: the short closes (-50 more: a loss of 75) and flips long 10
    // at 120, still open at the end.
    f.fill(day0 + 0 * hour, side::buy, 10, 100);
    f.fill(day0 + 1 * hour, side::sell, 10, 110);
    f.fill(day0 + 2 * hour, side::sell, 10, 110);
    f.fill(day0 + 3 * hour, side::buy, 5, 115);
    f.fill(day0 + 4 * hour, side::buy, 15, 120);
    f.position(day0 + 6 * hour, 25, 0);  // the run ends here
    const performance p = f.b.result();
    CHECK(p.fills == 5);
    CHECK(p.trades == 2);
    CHECK(p.wins == 1);
    CHECK(p.losses == 1);
    CHECK(p.open_trades == 1);
    CHECK(p.best_trade == px(100));
    CHECK(p.worst_trade == px(-75));
    REQUIRE(p.win_rate());
    CHECK(*p.win_rate() == doctest::Approx(0.5));
    // In the market 0-1 h and 2-6 h of the 6 hours.
    CHECK(p.time_in_market == doctest::Approx(5.0 / 6.0));
    CHECK(format_performance(p).find("trades 2 closed (1 won, 1 lost), 1 open; win rate 50.0%") !=
          std::string::npos);
}

TEST_CASE("performance: the page draws both charts and escapes what it shows") {
    feeder f;
    f.position(day0 + hour, 0, 100);
    f.position(day0 + 2 * hour, 0, 40);
    f.position(day0 + 3 * hour, 0, 90);
    const std::string html = performance_html(f.b.result(), "<quotes>.csv");
    CHECK(html.starts_with("<!doctype html>"));
    CHECK(html.find("<title>tradebus backtest: &lt;quotes&gt;.csv</title>") != std::string::npos);
    CHECK(html.find("<svg id=\"equity-chart\"") != std::string::npos);
    CHECK(html.find("<svg id=\"drawdown-chart\"") != std::string::npos);
    CHECK(html.find("data-figure=\"max drawdown\">60.00<") != std::string::npos);
    // Three points a chart, nothing fetched from elsewhere.
    const auto polyline = html.find("<polyline");
    REQUIRE(polyline != std::string::npos);
    const auto points = html.substr(polyline, html.find("\"/>", polyline) - polyline);
    CHECK(std::count(points.begin(), points.end(), ',') == 3);
    std::size_t links = 0;
    for (auto at = html.find("http"); at != std::string::npos; at = html.find("http", at + 1)) {
        CHECK(html.compare(at, 26, "http://www.w3.org/2000/svg") == 0);  // the SVG namespace
        ++links;
    }
    CHECK(links == 2);
    CHECK(html.find("<script") == std::string::npos);
}
