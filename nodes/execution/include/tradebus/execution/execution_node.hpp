// The execution node's logic: feeds approved orders (risk.approved.*), quotes (md.tick.*),
// operator cancels (sys.cancel), the clock (expiries) and the desk's trading state
// (sys.trading from the operator, risk.state from risk; a halted symbol or strategy scope on
// sys.trading.* cancels that scope's resting orders) into the paper exchange and publishes
// what it decides on exec.ack.<SYM>, exec.fill.<SYM>, exec.reject.<SYM>, exec.cancelled.<SYM>
// and exec.expired.<SYM> (each with the trace id of the order it is about), and the answer to
// a cancel request on exec.cancel_done / exec.cancel_reject. Its resting book goes to
// exec.snapshot.<name> at its start and at each trading session start: the anchor of its
// recovery.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tradebus/common/config.hpp"
#include "tradebus/common/process.hpp"
#include "tradebus/execution/paper_exchange.hpp"
#include "tradebus/runtime/node.hpp"

namespace tradebus::execution {

/// Reads [execution] (`own`); problems are recorded in `own`.
exchange_config read_config(common::section& own);

/// Symbol token used in the topic of a reject whose order carries no valid symbol (a topic
/// must end in a valid token): exec.reject._invalid.
inline constexpr std::string_view invalid_symbol_token = "_invalid";

/// What every execution venue publishes: exec.ack., exec.fill., exec.reject., exec.cancelled.,
/// exec.expired., exec.cancel_reject, exec.cancel_done and its own exec.snapshot.<node_name>.
[[nodiscard]] std::vector<std::string> exec_publications(const std::string& node_name);

/// Every execution venue's recovery request (execution_node::recovery() says what it reads):
/// its own exec events and snapshots, anchored at its last snapshot within the [session]
/// horizon, the order ids read from the earlier of the session start and now -
/// max_order_age_ms (from the horizon when that is 0).
[[nodiscard]] runtime::recovery_request exec_recovery(const std::string& node_name,
                                                      const runtime::trading_session& session,
                                                      std::int64_t max_order_age_ms,
                                                      std::int64_t now_ns);

/// Publishes each output on its topic (exec.<kind>.<SYM>, exec.cancel_done / cancel_reject;
/// a reject without a valid symbol on exec.reject._invalid) with its trace id, logs it, and
/// clears `out`. Every execution venue publishes through it.
void publish_outputs(runtime::context& ctx, std::vector<exec_output>& out,
                     common::rate_limited& reject_log);

class execution_node final : public runtime::node_logic {
  public:
    explicit execution_node(exchange_config cfg);

    [[nodiscard]] std::vector<std::string> subscriptions() const override;
    [[nodiscard]] std::vector<std::string> publications() const override;
    void on_start(runtime::context& ctx) override;
    void configure(const std::string& node_name, const runtime::trading_session& session) override;
    /// Recovery: the order ids this node acted on (its own exec.ack / exec.fill / exec.reject /
    /// exec.cancelled / exec.expired events in the journal), so a replayed approval is never
    /// filled twice, and its book of resting orders: the last own exec.snapshot within the
    /// recovery horizon ([session] recovery_horizon_days) and the events after it. The ids are
    /// read from the earlier of the current session's start and now - max_order_age_ms (an
    /// older approval is refused as stale_order anyway, whichever day it was approved), or
    /// from the horizon with no age check (max_order_age_ms = 0): when the snapshot is later
    /// than that, the replay starts there instead and the snapshot replaces the book where it
    /// falls. With no snapshot, everything since the horizon.
    [[nodiscard]] std::optional<runtime::recovery_request> recovery(
        std::int64_t now_ns) const override;
    void on_recover(runtime::context& ctx, const runtime::inbound& in) override;
    void on_event(runtime::context& ctx, const runtime::inbound& in) override;
    /// Expires resting orders at their expiry (exec.expired.<SYM>); at a session start, then
    /// snapshots the book.
    std::int64_t on_timer(runtime::context& ctx, std::int64_t now_ns) override;
    void on_trading_state(runtime::context& ctx, schema::trading_state state,
                          const std::string& reason) override;
    void on_stop(runtime::context& ctx) override;

    [[nodiscard]] const paper_exchange& exchange() const noexcept { return ex_; }

  private:
    void set_state(runtime::context& ctx, bool from_operator, schema::trading_state state,
                   const std::string& reason);
    void publish(runtime::context& ctx);
    /// A symbol or strategy scope halted (sys.trading.symbol.<SYM> / .strategy.<node>): with
    /// cancel_on_halt its resting orders are cancelled; new orders are risk's to refuse.
    void halt_scope(const schema::trading_state_changed& s, std::string_view topic);
    /// exec.snapshot.<name>: the resting book, for the session of `now_ns`.
    void publish_snapshot(runtime::context& ctx, std::int64_t now_ns);

    paper_exchange ex_;
    exchange_config cfg_;
    runtime::trading_session session_;
    std::string name_;
    std::int64_t next_session_ns_ = 0;  // when the next snapshot is due
    std::vector<exec_output> out_;
    bool operator_halt_ = false, risk_halt_ = false;
    std::uint64_t recovered_ids_ = 0, recovered_snapshots_ = 0;
    common::rate_limited reject_log_;
};

/// logic_factory for run_node.
std::unique_ptr<runtime::node_logic> make_execution(common::section& own);

}  // namespace tradebus::execution
