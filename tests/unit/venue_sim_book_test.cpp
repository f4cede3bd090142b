// fix::sim::matching_engine, the venue simulator's order book: what a trader checks in the
// ExecutionReports it gets back (priority, fill prices, cum/leaves/avg, the IOC/FOK/MARKET
// rules, cancels, expiry, duplicates, the self-trade rule, bounds) and that the house quote
// fills resting client orders at their price, with positions and executions adding up.
#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "tradebus/fix/sim/order_book.hpp"

using namespace tradebus::fix::sim;
using tradebus::schema::order_type;
using tradebus::schema::side;
using tradebus::schema::time_in_force;
using kind = report::kind;

namespace {

constexpr std::int64_t px(std::int64_t whole) { return whole * 100'000'000; }
constexpr std::int64_t t0 = 1'000;

order_spec limit(const std::string& owner, const std::string& id, side dir, std::int64_t qty,
                 std::int64_t price, time_in_force tif = time_in_force::gtc) {
    return order_spec{id, owner, "AAPL", dir, order_type::limit, qty, price, tif, 0};
}

order_spec market(const std::string& owner, const std::string& id, side dir, std::int64_t qty,
                  time_in_force tif = time_in_force::day) {
    return order_spec{id, owner, "AAPL", dir, order_type::market, qty, 0, tif, 0};
}

// The reports as "kind:owner/id" words, to check what was sent to whom, in order.
std::string trail(const std::vector<report>& reports) {
    static const char* names[] = {"accepted",  "rejected", "trade",
                                  "cancelled", "expired",  "cancel_rejected"};
    std::string out;
    for (const auto& r : reports) {
        if (!out.empty()) out += ' ';
        out +=
            std::string(names[static_cast<int>(r.what)]) + ":" + r.order.owner + "/" + r.order.id;
    }
    return out;
}

// Submits and requires it to be accepted and rest untouched (a setup step).
void rest(matching_engine& m, const order_spec& spec, std::int64_t now = t0) {
    const auto r = m.submit(spec, now);
    REQUIRE(r.size() == 1);
    REQUIRE(r[0].what == kind::accepted);
}

}  // namespace

TEST_CASE("venue sim book: best price trades first, at the resting order's price") {
    matching_engine m;
    rest(m, limit("B", "b1", side::sell, 10, px(101)));
    rest(m, limit("C", "c1", side::sell, 10, px(100)));
    rest(m, limit("D", "d1", side::sell, 10, px(102)));

    const auto r = m.submit(limit("A", "a1", side::buy, 5, px(103)), t0 + 1);
    CHECK(trail(r) == "accepted:A/a1 trade:A/a1 trade:C/c1");
    CHECK(r[1].last_qty == 5);
    CHECK(r[1].last_px == px(100));  // the resting price, not the taker's 103
    CHECK(r[2].last_px == px(100));
    CHECK(r[1].aggressor);
    CHECK_FALSE(r[2].aggressor);
    CHECK(r[1].match_id == r[2].match_id);
    CHECK(r[1].order.state == order_state::filled);
    CHECK(r[2].order.state == order_state::partially_filled);
    CHECK(r[2].order.leaves_qty == 5);

    // A resting buy at 105 hit by a sell limited at 100 trades at 105.
    rest(m, limit("B", "b2", side::buy, 3, px(99)));
    rest(m, limit("C", "c2", side::buy, 3, px(99) + 1));
    const auto s = m.submit(limit("A", "a2", side::sell, 1, px(90)), t0 + 2);
    CHECK(trail(s) == "accepted:A/a2 trade:A/a2 trade:C/c2");
    CHECK(s[1].last_px == px(99) + 1);
}

TEST_CASE(
    "venue sim book: equal prices fill in arrival order, and a partial fill keeps its place") {
    matching_engine m;
    rest(m, limit("B", "first", side::buy, 4, px(50)));
    rest(m, limit("C", "second", side::buy, 4, px(50)));
    rest(m, limit("D", "third", side::buy, 4, px(50)));

    CHECK(trail(m.submit(limit("A", "a1", side::sell, 6, px(50)), t0)) ==
          "accepted:A/a1 trade:A/a1 trade:B/first trade:A/a1 trade:C/second");
    CHECK(m.status("C", "second")->leaves_qty == 2);
    // "second" was partly filled: it is still ahead of "third".
    CHECK(trail(m.submit(limit("A", "a2", side::sell, 3, px(50)), t0)) ==
          "accepted:A/a2 trade:A/a2 trade:C/second trade:A/a2 trade:D/third");
}

TEST_CASE("venue sim book: a sweep across levels reports cum, leaves and a rounded average") {
    matching_engine m;
    rest(m, limit("B", "b1", side::sell, 10, px(100)));
    rest(m, limit("C", "c1", side::sell, 20, px(101)));
    rest(m, limit("D", "d1", side::sell, 30, px(102)));

    const auto r = m.submit(limit("A", "a1", side::buy, 50, px(102), time_in_force::day), t0);
    REQUIRE(trail(r) ==
            "accepted:A/a1 trade:A/a1 trade:B/b1 trade:A/a1 trade:C/c1 trade:A/a1 trade:D/d1");
    CHECK(r[0].order.state == order_state::new_order);
    CHECK(r[0].order.leaves_qty == 50);
    CHECK(r[0].order.cum_qty == 0);
    CHECK(r[0].order.order_id == "O4");

    CHECK(r[1].order.cum_qty == 10);
    CHECK(r[1].order.leaves_qty == 40);
    CHECK(r[1].order.avg_px == px(100));
    CHECK(r[3].order.cum_qty == 30);
    CHECK(r[3].order.leaves_qty == 20);
    // (10 x 100 + 20 x 101) / 30 = 100.666666666... -> 100.66666667
    CHECK(r[3].order.avg_px == 10'066'666'667);
    CHECK(r[5].last_qty == 20);
    CHECK(r[5].order.cum_qty == 50);
    CHECK(r[5].order.leaves_qty == 0);
    CHECK(r[5].order.state == order_state::filled);
    // 5060 / 50 = 101.2 exactly
    CHECK(r[5].order.avg_px == 10'120'000'000);

    const auto d1 = m.status("D", "d1");
    REQUIRE(d1);
    CHECK(d1->state == order_state::partially_filled);
    CHECK(d1->cum_qty == 20);
    CHECK(d1->leaves_qty == 10);
    CHECK(d1->avg_px == px(102));
    CHECK(m.status("B", "b1")->state == order_state::filled);
    const auto top = m.top_of_book("AAPL");
    CHECK(top.ask_px == px(102));
    CHECK(top.ask_qty == 10);
}

TEST_CASE("venue sim book: a limit order rests what does not cross, at its own price") {
    matching_engine m;
    rest(m, limit("B", "b1", side::sell, 5, px(100)));
    const auto r = m.submit(limit("A", "a1", side::buy, 8, px(100), time_in_force::day), t0);
    CHECK(trail(r) == "accepted:A/a1 trade:A/a1 trade:B/b1");
    const auto a1 = m.status("A", "a1");
    CHECK(a1->state == order_state::partially_filled);
    CHECK(a1->leaves_qty == 3);
    const auto top = m.top_of_book("AAPL");
    CHECK(top.bid_px == px(100));
    CHECK(top.bid_qty == 3);
    CHECK(top.ask_px == 0);
    CHECK(top.ask_qty == 0);
    REQUIRE(m.open_orders("A").size() == 1);
}

TEST_CASE("venue sim book: IOC fills what crosses now and cancels the rest") {
    matching_engine m;
    rest(m, limit("B", "b1", side::sell, 5, px(100)));
    rest(m, limit("B", "b2", side::sell, 5, px(101)));
    const auto r = m.submit(limit("A", "a1", side::buy, 8, px(100), time_in_force::ioc), t0);
    REQUIRE(trail(r) == "accepted:A/a1 trade:A/a1 trade:B/b1 cancelled:A/a1");
    CHECK(r[3].cancelled_qty == 3);
    CHECK(r[3].order.cum_qty == 5);
    CHECK(r[3].order.leaves_qty == 0);
    CHECK(r[3].order.avg_px == px(100));
    CHECK(r[3].order.state == order_state::cancelled);
    CHECK(r[3].text == "IOC: unfilled quantity cancelled");
    CHECK(m.open_orders("A").empty());
    CHECK(m.top_of_book("AAPL").bid_px == 0);

    // Nothing crosses: accepted, then cancelled whole.
    const auto n = m.submit(limit("A", "a2", side::buy, 2, px(99), time_in_force::ioc), t0);
    CHECK(trail(n) == "accepted:A/a2 cancelled:A/a2");
    CHECK(n[1].cancelled_qty == 2);
}

TEST_CASE("venue sim book: FOK fills all at once or is cancelled whole without a trade") {
    matching_engine m;
    rest(m, limit("B", "b1", side::sell, 5, px(100)));
    rest(m, limit("C", "c1", side::sell, 5, px(101)));
    rest(m, limit("D", "d1", side::sell, 50, px(102)));

    SUBCASE("partial liquidity at acceptable prices: cancelled, the book untouched") {
        const auto r = m.submit(limit("A", "a1", side::buy, 11, px(101), time_in_force::fok), t0);
        REQUIRE(trail(r) == "accepted:A/a1 cancelled:A/a1");
        CHECK(r[1].cancelled_qty == 11);
        CHECK(r[1].order.cum_qty == 0);
        CHECK(r[1].text == "FOK: only 10 available");
        CHECK(m.status("B", "b1")->leaves_qty == 5);
        CHECK(m.status("C", "c1")->leaves_qty == 5);
        CHECK(m.executions().empty());
        CHECK(m.position("A", "AAPL") == 0);
    }
    SUBCASE("enough: fills completely across levels") {
        const auto r = m.submit(limit("A", "a1", side::buy, 10, px(101), time_in_force::fok), t0);
        CHECK(trail(r) == "accepted:A/a1 trade:A/a1 trade:B/b1 trade:A/a1 trade:C/c1");
        CHECK(m.status("A", "a1")->state == order_state::filled);
    }
    SUBCASE("its owner's own orders do not count as liquidity") {
        rest(m, limit("A", "mine", side::sell, 100, px(100)));
        const auto r = m.submit(limit("A", "a1", side::buy, 20, px(101), time_in_force::fok), t0);
        CHECK(trail(r) == "accepted:A/a1 cancelled:A/a1");
        CHECK(m.status("A", "mine")->leaves_qty == 100);
    }
    SUBCASE("a MARKET FOK sees every price") {
        const auto r = m.submit(market("A", "a1", side::buy, 60, time_in_force::fok), t0);
        CHECK(m.status("A", "a1")->state == order_state::filled);
        CHECK(r.size() == 7);
        // (5 x 100 + 5 x 101 + 50 x 102) / 60 = 101.75
        CHECK(m.status("A", "a1")->avg_px == 10'175'000'000);
    }
}

TEST_CASE("venue sim book: a market order sweeps levels and never rests") {
    matching_engine m;
    rest(m, limit("B", "b1", side::buy, 5, px(100)));
    rest(m, limit("C", "c1", side::buy, 5, px(99)));
    rest(m, limit("D", "d1", side::buy, 5, px(98)));

    // FIX's default TimeInForce is DAY: a DAY market order still does not rest.
    const auto r = m.submit(market("A", "a1", side::sell, 12), t0);
    REQUIRE(trail(r) ==
            "accepted:A/a1 trade:A/a1 trade:B/b1 trade:A/a1 trade:C/c1 trade:A/a1 trade:D/d1");
    CHECK(r[0].order.limit_px == 0);
    CHECK(r[1].last_px == px(100));
    CHECK(r[3].last_px == px(99));
    CHECK(r[5].last_px == px(98));
    CHECK(r[5].last_qty == 2);
    CHECK(r[5].order.state == order_state::filled);
    CHECK(m.top_of_book("AAPL").bid_qty == 3);

    const auto more = m.submit(market("A", "a2", side::sell, 10), t0);
    REQUIRE(trail(more) == "accepted:A/a2 trade:A/a2 trade:D/d1 cancelled:A/a2");
    CHECK(more[3].cancelled_qty == 7);
    CHECK(more[3].text == "MARKET: unfilled quantity cancelled");
    CHECK(m.top_of_book("AAPL").bid_px == 0);
    CHECK(m.open_orders("A").empty());
}

TEST_CASE("venue sim book: a market order with no liquidity is accepted, then cancelled") {
    matching_engine m;
    const auto r = m.submit(market("A", "a1", side::buy, 10, time_in_force::gtc), t0);
    REQUIRE(trail(r) == "accepted:A/a1 cancelled:A/a1");
    CHECK(r[1].cancelled_qty == 10);
    CHECK(r[1].order.cum_qty == 0);
    CHECK(r[1].order.avg_px == 0);
    CHECK(m.status("A", "a1")->state == order_state::cancelled);
}

TEST_CASE("venue sim book: cancel of a resting order, an unknown one and a terminal one") {
    matching_engine m;
    rest(m, limit("B", "b1", side::sell, 10, px(100)));
    CHECK(m.submit(limit("A", "a1", side::buy, 4, px(100)), t0).size() == 3);

    const auto c = m.cancel("B", "b1", t0 + 5);
    CHECK(c.what == kind::cancelled);
    CHECK(c.cancelled_qty == 6);
    CHECK(c.order.cum_qty == 4);
    CHECK(c.order.leaves_qty == 0);
    CHECK(c.order.state == order_state::cancelled);
    CHECK(c.ts_ns == t0 + 5);
    CHECK_FALSE(c.exec_id.empty());
    CHECK(m.top_of_book("AAPL").ask_px == 0);
    CHECK(m.open_orders("B").empty());

    const auto again = m.cancel("B", "b1", t0 + 6);
    CHECK(again.what == kind::cancel_rejected);
    CHECK(again.text == "already_terminal");
    CHECK(again.order.state == order_state::cancelled);
    CHECK(again.exec_id.empty());  // an OrderCancelReject has no ExecID

    const auto filled = m.cancel("A", "a1", t0);
    CHECK(filled.what == kind::cancel_rejected);
    CHECK(filled.text == "already_terminal");
    CHECK(filled.order.state == order_state::filled);

    const auto unknown = m.cancel("B", "nope", t0);
    CHECK(unknown.what == kind::cancel_rejected);
    CHECK(unknown.text == "unknown_order");
    CHECK(unknown.order.state == order_state::rejected);
    // Another owner's order is unknown to you.
    rest(m, limit("B", "b2", side::sell, 1, px(100)));
    CHECK(m.cancel("A", "b2", t0).text == "unknown_order");
    CHECK(m.status("B", "b2")->state == order_state::new_order);
}

TEST_CASE("venue sim book: a ClOrdID used before by the same owner is rejected") {
    matching_engine m;
    rest(m, limit("A", "x", side::buy, 1, px(10)));
    const auto live = m.submit(limit("A", "x", side::sell, 5, px(11)), t0);
    REQUIRE(trail(live) == "rejected:A/x");
    CHECK(live[0].text == "duplicate ClOrdID");
    CHECK(live[0].order.state == order_state::rejected);
    CHECK(live[0].order.dir == side::sell);  // the report is about the refused order
    // The original is untouched.
    CHECK(m.status("A", "x")->dir == side::buy);
    CHECK(m.status("A", "x")->state == order_state::new_order);

    m.cancel("A", "x", t0);
    CHECK(m.submit(limit("A", "x", side::buy, 1, px(10)), t0)[0].what == kind::rejected);
    CHECK(m.status("A", "x")->state == order_state::cancelled);
    // The same id from another owner is another order.
    CHECK(m.submit(limit("B", "x", side::buy, 1, px(10)), t0)[0].what == kind::accepted);
    CHECK(m.counters().rejected == 2);
}

TEST_CASE("venue sim book: each invalid order is rejected with its reason") {
    struct row {
        const char* what;
        order_spec spec;
        std::string text;
    };
    const std::string long_text(65, 'x');
    const std::vector<row> rows = {
        {"no owner", limit("", "a", side::buy, 1, px(1)),
         "no owner (the house quotes through set_house_quote)"},
        {"empty id", limit("A", "", side::buy, 1, px(1)), "empty ClOrdID"},
        {"long id", limit("A", long_text, side::buy, 1, px(1)),
         "ClOrdID longer than 64 characters"},
        {"empty symbol", {"a", "A", "", side::buy, order_type::limit, 1, px(1)}, "empty symbol"},
        {"long symbol",
         {"a", "A", long_text, side::buy, order_type::limit, 1, px(1)},
         "symbol longer than 64 characters"},
        {"flat", limit("A", "a", side::flat, 1, px(1)), "side must be BUY or SELL"},
        {"zero qty", limit("A", "a", side::buy, 0, px(1)), "quantity must be positive"},
        {"negative qty", limit("A", "a", side::buy, -5, px(1)), "quantity must be positive"},
        {"zero price", limit("A", "a", side::buy, 1, 0), "limit price must be positive"},
        {"negative price", limit("A", "a", side::sell, 1, -px(1)), "limit price must be positive"},
        {"expired already",
         {"a", "A", "AAPL", side::buy, order_type::limit, 1, px(1), time_in_force::gtc, t0},
         "expire time not in the future"},
        {"negative expiry",
         {"a", "A", "AAPL", side::buy, order_type::limit, 1, px(1), time_in_force::gtc, -1},
         "expire time not in the future"},
    };
    for (const auto& r : rows) {
        CAPTURE(r.what);
        matching_engine m;
        const auto out = m.submit(r.spec, t0);
        REQUIRE(out.size() == 1);
        CHECK(out[0].what == kind::rejected);
        CHECK(out[0].text == r.text);
        CHECK(out[0].order.order_id.empty());
        CHECK(out[0].order.leaves_qty == 0);
        CHECK_FALSE(out[0].exec_id.empty());
        CHECK(m.top_of_book("AAPL").bid_px == 0);
        CHECK(m.counters().accepted == 0);
    }
    // A rejected order is known to status() (OrderStatusRequest answers Rejected).
    matching_engine m;
    m.submit(limit("A", "z", side::buy, 0, px(1)), t0);
    CHECK(m.status("A", "z")->state == order_state::rejected);
}

TEST_CASE("venue sim book: an order never trades with its own owner's orders, it skips them") {
    matching_engine m;
    rest(m, limit("A", "own", side::sell, 5, px(100)));
    rest(m, limit("B", "b1", side::sell, 5, px(100)));
    rest(m, limit("B", "b2", side::sell, 5, px(101)));

    const auto r = m.submit(limit("A", "a1", side::buy, 12, px(101)), t0);
    CHECK(trail(r) == "accepted:A/a1 trade:A/a1 trade:B/b1 trade:A/a1 trade:B/b2");
    CHECK(m.status("A", "own")->leaves_qty == 5);  // skipped, still first in its queue
    CHECK(m.status("A", "a1")->leaves_qty == 2);

    // A's own orders may cross each other: the book shows them as they are.
    const auto top = m.top_of_book("AAPL");
    CHECK(top.bid_px == px(101));
    CHECK(top.bid_qty == 2);
    CHECK(top.ask_px == px(100));
    CHECK(top.ask_qty == 5);
    // Another owner trades with either.
    CHECK(trail(m.submit(market("B", "b3", side::buy, 5), t0)) ==
          "accepted:B/b3 trade:B/b3 trade:A/own");
    CHECK(m.position("A", "AAPL") == 10 - 5);
}

TEST_CASE("venue sim book: a house quote crossing a resting client order fills it at its price") {
    matching_engine m;
    rest(m, limit("A", "buy", side::buy, 10, px(100), time_in_force::day));
    rest(m, limit("A", "sell", side::sell, 4, px(105), time_in_force::day));
    // Reports only for the client side: A's buy.
    CHECK(m.set_house_quote("AAPL", px(98), 50, px(99), 50, t0 + 1).size() == 1);
    // The ask at 99 crossed A's bid at 100: A bought at 100, its own price.
    CHECK(m.status("A", "buy")->state == order_state::filled);
    CHECK(m.status("A", "buy")->avg_px == px(100));
    const auto& ex = m.executions();
    REQUIRE(ex.size() == 1);
    CHECK(ex[0].owner == "A");
    CHECK(ex[0].px == px(100));
    CHECK(ex[0].qty == 10);
    CHECK_FALSE(ex[0].aggressor);
    CHECK(m.position("", "AAPL") == -10);
    CHECK(m.top_of_book("AAPL").ask_qty == 40);

    // The market moves up through A's sell at 105.
    const auto r = m.set_house_quote("AAPL", px(106), 3, px(107), 50, t0 + 2);
    REQUIRE(trail(r) == "trade:A/sell");
    CHECK(r[0].last_px == px(105));
    CHECK(r[0].last_qty == 3);
    CHECK(r[0].order.leaves_qty == 1);
    CHECK(r[0].ts_ns == t0 + 2);
    CHECK(m.position("A", "AAPL") == 10 - 3);
    CHECK(m.position("", "AAPL") == -10 + 3);
    // The house bid was used up: A's sell is the best ask, the house's 107 behind it.
    const auto top = m.top_of_book("AAPL");
    CHECK(top.bid_px == 0);
    CHECK(top.ask_px == px(105));
    CHECK(top.ask_qty == 1);
}

TEST_CASE("venue sim book: a new house quote replaces the old one") {
    matching_engine m;
    m.set_house_quote("AAPL", px(99), 10, px(101), 20, t0);
    rest(m, limit("A", "a1", side::buy, 5, px(99)));
    auto top = m.top_of_book("AAPL");
    CHECK(top.bid_px == px(99));
    CHECK(top.bid_qty == 15);  // house and A at 99
    CHECK(top.ask_px == px(101));
    CHECK(top.ask_qty == 20);

    CHECK(m.set_house_quote("AAPL", px(98), 7, px(102), 0, t0).empty());
    top = m.top_of_book("AAPL");
    CHECK(top.bid_px == px(99));
    CHECK(top.bid_qty == 5);  // only A left at 99
    CHECK(top.ask_px == 0);   // qty 0: no house ask
    CHECK(m.open_orders("").size() == 1);

    CHECK(m.set_house_quote("AAPL", 0, 0, 0, 0, t0).empty());
    CHECK(m.open_orders("").empty());
    CHECK(m.top_of_book("AAPL").bid_qty == 5);

    CHECK_THROWS_AS(m.set_house_quote("AAPL", px(100), 1, px(100), 1, t0), std::invalid_argument);
    CHECK_THROWS_AS(m.set_house_quote("AAPL", px(100), -1, px(101), 1, t0), std::invalid_argument);
    CHECK_THROWS_AS(m.set_house_quote("AAPL", 0, 1, px(101), 1, t0), std::invalid_argument);
    CHECK_THROWS_AS(m.set_house_quote("", px(1), 1, px(2), 1, t0), std::invalid_argument);
}

TEST_CASE("venue sim book: a client order trades with the house quote like any other") {
    matching_engine m;
    m.set_house_quote("AAPL", px(99), 10, px(101), 10, t0);
    const auto r = m.submit(market("A", "a1", side::buy, 4), t0);
    CHECK(trail(r) == "accepted:A/a1 trade:A/a1");  // no report for the house side
    CHECK(r[1].last_px == px(101));
    CHECK(r[1].aggressor);
    CHECK(m.position("", "AAPL") == -4);
    CHECK(m.counters().matches == 1);
    CHECK(m.executions().size() == 1);
}

TEST_CASE("venue sim book: orders expire at their expire time, DAY orders at session end") {
    matching_engine m;
    order_spec gtd = limit("A", "gtd", side::buy, 5, px(10));
    gtd.expire_ts_ns = t0 + 100;
    rest(m, gtd);
    order_spec gtd2 = limit("A", "gtd2", side::buy, 5, px(10));
    gtd2.expire_ts_ns = t0 + 50;
    rest(m, gtd2);
    rest(m, limit("A", "day", side::buy, 5, px(9), time_in_force::day));
    rest(m, limit("B", "day", side::sell, 5, px(11), time_in_force::day));
    rest(m, limit("A", "gtc", side::buy, 5, px(8), time_in_force::gtc));
    m.set_house_quote("AAPL", px(5), 1, px(20), 1, t0);
    CHECK(m.submit(limit("B", "hit", side::sell, 2, px(10)), t0).size() == 3);

    CHECK(m.expire(t0 + 49).empty());
    const auto e = m.expire(t0 + 100);
    REQUIRE(trail(e) == "expired:A/gtd2 expired:A/gtd");  // expiry order
    CHECK(e[1].cancelled_qty == 3);                       // 2 of gtd's 5 were filled
    CHECK(e[1].order.cum_qty == 2);
    CHECK(e[1].order.state == order_state::expired);
    CHECK(e[1].order.leaves_qty == 0);
    CHECK(m.expire(t0 + 1000).empty());

    const auto d = m.expire_day_orders(t0 + 2000);
    CHECK(trail(d) == "expired:A/day expired:B/day");  // arrival order
    CHECK(d[0].text == "DAY order: session ended");
    CHECK(m.status("A", "gtc")->state == order_state::new_order);
    CHECK(m.open_orders("A").size() == 1);
    CHECK(m.open_orders("").size() == 2);  // the house quote stays
}

TEST_CASE("venue sim book: positions are the signed sum of the executions, one per trade side") {
    matching_engine m;
    m.set_house_quote("AAPL", px(99), 100, px(101), 100, t0);
    rest(m, limit("B", "b1", side::sell, 10, px(100)));
    m.submit(limit("A", "a1", side::buy, 15, px(101)), t0);  // 10 from B, 5 from the house
    m.submit(market("B", "b2", side::sell, 3), t0);          // to the house bid
    m.submit(limit("C", "c1", side::sell, 4, px(99)), t0);   // to the house bid
    {
        order_spec msft = limit("A", "m1", side::buy, 1, px(5));
        msft.symbol = "MSFT";
        rest(m, msft);
        msft.owner = "C";
        msft.id = "m2";
        msft.dir = side::sell;
        CHECK(m.submit(msft, t0).size() == 3);
    }

    const auto& ex = m.executions();
    CHECK(ex.size() == 7);  // A/a1 x2, B/b1, B/b2, C/c1, A/m1, C/m2
    std::map<std::pair<std::string, std::string>, std::int64_t> sum;
    std::set<std::string> ids;
    for (const auto& x : ex) {
        sum[{x.owner, x.symbol}] += x.dir == side::buy ? x.qty : -x.qty;
        CHECK(ids.insert(x.exec_id).second);
    }
    CHECK(sum[{"A", "AAPL"}] == 15);
    CHECK(sum[{"B", "AAPL"}] == -13);
    CHECK(sum[{"C", "AAPL"}] == -4);
    for (const auto& [key, qty] : sum) CHECK(m.position(key.first, key.second) == qty);
    CHECK(m.position("", "AAPL") == -5 + 3 + 4);  // the house sold 5 to A, bought from B and C
    CHECK(m.position("A", "MSFT") == 1);
    CHECK(m.position("C", "MSFT") == -1);
    CHECK(m.position("Z", "AAPL") == 0);
}

TEST_CASE("venue sim book: every report but a cancel reject has its own rising ExecID") {
    matching_engine m;
    rest(m, limit("B", "b1", side::sell, 10, px(100)));
    std::vector<report> all = m.submit(limit("A", "a1", side::buy, 4, px(100)), t0);
    for (auto& r : m.submit(limit("A", "bad", side::buy, 0, px(100)), t0)) all.push_back(r);
    all.push_back(m.cancel("B", "b1", t0));
    all.push_back(m.cancel("B", "b1", t0));
    REQUIRE(trail(all) ==
            "accepted:A/a1 trade:A/a1 trade:B/b1 rejected:A/bad cancelled:B/b1 "
            "cancel_rejected:B/b1");
    const std::vector<std::string> expected = {"E2", "E3", "E4", "E5", "E6", ""};
    for (std::size_t i = 0; i < all.size(); ++i) CHECK(all[i].exec_id == expected[i]);
    REQUIRE(m.executions().size() == 2);
    CHECK(m.executions()[0].exec_id == "E3");
    CHECK(m.executions()[0].order_id == "O2");
    CHECK(m.executions()[1].exec_id == "E4");
    CHECK(m.executions()[1].order_id == "O1");
}

TEST_CASE("venue sim book: bounds on live orders, symbols, memory and executions") {
    engine_limits lim;
    lim.max_live_orders_per_owner = 2;
    lim.max_symbols = 2;
    lim.max_terminal_orders = 3;
    lim.max_executions = 2;
    matching_engine m(lim);

    rest(m, limit("A", "1", side::buy, 1, px(10)));
    rest(m, limit("A", "2", side::buy, 1, px(10)));
    const auto over = m.submit(limit("A", "3", side::buy, 1, px(10)), t0);
    REQUIRE(over.size() == 1);
    CHECK(over[0].text == "too many live orders (limit 2)");
    // An order that cannot rest is not held back by the bound, nor is another owner.
    CHECK(trail(m.submit(limit("A", "4", side::buy, 1, px(10), time_in_force::ioc), t0)) ==
          "accepted:A/4 cancelled:A/4");
    rest(m, limit("B", "1", side::sell, 1, px(11)));
    m.cancel("A", "1", t0);  // room again
    rest(m, limit("A", "5", side::buy, 1, px(10)));

    order_spec msft = limit("A", "6", side::buy, 1, px(10), time_in_force::ioc);
    msft.symbol = "MSFT";
    CHECK(m.submit(msft, t0)[0].what == kind::accepted);  // the second symbol
    order_spec tsla = limit("B", "2", side::buy, 1, px(10));
    tsla.symbol = "TSLA";
    const auto third = m.submit(tsla, t0);
    REQUIRE(third.size() == 1);
    CHECK(third[0].text == "too many symbols (limit 2)");
    CHECK_THROWS_AS(m.set_house_quote("TSLA", px(1), 1, px(2), 1, t0), std::invalid_argument);

    // Terminal so far, oldest first: A/3 (rejected), A/4, A/1, A/6, B/2 (rejected): the
    // first two are forgotten.
    CHECK(m.counters().forgotten == 2);
    CHECK_FALSE(m.status("A", "3"));
    CHECK_FALSE(m.status("A", "4"));
    CHECK(m.status("A", "1")->state == order_state::cancelled);
    CHECK(m.cancel("A", "4", t0).text == "unknown_order");

    // Executions: the first two trade sides are kept, the rest counted.
    rest(m, limit("C", "1", side::sell, 1, px(12)));
    CHECK(m.submit(market("D", "1", side::buy, 2), t0).size() == 5);
    CHECK(m.executions().size() == 2);
    CHECK(m.executions()[0].owner == "D");
    CHECK(m.executions()[1].owner == "B");
    CHECK(m.counters().executions_dropped == 2);
    CHECK(m.counters().matches == 2);
}

TEST_CASE("venue sim book: top of book sums every order at the best price, house included") {
    matching_engine m;
    CHECK(m.top_of_book("NONE").bid_px == 0);
    rest(m, limit("A", "1", side::buy, 3, px(10)));
    rest(m, limit("B", "1", side::buy, 4, px(10)));
    rest(m, limit("C", "1", side::buy, 100, px(9)));
    rest(m, limit("A", "2", side::sell, 6, px(12)));
    m.set_house_quote("AAPL", px(10), 5, px(11), 7, t0);
    const auto top = m.top_of_book("AAPL");
    CHECK(top.bid_px == px(10));
    CHECK(top.bid_qty == 12);
    CHECK(top.ask_px == px(11));
    CHECK(top.ask_qty == 7);
}

TEST_CASE("venue sim book: random order flow keeps the book uncrossed and the fills consistent") {
    matching_engine m;
    std::mt19937 rng(20240611);
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
    const std::vector<std::string> owners = {"A", "B", "C"};
    const std::vector<std::string> symbols = {"AAPL", "MSFT"};
    std::vector<std::pair<std::string, std::string>> sent;  // (owner, id)
    std::int64_t now = t0;
    std::size_t trades = 0;

    for (int step = 0; step < 3000; ++step) {
        now += 10;
        std::vector<report> out;
        const int what = pick(20);
        if (what < 12) {
            order_spec s;
            s.owner = owners[static_cast<std::size_t>(pick(3))];
            s.id = "o" + std::to_string(step);
            s.symbol = symbols[static_cast<std::size_t>(pick(2))];
            s.dir = pick(2) == 0 ? side::buy : side::sell;
            s.kind = pick(6) == 0 ? order_type::market : order_type::limit;
            s.qty = 1 + pick(20);
            s.limit_px = px(95) + pick(11) * px(1);
            s.tif = static_cast<time_in_force>(pick(4));
            if (pick(5) == 0) s.expire_ts_ns = now + 1 + pick(500);
            out = m.submit(s, now);
            sent.emplace_back(s.owner, s.id);
        } else if (what < 16 && !sent.empty()) {
            const auto& [o, id] =
                sent[static_cast<std::size_t>(pick(static_cast<int>(sent.size())))];
            out.push_back(m.cancel(o, id, now));
        } else if (what < 19) {
            const std::int64_t mid = px(95) + pick(11) * px(1);
            out = m.set_house_quote(symbols[static_cast<std::size_t>(pick(2))], mid - px(1),
                                    pick(30), mid + px(1), pick(30), now);
        } else {
            out = pick(10) == 0 ? m.expire_day_orders(now) : m.expire(now);
        }

        for (const auto& r : out) {
            CAPTURE(step);
            const auto& o = r.order;
            if (r.what != kind::cancel_rejected && r.what != kind::rejected) {
                CHECK(o.cum_qty + o.leaves_qty + r.cancelled_qty == o.order_qty);
            }
            if (r.what != kind::trade) continue;
            ++trades;
            if (!r.aggressor) CHECK(r.last_px == o.limit_px);  // the resting price
            if (r.aggressor && o.kind == order_type::limit) {
                CHECK((o.dir == side::buy ? r.last_px <= o.limit_px : r.last_px >= o.limit_px));
            }
        }
        // Orders of different owners never rest crossed.
        for (const auto& sym : symbols) {
            std::vector<order_status> live;
            for (const auto& o : owners) {
                for (auto& st : m.open_orders(o)) {
                    if (st.symbol == sym) live.push_back(st);
                }
            }
            for (auto& st : m.open_orders("")) {
                if (st.symbol == sym) live.push_back(st);
            }
            for (const auto& b : live) {
                CHECK(b.leaves_qty > 0);
                CHECK(b.cum_qty + b.leaves_qty == b.order_qty);
                if (b.dir != side::buy) continue;
                for (const auto& s : live) {
                    if (s.dir == side::sell && s.owner != b.owner) CHECK(b.limit_px < s.limit_px);
                }
            }
        }
    }
    CHECK(trades == m.executions().size());
    CHECK(trades > 500);
    for (const auto& sym : symbols) {
        std::int64_t total = m.position("", sym);
        for (const auto& o : owners) {
            std::int64_t sum = 0;
            for (const auto& x : m.executions()) {
                if (x.owner == o && x.symbol == sym) sum += x.dir == side::buy ? x.qty : -x.qty;
            }
            CHECK(m.position(o, sym) == sum);
            total += sum;
        }
        CHECK(total == 0);  // every lot bought was sold by someone
    }
}
