#include "tradebus/strategy/position_tracker.hpp"

#include <algorithm>

namespace tradebus::strategy {

void position_tracker::on_signal_sent(std::uint64_t signal_id, const std::string& symbol,
                                      std::int64_t delta, std::int64_t now_ns) {
    pending_[signal_id] = pending_signal{symbol, delta, now_ns};
}

void position_tracker::on_approved(const schema::order& o, std::int64_t now_ns) {
    pending_.erase(o.signal_id);
    if (o.qty <= 0 || o.dir == schema::side::flat) return;
    const std::int64_t signed_qty = o.dir == schema::side::buy ? o.qty : -o.qty;
    orders_.try_emplace(o.order_id, open_order{o.symbol, signed_qty, now_ns, {}});
}

void position_tracker::on_rejected(std::uint64_t signal_id) { pending_.erase(signal_id); }

bool position_tracker::on_fill(const schema::fill& f, std::int64_t now_ns) {
    auto it = orders_.find(f.order_id);
    if (it == orders_.end() || f.qty <= 0) return false;
    open_order& o = it->second;
    if (!o.fill_ids.insert(f.fill_id).second) return false;  // duplicate fill
    const std::int64_t left = o.signed_left < 0 ? -o.signed_left : o.signed_left;
    const std::int64_t qty = std::min(f.qty, left);
    const std::int64_t signed_qty = o.signed_left < 0 ? -qty : qty;
    positions_[o.symbol] += signed_qty;
    o.signed_left -= signed_qty;
    o.since_ns = now_ns;
    if (o.signed_left == 0 || f.leaves_qty <= 0) orders_.erase(it);
    return true;
}

void position_tracker::on_exec_reject(const std::string& order_id) { orders_.erase(order_id); }

std::size_t position_tracker::expire(std::int64_t now_ns, std::int64_t timeout_ns) {
    const std::size_t before = in_flight();
    std::erase_if(pending_,
                  [&](const auto& kv) { return now_ns - kv.second.since_ns > timeout_ns; });
    std::erase_if(orders_,
                  [&](const auto& kv) { return now_ns - kv.second.since_ns > timeout_ns; });
    return before - in_flight();
}

std::int64_t position_tracker::position(const std::string& symbol) const {
    auto it = positions_.find(symbol);
    return it == positions_.end() ? 0 : it->second;
}

std::int64_t position_tracker::exposure(const std::string& symbol) const {
    std::int64_t e = position(symbol);
    for (const auto& [id, p] : pending_) {
        if (p.symbol == symbol) e += p.delta;
    }
    for (const auto& [id, o] : orders_) {
        if (o.symbol == symbol) e += o.signed_left;
    }
    return e;
}

}  // namespace tradebus::strategy
