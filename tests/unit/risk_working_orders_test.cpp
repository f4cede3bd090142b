// risk::working_orders: the open quantity per (symbol, side) it keeps in step must always equal
// the sum over the orders it holds, whatever sequence of approvals, fills, refusals and
// timeouts arrives (checked against a plain model walking every order, as risk once did).
#include <doctest/doctest.h>

#include <limits>
#include <map>
#include <random>
#include <string>

#include "tradebus/risk/working_orders.hpp"

using tradebus::risk::working_orders;
using tradebus::schema::side;

TEST_CASE("working orders: add, partial fill, done, refusal and timeout move the open lots") {
    working_orders w;
    w.add("o1", "AAPL", side::buy, 70, 0);
    w.add("o2", "AAPL", side::sell, 5, 0);
    w.add("o3", "MSFT", side::buy, 9, 0);
    CHECK(w.open_qty("AAPL", side::buy) == 70);
    CHECK(w.open_qty("AAPL", side::sell) == 5);
    CHECK(w.open_qty("MSFT", side::buy) == 9);
    CHECK(w.open_qty("NVDA", side::buy) == 0);
    CHECK(w.open_qty("AAPL", side::flat) == 0);

    w.fill("o1", 30, false, 10);  // partial
    CHECK(w.open_qty("AAPL", side::buy) == 40);
    w.fill("o1", 1, true, 20);  // execution says nothing is left: done whatever the count
    CHECK(w.open_qty("AAPL", side::buy) == 0);
    w.fill("o1", 5, false, 30);  // a late fill of a finished order changes nothing
    w.fill("nope", 5, false, 30);
    CHECK(w.size() == 2);

    w.fill("o2", 9, false, 40);  // more than was left: done
    CHECK(w.open_qty("AAPL", side::sell) == 0);

    w.add("o3", "MSFT", side::sell, 4, 50);  // same id again: replaces the buy
    CHECK(w.open_qty("MSFT", side::buy) == 0);
    CHECK(w.open_qty("MSFT", side::sell) == 4);
    w.erase("o3");
    CHECK(w.open_qty("MSFT", side::sell) == 0);
    CHECK(w.size() == 0);

    w.add("z", "AAPL", side::buy, 0, 0);  // nothing to track
    w.add("f", "AAPL", side::flat, 3, 0);
    CHECK(w.size() == 0);

    w.add("t1", "AAPL", side::buy, 3, 100);
    w.add("t2", "AAPL", side::buy, 4, 200);
    CHECK(w.expire(300, 200) == 0);
    CHECK(w.expire(301, 200) == 1);  // t1: no news for 201 > 200
    CHECK(w.open_qty("AAPL", side::buy) == 4);
    w.fill("t2", 1, false, 1000);  // a fill is news: the timer restarts
    CHECK(w.expire(1100, 200) == 0);
    CHECK(w.open_qty("AAPL", side::buy) == 3);
}

TEST_CASE("working orders: sums beyond int64 saturate instead of wrapping") {
    working_orders w;
    const auto big = std::numeric_limits<std::int64_t>::max();
    w.add("a", "X", side::buy, big, 0);
    w.add("b", "X", side::buy, big, 0);
    CHECK(w.open_qty("X", side::buy) == big);
    w.erase("a");
    CHECK(w.open_qty("X", side::buy) == big);
    w.fill("b", big - 7, false, 1);
    CHECK(w.open_qty("X", side::buy) == 7);
}

TEST_CASE("working orders: open lots equal the sum over the orders after any sequence") {
    struct model_order {
        std::string symbol;
        side dir;
        std::int64_t left, since;
    };
    std::map<std::string, model_order> model;
    working_orders w;
    std::mt19937_64 rng(20261121);
    const std::string symbols[] = {"AAPL", "MSFT", "NVDA"};
    const auto pick = [&](std::uint64_t n) { return static_cast<std::size_t>(rng() % n); };
    std::int64_t now = 0;
    for (int step = 0; step < 20'000; ++step) {
        now += static_cast<std::int64_t>(pick(10));
        const std::string id = "o" + std::to_string(pick(200));
        const auto qty = static_cast<std::int64_t>(pick(50));
        switch (pick(5)) {
            case 0:
            case 1: {
                const auto& sym = symbols[pick(3)];
                const side dir = pick(2) == 0 ? side::buy : side::sell;
                w.add(id, sym, dir, qty, now);
                model.erase(id);
                if (qty > 0) model[id] = {sym, dir, qty, now};
                break;
            }
            case 2: {
                const bool done = pick(8) == 0;
                const std::int64_t lots = qty + 1;
                w.fill(id, lots, done, now);
                if (auto it = model.find(id); it != model.end()) {
                    if (done || lots >= it->second.left) {
                        model.erase(it);
                    } else {
                        it->second.left -= lots;
                        it->second.since = now;
                    }
                }
                break;
            }
            case 3:
                w.erase(id);
                model.erase(id);
                break;
            default: {
                const std::int64_t timeout = 500;
                std::size_t gone = 0;
                for (auto it = model.begin(); it != model.end();) {
                    if (now - it->second.since > timeout) {
                        it = model.erase(it);
                        ++gone;
                    } else {
                        ++it;
                    }
                }
                CHECK(w.expire(now, timeout) == gone);
            }
        }
        REQUIRE(w.size() == model.size());
        for (const auto& sym : symbols) {
            for (const side dir : {side::buy, side::sell}) {
                std::int64_t sum = 0;
                for (const auto& [oid, o] : model) {
                    if (o.symbol == sym && o.dir == dir) sum += o.left;
                }
                REQUIRE_MESSAGE(w.open_qty(sym, dir) == sum, "step " << step << " " << sym);
            }
        }
    }
}
