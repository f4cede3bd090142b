#include "tradebus/broker/lifecycle.hpp"

#include <array>

#include "tradebus/schema/control.hpp"

namespace tradebus::broker {

namespace {

using schema::health;
using ev = lifecycle_event;
using g = lifecycle_guard;
namespace code = schema::error_code;

constexpr state_mask S = mask(health::starting);
constexpr state_mask H = mask(health::healthy);
constexpr state_mask D = mask(health::degraded);
constexpr state_mask U = mask(health::unhealthy);
constexpr state_mask P = mask(health::stopping);
constexpr state_mask X = mask(health::stopped);

constexpr event_mask E(ev e) { return mask(e); }

// The table. Rows are tried in order; the first whose state, event and guard match wins.
// Rows whose `next` equals the current state change nothing and publish nothing; error rows
// ignore `next` (the state does not change).
constexpr std::array rows{
    // ---- REGISTER ------------------------------------------------------------------------
    lifecycle_row{X, E(ev::register_request), g::any, health::starting, {}, "registered"},
    lifecycle_row{U | P,
                  E(ev::register_request),
                  g::any,
                  health::starting,
                  {},
                  "re-registered; replaces a session that was unhealthy or stopping"},
    lifecycle_row{S | H | D,
                  E(ev::register_request),
                  g::same_host,
                  health::starting,
                  {},
                  "re-registered from the same host (restart); replaces the live session"},
    lifecycle_row{S | H | D, E(ev::register_request), g::other_host, health::stopped,
                  code::duplicate_name,
                  "the name is held by a live session on another host; stop that node or wait "
                  "until it is unhealthy"},
    // ---- HEARTBEAT while starting: healthy needs every dependency ready ------------------
    lifecycle_row{S, E(ev::heartbeat_starting), g::any, health::starting, {}, "starting"},
    lifecycle_row{S,
                  E(ev::heartbeat_healthy),
                  g::deps_ready,
                  health::healthy,
                  {},
                  "first healthy heartbeat with every dependency ready"},
    lifecycle_row{S,
                  E(ev::heartbeat_degraded),
                  g::deps_ready,
                  health::degraded,
                  {},
                  "first heartbeat with every dependency ready; node reports degraded"},
    lifecycle_row{S,
                  E(ev::heartbeat_healthy) | E(ev::heartbeat_degraded),
                  g::deps_not_ready,
                  health::starting,
                  {},
                  "waiting for dependencies"},
    // ---- HEARTBEAT while running: the node's own view wins -------------------------------
    lifecycle_row{
        H | D, E(ev::heartbeat_healthy), g::any, health::healthy, {}, "node reports healthy"},
    lifecycle_row{
        H | D, E(ev::heartbeat_degraded), g::any, health::degraded, {}, "node reports degraded"},
    lifecycle_row{
        H | D, E(ev::heartbeat_starting), g::any, health::starting, {}, "node reports starting"},
    // ---- HEARTBEAT after missed ones: "healthy on a heartbeat" ---------------------------
    lifecycle_row{U,
                  E(ev::heartbeat_healthy),
                  g::deps_ready,
                  health::healthy,
                  {},
                  "heartbeat received again"},
    lifecycle_row{U,
                  E(ev::heartbeat_degraded),
                  g::deps_ready,
                  health::degraded,
                  {},
                  "heartbeat received again; node reports degraded"},
    lifecycle_row{U,
                  E(ev::heartbeat_healthy) | E(ev::heartbeat_degraded),
                  g::deps_not_ready,
                  health::starting,
                  {},
                  "heartbeat received again; waiting for dependencies"},
    lifecycle_row{U,
                  E(ev::heartbeat_starting),
                  g::any,
                  health::starting,
                  {},
                  "heartbeat received again; node reports starting"},
    // ---- stopping ------------------------------------------------------------------------
    lifecycle_row{S | H | D | U,
                  E(ev::heartbeat_stopping),
                  g::any,
                  health::stopping,
                  {},
                  "node reports stopping"},
    lifecycle_row{P, valid_heartbeats, g::any, health::stopping, {}, "stopping"},
    lifecycle_row{
        S | H | D | U | P, E(ev::deregister), g::any, health::stopping, {}, "deregister received"},
    lifecycle_row{P, E(ev::deregistered), g::any, health::stopped, {}, "deregistered"},
    // ---- timers --------------------------------------------------------------------------
    lifecycle_row{
        S | H | D, E(ev::liveness_missed), g::any, health::unhealthy, {}, "missed heartbeats"},
    lifecycle_row{
        P, E(ev::liveness_missed), g::any, health::stopped, {}, "stopping but never deregistered"},
    lifecycle_row{U, E(ev::gone), g::any, health::stopped, {}, "gone"},
    // ---- refusals ------------------------------------------------------------------------
    lifecycle_row{any_state, E(ev::heartbeat_invalid), g::any, health::stopped, code::bad_request,
                  "state: a node reports starting, healthy, degraded or stopping"},
    lifecycle_row{X, valid_heartbeats | E(ev::deregister), g::any, health::stopped,
                  code::unknown_session, "the session has ended (node stopped); register again"},
    // ---- catch-all (malamute's `*`): refused, state unchanged -----------------------------
    lifecycle_row{any_state, any_event, g::any, health::stopped, code::not_allowed,
                  "not allowed in the node's current state"},
};

bool guard_holds(lifecycle_guard guard, const lifecycle_context& ctx) {
    switch (guard) {
        case g::any:
            return true;
        case g::deps_ready:
            return ctx.deps_ready;
        case g::deps_not_ready:
            return !ctx.deps_ready;
        case g::same_host:
            return ctx.same_host;
        case g::other_host:
            return !ctx.same_host;
    }
    return false;
}

}  // namespace

std::string_view to_string(lifecycle_event e) noexcept {
    switch (e) {
        case ev::register_request:
            return "register";
        case ev::heartbeat_starting:
            return "heartbeat(starting)";
        case ev::heartbeat_healthy:
            return "heartbeat(healthy)";
        case ev::heartbeat_degraded:
            return "heartbeat(degraded)";
        case ev::heartbeat_stopping:
            return "heartbeat(stopping)";
        case ev::heartbeat_invalid:
            return "heartbeat(invalid state)";
        case ev::deregister:
            return "deregister";
        case ev::deregistered:
            return "deregistered";
        case ev::liveness_missed:
            return "liveness missed";
        case ev::gone:
            return "gone";
    }
    return "unknown";
}

std::span<const lifecycle_row> lifecycle_table() noexcept { return rows; }

const lifecycle_row& lifecycle_step(health state, lifecycle_event event,
                                    const lifecycle_context& ctx) noexcept {
    for (const auto& row : rows) {
        if ((row.from & mask(state)) != 0 && (row.events & mask(event)) != 0 &&
            guard_holds(row.guard, ctx)) {
            return row;
        }
    }
    return rows.back();  // unreachable: the catch-all matches everything
}

lifecycle_event heartbeat_event(health reported) noexcept {
    switch (reported) {
        case health::starting:
            return ev::heartbeat_starting;
        case health::healthy:
            return ev::heartbeat_healthy;
        case health::degraded:
            return ev::heartbeat_degraded;
        case health::stopping:
            return ev::heartbeat_stopping;
        case health::unhealthy:
        case health::stopped:
            break;
    }
    return ev::heartbeat_invalid;
}

}  // namespace tradebus::broker
