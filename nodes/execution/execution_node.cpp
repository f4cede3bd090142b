#include "tradebus/execution/execution_node.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "tradebus/execution/fix_venue_node.hpp"
#include "tradebus/fix/config.hpp"
#include "tradebus/schema/codec.hpp"
#include "tradebus/schema/orders.hpp"
#include "tradebus/schema/topics.hpp"

namespace tradebus::execution {

namespace topics = schema::topics;

exchange_config read_config(common::section& own) {
    exchange_config c;
    c.slippage_bps = own.number("slippage_bps", c.slippage_bps, 0.0, 10'000.0);
    c.partial_fills = own.boolean("partial_fills", c.partial_fills);
    c.max_order_age_ms = own.integer("max_order_age_ms", c.max_order_age_ms, 0, 86'400'000);
    c.max_remembered_orders =
        own.integer("max_remembered_orders", c.max_remembered_orders, 1, 100'000'000);
    c.max_resting_orders = own.integer("max_resting_orders", c.max_resting_orders, 1, 10'000'000);
    c.max_symbols = own.integer("max_symbols", c.max_symbols, 1, 10'000'000);
    c.cancel_on_halt = own.boolean("cancel_on_halt", c.cancel_on_halt);
    return c;
}

execution_node::execution_node(exchange_config cfg) : ex_(cfg), cfg_(cfg) {}

void execution_node::configure(const std::string& node_name,
                               const runtime::trading_session& session) {
    name_ = node_name;
    session_ = session;
    ex_.set_session(session);
}

std::vector<std::string> execution_node::subscriptions() const {
    return {std::string(topics::approved), std::string(topics::md_tick),
            std::string(topics::trading), std::string(topics::risk_state),
            std::string(topics::cancel)};
}

std::vector<std::string> exec_publications(const std::string& node_name) {
    return {
        std::string(topics::exec_ack),     std::string(topics::exec_fill),
        std::string(topics::exec_reject),  std::string(topics::exec_cancelled),
        std::string(topics::exec_expired), std::string(topics::cancel_reject),
        std::string(topics::cancel_done),  topics::for_symbol(topics::exec_snapshot, node_name)};
}

runtime::recovery_request exec_recovery(const std::string& node_name,
                                        const runtime::trading_session& session,
                                        std::int64_t max_order_age_ms, std::int64_t now_ns) {
    const std::string own_snapshot = topics::for_symbol(topics::exec_snapshot, node_name);
    const std::int64_t since =
        max_order_age_ms <= 0
            ? session.horizon_start(now_ns)
            : std::min(session.start_of(now_ns), now_ns - max_order_age_ms * 1'000'000);
    return runtime::recovery_request{
        {std::string(topics::exec_ack), std::string(topics::exec_fill),
         std::string(topics::exec_reject), std::string(topics::exec_cancelled),
         std::string(topics::exec_expired), own_snapshot},
        session.horizon_start(now_ns),
        own_snapshot,
        since};
}

std::vector<std::string> execution_node::publications() const { return exec_publications(name_); }

std::optional<runtime::recovery_request> execution_node::recovery(std::int64_t now_ns) const {
    return exec_recovery(name_, session_, cfg_.max_order_age_ms, now_ns);
}

void execution_node::on_recover(runtime::context& ctx, const runtime::inbound& in) {
    if (in.ev.env.src != ctx.node_name()) return;  // another execution node's orders
    if (const auto* snap = std::get_if<schema::exec_snapshot>(&in.ev.body)) {
        if (in.topic != topics::for_symbol(topics::exec_snapshot, name_)) return;
        for (const auto& r : snap->resting) {
            if (ex_.remember_order_id(r.order_id)) ++recovered_ids_;
        }
        const auto n = ex_.restore_snapshot(*snap);
        ++recovered_snapshots_;
        if (n != snap->resting.size()) {
            spdlog::warn("execution: {} of {} order(s) of a snapshot could not rest again",
                         snap->resting.size() - n, snap->resting.size());
        }
        return;
    }
    std::visit(
        [&](const auto& b) {
            using T = std::decay_t<decltype(b)>;
            if constexpr (std::is_same_v<T, schema::order_ack> || std::is_same_v<T, schema::fill> ||
                          std::is_same_v<T, schema::exec_reject> ||
                          std::is_same_v<T, schema::order_cancelled> ||
                          std::is_same_v<T, schema::order_expired>) {
                if (ex_.remember_order_id(b.order_id)) ++recovered_ids_;
            }
            if constexpr (std::is_same_v<T, schema::order_ack>) {
                if (topics::matches(topics::exec_ack, in.topic)) {
                    (void)ex_.restore_ack(b, in.ev.env.trace_id);
                }
            } else if constexpr (std::is_same_v<T, schema::fill>) {
                if (topics::matches(topics::exec_fill, in.topic)) ex_.restore_fill(b);
            } else if constexpr (std::is_same_v<T, schema::exec_reject> ||
                                 std::is_same_v<T, schema::order_cancelled> ||
                                 std::is_same_v<T, schema::order_expired>) {
                ex_.restore_end(b.order_id);
            }
        },
        in.ev.body);
}

void execution_node::on_start(runtime::context& ctx) {
    if (recovered_ids_ > 0 || recovered_snapshots_ > 0) {
        spdlog::info(
            "execution: {} order id(s) acted on earlier recovered from the journal ({} "
            "snapshot(s)); approvals with them are refused as duplicates; {} order(s) resting "
            "again",
            recovered_ids_, recovered_snapshots_, ex_.resting());
    }
    if (ex_.halted() && ex_.config().cancel_on_halt && ex_.resting() > 0) {
        // The halt came with registration, before the book was rebuilt: cancel it now.
        (void)ex_.cancel_all("trading halted (at restart)", out_);
        publish(ctx);
    }
    // Node name + start time: fill ids stay unique across restarts of this node.
    ex_.set_fill_id_prefix(ctx.node_name() + "-" + std::to_string(ctx.now_ns() / 1'000'000));
    publish_snapshot(ctx, ctx.now_ns());
}

void execution_node::publish_snapshot(runtime::context& ctx, std::int64_t now_ns) {
    next_session_ns_ = session_.next_start(now_ns);
    schema::exec_snapshot snap{session_.start_of(now_ns), ex_.resting_orders()};
    if (snap.resting.size() > schema::limits::max_array_items) {
        // Undecodable if sent: recovery then starts from the previous snapshot instead.
        spdlog::error(
            "execution: {} resting orders exceed a snapshot's {}: snapshot not journaled (a "
            "restart reads the journal from the previous one)",
            snap.resting.size(), schema::limits::max_array_items);
        return;
    }
    spdlog::info("execution: snapshot of {} resting order(s) for the session of {}",
                 snap.resting.size(), session_.day_of(now_ns));
    ctx.publish(topics::for_symbol(topics::exec_snapshot, ctx.node_name()), snap, 0);
}

void execution_node::on_event(runtime::context& ctx, const runtime::inbound& in) {
    const auto& body = in.ev.body;
    if (const auto* t = std::get_if<schema::tick>(&body)) {
        ex_.on_tick(*t, out_);
    } else if (const auto* o = std::get_if<schema::order>(&body)) {
        if (!topics::matches(topics::approved, in.topic)) return;  // only approvals execute
        ex_.on_order(in.ev.env, *o, ctx.now_ns(), out_);
    } else if (const auto* s = std::get_if<schema::trading_state_changed>(&body)) {
        if (in.topic.starts_with(topics::trading_scopes)) {
            halt_scope(*s, in.topic);
        } else if (in.topic == topics::trading) {
            set_state(ctx, true, s->state, s->reason);
        } else if (in.topic == topics::risk_state) {
            set_state(ctx, false, s->state, s->reason);
        }
    } else if (const auto* c = std::get_if<schema::cancel_request>(&body)) {
        // Only the broker publishes on sys.cancel, for an authorized operator's `cancel`.
        if (in.topic != topics::cancel) return;
        spdlog::info("execution: cancel request {} from {} ({})", c->request_id,
                     c->by.substr(0, 64), c->reason.substr(0, 200));
        ex_.cancel(*c, out_);
    }
    publish(ctx);
}

std::int64_t execution_node::on_timer(runtime::context& ctx, std::int64_t now_ns) {
    if (const auto n = ex_.expire(now_ns, out_)) {
        spdlog::info("execution: {} resting order(s) expired", n);
        publish(ctx);
    }
    if (next_session_ns_ > 0 && now_ns >= next_session_ns_) publish_snapshot(ctx, now_ns);
    // Woken at the next expiry, and at least every 250 ms: an order accepted meanwhile may
    // expire earlier than the deadline returned last time.
    constexpr std::int64_t max_wait_ns = 250'000'000;
    std::int64_t next = now_ns + max_wait_ns;
    if (const auto expiry = ex_.next_expiry_ns()) next = std::min(next, *expiry);
    if (next_session_ns_ > 0) next = std::min(next, next_session_ns_);
    return next;
}

void execution_node::on_trading_state(runtime::context& ctx, schema::trading_state state,
                                      const std::string& reason) {
    set_state(ctx, true, state, reason);
    publish(ctx);
}

void execution_node::set_state(runtime::context& /*ctx*/, bool from_operator,
                               schema::trading_state state, const std::string& reason) {
    // Only "halted" matters here: reducing-only is risk's job (it approves only reductions).
    bool& flag = from_operator ? operator_halt_ : risk_halt_;
    const bool halt = state == schema::trading_state::halted;
    if (flag == halt) return;
    flag = halt;
    ex_.set_closing_through_halt(!operator_halt_);  // a flatten closes through risk's own halt
    const bool now_halted = operator_halt_ || risk_halt_;
    if (now_halted == ex_.halted()) return;
    const std::string why =
        std::string(from_operator ? "operator" : "risk") + (reason.empty() ? "" : ": " + reason);
    if (now_halted) {
        spdlog::warn("execution: halted ({}); {} {} resting order(s), refusing new ones", why,
                     ex_.config().cancel_on_halt ? "cancelling" : "keeping (cancel_on_halt false)",
                     ex_.resting());
    } else {
        spdlog::info("execution: trading resumed ({})", why);
    }
    ex_.set_halted(now_halted, why, out_);
}

void execution_node::halt_scope(const schema::trading_state_changed& s, std::string_view topic) {
    // Only a halt cancels; reduce-only is risk's job. The event must name the topic's scope.
    if (s.state != schema::trading_state::halted ||
        topic != topics::for_trading_scope(s.symbol, s.strategy) ||
        schema::trading_scope_error(s.symbol, s.strategy)) {
        return;
    }
    const std::string scope = schema::trading_scope_name(s.symbol, s.strategy);
    const std::size_t n = ex_.cancel_scope(
        s.symbol, s.strategy,
        "trading halted for " + scope + (s.reason.empty() ? "" : " (operator: " + s.reason + ")"),
        out_);
    spdlog::warn("execution: {} halted by {}; {} resting order(s) of it cancelled{}", scope,
                 s.by.substr(0, 64), n,
                 ex_.config().cancel_on_halt ? "" : " (cancel_on_halt false: none)");
}

void publish_outputs(runtime::context& ctx, std::vector<exec_output>& out,
                     common::rate_limited& reject_log) {
    for (auto& o : out) {
        std::visit(
            [&](const auto& b) {
                using T = std::decay_t<decltype(b)>;
                if constexpr (std::is_same_v<T, schema::cancel_reject>) {
                    spdlog::info("execution: cancel request {} refused: {}: {}", b.request_id,
                                 b.code, b.reason.substr(0, 200));
                    ctx.publish(topics::cancel_reject, b, o.trace_id);
                } else if constexpr (std::is_same_v<T, schema::cancel_done>) {
                    spdlog::info("execution: cancel request {} done: {} order(s) cancelled",
                                 b.request_id, b.cancelled);
                    ctx.publish(topics::cancel_done, b, o.trace_id);
                } else {
                    std::string_view prefix = topics::exec_ack;
                    if constexpr (std::is_same_v<T, schema::order_cancelled>) {
                        prefix = topics::exec_cancelled;
                        spdlog::debug("execution: cancelled {} {} leaves {} (by {}: {})",
                                      b.order_id, b.symbol, b.leaves_qty, b.by.substr(0, 64),
                                      b.reason.substr(0, 200));
                    } else if constexpr (std::is_same_v<T, schema::order_expired>) {
                        prefix = topics::exec_expired;
                        spdlog::debug("execution: expired {} {} leaves {}", b.order_id, b.symbol,
                                      b.leaves_qty);
                    } else if constexpr (std::is_same_v<T, schema::fill>) {
                        prefix = topics::exec_fill;
                        spdlog::debug("execution: fill {} {} {} {} @ {} (leaves {})", b.order_id,
                                      b.symbol, schema::to_string(b.dir), b.qty,
                                      schema::from_fixed(b.px), b.leaves_qty);
                    } else if constexpr (std::is_same_v<T, schema::exec_reject>) {
                        prefix = topics::exec_reject;
                        if (const auto n = reject_log.hit()) {
                            spdlog::info(
                                "execution: rejected {} ({}): {} ({} reject(s) in last period)",
                                b.order_id.substr(0, 64), b.code, b.reason, n);
                        }
                    }
                    const std::string_view sym = topics::valid_symbol(b.symbol)
                                                     ? std::string_view(b.symbol)
                                                     : invalid_symbol_token;
                    ctx.publish(topics::for_symbol(prefix, sym), b, o.trace_id);
                }
            },
            o.body);
    }
    out.clear();
}

void execution_node::publish(runtime::context& ctx) { publish_outputs(ctx, out_, reject_log_); }

void execution_node::on_stop(runtime::context& /*ctx*/) {
    spdlog::info(
        "execution: stopping: {} fill(s), {} reject(s), {} cancel(s), {} expir(ies), {} order(s) "
        "still resting (restored from the journal at the next start)",
        ex_.fills(), ex_.rejects(), ex_.cancels(), ex_.expiries(), ex_.resting());
}

std::unique_ptr<runtime::node_logic> make_execution(common::section& own) {
    const auto cfg = read_config(own);
    const std::string venue = own.choice("venue", "paper", {"paper", "fix"});
    auto fix_table = own.table("fix", venue == "fix");
    if (venue == "fix" || fix_table.present()) {
        auto settings = fix::read_session(fix_table);
        if (venue == "fix") return std::make_unique<fix_venue_node>(cfg, std::move(settings));
    }
    return std::make_unique<execution_node>(cfg);
}

}  // namespace tradebus::execution
