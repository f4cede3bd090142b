// The performance of a run (`tradebus backtest`; any journal): the equity curve as risk marked
// it, its drawdown, the P&L of each day with Sharpe and Sortino ratios, round-trip trades with
// the win rate, and the time in the market; as text, JSON and one HTML page with the equity and
// drawdown charts drawn (inline SVG: the file opens anywhere, offline).
//
// One owner per money rule: the equity is the sum of risk's own figures (realized + unrealized
// of each symbol's latest risk.position.*), and trades are counted from the fills with
// schema::money::position, the rule risk applies to the same fills.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tradebus/journal/reader.hpp"
#include "tradebus/schema/money.hpp"

namespace tradebus::cli {

/// Trading days a year, for annualizing daily ratios.
inline constexpr double trading_days_per_year = 252.0;

struct equity_point {
    std::int64_t ts_ns = 0;
    std::int64_t equity = 0;  // money (1e-8), realized + unrealized over every symbol
};

struct performance {
    std::int64_t start_ns = 0, end_ns = 0;  // first and last record of the journal
    std::vector<equity_point> equity;       // after each of risk's position updates
    std::int64_t final_equity = 0, realized = 0, unrealized = 0;
    std::int64_t peak_equity = 0;         // the highest equity (0 before any)
    std::int64_t max_drawdown = 0;        // the largest fall from a peak (>= 0)
    std::int64_t max_drawdown_at_ns = 0;  // when its trough was
    std::vector<std::pair<std::string, std::int64_t>> daily_pnl;  // UTC day, equity change
    std::optional<double> sharpe;   // daily mean / sample stdev x sqrt(252); needs 2 days
    std::optional<double> sortino;  // daily mean / downside deviation x sqrt(252)
    std::uint64_t fills = 0;
    std::uint64_t trades = 0, wins = 0, losses = 0;  // closed round trips (flat to flat or flip)
    std::uint64_t open_trades = 0;                   // still open at the end
    std::int64_t best_trade = 0, worst_trade = 0, gross_win = 0, gross_loss = 0;
    double time_in_market = 0;  // fraction of [start, end] with any position open
    /// Wins / closed trades; nullopt without any.
    [[nodiscard]] std::optional<double> win_rate() const;
};

/// Folds a journal's records, in log order.
class performance_builder {
  public:
    void add(const journal::record& rec);
    [[nodiscard]] performance result() const;

  private:
    struct symbol_book {
        schema::money::position pos;
        std::int64_t trade_pnl = 0;                 // realized by the open round trip so far
        std::int64_t realized = 0, unrealized = 0;  // risk's latest figures
    };
    void on_fill(std::int64_t ts_ns, const std::string& symbol, schema::side dir, std::int64_t qty,
                 std::int64_t px);
    void close_trade(std::int64_t pnl);

    std::map<std::string, symbol_book> books_;
    performance p_;
    std::int64_t open_since_ns_ = -1;  // since when some position is open; -1: none
    std::int64_t in_market_ns_ = 0;
    std::size_t open_positions_ = 0;
    bool any_record_ = false;
};

/// Text, for the end of a backtest's report. Ends with '\n'.
[[nodiscard]] std::string format_performance(const performance& p);
/// One JSON object (money in 1e-8 units, as `journal report --json`).
[[nodiscard]] std::string performance_json(const performance& p);
/// A whole HTML page: the figures, the equity and drawdown charts, the daily P&L. `title` names
/// the run (its data file).
[[nodiscard]] std::string performance_html(const performance& p, std::string_view title);

}  // namespace tradebus::cli
