#include "tradebus/risk/working_orders.hpp"

#include "tradebus/schema/money.hpp"

namespace tradebus::risk {

namespace money = schema::money;

void working_orders::add(const std::string& order_id, const std::string& symbol, schema::side dir,
                         std::int64_t qty) {
    if (auto it = orders_.find(order_id); it != orders_.end()) forget(it);
    if (qty <= 0 || (dir != schema::side::buy && dir != schema::side::sell)) return;
    const auto [it, inserted] = orders_.emplace(order_id, order{symbol, dir, qty});
    count(it->second, qty);
}

void working_orders::fill(std::string_view order_id, std::int64_t qty, bool done) {
    const auto it = orders_.find(order_id);
    if (it == orders_.end()) return;
    order& o = it->second;
    if (done || qty >= o.left) {
        forget(it);
        return;
    }
    count(o, -static_cast<wide>(qty));
    o.left -= qty;
}

bool working_orders::erase(std::string_view order_id) {
    const auto it = orders_.find(order_id);
    if (it == orders_.end()) return false;
    forget(it);
    return true;
}

std::int64_t working_orders::open_qty(std::string_view symbol, schema::side dir) const {
    const auto it = open_.find(symbol);
    if (it == open_.end()) return 0;
    return money::saturate(dir == schema::side::buy    ? it->second.buy
                           : dir == schema::side::sell ? it->second.sell
                                                       : 0);
}

void working_orders::count(const order& o, wide lots) {
    auto it = open_.find(o.symbol);
    if (it == open_.end()) it = open_.emplace(o.symbol, open_lots{}).first;
    (o.dir == schema::side::buy ? it->second.buy : it->second.sell) += lots;
    if (it->second.buy == 0 && it->second.sell == 0) open_.erase(it);
}

working_orders::order_map::iterator working_orders::forget(order_map::iterator it) {
    count(it->second, -static_cast<wide>(it->second.left));
    return orders_.erase(it);
}

}  // namespace tradebus::risk
