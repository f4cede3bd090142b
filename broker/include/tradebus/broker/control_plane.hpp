// The control plane's logic, without sockets: one request frame in, exactly one reply frame
// out (an `error` for anything malformed, unknown or not allowed), plus the sys.* events the
// request caused, handed to an event_sink. Node states move only through the lifecycle table
// (lifecycle.hpp); dependencies through the dependency_graph. The broker's loop owns it and
// calls it from its one thread (THREADING.md); tests drive it directly with a fake clock.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tradebus/broker/config.hpp"
#include "tradebus/broker/data_stats.hpp"
#include "tradebus/broker/dependency_graph.hpp"
#include "tradebus/broker/last_value_cache.hpp"
#include "tradebus/broker/lifecycle.hpp"
#include "tradebus/broker/node_table.hpp"
#include "tradebus/broker/recorder.hpp"
#include "tradebus/broker/service_registry.hpp"
#include "tradebus/broker/trading_store.hpp"
#include "tradebus/common/process.hpp"
#include "tradebus/schema/codec.hpp"
#include "tradebus/schema/events.hpp"

namespace tradebus::broker {

/// Where the control plane's sys.* events go: the broker's XPUB, or a vector in tests.
class event_sink {
  public:
    virtual ~event_sink() = default;
    /// Publishes `body` on `topic` with the broker's envelope. Must not block. What is published
    /// under topics::trading_scopes stays the topic's last value for late joiners.
    virtual void publish(std::string_view topic, const schema::payload& body) = 0;
    /// A scope topic (topics::trading_scopes) whose last value is no longer in force: late
    /// joiners get nothing for it any more. Default: nothing is kept (tests).
    virtual void forget(std::string_view /*topic*/) {}
};

/// Why a reply could not be queued on the control ROUTER (ZMQ_ROUTER_MANDATORY).
enum class reply_drop : std::uint8_t {
    peer_queue_full,  // the client has its queue's worth of unread replies (ROUTER SNDHWM)
    peer_gone,        // the client disconnected before its reply
};
inline constexpr std::array<std::string_view, 2> reply_drop_names{"peer_queue_full", "peer_gone"};

/// The requests() key of requests that could not be decoded.
inline constexpr std::string_view invalid_request = "invalid";

class control_plane {
  public:
    /// `stats` is read for status replies; `start_ms` is the broker's start on the mono clock.
    control_plane(const broker_config& cfg, std::uint64_t epoch, event_sink& sink,
                  const data_stats& stats, std::int64_t start_ms);

    /// The trading state the broker starts in (what trading_store::load found), and where
    /// every halt / resume is saved before it is answered (null = nowhere). The store must
    /// outlive the control plane. Without a call the control plane starts active and keeps
    /// nothing (unit tests); broker::run always makes it.
    /// `scopes`: the symbol and strategy scopes in force (published by publish_scopes()).
    void restore_trading(const trading_record& r, const trading_store* store,
                         const std::vector<trading_scope_record>& scopes = {});

    /// Publishes every scope in force on its topic (at broker start: the last-value cache then
    /// holds them for every node that joins).
    void publish_scopes();

    /// The symbol and strategy scopes in force, by topic (sys.trading.symbol.<SYM>, ...).
    [[nodiscard]] const std::map<std::string, trading_scope_record, std::less<>>& scopes()
        const noexcept {
        return scopes_;
    }

    /// The data-plane endpoints REGISTER replies carry (set once the sockets are bound).
    void set_advertised(std::string xsub, std::string xpub);

    /// The last-value cache `snapshot` requests read (null = off: empty snapshots). It must
    /// outlive the control plane.
    void set_cache(const last_value_cache* lvc) noexcept { lvc_ = lvc; }

    /// The recorder link recorder_ack / recorder_resume act on (null = none configured: both
    /// are refused), and the node allowed to send them ([recorder] client). `r` must outlive
    /// the control plane.
    void set_recorder(recorder* r, std::string client) {
        recorder_ = r;
        recorder_client_ = std::move(client);
    }

    /// The [topic][body] pairs that follow the reply frame of the last handle_frame() call
    /// (a snapshot_ok; empty for every other reply). Views into the cache: send them before
    /// the forwarder runs again.
    [[nodiscard]] const std::vector<std::pair<std::string_view, std::string_view>>& reply_pairs()
        const noexcept {
        return page_.items;
    }

    /// Decodes one request frame and encodes its reply into `reply` (cleared first). Never
    /// throws on any input; the reply is always a valid control message within the codec's
    /// size limits. `peer`: with CURVE on, the name the sender's key authenticated as.
    void handle_frame(std::string_view request, std::int64_t now_ms, std::string& reply,
                      std::string_view peer = {});

    /// Encodes a bad_request error with `reason` into `reply` (a request with a malformed
    /// envelope, seen by the socket layer) and logs it like any refused request.
    void refuse(std::string reason, std::string& reply);

    /// Handles one decoded message and returns the reply (an error for reply types). With CURVE
    /// on ([security] curve), `peer` is the authenticated client name and the request is
    /// authorized first: register / heartbeat / deregister only as `peer` itself, halt / resume
    /// only from an operator client; anything else gets a not_allowed error.
    schema::control_message handle(const schema::control_message& request, std::int64_t now_ms,
                                   std::string_view peer = {});

    /// The reply for a request that could not be decoded.
    [[nodiscard]] static schema::error_reply decode_failure(const schema::decode_error& e);

    /// Applies every liveness / gone deadline due at `now_ms`.
    void run_timers(std::int64_t now_ms);
    /// The earliest deadline the timers must run at (mono ms), or no_deadline.
    [[nodiscard]] std::int64_t next_deadline() const noexcept { return next_deadline_; }

    [[nodiscard]] const node_table& nodes() const noexcept { return nodes_; }
    [[nodiscard]] const dependency_graph& graph() const noexcept { return graph_; }
    [[nodiscard]] schema::trading_state trading() const noexcept { return trading_; }
    [[nodiscard]] std::uint64_t epoch() const noexcept { return epoch_; }
    [[nodiscard]] const std::string& trading_reason() const noexcept { return trading_reason_; }
    [[nodiscard]] std::int64_t start_ms() const noexcept { return start_ms_; }
    [[nodiscard]] std::int64_t liveness() const noexcept { return liveness_; }
    /// Requests handled, by request type ("register", "status", ...); requests that could not
    /// be decoded or had a malformed envelope count as "invalid".
    [[nodiscard]] const std::map<std::string, std::uint64_t, std::less<>>& requests() const {
        return requests_;
    }

    /// Counts a reply the socket layer could not queue.
    void reply_dropped(reply_drop why) noexcept {
        ++replies_dropped_[static_cast<std::size_t>(why)];
    }
    /// Replies dropped, by reply_drop.
    [[nodiscard]] const std::array<std::uint64_t, 2>& replies_dropped() const noexcept {
        return replies_dropped_;
    }

    /// Dependencies of `name` that are not ready yet (ready = healthy or degraded).
    [[nodiscard]] std::vector<std::string> waiting_for(std::string_view name) const;

  private:
    schema::control_message on_register(const schema::register_request& r, std::int64_t now);
    /// What one registration may hold (defaults::max_registration_*): an error when over.
    [[nodiscard]] static std::optional<schema::error_reply> registration_limits(
        const schema::register_request& r);
    schema::control_message on_heartbeat(const schema::heartbeat_request& r, std::int64_t now);
    schema::control_message on_deregister(const schema::deregister_request& r, std::int64_t now);
    schema::control_message on_status(const schema::status_request& r, std::int64_t now);
    /// CURVE on: why `peer` may not send `request` (an error reply), or nullopt.
    [[nodiscard]] std::optional<schema::error_reply> authorize(
        const schema::control_message& request, std::string_view peer) const;
    schema::control_message on_snapshot(const schema::snapshot_request& r);
    schema::control_message on_announce(const schema::announce_request& r);
    schema::control_message on_lookup(const schema::lookup_request& r);
    /// recorder_ack / recorder_resume: the configured [recorder] client's current session only.
    std::optional<schema::error_reply> recorder_client(std::string_view what,
                                                       const std::string& name,
                                                       std::uint64_t session_id);
    schema::control_message on_recorder_ack(const schema::recorder_ack& r);
    schema::control_message on_recorder_resume(const schema::recorder_resume& r);
    /// An operator's cancel: checked (schema::cancel_scope_error, else bad_request) and
    /// published as a cancel_request on sys.cancel for execution; replies ok.
    schema::control_message on_cancel(const schema::cancel_command& c);
    /// An operator's flatten: checked like a cancel of the symbol (or of every order), then
    /// published as that cancel_request on sys.cancel and a flatten_request on sys.flatten;
    /// replies ok.
    schema::control_message on_flatten(const schema::flatten_command& f);
    /// halt (`to` halted or reducing) / resume (`to` active) of the desk, or of one symbol or
    /// strategy scope: checked, saved, then published on the scope's topic.
    schema::control_message on_trading(schema::trading_state to, const std::string& reason,
                                       const std::string& by, const std::string& symbol,
                                       const std::string& strategy);
    schema::control_message on_scope(schema::trading_state to, trading_record next,
                                     const std::string& symbol, const std::string& strategy);
    /// The scopes in force as the store saves them.
    [[nodiscard]] std::vector<trading_scope_record> scope_list() const;

    /// Resolves a heartbeat / deregister to its record, or fills `error`.
    node_record* session_of(std::string_view name, std::uint64_t session,
                            schema::error_reply& error);
    /// Moves `rec` to `next`, publishing sys.node.health when the state changes.
    void move(node_record& rec, schema::health next, std::string reason, std::int64_t now);
    void update_next_deadline();
    void log_refused(const schema::error_reply& e);
    void count_request(std::string_view type);
    [[nodiscard]] std::uint64_t new_session_id();

    std::string name_;
    std::int64_t interval_ms_, liveness_, gone_after_ms_;
    std::uint64_t epoch_;
    event_sink& sink_;
    const data_stats& stats_;
    std::int64_t start_ms_;
    std::string xsub_advertised_, xpub_advertised_;
    const security_config* security_;  // nullptr: CURVE off, every request is allowed

    node_table nodes_;
    dependency_graph graph_;
    service_registry services_;
    schema::trading_state trading_ = schema::trading_state::active;
    std::string trading_reason_ = "broker started";
    std::string trading_by_ = "broker";
    std::int64_t trading_since_ns_ = 0;
    const trading_store* store_ = nullptr;
    std::map<std::string, trading_scope_record, std::less<>> scopes_;  // by topic; none active
    std::uint64_t sessions_issued_ = 0;
    std::int64_t next_deadline_ = no_deadline;

    struct replaced_session {
        std::string name, host;
        std::int64_t by_pid;
    };
    std::unordered_map<std::uint64_t, replaced_session> replaced_;
    std::deque<std::uint64_t> replaced_order_;
    common::rate_limited refused_log_;
    std::map<std::string, std::uint64_t, std::less<>> requests_;  // keys: request type names
    std::array<std::uint64_t, 2> replies_dropped_{};
    const last_value_cache* lvc_ = nullptr;
    recorder* recorder_ = nullptr;
    std::string recorder_client_;
    last_value_cache::page page_;  // pairs of the last snapshot_ok
};

/// A fresh broker incarnation id: random, non-zero.
[[nodiscard]] std::uint64_t new_epoch();

}  // namespace tradebus::broker
