#include "tradebus/risk/risk_engine.hpp"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <cmath>

#include "tradebus/schema/codec.hpp"
#include "tradebus/schema/money.hpp"
#include "tradebus/schema/topics.hpp"

namespace tradebus::risk {

namespace money = schema::money;

namespace {

constexpr std::int64_t ns_per_ms = 1'000'000;

double px(std::int64_t fixed_px) { return schema::from_fixed(fixed_px); }

std::string signed_lots(std::int64_t q) { return fmt::format("{:+d}", q); }

}  // namespace

template <class Key>
bool risk_engine::recent_set<Key>::insert(const Key& k) {
    if (!keys.insert(k).second) return false;
    order.push_back(k);
    if (order.size() > recent_capacity) {
        keys.erase(order.front());
        order.pop_front();
    }
    return true;
}

risk_engine::risk_engine(risk_config cfg)
    : cfg_(std::move(cfg)),
      state_(cfg_.max_daily_loss, cfg_.reducing_daily_loss),
      rate_(cfg_.max_orders_per_sec) {}

bool risk_engine::reconfigure(risk_config cfg) {
    const auto before = state();
    cfg_ = std::move(cfg);
    state_.set_limits(cfg_.max_daily_loss, cfg_.reducing_daily_loss);
    rate_.set_limit(cfg_.max_orders_per_sec);
    (void)state_.on_pnl(day_pnl());
    return state() != before;
}

schema::risk_limits risk_engine::limits() const {
    schema::risk_limits l;
    l.allowed_symbols = cfg_.allowed_symbols;
    l.max_order_qty = cfg_.limits.max_order_qty;
    l.max_position = cfg_.limits.max_position;
    for (const auto& [symbol, lim] : cfg_.symbols) {
        l.symbols.push_back({symbol, lim.max_order_qty, lim.max_position});
    }
    l.max_gross_notional = cfg_.max_gross_notional;
    l.max_daily_loss = cfg_.max_daily_loss;
    l.reducing_daily_loss = cfg_.reducing_daily_loss;
    l.max_orders_per_sec = cfg_.max_orders_per_sec;
    l.stale_quote_ms = cfg_.stale_quote_ms;
    l.max_working_orders = cfg_.max_working_orders;
    l.price_band_bps = cfg_.price_band_bps;
    return l;
}

const quote_state* risk_engine::quote(const std::string& symbol) const {
    auto it = quotes_.find(symbol);
    return it == quotes_.end() ? nullptr : &it->second;
}

std::int64_t risk_engine::open_qty(const std::string& symbol, schema::side dir) const {
    return open_.open_qty(symbol, dir);
}

bool risk_engine::on_quote(const schema::tick& t, std::int64_t now_ns, std::uint64_t trace_id) {
    if (t.bid_px <= 0 || t.ask_px <= 0 || t.ask_px < t.bid_px) return false;
    const std::int64_t mid = t.bid_px + (t.ask_px - t.bid_px) / 2;
    quotes_[t.symbol] = quote_state{mid, now_ns, trace_id};
    any_quote_ = true;
    last_quote_ns_ = now_ns;
    book_.mark(t.symbol, mid);
    // Only symbols with a position move the P&L; skip the sum for the rest.
    if (book_.qty(t.symbol) != 0) state_.on_pnl(day_pnl());
    return true;
}

bool risk_engine::on_fill(const schema::fill& f, std::int64_t /*now_ns*/) {
    if (f.qty <= 0 || f.px <= 0 || f.dir == schema::side::flat) return false;
    if (!f.fill_id.empty() && !seen_fills_.insert(f.fill_id)) return false;
    book_.apply_fill(f.symbol, f.dir, f.qty, f.px, f.fill_id);
    open_.fill(f.order_id, f.qty, f.leaves_qty <= 0);
    state_.on_pnl(day_pnl());
    return true;
}

void risk_engine::on_exec_reject(const schema::exec_reject& r) { open_.erase(r.order_id); }

bool risk_engine::on_order_end(std::string_view order_id) { return open_.erase(order_id); }

void risk_engine::restore_approved(const schema::order& o) {
    seen_signals_.insert({o.signal_src, o.signal_id});
    open_.add(o.order_id, o.symbol, o.dir, o.qty);
}

void risk_engine::restore_rejected(const schema::order_rejected& r) {
    seen_signals_.insert({r.signal_src, r.signal_id});
}

void risk_engine::restore_mark(const std::string& symbol, std::int64_t mid_px) {
    if (mid_px > 0) book_.mark(symbol, mid_px);
}

void risk_engine::restore_loss_stage(schema::trading_state s, const std::string& reason) {
    state_.restore_loss(s, reason);
    state_.on_pnl(day_pnl());
}

bool risk_engine::begin_session(std::int64_t session_start_ns) {
    if (session_start_ns <= session_start_ns_) return false;
    session_start_ns_ = session_start_ns;
    day_base_pnl_ = book_.total_pnl();
    state_.new_session();
    return true;
}

std::int64_t risk_engine::day_pnl() const {
    return money::saturate(static_cast<money::int128>(book_.total_pnl()) - day_base_pnl_);
}

schema::risk_snapshot risk_engine::snapshot() const {
    schema::risk_snapshot s;
    s.session_start_ns = session_start_ns_;
    s.day_base_pnl = day_base_pnl_;
    for (const auto& [sym, p] : book_.positions()) {
        if (p.qty == 0 && p.realized_pnl == 0) continue;  // nothing to carry
        s.positions.push_back({sym, p.qty, p.avg_px, p.realized_pnl, p.mark_px, p.last_fill_id});
    }
    open_.for_each(
        [&](const std::string& id, const std::string& symbol, schema::side dir, std::int64_t left) {
            s.working.push_back({id, symbol, dir, left});
        });
    return s;
}

void risk_engine::restore_snapshot(const schema::risk_snapshot& s) {
    book_.clear();
    for (const auto& p : s.positions) {
        position_state st;
        st.qty = p.qty;
        st.avg_px = p.avg_px;
        st.realized_pnl = p.realized_pnl;
        st.mark_px = p.mark_px;
        st.last_fill_id = p.last_fill_id;
        book_.restore(p.symbol, st);
    }
    open_.clear();
    for (const auto& w : s.working) open_.add(w.order_id, w.symbol, w.dir, w.open_qty);
    session_start_ns_ = s.session_start_ns;
    day_base_pnl_ = s.day_base_pnl;
    state_.new_session();
}

bool risk_engine::set_operator_state(schema::trading_state s, const std::string& reason) {
    return state_.set_operator(s, reason, day_pnl());
}

trading_scopes::change risk_engine::set_scope(std::string_view topic,
                                              const schema::trading_state_changed& ev) {
    return scopes_.set(topic, ev);
}

bool risk_engine::update_health(std::int64_t now_ns) {
    const bool silent = any_quote_ && now_ns - last_quote_ns_ > cfg_.stale_quote_ms * ns_per_ms;
    if (silent) {
        degraded_why_ = fmt::format("market data stale: no quote on any symbol for {} ms",
                                    (now_ns - last_quote_ns_) / ns_per_ms);
    }
    if (silent == degraded_) return false;
    degraded_ = silent;
    if (!silent) degraded_why_.clear();
    return true;
}

std::int64_t risk_engine::limit_price(schema::side dir, std::int64_t ref_px) const {
    const auto offset = static_cast<std::int64_t>(
        std::llround(static_cast<double>(ref_px) * cfg_.limit_offset_bps / 1e4));
    const std::int64_t tick = cfg_.limit_tick_size;
    std::int64_t raw = dir == schema::side::buy ? ref_px + offset : ref_px - offset;
    // Round towards the passive side: a BUY never pays more, a SELL never asks less than
    // the offset allows.
    std::int64_t ticks = raw / tick;
    if (dir == schema::side::sell && ticks * tick < raw) ++ticks;
    raw = ticks * tick;
    return raw > 0 ? raw : tick;
}

decision risk_engine::on_signal(const schema::signal& s, const std::string& src,
                                std::int64_t now_ns) {
    auto reject = [&](std::string_view rule, std::string reason) -> decision {
        schema::order_rejected r;
        r.symbol = s.symbol;
        r.dir = s.dir;
        r.qty = s.qty;
        r.signal_src = src;
        r.signal_id = s.signal_id;
        r.rule = std::string(rule);
        r.reason = std::move(reason);
        return r;
    };

    // Fail safe first: nothing gets approved while risk cannot trust its own view.
    update_health(now_ns);
    if (degraded_) return reject("risk_degraded", "risk is degraded (" + degraded_why_ + ")");
    const auto desk = state_.state();
    if (desk == schema::trading_state::halted) {
        return reject(state_.loss_driven() ? "max_daily_loss" : "halted",
                      "trading halted: " + state_.reason());
    }
    // The operator's scopes: the signal's symbol and the strategy that sent it.
    const auto scope = scopes_.for_signal(s.symbol, src);
    if (scope.state == schema::trading_state::halted) {
        return reject("halted", "trading halted: " + scope.reason);
    }
    if (const std::uint64_t f = flattening(s.symbol)) {
        return reject("flattening",
                      fmt::format("flatten request {} of {} is under way", f,
                                  flattens_.at(f).empty() ? "every symbol" : flattens_.at(f)));
    }
    const bool scope_decides = static_cast<int>(scope.state) > static_cast<int>(desk);
    const auto st = scope_decides ? scope.state : desk;
    const std::string& st_reason = scope_decides ? scope.reason : state_.reason();

    // The signal itself.
    const bool flat = s.dir == schema::side::flat;
    if (!flat && s.qty <= 0) {
        return reject("invalid_signal", fmt::format("qty must be > 0, got {}", s.qty));
    }
    if (s.ref_px <= 0) {
        return reject("invalid_signal", fmt::format("ref_px must be > 0, got {}", s.ref_px));
    }
    if (!schema::topics::valid_symbol(s.symbol)) {
        return reject("invalid_signal", "malformed symbol \"" + s.symbol + "\"");
    }
    if (!cfg_.allowed_symbols.empty() &&
        std::find(cfg_.allowed_symbols.begin(), cfg_.allowed_symbols.end(), s.symbol) ==
            cfg_.allowed_symbols.end()) {
        return reject("unknown_symbol", s.symbol + " is not in allowed_symbols");
    }
    if (!seen_signals_.insert({src, s.signal_id})) {
        return reject("duplicate_signal",
                      fmt::format("signal {} from {} was already handled", s.signal_id, src));
    }

    // What the order would be: FLAT closes risk's own view of the position.
    const std::int64_t pos = book_.qty(s.symbol);
    schema::side dir = s.dir;
    std::int64_t qty = s.qty;
    if (flat) {
        if (pos == 0) {
            return reject("nothing_to_close",
                          fmt::format("FLAT but the {} position is already 0", s.symbol));
        }
        dir = pos > 0 ? schema::side::sell : schema::side::buy;
        qty = money::abs(pos);
    }
    const std::int64_t requested = qty;
    const auto dir_name = schema::to_string(dir);

    // Market data.
    const quote_state* q = quote(s.symbol);
    if (q == nullptr) return reject("no_quote", "no quote for " + s.symbol + " yet");
    const std::int64_t age_ms = std::max<std::int64_t>(0, now_ns - q->recv_ns) / ns_per_ms;
    if (age_ms > cfg_.stale_quote_ms) {
        return reject("stale_data", fmt::format("last {} quote {} ms ago > stale_quote_ms {}",
                                                s.symbol, age_ms, cfg_.stale_quote_ms));
    }
    const double band_bps =
        std::fabs(static_cast<double>(s.ref_px - q->mid_px)) / static_cast<double>(q->mid_px) * 1e4;
    if (band_bps > cfg_.price_band_bps) {
        return reject("price_band",
                      fmt::format("ref_px {:.4f} is {:.1f} bps from mid {:.4f} > price_band_bps "
                                  "{:.1f}",
                                  px(s.ref_px), band_bps, px(q->mid_px), cfg_.price_band_bps));
    }

    // Size and exposure. Working orders count on the side they would add to.
    const std::int64_t open_same = open_qty(s.symbol, dir);
    if (st == schema::trading_state::reducing) {
        const std::int64_t reducible = std::max<std::int64_t>(
            0, dir == schema::side::sell ? pos - open_same : -pos - open_same);
        if (reducible == 0) {
            return reject(
                "reducing",
                fmt::format("reduce-only ({}): {} {} would not reduce position {} "
                            "(open {} {})",
                            st_reason, dir_name, qty, signed_lots(pos), dir_name, open_same));
        }
        if (qty > reducible) {
            if (!cfg_.reduce_oversize) {
                return reject("reducing",
                              fmt::format("reduce-only ({}): {} {} > {} that would reduce "
                                          "position {}",
                                          st_reason, dir_name, qty, reducible, signed_lots(pos)));
            }
            qty = reducible;
        }
    }
    const symbol_limits& lim = cfg_.limits_for(s.symbol);
    if (qty > lim.max_order_qty) {
        if (!cfg_.reduce_oversize) {
            return reject("max_order_qty",
                          fmt::format("qty {} > max_order_qty {}", qty, lim.max_order_qty));
        }
        qty = lim.max_order_qty;
    }
    const std::int64_t signed_qty = dir == schema::side::buy ? qty : -qty;
    const std::int64_t before = dir == schema::side::buy ? pos + open_same : pos - open_same;
    const std::int64_t after = before + signed_qty;
    if (money::abs(after) > lim.max_position && money::abs(after) > money::abs(before)) {
        return reject("max_position",
                      fmt::format("{} {} would take {} position {} (incl. open orders) to {} > "
                                  "max_position {}",
                                  dir_name, qty, s.symbol, signed_lots(before), signed_lots(after),
                                  lim.max_position));
    }
    const std::int64_t others = money::add(book_.gross_notional(), -book_.notional(s.symbol));
    const std::int64_t gross_before = money::add(others, money::mul(money::abs(before), q->mid_px));
    const std::int64_t gross_after = money::add(others, money::mul(money::abs(after), q->mid_px));
    if (gross_after > cfg_.max_gross_notional && gross_after > gross_before) {
        return reject("max_gross_notional",
                      fmt::format("{} {} {} would take gross notional {:.2f} to {:.2f} > "
                                  "max_gross_notional {:.2f}",
                                  dir_name, qty, s.symbol, px(gross_before), px(gross_after),
                                  px(cfg_.max_gross_notional)));
    }
    if (open_.size() >= static_cast<std::size_t>(cfg_.max_working_orders)) {
        return reject("max_working_orders",
                      fmt::format("{} approved orders have not been filled, cancelled, expired or "
                                  "rejected yet, max_working_orders {}",
                                  open_.size(), cfg_.max_working_orders));
    }
    if (!rate_.allow(now_ns)) {
        return reject("max_orders_per_sec",
                      fmt::format("{} orders approved in the last 1000 ms, max_orders_per_sec {}",
                                  rate_.in_window(now_ns), cfg_.max_orders_per_sec));
    }

    // Approved.
    rate_.record(now_ns);
    schema::order o;
    o.order_id = fmt::format("{}-{}", order_id_prefix_, next_order_++);
    o.symbol = s.symbol;
    o.dir = dir;
    o.qty = qty;
    o.requested_qty = requested;
    o.kind = cfg_.order_kind;
    o.limit_px = o.kind == schema::order_type::limit ? limit_price(dir, s.ref_px) : 0;
    o.signal_src = src;
    o.signal_id = s.signal_id;
    o.tif = cfg_.default_tif;
    o.expire_ts_ns = 0;  // from the tif: execution applies it (DAY: the end of the trading day)
    open_.add(o.order_id, o.symbol, dir, qty);
    return o;
}

std::uint64_t risk_engine::flattening(const std::string& symbol) const {
    for (const auto& [id, scope] : flattens_) {
        if (scope.empty() || scope == symbol) return id;
    }
    return 0;
}

bool risk_engine::begin_flatten(std::uint64_t request_id, const std::string& symbol) {
    if (flattens_.size() >= max_flattens || flattens_.contains(request_id)) return false;
    flattens_.emplace(request_id, symbol);
    return true;
}

std::optional<std::string> risk_engine::abandon_flatten(std::uint64_t request_id) {
    const auto it = flattens_.find(request_id);
    if (it == flattens_.end()) return std::nullopt;
    std::string symbol = std::move(it->second);
    flattens_.erase(it);
    return symbol;
}

risk_engine::flatten_result risk_engine::close_positions(std::uint64_t request_id) {
    flatten_result r;
    r.done.request_id = request_id;
    const auto scope = abandon_flatten(request_id);
    if (!scope) {
        r.done.error = fmt::format("no flatten request {} is under way here", request_id);
        return r;
    }
    r.done.symbol = *scope;
    const auto in_scope = [&](const std::string& symbol) {
        return scope->empty() || symbol == *scope;
    };
    constexpr std::size_t max_listed = schema::limits::max_array_items;
    // Working before the closing orders join them: what execution did not have to cancel.
    open_.for_each(
        [&](const std::string& id, const std::string& symbol, schema::side dir, std::int64_t left) {
            if (in_scope(symbol) && r.done.working.size() < max_listed) {
                r.done.working.push_back({id, symbol, dir, left});
            }
        });
    for (const auto& [sym, p] : book_.positions()) {
        if (p.qty == 0 || !in_scope(sym)) continue;
        const auto leave = [&](std::string why) {
            if (r.done.left.size() < max_listed)
                r.done.left.push_back({sym, p.qty, std::move(why)});
        };
        // Only the operator's halt stops a close: the loss stages exist to stop losses growing.
        if (state_.operator_state() == schema::trading_state::halted) {
            leave("trading halted: " + state_.reason() +
                  " (a halt refuses every order; under reduce-only a flatten closes)");
            continue;
        }
        const auto verdict = scopes_.for_signal(sym, "");
        if (verdict.state == schema::trading_state::halted) {
            leave("trading halted: " + verdict.reason +
                  " (a halt refuses every order; under reduce-only a flatten closes)");
            continue;
        }
        const schema::side dir = p.qty > 0 ? schema::side::sell : schema::side::buy;
        const std::int64_t qty = money::abs(p.qty) - open_qty(sym, dir);
        if (qty <= 0) continue;  // working orders on the closing side close it already
        if (r.orders.size() >= max_listed) {
            leave(fmt::format("more than {} positions: flatten again", max_listed));
            continue;
        }
        schema::order o;
        o.order_id = fmt::format("{}-{}", order_id_prefix_, next_order_++);
        o.symbol = sym;
        o.dir = dir;
        o.qty = qty;
        o.requested_qty = qty;
        o.kind = schema::order_type::market;
        o.limit_px = 0;
        o.signal_src = std::string(schema::flatten_signal_src);
        o.signal_id = request_id;
        o.tif = schema::time_in_force::ioc;
        o.expire_ts_ns = 0;
        open_.add(o.order_id, o.symbol, dir, qty);
        r.done.closing.push_back({o.order_id, sym, dir, qty});
        r.orders.push_back(std::move(o));
    }
    return r;
}

}  // namespace tradebus::risk
