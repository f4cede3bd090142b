// Time arguments, record lines and the verify report for `tradebus journal` (journal_view.hpp).
#include "tradebus/cli/journal_view.hpp"

#include <cctype>
#include <charconv>
#include <ctime>
#include <msgpack.hpp>

#include "tradebus/cli/format.hpp"
#include "tradebus/cli/json.hpp"
#include "tradebus/journal/format.hpp"

namespace tradebus::cli {
namespace {

constexpr std::int64_t ns_per_s = 1'000'000'000;

// A cursor over the argument text.
struct scanner {
    std::string_view s;
    std::size_t i = 0;
    [[nodiscard]] bool done() const { return i == s.size(); }
    bool eat(char c) {
        if (i < s.size() && s[i] == c) return ++i, true;
        return false;
    }
    // Exactly `n` digits (n > 0), or any number of them (n == 0, at least one).
    std::optional<std::int64_t> digits(std::size_t n) {
        const std::size_t start = i;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) &&
               (n == 0 || i - start < n)) {
            ++i;
        }
        if (i == start || (n != 0 && i - start != n) || i - start > 18) return std::nullopt;
        std::int64_t v = 0;
        std::from_chars(s.data() + start, s.data() + i, v);
        return v;
    }
    // ".123456789" -> ns; absent -> 0.
    std::optional<std::int64_t> fraction_ns() {
        if (!eat('.')) return 0;
        const std::size_t start = i;
        std::int64_t ns = 0, scale = 100'000'000;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
            if (scale > 0) ns += (s[i] - '0') * scale;
            scale /= 10;
            ++i;
        }
        if (i == start) return std::nullopt;
        return ns;
    }
};

// Seconds since the epoch of a broken-down time, read as UTC or local time.
std::int64_t to_epoch(std::tm tm, bool utc) {
    tm.tm_isdst = -1;  // local time: let the zone rules say whether DST applies
    return static_cast<std::int64_t>(utc ? timegm(&tm) : std::mktime(&tm));
}

// HH:MM[:SS[.fff]] at the cursor into `tm`; the fraction in `frac`.
bool clock_time(scanner& sc, std::tm& tm, std::int64_t& frac) {
    const auto h = sc.digits(2);
    if (!h || !sc.eat(':')) return false;
    const auto m = sc.digits(2);
    if (!m) return false;
    std::int64_t sec = 0;
    frac = 0;
    if (sc.eat(':')) {
        const auto s = sc.digits(2);
        const auto f = sc.fraction_ns();
        if (!s || !f) return false;
        sec = *s;
        frac = *f;
    }
    if (*h > 23 || *m > 59 || sec > 60) return false;
    tm.tm_hour = static_cast<int>(*h);
    tm.tm_min = static_cast<int>(*m);
    tm.tm_sec = static_cast<int>(sec);
    return true;
}

}  // namespace

// The journal's gap marker body: a small msgpack map (journal_node.hpp encode_gap_marker).
// Limits keep a damaged body from making the unpacker allocate much.
std::optional<gap_fields> decode_gap(std::string_view body) {
    try {
        const msgpack::unpack_limit limit(16, 16, 4096, 0, 0, 4);
        const auto handle = msgpack::unpack(body.data(), body.size(), nullptr, nullptr, limit);
        const msgpack::object& obj = handle.get();
        if (obj.type != msgpack::type::MAP) return std::nullopt;
        gap_fields g;
        std::string type;
        for (std::uint32_t k = 0; k < obj.via.map.size; ++k) {
            const auto& kv = obj.via.map.ptr[k];
            if (kv.key.type != msgpack::type::STR) continue;
            const std::string key = kv.key.as<std::string>();
            if (key == "type") type = kv.val.as<std::string>();
            if (key == "kind") g.kind = kv.val.as<std::string>();
            if (key == "src") g.src = kv.val.as<std::string>();
            if (key == "topic") g.topic = kv.val.as<std::string>();
            if (key == "expected_seq") g.expected_seq = kv.val.as<std::uint64_t>();
            if (key == "got_seq") g.got_seq = kv.val.as<std::uint64_t>();
            if (key == "missing") g.missing = kv.val.as<std::uint64_t>();
            if (key == "old_epoch") g.old_epoch = kv.val.as<std::uint64_t>();
            if (key == "new_epoch") g.new_epoch = kv.val.as<std::uint64_t>();
        }
        if (type != "journal_gap") return std::nullopt;
        return g;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

std::optional<std::int64_t> parse_time(std::string_view text, std::int64_t now_ns, bool utc) {
    if (text == "now") return now_ns;
    scanner sc{text};
    if (sc.eat('-')) {  // relative: -10m
        const auto n = sc.digits(0);
        if (!n || sc.i + 1 != text.size()) return std::nullopt;
        std::int64_t unit = 0;
        switch (text.back()) {
            case 's':
                unit = 1;
                break;
            case 'm':
                unit = 60;
                break;
            case 'h':
                unit = 3600;
                break;
            case 'd':
                unit = 86'400;
                break;
            default:
                return std::nullopt;
        }
        if (*n > 100LL * 365 * 86'400 / unit) return std::nullopt;
        return now_ns - *n * unit * ns_per_s;
    }
    if (sc.eat('@')) {  // epoch seconds
        const auto secs = sc.digits(0);
        const auto frac = sc.fraction_ns();
        if (!secs || !frac || !sc.done() || *secs > 9'000'000'000) return std::nullopt;
        return *secs * ns_per_s + *frac;
    }
    std::tm tm{};
    std::int64_t frac = 0;
    if (text.size() >= 3 && text[2] == ':') {  // a time of day: today
        const auto now_s = static_cast<std::time_t>(now_ns / ns_per_s);
        if ((utc ? gmtime_r(&now_s, &tm) : localtime_r(&now_s, &tm)) == nullptr) {
            return std::nullopt;
        }
        if (!clock_time(sc, tm, frac)) return std::nullopt;
    } else {
        const auto y = sc.digits(4);
        if (!y || !sc.eat('-')) return std::nullopt;
        const auto mo = sc.digits(2);
        if (!mo || !sc.eat('-')) return std::nullopt;
        const auto d = sc.digits(2);
        if (!d || *mo < 1 || *mo > 12 || *d < 1 || *d > 31) return std::nullopt;
        tm.tm_year = static_cast<int>(*y - 1900);
        tm.tm_mon = static_cast<int>(*mo - 1);
        tm.tm_mday = static_cast<int>(*d);
        if ((sc.eat('T') || sc.eat(' ')) && !clock_time(sc, tm, frac)) return std::nullopt;
    }
    if (sc.eat('Z')) utc = true;
    if (!sc.done()) return std::nullopt;
    return to_epoch(tm, utc) * ns_per_s + frac;
}

std::string render_record(const journal::record& rec, output_format format,
                          const line_options& opts) {
    if ((rec.flags & journal::format::flags::gap_marker) != 0) {
        if (const auto g = decode_gap(rec.body)) {
            if (format == output_format::json) {
                std::string out = "{\"topic\":";
                append_json_string(out, rec.topic);
                out += ",\"type\":\"journal_gap\",\"kind\":";
                append_json_string(out, g->kind);
                out += ",\"src\":";
                append_json_string(out, g->src);
                out += ",\"expected_seq\":" + std::to_string(g->expected_seq) +
                       ",\"got_seq\":" + std::to_string(g->got_seq) +
                       ",\"missing\":" + std::to_string(g->missing);
                if (g->kind == "broker_restart") {
                    out += ",\"old_epoch\":" + std::to_string(g->old_epoch) +
                           ",\"new_epoch\":" + std::to_string(g->new_epoch);
                }
                out += ",\"recv_ts_ns\":" + std::to_string(rec.recv_ts_ns) + "}";
                return out;
            }
            std::string what = g->kind == "broker_restart"
                                   ? "broker restarted (epoch " + std::to_string(g->old_epoch) +
                                         " -> " + std::to_string(g->new_epoch) +
                                         "): what was published while it was down is lost"
                               : g->kind == "restart"
                                   ? printable(g->src) + " restarted its sequence (expected seq " +
                                         std::to_string(g->expected_seq) + ", got " +
                                         std::to_string(g->got_seq) + ")"
                                   : printable(g->src) + " lost " + std::to_string(g->missing) +
                                         " (expected seq " + std::to_string(g->expected_seq) +
                                         ", got " + std::to_string(g->got_seq) + ")";
            std::string topic = printable(rec.topic);
            if (topic.size() < 24) topic.append(24 - topic.size(), ' ');
            return format_time(rec.recv_ts_ns, opts.utc) + " " + topic + " JOURNAL GAP          " +
                   what;
        }
        // An unreadable gap marker falls through and is shown raw, like any bad record.
    }
    if ((rec.flags & journal::format::flags::recorder_mark) != 0 &&
        rec.body.size() == journal::format::recorder_mark_bytes) {
        // The journal's position on the recorder link (FORMAT.md "Recorder marks").
        const std::uint64_t epoch = journal::format::get_u64(rec.body.data());
        const std::uint64_t first = journal::format::get_u64(rec.body.data() + 8);
        if (format == output_format::json) {
            return "{\"topic\":\"" + std::string(journal::format::recorder_mark_topic) +
                   "\",\"type\":\"recorder_mark\",\"epoch\":" + std::to_string(epoch) +
                   ",\"first_seq\":" + std::to_string(first) +
                   ",\"recv_ts_ns\":" + std::to_string(rec.recv_ts_ns) + "}";
        }
        std::string topic(journal::format::recorder_mark_topic);
        if (topic.size() < 24) topic.append(24 - topic.size(), ' ');
        return format_time(rec.recv_ts_ns, opts.utc) + " " + topic + " JOURNAL MARK         " +
               "recorder link: next is seq " + std::to_string(first) + " of epoch " +
               std::to_string(epoch);
    }
    const bus_message m{.topic = std::string(rec.topic),
                        .body = std::string(rec.body),
                        .frames = 2,
                        .rx_ns = rec.recv_ts_ns};
    return render_message(m, decode_message(m), format, opts);
}

std::string format_verify(const journal::verify_report& report, std::string_view dir) {
    std::string out;
    for (const auto& p : report.problems) {
        out += printable(p.segment) + ":" + std::to_string(p.offset) + ": " + printable(p.reason) +
               " (" + std::to_string(p.bytes) + " bytes)\n";
    }
    out += printable(dir) + ": " + std::to_string(report.segments) + " segments, " +
           std::to_string(report.records) + " records, " +
           format_bytes(static_cast<double>(report.bytes)) + ": ";
    out += report.clean() ? "clean" : std::to_string(report.problems.size()) + " problems";
    out += "\n";
    return out;
}

std::string verify_json(const journal::verify_report& report, std::string_view dir) {
    std::string out = "{\"dir\":";
    append_json_string(out, dir);
    out += ",\"segments\":" + std::to_string(report.segments) +
           ",\"records\":" + std::to_string(report.records) +
           ",\"bytes\":" + std::to_string(report.bytes) +
           ",\"clean\":" + (report.clean() ? "true" : "false") + ",\"problems\":[";
    bool first = true;
    for (const auto& p : report.problems) {
        if (!first) out += ",";
        first = false;
        out += "{\"segment\":";
        append_json_string(out, p.segment);
        out += ",\"offset\":" + std::to_string(p.offset) + ",\"bytes\":" + std::to_string(p.bytes) +
               ",\"reason\":";
        append_json_string(out, p.reason);
        out += "}";
    }
    out += "]}";
    return out;
}

}  // namespace tradebus::cli
