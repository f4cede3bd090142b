// The marketdata node's logic: publishes ticks on md.tick.<SYM> (a new trace id per tick) from
// a CSV replay, a synthetic random walk or a FIX 4.4 market data session, and OHLCV bars on
// md.bar.<SYM> when each interval closes. CSV and synthetic are timer-driven: on_timer publishes
// a bounded batch and returns the next deadline, so inbound traffic and heartbeats are never
// starved. FIX is event-driven: QuickFIX's thread queues what arrives and the loop drains it
// through the engine's eventfd (ctx.watch_fd); the timer closes bars and checks staleness.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tradebus/common/config.hpp"
#include "tradebus/common/process.hpp"
#include "tradebus/marketdata/bar_aggregator.hpp"
#include "tradebus/marketdata/csv_source.hpp"
#include "tradebus/marketdata/fix_source.hpp"
#include "tradebus/marketdata/replay_pacer.hpp"
#include "tradebus/marketdata/synthetic_source.hpp"
#include "tradebus/runtime/node.hpp"

namespace tradebus::marketdata {

/// Defaults, each with its unit and why.
namespace defaults {
inline constexpr std::int64_t bar_interval_ms = 1000;  // one-second bars: visible in a demo
inline constexpr std::int64_t max_batch = 1000;        // ticks per timer call when behind
inline constexpr double speed = 1.0;                   // recorded pace
inline constexpr std::int64_t loop_gap_ms = 1000;      // recorded-time pause between loops
}  // namespace defaults

/// Which timestamps a CSV replay puts in exch_ts_ns (and aggregates bars on).
enum class replay_timestamps : std::uint8_t {
    replay,    // the wall-clock time the row is due: replayed data looks live downstream
    recorded,  // the file's own times (shifted by whole loops so they keep increasing)
};

struct csv_options {
    std::string path;
    double speed = defaults::speed;  // 0 = as fast as possible
    bool loop = false;
    bool exit_at_end = false;
    replay_timestamps timestamps = replay_timestamps::replay;
    // Only the rows with from_ns <= ts < to_ns are replayed (0: no bound), in every loop; the
    // first row at or after to_ns ends the pass (rows are in time order).
    std::int64_t from_ns = 0;
    std::int64_t to_ns = 0;
};

struct marketdata_config {
    std::string source = "synthetic";  // "csv" | "synthetic" | "fix"
    std::int64_t bar_interval_ms = defaults::bar_interval_ms;
    std::int64_t max_batch = defaults::max_batch;
    csv_options csv;
    synthetic_config synthetic;
    fix_source_config fix;   // [marketdata.fix]
    std::uint64_t seed = 0;  // synthetic; 0 = a different walk every run
};

/// Reads [marketdata] (`own`), recording every problem in `own` (see config/nodes/marketdata.toml
/// for the keys). For source = "csv" it also opens the file and checks its header, so a
/// missing or unusable file is a config error (exit 2), not a runtime surprise. A present
/// [marketdata.fix] table is checked whatever the source (fix::read_session plus symbols and
/// stale_after_ms); source = "fix" requires it.
marketdata_config read_config(common::section& own);

class marketdata_node final : public runtime::node_logic {
  public:
    explicit marketdata_node(marketdata_config cfg);

    [[nodiscard]] std::vector<std::string> subscriptions() const override { return {}; }
    [[nodiscard]] std::vector<std::string> publications() const override;
    void on_start(runtime::context& ctx) override;
    std::int64_t on_timer(runtime::context& ctx, std::int64_t now_ns) override;
    void on_stop(runtime::context& ctx) override;

    [[nodiscard]] std::uint64_t ticks_published() const noexcept { return ticks_; }
    [[nodiscard]] std::uint64_t bars_published() const noexcept { return bars_; }
    [[nodiscard]] bool replay_finished() const noexcept { return finished_; }
    /// The CSV reader (bad-row counters), or nullptr for the synthetic source.
    [[nodiscard]] const csv_reader* reader() const noexcept { return reader_.get(); }
    /// The FIX source's books and counters, or nullptr for the other sources.
    [[nodiscard]] const fix_quote_book* fix_book() const noexcept {
        return book_ ? &*book_ : nullptr;
    }
    /// MarketDataRequestReject (Y) messages received for the current request.
    [[nodiscard]] std::uint64_t md_rejects() const noexcept { return md_rejects_; }
    /// Market data messages dropped unread: resent (PossDupFlag = Y, old prices) or answering
    /// an earlier MarketDataRequest (MDReqID not the current one).
    [[nodiscard]] std::uint64_t md_dropped() const noexcept { return md_dropped_; }
    /// The MDReqID of the request sent at the last logon ("" before the first).
    [[nodiscard]] const std::string& md_req_id() const noexcept { return req_id_; }

    /// The FIX source without an engine (unit tests, and the engine's events once drained):
    /// a logon (`up` true: sends the MarketDataRequest through `send`, resets the books) or a
    /// logout / disconnect (`up` false).
    void fix_session(runtime::context& ctx, bool up);
    /// One application message from the venue (FIX text): W / X update the books and publish
    /// ticks, Y is a rejected request, the rest is ignored. W / X / Y that were resent
    /// (PossDupFlag) or carry another MDReqID than the current request's are dropped.
    void fix_message(runtime::context& ctx, const std::string& raw);
    /// Where fix_session sends the request (the engine by default; a test captures it).
    /// Returns false with `error` set when it could not be sent.
    using fix_sender = std::function<bool(const std::string& msg_type, const std::string& body,
                                          std::string& error)>;
    void set_fix_sender(fix_sender send) { fix_send_ = std::move(send); }

  private:
    std::int64_t run_synthetic(runtime::context& ctx, std::int64_t now);
    std::int64_t run_csv(runtime::context& ctx, std::int64_t now);
    bool fetch_row();
    std::optional<quote_row> next_in_window();
    void finish(runtime::context& ctx);
    void publish_tick(runtime::context& ctx, const schema::tick& t);
    void publish_bars(runtime::context& ctx);
    void start_fix(runtime::context& ctx);
    void drain_fix(runtime::context& ctx);
    std::int64_t run_fix(runtime::context& ctx, std::int64_t now);
    void update_fix_health(runtime::context& ctx, std::int64_t now);

    marketdata_config cfg_;
    bar_aggregator bars_agg_;
    std::vector<closed_bar> closed_;

    // synthetic
    std::optional<synthetic_source> synth_;
    std::int64_t synth_start_ns_ = 0;
    std::uint64_t synth_k_ = 0;  // ticks since synth_start_ns_

    // csv
    std::unique_ptr<csv_reader> reader_;
    replay_pacer pacer_;
    std::optional<quote_row> pending_;
    std::int64_t loop_offset_ns_ = 0;
    std::int64_t first_ts_ns_ = 0, last_ts_ns_ = 0;
    bool have_first_ = false;
    std::uint64_t loops_ = 0;
    std::int64_t last_emitted_src_ns_ = 0;
    bool finished_ = false;

    // fix
    std::unique_ptr<fix::engine> engine_;
    std::optional<fix_quote_book> book_;
    fix_sender fix_send_;
    bool logged_on_ = false;
    std::string req_id_;                     // the MDReqID of the current request
    std::string reject_reason_;              // the last Y since the last logon, "" = none
    std::optional<std::string> health_key_;  // what was last reported (kind + symbols)
    std::uint64_t md_requests_ = 0, md_rejects_ = 0, md_dropped_ = 0, logons_ = 0;
    common::rate_limited fix_problem_log_;

    std::uint64_t ticks_ = 0, bars_ = 0;
};

/// logic_factory for run_node.
std::unique_ptr<runtime::node_logic> make_marketdata(common::section& own);

}  // namespace tradebus::marketdata
