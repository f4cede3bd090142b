// Money in 1e-8 fixed point (schema/money.hpp): saturating arithmetic, the average-cost position
// rule, and that its two users agree: risk's position book (what risk publishes as
// risk.position) and `tradebus journal report` (what it prints from the journaled fills), fill
// for fill, with prices and quantities up to the int64 limits, where nothing may wrap.
#include "tradebus/schema/money.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "tradebus/cli/journal_report.hpp"
#include "tradebus/risk/position_book.hpp"
#include "tradebus/schema/codec.hpp"

using namespace tradebus;
namespace money = schema::money;
using schema::side;

namespace {

constexpr std::int64_t max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t min = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t px(std::int64_t whole) { return whole * 100'000'000; }

struct step {
    side dir;
    std::int64_t qty;
    std::int64_t px;
};

// The integer after `"key":` following `from` in `json`.
std::int64_t json_int(const std::string& json, std::size_t from, std::string_view key) {
    const std::string needle = "\"" + std::string(key) + "\":";
    const auto at = json.find(needle, from);
    REQUIRE_MESSAGE(at != std::string::npos, "no " << key << " in " << json);
    return std::stoll(json.substr(at + needle.size()));
}

struct report_row {
    std::int64_t position, avg_px, realized_pnl;
};

// The row of `symbol` in the report's JSON (the day's one and only row of it).
report_row row_of(const std::string& json, const std::string& symbol) {
    const auto at = json.find("\"" + symbol + "\":{\"fills\"");
    REQUIRE_MESSAGE(at != std::string::npos, "no row for " << symbol << " in " << json);
    return {json_int(json, at, "position"), json_int(json, at, "avg_px"),
            json_int(json, at, "realized_pnl")};
}

// Feeds the same fills to risk's position book and, as journaled exec.fill records of one day,
// to the journal report, and checks after every fill that what risk would publish (its
// risk.position snapshot) is what the report prints.
void check_agree(const std::string& symbol, const std::vector<step>& steps) {
    risk::position_book book;
    cli::report_builder report(true);
    std::vector<std::string> bodies;  // the records view these
    bodies.reserve(steps.size());
    const std::string topic = "exec.fill." + symbol;
    std::uint64_t n = 0;
    for (const auto& s : steps) {
        ++n;
        CAPTURE(n);
        book.apply_fill(symbol, s.dir, s.qty, s.px);
        const schema::fill f{.order_id = "o" + std::to_string(n),
                             .fill_id = "f" + std::to_string(n),
                             .symbol = symbol,
                             .dir = s.dir,
                             .qty = s.qty,
                             .px = s.px,
                             .leaves_qty = 0};
        bodies.emplace_back();
        schema::encode_event(schema::envelope{"execution", n, 0, 1}, f, bodies.back());
        const std::int64_t at = 1'700'000'000'000'000'000 + static_cast<std::int64_t>(n);
        report.add(journal::record{n, at, 0, topic, bodies.back()});

        const auto published = book.snapshot(symbol);
        const auto json = cli::report_json(report.days(), "dir", true, 0);
        const auto row = row_of(json, symbol);
        CHECK(row.position == published.qty);
        CHECK(row.avg_px == (published.qty == 0 ? 0 : published.avg_px));
        CHECK(row.realized_pnl == published.realized_pnl);
    }
}

}  // namespace

TEST_CASE("money: average-cost position: add, reduce, close, flip, short") {
    money::position p;
    CHECK(p.apply_fill(side::buy, 10, px(100)) == 0);
    CHECK(p.apply_fill(side::buy, 10, px(110)) == 0);
    CHECK(p.qty == 20);
    CHECK(p.avg_px == px(105));
    CHECK(p.apply_fill(side::sell, 15, px(120)) == px(225));  // (120 - 105) x 15
    CHECK(p.qty == 5);
    CHECK(p.avg_px == px(105));
    CHECK(p.unrealized(px(107)) == px(10));
    // Closes 5 at a loss of 25 and opens short 5 @ 100.
    CHECK(p.apply_fill(side::sell, 10, px(100)) == px(-25));
    CHECK(p.realized_pnl == px(200));
    CHECK(p.qty == -5);
    CHECK(p.avg_px == px(100));
    CHECK(p.apply_fill(side::sell, 5, px(80)) == 0);  // short more: avg (500 + 400) / 10 = 90
    CHECK(p.avg_px == px(90));
    CHECK(p.unrealized(px(95)) == px(-50));
    CHECK(p.apply_fill(side::buy, 4, px(85)) == px(20));  // cover 4: +5 each
    CHECK(p.realized_pnl == px(220));
    CHECK(p.qty == -6);
    CHECK(p.apply_fill(side::buy, 6, px(95)) == px(-30));  // cover the rest: -5 each, flat
    CHECK(p.realized_pnl == px(190));
    CHECK(p.qty == 0);
    CHECK(p.avg_px == 0);
    CHECK(p.unrealized(px(95)) == 0);
    // Nothing happens for what is not a fill.
    const money::position before = p;
    CHECK(p.apply_fill(side::flat, 5, px(1)) == 0);
    CHECK(p.apply_fill(side::buy, 0, px(1)) == 0);
    CHECK(p.apply_fill(side::buy, -5, px(1)) == 0);
    CHECK(p.apply_fill(side::sell, 5, 0) == 0);
    CHECK(p.apply_fill(side::sell, 5, -px(1)) == 0);
    CHECK(p.qty == before.qty);
    CHECK(p.realized_pnl == before.realized_pnl);
}

TEST_CASE("money: arithmetic saturates at the int64 limits instead of wrapping") {
    CHECK(money::mul(max, 2) == max);
    CHECK(money::mul(max, -2) == min);
    CHECK(money::mul(min, -1) == max);
    CHECK(money::mul(1'000'000'000, px(100'000)) == max);  // 1e9 lots x 100000.00
    CHECK(money::mul(-3, 7) == -21);
    CHECK(money::add(max, 1) == max);
    CHECK(money::add(min, -1) == min);
    CHECK(money::add(max, min) == -1);
    CHECK(money::abs(min) == max);
    CHECK(money::abs(-5) == 5);
    CHECK(money::div_round(7, 2) == 4);    // 3.5 -> 4
    CHECK(money::div_round(-7, 2) == -4);  // half away from zero
    CHECK(money::div_round(5, 3) == 2);
    CHECK(money::div_round(static_cast<money::int128>(max) * 4, 2) == max);

    // The average of two prices near the limit, over the most lots: no overflow on the way.
    money::position p;
    p.apply_fill(side::buy, max, max);
    p.apply_fill(side::buy, max, max - 2);
    CHECK(p.qty == max);  // saturated
    CHECK(p.avg_px == max - 1);
    CHECK(p.unrealized(1) == min);  // max lots x (1 - (max - 1)): saturated, not wrapped
    CHECK(p.apply_fill(side::sell, max, 1) == min);
    CHECK(p.realized_pnl == min);
    CHECK(p.apply_fill(side::buy, 1, max) == 0);  // flat after the sale: opens long 1
    CHECK(p.apply_fill(side::sell, 1, 1) == -(max - 1));
    CHECK(p.realized_pnl == min);  // a further loss stays at the bound
}

TEST_CASE("money: the journal report and risk agree fill for fill, also near the int64 limits") {
    // Averages that are not whole 1e-8 units: both round the average price, then realize
    // against it (a cost-basis report realized 2.99999998 here where risk published
    // 2.99999997).
    check_agree("R", {{side::buy, 1, 1'000'000'000},
                      {side::buy, 2, 1'000'000'001},
                      {side::sell, 1, 1'100'000'000},
                      {side::sell, 2, 1'100'000'000},
                      {side::buy, 3, 999'999'999},
                      {side::sell, 7, 1'000'000'003},
                      {side::buy, 5, 1'000'000'000}});
    // 1e9 lots at 100000.00 is 1e22 in fixed point: far beyond int64.
    check_agree("BIG", {{side::buy, 1'000'000'000, px(100'000)},
                        {side::sell, 500'000'000, px(200'000)},
                        {side::sell, 1'000'000'000, px(150'000)},
                        {side::buy, 500'000'000, px(100'000)}});
    // The int64 bounds themselves, long and short.
    check_agree("MAX", {{side::buy, max, max},
                        {side::buy, max, 1},
                        {side::sell, max, 1},
                        {side::sell, max, max},
                        {side::buy, max, 1},
                        {side::sell, 1, max}});
}

TEST_CASE("money: report totals saturate and the text report says so") {
    cli::report_builder report(true);
    std::vector<std::string> bodies;
    bodies.reserve(4);
    std::uint64_t n = 0;
    const auto add = [&](const std::string& symbol, side dir, std::int64_t qty,
                         std::int64_t price) {
        ++n;
        const schema::fill f{.order_id = "o",
                             .fill_id = "f" + std::to_string(n),
                             .symbol = symbol,
                             .dir = dir,
                             .qty = qty,
                             .px = price,
                             .leaves_qty = 0};
        bodies.emplace_back();
        schema::encode_event(schema::envelope{"execution", n, 0, 1}, f, bodies.back());
        report.add(
            journal::record{n, 1'700'000'000'000'000'000, 0, "exec.fill." + symbol, bodies.back()});
    };
    // Two symbols each realizing the most there is: the day's total stays at the bound.
    add("A", side::buy, max, 1);
    add("A", side::sell, max, max);
    add("B", side::buy, max, 1);
    add("B", side::sell, max, max);
    const auto days = report.days();
    REQUIRE(days.size() == 1);
    CHECK(days[0].symbols.at("A").realized_pnl == max);
    CHECK(days[0].symbols.at("A").volume == max);  // saturated, not wrapped negative
    CHECK(days[0].realized_pnl() == max);
    const auto json = cli::report_json(days, "dir", true, 0);
    CHECK(json.find("\"realized_pnl\":9223372036854775807,\"rejections_by_rule\"") !=
          std::string::npos);
    const auto text = cli::format_report(days, "dir", true, 0);
    CAPTURE(text);
    CHECK(text.find("92233720368.54775807 (saturated)") != std::string::npos);
}
