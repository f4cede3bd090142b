// The risk node's logic as the runtime sees it (runtime/node.hpp). Wiring only: quotes, fills,
// execution rejects and signals go into risk_engine; its decisions go out as
// risk.approved.<SYM> / risk.rejected.<SYM> (trace id of the signal), positions as
// risk.position.<SYM> (trace id of the fill, or of the last tick for periodic marks), and the
// trading state as risk.state (trace id of the tick or fill that moved it; 0 when no tick did:
// the state at start, an operator halt or resume), and at each trading session start the book
// as risk.snapshot.<name> (trace id 0). Operator halt/resume of the desk arrives both as
// sys.trading events and as runtime on_trading_state calls; handling is idempotent so getting
// both is harmless. A symbol or strategy scope arrives on its own sys.trading.* topic, live or,
// at start, from the broker's last-value cache.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tradebus/common/process.hpp"
#include "tradebus/risk/risk_engine.hpp"
#include "tradebus/risk/risk_recovery.hpp"
#include "tradebus/runtime/node.hpp"

namespace tradebus::risk {

class risk_node final : public runtime::node_logic {
  public:
    explicit risk_node(risk_config cfg);

    /// md.tick., strategy.signal., exec.fill., exec.reject., exec.cancelled., exec.expired.,
    /// sys.trading (the desk, and every scope under sys.trading.), sys.flatten, and
    /// exec.cancel_done / exec.cancel_reject (execution's answer to a flatten's cancel)
    [[nodiscard]] std::vector<std::string> subscriptions() const override;
    /// risk.approved., risk.rejected., risk.position., risk.state, risk.snapshot.<name>,
    /// risk.limits.<name>, risk.flatten.<name>
    [[nodiscard]] std::vector<std::string> publications() const override;

    /// Keeps the node name (the snapshot topic) and the session (boundaries, recovery).
    void configure(const std::string& node_name, const runtime::trading_session& session) override;
    /// The last own risk.snapshot within the recovery horizon, then the fills and own
    /// decisions after it (risk_recovery.hpp); with none, everything since the horizon.
    [[nodiscard]] std::optional<runtime::recovery_request> recovery(
        std::int64_t now_ns) const override;
    void on_recover(runtime::context& ctx, const runtime::inbound& in) override;
    void on_start(runtime::context& ctx) override;
    void on_event(runtime::context& ctx, const runtime::inbound& in) override;
    /// Sets the order id prefix "<name>-<epoch ms>", begins the current session (journaling a
    /// snapshot when recovery ended in an earlier one) and publishes the initial risk.state.
    /// Every 250 ms and at each session start: the session boundary (daily loss reset and a
    /// risk.snapshot), health (degraded when market data went silent), and every
    /// position_interval_ms a risk.position per symbol with a position or P&L.
    std::int64_t on_timer(runtime::context& ctx, std::int64_t now_ns) override;
    void on_trading_state(runtime::context& ctx, schema::trading_state s,
                          const std::string& reason) override;
    /// SIGHUP: the [risk] table read again; in force from the next signal, then risk.limits.
    std::function<void(runtime::context&)> prepare_reload(common::section& own) override;
    /// Publishes risk.limits with cause "refused" and the errors; the limits stay.
    void on_reload_refused(runtime::context& ctx, const std::string& errors) override;

    [[nodiscard]] const risk_engine& engine() const noexcept { return engine_; }

  private:
    void handle_signal(runtime::context& ctx, const schema::signal& s, const schema::envelope& env);
    /// A symbol or strategy scope of the kill switch (sys.trading.symbol.<SYM>,
    /// sys.trading.strategy.<node>), live or from the broker's last-value cache.
    void on_scope(std::string_view topic, const schema::trading_state_changed& ev,
                  const std::string& src);
    /// An operator's flatten (sys.flatten): signals in its scope are refused until execution
    /// answered the cancel with the same request id (or flatten_wait_ms passed).
    void begin_flatten(runtime::context& ctx, const schema::flatten_request& f,
                       const std::string& src);
    /// Sends the closing orders (unless `error`) and publishes risk.flatten.<name>.
    void finish_flatten(runtime::context& ctx, std::uint64_t request_id, std::uint64_t cancelled,
                        const std::string& error);
    void publish_position(runtime::context& ctx, const std::string& symbol, std::uint64_t trace);
    /// risk.limits.<name>: the limits in force, with why they are published.
    void publish_limits(runtime::context& ctx, std::string cause, std::string error);
    /// Publishes risk.state when the state or its reason changed since the last publication.
    void sync_state(runtime::context& ctx, std::uint64_t trace);
    /// Reports health to the runtime when degraded() changed.
    void sync_health(runtime::context& ctx, bool changed);
    /// At or past a session start: begins the session in the engine and journals the book as
    /// risk.snapshot.<name>, then publishes the (maybe released) trading state.
    void roll_session(runtime::context& ctx, std::int64_t now_ns);

    risk_engine engine_;
    runtime::trading_session session_;
    std::string name_ = "risk";
    std::int64_t next_session_ns_ = 0;  // session_.next_start of the current session
    std::optional<state_rebuild> rebuild_;
    bool started_ = false;
    bool published_state_ = false;
    schema::trading_state last_state_ = schema::trading_state::active;
    std::string last_reason_;
    std::int64_t next_positions_ns_ = 0;
    std::map<std::uint64_t, std::int64_t> flatten_deadlines_;  // request id -> node clock ns
    common::rate_limited reject_log_;
    common::rate_limited bad_input_log_;
};

/// The logic_factory handed to runtime::run_node for kind "risk".
std::unique_ptr<runtime::node_logic> make_risk(common::section& own);

}  // namespace tradebus::risk
