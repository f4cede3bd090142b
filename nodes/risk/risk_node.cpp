#include "tradebus/risk/risk_node.hpp"

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <variant>

#include "tradebus/schema/codec.hpp"
#include "tradebus/schema/orders.hpp"
#include "tradebus/schema/topics.hpp"

namespace tradebus::risk {

namespace topics = schema::topics;

namespace {
constexpr std::int64_t ns_per_ms = 1'000'000;
constexpr std::int64_t timer_period_ns = 250 * ns_per_ms;
// The trace id of an event no tick caused (PROTOCOL.md "Envelope", trace_id): risk's state at
// start, an operator halt or resume, positions republished after recovery. Events a tick or a
// fill caused carry that event's trace id instead.
constexpr std::uint64_t no_trace = 0;
// How long a flatten waits for execution's answer to its cancel before giving up (closing
// nothing: an order could still rest that the closing order would then cross).
constexpr std::int64_t flatten_wait_ms = 5000;
}  // namespace

risk_node::risk_node(risk_config cfg) : engine_(std::move(cfg)) {}

std::vector<std::string> risk_node::subscriptions() const {
    return {std::string(topics::md_tick),        std::string(topics::signal),
            std::string(topics::exec_fill),      std::string(topics::exec_reject),
            std::string(topics::exec_cancelled), std::string(topics::exec_expired),
            std::string(topics::trading),        std::string(topics::flatten),
            std::string(topics::cancel_done),    std::string(topics::cancel_reject)};
}

std::vector<std::string> risk_node::publications() const {
    return {std::string(topics::approved),
            std::string(topics::rejected),
            std::string(topics::position),
            std::string(topics::risk_state),
            topics::for_symbol(topics::snapshot, name_),
            topics::for_symbol(topics::limits, name_),
            topics::for_symbol(topics::flatten_done, name_)};
}

void risk_node::configure(const std::string& node_name, const runtime::trading_session& session) {
    name_ = node_name;
    session_ = session;
}

std::optional<runtime::recovery_request> risk_node::recovery(std::int64_t now_ns) const {
    return runtime::recovery_request{recovery_prefixes(), session_.horizon_start(now_ns),
                                     topics::for_symbol(topics::snapshot, name_), 0};
}

void risk_node::on_recover(runtime::context& ctx, const runtime::inbound& in) {
    if (!rebuild_) rebuild_.emplace(ctx.node_name(), session_);
    rebuild_->apply(engine_, in.topic, in.ev);
}

void risk_node::roll_session(runtime::context& ctx, std::int64_t now_ns) {
    if (!started_ || now_ns < next_session_ns_) return;
    next_session_ns_ = session_.next_start(now_ns);
    if (!engine_.begin_session(session_.start_of(now_ns))) return;
    auto snap = engine_.snapshot();
    spdlog::info(
        "risk: trading session started at {} ns ({} {}): daily loss reset, {} position(s) "
        "carried, realized {:.2f}",
        engine_.session_start(), session_.start(), session_.timezone(), snap.positions.size(),
        schema::from_fixed(engine_.book().total_realized_pnl()));
    if (snap.positions.size() > schema::limits::max_array_items ||
        snap.working.size() > schema::limits::max_array_items) {
        // Undecodable if sent: recovery then starts from the previous snapshot instead.
        spdlog::error(
            "risk: {} positions or {} working orders exceed a snapshot's {}: snapshot not "
            "journaled",
            snap.positions.size(), snap.working.size(), schema::limits::max_array_items);
    } else {
        ctx.publish(topics::for_symbol(topics::snapshot, ctx.node_name()), snap, no_trace);
    }
    if (started_) sync_state(ctx, no_trace);
}

void risk_node::on_start(runtime::context& ctx) {
    started_ = true;
    if (rebuild_) {
        rebuild_->finish(engine_);
        const auto& n = rebuild_->applied();
        const auto& book = engine_.book();
        spdlog::info(
            "risk: state rebuilt from the journal: {} fill(s), {} exec reject(s), {} cancel(s) "
            "or expir(ies), {} approval(s), {} rejection(s), {} mark(s); {} position(s), {} "
            "working order(s), realized {:.2f}, day P&L {:.2f}, trading {}",
            n.fills, n.rejects, n.ends, n.approvals, n.rejections, n.marks, book.positions().size(),
            engine_.open_orders(), schema::from_fixed(book.total_realized_pnl()),
            schema::from_fixed(engine_.day_pnl()), schema::to_string(engine_.state()));
        for (const auto& [sym, p] : book.positions()) {
            if (p.qty != 0 || p.realized_pnl != 0) publish_position(ctx, sym, no_trace);
        }
        rebuild_.reset();
    }
    roll_session(ctx, ctx.now_ns());
    engine_.set_order_id_prefix(ctx.node_name() + "-" + std::to_string(ctx.now_ns() / ns_per_ms));
    publish_limits(ctx, "start", {});
    sync_state(ctx, no_trace);
}

void risk_node::publish_limits(runtime::context& ctx, std::string cause, std::string error) {
    const auto& c = engine_.config();
    spdlog::info(
        "risk {} limits ({}): max_order_qty {} ({}), max_position {}, {} symbol override(s), "
        "max_gross_notional {:.2f}, max_daily_loss {:.2f}, max_orders_per_sec {}, "
        "price_band_bps {}, stale_quote_ms {}",
        ctx.node_name(), cause, c.limits.max_order_qty, c.reduce_oversize ? "reduce" : "reject",
        c.limits.max_position, c.symbols.size(), schema::from_fixed(c.max_gross_notional),
        schema::from_fixed(c.max_daily_loss), c.max_orders_per_sec, c.price_band_bps,
        c.stale_quote_ms);
    auto l = engine_.limits();
    l.cause = std::move(cause);
    l.error = std::move(error);
    if (l.error.size() > schema::limits::max_string_bytes) {
        // Cut at a line end (never inside a UTF-8 sequence) to stay decodable.
        const auto cut = l.error.rfind('\n', schema::limits::max_string_bytes - 1);
        l.error.resize(cut == std::string::npos ? 0 : cut);
    }
    if (l.symbols.size() > schema::limits::max_array_items ||
        l.allowed_symbols.size() > schema::limits::max_array_items) {
        spdlog::error("risk: more than {} symbols: risk.limits not published",
                      schema::limits::max_array_items);
        return;
    }
    ctx.publish(topics::for_symbol(topics::limits, ctx.node_name()), l, no_trace);
}

std::function<void(runtime::context&)> risk_node::prepare_reload(common::section& own) {
    auto cfg = std::make_shared<risk_config>(load_risk_config(own));
    return [this, cfg](runtime::context& ctx) {
        const bool state_changed = engine_.reconfigure(std::move(*cfg));
        publish_limits(ctx, "reload", {});
        if (state_changed) sync_state(ctx, no_trace);
    };
}

void risk_node::on_reload_refused(runtime::context& ctx, const std::string& errors) {
    publish_limits(ctx, "refused", errors);
}

void risk_node::on_event(runtime::context& ctx, const runtime::inbound& in) {
    const auto& env = in.ev.env;
    roll_session(ctx, ctx.now_ns());  // an event after the boundary counts in the new session
    if (const auto* t = std::get_if<schema::tick>(&in.ev.body)) {
        if (!engine_.on_quote(*t, ctx.now_ns(), env.trace_id)) {
            if (auto n = bad_input_log_.hit()) {
                spdlog::warn("ignored {} tick(s) without a two-sided quote (last: {} from {})", n,
                             t->symbol, env.src);
            }
            return;
        }
        sync_health(ctx, engine_.update_health(ctx.now_ns()));
        sync_state(ctx, env.trace_id);  // a mark can cross the daily loss limit
    } else if (const auto* s = std::get_if<schema::signal>(&in.ev.body)) {
        handle_signal(ctx, *s, env);
    } else if (const auto* f = std::get_if<schema::fill>(&in.ev.body)) {
        if (!engine_.on_fill(*f, ctx.now_ns())) {
            if (auto n = bad_input_log_.hit()) {
                spdlog::warn("ignored {} malformed or repeated fill(s) (last: {} {} from {})", n,
                             f->fill_id, f->symbol, env.src);
            }
            return;
        }
        publish_position(ctx, f->symbol, env.trace_id);
        sync_state(ctx, env.trace_id);
    } else if (const auto* x = std::get_if<schema::exec_reject>(&in.ev.body)) {
        engine_.on_exec_reject(*x);
    } else if (const auto* c = std::get_if<schema::order_cancelled>(&in.ev.body)) {
        if (engine_.on_order_end(c->order_id)) {
            spdlog::debug("order {} cancelled ({} of {} unfilled, by {}): no longer working",
                          c->order_id, c->leaves_qty, c->qty, c->by);
        }
    } else if (const auto* e = std::get_if<schema::order_expired>(&in.ev.body)) {
        if (engine_.on_order_end(e->order_id)) {
            spdlog::debug("order {} expired ({} of {} unfilled): no longer working", e->order_id,
                          e->leaves_qty, e->qty);
        }
    } else if (const auto* fr = std::get_if<schema::flatten_request>(&in.ev.body)) {
        if (in.topic == topics::flatten) begin_flatten(ctx, *fr, env.src);
    } else if (const auto* cd = std::get_if<schema::cancel_done>(&in.ev.body)) {
        if (flatten_deadlines_.contains(cd->request_id)) {
            finish_flatten(ctx, cd->request_id, cd->cancelled, {});
        }
    } else if (const auto* cr = std::get_if<schema::cancel_reject>(&in.ev.body)) {
        if (flatten_deadlines_.contains(cr->request_id)) {
            // No book for the symbol at execution: nothing rested there to cancel.
            finish_flatten(ctx, cr->request_id, 0,
                           cr->code == schema::cancel_code::unknown_symbol
                               ? std::string()
                               : "execution refused the cancel (" + cr->code + ": " + cr->reason +
                                     "): nothing was closed");
        }
    } else if (const auto* ts = std::get_if<schema::trading_state_changed>(&in.ev.body)) {
        if (in.topic.starts_with(topics::trading_scopes)) {
            on_scope(in.topic, *ts, env.src);
        } else if (in.topic == topics::trading) {
            if (engine_.set_operator_state(ts->state, ts->reason)) {
                spdlog::debug("operator set trading state {} ({}) via {}",
                              schema::to_string(ts->state), ts->reason, env.src);
            }
            sync_state(ctx, no_trace);  // an operator's change: no tick caused it
        }
    }
}

void risk_node::on_trading_state(runtime::context& ctx, schema::trading_state s,
                                 const std::string& reason) {
    if (engine_.set_operator_state(s, reason)) {
        spdlog::debug("operator set trading state {} ({}) via the runtime", schema::to_string(s),
                      reason);
    }
    // Before on_start (registration, recovery) nothing is published: a risk.state from a risk
    // that has not rebuilt its loss stage yet would be journaled as its latest word and undo
    // the latch on the next restart. on_start publishes the state once it is known.
    if (started_) sync_state(ctx, no_trace);
}

void risk_node::on_scope(std::string_view topic, const schema::trading_state_changed& ev,
                         const std::string& src) {
    using change = trading_scopes::change;
    const std::string scope = schema::trading_scope_name(ev.symbol, ev.strategy);
    switch (engine_.set_scope(topic, ev)) {
        case change::changed:
            if (ev.state == schema::trading_state::active) {
                spdlog::info("trading {} active again (by {}: {})", scope, ev.by, ev.reason);
            } else {
                spdlog::warn("trading {} {} by {}: {}", scope, schema::to_string(ev.state), ev.by,
                             ev.reason);
            }
            break;
        case change::none:
            break;
        case change::malformed:
            if (auto n = bad_input_log_.hit()) {
                spdlog::warn(
                    "ignored {} trading_state event(s) whose scope does not match the topic "
                    "(last on {} from {})",
                    n, topic, src);
            }
            break;
        case change::full:
            spdlog::error("trading {} {} NOT applied: {} scopes are in force already, at most {}",
                          scope, schema::to_string(ev.state), engine_.scopes().size(),
                          trading_scopes::max_scopes);
            break;
    }
}

void risk_node::handle_signal(runtime::context& ctx, const schema::signal& s,
                              const schema::envelope& env) {
    const bool was_degraded = engine_.degraded();
    auto d = engine_.on_signal(s, env.src, ctx.now_ns());
    sync_health(ctx, engine_.degraded() != was_degraded);
    if (!topics::valid_symbol(s.symbol)) {
        // Cannot build a topic for it; the rejection would have been "invalid_signal".
        if (auto n = bad_input_log_.hit()) {
            spdlog::warn("dropped {} signal(s) with a malformed symbol (last from {})", n, env.src);
        }
        return;
    }
    if (const auto* o = std::get_if<schema::order>(&d)) {
        spdlog::debug("approved {} {} {} {} (requested {}) for {} signal {}", o->order_id,
                      schema::to_string(o->dir), o->qty, o->symbol, o->requested_qty, o->signal_src,
                      o->signal_id);
        ctx.publish(topics::for_symbol(topics::approved, o->symbol), *o, env.trace_id);
    } else {
        const auto& r = std::get<schema::order_rejected>(d);
        if (auto n = reject_log_.hit()) {
            spdlog::info(
                "rejected {} signal(s) since the last report; last: {} {} {} from {}: {} ({})", n,
                schema::to_string(r.dir), r.qty, r.symbol, r.signal_src, r.rule, r.reason);
        }
        ctx.publish(topics::for_symbol(topics::rejected, r.symbol), r, env.trace_id);
    }
}

void risk_node::begin_flatten(runtime::context& ctx, const schema::flatten_request& f,
                              const std::string& src) {
    if (auto bad = schema::cancel_scope_error(f.request_id, "", f.symbol, f.symbol.empty())) {
        if (auto n = bad_input_log_.hit()) {
            spdlog::warn("ignored {} malformed flatten_request(s) (last from {}: {})", n, src,
                         *bad);
        }
        return;
    }
    if (flatten_deadlines_.contains(f.request_id)) return;  // the same request again
    const std::string scope = f.symbol.empty() ? std::string("every symbol") : f.symbol;
    if (!engine_.begin_flatten(f.request_id, f.symbol)) {
        schema::flatten_done d;
        d.request_id = f.request_id;
        d.symbol = f.symbol;
        d.error = fmt::format("{} flattens are under way already (at most {}): nothing was closed",
                              risk_engine::max_flattens, risk_engine::max_flattens);
        spdlog::error("flatten request {} of {} refused: {}", f.request_id, scope, d.error);
        ctx.publish(topics::for_symbol(topics::flatten_done, ctx.node_name()), d, no_trace);
        return;
    }
    flatten_deadlines_.emplace(f.request_id, ctx.now_ns() + flatten_wait_ms * ns_per_ms);
    spdlog::warn(
        "flatten request {} of {} by {} ({}): signals there refused until execution "
        "has cancelled the resting orders and the positions are sent to close",
        f.request_id, scope, f.by, f.reason);
}

void risk_node::finish_flatten(runtime::context& ctx, std::uint64_t request_id,
                               std::uint64_t cancelled, const std::string& error) {
    flatten_deadlines_.erase(request_id);
    schema::flatten_done d;
    if (error.empty()) {
        auto r = engine_.close_positions(request_id);
        for (const auto& o : r.orders) {
            ctx.publish(topics::for_symbol(topics::approved, o.symbol), o, no_trace);
        }
        d = std::move(r.done);
    } else {
        d.request_id = request_id;
        d.symbol = engine_.abandon_flatten(request_id).value_or("");
        d.error = error;
    }
    d.cancelled = cancelled;
    if (d.error.empty()) {
        spdlog::warn(
            "flatten request {} of {}: {} resting order(s) cancelled, {} closing order(s) sent, "
            "{} position(s) left open, {} other order(s) still working",
            request_id, d.symbol.empty() ? "every symbol" : d.symbol, cancelled, d.closing.size(),
            d.left.size(), d.working.size());
    } else {
        spdlog::error("flatten request {} of {}: {}", request_id,
                      d.symbol.empty() ? "every symbol" : d.symbol, d.error);
    }
    ctx.publish(topics::for_symbol(topics::flatten_done, ctx.node_name()), d, no_trace);
}

void risk_node::publish_position(runtime::context& ctx, const std::string& symbol,
                                 std::uint64_t trace) {
    if (!topics::valid_symbol(symbol)) return;
    ctx.publish(topics::for_symbol(topics::position, symbol), engine_.book().snapshot(symbol),
                trace);
}

void risk_node::sync_state(runtime::context& ctx, std::uint64_t trace) {
    const auto& t = engine_.trading();
    if (published_state_ && t.state() == last_state_ && t.reason() == last_reason_) return;
    published_state_ = true;
    last_state_ = t.state();
    last_reason_ = t.reason();
    schema::trading_state_changed ev;
    ev.state = t.state();
    ev.reason = t.reason();
    ev.by = std::string(t.by());
    if (ev.state == schema::trading_state::active) {
        spdlog::info("trading state {}: {}", schema::to_string(ev.state), ev.reason);
    } else {
        spdlog::warn("trading state {}: {}", schema::to_string(ev.state), ev.reason);
    }
    ctx.publish(topics::risk_state, ev, trace);
}

void risk_node::sync_health(runtime::context& ctx, bool changed) {
    if (!changed) return;
    if (engine_.degraded()) {
        spdlog::warn("risk degraded: {}; approving nothing until quotes resume",
                     engine_.degraded_reason());
        ctx.report_health(schema::health::degraded, engine_.degraded_reason());
    } else {
        spdlog::info("risk healthy again: quotes resumed");
        ctx.report_health(schema::health::healthy, "");
    }
}

std::int64_t risk_node::on_timer(runtime::context& ctx, std::int64_t now_ns) {
    roll_session(ctx, now_ns);
    for (auto it = flatten_deadlines_.begin(); it != flatten_deadlines_.end();) {
        const auto [id, due] = *it++;  // finish_flatten erases it
        if (now_ns < due) continue;
        finish_flatten(ctx, id, 0,
                       fmt::format("execution did not answer the cancel within {} ms (is "
                                   "execution running? tradebus status): nothing was closed",
                                   flatten_wait_ms));
    }
    sync_health(ctx, engine_.update_health(now_ns));
    if (now_ns >= next_positions_ns_) {
        next_positions_ns_ = now_ns + engine_.config().position_interval_ms * ns_per_ms;
        for (const auto& [sym, p] : engine_.book().positions()) {
            if (p.qty == 0 && p.realized_pnl == 0) continue;
            const auto* q = engine_.quote(sym);
            // Marked to the last quote: that tick's trace (none when never quoted).
            publish_position(ctx, sym, q != nullptr ? q->trace_id : no_trace);
        }
    }
    const std::int64_t next = now_ns + timer_period_ns;
    return next_session_ns_ > now_ns ? std::min(next, next_session_ns_) : next;  // 0: not started
}

std::unique_ptr<runtime::node_logic> make_risk(common::section& own) {
    return std::make_unique<risk_node>(load_risk_config(own));
}

}  // namespace tradebus::risk
