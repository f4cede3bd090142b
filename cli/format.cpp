// Human-readable lines (format.hpp). One overload of describe() per event type: the fields an
// operator looks at first, secondary ones as key=value, free text last and quoted.
#include "tradebus/cli/format.hpp"

#include <cinttypes>
#include <cstdio>
#include <ctime>

#include "tradebus/schema/utf8.hpp"

namespace tradebus::cli {
namespace {

using namespace schema;

std::string quoted(std::string_view text) {
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') out.push_back('\\');
        out.push_back(c);
    }
    out.push_back('"');
    return printable(out);
}

std::string num(std::int64_t v) { return std::to_string(v); }
std::string num(std::uint64_t v) { return std::to_string(v); }

std::string interval(std::int64_t ms) {
    if (ms > 0 && ms % 60'000 == 0) return num(ms / 60'000) + "m";
    if (ms > 0 && ms % 1000 == 0) return num(ms / 1000) + "s";
    return num(ms) + "ms";
}

std::string price_type(order_type kind, std::int64_t limit_px) {
    std::string out(to_string(kind));
    if (kind == order_type::limit) out += " @ " + format_fixed(limit_px);
    return out;
}

std::string describe(const tick& t) {
    std::string out = printable(t.symbol) + " bid " + format_fixed(t.bid_px) + " x " +
                      num(t.bid_qty) + "  ask " + format_fixed(t.ask_px) + " x " + num(t.ask_qty);
    if (t.last_qty != 0) out += "  last " + format_fixed(t.last_px) + " x " + num(t.last_qty);
    return out;
}

std::string describe(const bar& b) {
    return printable(b.symbol) + " " + interval(b.interval_ms) + " O " + format_fixed(b.open_px) +
           " H " + format_fixed(b.high_px) + " L " + format_fixed(b.low_px) + " C " +
           format_fixed(b.close_px) + " V " + num(b.volume) + " ticks=" + num(b.ticks);
}

std::string describe(const schema::signal& s) {
    char conf[32];
    std::snprintf(conf, sizeof conf, "%.2f", s.confidence);
    return printable(s.symbol) + " " + std::string(to_string(s.dir)) + " " + num(s.qty) +
           " conf=" + conf + " ref=" + format_fixed(s.ref_px) + " id=" + num(s.signal_id) +
           " reason=" + quoted(s.reason);
}

std::string describe(const order& o) {
    std::string out = printable(o.symbol) + " " + std::string(to_string(o.dir)) + " " + num(o.qty) +
                      " " + price_type(o.kind, o.limit_px) + " " + std::string(to_string(o.tif)) +
                      " id=" + printable(o.order_id);
    if (o.requested_qty != o.qty) out += " requested=" + num(o.requested_qty);
    return out + " signal=" + printable(o.signal_src) + "/" + num(o.signal_id);
}

std::string describe(const order_rejected& r) {
    return printable(r.symbol) + " " + std::string(to_string(r.dir)) + " " + num(r.qty) +
           " rule=" + printable(r.rule) + " reason=" + quoted(r.reason) +
           " signal=" + printable(r.signal_src) + "/" + num(r.signal_id);
}

std::string describe(const order_ack& a) {
    return printable(a.symbol) + " " + std::string(to_string(a.dir)) + " " + num(a.qty) + " " +
           price_type(a.kind, a.limit_px) + " " + std::string(to_string(a.tif)) +
           " id=" + printable(a.order_id);
}

std::string describe(const fill& f) {
    return printable(f.symbol) + " " + std::string(to_string(f.dir)) + " " + num(f.qty) + " @ " +
           format_fixed(f.px) + " leaves=" + num(f.leaves_qty) + " id=" + printable(f.order_id) +
           " fill=" + printable(f.fill_id);
}

std::string describe(const exec_reject& r) {
    return printable(r.symbol) + " id=" + printable(r.order_id) + " code=" + printable(r.code) +
           " reason=" + quoted(r.reason);
}

std::string describe(const order_cancelled& c) {
    std::string out = printable(c.symbol) + " " + std::string(to_string(c.dir)) + " " + num(c.qty) +
                      " leaves=" + num(c.leaves_qty) + " id=" + printable(c.order_id) +
                      " by=" + quoted(c.by) + " reason=" + quoted(c.reason);
    if (c.request_id != 0) out += " request=" + num(c.request_id);
    return out;
}

std::string describe(const order_expired& e) {
    return printable(e.symbol) + " " + std::string(to_string(e.dir)) + " " + num(e.qty) +
           " leaves=" + num(e.leaves_qty) + " id=" + printable(e.order_id) +
           " expire_ts_ns=" + num(e.expire_ts_ns);
}

std::string describe(const cancel_request& c) {
    const std::string scope = c.all                 ? std::string("all")
                              : !c.order_id.empty() ? "id=" + printable(c.order_id)
                                                    : "symbol=" + printable(c.symbol);
    return scope + " request=" + num(c.request_id) + " by=" + quoted(c.by) +
           " reason=" + quoted(c.reason);
}

std::string describe(const cancel_reject& r) {
    std::string out = "request=" + num(r.request_id);
    if (!r.order_id.empty()) out += " id=" + printable(r.order_id);
    if (!r.symbol.empty()) out += " symbol=" + printable(r.symbol);
    return out + " code=" + printable(r.code) + " reason=" + quoted(r.reason);
}

std::string describe(const cancel_done& d) {
    return "request=" + num(d.request_id) + " cancelled=" + num(d.cancelled);
}

std::string describe(const position& p) {
    return printable(p.symbol) + " qty=" + num(p.qty) + " avg=" + format_fixed(p.avg_px) +
           " realized=" + format_fixed(p.realized_pnl) +
           " unrealized=" + format_fixed(p.unrealized_pnl);
}

std::string describe(const risk_snapshot& s) {
    std::string out = "session_start_ns=" + num(s.session_start_ns) +
                      " day_base=" + format_fixed(s.day_base_pnl) +
                      " positions=" + num(static_cast<std::int64_t>(s.positions.size())) +
                      " working=" + num(static_cast<std::int64_t>(s.working.size()));
    for (const auto& p : s.positions) {
        out += " " + printable(p.symbol) + ":" + num(p.qty) + "@" + format_fixed(p.avg_px) + "/" +
               format_fixed(p.realized_pnl);
    }
    return out;
}

std::string describe(const exec_snapshot& s) {
    std::string out = "session_start_ns=" + num(s.session_start_ns) +
                      " resting=" + num(static_cast<std::int64_t>(s.resting.size()));
    for (const auto& o : s.resting) {
        out += " " + printable(o.order_id) + ":" + printable(o.symbol) + ":" +
               std::string(to_string(o.dir)) + ":" + num(o.leaves_qty) + "/" + num(o.qty);
    }
    return out;
}

std::string describe(const risk_limits& l) {
    std::string out =
        l.cause + " max_order_qty=" + num(l.max_order_qty) + " max_position=" + num(l.max_position);
    for (const auto& o : l.symbols) {
        out += " " + printable(o.symbol) + ":" + num(o.max_order_qty) + "/" + num(o.max_position);
    }
    out += " max_gross_notional=" + format_fixed(l.max_gross_notional) +
           " max_daily_loss=" + format_fixed(l.max_daily_loss) +
           " max_orders_per_sec=" + num(l.max_orders_per_sec);
    if (!l.error.empty()) out += " error=" + quoted(l.error);
    return out;
}

std::string describe(const node_health& h) {
    return printable(h.node) + " (" + printable(h.kind) + ") " +
           std::string(to_string(h.old_state)) + " -> " + std::string(to_string(h.new_state)) +
           " reason=" + quoted(h.reason);
}

std::string describe(const node_registered& r) {
    return printable(r.node) + " (" + printable(r.kind) + ") host=" + printable(r.host) +
           " pid=" + num(r.pid) + " version=" + printable(r.version) +
           " session=" + num(r.session_id);
}

std::string describe(const broker_started& b) {
    return "epoch=" + num(b.epoch) + " version=" + printable(b.version) +
           " xsub=" + printable(b.xsub_endpoint) + " xpub=" + printable(b.xpub_endpoint) +
           " control=" + printable(b.control_endpoint);
}

std::string describe(const trading_state_changed& t) {
    std::string scope;
    if (!t.symbol.empty()) scope += " symbol=" + printable(t.symbol);
    if (!t.strategy.empty()) scope += " strategy=" + printable(t.strategy);
    return std::string(to_string(t.state)) + scope + " by=" + quoted(t.by) +
           " reason=" + quoted(t.reason);
}

std::string describe(const acl_violation& a) {
    return "node=" + printable(a.node) + " topic=" + printable(a.topic) +
           " dropped=" + num(a.dropped);
}

std::string describe(const recorder_gap& g) {
    return "RECORDER GAP epoch=" + num(g.epoch) + " expected_seq=" + num(g.expected_seq) +
           " first_seq=" + num(g.first_seq) + " missing=" + num(g.missing) +
           " (evicted by the broker before the journal had them)";
}

std::string describe(const flatten_request& f) {
    return (f.symbol.empty() ? std::string("all") : "symbol=" + printable(f.symbol)) +
           " request=" + num(f.request_id) + " by=" + quoted(f.by) + " reason=" + quoted(f.reason);
}

std::string describe(const flatten_done& d) {
    std::string out = (d.symbol.empty() ? std::string("all") : "symbol=" + printable(d.symbol)) +
                      " request=" + num(d.request_id) + " cancelled=" + num(d.cancelled);
    if (!d.error.empty()) return out + " error=" + quoted(d.error);
    for (const auto& o : d.closing) {
        out += " close=" + printable(o.symbol) + ":" + std::string(to_string(o.dir)) + ":" +
               num(o.open_qty);
    }
    for (const auto& l : d.left) out += " left=" + printable(l.symbol) + ":" + num(l.qty);
    if (!d.working.empty()) {
        out += " working=" + num(static_cast<std::int64_t>(d.working.size()));
    }
    return out;
}

std::string describe(const probe& p) {
    return "node=" + printable(p.node) + " nonce=" + num(p.nonce);
}

// Pads to `width` columns (counting bytes: topics and node names are ASCII in practice).
std::string padded(std::string text, std::size_t width) {
    if (text.size() < width) text.append(width - text.size(), ' ');
    return text;
}

constexpr std::size_t topic_width = 24;
constexpr std::size_t source_width = 20;

}  // namespace

std::string format_time(std::int64_t ts_ns, bool utc) {
    std::int64_t secs = ts_ns / 1'000'000'000;
    std::int64_t ms = (ts_ns % 1'000'000'000) / 1'000'000;
    if (ms < 0) {  // before 1970: floor, not truncate
        ms += 1000;
        secs -= 1;
    }
    const auto t = static_cast<std::time_t>(secs);
    std::tm tm{};
    if ((utc ? gmtime_r(&t, &tm) : localtime_r(&t, &tm)) == nullptr) return "??:??:??.???";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms));
    return buf;
}

std::string format_bytes(double bytes) {
    static constexpr const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    std::size_t unit = 0;
    while (bytes >= 1024.0 && unit + 1 < std::size(units)) {
        bytes /= 1024.0;
        ++unit;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, units[unit]);
    return buf;
}

std::string format_duration_ms(std::int64_t ms) {
    if (ms < 0) return "-" + format_duration_ms(ms == INT64_MIN ? INT64_MAX : -ms);
    char buf[48];
    if (ms < 1000) {
        std::snprintf(buf, sizeof buf, "%" PRId64 "ms", ms);
    } else if (ms < 60'000) {
        std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000.0);
    } else {
        const std::int64_t s = ms / 1000;
        if (s < 3600) {
            std::snprintf(buf, sizeof buf, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
        } else if (s < 86'400) {
            std::snprintf(buf, sizeof buf, "%" PRId64 "h%02" PRId64 "m%02" PRId64 "s", s / 3600,
                          s / 60 % 60, s % 60);
        } else {
            std::snprintf(buf, sizeof buf, "%" PRId64 "d%02" PRId64 "h%02" PRId64 "m", s / 86'400,
                          s / 3600 % 24, s / 60 % 60);
        }
    }
    return buf;
}

std::string printable(std::string_view text) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(text.size());
    const auto hex = [&](unsigned char c) {
        out.append("\\x");
        out.push_back(digits[c >> 4]);
        out.push_back(digits[c & 0xF]);
    };
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x80) {
            // Copy a well-formed multi-byte sequence; escape a stray byte. C1 control
            // characters (U+0080..U+009F) also drive terminals: escape them too.
            std::size_t n = schema::utf8_sequence(text, i);
            if (n == 2 && c == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0) n = 0;
            if (n == 0) {
                hex(c);
                ++i;
            } else {
                out.append(text.substr(i, n));
                i += n;
            }
            continue;
        }
        if (c == '\n') {
            out.append("\\n");
        } else if (c == '\t') {
            out.append("\\t");
        } else if (c == '\r') {
            out.append("\\r");
        } else if (c < 0x20 || c == 0x7f) {
            hex(c);
        } else {
            out.push_back(static_cast<char>(c));
        }
        ++i;
    }
    return out;
}

std::string format_payload(const schema::payload& body) {
    return std::visit([](const auto& b) { return describe(b); }, body);
}

std::string format_line(std::string_view topic, const schema::event& ev, const line_options& opts) {
    return format_time(ev.env.ts_ns, opts.utc) + " " + padded(printable(topic), topic_width) + " " +
           padded(printable(ev.env.src) + "#" + num(ev.env.seq), source_width) + " " +
           format_payload(ev.body);
}

std::string format_undecodable_line(std::string_view topic, std::string_view body,
                                    std::string_view reason, std::int64_t rx_ns,
                                    const line_options& opts) {
    static constexpr std::size_t shown = 64;
    static constexpr char digits[] = "0123456789abcdef";
    std::string hex;
    for (const char ch : body.substr(0, shown)) {
        const auto c = static_cast<unsigned char>(ch);
        hex.push_back(digits[c >> 4]);
        hex.push_back(digits[c & 0xF]);
    }
    if (body.size() > shown) hex += "...";
    return format_time(rx_ns, opts.utc) + " " + padded(printable(topic), topic_width) + " " +
           padded("UNDECODABLE", source_width) + " " + printable(reason) + " [" +
           num(static_cast<std::uint64_t>(body.size())) + " bytes] " + hex;
}

}  // namespace tradebus::cli
