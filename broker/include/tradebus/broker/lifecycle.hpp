// The node lifecycle as one table (ARCHITECTURE.md "Node lifecycle", malamute's mlm_server.xml):
// every (state, event, guard) the control plane can meet maps to a row that either moves the
// node to a state (published on sys.node.health when it changes) or refuses the request with an
// error code, leaving the state unchanged. The last row is the catch-all. control_plane.cpp
// only resolves the node and the guards, looks the row up and carries out what it says.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "tradebus/schema/types.hpp"

namespace tradebus::broker {

/// What happened to a node: a request it (or the timers) caused.
enum class lifecycle_event : std::uint8_t {
    register_request,    // REGISTER for this name (a new node, or a second session)
    heartbeat_starting,  // HEARTBEAT whose self-reported state is starting ...
    heartbeat_healthy,
    heartbeat_degraded,
    heartbeat_stopping,
    heartbeat_invalid,  // ... unhealthy or stopped: not a state a node may report
    deregister,         // DEREGISTER received
    deregistered,       // follows deregister: the session is closed
    liveness_missed,    // `liveness` heartbeat intervals passed without a heartbeat
    gone,               // gone_after_ms passed without a heartbeat
};

[[nodiscard]] std::string_view to_string(lifecycle_event e) noexcept;

/// The condition a row needs besides state and event.
enum class lifecycle_guard : std::uint8_t {
    any,
    deps_ready,      // every dependency is healthy or degraded
    deps_not_ready,  // some dependency is not
    same_host,       // REGISTER comes from the host of the current session
    other_host,      // REGISTER comes from another host
};

/// A set of states, as a bit mask of schema::health values.
using state_mask = std::uint8_t;
[[nodiscard]] constexpr state_mask mask(schema::health h) noexcept {
    return static_cast<state_mask>(1u << static_cast<unsigned>(h));
}
inline constexpr state_mask any_state = 0x3f;
/// States with a live session (heartbeats accepted, a duplicate name is refused or replaces).
inline constexpr state_mask live_states =
    mask(schema::health::starting) | mask(schema::health::healthy) |
    mask(schema::health::degraded) | mask(schema::health::unhealthy) |
    mask(schema::health::stopping);

/// A set of events, as a bit mask of lifecycle_event values.
using event_mask = std::uint16_t;
[[nodiscard]] constexpr event_mask mask(lifecycle_event e) noexcept {
    return static_cast<event_mask>(1u << static_cast<unsigned>(e));
}
inline constexpr event_mask any_event = 0x3ff;
inline constexpr event_mask valid_heartbeats =
    mask(lifecycle_event::heartbeat_starting) | mask(lifecycle_event::heartbeat_healthy) |
    mask(lifecycle_event::heartbeat_degraded) | mask(lifecycle_event::heartbeat_stopping);

/// One row. When `error_code` is empty the node moves to `next` (possibly the same state);
/// otherwise the request gets error{error_code, reason} and the state does not change.
struct lifecycle_row {
    state_mask from;
    event_mask events;
    lifecycle_guard guard;
    schema::health next;
    std::string_view error_code;
    std::string_view reason;  // published with the change, or the error's reason
    [[nodiscard]] bool is_error() const noexcept { return !error_code.empty(); }
};

/// The guards' inputs for one lookup.
struct lifecycle_context {
    bool deps_ready = false;
    bool same_host = false;
};

/// The whole table, in lookup order; the last row is the catch-all.
[[nodiscard]] std::span<const lifecycle_row> lifecycle_table() noexcept;

/// The first row matching `state`, `event` and `ctx` (always found: the catch-all matches all).
[[nodiscard]] const lifecycle_row& lifecycle_step(schema::health state, lifecycle_event event,
                                                  const lifecycle_context& ctx) noexcept;

/// The event a heartbeat's self-reported state stands for.
[[nodiscard]] lifecycle_event heartbeat_event(schema::health reported) noexcept;

}  // namespace tradebus::broker
