// A node's session with the broker (nodes/runtime/session_lifecycle.cpp): one expectation per
// case, as data, and checks that every row, the catch-all included, is reached by some case and
// that every (state, event, request) finds a row.
#include <doctest/doctest.h>

#include <optional>
#include <set>

#include "tradebus/runtime/session_lifecycle.hpp"

using namespace tradebus::runtime;

namespace {

using ev = session_event;
using rq = session_request;
using act = session_action;
constexpr auto Un = session_state::unregistered, Reg = session_state::registered,
               Rep = session_state::replaced;

struct session_case {
    session_state from;
    session_event event;
    session_request request;
    session_state expect_state;
    session_action expect_action;
};

// clang-format off
const session_case cases[] = {
    // register
    {Un,  ev::register_ok,     rq::register_, Reg, act::adopt},
    {Un,  ev::duplicate_name,  rq::register_, Un,  act::retry_at_cap},
    {Un,  ev::unknown_session, rq::register_, Un,  act::retry_at_cap},
    {Un,  ev::refused,         rq::register_, Un,  act::retry_at_cap},
    {Un,  ev::undecodable,     rq::register_, Un,  act::warn},
    {Un,  ev::heartbeat_ok,    rq::register_, Un,  act::warn},
    {Un,  ev::no_reply,        rq::register_, Un,  act::back_off},
    // heartbeat
    {Reg, ev::heartbeat_ok,    rq::heartbeat, Reg, act::refresh},
    {Reg, ev::epoch_changed,   rq::heartbeat, Un,  act::re_register},
    {Reg, ev::unknown_session, rq::heartbeat, Un,  act::re_register},
    {Reg, ev::duplicate_name,  rq::heartbeat, Rep, act::stop_replaced},
    {Reg, ev::refused,         rq::heartbeat, Reg, act::log_refusal},
    {Reg, ev::no_reply,        rq::heartbeat, Reg, act::back_off},
    {Reg, ev::undecodable,     rq::heartbeat, Reg, act::warn},
    {Reg, ev::register_ok,     rq::heartbeat, Reg, act::warn},
    {Reg, ev::ok,              rq::heartbeat, Reg, act::warn},
    {Reg, ev::other_reply,     rq::heartbeat, Reg, act::warn},
    // announce
    {Reg, ev::ok,              rq::announce,  Reg, act::announced},
    {Reg, ev::refused,         rq::announce,  Reg, act::retry_announce},
    {Reg, ev::unknown_session, rq::announce,  Un,  act::re_register},
    {Reg, ev::duplicate_name,  rq::announce,  Rep, act::stop_replaced},
    {Reg, ev::no_reply,        rq::announce,  Reg, act::back_off},
    {Reg, ev::heartbeat_ok,    rq::announce,  Reg, act::warn},
    // the late join's snapshot: every reply is its answer
    {Reg, ev::snapshot_ok,     rq::snapshot,  Reg, act::to_snapshot},
    {Reg, ev::refused,         rq::snapshot,  Reg, act::to_snapshot},
    {Reg, ev::unknown_session, rq::snapshot,  Reg, act::to_snapshot},
    {Reg, ev::undecodable,     rq::snapshot,  Reg, act::to_snapshot},
    {Reg, ev::no_reply,        rq::snapshot,  Reg, act::back_off},
    // the logic's own request
    {Reg, ev::ok,              rq::logic,     Reg, act::to_logic},
    {Reg, ev::refused,         rq::logic,     Reg, act::to_logic},
    {Reg, ev::duplicate_name,  rq::logic,     Reg, act::to_logic},
    {Reg, ev::undecodable,     rq::logic,     Reg, act::to_logic},
    {Reg, ev::unknown_session, rq::logic,     Un,  act::to_logic_then_re_register},
    {Reg, ev::no_reply,        rq::logic,     Reg, act::back_off},
    // hints from the data plane
    {Reg, ev::epoch_hint,      rq::none,      Reg, act::ask_broker},
    {Reg, ev::epoch_hint,      rq::heartbeat, Reg, act::ask_broker},
    {Un,  ev::epoch_hint,      rq::register_, Un,  act::nothing},
    // the stop
    {Reg, ev::stop,            rq::none,      Un,  act::deregister},
    {Reg, ev::stop,            rq::heartbeat, Un,  act::deregister},
    {Un,  ev::stop,            rq::register_, Un,  act::nothing},
    {Rep, ev::stop,            rq::none,      Rep, act::nothing},
    // catch-all: a replaced node acts on nothing
    {Rep, ev::heartbeat_ok,    rq::heartbeat, Rep, act::warn},
    {Rep, ev::no_reply,        rq::heartbeat, Rep, act::warn},
    {Rep, ev::epoch_hint,      rq::none,      Rep, act::warn},
};
// clang-format on

}  // namespace

TEST_CASE("session lifecycle: every case of the table") {
    std::set<const session_row*> hit;
    for (const auto& c : cases) {
        CAPTURE(to_string(c.from));
        CAPTURE(to_string(c.event));
        CAPTURE(to_string(c.request));
        const session_row& row = session_step(c.from, c.event, c.request);
        hit.insert(&row);
        CHECK(to_string(row.action) == to_string(c.expect_action));
        CHECK(to_string(row.next.value_or(c.from)) == to_string(c.expect_state));
        CHECK_FALSE(row.why.empty());
    }
    const auto table = session_table();
    for (std::size_t i = 0; i < table.size(); ++i) {
        CAPTURE(i);
        CAPTURE(table[i].why);
        CHECK(hit.count(&table[i]) == 1);
    }
}

TEST_CASE("session lifecycle: the last row is a catch-all that changes nothing") {
    const auto& last = session_table().back();
    CHECK(last.from == any_session_state);
    CHECK(last.events == any_session_event);
    CHECK(last.requests == any_request);
    CHECK_FALSE(last.next.has_value());
    CHECK(last.action == session_action::warn);
}

TEST_CASE(
    "session lifecycle: every (state, event, request) finds a row, and only a reply to "
    "the request in flight moves the state") {
    for (unsigned s = 0; s <= static_cast<unsigned>(Rep); ++s) {
        for (unsigned e = 0; e < session_event_count; ++e) {
            for (unsigned r = 0; r < session_request_count; ++r) {
                const auto state = static_cast<session_state>(s);
                const auto event = static_cast<session_event>(e);
                const auto request = static_cast<session_request>(r);
                CAPTURE(to_string(state));
                CAPTURE(to_string(event));
                CAPTURE(to_string(request));
                const auto& row = session_step(state, event, request);
                CHECK((row.from & mask(state)) != 0);
                CHECK((row.events & mask(event)) != 0);
                CHECK((row.requests & mask(request)) != 0);
                // Nothing leaves `replaced`: that node is stopping.
                if (state == Rep) CHECK_FALSE(row.next.has_value());
                // No timeout and no hint ends or starts a session (only the broker's answer
                // does); the stop ends it.
                if (event == ev::no_reply || event == ev::epoch_hint) {
                    CHECK_FALSE(row.next.has_value());
                }
                // Only a register_ok makes a session.
                if (row.next == Reg) {
                    CHECK(event == ev::register_ok);
                }
                // Nothing but a reply to a register is a registration's answer.
                if (row.action == act::adopt) CHECK(request == rq::register_);
            }
        }
    }
}
