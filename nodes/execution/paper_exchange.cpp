#include "tradebus/execution/paper_exchange.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <functional>

#include "tradebus/runtime/node.hpp"
#include "tradebus/schema/orders.hpp"
#include "tradebus/schema/topics.hpp"

namespace tradebus::execution {

namespace {
// 0 marks an empty slot: a hash of 0 is kept as 1 (a collision at worst, which rejects an order
// as a duplicate, never admits one).
std::uint64_t id_hash(std::string_view id) {
    const std::uint64_t h = std::hash<std::string_view>{}(id);
    return h == 0 ? 1 : h;
}
constexpr std::uint64_t spread = 0x9e3779b97f4a7c15ull;  // Fibonacci hashing: the home slot
}  // namespace

// ------------------------------------------------------------------ order_id_memory

std::size_t order_id_memory::slot_of(std::uint64_t key) const noexcept {
    const std::size_t mask = slots_.size() - 1;
    auto i = static_cast<std::size_t>((key * spread) >> shift_);
    while (slots_[i] != 0 && slots_[i] != key) i = (i + 1) & mask;
    return i;
}

void order_id_memory::grow() {
    std::vector<std::uint64_t> old(slots_.empty() ? 16 : slots_.size() * 2, 0);
    old.swap(slots_);
    shift_ = 64 - std::countr_zero(slots_.size());
    for (const std::uint64_t key : old) {
        if (key != 0) slots_[slot_of(key)] = key;
    }
}

void order_id_memory::erase(std::uint64_t key) noexcept {
    const std::size_t mask = slots_.size() - 1;
    std::size_t hole = slot_of(key);
    if (slots_[hole] != key) return;
    // Backward shift: each later key of the chain whose home is not between the hole and it
    // moves into the hole, so every key stays reachable from its home without tombstones.
    for (std::size_t j = (hole + 1) & mask; slots_[j] != 0; j = (j + 1) & mask) {
        const auto home = static_cast<std::size_t>((slots_[j] * spread) >> shift_);
        if (((j - home) & mask) >= ((j - hole) & mask)) {
            slots_[hole] = slots_[j];
            hole = j;
        }
    }
    slots_[hole] = 0;
    --count_;
}

bool order_id_memory::insert(std::string_view id) {
    const auto h = id_hash(id);
    if (slots_.empty()) grow();
    const std::size_t at = slot_of(h);
    if (slots_[at] == h) return false;
    slots_[at] = h;
    ++count_;
    fifo_.push_back(h);
    while (fifo_.size() > capacity_) {
        erase(fifo_.front());
        fifo_.pop_front();
        ++forgotten_;
    }
    if (count_ * 2 > slots_.size()) grow();
    return true;
}

bool order_id_memory::contains(std::string_view id) const {
    if (slots_.empty()) return false;
    const auto h = id_hash(id);
    return slots_[slot_of(h)] == h;
}

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

std::optional<order_refusal> check_order(const schema::envelope& env, const schema::order& o,
                                         std::int64_t now_ns, order_id_memory& seen, bool halted,
                                         bool closing_through_halt, std::int64_t max_order_age_ms) {
    const auto refuse = [](std::string_view code, std::string reason) {
        return std::optional<order_refusal>(order_refusal{code, std::move(reason)});
    };
    if (o.order_id.empty()) return refuse(reject_code::invalid, "order_id is empty");
    if (!seen.insert(o.order_id)) {
        return refuse(
            reject_code::duplicate,
            "order id " + o.order_id + " was already received; it is never executed twice");
    }
    if (o.qty <= 0) {
        return refuse(reject_code::invalid, "qty " + std::to_string(o.qty) + " is not positive");
    }
    if (o.dir != schema::side::buy && o.dir != schema::side::sell) {
        return refuse(reject_code::invalid,
                      "side " + std::string(schema::to_string(o.dir)) + ": expected BUY or SELL");
    }
    if (!schema::topics::valid_symbol(o.symbol)) {
        return refuse(reject_code::invalid, "symbol is not 1..32 of [A-Za-z0-9_-/:]");
    }
    if (o.kind == schema::order_type::limit && o.limit_px <= 0) {
        return refuse(reject_code::invalid, "LIMIT order needs limit_px > 0");
    }
    const bool immediate =
        o.tif == schema::time_in_force::ioc || o.tif == schema::time_in_force::fok;
    if (o.expire_ts_ns < 0 || (immediate && o.expire_ts_ns != 0) ||
        (o.expire_ts_ns > 0 && o.expire_ts_ns <= now_ns)) {
        return refuse(
            reject_code::invalid,
            "expire_ts_ns " + std::to_string(o.expire_ts_ns) +
                (immediate ? ": must be 0 for " + std::string(schema::to_string(o.tif))
                           : ": must be 0 or after now (" + std::to_string(now_ns) + ")"));
    }
    if (halted && !(closing_through_halt && o.signal_src == schema::flatten_signal_src)) {
        return refuse(reject_code::halted, "trading is halted");
    }
    if (max_order_age_ms > 0) {
        const std::int64_t age_ms = (now_ns - env.ts_ns) / 1'000'000;
        if (age_ms > max_order_age_ms) {
            return refuse(reject_code::stale_order, "approved " + std::to_string(age_ms) +
                                                        " ms ago, max_order_age_ms " +
                                                        std::to_string(max_order_age_ms));
        }
    }
    return std::nullopt;
}

void paper_exchange::on_order(const schema::envelope& env, const schema::order& o,
                              std::int64_t now_ns, std::vector<exec_output>& out) {
    const std::uint64_t trace = env.trace_id;
    if (auto refusal = check_order(env, o, now_ns, seen_, halted_, closing_through_halt_,
                                   cfg_.max_order_age_ms)) {
        reject(o, refusal->code, std::move(refusal->reason), trace, out);
        return;
    }
    const bool immediate =
        o.tif == schema::time_in_force::ioc || o.tif == schema::time_in_force::fok;
    auto it = books_.find(o.symbol);
    const bool buy = o.dir == schema::side::buy;
    if (it == books_.end() || !it->second.has_quote ||
        (buy ? it->second.quote.ask_px : it->second.quote.bid_px) <= 0) {
        reject(o, reject_code::no_quote,
               std::string("no ") + (buy ? "ask" : "bid") + " quote for " + o.symbol + " yet",
               trace, out);
        return;
    }
    if (!immediate && resting_.size() >= static_cast<std::size_t>(cfg_.max_resting_orders)) {
        reject(o, reject_code::invalid,
               "book full: " + std::to_string(resting_.size()) +
                   " resting orders (max_resting_orders)",
               trace, out);
        return;
    }
    std::int64_t expire_ns = o.expire_ts_ns;
    if (expire_ns == 0 && o.tif == schema::time_in_force::day) {
        expire_ns = session_.next_start(now_ns);
    }
    out.push_back({schema::order_ack{o.order_id, o.symbol, o.dir, o.qty, o.kind, o.limit_px, o.tif,
                                     expire_ns, o.signal_src},
                   trace});
    working w{o, o.qty, trace, expire_ns};
    book& b = it->second;
    switch (o.tif) {
        case schema::time_in_force::fok:
            if (fills_completely(b, w)) {
                (void)try_fill(b, w, out);
            } else {
                cancelled(w, "execution",
                          "FOK: the quote does not fill all " + std::to_string(o.qty) + " now", 0,
                          out);
            }
            return;
        case schema::time_in_force::ioc:
            if (!try_fill(b, w, out)) {
                cancelled(w, "execution",
                          "IOC: " + std::to_string(w.leaves) + " of " + std::to_string(o.qty) +
                              " not filled at once",
                          0, out);
            }
            return;
        case schema::time_in_force::day:
        case schema::time_in_force::gtc:
            if (!try_fill(b, w, out)) rest(b, std::move(w));
            return;
    }
}

bool paper_exchange::fills_completely(const book& b, const working& w) const {
    const bool buy = w.o.dir == schema::side::buy;
    const std::int64_t touch = buy ? b.quote.ask_px : b.quote.bid_px;
    if (touch <= 0) return false;
    if (w.o.kind == schema::order_type::limit &&
        !(buy ? touch <= w.o.limit_px : touch >= w.o.limit_px)) {
        return false;
    }
    return !cfg_.partial_fills || (buy ? b.ask_avail : b.bid_avail) >= w.leaves;
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

void paper_exchange::rest(book& b, working w) {
    const std::string id = w.o.order_id;
    const std::int64_t expire_ns = w.expire_ns;
    b.orders.push_back(std::move(w));
    resting_[id] = slot{&b, std::prev(b.orders.end())};
    if (expire_ns > 0) expiries_.emplace(expire_ns, id);
}

paper_exchange::order_list::iterator paper_exchange::remove(book& b, order_list::iterator it) {
    if (it->expire_ns > 0) expiries_.erase({it->expire_ns, it->o.order_id});
    resting_.erase(it->o.order_id);
    return b.orders.erase(it);
}

void paper_exchange::cancelled(const working& w, std::string by, std::string reason,
                               std::uint64_t request_id, std::vector<exec_output>& out) {
    ++cancels_;
    out.push_back({schema::order_cancelled{w.o.order_id, w.o.symbol, w.o.dir, w.o.qty, w.leaves,
                                           std::move(by), std::move(reason), request_id},
                   w.trace_id});
}

paper_exchange::book& paper_exchange::book_for(const std::string& symbol) {
    auto it = books_.find(symbol);
    if (it == books_.end()) it = books_.emplace(symbol, book{}).first;
    return it->second;
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
        w = try_fill(b, *w, out) ? remove(b, w) : std::next(w);
    }
}

std::size_t paper_exchange::expire(std::int64_t now_ns, std::vector<exec_output>& out) {
    std::size_t n = 0;
    while (!expiries_.empty() && expiries_.begin()->first <= now_ns) {
        const auto found = resting_.find(expiries_.begin()->second);
        if (found == resting_.end()) {  // not expected: the index and the expiries move together
            expiries_.erase(expiries_.begin());
            continue;
        }
        const working& w = *found->second.it;
        ++expired_;
        out.push_back({schema::order_expired{w.o.order_id, w.o.symbol, w.o.dir, w.o.qty, w.leaves,
                                             w.expire_ns},
                       w.trace_id});
        remove(*found->second.b, found->second.it);
        ++n;
    }
    return n;
}

std::optional<std::int64_t> paper_exchange::next_expiry_ns() const {
    if (expiries_.empty()) return std::nullopt;
    return expiries_.begin()->first;
}

std::optional<std::int64_t> paper_exchange::resting_leaves(std::string_view id) const {
    const auto it = resting_.find(std::string(id));
    if (it == resting_.end()) return std::nullopt;
    return it->second.it->leaves;
}

void paper_exchange::cancel(const schema::cancel_request& r, std::vector<exec_output>& out) {
    const auto refuse = [&](std::string_view code, std::string reason) {
        out.push_back({schema::cancel_reject{r.request_id, r.order_id, r.symbol, std::string(code),
                                             std::move(reason)},
                       0});
    };
    if (auto bad = schema::cancel_scope_error(r.request_id, r.order_id, r.symbol, r.all)) {
        refuse(schema::cancel_code::invalid, *bad);
        return;
    }
    const std::string reason = r.reason.empty() ? "operator cancel" : r.reason;
    std::uint64_t n = 0;
    const auto cancel_book = [&](book& b) {
        for (auto it = b.orders.begin(); it != b.orders.end();) {
            cancelled(*it, r.by, reason, r.request_id, out);
            it = remove(b, it);
            ++n;
        }
    };
    if (!r.order_id.empty()) {
        const auto found = resting_.find(r.order_id);
        if (found == resting_.end()) {
            if (seen_.contains(r.order_id)) {
                refuse(schema::cancel_code::already_terminal,
                       "order " + r.order_id +
                           " is not resting: it was filled, cancelled, expired or rejected");
            } else {
                refuse(schema::cancel_code::unknown_order,
                       "no order " + r.order_id + " was received by this execution node");
            }
            return;
        }
        const slot where = found->second;
        cancelled(*where.it, r.by, reason, r.request_id, out);
        remove(*where.b, where.it);
        n = 1;
    } else if (!r.symbol.empty()) {
        const auto b = books_.find(r.symbol);
        if (b == books_.end()) {
            refuse(schema::cancel_code::unknown_symbol,
                   "no quote and no order for " + r.symbol + " at this execution node");
            return;
        }
        cancel_book(b->second);
    } else {
        for (auto& [sym, b] : books_) cancel_book(b);
    }
    out.push_back({schema::cancel_done{r.request_id, n}, 0});
}

std::size_t paper_exchange::cancel_all(std::string_view reason, std::vector<exec_output>& out) {
    std::size_t n = 0;
    for (auto& [sym, b] : books_) {
        for (auto it = b.orders.begin(); it != b.orders.end();) {
            cancelled(*it, "execution", std::string(reason), 0, out);
            it = remove(b, it);
            ++n;
        }
    }
    return n;
}

std::size_t paper_exchange::cancel_scope(std::string_view symbol, std::string_view strategy,
                                         std::string_view reason, std::vector<exec_output>& out) {
    if (!cfg_.cancel_on_halt || (symbol.empty() && strategy.empty())) return 0;
    std::size_t n = 0;
    for (auto& [sym, b] : books_) {
        if (!symbol.empty() && sym != symbol) continue;
        for (auto it = b.orders.begin(); it != b.orders.end();) {
            if (!strategy.empty() && it->o.signal_src != strategy) {
                ++it;
                continue;
            }
            cancelled(*it, "execution", std::string(reason), 0, out);
            it = remove(b, it);
            ++n;
        }
    }
    return n;
}

void paper_exchange::set_halted(bool halted, std::string_view reason,
                                std::vector<exec_output>& out) {
    if (halted == halted_) return;
    halted_ = halted;
    if (!halted_ || !cfg_.cancel_on_halt) return;
    std::string why = "trading halted";
    if (!reason.empty()) why += " (" + std::string(reason) + ")";
    (void)cancel_all(why, out);
}

bool paper_exchange::restore_ack(const schema::order_ack& a, std::uint64_t trace_id) {
    if (a.tif == schema::time_in_force::ioc || a.tif == schema::time_in_force::fok) return false;
    if (a.order_id.empty() || a.qty <= 0 || !schema::topics::valid_symbol(a.symbol)) return false;
    if (resting_.contains(a.order_id)) return false;
    if (resting_.size() >= static_cast<std::size_t>(cfg_.max_resting_orders)) return false;
    schema::order o;
    o.order_id = a.order_id;
    o.symbol = a.symbol;
    o.dir = a.dir;
    o.qty = a.qty;
    o.requested_qty = a.qty;
    o.kind = a.kind;
    o.limit_px = a.limit_px;
    o.tif = a.tif;
    o.expire_ts_ns = a.expire_ts_ns;
    o.signal_src = a.signal_src;  // "" from an ack written before it carried one
    rest(book_for(a.symbol), working{std::move(o), a.qty, trace_id, a.expire_ts_ns});
    return true;
}

void paper_exchange::restore_fill(const schema::fill& f) {
    const auto found = resting_.find(f.order_id);
    if (found == resting_.end()) return;
    if (f.leaves_qty <= 0) {
        remove(*found->second.b, found->second.it);
    } else {
        found->second.it->leaves = f.leaves_qty;
    }
}

void paper_exchange::restore_end(std::string_view order_id) {
    const auto found = resting_.find(std::string(order_id));
    if (found != resting_.end()) remove(*found->second.b, found->second.it);
}

std::vector<schema::resting_order> paper_exchange::resting_orders() const {
    std::vector<schema::resting_order> out;
    out.reserve(resting_.size());
    for (const auto& [symbol, b] : books_) {
        for (const auto& w : b.orders) {
            out.push_back({w.o.order_id, w.o.symbol, w.o.dir, w.o.qty, w.leaves, w.o.kind,
                           w.o.limit_px, w.o.tif, w.expire_ns, w.o.signal_src, w.trace_id});
        }
    }
    return out;
}

std::size_t paper_exchange::restore_snapshot(const schema::exec_snapshot& s) {
    for (auto& [symbol, b] : books_) b.orders.clear();
    resting_.clear();
    expiries_.clear();
    std::size_t n = 0;
    for (const auto& r : s.resting) {
        if (r.leaves_qty <= 0 || r.leaves_qty > r.qty) continue;
        const schema::order_ack a{r.order_id, r.symbol, r.dir,          r.qty,       r.kind,
                                  r.limit_px, r.tif,    r.expire_ts_ns, r.signal_src};
        if (!restore_ack(a, r.trace_id)) continue;
        resting_.find(r.order_id)->second.it->leaves = r.leaves_qty;
        ++n;
    }
    return n;
}

}  // namespace tradebus::execution
