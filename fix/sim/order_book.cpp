// The venue simulator's matching engine (order_book.hpp): validation, price-time matching,
// resting, cancels, expiry, the house quote, and the records kept for status and executions.
#include "tradebus/fix/sim/order_book.hpp"

#include <algorithm>
#include <iterator>
#include <stdexcept>

namespace tradebus::fix::sim {

namespace {

using schema::order_type;
using schema::side;
using schema::time_in_force;
namespace money = schema::money;

// An incoming order at `t` may trade with a resting order at `px`.
bool crosses(const order_status& t, std::int64_t px) {
    if (t.kind == order_type::market) return true;
    return t.dir == side::buy ? px <= t.limit_px : px >= t.limit_px;
}

bool may_rest(const order_status& st) {
    return st.kind == order_type::limit &&
           (st.tif == time_in_force::day || st.tif == time_in_force::gtc);
}

}  // namespace

matching_engine::matching_engine(engine_limits limits) : limits_(limits) {}

std::optional<std::string> matching_engine::invalid(const order_spec& spec,
                                                    std::int64_t now_ns) const {
    const auto max = limits_.max_field_chars;
    if (spec.owner.empty()) return "no owner (the house quotes through set_house_quote)";
    if (spec.id.empty()) return "empty ClOrdID";
    if (spec.id.size() > max) return "ClOrdID longer than " + std::to_string(max) + " characters";
    const order_key key{spec.owner, spec.id};
    if (live_.contains(key) || done_.contains(key)) return "duplicate ClOrdID";
    if (spec.symbol.empty()) return "empty symbol";
    if (spec.symbol.size() > max) {
        return "symbol longer than " + std::to_string(max) + " characters";
    }
    if (spec.dir != side::buy && spec.dir != side::sell) return "side must be BUY or SELL";
    if (spec.kind != order_type::market && spec.kind != order_type::limit) {
        return "order type must be MARKET or LIMIT";
    }
    if (spec.tif != time_in_force::day && spec.tif != time_in_force::gtc &&
        spec.tif != time_in_force::ioc && spec.tif != time_in_force::fok) {
        return "time in force must be DAY, GTC, IOC or FOK";
    }
    if (spec.qty <= 0) return "quantity must be positive";
    if (spec.kind == order_type::limit && spec.limit_px <= 0) return "limit price must be positive";
    if (spec.expire_ts_ns < 0 || (spec.expire_ts_ns != 0 && spec.expire_ts_ns <= now_ns)) {
        return "expire time not in the future";
    }
    if (!books_.contains(spec.symbol) && books_.size() >= limits_.max_symbols) {
        return "too many symbols (limit " + std::to_string(limits_.max_symbols) + ")";
    }
    const bool rests = spec.kind == order_type::limit &&
                       (spec.tif == time_in_force::day || spec.tif == time_in_force::gtc);
    const auto n = live_per_owner_.find(spec.owner);
    if (rests && n != live_per_owner_.end() && n->second >= limits_.max_live_orders_per_owner) {
        return "too many live orders (limit " + std::to_string(limits_.max_live_orders_per_owner) +
               ")";
    }
    return std::nullopt;
}

std::vector<report> matching_engine::submit(const order_spec& spec, std::int64_t now_ns) {
    std::vector<report> out;
    live_order in;
    order_status& st = in.st;
    st.owner = spec.owner;
    st.id = spec.id;
    st.symbol = spec.symbol;
    st.dir = spec.dir;
    st.kind = spec.kind;
    st.tif = spec.tif;
    st.order_qty = spec.qty;
    st.limit_px = spec.kind == order_type::market ? 0 : spec.limit_px;
    st.expire_ts_ns = spec.expire_ts_ns;

    if (auto why = invalid(spec, now_ns)) {
        ++counters_.rejected;
        st.state = order_state::rejected;
        out.push_back(make_report(report::kind::rejected, st, now_ns, std::move(*why)));
        // Remembered for status(), unless that would replace the original of a duplicate or
        // keep an unbounded string.
        const order_key key{spec.owner, spec.id};
        const bool known = live_.contains(key) || done_.contains(key);
        if (!known && !spec.owner.empty() && !spec.id.empty() &&
            spec.id.size() <= limits_.max_field_chars &&
            spec.symbol.size() <= limits_.max_field_chars) {
            remember(st);
        }
        return out;
    }

    ++counters_.accepted;
    st.order_id = "O" + std::to_string(++next_order_);
    st.leaves_qty = st.order_qty;
    in.seq = ++next_seq_;
    book& b = book_for(st.symbol);
    in.where = &b;
    out.push_back(make_report(report::kind::accepted, st, now_ns));

    const bool buy = st.dir == side::buy;
    if (st.tif == time_in_force::fok) {
        const auto avail = buy ? available(b.asks, st) : available(b.bids, st);
        if (avail < st.order_qty) {
            st.state = order_state::cancelled;
            st.leaves_qty = 0;
            report r = make_report(report::kind::cancelled, st, now_ns,
                                   "FOK: only " + std::to_string(avail) + " available");
            r.cancelled_qty = st.order_qty;
            out.push_back(std::move(r));
            remember(st);
            return out;
        }
    }

    if (buy) {
        match(b.asks, in, now_ns, out);
    } else {
        match(b.bids, in, now_ns, out);
    }

    if (st.leaves_qty == 0) {
        remember(st);
    } else if (may_rest(st)) {
        rest(std::move(in), b);
    } else {
        const auto left = st.leaves_qty;
        st.state = order_state::cancelled;
        st.leaves_qty = 0;
        report r = make_report(
            report::kind::cancelled, st, now_ns,
            st.kind == order_type::market
                ? "MARKET: unfilled quantity cancelled"
                : std::string(schema::to_string(st.tif)) + ": unfilled quantity cancelled");
        r.cancelled_qty = left;
        out.push_back(std::move(r));
        remember(st);
    }
    return out;
}

report matching_engine::cancel(const std::string& owner, const std::string& id,
                               std::int64_t now_ns) {
    const order_key key{owner, id};
    if (!owner.empty()) {
        if (auto it = live_.find(key); it != live_.end()) {
            return end(it->second, report::kind::cancelled, order_state::cancelled, now_ns, "");
        }
        if (auto it = done_.find(key); it != done_.end()) {
            return make_report(report::kind::cancel_rejected, it->second, now_ns,
                               "already_terminal");
        }
    }
    order_status st;
    st.owner = owner;
    st.id = id;
    st.state = order_state::rejected;
    return make_report(report::kind::cancel_rejected, st, now_ns, "unknown_order");
}

std::vector<report> matching_engine::expire(std::int64_t now_ns) {
    std::vector<report> out;
    while (!expiry_.empty() && expiry_.begin()->first <= now_ns) {
        out.push_back(end(*expiry_.begin()->second, report::kind::expired, order_state::expired,
                          now_ns, "expire time reached"));
    }
    return out;
}

std::vector<report> matching_engine::expire_day_orders(std::int64_t now_ns) {
    // O(live orders): once a session.
    std::vector<live_order*> day;
    for (auto& [key, o] : live_) {
        if (!key.owner.empty() && o.st.tif == time_in_force::day) day.push_back(&o);
    }
    std::sort(day.begin(), day.end(), [](const auto* a, const auto* b) { return a->seq < b->seq; });
    std::vector<report> out;
    out.reserve(day.size());
    for (live_order* o : day) {
        out.push_back(end(*o, report::kind::expired, order_state::expired, now_ns,
                          "DAY order: session ended"));
    }
    return out;
}

std::vector<report> matching_engine::set_house_quote(const std::string& symbol, std::int64_t bid_px,
                                                     std::int64_t bid_qty, std::int64_t ask_px,
                                                     std::int64_t ask_qty, std::int64_t now_ns) {
    auto refuse = [&](const std::string& why) {
        throw std::invalid_argument("house quote for '" + symbol + "': " + why);
    };
    if (symbol.empty() || symbol.size() > limits_.max_field_chars) refuse("bad symbol");
    if (bid_qty < 0 || ask_qty < 0) refuse("negative quantity");
    if ((bid_qty > 0 && bid_px <= 0) || (ask_qty > 0 && ask_px <= 0)) refuse("price <= 0");
    if (bid_qty > 0 && ask_qty > 0 && bid_px >= ask_px) refuse("bid >= ask");
    if (!books_.contains(symbol) && books_.size() >= limits_.max_symbols) {
        refuse("too many symbols (limit " + std::to_string(limits_.max_symbols) + ")");
    }
    book& b = book_for(symbol);
    for (live_order* h : {b.house_bid, b.house_ask}) {
        if (h != nullptr) {
            unlink(*h);
            retire(*h);
        }
    }
    std::vector<report> out;
    if (bid_qty > 0) place_house(b, side::buy, bid_px, bid_qty, now_ns, out);
    if (ask_qty > 0) place_house(b, side::sell, ask_px, ask_qty, now_ns, out);
    return out;
}

void matching_engine::place_house(book& b, side dir, std::int64_t px, std::int64_t qty,
                                  std::int64_t now_ns, std::vector<report>& out) {
    live_order h;
    h.st.id = "H" + std::to_string(++next_order_);
    h.st.order_id = h.st.id;
    h.st.symbol = b.symbol;
    h.st.dir = dir;
    h.st.kind = order_type::limit;
    h.st.tif = time_in_force::gtc;
    h.st.order_qty = qty;
    h.st.leaves_qty = qty;
    h.st.limit_px = px;
    h.seq = ++next_seq_;
    h.where = &b;
    if (dir == side::buy) {
        match(b.asks, h, now_ns, out);
    } else {
        match(b.bids, h, now_ns, out);
    }
    if (h.st.leaves_qty == 0) return;
    live_order& rested = rest(std::move(h), b);
    (dir == side::buy ? b.house_bid : b.house_ask) = &rested;
}

std::optional<order_status> matching_engine::status(const std::string& owner,
                                                    const std::string& id) const {
    const order_key key{owner, id};
    if (auto it = live_.find(key); it != live_.end()) return it->second.st;
    if (auto it = done_.find(key); it != done_.end()) return it->second;
    return std::nullopt;
}

std::vector<order_status> matching_engine::open_orders(const std::string& owner) const {
    std::vector<const live_order*> mine;
    for (auto it = live_.lower_bound(order_key{owner, ""});
         it != live_.end() && it->first.owner == owner; ++it) {
        mine.push_back(&it->second);
    }
    std::sort(mine.begin(), mine.end(),
              [](const auto* a, const auto* b) { return a->seq < b->seq; });
    std::vector<order_status> out;
    out.reserve(mine.size());
    for (const auto* o : mine) out.push_back(o->st);
    return out;
}

std::int64_t matching_engine::position(const std::string& owner, const std::string& symbol) const {
    const auto it = positions_.find({owner, symbol});
    return it == positions_.end() ? 0 : it->second;
}

book_top matching_engine::top_of_book(const std::string& symbol) const {
    book_top top;
    const auto b = books_.find(symbol);
    if (b == books_.end()) return top;
    auto total = [](const queue& q) {
        std::int64_t sum = 0;
        for (const live_order* o : q) sum = money::add(sum, o->st.leaves_qty);
        return sum;
    };
    if (!b->second.bids.empty()) {
        top.bid_px = b->second.bids.begin()->first;
        top.bid_qty = total(b->second.bids.begin()->second);
    }
    if (!b->second.asks.empty()) {
        top.ask_px = b->second.asks.begin()->first;
        top.ask_qty = total(b->second.asks.begin()->second);
    }
    return top;
}

matching_engine::book& matching_engine::book_for(const std::string& symbol) {
    auto [it, created] = books_.try_emplace(symbol);
    if (created) it->second.symbol = symbol;
    return it->second;
}

std::string matching_engine::next_exec_id() { return "E" + std::to_string(++next_exec_); }

report matching_engine::make_report(report::kind what, const order_status& st, std::int64_t now_ns,
                                    std::string text) {
    report r;
    r.what = what;
    // An OrderCancelReject carries no ExecID.
    if (what != report::kind::cancel_rejected) r.exec_id = next_exec_id();
    r.order = st;
    r.ts_ns = now_ns;
    r.text = std::move(text);
    return r;
}

template <class Levels>
std::int64_t matching_engine::available(const Levels& levels, const order_status& taker) const {
    std::int64_t sum = 0;
    for (const auto& [px, q] : levels) {
        if (!crosses(taker, px)) break;
        for (const live_order* o : q) {
            if (o->st.owner == taker.owner) continue;
            sum = money::add(sum, o->st.leaves_qty);
            if (sum >= taker.order_qty) return sum;
        }
    }
    return sum;
}

template <class Levels>
void matching_engine::match(Levels& levels, live_order& taker, std::int64_t now_ns,
                            std::vector<report>& out) {
    order_status& t = taker.st;
    for (auto lvl = levels.begin(); lvl != levels.end() && t.leaves_qty > 0;) {
        const std::int64_t px = lvl->first;
        if (!crosses(t, px)) break;
        queue& q = lvl->second;
        for (auto it = q.begin(); it != q.end() && t.leaves_qty > 0;) {
            live_order& maker = **it;
            if (maker.st.owner == t.owner) {  // self-trade: skip, it keeps its place
                ++it;
                continue;
            }
            const std::int64_t qty = std::min(t.leaves_qty, maker.st.leaves_qty);
            const std::uint64_t match_id = ++counters_.matches;
            fill(taker, qty, px, match_id, true, now_ns, out);
            fill(maker, qty, px, match_id, false, now_ns, out);
            if (maker.st.leaves_qty == 0) {
                it = q.erase(it);
                retire(maker);
            } else {
                ++it;
            }
        }
        lvl = q.empty() ? levels.erase(lvl) : std::next(lvl);
    }
}

void matching_engine::fill(live_order& o, std::int64_t qty, std::int64_t px, std::uint64_t match_id,
                           bool aggressor, std::int64_t now_ns, std::vector<report>& out) {
    order_status& st = o.st;
    st.cum_qty += qty;
    st.leaves_qty -= qty;
    o.notional += static_cast<money::int128>(qty) * px;
    st.avg_px = money::div_round(o.notional, st.cum_qty);
    st.state = st.leaves_qty == 0 ? order_state::filled : order_state::partially_filled;
    std::int64_t& pos = positions_[{st.owner, st.symbol}];
    pos = money::add(pos, st.dir == side::buy ? qty : -qty);
    if (st.owner.empty()) return;  // the house: position only

    report r = make_report(report::kind::trade, st, now_ns);
    r.last_qty = qty;
    r.last_px = px;
    r.match_id = match_id;
    r.aggressor = aggressor;
    if (execs_.size() < limits_.max_executions) {
        execs_.push_back(execution{r.exec_id, match_id, st.owner, st.id, st.order_id, st.symbol,
                                   st.dir, qty, px, now_ns, aggressor});
    } else {
        ++counters_.executions_dropped;
    }
    out.push_back(std::move(r));
}

matching_engine::live_order& matching_engine::rest(live_order taker, book& b) {
    order_key key{taker.st.owner, taker.st.id};
    live_order& o = live_.emplace(std::move(key), std::move(taker)).first->second;
    o.where = &b;
    queue& q = o.st.dir == side::buy ? b.bids[o.st.limit_px] : b.asks[o.st.limit_px];
    o.pos = q.insert(q.end(), &o);
    if (o.st.expire_ts_ns > 0) o.expiry = expiry_.emplace(o.st.expire_ts_ns, &o);
    if (!o.st.owner.empty()) ++live_per_owner_[o.st.owner];
    return o;
}

void matching_engine::unlink(live_order& o) {
    book& b = *o.where;
    auto drop = [&](auto& levels) {
        const auto lvl = levels.find(o.st.limit_px);
        lvl->second.erase(o.pos);
        if (lvl->second.empty()) levels.erase(lvl);
    };
    if (o.st.dir == side::buy) {
        drop(b.bids);
    } else {
        drop(b.asks);
    }
}

void matching_engine::retire(live_order& o) {
    if (o.expiry) expiry_.erase(*o.expiry);
    book& b = *o.where;
    if (b.house_bid == &o) b.house_bid = nullptr;
    if (b.house_ask == &o) b.house_ask = nullptr;
    const order_key key{o.st.owner, o.st.id};
    if (!key.owner.empty()) {
        const auto n = live_per_owner_.find(key.owner);
        if (--n->second == 0) live_per_owner_.erase(n);
        remember(o.st);
    }
    live_.erase(key);
}

report matching_engine::end(live_order& o, report::kind what, order_state state,
                            std::int64_t now_ns, std::string text) {
    unlink(o);
    const std::int64_t left = o.st.leaves_qty;
    o.st.state = state;
    o.st.leaves_qty = 0;
    report r = make_report(what, o.st, now_ns, std::move(text));
    r.cancelled_qty = left;
    retire(o);
    return r;
}

void matching_engine::remember(const order_status& st) {
    order_key key{st.owner, st.id};
    if (done_.insert_or_assign(key, st).second) done_order_.push_back(std::move(key));
    while (done_.size() > limits_.max_terminal_orders) {
        done_.erase(done_order_.front());
        done_order_.pop_front();
        ++counters_.forgotten;
    }
}

}  // namespace tradebus::fix::sim
