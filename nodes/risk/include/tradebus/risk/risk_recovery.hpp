// How risk rebuilds its state after a restart (README "Failure behaviour"): the runtime replays
// today's journaled events on these topics (UTC day, node_logic::recovery) and risk_node hands
// each to a state_rebuild before it approves anything:
//   exec.fill.*      every fill: positions, average prices, realized P&L, the day's loss (and
//                    so the daily-loss latch, exactly as it happened); fill ids count as seen
//   exec.reject.*    orders execution refused are no longer working
//   exec.cancelled.* orders cancelled (operator, halt, IOC/FOK rest) are no longer working
//   exec.expired.*   orders that expired are no longer working
//   risk.approved.*  (own) signals already decided count as seen; the orders are working
//                    until one of the events above ends them
//   risk.rejected.*  (own) signals already decided count as seen
//   risk.position.*  (own) the last mark per symbol, for unrealized P&L (mid = avg + upnl/qty)
//   risk.state       (own) the last state risk published today: a loss stage it had latched
//                    (by "risk") is latched again, even if today's fills alone no longer
//                    reach the limit (a mark-to-market loss), until an operator resume
// "own" = published by a node with this node's name. The operator's kill switch is not
// replayed: the broker reports it at registration.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tradebus/risk/risk_engine.hpp"
#include "tradebus/schema/events.hpp"

namespace tradebus::risk {

/// The topic prefixes risk recovers from.
[[nodiscard]] std::vector<std::string> recovery_prefixes();

class state_rebuild {
  public:
    explicit state_rebuild(std::string own_name) : own_(std::move(own_name)) {}

    /// Applies one journaled event (in journal order) to `engine`.
    void apply(risk_engine& engine, std::string_view topic, const schema::event& ev);
    /// Re-latches the loss stage risk last published; call once after the last apply().
    void finish(risk_engine& engine);

    struct counts {
        std::uint64_t fills = 0, rejects = 0, ends = 0, approvals = 0, rejections = 0, marks = 0,
                      states = 0, ignored = 0;
    };
    [[nodiscard]] const counts& applied() const noexcept { return counts_; }

  private:
    std::string own_;
    counts counts_;
    std::optional<schema::trading_state_changed> last_state_;
};

}  // namespace tradebus::risk
