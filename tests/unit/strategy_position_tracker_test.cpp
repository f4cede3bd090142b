// strategy::position_tracker keeps the in-flight lots per symbol in step with its signals and
// orders; exposure() must equal what a walk over everything in flight gives (the model below,
// which is how the tracker once computed it), whatever sequence of events arrives.
#include <doctest/doctest.h>

#include <map>
#include <random>
#include <string>

#include "tradebus/strategy/position_tracker.hpp"

using tradebus::strategy::position_tracker;
namespace schema = tradebus::schema;

TEST_CASE("position tracker: exposure equals position plus everything in flight, any sequence") {
    struct model_signal {
        std::string symbol;
        std::int64_t delta, since;
    };
    struct model_order {
        std::string symbol;
        std::int64_t signed_left, since;
    };
    std::map<std::uint64_t, model_signal> pending;
    std::map<std::string, model_order> orders;
    std::map<std::string, std::int64_t> positions;
    position_tracker t;
    std::mt19937_64 rng(112026);
    const std::string symbols[] = {"AAPL", "MSFT"};
    const auto pick = [&](std::uint64_t n) { return static_cast<std::int64_t>(rng() % n); };
    std::int64_t now = 0;
    std::uint64_t fill_no = 0;
    for (int step = 0; step < 20'000; ++step) {
        now += pick(10);
        const auto signal_id = static_cast<std::uint64_t>(pick(100));
        const std::string order_id = "o" + std::to_string(pick(100));
        const std::string& sym = symbols[pick(2)];
        switch (pick(6)) {
            case 0: {
                const std::int64_t delta = pick(21) - 10;
                t.on_signal_sent(signal_id, sym, delta, now);
                pending[signal_id] = {sym, delta, now};
                break;
            }
            case 1: {
                schema::order o;
                o.order_id = order_id;
                o.signal_id = signal_id;
                o.symbol = sym;
                o.qty = pick(10);
                o.dir = pick(3) == 0 ? schema::side::sell : schema::side::buy;
                t.on_approved(o, now);
                pending.erase(signal_id);
                if (o.qty > 0 && !orders.contains(order_id)) {
                    orders[order_id] = {sym, o.dir == schema::side::buy ? o.qty : -o.qty, now};
                }
                break;
            }
            case 2:
                t.on_rejected(signal_id);
                pending.erase(signal_id);
                break;
            case 3: {
                schema::fill f;
                f.order_id = order_id;
                f.fill_id = "f" + std::to_string(++fill_no);
                f.qty = pick(6) + 1;
                f.leaves_qty = pick(4);  // 0: execution says the order is done
                const bool ours = t.on_fill(f, now);
                auto it = orders.find(order_id);
                CHECK(ours == (it != orders.end()));
                if (it != orders.end()) {
                    model_order& o = it->second;
                    const std::int64_t left = o.signed_left < 0 ? -o.signed_left : o.signed_left;
                    const std::int64_t q = std::min(f.qty, left);
                    const std::int64_t signed_q = o.signed_left < 0 ? -q : q;
                    positions[o.symbol] += signed_q;
                    o.signed_left -= signed_q;
                    o.since = now;
                    if (o.signed_left == 0 || f.leaves_qty <= 0) orders.erase(it);
                }
                break;
            }
            case 4:
                t.on_exec_reject(order_id);
                orders.erase(order_id);
                break;
            default: {
                const std::int64_t timeout = 300;
                std::size_t gone = std::erase_if(
                    pending, [&](const auto& kv) { return now - kv.second.since > timeout; });
                gone += std::erase_if(
                    orders, [&](const auto& kv) { return now - kv.second.since > timeout; });
                CHECK(t.expire(now, timeout) == gone);
            }
        }
        REQUIRE(t.in_flight() == pending.size() + orders.size());
        for (const auto& s : symbols) {
            std::int64_t e = positions[s];
            for (const auto& [id, p] : pending) e += p.symbol == s ? p.delta : 0;
            for (const auto& [id, o] : orders) e += o.symbol == s ? o.signed_left : 0;
            REQUIRE_MESSAGE(t.exposure(s) == e, "step " << step << " " << s);
            REQUIRE(t.position(s) == positions[s]);
        }
    }
}
