// The performance of a run (performance.hpp).
#include "tradebus/cli/performance.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "tradebus/cli/format.hpp"
#include "tradebus/cli/journal_report.hpp"
#include "tradebus/cli/json.hpp"
#include "tradebus/schema/codec.hpp"
#include "tradebus/schema/topics.hpp"

namespace tradebus::cli {

namespace money = schema::money;

namespace {

// Points drawn per chart at most: every k-th sample (and the last), so a long run stays a
// small page.
constexpr std::size_t max_chart_points = 2000;

double to_units(std::int64_t fixed) { return static_cast<double>(fixed) / 1e8; }

// a - b, saturated as money::add saturates.
std::int64_t minus(std::int64_t a, std::int64_t b) {
    return money::add(a, b == std::numeric_limits<std::int64_t>::min()
                             ? std::numeric_limits<std::int64_t>::max()
                             : -b);
}

std::string ratio_text(const std::optional<double>& r, std::string_view missing) {
    if (!r) return std::string(missing);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", *r);
    return buf;
}

std::string percent_text(double fraction) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", fraction * 100.0);
    return buf;
}

std::string html_escape(std::string_view s) {
    std::string out;
    for (const char c : s) {
        switch (c) {
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '&':
                out += "&amp;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

// The samples a chart draws: at most max_chart_points, the first and last always.
std::vector<equity_point> thinned(const std::vector<equity_point>& all) {
    if (all.size() <= max_chart_points) return all;
    std::vector<equity_point> out;
    const std::size_t step = (all.size() + max_chart_points - 1) / max_chart_points;
    for (std::size_t i = 0; i < all.size(); i += step) out.push_back(all[i]);
    if (out.back().ts_ns != all.back().ts_ns) out.push_back(all.back());
    return out;
}

// One SVG line chart of `values` (money) over time, with its zero line and its range labelled.
std::string svg_chart(const std::vector<std::pair<std::int64_t, std::int64_t>>& values,
                      std::int64_t t0, std::int64_t t1, std::string_view id,
                      std::string_view colour) {
    constexpr double w = 900, h = 220, left = 70, right = 10, top = 10, bottom = 24;
    double lo = 0, hi = 0;
    for (const auto& [t, v] : values) {
        lo = std::min(lo, to_units(v));
        hi = std::max(hi, to_units(v));
    }
    if (hi - lo < 1e-9) {
        hi += 1;
        lo -= 1;
    }
    const double span = std::max<double>(1.0, static_cast<double>(t1 - t0));
    const auto x = [&](std::int64_t t) {
        return left + static_cast<double>(t - t0) / span * (w - left - right);
    };
    const auto y = [&](double v) { return top + (hi - v) / (hi - lo) * (h - top - bottom); };
    char buf[160];
    std::string svg = "<svg id=\"" + std::string(id) +
                      "\" viewBox=\"0 0 900 220\" width=\"900\" height=\"220\" "
                      "xmlns=\"http://www.w3.org/2000/svg\" role=\"img\">";
    std::snprintf(buf, sizeof buf,
                  "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"zero\"/>", left,
                  y(0), w - right, y(0));
    svg += buf;
    std::snprintf(buf, sizeof buf, "<text x=\"4\" y=\"%.1f\">%.2f</text>", top + 10, hi);
    svg += buf;
    std::snprintf(buf, sizeof buf, "<text x=\"4\" y=\"%.1f\">%.2f</text>", h - bottom, lo);
    svg += buf;
    svg += "<text x=\"" + std::to_string(static_cast<int>(left)) + "\" y=\"216\">" +
           html_escape(format_time(t0, true)) + "</text>";
    svg += "<text x=\"900\" y=\"216\" text-anchor=\"end\">" + html_escape(format_time(t1, true)) +
           "</text>";
    svg += "<polyline fill=\"none\" stroke=\"" + std::string(colour) +
           "\" stroke-width=\"1.5\" points=\"";
    for (const auto& [t, v] : values) {
        std::snprintf(buf, sizeof buf, "%.1f,%.1f ", x(t), y(to_units(v)));
        svg += buf;
    }
    svg += "\"/></svg>";
    return svg;
}

}  // namespace

std::optional<double> performance::win_rate() const {
    if (trades == 0) return std::nullopt;
    return static_cast<double>(wins) / static_cast<double>(trades);
}

void performance_builder::add(const journal::record& rec) {
    if (!any_record_) {
        p_.start_ns = rec.recv_ts_ns;
        any_record_ = true;
    }
    p_.end_ns = std::max(p_.end_ns, rec.recv_ts_ns);
    const bool is_fill = rec.topic.starts_with(schema::topics::exec_fill);
    const bool is_position = rec.topic.starts_with(schema::topics::position);
    if (!is_fill && !is_position) return;
    auto ev = schema::decode_event(rec.body);
    if (!ev || !schema::topics::type_belongs(ev.value().type_name(), rec.topic)) return;
    if (const auto* f = std::get_if<schema::fill>(&ev.value().body)) {
        on_fill(rec.recv_ts_ns, f->symbol, f->dir, f->qty, f->px);
    } else if (const auto* pos = std::get_if<schema::position>(&ev.value().body)) {
        symbol_book& b = books_[pos->symbol];
        b.realized = pos->realized_pnl;
        b.unrealized = pos->unrealized_pnl;
        std::int64_t equity = 0;
        for (const auto& [sym, book] : books_) {
            equity = money::add(equity, money::add(book.realized, book.unrealized));
        }
        p_.equity.push_back({rec.recv_ts_ns, equity});
    }
}

void performance_builder::close_trade(std::int64_t pnl) {
    ++p_.trades;
    if (pnl > 0) {
        ++p_.wins;
        p_.gross_win = money::add(p_.gross_win, pnl);
    } else if (pnl < 0) {
        ++p_.losses;
        p_.gross_loss = money::add(p_.gross_loss, pnl);
    }
    p_.best_trade = p_.trades == 1 ? pnl : std::max(p_.best_trade, pnl);
    p_.worst_trade = p_.trades == 1 ? pnl : std::min(p_.worst_trade, pnl);
}

void performance_builder::on_fill(std::int64_t ts_ns, const std::string& symbol, schema::side dir,
                                  std::int64_t qty, std::int64_t px) {
    ++p_.fills;
    symbol_book& b = books_[symbol];
    const std::int64_t before = b.pos.qty;
    const std::int64_t realized = b.pos.apply_fill(dir, qty, px);
    const std::int64_t after = b.pos.qty;
    b.trade_pnl = money::add(b.trade_pnl, realized);
    // A round trip ends when the position goes flat, or flips (then the next one starts).
    if (before != 0 && (after == 0 || (before > 0) != (after > 0))) {
        close_trade(b.trade_pnl);
        b.trade_pnl = 0;
    }
    // Time in the market: while any symbol has a position.
    if ((before == 0) != (after == 0)) {
        if (after != 0) {
            if (open_positions_++ == 0) open_since_ns_ = ts_ns;
        } else if (--open_positions_ == 0) {
            in_market_ns_ += ts_ns - open_since_ns_;
            open_since_ns_ = -1;
        }
    }
}

performance performance_builder::result() const {
    performance p = p_;
    for (const auto& [sym, b] : books_) {
        p.realized = money::add(p.realized, b.realized);
        p.unrealized = money::add(p.unrealized, b.unrealized);
        if (b.pos.qty != 0) ++p.open_trades;
    }
    std::int64_t in_market = in_market_ns_;
    if (open_since_ns_ >= 0) in_market += p.end_ns - open_since_ns_;
    if (p.end_ns > p.start_ns) {
        p.time_in_market =
            static_cast<double>(in_market) / static_cast<double>(p.end_ns - p.start_ns);
    }
    // Drawdown: the largest fall from the highest equity before it (the run starts at 0).
    for (const auto& e : p.equity) {
        p.peak_equity = std::max(p.peak_equity, e.equity);
        const std::int64_t fall = minus(p.peak_equity, e.equity);
        if (fall > p.max_drawdown) {
            p.max_drawdown = fall;
            p.max_drawdown_at_ns = e.ts_ns;
        }
    }
    p.final_equity = p.equity.empty() ? 0 : p.equity.back().equity;
    // Each UTC day's change in equity (the first day's from 0).
    std::int64_t previous = 0;
    for (std::size_t i = 0; i < p.equity.size(); ++i) {
        const std::string day = format_day(p.equity[i].ts_ns, true);
        const bool last_of_day =
            i + 1 == p.equity.size() || format_day(p.equity[i + 1].ts_ns, true) != day;
        if (!last_of_day) continue;
        p.daily_pnl.emplace_back(day, minus(p.equity[i].equity, previous));
        previous = p.equity[i].equity;
    }
    const std::size_t n = p.daily_pnl.size();
    if (n >= 2) {
        double mean = 0;
        for (const auto& [d, v] : p.daily_pnl) mean += to_units(v);
        mean /= static_cast<double>(n);
        double var = 0, down = 0;
        for (const auto& [d, v] : p.daily_pnl) {
            const double x = to_units(v);
            var += (x - mean) * (x - mean);
            if (x < 0) down += x * x;
        }
        const double stdev = std::sqrt(var / static_cast<double>(n - 1));
        const double downside = std::sqrt(down / static_cast<double>(n));
        const double annual = std::sqrt(trading_days_per_year);
        if (stdev > 0) p.sharpe = mean / stdev * annual;
        if (downside > 0) p.sortino = mean / downside * annual;
    }
    return p;
}

std::string format_performance(const performance& p) {
    std::string o = "performance (equity = risk's realized + unrealized):\n";
    o += "  equity " + format_fixed(p.final_equity) + "  (realized " + format_fixed(p.realized) +
         ", unrealized " + format_fixed(p.unrealized) + ")\n";
    o += "  peak " + format_fixed(p.peak_equity) + "  max drawdown " +
         format_fixed(p.max_drawdown) +
         (p.max_drawdown > 0 ? " at " + format_time(p.max_drawdown_at_ns, true) : "") + "\n";
    const std::string days = std::to_string(p.daily_pnl.size()) + " day(s)";
    o += "  Sharpe " + ratio_text(p.sharpe, "n/a (" + days + ")") + "  Sortino " +
         ratio_text(p.sortino, "n/a (" + days + ", or no losing day)") + "  (daily, x sqrt(252))\n";
    o += "  trades " + std::to_string(p.trades) + " closed (" + std::to_string(p.wins) + " won, " +
         std::to_string(p.losses) + " lost), " + std::to_string(p.open_trades) +
         " open; win rate " + (p.win_rate() ? percent_text(*p.win_rate()) : std::string("n/a")) +
         "; best " + format_fixed(p.best_trade) + ", worst " + format_fixed(p.worst_trade) + "\n";
    o += "  fills " + std::to_string(p.fills) + "; in the market " +
         percent_text(p.time_in_market) + " of the time\n";
    return o;
}

std::string performance_json(const performance& p) {
    std::string o = "{";
    const auto num = [&](std::string_view key, auto v) {
        if (o.size() > 1) o += ',';
        append_json_string(o, key);
        o += ':' + std::to_string(v);
    };
    const auto opt = [&](std::string_view key, const std::optional<double>& v) {
        o += ',';
        append_json_string(o, key);
        if (!v) {
            o += ":null";
            return;
        }
        char buf[32];
        std::snprintf(buf, sizeof buf, ":%.6f", *v);
        o += buf;
    };
    num("start_ns", p.start_ns);
    num("end_ns", p.end_ns);
    num("equity", p.final_equity);
    num("realized_pnl", p.realized);
    num("unrealized_pnl", p.unrealized);
    num("peak_equity", p.peak_equity);
    num("max_drawdown", p.max_drawdown);
    num("max_drawdown_at_ns", p.max_drawdown_at_ns);
    opt("sharpe", p.sharpe);
    opt("sortino", p.sortino);
    opt("win_rate", p.win_rate());
    num("fills", p.fills);
    num("trades", p.trades);
    num("wins", p.wins);
    num("losses", p.losses);
    num("open_trades", p.open_trades);
    num("best_trade", p.best_trade);
    num("worst_trade", p.worst_trade);
    opt("time_in_market", p.time_in_market);
    o += ",\"daily_pnl\":[";
    for (std::size_t i = 0; i < p.daily_pnl.size(); ++i) {
        if (i > 0) o += ',';
        o += "{\"day\":";
        append_json_string(o, p.daily_pnl[i].first);
        o += ",\"pnl\":" + std::to_string(p.daily_pnl[i].second) + "}";
    }
    o += "],\"equity_points\":" + std::to_string(p.equity.size()) + "}";
    return o;
}

std::string performance_html(const performance& p, std::string_view title) {
    const auto points = thinned(p.equity);
    std::vector<std::pair<std::int64_t, std::int64_t>> equity, drawdown;
    std::int64_t peak = 0;  // the run starts at 0
    for (const auto& e : points) {
        equity.emplace_back(e.ts_ns, e.equity);
        peak = std::max(peak, e.equity);
        drawdown.emplace_back(e.ts_ns, minus(e.equity, peak));  // <= 0
    }
    std::string h =
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<title>tradebus backtest: " +
        html_escape(title) +
        "</title><style>body{font:14px system-ui,sans-serif;margin:16px;color:#222}"
        "table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #ddd;"
        "text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}"
        "svg{display:block;margin:4px 0 16px}svg text{font-size:11px;fill:#666}"
        "svg .zero{stroke:#bbb}</style></head><body>\n<h1>tradebus backtest</h1>\n<p>" +
        html_escape(title) + ", " + html_escape(format_time(p.start_ns, true)) + " to " +
        html_escape(format_time(p.end_ns, true)) + " UTC</p>\n<table id=\"figures\">";
    const auto row = [&](std::string_view name, const std::string& value) {
        h += "<tr><th>" + std::string(name) + "</th><td class=\"num\" data-figure=\"" +
             std::string(name) + "\">" + html_escape(value) + "</td></tr>";
    };
    row("equity", format_fixed(p.final_equity));
    row("realized", format_fixed(p.realized));
    row("unrealized", format_fixed(p.unrealized));
    row("max drawdown", format_fixed(p.max_drawdown));
    row("Sharpe (daily)", ratio_text(p.sharpe, "n/a"));
    row("Sortino (daily)", ratio_text(p.sortino, "n/a"));
    row("trades", std::to_string(p.trades) + " closed, " + std::to_string(p.open_trades) + " open");
    row("win rate", p.win_rate() ? percent_text(*p.win_rate()) : std::string("n/a"));
    row("fills", std::to_string(p.fills));
    row("time in market", percent_text(p.time_in_market));
    h += "</table>\n<h2>Equity</h2>\n" +
         svg_chart(equity, p.start_ns, p.end_ns, "equity-chart", "#1f6feb") +
         "\n<h2>Drawdown</h2>\n" +
         svg_chart(drawdown, p.start_ns, p.end_ns, "drawdown-chart", "#cf222e") +
         "\n<h2>Daily P&amp;L</h2>\n<table id=\"daily\">";
    for (const auto& [day, pnl] : p.daily_pnl) {
        h += "<tr><td>" + html_escape(day) + "</td><td class=\"num\">" + format_fixed(pnl) +
             "</td></tr>";
    }
    h += "</table>\n</body></html>\n";
    return h;
}

}  // namespace tradebus::cli
