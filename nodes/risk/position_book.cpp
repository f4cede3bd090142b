#include "tradebus/risk/position_book.hpp"

namespace tradebus::risk {

namespace money = schema::money;

std::int64_t position_book::apply_fill(const std::string& symbol, schema::side dir,
                                       std::int64_t qty, std::int64_t px,
                                       std::string_view fill_id) {
    if (qty <= 0 || px <= 0 || dir == schema::side::flat) return 0;  // no entry for nothing
    auto& p = book_[symbol];
    p.last_fill_id = fill_id;
    return p.apply_fill(dir, qty, px);
}

void position_book::mark(const std::string& symbol, std::int64_t mid_px) {
    if (mid_px > 0) book_[symbol].mark_px = mid_px;
}

const position_state* position_book::find(const std::string& symbol) const {
    auto it = book_.find(symbol);
    return it == book_.end() ? nullptr : &it->second;
}

std::int64_t position_book::qty(const std::string& symbol) const {
    const auto* p = find(symbol);
    return p == nullptr ? 0 : p->qty;
}

namespace {
std::int64_t unrealized_of(const position_state& p) { return p.unrealized(p.mark_px); }
std::int64_t notional_of(const position_state& p) {
    return money::mul(money::abs(p.qty), p.mark_px > 0 ? p.mark_px : p.avg_px);
}
}  // namespace

std::int64_t position_book::unrealized_pnl(const std::string& symbol) const {
    const auto* p = find(symbol);
    return p == nullptr ? 0 : unrealized_of(*p);
}

std::int64_t position_book::notional(const std::string& symbol) const {
    const auto* p = find(symbol);
    return p == nullptr ? 0 : notional_of(*p);
}

std::int64_t position_book::total_realized_pnl() const {
    std::int64_t sum = 0;
    for (const auto& [sym, p] : book_) sum = money::add(sum, p.realized_pnl);
    return sum;
}

std::int64_t position_book::total_unrealized_pnl() const {
    std::int64_t sum = 0;
    for (const auto& [sym, p] : book_) sum = money::add(sum, unrealized_of(p));
    return sum;
}

std::int64_t position_book::total_pnl() const {
    return money::add(total_realized_pnl(), total_unrealized_pnl());
}

std::int64_t position_book::gross_notional() const {
    std::int64_t sum = 0;
    for (const auto& [sym, p] : book_) sum = money::add(sum, notional_of(p));
    return sum;
}

schema::position position_book::snapshot(const std::string& symbol) const {
    schema::position out;
    out.symbol = symbol;
    if (const auto* p = find(symbol)) {
        out.qty = p->qty;
        out.avg_px = p->avg_px;
        out.realized_pnl = p->realized_pnl;
        out.unrealized_pnl = unrealized_of(*p);
        out.last_fill_id = p->last_fill_id;
    }
    return out;
}

}  // namespace tradebus::risk
