// CSV replay input for the marketdata node: a streaming, bounded-memory reader of recorded
// quotes (and occasional trades). A bad row is counted, logged (rate-limited) with file:line and
// the reason, and skipped; nothing in the file can crash the node or make it allocate by a
// length the file claims.
#pragma once

#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tradebus/common/process.hpp"

namespace tradebus::marketdata {

/// One valid CSV row: a top-of-book quote, optionally with the trade printed at that time.
struct quote_row {
    std::int64_t ts_ns = 0;  // source time, ns since the Unix epoch
    std::string symbol;
    std::int64_t bid_px = 0, bid_qty = 0, ask_px = 0, ask_qty = 0;  // px: fixed point 1e-8
    std::int64_t last_px = 0, last_qty = 0;                         // 0/0 when no trade
};

/// Where each field sits in a row. Built from the header line, or the default order
/// `ts_ns,symbol,bid_px,bid_qty,ask_px,ask_qty,last_px,last_qty` when the file has no header.
struct csv_layout {
    int ts = 0, symbol = 1, bid_px = 2, bid_qty = 3, ask_px = 4, ask_qty = 5;
    int last_px = 6, last_qty = 7;  // -1 when the file has no trade columns
    std::int64_t ts_unit_ns = 1;    // 1 (ts_ns), 1'000 (ts_us) or 1'000'000 (ts_ms)
    std::size_t columns = 8;        // fields a row must have at least
};

/// Longest accepted line; longer ones are bad rows (a binary file cannot make us buffer it).
inline constexpr std::size_t max_line_bytes = 4096;

/// Parses a header line (column names, any order; unknown columns are ignored). Needs one of
/// ts_ns / ts_us / ts_ms, and symbol, bid_px, bid_qty, ask_px, ask_qty; last_px and last_qty
/// are optional but go together. Returns the layout or why the header is unusable.
[[nodiscard]] std::variant<csv_layout, std::string> parse_header(std::string_view line);

/// Parses one data line. Returns the row or the reason it is bad ("bid_px: expected a positive
/// decimal price, got \"abc\""). Checks: field count, positive timestamp, valid symbol,
/// positive prices, non-negative sizes, bid <= ask, trade price and size both present or both
/// empty (a present trade needs positive price and size).
[[nodiscard]] std::variant<quote_row, std::string> parse_row(std::string_view line,
                                                             const csv_layout& layout);

/// A bad row as last reported: the 1-based line number and the reason.
struct bad_row {
    std::uint64_t line = 0;
    std::string reason;
};

/// Reads one CSV file row by row with a fixed 64 KiB buffer. Lines starting with '#' and blank
/// lines are skipped; the first other line is the header when its first field is not a
/// number. Single-threaded; not copyable.
class csv_reader {
  public:
    /// Opens `path` and reads up to the header. Throws std::runtime_error with a
    /// `path: reason` message when the file cannot be opened or its header is unusable.
    explicit csv_reader(std::string path);
    ~csv_reader();
    csv_reader(const csv_reader&) = delete;
    csv_reader& operator=(const csv_reader&) = delete;

    /// The next valid row, or nullopt at the end of the file. Bad rows (malformed, or earlier
    /// than the last good row: rows are in time order) are counted, logged (at most once a
    /// second, with how many since the last line) and skipped.
    std::optional<quote_row> next();

    /// Starts again from the top of the file (for `loop = true`). Counters keep running.
    void rewind();

    [[nodiscard]] const std::string& path() const noexcept { return path_; }
    [[nodiscard]] const csv_layout& layout() const noexcept { return layout_; }
    [[nodiscard]] std::uint64_t rows_ok() const noexcept { return rows_ok_; }
    [[nodiscard]] std::uint64_t rows_bad() const noexcept { return rows_bad_; }
    [[nodiscard]] const bad_row& last_bad() const noexcept { return last_bad_; }

  private:
    enum class line_status : std::uint8_t { ok, too_long, eof };
    line_status read_line();
    void report_bad(std::uint64_t line, std::string reason);
    std::optional<quote_row> take(std::string_view text, std::uint64_t line);
    void read_header();

    std::string path_;
    std::FILE* file_ = nullptr;
    std::vector<char> buf_;
    std::size_t pos_ = 0, end_ = 0;
    std::string line_;
    std::uint64_t line_no_ = 0;
    std::optional<std::string> first_data_line_;  // a headerless file's first row, held back
    std::uint64_t first_data_line_no_ = 0;
    csv_layout layout_;
    std::uint64_t rows_ok_ = 0, rows_bad_ = 0;
    std::int64_t last_ts_ns_ = std::numeric_limits<std::int64_t>::min();  // the last good row's
    bad_row last_bad_;
    common::rate_limited bad_log_;
};

}  // namespace tradebus::marketdata
