#include "tradebus/risk/trading_state.hpp"

#include <spdlog/fmt/fmt.h>

#include "tradebus/schema/orders.hpp"
#include "tradebus/schema/topics.hpp"

namespace tradebus::risk {

namespace {
// active < reducing < halted: the stricter state is the larger enum value.
schema::trading_state stricter(schema::trading_state a, schema::trading_state b) {
    return static_cast<int>(a) >= static_cast<int>(b) ? a : b;
}
}  // namespace

trading_state_machine::trading_state_machine(std::int64_t max_daily_loss,
                                             std::int64_t reducing_daily_loss)
    : max_daily_loss_(max_daily_loss), reducing_daily_loss_(reducing_daily_loss) {}

schema::trading_state trading_state_machine::level_for(std::int64_t day_pnl) const noexcept {
    if (day_pnl <= -max_daily_loss_) return schema::trading_state::halted;
    if (reducing_daily_loss_ > 0 && day_pnl <= -reducing_daily_loss_) {
        return schema::trading_state::reducing;
    }
    return schema::trading_state::active;
}

std::string trading_state_machine::loss_text(std::int64_t day_pnl) const {
    const bool halt = day_pnl <= -max_daily_loss_;
    return fmt::format("day P&L {:.2f} <= -{:.2f} ({})", schema::from_fixed(day_pnl),
                       schema::from_fixed(halt ? max_daily_loss_ : reducing_daily_loss_),
                       halt ? "max_daily_loss" : "reducing_daily_loss");
}

bool trading_state_machine::set_operator(schema::trading_state s, const std::string& reason,
                                         std::int64_t day_pnl) {
    // The same command again (the runtime's call and the sys.trading event both deliver it) is
    // a no-op, unless the P&L moved across a limit since: then it re-evaluates the latch.
    if (operator_commanded_ && s == operator_ && reason == operator_raw_ &&
        level_for(day_pnl) == loss_) {
        return false;
    }
    operator_commanded_ = true;
    operator_ = s;
    operator_raw_ = reason;
    operator_reason_ =
        fmt::format("operator {}{}{}", schema::to_string(s), reason.empty() ? "" : ": ", reason);
    loss_ = level_for(day_pnl);
    if (loss_ != schema::trading_state::active) {
        loss_reason_ = static_cast<int>(s) < static_cast<int>(loss_)
                           ? fmt::format("operator {} refused, daily loss limit still breached: {}",
                                         schema::to_string(s), loss_text(day_pnl))
                           : fmt::format("daily loss limit: {}", loss_text(day_pnl));
    }
    return true;
}

bool trading_state_machine::on_pnl(std::int64_t day_pnl) {
    const auto level = level_for(day_pnl);
    if (static_cast<int>(level) <= static_cast<int>(loss_)) return false;
    const auto before = state();
    loss_ = level;
    loss_reason_ = fmt::format("daily loss limit: {}", loss_text(day_pnl));
    return state() != before;
}

void trading_state_machine::new_session() {
    if (loss_ == schema::trading_state::active) return;
    loss_ = schema::trading_state::active;
    loss_reason_.clear();
    if (!operator_commanded_) operator_reason_ = "new trading session: daily loss reset";
}

void trading_state_machine::restore_loss(schema::trading_state s, const std::string& reason) {
    if (static_cast<int>(s) <= static_cast<int>(loss_)) return;
    loss_ = s;
    loss_reason_ = reason;
}

schema::trading_state trading_state_machine::state() const noexcept {
    return stricter(operator_, loss_);
}

bool trading_state_machine::loss_driven() const noexcept {
    return loss_ != schema::trading_state::active &&
           static_cast<int>(loss_) >= static_cast<int>(operator_);
}

const std::string& trading_state_machine::reason() const noexcept {
    return loss_driven() ? loss_reason_ : operator_reason_;
}

std::string_view trading_state_machine::by() const noexcept {
    return loss_driven() || !operator_commanded_ ? "risk" : "operator";
}

trading_scopes::change trading_scopes::set(std::string_view topic,
                                           const schema::trading_state_changed& ev) {
    if (ev.symbol.empty() == ev.strategy.empty() ||
        schema::trading_scope_error(ev.symbol, ev.strategy) ||
        topic != schema::topics::for_trading_scope(ev.symbol, ev.strategy)) {
        return change::malformed;
    }
    auto& table = ev.symbol.empty() ? strategies_ : symbols_;
    const std::string& name = ev.symbol.empty() ? ev.strategy : ev.symbol;
    auto it = table.find(name);
    if (ev.state == schema::trading_state::active) {
        if (it == table.end()) return change::none;
        table.erase(it);
        return change::changed;
    }
    if (it != table.end()) {
        if (it->second.state == ev.state && it->second.reason == ev.reason) return change::none;
        it->second = entry{ev.state, ev.reason, ev.by};
        return change::changed;
    }
    if (size() >= max_scopes) return change::full;
    table.emplace(name, entry{ev.state, ev.reason, ev.by});
    return change::changed;
}

trading_scopes::verdict trading_scopes::for_signal(const std::string& symbol,
                                                   const std::string& strategy) const {
    verdict out;
    const auto consider = [&](const auto& table, const std::string& name, std::string_view kind) {
        const auto it = table.find(name);
        if (it == table.end() ||
            static_cast<int>(it->second.state) <= static_cast<int>(out.state)) {
            return;
        }
        out.state = it->second.state;
        out.reason =
            fmt::format("{} {} {} by {}{}{}", kind, name, schema::to_string(out.state),
                        it->second.by, it->second.reason.empty() ? "" : ": ", it->second.reason);
    };
    consider(symbols_, symbol, "symbol");
    consider(strategies_, strategy, "strategy");
    return out;
}

}  // namespace tradebus::risk
