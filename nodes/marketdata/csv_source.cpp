#include "tradebus/marketdata/csv_source.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "tradebus/schema/topics.hpp"
#include "tradebus/schema/types.hpp"

namespace tradebus::marketdata {

namespace {

constexpr std::size_t read_chunk_bytes = 64 * 1024;
constexpr std::size_t max_fields = 64;  // more columns than this: the row is not ours

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
        s.remove_suffix(1);
    }
    if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
    return s;
}

// Splits on ',' into at most max_fields fields; returns the number of fields found (which may
// exceed max_fields: the rest are not stored).
std::size_t split(std::string_view line, std::array<std::string_view, max_fields>& out) {
    std::size_t n = 0;
    for (;;) {
        const auto comma = line.find(',');
        const auto field = trim(line.substr(0, comma));
        if (n < max_fields) out[n] = field;
        ++n;
        if (comma == std::string_view::npos) break;
        line.remove_prefix(comma + 1);
    }
    return n;
}

// Quoted for messages, cut short so a garbage row cannot flood the log.
std::string shown(std::string_view s) {
    constexpr std::size_t max_shown = 40;
    std::string out = "\"";
    out.append(s.substr(0, max_shown));
    if (s.size() > max_shown) out += "...";
    out += '"';
    return out;
}

std::optional<std::int64_t> parse_int(std::string_view s) {
    std::int64_t v = 0;
    if (s.empty()) return std::nullopt;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || ptr != s.data() + s.size()) return std::nullopt;
    return v;
}

bool starts_numeric(std::string_view line) {
    const auto t = trim(line);
    return !t.empty() && t.front() >= '0' && t.front() <= '9';
}

}  // namespace

std::variant<csv_layout, std::string> parse_header(std::string_view line) {
    std::array<std::string_view, max_fields> f{};
    const std::size_t n = split(line, f);
    if (n > max_fields) return "header has more than " + std::to_string(max_fields) + " columns";
    csv_layout l;
    l.ts = l.symbol = l.bid_px = l.bid_qty = l.ask_px = l.ask_qty = l.last_px = l.last_qty = -1;
    for (std::size_t i = 0; i < n; ++i) {
        const auto name = f[i];
        const int idx = static_cast<int>(i);
        int* slot = nullptr;
        std::int64_t unit = 0;
        if (name == "ts_ns") {
            slot = &l.ts, unit = 1;
        } else if (name == "ts_us") {
            slot = &l.ts, unit = 1'000;
        } else if (name == "ts_ms") {
            slot = &l.ts, unit = 1'000'000;
        } else if (name == "symbol") {
            slot = &l.symbol;
        } else if (name == "bid_px") {
            slot = &l.bid_px;
        } else if (name == "bid_qty") {
            slot = &l.bid_qty;
        } else if (name == "ask_px") {
            slot = &l.ask_px;
        } else if (name == "ask_qty") {
            slot = &l.ask_qty;
        } else if (name == "last_px") {
            slot = &l.last_px;
        } else if (name == "last_qty") {
            slot = &l.last_qty;
        } else {
            continue;  // extra columns (venue, conditions, ...) are ignored
        }
        if (*slot != -1) return "column " + shown(name) + " appears twice (or two ts_* columns)";
        *slot = idx;
        if (unit != 0) l.ts_unit_ns = unit;
    }
    std::string missing;
    auto need = [&](int v, std::string_view name) {
        if (v < 0) missing += (missing.empty() ? "" : ", ") + std::string(name);
    };
    need(l.ts, "ts_ns|ts_us|ts_ms");
    need(l.symbol, "symbol");
    need(l.bid_px, "bid_px");
    need(l.bid_qty, "bid_qty");
    need(l.ask_px, "ask_px");
    need(l.ask_qty, "ask_qty");
    if (!missing.empty()) return "header lacks column(s) " + missing;
    if ((l.last_px < 0) != (l.last_qty < 0)) {
        return std::string("header has only one of last_px and last_qty");
    }
    int widest = 0;
    for (int v :
         {l.ts, l.symbol, l.bid_px, l.bid_qty, l.ask_px, l.ask_qty, l.last_px, l.last_qty}) {
        widest = std::max(widest, v);
    }
    l.columns = static_cast<std::size_t>(widest) + 1;
    return l;
}

std::variant<quote_row, std::string> parse_row(std::string_view line, const csv_layout& layout) {
    std::array<std::string_view, max_fields> f{};
    const std::size_t n = split(line, f);
    if (n < layout.columns || n > max_fields) {
        return "expected " + std::to_string(layout.columns) + " fields, got " + std::to_string(n);
    }
    auto at = [&](int idx) { return f[static_cast<std::size_t>(idx)]; };
    quote_row r;

    const auto ts = parse_int(at(layout.ts));
    if (!ts || *ts <= 0 || *ts > std::numeric_limits<std::int64_t>::max() / layout.ts_unit_ns) {
        return "timestamp: expected a positive integer, got " + shown(at(layout.ts));
    }
    r.ts_ns = *ts * layout.ts_unit_ns;

    const auto sym = at(layout.symbol);
    if (!schema::topics::valid_symbol(sym)) {
        return "symbol: expected 1..32 of [A-Za-z0-9_-/:], got " + shown(sym);
    }
    r.symbol = std::string(sym);

    auto price = [&](int idx, std::string_view name,
                     std::int64_t& out) -> std::optional<std::string> {
        const auto v = schema::parse_fixed(at(idx));
        if (!v || *v <= 0) {
            return std::string(name) + ": expected a positive decimal price, got " + shown(at(idx));
        }
        out = *v;
        return std::nullopt;
    };
    auto size = [&](int idx, std::string_view name,
                    std::int64_t& out) -> std::optional<std::string> {
        const auto v = parse_int(at(idx));
        if (!v || *v < 0) {
            return std::string(name) + ": expected a non-negative integer, got " + shown(at(idx));
        }
        out = *v;
        return std::nullopt;
    };
    if (auto e = price(layout.bid_px, "bid_px", r.bid_px)) return *e;
    if (auto e = size(layout.bid_qty, "bid_qty", r.bid_qty)) return *e;
    if (auto e = price(layout.ask_px, "ask_px", r.ask_px)) return *e;
    if (auto e = size(layout.ask_qty, "ask_qty", r.ask_qty)) return *e;
    if (r.bid_px > r.ask_px) {
        return "crossed quote: bid_px " + std::string(at(layout.bid_px)) + " > ask_px " +
               std::string(at(layout.ask_px));
    }
    if (layout.last_px >= 0) {
        const bool has_px = !at(layout.last_px).empty();
        const bool has_qty = !at(layout.last_qty).empty();
        if (has_px != has_qty) return std::string("last_px and last_qty: give both or neither");
        if (has_px) {
            if (auto e = price(layout.last_px, "last_px", r.last_px)) return *e;
            if (auto e = size(layout.last_qty, "last_qty", r.last_qty)) return *e;
            if (r.last_qty == 0) return std::string("last_qty: a trade needs a positive size");
        }
    }
    return r;
}

csv_reader::csv_reader(std::string path) : path_(std::move(path)), buf_(read_chunk_bytes) {
    file_ = std::fopen(path_.c_str(), "rb");
    if (file_ == nullptr) {
        throw std::runtime_error(path_ + ": cannot open: " + std::strerror(errno));
    }
    try {
        read_header();
    } catch (...) {
        std::fclose(file_);
        file_ = nullptr;
        throw;
    }
}

csv_reader::~csv_reader() {
    if (file_ != nullptr) std::fclose(file_);
}

csv_reader::line_status csv_reader::read_line() {
    line_.clear();
    bool too_long = false;
    for (;;) {
        if (pos_ == end_) {
            end_ = std::fread(buf_.data(), 1, buf_.size(), file_);
            pos_ = 0;
            if (end_ == 0) {
                if (line_.empty() && !too_long) return line_status::eof;
                ++line_no_;  // last line without a newline
                return too_long ? line_status::too_long : line_status::ok;
            }
        }
        const char* start = buf_.data() + pos_;
        const auto* nl = static_cast<const char*>(std::memchr(start, '\n', end_ - pos_));
        const std::size_t take = nl ? static_cast<std::size_t>(nl - start) : end_ - pos_;
        if (!too_long) {
            if (line_.size() + take > max_line_bytes) {
                too_long = true;
                line_.clear();
            } else {
                line_.append(start, take);
            }
        }
        pos_ += take;
        if (nl != nullptr) {
            ++pos_;
            ++line_no_;
            return too_long ? line_status::too_long : line_status::ok;
        }
    }
}

void csv_reader::read_header() {
    for (;;) {
        const auto st = read_line();
        if (st == line_status::eof) return;  // empty file: default layout, no rows
        if (st == line_status::too_long) {
            throw std::runtime_error(path_ + ":" + std::to_string(line_no_) +
                                     ": header line longer than " + std::to_string(max_line_bytes) +
                                     " bytes");
        }
        const auto t = trim(line_);
        if (t.empty() || t.front() == '#') continue;
        if (starts_numeric(t)) {  // no header: default column order, this line is data
            layout_ = csv_layout{};
            first_data_line_ = line_;
            first_data_line_no_ = line_no_;
            return;
        }
        auto parsed = parse_header(t);
        if (auto* why = std::get_if<std::string>(&parsed)) {
            throw std::runtime_error(path_ + ":" + std::to_string(line_no_) + ": " + *why);
        }
        layout_ = std::get<csv_layout>(parsed);
        return;
    }
}

void csv_reader::report_bad(std::uint64_t line, std::string reason) {
    ++rows_bad_;
    last_bad_ = bad_row{line, std::move(reason)};
    if (const auto n = bad_log_.hit()) {
        spdlog::warn("{}:{}: skipped bad row: {} ({} bad row(s) in last period, {} in total)",
                     path_, last_bad_.line, last_bad_.reason, n, rows_bad_);
    }
}

std::optional<quote_row> csv_reader::take(std::string_view text, std::uint64_t line) {
    auto parsed = parse_row(text, layout_);
    if (auto* row = std::get_if<quote_row>(&parsed)) {
        // Time only moves forward: a row earlier than the last good one would be replayed
        // out of order (at once, with bars already closed past it).
        if (row->ts_ns < last_ts_ns_) {
            report_bad(line, "timestamp " + std::to_string(row->ts_ns) +
                                 " is earlier than the row before it (" +
                                 std::to_string(last_ts_ns_) + "): rows must be in time order");
            return std::nullopt;
        }
        last_ts_ns_ = row->ts_ns;
        ++rows_ok_;
        return std::move(*row);
    }
    report_bad(line, std::get<std::string>(std::move(parsed)));
    return std::nullopt;
}

std::optional<quote_row> csv_reader::next() {
    if (first_data_line_) {
        const std::string held = std::move(*first_data_line_);
        first_data_line_.reset();
        if (auto row = take(trim(held), first_data_line_no_)) return row;
    }
    for (;;) {
        const auto st = read_line();
        if (st == line_status::eof) return std::nullopt;
        if (st == line_status::too_long) {
            report_bad(line_no_, "line longer than " + std::to_string(max_line_bytes) + " bytes");
            continue;
        }
        const auto text = trim(line_);
        if (text.empty() || text.front() == '#') continue;
        if (auto row = take(text, line_no_)) return row;
    }
}

void csv_reader::rewind() {
    std::rewind(file_);
    pos_ = end_ = 0;
    line_no_ = 0;
    last_ts_ns_ = std::numeric_limits<std::int64_t>::min();
    first_data_line_.reset();
    read_header();
}

}  // namespace tradebus::marketdata
