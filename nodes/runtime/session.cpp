#include "tradebus/runtime/session.hpp"

#include <date/tz.h>

#include <chrono>
#include <sstream>
#include <stdexcept>

namespace tradebus::runtime {

namespace {
using ns = std::chrono::nanoseconds;
using date::days;

const date::time_zone* zone_of(const void* z) { return static_cast<const date::time_zone*>(z); }

// "HH:MM" -> minutes after midnight, or -1.
std::int64_t parse_hhmm(const std::string& s) {
    auto digit = [&](std::size_t i) { return s[i] >= '0' && s[i] <= '9'; };
    if (s.size() != 5 || s[2] != ':' || !digit(0) || !digit(1) || !digit(3) || !digit(4)) {
        return -1;
    }
    const int h = (s[0] - '0') * 10 + (s[1] - '0');
    const int m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 23 || m > 59) return -1;
    return h * 60 + m;
}
}  // namespace

trading_session::trading_session()
    : trading_session(std::string(session_defaults::timezone),
                      std::string(session_defaults::start)) {}

trading_session::trading_session(const std::string& timezone, const std::string& start)
    : timezone_(timezone), start_(start) {
    start_min_ = parse_hhmm(start);
    if (start_min_ < 0) {
        throw std::invalid_argument("expected a time of day \"HH:MM\" (00:00 .. 23:59), got \"" +
                                    start + "\"");
    }
    try {
        zone_ = date::locate_zone(timezone);
    } catch (const std::exception&) {
        zone_ = nullptr;
    }
    if (zone_ == nullptr) {
        throw std::invalid_argument(
            "expected an IANA time zone name such as \"America/New_York\" or \"UTC\" (from "
            "/usr/share/zoneinfo), got \"" +
            timezone + "\"");
    }
}

std::int64_t trading_session::local_day(std::int64_t ts_ns) const {
    const date::sys_time<ns> t{ns{ts_ns}};
    const auto local = zone_of(zone_)->to_local(t);
    return date::floor<days>(local).time_since_epoch().count();
}

std::int64_t trading_session::start_on(std::int64_t day) const {
    const date::local_time<ns> local{days{day} + std::chrono::minutes{start_min_}};
    // earliest: a time that exists twice (clocks set back) starts at its first occurrence; one
    // skipped (clocks set forward) maps to the instant of the jump.
    return zone_of(zone_)->to_sys(local, date::choose::earliest).time_since_epoch().count();
}

std::int64_t trading_session::start_of(std::int64_t ts_ns) const {
    const auto d = local_day(ts_ns);
    for (std::int64_t day = d + 1; day >= d - 2; --day) {
        const auto s = start_on(day);
        if (s <= ts_ns) return s;
    }
    return start_on(d - 2);  // unreachable: a local day is at most ~26 h of UTC
}

std::string trading_session::day_of(std::int64_t ts_ns) const {
    const date::year_month_day ymd{date::sys_days{days{local_day(start_of(ts_ns))}}};
    std::ostringstream out;
    out << ymd;  // YYYY-MM-DD
    return out.str();
}

std::int64_t trading_session::next_start(std::int64_t ts_ns) const {
    const auto d = local_day(ts_ns);
    for (std::int64_t day = d - 1; day <= d + 2; ++day) {
        const auto s = start_on(day);
        if (s > ts_ns) return s;
    }
    return start_on(d + 2);
}

std::int64_t trading_session::horizon_start(std::int64_t now_ns) const noexcept {
    constexpr std::int64_t ns_per_day = 86'400LL * 1'000'000'000LL;
    return now_ns - horizon_days_ * ns_per_day;
}

trading_session read_session(common::section& root) {
    auto s = root.table("session");
    const auto tz = s.string("session_timezone", std::string(session_defaults::timezone));
    const auto start = s.string("session_start", std::string(session_defaults::start));
    const auto horizon =
        s.integer("recovery_horizon_days", session_defaults::recovery_horizon_days, 1, 3660);
    trading_session out;
    try {
        out = trading_session(tz, std::string(session_defaults::start));
    } catch (const std::invalid_argument& e) {
        s.error("session_timezone", e.what());
    }
    try {
        out = trading_session(out.timezone(), start);
    } catch (const std::invalid_argument& e) {
        s.error("session_start", e.what());
    }
    out.set_recovery_horizon_days(horizon);
    return out;
}

}  // namespace tradebus::runtime
