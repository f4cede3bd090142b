// The execution node with a FIX 4.4 venue ([execution] venue = "fix", [execution.fix]): the
// adapter contract of docs/venue-adapter.md over a QuickFIX initiator session (fix/engine.hpp).
//
// - An approval passes the same checks as the paper exchange's (check_order), then goes out as
//   NewOrderSingle with ClOrdID = the bus's order_id, so the mapping needs no state of its own.
//   The order_ack is published when the venue has accepted the order (a venue reject before
//   that is an exec_reject "invalid" with the venue's text).
// - Fills are applied by cumulative quantity: every ExecutionReport's CumQty above what the
//   node published becomes one fill (fill_id "<node>-<order_id>-<cum>", so the same venue
//   execution always maps to the same id), priced by LastPx when it is that one trade, else from
//   AvgPx and the notional already published. A resent report (PossDupFlag), a status answer
//   and a terminal report all go through this one rule, so no fill is applied twice and a
//   terminal report never hides a trade the node missed.
// - Cancels (operator, halt, scope halt, expiry) are OrderCancelRequests; order_cancelled is
//   published when the venue confirms, a cancel_request ends with cancel_done once every order
//   in its scope has ended (or after cancel_job_timeout_ns, with what was done). A refused
//   cancel asks the venue for the order's status; a halt's or expiry's cancel is retried with a
//   backoff while the order works.
// - Restart and reconnect: the journal rebuilds the working orders (recovery(), the paper
//   exchange's rules), QuickFIX's store adds the orders sent but never acknowledged on the bus
//   (the node died between sending and the venue's answer); after each logon the node asks the
//   venue for every such order's status (OrderStatusRequest) and for its open orders
//   (OrderMassStatusRequest) and publishes the difference. Orders are never resent after a
//   reconnect (a gap fill instead): one the venue never got is refused once the venue says it
//   does not know it. Until the venue answered, approvals are refused ("halted", reason
//   "venue ...") and the node reports degraded; an order the journal shows working that the
//   venue cannot account for stays working and keeps the node degraded (never guessed away).
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
/// again (the node stays degraded and refuses approvals meanwhile); doubled up to 60 s while
/// it does not answer.
inline constexpr std::int64_t reconcile_timeout_ns = 5'000'000'000;
/// A cancel_request not finished by then gets its cancel_done with what was cancelled so far.
inline constexpr std::int64_t cancel_job_timeout_ns = 10'000'000'000;

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
        long double notional = 0;  // sum of qty x px of the fills published (exact < 2^64)
        bool notional_known = true;
        std::int64_t expire_ts_ns = 0;  // acknowledged expiry, 0 = never
        bool cancel_sent = false;
        bool expiring = false;  // our expiry's cancel: publish order_expired
        std::int64_t cancel_retry_ns = 0, cancel_backoff_ns = 0;
        std::string cancel_by = "execution", cancel_reason;
        std::set<std::uint64_t> requests;  // cancel_requests waiting for this order
        bool unaccounted = false;          // the venue cannot account for it: for the operator
    };
    struct cancel_job {
        std::set<std::string> outstanding;
        std::uint64_t cancelled = 0;
        std::int64_t deadline_ns = 0;
    };

    void on_fix_events(runtime::context& ctx);
    void handle(runtime::context& ctx, fix::event& e);
    void on_message(runtime::context& ctx, const fix::message& m);
    void on_execution_report(runtime::context& ctx, const fix::message& m);
    void on_status(runtime::context& ctx, const fix::message& m, const std::string& id);
    void on_cancel_reject(runtime::context& ctx, const fix::message& m);
    /// Sends an OrderStatusRequest for every working order and an OrderMassStatusRequest:
    /// approvals are refused until the venue has answered them.
    void request_status(runtime::context& ctx);
    void request_order_status(const working& w);
    void maybe_reconciled(runtime::context& ctx);
    void on_order(runtime::context& ctx, const runtime::inbound& in, const schema::order& o);
    void on_cancel_request(runtime::context& ctx, const schema::cancel_request& r);
    /// Publishes the part of `cum_qty` above what the node published as one fill. false when
    /// it cannot (more than the order's quantity, no price): the order is then unaccounted.
    bool apply_cum(working& w, std::int64_t cum_qty, std::int64_t avg_px, std::int64_t last_qty,
                   std::int64_t last_px);
    void ack(working& w);
    void unaccounted(working& w, const std::string& why);
    /// Ends an order whose terminal event is in out_ (or whose fill left 0).
    void finish(const std::string& order_id, bool cancelled);
    void send_cancel(working& w, std::string by, std::string reason);
    [[nodiscard]] bool cancel_wanted(const working& w) const;
    void cancel_where(const std::string& symbol, const std::string& strategy,
                      const std::string& reason);
    void set_state(bool from_operator, schema::trading_state state, const std::string& reason);
    void update_health(runtime::context& ctx);
    bool send(std::string_view type, const fix::body& b);
    void publish(runtime::context& ctx);
    void publish_snapshot(runtime::context& ctx, std::int64_t now_ns);
    /// Orders QuickFIX's store shows as sent that the journal never saw an outcome of.
    void adopt_sent_orders();
    [[nodiscard]] std::string refusal_reason() const;

    exchange_config cfg_;
    fix::session_settings fix_cfg_;
    std::unique_ptr<fix::engine> engine_;
    runtime::trading_session session_;
    std::string name_;
    order_id_memory seen_;
    std::map<std::string, working> live_;  // by order id, not yet terminal
    std::map<std::uint64_t, cancel_job> cancels_;
    std::vector<exec_output> out_;
    bool logged_on_ = false, reconciled_ = false;
    std::set<std::string> status_pending_;  // OrderStatusRequests not answered yet
    bool mass_pending_ = false;
    std::string mass_id_, status_refused_;
    std::int64_t reconcile_deadline_ns_ = 0, reconcile_wait_ns_ = reconcile_timeout_ns;
    std::uint64_t next_cancel_ = 1, next_req_ = 1;
    std::string last_logout_;
    bool ever_logged_on_ = false;
    bool operator_halt_ = false, risk_halt_ = false;
    std::set<std::string> halted_symbols_, halted_strategies_;
    std::int64_t next_session_ns_ = 0;
    std::string health_reason_;
    schema::health health_ = schema::health::starting;
    counters n_;
    common::rate_limited reject_log_, bad_log_, unknown_log_, refused_log_;
    runtime::context* ctx_ = nullptr;
};

}  // namespace tradebus::execution
