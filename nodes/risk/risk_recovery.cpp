#include "tradebus/risk/risk_recovery.hpp"

#include "tradebus/schema/money.hpp"
#include "tradebus/schema/topics.hpp"

namespace tradebus::risk {

namespace money = schema::money;
namespace topics = schema::topics;

std::vector<std::string> recovery_prefixes() {
    return {std::string(topics::exec_fill),      std::string(topics::exec_reject),
            std::string(topics::exec_cancelled), std::string(topics::exec_expired),
            std::string(topics::approved),       std::string(topics::rejected),
            std::string(topics::position),       std::string(topics::risk_state)};
}

void state_rebuild::apply(risk_engine& engine, std::string_view topic, const schema::event& ev) {
    const bool own = ev.env.src == own_;
    if (const auto* snap = std::get_if<schema::risk_snapshot>(&ev.body)) {
        if (own && topic == topics::for_symbol(topics::snapshot, own_)) {
            engine.restore_snapshot(*snap);
            last_state_.reset();  // a stage latched before the snapshot's session is over
            ++counts_.snapshots;
            return;
        }
        ++counts_.ignored;
        return;
    }
    const std::int64_t ts = ev.env.ts_ns;
    if (ts < session_begin_ || ts >= session_end_) {  // time zone arithmetic once per session
        session_begin_ = session_.start_of(ts);
        session_end_ = session_.next_start(ts);
    }
    engine.begin_session(session_begin_);
    if (const auto* f = std::get_if<schema::fill>(&ev.body)) {
        if (topics::matches(topics::exec_fill, topic) && engine.on_fill(*f, ev.env.ts_ns)) {
            ++counts_.fills;
            return;
        }
    } else if (const auto* x = std::get_if<schema::exec_reject>(&ev.body)) {
        if (topics::matches(topics::exec_reject, topic)) {
            engine.on_exec_reject(*x);
            ++counts_.rejects;
            return;
        }
    } else if (const auto* c = std::get_if<schema::order_cancelled>(&ev.body)) {
        if (topics::matches(topics::exec_cancelled, topic)) {
            (void)engine.on_order_end(c->order_id);
            ++counts_.ends;
            return;
        }
    } else if (const auto* e = std::get_if<schema::order_expired>(&ev.body)) {
        if (topics::matches(topics::exec_expired, topic)) {
            (void)engine.on_order_end(e->order_id);
            ++counts_.ends;
            return;
        }
    } else if (const auto* o = std::get_if<schema::order>(&ev.body)) {
        if (own && topics::matches(topics::approved, topic)) {
            engine.restore_approved(*o);
            ++counts_.approvals;
            return;
        }
    } else if (const auto* r = std::get_if<schema::order_rejected>(&ev.body)) {
        if (own && topics::matches(topics::rejected, topic)) {
            engine.restore_rejected(*r);
            ++counts_.rejections;
            return;
        }
    } else if (const auto* p = std::get_if<schema::position>(&ev.body)) {
        if (own && topics::matches(topics::position, topic)) {
            if (p->qty != 0 && p->avg_px > 0) {
                // mark = avg + unrealized / qty (in 128 bits: int64 min / -1 would overflow)
                const auto per_lot =
                    money::saturate(static_cast<money::int128>(p->unrealized_pnl) / p->qty);
                engine.restore_mark(p->symbol, money::add(p->avg_px, per_lot));
                ++counts_.marks;
            }
            return;
        }
    } else if (const auto* s = std::get_if<schema::trading_state_changed>(&ev.body)) {
        if (own && topic == topics::risk_state) {
            last_state_ = *s;
            last_state_ts_ = ev.env.ts_ns;
            ++counts_.states;
            return;
        }
    }
    ++counts_.ignored;
}

void state_rebuild::finish(risk_engine& engine) {
    if (!last_state_ || last_state_->by != "risk" ||
        last_state_->state == schema::trading_state::active ||
        session_.start_of(last_state_ts_) != engine.session_start()) {
        return;  // nothing latched, or latched in a session that is over
    }
    engine.restore_loss_stage(last_state_->state, last_state_->reason);
}

}  // namespace tradebus::risk
