// The trading session (README "Configuration reference", [session]): a desk's day starts at
// `session_start` local time in `session_timezone` (IANA name, DST-aware through the system
// tz database, /usr/share/zoneinfo). The one owner of "which session is this timestamp in"
// and "when does the next one start": risk resets its daily loss there and journals a book
// snapshot, and recovery (risk, execution) measures how far back to read from it.
#pragma once

#include <cstdint>
#include <string>

#include "tradebus/common/config.hpp"

namespace tradebus::runtime {

namespace session_defaults {
inline constexpr std::string_view timezone = "UTC";  // a 24h market: the UTC day
inline constexpr std::string_view start = "00:00";
// How far back recovery looks for risk's last book snapshot (and execution for order ids when
// it has no max_order_age_ms): a desk may be closed over a long holiday, not for a month.
inline constexpr std::int64_t recovery_horizon_days = 30;
}  // namespace session_defaults

class trading_session {
  public:
    /// UTC sessions starting at 00:00 (the default).
    trading_session();
    /// Throws std::invalid_argument naming what is wrong: an unknown `timezone`, a `start` that
    /// is not "HH:MM" (00:00 .. 23:59).
    trading_session(const std::string& timezone, const std::string& start);

    /// The start (UTC ns since the epoch) of the session that contains `ts_ns`: the latest
    /// session start at or before it. A start time that does not exist on a day (skipped by a
    /// DST change) is the instant the clocks jumped; one that exists twice is the first.
    [[nodiscard]] std::int64_t start_of(std::int64_t ts_ns) const;
    /// The session containing `ts_ns` named by the local date, in the session's zone, it
    /// started on: "YYYY-MM-DD" (how `tradebus journal report` groups records).
    [[nodiscard]] std::string day_of(std::int64_t ts_ns) const;
    /// The first session start strictly after `ts_ns`.
    [[nodiscard]] std::int64_t next_start(std::int64_t ts_ns) const;

    [[nodiscard]] const std::string& timezone() const noexcept { return timezone_; }
    [[nodiscard]] const std::string& start() const noexcept { return start_; }
    [[nodiscard]] std::int64_t recovery_horizon_days() const noexcept { return horizon_days_; }
    void set_recovery_horizon_days(std::int64_t days) noexcept { horizon_days_ = days; }
    /// now - recovery_horizon_days: the oldest journal time recovery reads.
    [[nodiscard]] std::int64_t horizon_start(std::int64_t now_ns) const noexcept;

  private:
    // Session start candidates: the start time on local day `day` (days since 1970-01-01).
    [[nodiscard]] std::int64_t start_on(std::int64_t day) const;
    [[nodiscard]] std::int64_t local_day(std::int64_t ts_ns) const;

    std::string timezone_, start_;
    const void* zone_ = nullptr;  // date::time_zone, owned by the tz database
    std::int64_t start_min_ = 0;  // minutes after local midnight
    std::int64_t horizon_days_ = session_defaults::recovery_horizon_days;
};

/// Reads the optional [session] table of a node's file (session_timezone, session_start,
/// recovery_horizon_days); errors go to `root`'s list as file:line:col: key: expected ...
[[nodiscard]] trading_session read_session(common::section& root);

}  // namespace tradebus::runtime
