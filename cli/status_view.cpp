// Text rendering of the broker's status reply (status_view.hpp).
#include "tradebus/cli/status_view.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>

#include "text_table.hpp"
#include "tradebus/cli/format.hpp"
#include "tradebus/schema/orders.hpp"

namespace tradebus::cli {

namespace {
using detail::text_table;

std::string join(const std::vector<std::string>& items, std::string_view sep,
                 std::string_view none) {
    if (items.empty()) return std::string(none);
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) out.append(sep);
        out.append(printable(item));
    }
    return out;
}

// Configured nodes that never registered have no kind, host or pid yet.
std::string or_dash(const std::string& text) { return text.empty() ? "-" : printable(text); }

std::string upper(std::string_view text) {
    std::string out(text);
    for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

std::string heartbeat_age(std::int64_t ms) {
    return ms < 0 ? "never" : format_duration_ms(ms) + " ago";
}

// A node's resources from its last heartbeat; "-" when it reported none (rss_bytes 0: an older
// node, or one that has not heartbeat yet; PROTOCOL.md "node_counters").
bool has_resources(const schema::node_counters& c) { return c.rss_bytes > 0; }
std::string cpu_time(const schema::node_counters& c) {
    return has_resources(c) ? format_duration_ms(static_cast<std::int64_t>(
                                  std::min<std::uint64_t>(c.cpu_ms, INT64_MAX)))
                            : "-";
}
std::string resident(const schema::node_counters& c) {
    return has_resources(c) ? format_bytes(static_cast<double>(c.rss_bytes)) : "-";
}
std::string open_fds(const schema::node_counters& c) {
    return has_resources(c) ? std::to_string(c.open_fds) : "-";
}
}  // namespace

std::string format_status(const schema::status_reply& s, std::string_view endpoint,
                          std::size_t max_topics) {
    std::string out = "broker " + printable(s.version) + " at " + printable(endpoint) + "  epoch " +
                      std::to_string(s.epoch) + "  up " + format_duration_ms(s.uptime_ms) + "\n";
    out += "trading: " + upper(schema::to_string(s.trading));
    if (!s.trading_reason.empty()) out += " (" + printable(s.trading_reason) + ")";
    out += "\n";
    // Every scope in force under the desk; none listed = every symbol and strategy follows it.
    for (const auto& sc : s.trading_scopes) {
        out += "  " + printable(schema::trading_scope_name(sc.symbol, sc.strategy)) + ": " +
               upper(schema::to_string(sc.state)) + " (" + printable(sc.reason) + ", by " +
               printable(sc.by) + ")\n";
    }
    out += "\n";

    if (s.nodes.empty()) {
        out += "no nodes registered\n";
    } else {
        text_table nodes({{"NODE"},
                          {"KIND"},
                          {"HOST"},
                          {"PID", text_table::align::right},
                          {"STATE"},
                          {"HEARTBEAT", text_table::align::right},
                          {"DEPENDS ON"},
                          {"PUBLISHED", text_table::align::right},
                          {"RECEIVED", text_table::align::right},
                          {"GAPS", text_table::align::right},
                          {"DECODE ERR", text_table::align::right},
                          {"MISROUTED", text_table::align::right},
                          {"CPU", text_table::align::right},
                          {"RSS", text_table::align::right},
                          {"FDS", text_table::align::right}});
        for (const auto& n : s.nodes) {
            nodes.add({printable(n.name), or_dash(n.kind), or_dash(n.host),
                       n.pid > 0 ? std::to_string(n.pid) : "-",
                       std::string(schema::to_string(n.state)),
                       heartbeat_age(n.last_heartbeat_age_ms), join(n.depends_on, ",", "-"),
                       std::to_string(n.counters.published), std::to_string(n.counters.received),
                       std::to_string(n.counters.gaps), std::to_string(n.counters.decode_errors),
                       std::to_string(n.counters.misrouted), cpu_time(n.counters),
                       resident(n.counters), open_fds(n.counters)});
        }
        out += nodes.render();
    }
    out += "\nstart order: " + join(s.start_order, " -> ", "(none)") + "\n\n";

    if (s.topics.empty()) {
        out += "no topics seen yet\n";
    } else {
        // Busiest first whatever order the broker sent (it should already be).
        auto topics = s.topics;
        std::stable_sort(topics.begin(), topics.end(),
                         [](const auto& a, const auto& b) { return a.messages > b.messages; });
        text_table table({{"TOPIC"},
                          {"MESSAGES", text_table::align::right},
                          {"BYTES", text_table::align::right}});
        const std::size_t shown = std::min(max_topics, topics.size());
        for (std::size_t i = 0; i < shown; ++i) {
            table.add({printable(topics[i].topic), std::to_string(topics[i].messages),
                       format_bytes(static_cast<double>(topics[i].bytes))});
        }
        out += table.render();
        const std::uint64_t total = std::max<std::uint64_t>(s.topics_total, topics.size());
        if (shown < total) {
            out += "(" + std::to_string(shown) + " of " + std::to_string(total) +
                   " topics shown; --topics N for more)\n";
        }
    }

    // Only the reasons that happened; the broker lists every reason it counts.
    std::uint64_t dropped = 0;
    std::string parts;
    for (const auto& d : s.drops) {
        if (d.count == 0) continue;
        dropped += d.count;
        if (!parts.empty()) parts += ", ";
        parts += printable(d.reason) + " " + std::to_string(d.count);
    }
    out += "\ndrops: " +
           (dropped == 0 ? std::string("none") : std::to_string(dropped) + " (" + parts + ")");
    out += "\n";
    if (const auto& r = s.recorder; r.enabled) {
        out += "recorder: " + std::string(r.stalled ? "STALLED" : "flowing") + ", sent " +
               std::to_string(r.sent) + ", stalls " + std::to_string(r.stalls) + " (" +
               std::to_string(r.stalled_ms) + " ms)";
        if (r.overflow > 0) out += ", overflow " + std::to_string(r.overflow);
        out += ", seq " + std::to_string(r.seq) + ", acked " + std::to_string(r.acked) +
               ", retained " + std::to_string(r.retained) + " (" +
               std::to_string(r.retained_bytes) + " bytes)";
        if (r.evicted > 0) out += ", EVICTED " + std::to_string(r.evicted);
        if (r.redelivered > 0) out += ", redelivered " + std::to_string(r.redelivered);
        out += "\n";
    }
    return out;
}

std::string format_risk_limits(const std::vector<cached_limits>& all) {
    if (all.empty()) return {};
    std::string out = "\nrisk limits:\n";
    for (const auto& [node, ts_ns, l] : all) {
        const bool refused = l.cause == "refused";
        out += "  " + printable(node) + " (" + (refused ? "reload REFUSED" : printable(l.cause)) +
               " at " + format_time(ts_ns, false) + "): max_order_qty " +
               std::to_string(l.max_order_qty) + ", max_position " + std::to_string(l.max_position);
        for (const auto& o : l.symbols) {
            out += ", " + printable(o.symbol) + " " + std::to_string(o.max_order_qty) + "/" +
                   std::to_string(o.max_position);
        }
        out += ", max_gross_notional " + format_fixed(l.max_gross_notional) + ", max_daily_loss " +
               format_fixed(l.max_daily_loss) + ", max_orders_per_sec " +
               std::to_string(l.max_orders_per_sec) + "\n";
        if (refused) {
            out += "    the config has errors, these limits stay in force: " +
                   printable(l.error.substr(0, l.error.find('\n'))) + "\n";
        }
    }
    return out;
}

}  // namespace tradebus::cli
