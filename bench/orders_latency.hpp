// Order latency through the execution node (bench/README.md "orders"): the driver publishes
// approved orders on risk.approved.AAPL as if it were risk (MARKET IOC, qty 1, a fresh trace id
// and order id each, envelope ts_ns = publish time), at a fixed rate, and times the answers it
// sees on the bus: order -> ack (exec.ack.AAPL) and order -> fill (exec.fill.AAPL), both
// arrival - publish time on CLOCK_REALTIME of this machine; exec.reject.AAPL is counted.
//
// Two venues, each with its own broker and tradebus-execution, both up for the whole section:
// - paper: the paper exchange inside the node ([execution] venue = "paper"), which fills against
//   a quote the driver published on md.tick.AAPL (sizes no order exhausts);
// - fix: [execution] venue = "fix", a QuickFIX initiator session to tradebus-venue-sim (market
//   source "none", a house quote of 1,000,000 lots a side set through its control endpoint), so
//   each order goes node -> FIX NewOrderSingle -> simulator -> ExecutionReports New and Trade ->
//   node -> bus.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#include <zmq.hpp>

#include "bus_target.hpp"
#include "latency.hpp"

namespace tradebus::bench {

enum class order_venue : std::uint8_t { paper, fix };

[[nodiscard]] std::string_view to_string(order_venue v) noexcept;

struct orders_options {
    double rate_per_s = 200;
    std::uint64_t orders = 500;  // recorded, after the warm-up
    std::uint64_t warmup = 100;  // published first, not recorded
    std::chrono::milliseconds time_limit{20'000};
};

struct orders_result {
    std::uint64_t orders = 0;    // recorded orders published
    std::uint64_t acked = 0;     // of those, with an ack at the subscriber
    std::uint64_t filled = 0;    // of those, with a fill
    std::uint64_t rejected = 0;  // of those, answered by exec.reject
    std::string first_reject;    // "<code>: <reason>" of the first one
    bool timed_out = false;
    double achieved_rate = 0;             // recorded orders / their publish-time span
    std::vector<double> ack_us, fill_us;  // every recorded latency, microseconds
    percentiles ack, fill;
    /// FIX only, the fill split at the simulator's match (its execution's ts_ns, CLOCK_REALTIME
    /// of this machine): order publish -> match, and match -> fill arrival.
    std::vector<double> to_venue_us, from_venue_us;
    percentiles to_venue, from_venue;

    /// Recorded orders with neither a fill nor a rejection.
    [[nodiscard]] std::uint64_t lost() const { return orders - filled - rejected; }
    /// Adds another round's samples and counts and recomputes the percentiles.
    void merge(const orders_result& other);
};

/// A broker and one execution node (and for the FIX venue tradebus-venue-sim), up for the
/// length of a scope. The constructor returns once the broker reports the node healthy (for
/// FIX: logged on and reconciled) and an order went through end to end.
class order_rig {
  public:
    order_rig(zmq::context_t& ctx, const executables& exe, const temp_dir& dir, order_venue venue);
    ~order_rig();
    order_rig(const order_rig&) = delete;
    order_rig& operator=(const order_rig&) = delete;

    orders_result run(const orders_options& opts);
    /// CPU seconds (utime + stime) of the execution node so far.
    [[nodiscard]] double execution_cpu_seconds() const;
    /// Peak RSS (VmHWM, KiB): "broker", "execution" and, for FIX, "venue-sim".
    [[nodiscard]] std::map<std::string, std::uint64_t> peak_rss_kib() const;
    /// FIX only: the simulator's executions of our session (one per fill), read through its
    /// control endpoint; nullopt for paper or when the simulator does not answer.
    [[nodiscard]] std::optional<std::uint64_t> venue_executions();
    /// Fills seen on the bus for every order this rig sent (readiness, warm-up, recorded).
    [[nodiscard]] std::uint64_t bus_fills() const noexcept { return bus_fills_; }
    /// SIGTERM to every process; throws when one does not exit 0.
    void stop();

  private:
    void check_alive();
    [[nodiscard]] std::optional<std::string> venue_ctl(const std::string& request,
                                                       std::chrono::milliseconds timeout);
    void publish_quote(zmq::socket_t& pub);
    /// One approval as risk publishes it, envelope ts_ns = `ts_ns` (the source thread's only
    /// use of this rig while a run is on).
    void publish_order(zmq::socket_t& pub, const std::string& id, std::uint64_t trace,
                       std::int64_t ts_ns, std::string& buf);
    void wait_first_fill();
    /// FIX only: (ClOrdID, ts_ns) of the simulator's executions since the last call.
    std::vector<std::pair<std::string, std::int64_t>> new_venue_trades();

    zmq::context_t& ctx_;
    const executables& exe_;
    const temp_dir& dir_;
    order_venue venue_;
    std::string label_;  // file prefix in the temp dir: "or-paper" / "or-fix"
    std::unique_ptr<bus_target> broker_;
    std::unique_ptr<child_process> sim_, execution_;
    std::string sim_control_;
    std::uint64_t order_seq_ = 0, quote_seq_ = 0;  // envelope seq on risk.approved / md.tick
    std::uint64_t bus_fills_ = 0;
    std::uint64_t venue_next_ = 0;  // the simulator's execution cursor ("from")
};

}  // namespace tradebus::bench
