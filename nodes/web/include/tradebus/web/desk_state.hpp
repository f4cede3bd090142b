// What the web node shows (nodes/web): the desk as the bus and the broker's status describe it,
// kept in memory and rendered as JSON for the page. Fed on the node's one thread: every message
// the node receives (counted per topic), the events it understands (positions, fills,
// rejections, trading states, node health) and the broker's status replies. Every table is
// bounded by a limit, not by what peers send: a bus with 100,000 topics or symbols costs at
// most the configured rows, the rest is counted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tradebus/schema/control.hpp"
#include "tradebus/schema/events.hpp"

namespace tradebus::web {

/// The bounds of desk_state's tables.
struct desk_limits {
    std::size_t max_topics = 100'000;  // topic rows counted; further topics go to "*other*"
    std::size_t max_symbols = 1'000;   // positions kept; further symbols are counted, not kept
    std::size_t max_scopes = 1'000;    // trading scopes and risk states kept
    std::size_t recent = 30;           // fills and rejections listed, newest first
    std::size_t equity_points = 600;   // equity samples; when full, every other one is dropped
    std::size_t search_results = 100;  // topics one search returns, at most
};

/// Seconds of per-topic message counts kept (the rate history the page draws).
inline constexpr std::size_t rate_history = 60;
/// Seconds the rate is averaged over ("msg/s" on the page, and the busiest-first order).
inline constexpr std::size_t rate_window = 5;
/// The row the messages of topics beyond desk_limits::max_topics are counted in.
inline constexpr std::string_view other_topic = "*other*";

/// One topic's counters as rendered (tests read them too).
struct topic_rate {
    std::string topic;
    std::uint64_t messages = 0, bytes = 0;
    double per_sec = 0;                  // over the last rate_window complete seconds
    std::vector<std::uint32_t> history;  // the last rate_history complete seconds, oldest first
};

/// A rejection, from risk (order_rejected: `rule`) or execution (exec_reject: `code` as rule).
struct rejection {
    std::int64_t ts_ns = 0;
    std::string source;  // the node that rejected
    std::string symbol, dir, rule, reason, signal_src, order_id;
    std::int64_t qty = 0;
};

class desk_state {
  public:
    explicit desk_state(desk_limits limits = {});

    /// One message received on `topic` (`bytes` of body), decodable or not.
    void count(std::string_view topic, std::size_t bytes);
    /// Closes the current second of the rate history and samples the equity: call once per
    /// second (the node's timer). `now_ns` is the wall time of the sample.
    void tick(std::int64_t now_ns);

    /// A decoded event: positions (risk.position.*), fills (exec.fill.*), rejections
    /// (risk.rejected.*, exec.reject.*), trading states (sys.trading, sys.trading.*, risk.state)
    /// and node health (sys.node.health). Anything else only counts.
    void on_event(std::string_view topic, const schema::event& ev);
    /// The broker's status reply (nodes, trading state and scopes, recorder): replaces what an
    /// earlier reply said. `now_ns` is when it arrived.
    void on_status(const schema::status_reply& s, std::int64_t now_ns);
    /// The last status request got no usable answer (`why`); shown until the next reply.
    void on_status_failed(std::string why);

    /// Everything the page shows, as one JSON object; `top` busiest topics with their history.
    /// `extra`: further members ("key":value,...) the node adds (its operator actions).
    [[nodiscard]] std::string state_json(std::size_t top, std::int64_t now_ns,
                                         std::string_view extra = {}) const;
    /// Topics whose name contains `needle` (case-sensitive), busiest first, at most
    /// desk_limits::search_results, as JSON {"query", "matches", "total", "topics": [...]}.
    [[nodiscard]] std::string search_json(std::string_view needle) const;

    // ---- what tests look at
    /// The `n` busiest topics (per_sec, then messages, then name), *other* included as a row.
    [[nodiscard]] std::vector<topic_rate> busiest(std::size_t n) const;
    [[nodiscard]] std::size_t topic_rows() const noexcept { return topics_.size(); }
    [[nodiscard]] const std::map<std::string, schema::position>& positions() const noexcept {
        return positions_;
    }
    [[nodiscard]] std::uint64_t dropped_symbols() const noexcept { return dropped_symbols_; }
    /// Realized, unrealized and their sum over every position (money, 1e-8), saturating.
    struct totals {
        std::int64_t realized = 0, unrealized = 0, equity = 0;
    };
    [[nodiscard]] totals total() const noexcept;
    [[nodiscard]] const std::deque<std::pair<std::int64_t, schema::fill>>& fills() const noexcept {
        return fills_;
    }
    [[nodiscard]] const std::deque<rejection>& rejections() const noexcept { return rejections_; }
    /// (ts_ns, equity) samples of the session, oldest first.
    [[nodiscard]] const std::vector<std::pair<std::int64_t, std::int64_t>>& equity()
        const noexcept {
        return equity_;
    }
    [[nodiscard]] schema::trading_state desk_trading() const noexcept { return desk_.state; }
    /// Scopes in force (not active), by scope name ("symbol AAPL", "strategy strategy").
    [[nodiscard]] const std::map<std::string, schema::trading_scope>& scopes() const noexcept {
        return scopes_;
    }
    [[nodiscard]] const std::vector<schema::node_status>& nodes() const noexcept {
        return status_.nodes;
    }

  private:
    struct row {
        std::uint64_t messages = 0, bytes = 0;
        std::uint64_t last_second = 0;            // the second of the latest count (see second_)
        std::uint32_t counts[rate_history] = {};  // by second % rate_history
    };
    struct desk {
        schema::trading_state state = schema::trading_state::active;
        std::string reason, by;
        std::int64_t since_ns = 0;
    };
    static void add(row& r, std::uint64_t second, std::size_t bytes);
    [[nodiscard]] topic_rate rate_of(std::string_view topic, const row& r) const;
    void on_trading(std::string_view topic, const schema::envelope& env,
                    const schema::trading_state_changed& t);
    void reject(rejection r);

    desk_limits limits_;
    std::uint64_t second_ = 1;  // the current (open) second; 1.. so 0 means "never counted"
    std::unordered_map<std::string, row> topics_;
    row other_;
    std::map<std::string, schema::position> positions_;
    std::uint64_t dropped_symbols_ = 0;
    std::deque<std::pair<std::int64_t, schema::fill>> fills_;  // newest first
    std::deque<rejection> rejections_;                         // newest first
    std::vector<std::pair<std::int64_t, std::int64_t>> equity_;
    std::size_t equity_every_ = 1;  // ticks per sample (doubles when the series is thinned)
    std::size_t equity_skip_ = 0;   // ticks since the last sample
    desk desk_;
    std::map<std::string, schema::trading_scope> scopes_;        // by scope name
    std::map<std::string, schema::trading_state_changed> risk_;  // risk.state, by risk node
    schema::status_reply status_;
    bool have_status_ = false;
    std::int64_t status_at_ns_ = 0;
    std::string status_error_;
    std::uint64_t fills_seen_ = 0, rejections_seen_ = 0;
};

/// One Server-Sent Events frame: "event: <event>\n", one "data: " line per line of `data`
/// (split at CR LF, CR or LF, so no line of it ends the frame early), then the blank line.
/// `event` is cut at its first CR or LF.
[[nodiscard]] std::string sse_frame(std::string_view event, std::string_view data);

}  // namespace tradebus::web
