#include "tradebus/strategy/strategy_node.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <variant>

#include "tradebus/schema/topics.hpp"

namespace tradebus::strategy {

namespace topics = schema::topics;

strategy_node::strategy_node(strategy_config cfg) : cfg_(std::move(cfg)) {
    for (const auto& sym : cfg_.symbols) {
        auto it = cfg_.params.find(sym);
        const symbol_params p = it == cfg_.params.end() ? symbol_params{} : it->second;
        engines_.emplace(sym, signal_engine(p, cfg_.signal_every_tick));
    }
}

std::vector<std::string> strategy_node::subscriptions() const {
    std::vector<std::string> subs;
    const auto md = cfg_.source == price_source::bar_close ? topics::md_bar : topics::md_tick;
    for (const auto& sym : cfg_.symbols) {
        for (auto prefix : {md, topics::approved, topics::rejected, topics::exec_fill,
                            topics::exec_reject, topics::exec_cancelled, topics::exec_expired}) {
            subs.push_back(topics::for_symbol(prefix, sym));
        }
    }
    return subs;
}

std::vector<std::string> strategy_node::publications() const {
    return {std::string(topics::signal)};
}

const signal_engine* strategy_node::engine(const std::string& symbol) const {
    auto it = engines_.find(symbol);
    return it == engines_.end() ? nullptr : &it->second;
}

bool strategy_node::ours(const runtime::context& ctx, const std::string& signal_src) const {
    return signal_src == ctx.node_name();
}

void strategy_node::on_start(runtime::context& ctx) {
    // Risk remembers every (source, signal_id) it handled, and a restarted risk recovers them
    // from the journal, so a restarted strategy counting from 1 again would see its signals
    // refused as duplicate_signal. Starting at the start time in microseconds keeps ids rising
    // across restarts (a strategy would need over a million signals a second to catch up).
    const auto start_us =
        static_cast<std::uint64_t>(std::max<std::int64_t>(1, ctx.now_ns() / 1000));
    first_signal_id_ = next_signal_id_ = std::max(next_signal_id_, start_us);
    spdlog::info("strategy {}: trading {} symbol(s) from {}{}", ctx.node_name(),
                 cfg_.symbols.size(),
                 cfg_.source == price_source::bar_close ? "bar closes" : "tick mids",
                 cfg_.signal_every_tick ? " in signal_every_tick (benchmark) mode" : "");
}

void strategy_node::on_event(runtime::context& ctx, const runtime::inbound& in) {
    const auto trace = in.ev.env.trace_id;
    if (const auto* t = std::get_if<schema::tick>(&in.ev.body)) {
        if (cfg_.source != price_source::tick_mid) return;
        // Mid of a two-sided quote; the last trade when one side is missing.
        std::int64_t px = 0;
        if (t->bid_px > 0 && t->ask_px > 0 && t->ask_px >= t->bid_px) {
            px = t->bid_px + (t->ask_px - t->bid_px) / 2;
        } else if (t->last_px > 0) {
            px = t->last_px;
        }
        if (px <= 0) {
            if (auto n = bad_price_log_.hit()) {
                spdlog::warn("ignored {} tick(s) with no usable price (last: {} bid {} ask {})", n,
                             t->symbol, t->bid_px, t->ask_px);
            }
            return;
        }
        on_price(ctx, t->symbol, sample::of_price(schema::from_fixed(px)), px, trace);
    } else if (const auto* b = std::get_if<schema::bar>(&in.ev.body)) {
        if (cfg_.source != price_source::bar_close) return;
        if (b->close_px <= 0 || b->high_px < b->low_px) {
            if (auto n = bad_price_log_.hit()) {
                spdlog::warn("ignored {} bar(s) with no usable price (last: {})", n, b->symbol);
            }
            return;
        }
        on_price(ctx, b->symbol,
                 sample{schema::from_fixed(b->high_px), schema::from_fixed(b->low_px),
                        schema::from_fixed(b->close_px)},
                 b->close_px, trace);
    } else if (const auto* o = std::get_if<schema::order>(&in.ev.body)) {
        if (ours(ctx, o->signal_src)) tracker_.on_approved(*o, ctx.now_ns());
    } else if (const auto* r = std::get_if<schema::order_rejected>(&in.ev.body)) {
        if (ours(ctx, r->signal_src)) {
            tracker_.on_rejected(r->signal_id);
            spdlog::debug("signal {} {} rejected by {}: {} ({})", r->signal_id, r->symbol,
                          in.ev.env.src, r->rule, r->reason);
        }
    } else if (const auto* f = std::get_if<schema::fill>(&in.ev.body)) {
        if (tracker_.on_fill(*f, ctx.now_ns())) {
            spdlog::debug("fill {} {} {} @ {}: position {}", f->order_id, schema::to_string(f->dir),
                          f->qty, schema::from_fixed(f->px), tracker_.position(f->symbol));
        }
    } else if (const auto* x = std::get_if<schema::exec_reject>(&in.ev.body)) {
        tracker_.on_exec_reject(x->order_id);
    } else if (const auto* c = std::get_if<schema::order_cancelled>(&in.ev.body)) {
        tracker_.on_exec_reject(c->order_id);  // its rest will never fill either
    } else if (const auto* e = std::get_if<schema::order_expired>(&in.ev.body)) {
        tracker_.on_exec_reject(e->order_id);
    }
}

void strategy_node::on_price(runtime::context& ctx, const std::string& symbol, const sample& s,
                             std::int64_t ref_px, std::uint64_t trace_id) {
    auto it = engines_.find(symbol);
    if (it == engines_.end()) return;  // a prefix match for another symbol (AAPL vs AAPLX)
    const std::int64_t exposure = tracker_.exposure(symbol);
    auto d = it->second.on_sample(s, exposure);
    if (!d) return;
    schema::signal sig;
    sig.signal_id = next_signal_id_++;
    sig.symbol = symbol;
    sig.dir = d->dir;
    sig.qty = d->qty;
    sig.confidence = d->confidence;
    sig.ref_px = ref_px;
    sig.reason = std::move(d->reason);
    // Benchmark signals are not tracked: they alternate regardless of position.
    if (!cfg_.signal_every_tick) {
        const std::int64_t delta = sig.dir == schema::side::buy    ? sig.qty
                                   : sig.dir == schema::side::sell ? -sig.qty
                                                                   : -exposure;
        tracker_.on_signal_sent(sig.signal_id, symbol, delta, ctx.now_ns());
        spdlog::debug("signal {} {} {} {}: {}", sig.signal_id, schema::to_string(sig.dir), sig.qty,
                      symbol, sig.reason);
    }
    ctx.publish(topics::for_symbol(topics::signal, symbol), sig, trace_id);
}

std::int64_t strategy_node::on_timer(runtime::context& ctx, std::int64_t now_ns) {
    constexpr std::int64_t ns_per_ms = 1'000'000;
    if (auto n = tracker_.expire(now_ns, cfg_.pending_timeout_ms * ns_per_ms)) {
        spdlog::warn(
            "strategy {}: {} signal(s)/order(s) had no answer for {} ms; no longer "
            "counted as exposure",
            ctx.node_name(), n, cfg_.pending_timeout_ms);
    }
    return now_ns + 1000 * ns_per_ms;
}

std::unique_ptr<runtime::node_logic> make_strategy(common::section& own) {
    return std::make_unique<strategy_node>(load_strategy_config(own));
}

}  // namespace tradebus::strategy
