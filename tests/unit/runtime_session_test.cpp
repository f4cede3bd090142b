// The trading session rule (runtime::trading_session): which session a timestamp is in and when
// the next one starts, in UTC and across New York's DST changes (a start time skipped by the
// spring change, one that happens twice in the autumn), and the [session] config errors.
#include <doctest/doctest.h>
#include <toml++/toml.h>

#include <chrono>
#include <stdexcept>

#include "tradebus/runtime/node_config.hpp"
#include "tradebus/runtime/session.hpp"

using namespace tradebus;
using runtime::trading_session;

namespace {
constexpr std::int64_t hour = 3'600LL * 1'000'000'000LL;
constexpr std::int64_t minute = 60LL * 1'000'000'000LL;

// UTC ns of y-m-d hh:mm (UTC).
std::int64_t utc(int y, unsigned m, unsigned d, int hh, int mm) {
    using namespace std::chrono;
    const sys_days date{year{y} / month{m} / day{d}};
    return duration_cast<nanoseconds>(date.time_since_epoch()).count() + hh * hour + mm * minute;
}
}  // namespace

TEST_CASE("runtime session: the default is the UTC day") {
    const trading_session s;
    CHECK(s.timezone() == "UTC");
    CHECK(s.start() == "00:00");
    const auto t = utc(2026, 3, 8, 17, 45);
    CHECK(s.start_of(t) == utc(2026, 3, 8, 0, 0));
    CHECK(s.next_start(t) == utc(2026, 3, 9, 0, 0));
    // A start instant belongs to the session it opens.
    CHECK(s.start_of(utc(2026, 3, 9, 0, 0)) == utc(2026, 3, 9, 0, 0));
    CHECK(s.start_of(utc(2026, 3, 9, 0, 0) - 1) == utc(2026, 3, 8, 0, 0));
    CHECK(s.next_start(utc(2026, 3, 9, 0, 0)) == utc(2026, 3, 10, 0, 0));
}

TEST_CASE("runtime session: New York 09:30 follows the clocks across DST") {
    const trading_session s("America/New_York", "09:30");
    // Before the spring change (EST, UTC-5) 09:30 is 14:30 UTC; after it (EDT, UTC-4) 13:30.
    CHECK(s.start_of(utc(2026, 3, 6, 20, 0)) == utc(2026, 3, 6, 14, 30));
    CHECK(s.start_of(utc(2026, 3, 6, 14, 29)) == utc(2026, 3, 5, 14, 30));
    // Clocks go forward on 2026-03-08 at 02:00: that session lasts 23 hours.
    CHECK(s.start_of(utc(2026, 3, 8, 13, 29)) == utc(2026, 3, 7, 14, 30));
    CHECK(s.next_start(utc(2026, 3, 7, 15, 0)) == utc(2026, 3, 8, 13, 30));
    CHECK(s.start_of(utc(2026, 3, 8, 13, 30)) == utc(2026, 3, 8, 13, 30));
    CHECK(s.next_start(utc(2026, 3, 8, 13, 30)) == utc(2026, 3, 9, 13, 30));
    // Clocks go back on 2026-11-01 at 02:00: that session lasts 25 hours.
    CHECK(s.start_of(utc(2026, 11, 1, 14, 0)) == utc(2026, 10, 31, 13, 30));
    CHECK(s.next_start(utc(2026, 10, 31, 13, 30)) == utc(2026, 11, 1, 14, 30));
    // Late evening local time is still the day's session (the local date is ahead of UTC's
    // start but behind UTC's date).
    CHECK(s.start_of(utc(2026, 11, 2, 3, 0)) == utc(2026, 11, 1, 14, 30));
}

TEST_CASE("runtime session: a start time the spring change skips begins when the clocks jump") {
    const trading_session s("America/New_York", "02:30");
    // 2026-03-08 02:00 EST (07:00 UTC) becomes 03:00 EDT: 02:30 does not exist that day.
    CHECK(s.start_of(utc(2026, 3, 8, 6, 59)) == utc(2026, 3, 7, 7, 30));
    CHECK(s.next_start(utc(2026, 3, 8, 6, 59)) == utc(2026, 3, 8, 7, 0));
    CHECK(s.start_of(utc(2026, 3, 8, 8, 0)) == utc(2026, 3, 8, 7, 0));
    CHECK(s.next_start(utc(2026, 3, 8, 8, 0)) == utc(2026, 3, 9, 6, 30));
}

TEST_CASE("runtime session: a start time the autumn change repeats begins at its first time") {
    const trading_session s("America/New_York", "01:30");
    // 2026-11-01 01:30 happens at 05:30 UTC (EDT) and again at 06:30 UTC (EST).
    CHECK(s.start_of(utc(2026, 11, 1, 5, 29)) == utc(2026, 10, 31, 5, 30));
    CHECK(s.start_of(utc(2026, 11, 1, 5, 30)) == utc(2026, 11, 1, 5, 30));
    CHECK(s.start_of(utc(2026, 11, 1, 6, 45)) == utc(2026, 11, 1, 5, 30));  // not a new session
    CHECK(s.next_start(utc(2026, 11, 1, 5, 30)) == utc(2026, 11, 2, 6, 30));
}

TEST_CASE("runtime session: a zone east of UTC starts the session on the previous UTC day") {
    const trading_session s("Asia/Tokyo", "08:45");  // UTC+9, no DST
    CHECK(s.start_of(utc(2026, 6, 1, 0, 0)) == utc(2026, 5, 31, 23, 45));
    CHECK(s.start_of(utc(2026, 5, 31, 23, 44)) == utc(2026, 5, 30, 23, 45));
    CHECK(s.next_start(utc(2026, 5, 31, 23, 44)) == utc(2026, 5, 31, 23, 45));
}

TEST_CASE("runtime session: an unknown zone or a bad start time is refused") {
    CHECK_THROWS_WITH_AS(trading_session("Mars/Olympus_Mons", "09:30"),
                         doctest::Contains("expected an IANA time zone name"),
                         std::invalid_argument);
    for (const char* bad : {"9:30", "24:00", "09:60", "09-30", "", "09:30:00", "ab:cd"}) {
        CAPTURE(bad);
        CHECK_THROWS_WITH_AS(trading_session("UTC", bad),
                             doctest::Contains("expected a time of day \"HH:MM\""),
                             std::invalid_argument);
    }
}

TEST_CASE(
    "runtime session: [session] config errors name the file, line, key and what was expected") {
    struct row {
        const char* table;
        const char* expected;
    };
    const row rows[] = {
        {"session_timezone = \"Europe/Atlantis\"\n",
         "node.toml:7:20: session.session_timezone: expected an IANA time zone name"},
        {"session_start = \"9:30\"\n",
         "node.toml:7:17: session.session_start: expected a time of day \"HH:MM\" (00:00 .. "
         "23:59), got \"9:30\""},
        {"session_start = 930\n", "node.toml:7:17: session.session_start: expected a string"},
        {"recovery_horizon_days = 0\n",
         "session.recovery_horizon_days: expected an integer in [1, 3660], got 0"},
        {"session_tz = \"UTC\"\n", "session.session_tz: unknown key"},
    };
    for (const auto& r : rows) {
        const std::string text =
            std::string(
                "[node]\nkind='risk'\nname='r'\n[broker]\ncontrol_endpoint='tcp://"
                "127.0.0.1:1'\n[session]\n") +
            r.table;
        CAPTURE(text);
        common::config_errors errors("node.toml");
        auto table = toml::parse(text);
        common::section root(&table, "", errors);
        (void)runtime::read_node_config(root, "risk");
        root.finish();
        std::string all;
        for (const auto& e : errors.lines()) all += e + "\n";
        CAPTURE(all);
        CHECK(all.find(r.expected) != std::string::npos);
    }
}

TEST_CASE("runtime session: [session] keys load into the node config") {
    common::config_errors errors("node.toml");
    auto table = toml::parse(
        "[node]\nkind='risk'\nname='r'\n[broker]\ncontrol_endpoint='tcp://127.0.0.1:1'\n"
        "[session]\nsession_timezone = \"America/New_York\"\nsession_start = \"09:30\"\n"
        "recovery_horizon_days = 10\n");
    common::section root(&table, "", errors);
    const auto cfg = runtime::read_node_config(root, "risk");
    root.finish();
    CHECK(errors.lines().empty());
    CHECK(cfg.session.timezone() == "America/New_York");
    CHECK(cfg.session.start() == "09:30");
    CHECK(cfg.session.recovery_horizon_days() == 10);
    CHECK(cfg.session.start_of(utc(2026, 3, 9, 20, 0)) == utc(2026, 3, 9, 13, 30));
}
