// `tradebus journal report`: the pure part. Folds journal records into per-day trading
// summaries (fills, volume and realized P&L per symbol with average-cost accounting,
// rejections, halts, journal gaps) and renders them as a text report or one JSON object.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "tradebus/journal/reader.hpp"
#include "tradebus/runtime/session.hpp"
#include "tradebus/schema/money.hpp"

namespace tradebus::cli {

/// One symbol's fills over a day. Prices and money are fixed point (1e-8 units), quantities
/// lots, every sum saturated (never wrapped). The position and its average price carry over
/// from earlier days of the same journal. Accounting is schema::money::position: the rule risk
/// applies to the same fills, so realized P&L here is what risk published.
struct symbol_summary {
    std::uint64_t fills = 0;
    std::int64_t volume = 0;  // sum of fill quantities, both sides
    std::int64_t bought = 0, sold = 0;
    std::int64_t position = 0;      // signed: >0 long, <0 short, at the end of the day
    std::int64_t avg_px = 0;        // average entry price of `position`, 0 when flat
    std::int64_t realized_pnl = 0;  // money realized by this day's fills
};

struct state_change {
    std::int64_t recv_ts_ns = 0;
    std::string topic, state, by, reason;
};

struct day_summary {
    std::string day;  // YYYY-MM-DD
    std::uint64_t records = 0;
    std::map<std::string, symbol_summary> symbols;
    std::map<std::string, std::uint64_t> rejections_by_rule;  // risk.rejected.* rule
    std::map<std::string, std::uint64_t> exec_rejects_by_code;
    std::vector<state_change> trading;                  // sys.trading and risk.state, in log order
    std::uint64_t gaps = 0, missing = 0, restarts = 0;  // the journal's gap markers
    std::uint64_t broker_restarts = 0;  // its broker_restart markers on sys.broker.started
    std::uint64_t undecodable = 0;
    std::uint64_t misrouted = 0;  // events on a topic their type does not belong to: left out
    [[nodiscard]] std::int64_t realized_pnl() const noexcept;
};

/// Folds records in log order into days (UTC or local days of recv_ts_ns).
class report_builder {
  public:
    /// Days are calendar days (UTC or local) or, with a `session`, the desk's trading
    /// sessions named by the local date they start on (it must outlive the builder).
    explicit report_builder(bool utc, const runtime::trading_session* session = nullptr)
        : utc_(utc), session_(session) {}
    void add(const journal::record& rec);
    void add_damaged() noexcept { ++damaged_; }
    /// The days seen, in order; only `day` when it is not empty.
    [[nodiscard]] std::vector<day_summary> days(std::string_view day = {}) const;
    [[nodiscard]] std::uint64_t damaged() const noexcept { return damaged_; }

  private:
    day_summary& today(std::int64_t ts_ns);
    bool utc_;
    const runtime::trading_session* session_;
    std::vector<day_summary> days_;
    std::map<std::string, schema::money::position> book_;  // positions carried across days
    std::uint64_t damaged_ = 0;
};

/// "YYYY-MM-DD" of a time, UTC or local.
[[nodiscard]] std::string format_day(std::int64_t ts_ns, bool utc);

/// The text report ("no records" lines for an empty selection). Ends with '\n'.
/// `session`: the days are its sessions (the headers say so).
[[nodiscard]] std::string format_report(const std::vector<day_summary>& days, std::string_view dir,
                                        bool utc, std::uint64_t damaged,
                                        const runtime::trading_session* session = nullptr);

/// One JSON object: {"dir","utc","session" ("HH:MM Zone" or
/// null),"damaged","days":[{"day","records","symbols":{SYM:{"fills",
/// "volume","bought","sold","position","avg_px","realized_pnl"}},"realized_pnl",
/// "rejections_by_rule":{..},"exec_rejects_by_code":{..},"trading":[{"recv_ts_ns","topic",
/// "state","by","reason"}],"gaps","missing","restarts","broker_restarts","undecodable",
/// "misrouted"}]};
/// fixed-point ints.
[[nodiscard]] std::string report_json(const std::vector<day_summary>& days, std::string_view dir,
                                      bool utc, std::uint64_t damaged,
                                      const runtime::trading_session* session = nullptr);

}  // namespace tradebus::cli
