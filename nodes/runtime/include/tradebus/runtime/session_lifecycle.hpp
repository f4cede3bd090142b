// A node's session with the broker as one table, the node-side mirror of the broker's node
// lifecycle (broker/lifecycle.hpp): every (state, event, request in flight) the node's control
// plane can meet maps to a row naming the next state (or none: unchanged) and the one action the
// engine carries out. The last row is the catch-all. engine.cpp only classifies what happened,
// looks the row up and does what it says (ARCHITECTURE.md "Node session").
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace tradebus::runtime {

/// Where the node stands with the broker.
enum class session_state : std::uint8_t {
    unregistered,  // no session: the next control request is a register
    registered,    // a session of the broker's current epoch: heartbeats (and announces) go out
    replaced,      // the broker gave the node's name to a newer instance: this one stops
};

/// What happened: a reply to the request in flight (or its absence), or a hint from elsewhere.
enum class session_event : std::uint8_t {
    register_ok,      // register_ok
    heartbeat_ok,     // heartbeat_ok of the epoch the node registered in
    epoch_changed,    // heartbeat_ok of another epoch: the broker restarted
    ok,               // ok (an announce accepted)
    snapshot_ok,      // snapshot_ok (the broker's last values)
    unknown_session,  // error unknown_session: the broker does not know the session
    duplicate_name,   // error duplicate_name: the name is held by another instance
    refused,          // any other error
    no_reply,         // no reply within the request timeout
    undecodable,      // a reply that does not decode
    other_reply,      // a reply of a type no request of the node asks for
    epoch_hint,       // sys.broker.started announcing another epoch (data plane: only a hint)
    stop,             // the node is stopping
};
inline constexpr unsigned session_event_count = 13;

/// The control request that was in flight when the event happened (the rows' guard).
enum class session_request : std::uint8_t {
    none,       // nothing in flight (the epoch hint, the stop)
    register_,  // register
    heartbeat,  // heartbeat
    announce,   // announce of one of the logic's services (context::announce_service)
    snapshot,   // snapshot: the broker's cached last values (late join)
    logic,      // the logic's own request (context::send_control)
};
inline constexpr unsigned session_request_count = 6;

/// What the engine does for a row.
enum class session_action : std::uint8_t {
    adopt,           // take session, epoch and heartbeat interval; connect; readiness; trading
    refresh,         // readiness and trading from the heartbeat reply
    re_register,     // the session is gone: register again now, prove the data plane again
    stop_replaced,   // stop at once (exit 1) without deregistering the new instance
    retry_at_cap,    // a refused registration needs a human: retry every retry_max_ms
    log_refusal,     // a refused heartbeat: log it (rate-limited), keep the session
    announced,       // the service is announced: the next one, or the heartbeat
    retry_announce,  // log the refusal, announce again after a heartbeat interval
    back_off,        // no reply: give up the request, retry with an exponential backoff
    to_snapshot,     // hand the reply to the late join
    to_logic,        // hand the reply to the logic's callback
    to_logic_then_re_register,  // hand it over, then re-register (the session is gone)
    ask_broker,                 // send the next heartbeat now (at most every 500 ms)
    deregister,                 // send deregister and wait for its answer (bounded)
    nothing,                    // the event means nothing in this state
    warn,                       // log an unexpected reply; nothing changes
};

[[nodiscard]] std::string_view to_string(session_state s) noexcept;
[[nodiscard]] std::string_view to_string(session_event e) noexcept;
[[nodiscard]] std::string_view to_string(session_request r) noexcept;
[[nodiscard]] std::string_view to_string(session_action a) noexcept;

using session_state_mask = std::uint8_t;
using session_event_mask = std::uint16_t;
using session_request_mask = std::uint8_t;
[[nodiscard]] constexpr session_state_mask mask(session_state s) noexcept {
    return static_cast<session_state_mask>(1u << static_cast<unsigned>(s));
}
[[nodiscard]] constexpr session_event_mask mask(session_event e) noexcept {
    return static_cast<session_event_mask>(1u << static_cast<unsigned>(e));
}
[[nodiscard]] constexpr session_request_mask mask(session_request r) noexcept {
    return static_cast<session_request_mask>(1u << static_cast<unsigned>(r));
}
inline constexpr session_state_mask any_session_state = 0x7;
inline constexpr session_event_mask any_session_event = (1u << session_event_count) - 1;
inline constexpr session_request_mask any_request = (1u << session_request_count) - 1;

/// One row: in a state of `from`, on an event of `events` with a request of `requests` in
/// flight, do `action` and move to `next` (nullopt: the state stays).
struct session_row {
    session_state_mask from;
    session_event_mask events;
    session_request_mask requests;
    std::optional<session_state> next;
    session_action action;
    std::string_view why;
};

/// The whole table, in lookup order; the last row is the catch-all.
[[nodiscard]] std::span<const session_row> session_table() noexcept;

/// The first row matching (always found: the catch-all matches everything).
[[nodiscard]] const session_row& session_step(session_state state, session_event event,
                                              session_request request) noexcept;

}  // namespace tradebus::runtime
