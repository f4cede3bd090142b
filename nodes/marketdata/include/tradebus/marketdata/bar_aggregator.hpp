// OHLCV bars from ticks, per symbol, over fixed intervals aligned to the Unix epoch.
// Prices are the mid ((bid + ask) / 2) of every tick: always present, unlike trades. Volume is
// the sum of traded size (last_qty). A bar with no tick is never produced.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tradebus/schema/events.hpp"

namespace tradebus::marketdata {

/// A finished bar and the trace id of the last tick folded into it (so whatever a strategy
/// derives from the bar still leads back to a quote).
struct closed_bar {
    schema::bar bar;
    std::uint64_t trace_id = 0;
};

class bar_aggregator {
  public:
    /// `interval_ms` > 0.
    explicit bar_aggregator(std::int64_t interval_ms);

    /// Folds `t` (timed by t.exch_ts_ns) into its symbol's bar. When the tick belongs to a
    /// later interval, the open bar is appended to `closed` first and a new one starts. A tick
    /// older than the open bar (out-of-order input) is folded into the open bar.
    void add(const schema::tick& t, std::uint64_t trace_id, std::vector<closed_bar>& closed);

    /// Appends every open bar whose interval ended at or before `clock_ns` (a bar closes when
    /// its interval does, even if no later tick arrives for that symbol).
    void close_until(std::int64_t clock_ns, std::vector<closed_bar>& closed);

    /// Appends every open bar (end of data).
    void close_all(std::vector<closed_bar>& closed);

    /// End time of the earliest open bar, or 0 when none is open (the next timer deadline).
    [[nodiscard]] std::int64_t next_close_ns() const noexcept;

    [[nodiscard]] std::int64_t interval_ns() const noexcept { return interval_ns_; }

    /// Start of the interval that contains `ts_ns`.
    [[nodiscard]] std::int64_t bucket_start(std::int64_t ts_ns) const noexcept;

  private:
    struct open_bar {
        closed_bar b;
        bool open = false;
    };
    std::int64_t interval_ms_, interval_ns_;
    std::map<std::string, open_bar, std::less<>> bars_;
};

}  // namespace tradebus::marketdata
