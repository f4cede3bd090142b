#include "tradebus/runtime/session_lifecycle.hpp"

#include <array>

namespace tradebus::runtime {

namespace {

using ev = session_event;
using rq = session_request;
using st = session_state;
using act = session_action;

constexpr session_state_mask Un = mask(st::unregistered);
constexpr session_state_mask Reg = mask(st::registered);
constexpr session_state_mask Live = Un | Reg;

constexpr session_event_mask E(ev e) { return mask(e); }
constexpr session_request_mask R(rq r) { return mask(r); }
constexpr session_event_mask replies =
    any_session_event & ~(E(ev::no_reply) | E(ev::epoch_hint) | E(ev::stop));
constexpr std::optional<st> same = std::nullopt;

// The table. Rows are tried in order; the first whose state, event and request match wins.
constexpr std::array rows{
    // ---- register -------------------------------------------------------------------------
    session_row{Un, E(ev::register_ok), R(rq::register_), st::registered, act::adopt, "registered"},
    session_row{Un, E(ev::duplicate_name) | E(ev::unknown_session) | E(ev::refused),
                R(rq::register_), same, act::retry_at_cap,
                "registration refused (a duplicate name, a dependency cycle, ...): needs a "
                "human, retried at the backoff cap"},
    // ---- the logic's own request: its reply is the logic's, whatever it says ---------------
    session_row{Reg, E(ev::unknown_session), R(rq::logic), st::unregistered,
                act::to_logic_then_re_register,
                "the logic's request found the session gone: handed over, then registering "
                "again"},
    session_row{Reg, replies, R(rq::logic), same, act::to_logic, "the logic's reply"},
    // ---- the late join's snapshot: any reply is its answer (an error: no cached values) ---
    session_row{Reg, replies, R(rq::snapshot), same, act::to_snapshot, "the last-value snapshot"},
    // ---- heartbeat and announce -----------------------------------------------------------
    session_row{Reg, E(ev::heartbeat_ok), R(rq::heartbeat), same, act::refresh,
                "heartbeat answered"},
    session_row{Reg, E(ev::epoch_changed), R(rq::heartbeat), st::unregistered, act::re_register,
                "the broker restarted (another epoch): registering again"},
    session_row{Reg, E(ev::ok), R(rq::announce), same, act::announced, "service announced"},
    session_row{Reg, E(ev::unknown_session), R(rq::heartbeat) | R(rq::announce), st::unregistered,
                act::re_register, "the broker does not know the session: registering again"},
    session_row{Reg, E(ev::duplicate_name), R(rq::heartbeat) | R(rq::announce), st::replaced,
                act::stop_replaced,
                "the broker gave the name to another instance of this node (this one was "
                "silent: frozen or cut off); two would act twice on every event, so the older "
                "one stops"},
    session_row{Reg, E(ev::refused), R(rq::announce), same, act::retry_announce,
                "announce refused: retried after a heartbeat interval"},
    session_row{Reg, E(ev::refused), R(rq::heartbeat), same, act::log_refusal,
                "heartbeat refused: the session stays"},
    // ---- no reply ---------------------------------------------------------------------------
    session_row{Live, E(ev::no_reply), any_request, same, act::back_off,
                "no reply in time: the broker is away or slow; retried with backoff"},
    // ---- hints and the stop -------------------------------------------------------------------
    session_row{Reg, E(ev::epoch_hint), any_request, same, act::ask_broker,
                "a sys.broker.started announces another epoch: the control plane is asked, "
                "only its answer counts"},
    session_row{Un, E(ev::epoch_hint), any_request, same, act::nothing,
                "registering already: the register reply tells the epoch"},
    session_row{Reg, E(ev::stop), any_request, st::unregistered, act::deregister, "deregistering"},
    session_row{Un | mask(st::replaced), E(ev::stop), any_request, same, act::nothing,
                "no session to end (or it is another instance's now)"},
    // ---- catch-all: an undecodable or unexpected reply changes nothing ----------------------
    session_row{any_session_state, any_session_event, any_request, same, act::warn,
                "unexpected in this state: ignored"},
};

}  // namespace

std::string_view to_string(session_state s) noexcept {
    switch (s) {
        case st::unregistered:
            return "unregistered";
        case st::registered:
            return "registered";
        case st::replaced:
            return "replaced";
    }
    return "unknown";
}

std::string_view to_string(session_event e) noexcept {
    switch (e) {
        case ev::register_ok:
            return "register_ok";
        case ev::heartbeat_ok:
            return "heartbeat_ok";
        case ev::epoch_changed:
            return "heartbeat_ok(other epoch)";
        case ev::ok:
            return "ok";
        case ev::snapshot_ok:
            return "snapshot_ok";
        case ev::unknown_session:
            return "error(unknown_session)";
        case ev::duplicate_name:
            return "error(duplicate_name)";
        case ev::refused:
            return "error";
        case ev::no_reply:
            return "no reply";
        case ev::undecodable:
            return "undecodable reply";
        case ev::other_reply:
            return "unexpected reply";
        case ev::epoch_hint:
            return "sys.broker.started(other epoch)";
        case ev::stop:
            return "stop";
    }
    return "unknown";
}

std::string_view to_string(session_request r) noexcept {
    switch (r) {
        case rq::none:
            return "none";
        case rq::register_:
            return "register";
        case rq::heartbeat:
            return "heartbeat";
        case rq::announce:
            return "announce";
        case rq::snapshot:
            return "snapshot";
        case rq::logic:
            return "logic";
    }
    return "unknown";
}

std::string_view to_string(session_action a) noexcept {
    switch (a) {
        case act::adopt:
            return "adopt";
        case act::refresh:
            return "refresh";
        case act::re_register:
            return "re_register";
        case act::stop_replaced:
            return "stop_replaced";
        case act::retry_at_cap:
            return "retry_at_cap";
        case act::log_refusal:
            return "log_refusal";
        case act::announced:
            return "announced";
        case act::retry_announce:
            return "retry_announce";
        case act::back_off:
            return "back_off";
        case act::to_snapshot:
            return "to_snapshot";
        case act::to_logic:
            return "to_logic";
        case act::to_logic_then_re_register:
            return "to_logic_then_re_register";
        case act::ask_broker:
            return "ask_broker";
        case act::deregister:
            return "deregister";
        case act::nothing:
            return "nothing";
        case act::warn:
            return "warn";
    }
    return "unknown";
}

std::span<const session_row> session_table() noexcept { return rows; }

const session_row& session_step(session_state state, session_event event,
                                session_request request) noexcept {
    for (const auto& row : rows) {
        if ((row.from & mask(state)) != 0 && (row.events & mask(event)) != 0 &&
            (row.requests & mask(request)) != 0) {
            return row;
        }
    }
    return rows.back();  // unreachable: the catch-all matches everything
}

}  // namespace tradebus::runtime
