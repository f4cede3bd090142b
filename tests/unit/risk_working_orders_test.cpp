// risk::working_orders: the open quantity per (symbol, side) it keeps in step must always equal
// the sum over the orders it holds, whatever sequence of approvals, fills, refusals, cancels
// and expiries arrives (checked against a plain model walking every order, as risk once did),
// and an order stays counted until one of those ends it, however long that takes.
#include <doctest/doctest.h>

#include <limits>
#include <map>
#include <random>
#include <string>

#include "tradebus/risk/working_orders.hpp"

using tradebus::risk::working_orders;
using tradebus::schema::side;

TEST_CASE("working orders: add, partial fill, done and a terminal event move the open lots") {
    working_orders w;
    w.add("o1", "AAPL", side::buy, 70);
    w.add("o2", "AAPL", side::sell, 5);
    w.add("o3", "MSFT", side::buy, 9);
    CHECK(w.open_qty("AAPL", side::buy) == 70);
    CHECK(w.open_qty("AAPL", side::sell) == 5);
    CHECK(w.open_qty("MSFT", side::buy) == 9);
    CHECK(w.open_qty("NVDA", side::buy) == 0);
    CHECK(w.open_qty("AAPL", side::flat) == 0);

    w.fill("o1", 30, false);  // partial
    CHECK(w.open_qty("AAPL", side::buy) == 40);
    w.fill("o1", 1, true);  // execution says nothing is left: done whatever the count
    CHECK(w.open_qty("AAPL", side::buy) == 0);
    w.fill("o1", 5, false);  // a late fill of a finished order changes nothing
    w.fill("nope", 5, false);
    CHECK(w.size() == 2);

    w.fill("o2", 9, false);  // more than was left: done
    CHECK(w.open_qty("AAPL", side::sell) == 0);

    w.add("o3", "MSFT", side::sell, 4);  // same id again: replaces the buy
    CHECK(w.open_qty("MSFT", side::buy) == 0);
    CHECK(w.open_qty("MSFT", side::sell) == 4);
    CHECK(w.contains("o3"));
    CHECK(w.erase("o3"));  // cancelled, expired or refused by execution
    CHECK_FALSE(w.contains("o3"));
    CHECK_FALSE(w.erase("o3"));  // a second terminal event for it changes nothing
    CHECK(w.open_qty("MSFT", side::sell) == 0);
    CHECK(w.size() == 0);

    w.add("z", "AAPL", side::buy, 0);  // nothing to track
    w.add("f", "AAPL", side::flat, 3);
    CHECK(w.size() == 0);
}

TEST_CASE("working orders: sums beyond int64 saturate instead of wrapping") {
    working_orders w;
    const auto big = std::numeric_limits<std::int64_t>::max();
    w.add("a", "X", side::buy, big);
    w.add("b", "X", side::buy, big);
    CHECK(w.open_qty("X", side::buy) == big);
    CHECK(w.erase("a"));
    CHECK(w.open_qty("X", side::buy) == big);
    w.fill("b", big - 7, false);
    CHECK(w.open_qty("X", side::buy) == 7);
}

TEST_CASE("working orders: open lots equal the sum over the orders after any sequence") {
    struct model_order {
        std::string symbol;
        side dir;
        std::int64_t left;
    };
    std::map<std::string, model_order> model;
    working_orders w;
    std::mt19937_64 rng(20261121);
    const std::string symbols[] = {"AAPL", "MSFT", "NVDA"};
    const auto pick = [&](std::uint64_t n) { return static_cast<std::size_t>(rng() % n); };
    for (int step = 0; step < 20'000; ++step) {
        const std::string id = "o" + std::to_string(pick(200));
        const auto qty = static_cast<std::int64_t>(pick(50));
        switch (pick(4)) {
            case 0:
            case 1: {
                const auto& sym = symbols[pick(3)];
                const side dir = pick(2) == 0 ? side::buy : side::sell;
                w.add(id, sym, dir, qty);
                model.erase(id);
                if (qty > 0) model[id] = {sym, dir, qty};
                break;
            }
            case 2: {
                const bool done = pick(8) == 0;
                const std::int64_t lots = qty + 1;
                w.fill(id, lots, done);
                if (auto it = model.find(id); it != model.end()) {
                    if (done || lots >= it->second.left) {
                        model.erase(it);
                    } else {
                        it->second.left -= lots;
                    }
                }
                break;
            }
            default:
                CHECK(w.erase(id) == (model.erase(id) == 1));
                break;
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
