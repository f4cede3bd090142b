// `tradebus journal report`: per-day trading summaries folded from the journal's records
// (journal_report.hpp), and the command on the streaming reader (bounded memory: one entry
// per day, symbol, rule and trading-state change).
#include "tradebus/cli/journal_report.hpp"

#include <ctime>
#include <limits>
#include <optional>
#include <ostream>
#include <type_traits>
#include <variant>

#include "text_table.hpp"
#include "tradebus/cli/app.hpp"
#include "tradebus/cli/format.hpp"
#include "tradebus/cli/journal_view.hpp"
#include "tradebus/cli/json.hpp"
#include "tradebus/common/process.hpp"
#include "tradebus/journal/format.hpp"
#include "tradebus/schema/codec.hpp"
#include "tradebus/schema/topics.hpp"

namespace tradebus::cli {

namespace money = schema::money;

std::int64_t day_summary::realized_pnl() const noexcept {
    std::int64_t total = 0;
    for (const auto& [sym, s] : symbols) total = money::add(total, s.realized_pnl);
    return total;
}

std::string format_day(std::int64_t ts_ns, bool utc) {
    std::int64_t secs = ts_ns / 1'000'000'000;
    if (ts_ns < 0 && ts_ns % 1'000'000'000 != 0) --secs;
    const auto t = static_cast<std::time_t>(secs);
    std::tm tm{};
    if ((utc ? gmtime_r(&t, &tm) : localtime_r(&t, &tm)) == nullptr) return "unknown-day";
    char buf[32];
    if (std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm) == 0) return "unknown-day";
    return buf;
}

day_summary& report_builder::today(std::int64_t ts_ns) {
    std::string day = session_ != nullptr ? session_->day_of(ts_ns) : format_day(ts_ns, utc_);
    if (days_.empty() || days_.back().day != day) {
        // Records are in receive order; a clock step back can revisit a day.
        for (auto& d : days_) {
            if (d.day == day) return d;
        }
        days_.emplace_back();
        days_.back().day = std::move(day);
    }
    return days_.back();
}

void report_builder::add(const journal::record& rec) {
    // The journal's own bookkeeping (FORMAT.md "Recorder marks"), not something it received.
    if ((rec.flags & journal::format::flags::recorder_mark) != 0) return;
    day_summary& d = today(rec.recv_ts_ns);
    ++d.records;
    if ((rec.flags & journal::format::flags::gap_marker) != 0) {
        if (const auto g = decode_gap(rec.body)) {
            if (g->kind == "broker_restart") {
                // The journal writes these on sys.broker.started once the broker's control
                // plane showed a new epoch (FORMAT.md); a marker anywhere else is no such one.
                if (rec.topic == schema::topics::broker_started) {
                    ++d.broker_restarts;
                } else {
                    ++d.undecodable;
                }
            } else if (g->kind == "restart") {
                ++d.restarts;
            } else {
                ++d.gaps;
                d.missing += g->missing;
            }
        } else {
            ++d.undecodable;
        }
        return;
    }
    if ((rec.flags & journal::format::flags::undecodable) != 0) {
        ++d.undecodable;
        return;
    }
    const auto ev = schema::decode_event(rec.body);
    if (!ev) {
        ++d.undecodable;
        return;
    }
    const std::string_view topic = rec.topic;
    // The journal records what passed, also a body on a topic its type does not belong to (a
    // fill on md.tick.X, a replay under a prefix): no trade, rejection or halt of this bus.
    if (!schema::topics::type_belongs(ev->type_name(), topic)) {
        ++d.misrouted;
        return;
    }
    std::visit(
        [&](const auto& body) {
            using T = std::decay_t<decltype(body)>;
            if constexpr (std::is_same_v<T, schema::fill>) {
                // What risk's position book does with the same fill (schema::money::position).
                if (body.dir == schema::side::flat || body.qty <= 0 || body.px <= 0) return;
                money::position& book = book_[body.symbol];
                const std::int64_t realized = book.apply_fill(body.dir, body.qty, body.px);
                symbol_summary& s = d.symbols[body.symbol];
                ++s.fills;
                s.volume = money::add(s.volume, body.qty);
                std::int64_t& side_total = body.dir == schema::side::buy ? s.bought : s.sold;
                side_total = money::add(side_total, body.qty);
                s.realized_pnl = money::add(s.realized_pnl, realized);
                s.position = book.qty;
                s.avg_px = book.avg_px;
            } else if constexpr (std::is_same_v<T, schema::order_rejected>) {
                ++d.rejections_by_rule[body.rule];
            } else if constexpr (std::is_same_v<T, schema::exec_reject>) {
                ++d.exec_rejects_by_code[body.code];
            } else if constexpr (std::is_same_v<T, schema::trading_state_changed>) {
                // On sys.trading, a scope topic (sys.trading.symbol.AAPL: the topic names the
                // scope in the report) or risk.state (type_belongs above).
                d.trading.push_back({.recv_ts_ns = rec.recv_ts_ns,
                                     .topic = std::string(topic),
                                     .state = std::string(schema::to_string(body.state)),
                                     .by = body.by,
                                     .reason = body.reason});
            }
        },
        ev->body);
}

std::vector<day_summary> report_builder::days(std::string_view day) const {
    if (day.empty()) return days_;
    std::vector<day_summary> out;
    for (const auto& d : days_) {
        if (d.day == day) out.push_back(d);
    }
    return out;
}

namespace {

std::string counts_line(const std::map<std::string, std::uint64_t>& counts) {
    if (counts.empty()) return "none";
    std::string out;
    for (const auto& [key, n] : counts) {
        out += (out.empty() ? "" : ", ") + printable(key) + " " + std::to_string(n);
    }
    return out;
}

std::uint64_t total(const std::map<std::string, std::uint64_t>& counts) {
    std::uint64_t n = 0;
    for (const auto& [key, c] : counts) n += c;
    return n;
}

std::string halts_resumes(const std::vector<state_change>& changes) {
    std::uint64_t halts = 0, resumes = 0;
    for (const auto& c : changes) {
        if (c.state == "halted") ++halts;
        if (c.state == "active") ++resumes;
    }
    return std::to_string(halts) + " halt(s), " + std::to_string(resumes) + " resume(s)";
}

// A fixed-point amount; one that hit the int64 bound says so instead of passing for exact.
std::string money_text(std::int64_t v) {
    const bool saturated = v == std::numeric_limits<std::int64_t>::max() ||
                           v == std::numeric_limits<std::int64_t>::min();
    return format_fixed(v) + (saturated ? " (saturated)" : "");
}

void append_counts_json(std::string& out, const std::map<std::string, std::uint64_t>& counts) {
    out += '{';
    bool first = true;
    for (const auto& [key, n] : counts) {
        if (!first) out += ',';
        first = false;
        append_json_string(out, key);
        out += ':' + std::to_string(n);
    }
    out += '}';
}

}  // namespace

std::string format_report(const std::vector<day_summary>& days, std::string_view dir, bool utc,
                          std::uint64_t damaged, const runtime::trading_session* session) {
    std::string out;
    if (days.empty()) out += "journal " + printable(dir) + ": no records for that selection\n";
    const std::string grouping = session != nullptr ? " (session from " + session->start() + " " +
                                                          printable(session->timezone()) + ")"
                                 : utc ? " (UTC)"
                                       : " (local time)";
    for (const auto& d : days) {
        out += "== " + d.day + grouping + "  journal " + printable(dir) + "  " +
               std::to_string(d.records) + " records\n";
        if (d.symbols.empty()) {
            out += "fills: none\n";
        } else {
            using col = detail::text_table::column;
            constexpr auto right = detail::text_table::align::right;
            detail::text_table t({col{"SYMBOL"}, col{"FILLS", right}, col{"VOLUME", right},
                                  col{"BOUGHT", right}, col{"SOLD", right}, col{"POSITION", right},
                                  col{"AVG PX", right}, col{"REALIZED P&L", right}});
            for (const auto& [sym, s] : d.symbols) {
                t.add({printable(sym), std::to_string(s.fills), std::to_string(s.volume),
                       std::to_string(s.bought), std::to_string(s.sold), std::to_string(s.position),
                       s.position == 0 ? "-" : money_text(s.avg_px), money_text(s.realized_pnl)});
            }
            t.add({"TOTAL", "", "", "", "", "", "", money_text(d.realized_pnl())});
            out += t.render();
        }
        out += "risk rejections: " + std::to_string(total(d.rejections_by_rule)) + " (" +
               counts_line(d.rejections_by_rule) + ")\n";
        out += "exec rejects: " + std::to_string(total(d.exec_rejects_by_code)) + " (" +
               counts_line(d.exec_rejects_by_code) + ")\n";
        out += "trading state: " + halts_resumes(d.trading) + "\n";
        for (const auto& c : d.trading) {
            out += "  " + format_time(c.recv_ts_ns, utc) + " " + printable(c.topic) + " " +
                   printable(c.state) + " by " + printable(c.by) +
                   (c.reason.empty() ? "" : ": " + printable(c.reason)) + "\n";
        }
        out += "journal gaps: " + std::to_string(d.gaps) + " (" + std::to_string(d.missing) +
               " messages lost), " + std::to_string(d.restarts) + " publisher restart(s), " +
               std::to_string(d.broker_restarts) + " broker restart(s)";
        if (d.undecodable > 0) out += ", " + std::to_string(d.undecodable) + " undecodable";
        if (d.misrouted > 0) {
            out +=
                ", " + std::to_string(d.misrouted) + " misrouted (type not of its topic) left out";
        }
        out += "\n";
    }
    if (damaged > 0) {
        out += std::to_string(damaged) +
               " damaged record(s) skipped; run tradebus journal verify for the full report\n";
    }
    return out;
}

std::string report_json(const std::vector<day_summary>& days, std::string_view dir, bool utc,
                        std::uint64_t damaged, const runtime::trading_session* session) {
    std::string out = "{\"dir\":";
    append_json_string(out, dir);
    out += std::string(",\"utc\":") + (utc ? "true" : "false") + ",\"session\":";
    if (session != nullptr) {
        append_json_string(out, session->start() + " " + session->timezone());
    } else {
        out += "null";
    }
    out += std::string() + ",\"damaged\":" + std::to_string(damaged) + ",\"days\":[";
    for (std::size_t i = 0; i < days.size(); ++i) {
        const auto& d = days[i];
        if (i > 0) out += ',';
        out += "{\"day\":\"" + d.day + "\",\"records\":" + std::to_string(d.records) +
               ",\"symbols\":{";
        bool first = true;
        for (const auto& [sym, s] : d.symbols) {
            if (!first) out += ',';
            first = false;
            append_json_string(out, sym);
            out += ":{\"fills\":" + std::to_string(s.fills) +
                   ",\"volume\":" + std::to_string(s.volume) +
                   ",\"bought\":" + std::to_string(s.bought) +
                   ",\"sold\":" + std::to_string(s.sold) +
                   ",\"position\":" + std::to_string(s.position) +
                   ",\"avg_px\":" + std::to_string(s.avg_px) +
                   ",\"realized_pnl\":" + std::to_string(s.realized_pnl) + "}";
        }
        out +=
            "},\"realized_pnl\":" + std::to_string(d.realized_pnl()) + ",\"rejections_by_rule\":";
        append_counts_json(out, d.rejections_by_rule);
        out += ",\"exec_rejects_by_code\":";
        append_counts_json(out, d.exec_rejects_by_code);
        out += ",\"trading\":[";
        for (std::size_t k = 0; k < d.trading.size(); ++k) {
            const auto& c = d.trading[k];
            if (k > 0) out += ',';
            out += "{\"recv_ts_ns\":" + std::to_string(c.recv_ts_ns) + ",\"topic\":";
            append_json_string(out, c.topic);
            out += ",\"state\":";
            append_json_string(out, c.state);
            out += ",\"by\":";
            append_json_string(out, c.by);
            out += ",\"reason\":";
            append_json_string(out, c.reason);
            out += '}';
        }
        out += "],\"gaps\":" + std::to_string(d.gaps) +
               ",\"missing\":" + std::to_string(d.missing) +
               ",\"restarts\":" + std::to_string(d.restarts) +
               ",\"broker_restarts\":" + std::to_string(d.broker_restarts) +
               ",\"undecodable\":" + std::to_string(d.undecodable) +
               ",\"misrouted\":" + std::to_string(d.misrouted) + "}";
    }
    out += "]}";
    return out;
}

int run_journal_report(const report_options& opts, environment& env) {
    std::optional<journal::reader> reader;
    try {
        reader.emplace(opts.dir);
    } catch (const std::exception& e) {
        env.err << "tradebus journal report: " << e.what() << std::endl;
        return exit_code::failure;
    }
    const runtime::trading_session* session = opts.session ? &*opts.session : nullptr;
    report_builder builder(opts.utc, session);
    while (const journal::read_item* item = reader->next()) {
        if (common::stop_requested()) return exit_code::interrupted;
        if (item->what == journal::read_item::status::corrupt) {
            env.err << "tradebus journal report: " << printable(item->segment) << ":"
                    << item->offset << ": " << printable(item->reason) << " (" << item->bytes
                    << " bytes skipped)" << std::endl;
            builder.add_damaged();
            continue;
        }
        builder.add(item->rec);
    }
    const auto days = builder.days(opts.day);
    env.out << (opts.json ? report_json(days, opts.dir, opts.utc, builder.damaged(), session) + "\n"
                          : format_report(days, opts.dir, opts.utc, builder.damaged(), session));
    env.out.flush();
    return builder.damaged() > 0 ? exit_code::failure : exit_code::ok;
}

}  // namespace tradebus::cli
