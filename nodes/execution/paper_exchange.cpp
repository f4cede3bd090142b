#include "tradebus/execution/paper_exchange.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

#include "tradebus/schema/topics.hpp"

namespace tradebus::execution {

namespace {
std::uint64_t id_hash(std::string_view id) { return std::hash<std::string_view>{}(id); }
}  // namespace

// ------------------------------------------------------------------ order_id_memory

bool order_id_memory::insert(std::string_view id) {
    const auto h = id_hash(id);
    if (!ids_.insert(h).second) return false;
    fifo_.push_back(h);
    while (fifo_.size() > capacity_) {
        ids_.erase(fifo_.front());
        fifo_.pop_front();
        ++forgotten_;
    }
    return true;
}

bool order_id_memory::contains(std::string_view id) const { return ids_.contains(id_hash(id)); }

// ------------------------------------------------------------------ paper_exchange

paper_exchange::paper_exchange(exchange_config cfg, std::string fill_id_prefix)
    : cfg_(cfg),
      fill_prefix_(std::move(fill_id_prefix)),
      seen_(static_cast<std::size_t>(std::max<std::int64_t>(1, cfg.max_remembered_orders))) {}

std::int64_t paper_exchange::slipped(schema::side s, std::int64_t touch) const noexcept {
    const auto adj = static_cast<std::int64_t>(
        std::llround(static_cast<double>(touch) * cfg_.slippage_bps / 10'000.0));
    const std::int64_t px = s == schema::side::buy ? touch + adj : touch - adj;
    return std::max<std::int64_t>(1, px);
}

void paper_exchange::reject(const schema::order& o, std::string_view code, std::string reason,
                            std::uint64_t trace, std::vector<exec_output>& out) {
    ++rejects_;
    out.push_back(
        {schema::exec_reject{o.order_id, o.symbol, std::string(code), std::move(reason)}, trace});
}

void paper_exchange::on_order(const schema::envelope& env, const schema::order& o,
                              std::int64_t now_ns, std::vector<exec_output>& out) {
    const std::uint64_t trace = env.trace_id;
    if (o.order_id.empty()) {
        reject(o, reject_code::invalid, "order_id is empty", trace, out);
        return;
    }
    if (!seen_.insert(o.order_id)) {
        reject(o, reject_code::duplicate,
               "order id " + o.order_id + " was already received; it is never executed twice",
               trace, out);
        return;
    }
    if (o.qty <= 0) {
        reject(o, reject_code::invalid, "qty " + std::to_string(o.qty) + " is not positive", trace,
               out);
        return;
    }
    if (o.dir != schema::side::buy && o.dir != schema::side::sell) {
        reject(o, reject_code::invalid,
               "side " + std::string(schema::to_string(o.dir)) + ": expected BUY or SELL", trace,
               out);
        return;
    }
    if (!schema::topics::valid_symbol(o.symbol)) {
        reject(o, reject_code::invalid, "symbol is not 1..32 of [A-Za-z0-9_-/:]", trace, out);
        return;
    }
    if (o.kind == schema::order_type::limit && o.limit_px <= 0) {
        reject(o, reject_code::invalid, "LIMIT order needs limit_px > 0", trace, out);
        return;
    }
    if (halted_) {
        reject(o, reject_code::halted, "trading is halted", trace, out);
        return;
    }
    if (cfg_.max_order_age_ms > 0) {
        const std::int64_t age_ms = (now_ns - env.ts_ns) / 1'000'000;
        if (age_ms > cfg_.max_order_age_ms) {
            reject(o, reject_code::stale_order,
                   "approved " + std::to_string(age_ms) + " ms ago, max_order_age_ms " +
                       std::to_string(cfg_.max_order_age_ms),
                   trace, out);
            return;
        }
    }
    auto it = books_.find(o.symbol);
    const bool buy = o.dir == schema::side::buy;
    if (it == books_.end() || !it->second.has_quote ||
        (buy ? it->second.quote.ask_px : it->second.quote.bid_px) <= 0) {
        reject(o, reject_code::no_quote,
               std::string("no ") + (buy ? "ask" : "bid") + " quote for " + o.symbol + " yet",
               trace, out);
        return;
    }
    if (resting_count_ >= static_cast<std::size_t>(cfg_.max_resting_orders)) {
        reject(
            o, reject_code::invalid,
            "book full: " + std::to_string(resting_count_) + " resting orders (max_resting_orders)",
            trace, out);
        return;
    }
    out.push_back(
        {schema::order_ack{o.order_id, o.symbol, o.dir, o.qty, o.kind, o.limit_px}, trace});
    working w{o, o.qty, trace};
    book& b = it->second;
    if (!try_fill(b, w, out)) {
        b.orders.push_back(std::move(w));
        ++resting_count_;
    }
}

bool paper_exchange::try_fill(book& b, working& w, std::vector<exec_output>& out) {
    const bool buy = w.o.dir == schema::side::buy;
    const std::int64_t touch = buy ? b.quote.ask_px : b.quote.bid_px;
    if (touch <= 0) return false;
    std::int64_t px = slipped(w.o.dir, touch);
    if (w.o.kind == schema::order_type::limit) {
        const bool marketable = buy ? touch <= w.o.limit_px : touch >= w.o.limit_px;
        if (!marketable) return false;
        px = buy ? std::min(px, w.o.limit_px) : std::max(px, w.o.limit_px);  // never past limit
    }
    std::int64_t qty = w.leaves;
    std::int64_t& avail = buy ? b.ask_avail : b.bid_avail;
    if (cfg_.partial_fills) qty = std::min(qty, avail);
    if (qty <= 0) return false;
    if (cfg_.partial_fills) avail -= qty;
    w.leaves -= qty;
    ++fills_;
    out.push_back({schema::fill{w.o.order_id, fill_prefix_ + "-" + std::to_string(next_fill_++),
                                w.o.symbol, w.o.dir, qty, px, w.leaves},
                   w.trace_id});
    return w.leaves == 0;
}

void paper_exchange::on_tick(const schema::tick& t, std::vector<exec_output>& out) {
    auto it = books_.find(t.symbol);
    if (it == books_.end()) {
        if (books_.size() >= static_cast<std::size_t>(cfg_.max_symbols)) return;
        it = books_.emplace(t.symbol, book{}).first;
    }
    book& b = it->second;
    b.quote = t;
    b.has_quote = true;
    b.bid_avail = t.bid_px > 0 ? t.bid_qty : 0;
    b.ask_avail = t.ask_px > 0 ? t.ask_qty : 0;
    if (halted_) return;
    for (auto w = b.orders.begin(); w != b.orders.end();) {
        if (try_fill(b, *w, out)) {
            w = b.orders.erase(w);
            --resting_count_;
        } else {
            ++w;
        }
    }
}

void paper_exchange::set_halted(bool halted, std::string_view reason,
                                std::vector<exec_output>& out) {
    if (halted == halted_) return;
    halted_ = halted;
    if (!halted_) return;
    for (auto& [sym, b] : books_) {
        for (auto& w : b.orders) {
            std::string why = "resting order cancelled, " + std::to_string(w.leaves) + " of " +
                              std::to_string(w.o.qty) + " unfilled: trading halted";
            if (!reason.empty()) why += " (" + std::string(reason) + ")";
            reject(w.o, reject_code::halted, std::move(why), w.trace_id, out);
        }
        b.orders.clear();
    }
    resting_count_ = 0;
}

}  // namespace tradebus::execution
