// The web node's model of the desk (desk_state.hpp).
#include "tradebus/web/desk_state.hpp"

#include <algorithm>
#include <cstdio>

#include "tradebus/schema/money.hpp"
#include "tradebus/schema/orders.hpp"
#include "tradebus/schema/topics.hpp"
#include "tradebus/schema/utf8.hpp"
#include "tradebus/web/json_out.hpp"

namespace tradebus::web {

namespace topics = schema::topics;
namespace money = schema::money;

namespace {

using json::boolean;
using json::item;
using json::key;
using json::num;
using json::str;
using json::unum;

// A 1e-8 fixed-point value as an exact JSON number: 171.25 -> 171.25000000.
void fixed_value(std::string& out, std::int64_t v) {
    const bool neg = v < 0;
    const std::uint64_t mag =
        neg ? static_cast<std::uint64_t>(-(v + 1)) + 1 : static_cast<std::uint64_t>(v);
    char frac[16];
    std::snprintf(frac, sizeof frac, "%08llu",
                  static_cast<unsigned long long>(mag % 100'000'000ULL));
    out += (neg ? "-" : "") + std::to_string(mag / 100'000'000ULL) + "." + frac;
}
void fixed(std::string& out, std::string_view k, std::int64_t v) {
    key(out, k);
    fixed_value(out, v);
}
void per_sec(std::string& out, std::string_view k, double v) {
    key(out, k);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", v);
    out += buf;
}

std::string scope_key(std::string_view symbol, std::string_view strategy) {
    return schema::trading_scope_name(symbol, strategy);
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
    out += '"';
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {
            const std::size_t n = schema::utf8_sequence(s, i);
            if (n == 0) {
                out += "\xEF\xBF\xBD";  // U+FFFD
                ++i;
            } else {
                out.append(s.substr(i, n));
                i += n;
            }
            continue;
        }
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += static_cast<char>(c);
                }
        }
        ++i;
    }
    out += '"';
}

std::string sse_frame(std::string_view event, std::string_view data) {
    std::string out = "event: ";
    out.append(event.substr(0, event.find_first_of("\r\n")));
    out += '\n';
    for (;;) {
        const std::size_t eol = data.find_first_of("\r\n");
        out += "data: ";
        out.append(data.substr(0, eol));
        out += '\n';
        if (eol == std::string_view::npos) break;
        const std::size_t skip = data.substr(eol, 2) == "\r\n" ? 2 : 1;
        data.remove_prefix(eol + skip);
    }
    out += '\n';
    return out;
}

desk_state::desk_state(desk_limits limits) : limits_(limits) {}

void desk_state::add(row& r, std::uint64_t second, std::size_t bytes) {
    if (r.last_second != second) {
        // Seconds between the row's last count and now counted nothing: clear their slots.
        const std::uint64_t from =
            std::max(r.last_second + 1,
                     second >= rate_history ? second - rate_history + 1 : std::uint64_t{0});
        for (std::uint64_t s = from; s <= second; ++s) r.counts[s % rate_history] = 0;
        r.last_second = second;
    }
    ++r.counts[second % rate_history];
    ++r.messages;
    r.bytes += bytes;
}

void desk_state::count(std::string_view topic, std::size_t bytes) {
    auto it = topics_.find(std::string(topic));
    if (it == topics_.end()) {
        if (topics_.size() >= limits_.max_topics) {
            add(other_, second_, bytes);
            return;
        }
        it = topics_.emplace(std::string(topic), row{}).first;
    }
    add(it->second, second_, bytes);
}

void desk_state::tick(std::int64_t now_ns) {
    ++second_;
    // A full table makes room: rows idle for the whole history go to *other* (O(rows) once a
    // second, only while full), so topics invented once cannot hold the table forever.
    if (topics_.size() >= limits_.max_topics) {
        std::erase_if(topics_, [&](const auto& kv) {
            if (kv.second.last_second + rate_history > second_) return false;
            other_.messages += kv.second.messages;
            other_.bytes += kv.second.bytes;
            return true;
        });
    }
    if (++equity_skip_ < equity_every_ && !equity_.empty()) return;
    equity_skip_ = 0;
    if (equity_.size() >= limits_.equity_points) {
        // Thin the session to every other sample and sample half as often from now on.
        std::vector<std::pair<std::int64_t, std::int64_t>> kept;
        for (std::size_t i = 0; i < equity_.size(); i += 2) kept.push_back(equity_[i]);
        equity_ = std::move(kept);
        equity_every_ *= 2;
    }
    equity_.emplace_back(now_ns, total().equity);
}

topic_rate desk_state::rate_of(std::string_view topic, const row& r) const {
    topic_rate t{std::string(topic), r.messages, r.bytes, 0, {}};
    t.history.reserve(rate_history);
    // Complete seconds only: second_ - rate_history .. second_ - 1.
    std::uint64_t window = 0;
    for (std::uint64_t k = rate_history; k >= 1; --k) {
        const std::uint64_t s = second_ >= k ? second_ - k : 0;
        const bool counted = s != 0 && s <= r.last_second && s + rate_history > r.last_second;
        const std::uint32_t n = counted ? r.counts[s % rate_history] : 0;
        t.history.push_back(n);
        if (k <= rate_window) window += n;
    }
    t.per_sec = static_cast<double>(window) / static_cast<double>(rate_window);
    return t;
}

std::vector<topic_rate> desk_state::busiest(std::size_t n) const {
    // Rank on the window's count alone, then render only the n kept.
    struct ranked {
        const std::string* topic;
        const row* r;
        std::uint64_t window;
    };
    auto window_of = [&](const row& r) {
        std::uint64_t w = 0;
        for (std::uint64_t k = 1; k <= rate_window; ++k) {
            const std::uint64_t s = second_ >= k ? second_ - k : 0;
            if (s != 0 && s <= r.last_second && s + rate_history > r.last_second) {
                w += r.counts[s % rate_history];
            }
        }
        return w;
    };
    static const std::string other(other_topic);
    std::vector<ranked> all;
    all.reserve(topics_.size() + 1);
    for (const auto& [t, r] : topics_) all.push_back({&t, &r, window_of(r)});
    if (other_.messages > 0) all.push_back({&other, &other_, window_of(other_)});
    const auto before = [](const ranked& a, const ranked& b) {
        if (a.window != b.window) return a.window > b.window;
        if (a.r->messages != b.r->messages) return a.r->messages > b.r->messages;
        return *a.topic < *b.topic;
    };
    const std::size_t keep = std::min(n, all.size());
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(keep), all.end(),
                      before);
    std::vector<topic_rate> out;
    out.reserve(keep);
    for (std::size_t i = 0; i < keep; ++i) out.push_back(rate_of(*all[i].topic, *all[i].r));
    return out;
}

desk_state::totals desk_state::total() const noexcept {
    totals t;
    for (const auto& [sym, p] : positions_) {
        t.realized = money::add(t.realized, p.realized_pnl);
        t.unrealized = money::add(t.unrealized, p.unrealized_pnl);
    }
    t.equity = money::add(t.realized, t.unrealized);
    return t;
}

void desk_state::on_event(std::string_view topic, const schema::event& ev) {
    if (const auto* p = std::get_if<schema::position>(&ev.body);
        p != nullptr && topics::matches(topics::position, topic)) {
        auto it = positions_.find(p->symbol);
        if (it == positions_.end()) {
            if (positions_.size() >= limits_.max_symbols) {
                ++dropped_symbols_;
                return;
            }
            positions_.emplace(p->symbol, *p);
        } else {
            it->second = *p;
        }
        return;
    }
    if (const auto* f = std::get_if<schema::fill>(&ev.body);
        f != nullptr && topics::matches(topics::exec_fill, topic)) {
        ++fills_seen_;
        fills_.emplace_front(ev.env.ts_ns, *f);
        if (fills_.size() > limits_.recent) fills_.pop_back();
        return;
    }
    if (const auto* r = std::get_if<schema::order_rejected>(&ev.body);
        r != nullptr && topics::matches(topics::rejected, topic)) {
        reject({ev.env.ts_ns, ev.env.src, r->symbol, std::string(schema::to_string(r->dir)),
                r->rule, r->reason, r->signal_src, "", r->qty});
        return;
    }
    if (const auto* r = std::get_if<schema::exec_reject>(&ev.body);
        r != nullptr && topics::matches(topics::exec_reject, topic)) {
        reject({ev.env.ts_ns, ev.env.src, r->symbol, "", r->code, r->reason, "", r->order_id, 0});
        return;
    }
    if (const auto* t = std::get_if<schema::trading_state_changed>(&ev.body)) {
        on_trading(topic, ev.env, *t);
        return;
    }
    if (const auto* h = std::get_if<schema::node_health>(&ev.body);
        h != nullptr && topic == topics::node_health) {
        for (auto& n : status_.nodes) {
            if (n.name == h->node) n.state = h->new_state;
        }
    }
}

void desk_state::reject(rejection r) {
    ++rejections_seen_;
    rejections_.push_front(std::move(r));
    if (rejections_.size() > limits_.recent) rejections_.pop_back();
}

void desk_state::on_trading(std::string_view topic, const schema::envelope& env,
                            const schema::trading_state_changed& t) {
    if (topic == topics::trading) {
        desk_ = {t.state, t.reason, t.by, env.ts_ns};
    } else if (topic == topics::risk_state) {
        if (risk_.contains(env.src) || risk_.size() < limits_.max_scopes) risk_[env.src] = t;
    } else if (topic.starts_with(topics::trading_scopes)) {
        const std::string name = scope_key(t.symbol, t.strategy);
        if (t.state == schema::trading_state::active) {
            scopes_.erase(name);
        } else if (scopes_.contains(name) || scopes_.size() < limits_.max_scopes) {
            scopes_[name] = {t.symbol, t.strategy, t.state, t.reason, t.by, env.ts_ns};
        }
    }
}

void desk_state::on_status(const schema::status_reply& s, std::int64_t now_ns) {
    status_ = s;
    status_.topics.clear();  // the page counts its own
    have_status_ = true;
    status_at_ns_ = now_ns;
    status_error_.clear();
    if (s.trading != desk_.state || s.trading_reason != desk_.reason) {
        desk_ = {s.trading, s.trading_reason, "", 0};  // changed while we were not listening
    }
    scopes_.clear();
    for (const auto& sc : s.trading_scopes) {
        if (scopes_.size() >= limits_.max_scopes) break;
        scopes_[scope_key(sc.symbol, sc.strategy)] = sc;
    }
}

void desk_state::on_status_failed(std::string why) { status_error_ = std::move(why); }

std::string desk_state::state_json(std::size_t top, std::int64_t now_ns,
                                   std::string_view extra) const {
    std::string o;
    o.reserve(16384);
    o += '{';
    num(o, "now_ns", now_ns);
    // The broker and the nodes, as its status last showed them.
    key(o, "broker");
    o += '{';
    boolean(o, "answering", have_status_ && status_error_.empty());
    str(o, "error", status_error_);
    num(o, "status_age_ms", have_status_ ? (now_ns - status_at_ns_) / 1'000'000 : -1);
    str(o, "epoch", std::to_string(status_.epoch));  // a string: above 2^53, JS numbers round
    str(o, "version", status_.version);
    num(o, "uptime_ms", status_.uptime_ms);
    key(o, "drops");
    o += '[';
    for (const auto& d : status_.drops) {
        if (d.count == 0) continue;
        item(o);
        o += '{';
        str(o, "reason", d.reason);
        unum(o, "count", d.count);
        o += '}';
    }
    o += "]}";
    key(o, "nodes");
    o += '[';
    for (const auto& n : status_.nodes) {
        item(o);
        o += '{';
        str(o, "name", n.name);
        str(o, "kind", n.kind);
        str(o, "host", n.host);
        num(o, "pid", n.pid);
        str(o, "state", schema::to_string(n.state));
        num(o, "heartbeat_age_ms", n.last_heartbeat_age_ms);
        unum(o, "published", n.counters.published);
        unum(o, "received", n.counters.received);
        unum(o, "gaps", n.counters.gaps);
        unum(o, "decode_errors", n.counters.decode_errors);
        unum(o, "misrouted", n.counters.misrouted);
        o += '}';
    }
    o += ']';
    key(o, "recorder");
    o += '{';
    const auto& r = status_.recorder;
    boolean(o, "enabled", r.enabled);
    boolean(o, "stalled", r.stalled);
    unum(o, "sent", r.sent);
    unum(o, "stalls", r.stalls);
    unum(o, "stalled_ms", r.stalled_ms);
    unum(o, "overflow", r.overflow);
    unum(o, "seq", r.seq);
    unum(o, "acked", r.acked);
    unum(o, "retained", r.retained);
    unum(o, "retained_bytes", r.retained_bytes);
    unum(o, "evicted", r.evicted);
    unum(o, "redelivered", r.redelivered);
    o += '}';
    // Trading: the desk, each scope in force, each risk node's own state.
    key(o, "trading");
    o += '{';
    str(o, "state", schema::to_string(desk_.state));
    str(o, "reason", desk_.reason);
    str(o, "by", desk_.by);
    key(o, "scopes");
    o += '[';
    for (const auto& [name, sc] : scopes_) {
        item(o);
        o += '{';
        str(o, "scope", name);
        str(o, "state", schema::to_string(sc.state));
        str(o, "reason", sc.reason);
        str(o, "by", sc.by);
        num(o, "since_ns", sc.since_ns);
        o += '}';
    }
    o += ']';
    key(o, "risk");
    o += '[';
    for (const auto& [node, t] : risk_) {
        item(o);
        o += '{';
        str(o, "node", node);
        str(o, "state", schema::to_string(t.state));
        str(o, "reason", t.reason);
        o += '}';
    }
    o += "]}";
    // Topics: the busiest, with their history.
    key(o, "topics");
    o += '{';
    unum(o, "tracked", topics_.size());
    unum(o, "max_tracked", limits_.max_topics);
    unum(o, "history_s", rate_history);
    key(o, "busiest");
    o += '[';
    for (const auto& t : busiest(top)) {
        item(o);
        o += '{';
        str(o, "topic", t.topic);
        unum(o, "messages", t.messages);
        unum(o, "bytes", t.bytes);
        per_sec(o, "per_sec", t.per_sec);
        key(o, "history");
        o += '[';
        for (const auto n : t.history) {
            item(o);
            o += std::to_string(n);
        }
        o += "]}";
    }
    o += "]}";
    // Positions and P&L, as risk published them; totals through money::add.
    key(o, "positions");
    o += '[';
    for (const auto& [sym, p] : positions_) {
        item(o);
        o += '{';
        str(o, "symbol", sym);
        num(o, "qty", p.qty);
        fixed(o, "avg_px", p.avg_px);
        fixed(o, "realized", p.realized_pnl);
        fixed(o, "unrealized", p.unrealized_pnl);
        fixed(o, "total", money::add(p.realized_pnl, p.unrealized_pnl));
        o += '}';
    }
    o += ']';
    const totals t = total();
    key(o, "totals");
    o += '{';
    fixed(o, "realized", t.realized);
    fixed(o, "unrealized", t.unrealized);
    fixed(o, "equity", t.equity);
    unum(o, "dropped_symbols", dropped_symbols_);
    o += '}';
    key(o, "equity");
    o += '[';
    for (const auto& [ts, v] : equity_) {
        item(o);
        o += '[' + std::to_string(ts / 1'000'000) + ',';
        fixed_value(o, v);
        o += ']';
    }
    o += ']';
    // Fills and rejections, newest first.
    unum(o, "fills_total", fills_seen_);
    key(o, "fills");
    o += '[';
    for (const auto& [ts, f] : fills_) {
        item(o);
        o += '{';
        num(o, "ts_ns", ts);
        str(o, "symbol", f.symbol);
        str(o, "dir", schema::to_string(f.dir));
        num(o, "qty", f.qty);
        fixed(o, "px", f.px);
        num(o, "leaves_qty", f.leaves_qty);
        str(o, "order_id", f.order_id);
        str(o, "fill_id", f.fill_id);
        o += '}';
    }
    o += ']';
    unum(o, "rejections_total", rejections_seen_);
    key(o, "rejections");
    o += '[';
    for (const auto& rj : rejections_) {
        item(o);
        o += '{';
        num(o, "ts_ns", rj.ts_ns);
        str(o, "source", rj.source);
        str(o, "symbol", rj.symbol);
        str(o, "dir", rj.dir);
        num(o, "qty", rj.qty);
        str(o, "rule", rj.rule);
        str(o, "reason", rj.reason);
        str(o, "signal_src", rj.signal_src);
        str(o, "order_id", rj.order_id);
        o += '}';
    }
    o += ']';
    if (!extra.empty()) {
        json::item(o);
        o += extra;
    }
    o += '}';
    return o;
}

std::string desk_state::search_json(std::string_view needle) const {
    std::vector<const std::pair<const std::string, row>*> found;
    std::size_t matches = 0;
    for (const auto& kv : topics_) {
        if (kv.first.find(needle) == std::string::npos) continue;
        ++matches;
        found.push_back(&kv);
    }
    const auto before = [](const auto* a, const auto* b) {
        if (a->second.messages != b->second.messages) {
            return a->second.messages > b->second.messages;
        }
        return a->first < b->first;
    };
    const std::size_t keep = std::min(found.size(), limits_.search_results);
    std::partial_sort(found.begin(), found.begin() + static_cast<std::ptrdiff_t>(keep), found.end(),
                      before);
    std::string o = "{";
    str(o, "query", needle);
    unum(o, "matches", matches);
    unum(o, "tracked", topics_.size());
    key(o, "topics");
    o += '[';
    for (std::size_t i = 0; i < keep; ++i) {
        const topic_rate t = rate_of(found[i]->first, found[i]->second);
        item(o);
        o += '{';
        str(o, "topic", t.topic);
        unum(o, "messages", t.messages);
        unum(o, "bytes", t.bytes);
        per_sec(o, "per_sec", t.per_sec);
        o += '}';
    }
    o += "]}";
    return o;
}

}  // namespace tradebus::web
