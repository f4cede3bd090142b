// The desk's trading state as risk enforces it: active / reducing (only orders that shrink
// |position|) / halted (nothing approved). Two inputs decide it and the stricter one wins:
// the operator's kill switch (sys.trading via the broker, or the runtime's on_trading_state)
// and risk's own loss stage, which latches when the day P&L crosses reducing_daily_loss or
// max_daily_loss. Only an operator command re-evaluates the latch: a resume restores active
// unless the loss limit is still breached. (NautilusTrader RiskEngine TradingState.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "tradebus/schema/events.hpp"
#include "tradebus/schema/types.hpp"

namespace tradebus::risk {

class trading_state_machine {
  public:
    /// Limits in 1e-8 money; reducing_daily_loss = 0 disables the reducing stage.
    trading_state_machine(std::int64_t max_daily_loss, std::int64_t reducing_daily_loss);

    /// Operator command. Idempotent: the same state and reason again changes nothing and
    /// returns false (unless the loss stage `day_pnl` implies differs from the latched one).
    /// Otherwise re-evaluates the loss stage against `day_pnl` (clearing the latch when the
    /// P&L has recovered) and returns true.
    bool set_operator(schema::trading_state s, const std::string& reason, std::int64_t day_pnl);
    /// Latches a stricter loss stage when `day_pnl` crossed a limit; returns true when the
    /// effective state changed. Never relaxes the state by itself.
    bool on_pnl(std::int64_t day_pnl);

    /// A new trading session: the loss stage risk latched is released (the daily loss starts
    /// again at 0); the operator's state stays.
    void new_session();

    /// New loss limits (config reload). Call on_pnl() after: a limit the P&L already breaches
    /// latches at once, while a latched stage stays until an operator command.
    void set_limits(std::int64_t max_daily_loss, std::int64_t reducing_daily_loss) noexcept {
        max_daily_loss_ = max_daily_loss;
        reducing_daily_loss_ = reducing_daily_loss;
    }

    /// Re-latches a loss stage recorded before a restart (never relaxes the current one).
    void restore_loss(schema::trading_state s, const std::string& reason);

    /// The stricter of the operator's state and the loss stage.
    [[nodiscard]] schema::trading_state state() const noexcept;
    /// Why the state is what it is (for risk.state and rejections).
    [[nodiscard]] const std::string& reason() const noexcept;
    /// "risk" when the loss stage decides the state (or at start), "operator" otherwise.
    [[nodiscard]] std::string_view by() const noexcept;
    /// True when the halt (or reduce-only stage) comes from the daily loss limit.
    [[nodiscard]] bool loss_driven() const noexcept;
    [[nodiscard]] schema::trading_state operator_state() const noexcept { return operator_; }

  private:
    [[nodiscard]] schema::trading_state level_for(std::int64_t day_pnl) const noexcept;
    [[nodiscard]] std::string loss_text(std::int64_t day_pnl) const;

    std::int64_t max_daily_loss_;
    std::int64_t reducing_daily_loss_;
    schema::trading_state operator_ = schema::trading_state::active;
    std::string operator_reason_ = "risk started";
    std::string operator_raw_;  // the command's own reason, for idempotence
    bool operator_commanded_ = false;
    schema::trading_state loss_ = schema::trading_state::active;
    std::string loss_reason_;
};

/// The operator's scopes below the desk (PROTOCOL.md "Trading state"): one symbol
/// (sys.trading.symbol.<SYM>) or one strategy node (sys.trading.strategy.<node>) halted or
/// reduce-only. Only scopes in force are kept; an `active` event removes its scope. Bounded:
/// at most max_scopes of them (the broker keeps far fewer); a scope beyond is refused.
class trading_scopes {
  public:
    static constexpr std::size_t max_scopes = 4096;

    /// What set() did.
    enum class change : std::uint8_t { none, changed, malformed, full };
    /// Applies a trading_state event received on `topic`: the event must name exactly one
    /// scope (symbol or strategy, schema::trading_scope_error) and `topic` must be that
    /// scope's topic (else `malformed`, nothing changes). Idempotent: the same state and reason
    /// again is `none`.
    change set(std::string_view topic, const schema::trading_state_changed& ev);

    /// The scope that decides for a signal on `symbol` from strategy node `strategy`: the
    /// stricter of the symbol's and the strategy's (the symbol's on a tie), with `reason` naming
    /// it ("symbol AAPL halted by alice: earnings"). state active when neither is in force.
    struct verdict {
        schema::trading_state state = schema::trading_state::active;
        std::string reason;
    };
    [[nodiscard]] verdict for_signal(const std::string& symbol, const std::string& strategy) const;

    [[nodiscard]] std::size_t size() const noexcept { return symbols_.size() + strategies_.size(); }

  private:
    struct entry {
        schema::trading_state state;
        std::string reason, by;
    };
    std::map<std::string, entry, std::less<>> symbols_, strategies_;
};

}  // namespace tradebus::risk
