// The execution node with a FIX 4.4 venue ([execution] venue = "fix", [execution.fix]): the
// adapter contract of docs/venue-adapter.md over a QuickFIX initiator session (fix/engine.hpp).
//
// - An approval passes the same checks as the paper exchange's (check_order), then goes out as
//   NewOrderSingle with ClOrdID = the bus's order_id, so the mapping needs no state of its own.
//   The order_ack is published when the venue's ExecutionReport says New (a venue reject
//   before that is an exec_reject "invalid" with the venue's text).
// - Every ExecutionReport Trade is a fill whose fill_id is "<node>-<ExecID>"; a fill is applied
//   only when it raises the order's cumulative quantity, so a resent report (PossDupFlag) or
//   one seen before a restart is never applied twice.
// - Cancels (operator, halt, scope halt, expiry) are OrderCancelRequests; order_cancelled is
//   published when the venue confirms, and a cancel_request ends with cancel_done once every
//   order in its scope has ended.
// - Restart and reconnect: the journal rebuilds the working orders (recovery(), the paper
//   exchange's rules); after each logon QuickFIX's resend brings the reports the node missed,
//   then the node asks the venue for every working order's status (OrderStatusRequest) and for
//   its open orders (OrderMassStatusRequest) and publishes the difference: a cumulative
//   quantity above the journal's is a fill, an order the venue ended is cancelled or expired,
//   an open order the journal never acknowledged is acknowledged. Until the venue answered,
//   approvals are refused ("halted", reason "venue ...") and the node reports degraded.
// - Threads: QuickFIX calls back on its own thread; its events reach this logic through the
//   engine's eventfd, watched by the node's loop (ctx.watch_fd). Everything here runs on the
//   loop's thread.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "tradebus/common/config.hpp"
#include "tradebus/common/process.hpp"
#include "tradebus/execution/paper_exchange.hpp"
#include "tradebus/fix/engine.hpp"
#include "tradebus/fix/wire.hpp"
#include "tradebus/runtime/node.hpp"

namespace tradebus::execution {

/// How long the venue has to answer the status requests after a logon before they are sent
/// again (the node stays degraded and refuses approvals meanwhile).
inline constexpr std::int64_t reconcile_timeout_ns = 5'000'000'000;

class fix_venue_node final : public runtime::node_logic {
  public:
    fix_venue_node(exchange_config cfg, fix::session_settings fix);
    ~fix_venue_node() override;

    [[nodiscard]] std::vector<std::string> subscriptions() const override;
    [[nodiscard]] std::vector<std::string> publications() const override;
    void configure(const std::string& node_name, const runtime::trading_session& session) override;
    [[nodiscard]] std::optional<runtime::recovery_request> recovery(
        std::int64_t now_ns) const override;
    void on_recover(runtime::context& ctx, const runtime::inbound& in) override;
    void on_start(runtime::context& ctx) override;
    void on_event(runtime::context& ctx, const runtime::inbound& in) override;
    std::int64_t on_timer(runtime::context& ctx, std::int64_t now_ns) override;
    void on_trading_state(runtime::context& ctx, schema::trading_state state,
                          const std::string& reason) override;
    void on_stop(runtime::context& ctx) override;

    /// Counters (logged at stop; the integration tests read the log).
    struct counters {
        std::uint64_t orders_sent = 0, fills = 0, duplicate_reports = 0, unknown_reports = 0;
        std::uint64_t bad_reports = 0, venue_rejects = 0, session_rejects = 0;
        std::uint64_t reconciled_fills = 0, logons = 0;
    };
    [[nodiscard]] const counters& stats() const noexcept { return n_; }

  private:
    struct working {
        schema::order o;  // as approved (qty: what risk approved)
        std::uint64_t trace_id = 0;
        bool acked = false;
        std::int64_t cum_qty = 0;
        std::int64_t expire_ts_ns = 0;  // acknowledged expiry, 0 = never
        bool cancel_sent = false;
        bool expiring = false;  // the cancel is our expiry: publish order_expired
        std::string cancel_by = "execution", cancel_reason;
        std::uint64_t request_id = 0;  // the cancel_request whose cancel is in flight
    };
    struct cancel_job {
        std::set<std::string> outstanding;
        std::uint64_t cancelled = 0;
    };

    void on_fix_events(runtime::context& ctx);
    void on_message(runtime::context& ctx, const fix::message& m);
    void on_execution_report(runtime::context& ctx, const fix::message& m);
    void on_cancel_reject(runtime::context& ctx, const fix::message& m);
    void on_logon(runtime::context& ctx);
    void on_order(runtime::context& ctx, const runtime::inbound& in, const schema::order& o);
    void on_cancel_request(const schema::cancel_request& r);
    /// Applies a cumulative quantity the venue reports: the difference becomes a fill.
    void apply_cum(working& w, std::int64_t cum_qty, std::int64_t last_px, std::string fill_id);
    void ack(working& w);
    /// Ends an order: one terminal event is already in out_ (or a fill with leaves 0).
    void finish(const std::string& order_id, bool cancelled);
    void send_cancel(working& w, std::string by, std::string reason, std::uint64_t request_id);
    void cancel_where(const std::string& symbol, const std::string& strategy,
                      const std::string& reason);
    void set_state(bool from_operator, schema::trading_state state, const std::string& reason);
    void update_health(runtime::context& ctx);
    bool send(std::string_view type, const fix::body& b);
    void publish(runtime::context& ctx);
    void publish_snapshot(runtime::context& ctx, std::int64_t now_ns);
    [[nodiscard]] std::string refusal_reason() const;

    exchange_config cfg_;
    fix::session_settings fix_cfg_;
    std::unique_ptr<fix::engine> engine_;
    runtime::trading_session session_;
    std::string name_;
    order_id_memory seen_;
    std::map<std::string, working> live_;  // by order id, not yet terminal
    std::map<std::uint64_t, cancel_job> cancels_;
    std::unordered_set<std::string> fill_ids_;  // applied fill ids (bounded by a FIFO)
    std::deque<std::string> fill_fifo_;
    std::vector<exec_output> out_;
    bool logged_on_ = false, reconciled_ = false, started_ = false;
    std::set<std::string> status_pending_;  // OrderStatusRequests not answered yet
    bool mass_pending_ = false;
    std::string mass_id_;
    std::int64_t reconcile_deadline_ns_ = 0;
    std::uint64_t next_cancel_ = 1, next_req_ = 1;
    std::string last_logout_;
    bool ever_logged_on_ = false;
    bool operator_halt_ = false, risk_halt_ = false;
    std::int64_t next_session_ns_ = 0;
    std::string health_reason_;
    schema::health health_ = schema::health::starting;
    counters n_;
    common::rate_limited reject_log_, bad_log_;
    runtime::context* ctx_ = nullptr;
};

}  // namespace tradebus::execution
