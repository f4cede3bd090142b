// The node lifecycle table (broker/lifecycle.cpp): one expectation per case, as data, and a
// check that every row of the table, the catch-all included, is reached by some case.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "tradebus/broker/lifecycle.hpp"
#include "tradebus/schema/control.hpp"

using namespace tradebus::broker;
using tradebus::schema::health;
namespace code = tradebus::schema::error_code;

namespace {

struct lifecycle_case {
    health from;
    lifecycle_event event;
    bool deps_ready;
    bool same_host;
    health expect_next;             // when expect_error is empty
    std::string_view expect_error;  // an error code, or empty for a transition
};

using ev = lifecycle_event;
constexpr auto S = health::starting, H = health::healthy, D = health::degraded,
               U = health::unhealthy, P = health::stopping, X = health::stopped;

// clang-format off
const lifecycle_case cases[] = {
    // REGISTER
    {X, ev::register_request, false, false, S, {}},
    {U, ev::register_request, false, false, S, {}},
    {P, ev::register_request, false, true,  S, {}},
    {S, ev::register_request, false, true,  S, {}},
    {H, ev::register_request, true,  true,  S, {}},
    {D, ev::register_request, true,  true,  S, {}},
    {H, ev::register_request, true,  false, H, code::duplicate_name},
    {S, ev::register_request, true,  false, S, code::duplicate_name},
    {D, ev::register_request, true,  false, D, code::duplicate_name},
    // HEARTBEAT while starting
    {S, ev::heartbeat_starting, true,  true, S, {}},
    {S, ev::heartbeat_starting, false, true, S, {}},
    {S, ev::heartbeat_healthy,  true,  true, H, {}},
    {S, ev::heartbeat_degraded, true,  true, D, {}},
    {S, ev::heartbeat_healthy,  false, true, S, {}},
    {S, ev::heartbeat_degraded, false, true, S, {}},
    // HEARTBEAT while running (dependencies no longer matter)
    {H, ev::heartbeat_healthy,  false, true, H, {}},
    {H, ev::heartbeat_degraded, true,  true, D, {}},
    {D, ev::heartbeat_healthy,  true,  true, H, {}},
    {D, ev::heartbeat_degraded, false, true, D, {}},
    {H, ev::heartbeat_starting, true,  true, S, {}},
    {D, ev::heartbeat_starting, true,  true, S, {}},
    // HEARTBEAT after missed ones
    {U, ev::heartbeat_healthy,  true,  true, H, {}},
    {U, ev::heartbeat_degraded, true,  true, D, {}},
    {U, ev::heartbeat_healthy,  false, true, S, {}},
    {U, ev::heartbeat_degraded, false, true, S, {}},
    {U, ev::heartbeat_starting, true,  true, S, {}},
    // stopping
    {S, ev::heartbeat_stopping, true, true, P, {}},
    {H, ev::heartbeat_stopping, true, true, P, {}},
    {D, ev::heartbeat_stopping, true, true, P, {}},
    {U, ev::heartbeat_stopping, true, true, P, {}},
    {P, ev::heartbeat_healthy,  true, true, P, {}},
    {P, ev::heartbeat_stopping, true, true, P, {}},
    {H, ev::deregister,   true, true, P, {}},
    {U, ev::deregister,   true, true, P, {}},
    {P, ev::deregister,   true, true, P, {}},
    {P, ev::deregistered, true, true, X, {}},
    // timers
    {S, ev::liveness_missed, true, true, U, {}},
    {H, ev::liveness_missed, true, true, U, {}},
    {D, ev::liveness_missed, true, true, U, {}},
    {P, ev::liveness_missed, true, true, X, {}},
    {U, ev::gone,            true, true, X, {}},
    // refusals
    {H, ev::heartbeat_invalid, true, true, H, code::bad_request},
    {X, ev::heartbeat_invalid, true, true, X, code::bad_request},
    {X, ev::heartbeat_healthy, true, true, X, code::unknown_session},
    {X, ev::heartbeat_stopping, true, true, X, code::unknown_session},
    {X, ev::deregister,        true, true, X, code::unknown_session},
    // catch-all: events that make no sense in the state
    {H, ev::deregistered,    true, true, H, code::not_allowed},
    {H, ev::gone,            true, true, H, code::not_allowed},
    {U, ev::liveness_missed, true, true, U, code::not_allowed},
    {X, ev::liveness_missed, true, true, X, code::not_allowed},
    {X, ev::gone,            true, true, X, code::not_allowed},
    {X, ev::deregistered,    true, true, X, code::not_allowed},
};
// clang-format on

}  // namespace

TEST_CASE("broker lifecycle: every case of the table") {
    std::set<const lifecycle_row*> hit;
    for (const auto& c : cases) {
        const lifecycle_row& row = lifecycle_step(c.from, c.event, {c.deps_ready, c.same_host});
        hit.insert(&row);
        CAPTURE(tradebus::schema::to_string(c.from));
        CAPTURE(to_string(c.event));
        CAPTURE(c.deps_ready);
        CAPTURE(c.same_host);
        if (c.expect_error.empty()) {
            CHECK_FALSE(row.is_error());
            CHECK(tradebus::schema::to_string(row.next) ==
                  tradebus::schema::to_string(c.expect_next));
        } else {
            CHECK(row.error_code == c.expect_error);
        }
        CHECK_FALSE(row.reason.empty());
    }
    // Every row, the catch-all included, is reached by at least one case above.
    const auto table = lifecycle_table();
    for (std::size_t i = 0; i < table.size(); ++i) {
        CAPTURE(i);
        CAPTURE(table[i].reason);
        CHECK(hit.count(&table[i]) == 1);
    }
}

TEST_CASE("broker lifecycle: the last row is a catch-all refusal") {
    const auto table = lifecycle_table();
    const lifecycle_row& last = table.back();
    CHECK(last.from == any_state);
    CHECK(last.events == any_event);
    CHECK(last.guard == lifecycle_guard::any);
    CHECK(last.is_error());
}

TEST_CASE("broker lifecycle: every (state, event) pair finds a row") {
    for (unsigned s = 0; s < 6; ++s) {
        for (unsigned e = 0; e <= static_cast<unsigned>(lifecycle_event::gone); ++e) {
            for (bool ready : {false, true}) {
                for (bool same : {false, true}) {
                    const auto& row = lifecycle_step(
                        static_cast<health>(s), static_cast<lifecycle_event>(e), {ready, same});
                    CHECK((row.from & mask(static_cast<health>(s))) != 0);
                    CHECK((row.events & mask(static_cast<lifecycle_event>(e))) != 0);
                }
            }
        }
    }
}

TEST_CASE("broker lifecycle: heartbeat states map to events") {
    CHECK(heartbeat_event(health::starting) == lifecycle_event::heartbeat_starting);
    CHECK(heartbeat_event(health::healthy) == lifecycle_event::heartbeat_healthy);
    CHECK(heartbeat_event(health::degraded) == lifecycle_event::heartbeat_degraded);
    CHECK(heartbeat_event(health::stopping) == lifecycle_event::heartbeat_stopping);
    CHECK(heartbeat_event(health::unhealthy) == lifecycle_event::heartbeat_invalid);
    CHECK(heartbeat_event(health::stopped) == lifecycle_event::heartbeat_invalid);
}
