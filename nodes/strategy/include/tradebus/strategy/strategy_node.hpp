// The strategy node's logic as the runtime sees it (runtime/node.hpp): it subscribes to the
// market data of its symbols and to its own order flow, runs one signal_engine per symbol, and
// publishes strategy.signal.<SYM> carrying the trace id of the tick (or bar) that caused it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tradebus/common/process.hpp"
#include "tradebus/runtime/node.hpp"
#include "tradebus/strategy/position_tracker.hpp"
#include "tradebus/strategy/signal_engine.hpp"
#include "tradebus/strategy/strategy_config.hpp"

namespace tradebus::strategy {

class strategy_node final : public runtime::node_logic {
  public:
    explicit strategy_node(strategy_config cfg);

    /// Per traded symbol: md.tick.<SYM> (or md.bar.<SYM>), risk.approved.<SYM>,
    /// risk.rejected.<SYM>, exec.fill.<SYM>, exec.reject.<SYM>.
    [[nodiscard]] std::vector<std::string> subscriptions() const override;
    [[nodiscard]] std::vector<std::string> publications() const override;

    void on_start(runtime::context& ctx) override;
    void on_event(runtime::context& ctx, const runtime::inbound& in) override;
    /// Expires in-flight signals/orders (pending_timeout_ms); runs once a second.
    std::int64_t on_timer(runtime::context& ctx, std::int64_t now_ns) override;

    [[nodiscard]] const position_tracker& tracker() const noexcept { return tracker_; }
    [[nodiscard]] const signal_engine* engine(const std::string& symbol) const;
    [[nodiscard]] std::uint64_t signals_sent() const noexcept {
        return next_signal_id_ - first_signal_id_;
    }

  private:
    void on_price(runtime::context& ctx, const std::string& symbol, const sample& s,
                  std::int64_t ref_px, std::uint64_t trace_id);
    bool ours(const runtime::context& ctx, const std::string& signal_src) const;

    strategy_config cfg_;
    std::map<std::string, signal_engine> engines_;
    position_tracker tracker_;
    // Signal ids are unique across restarts (on_start): the first is the start time in µs.
    std::uint64_t first_signal_id_ = 1, next_signal_id_ = 1;
    common::rate_limited bad_price_log_;
};

/// The logic_factory handed to runtime::run_node for kind "strategy".
std::unique_ptr<runtime::node_logic> make_strategy(common::section& own);

}  // namespace tradebus::strategy
