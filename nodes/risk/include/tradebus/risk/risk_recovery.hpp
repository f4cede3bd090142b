// How risk rebuilds its state after a restart (README "Failure behaviour"): the runtime finds
// risk's last own risk.snapshot.<name> within the recovery horizon ([session]
// recovery_horizon_days) and replays it, then the journaled events after it on these topics
// (with no snapshot: every one since the horizon; node_logic::recovery), and risk_node hands
// each to a state_rebuild before it approves anything:
//   risk.snapshot.*  (own) the book (positions, average prices, realized P&L, marks) and the
//                    session it opened: replaces whatever was rebuilt before it
// Every event first moves the rebuild into the session of its envelope ts_ns
// (risk_engine::begin_session), so the daily loss counts only the current session's P&L.
//   exec.fill.*      every fill: positions, average prices, realized P&L, the day's loss (and
//                    so the daily-loss latch, exactly as it happened); fill ids count as seen
//   exec.reject.*    orders execution refused are no longer working
//   exec.cancelled.* orders cancelled (operator, halt, IOC/FOK rest) are no longer working
//   exec.expired.*   orders that expired are no longer working
//   risk.approved.*  (own) signals already decided count as seen; the orders are working
//                    until one of the events above ends them
//   risk.rejected.*  (own) signals already decided count as seen
//   risk.position.*  (own) the last mark per symbol, for unrealized P&L (mid = avg + upnl/qty)
//   risk.state       (own) the last state risk published: a loss stage it had latched (by
//                    "risk") in the session recovery ends in is latched again, even if the
//                    session's fills alone no longer reach the limit (a mark-to-market loss),
//                    until an operator resume or the next session
// "own" = published by a node with this node's name. The operator's kill switch is not
// replayed: the broker reports it at registration.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tradebus/risk/risk_engine.hpp"
#include "tradebus/runtime/session.hpp"
#include "tradebus/schema/events.hpp"

namespace tradebus::risk {

/// The topic prefixes risk recovers from.
[[nodiscard]] std::vector<std::string> recovery_prefixes();

class state_rebuild {
  public:
    explicit state_rebuild(std::string own_name, runtime::trading_session session = {})
        : own_(std::move(own_name)), session_(std::move(session)) {}

    /// Applies one journaled event (in journal order) to `engine`.
    void apply(risk_engine& engine, std::string_view topic, const schema::event& ev);
    /// Re-latches the loss stage risk last published; call once after the last apply().
    void finish(risk_engine& engine);

    struct counts {
        std::uint64_t fills = 0, rejects = 0, ends = 0, approvals = 0, rejections = 0, marks = 0,
                      states = 0, snapshots = 0, ignored = 0;
    };
    [[nodiscard]] const counts& applied() const noexcept { return counts_; }

  private:
    std::string own_;
    runtime::trading_session session_;
    counts counts_;
    std::optional<schema::trading_state_changed> last_state_;
    std::int64_t last_state_ts_ = 0;
    std::int64_t session_begin_ = 0, session_end_ = 0;  // the session of the last event seen
};

}  // namespace tradebus::risk
