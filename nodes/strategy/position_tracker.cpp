#include "tradebus/strategy/position_tracker.hpp"

#include <algorithm>

namespace tradebus::strategy {

void position_tracker::in_flight_add(const std::string& symbol, std::int64_t lots) {
    if (lots == 0) return;
    auto it = in_flight_.try_emplace(symbol, 0).first;
    it->second += lots;
    if (it->second == 0) in_flight_.erase(it);
}

void position_tracker::on_signal_sent(std::uint64_t signal_id, const std::string& symbol,
                                      std::int64_t delta, std::int64_t now_ns) {
    on_rejected(signal_id);  // a reused id replaces the signal it named
    pending_.emplace(signal_id, pending_signal{symbol, delta, now_ns});
    in_flight_add(symbol, delta);
}

void position_tracker::on_approved(const schema::order& o, std::int64_t now_ns) {
    on_rejected(o.signal_id);  // the order replaces the signal
    if (o.qty <= 0 || o.dir == schema::side::flat) return;
    const std::int64_t signed_qty = o.dir == schema::side::buy ? o.qty : -o.qty;
    if (orders_.try_emplace(o.order_id, open_order{o.symbol, signed_qty, now_ns, {}}).second) {
        in_flight_add(o.symbol, signed_qty);
    }
}

void position_tracker::on_rejected(std::uint64_t signal_id) {
    if (auto it = pending_.find(signal_id); it != pending_.end()) {
        in_flight_add(it->second.symbol, -it->second.delta);
        pending_.erase(it);
    }
}

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
    in_flight_add(o.symbol, -signed_qty);
    o.since_ns = now_ns;
    if (o.signed_left == 0 || f.leaves_qty <= 0) {
        in_flight_add(o.symbol, -o.signed_left);
        orders_.erase(it);
    }
    return true;
}

void position_tracker::on_exec_reject(const std::string& order_id) {
    if (auto it = orders_.find(order_id); it != orders_.end()) {
        in_flight_add(it->second.symbol, -it->second.signed_left);
        orders_.erase(it);
    }
}

std::size_t position_tracker::expire(std::int64_t now_ns, std::int64_t timeout_ns) {
    const std::size_t before = in_flight();
    std::erase_if(pending_, [&](const auto& kv) {
        if (now_ns - kv.second.since_ns <= timeout_ns) return false;
        in_flight_add(kv.second.symbol, -kv.second.delta);
        return true;
    });
    std::erase_if(orders_, [&](const auto& kv) {
        if (now_ns - kv.second.since_ns <= timeout_ns) return false;
        in_flight_add(kv.second.symbol, -kv.second.signed_left);
        return true;
    });
    return before - in_flight();
}

std::int64_t position_tracker::position(const std::string& symbol) const {
    auto it = positions_.find(symbol);
    return it == positions_.end() ? 0 : it->second;
}

std::int64_t position_tracker::exposure(const std::string& symbol) const {
    auto it = in_flight_.find(symbol);
    return position(symbol) + (it == in_flight_.end() ? 0 : it->second);
}

}  // namespace tradebus::strategy
