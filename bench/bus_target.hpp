// The two systems under test, started as child processes for a benchmark: tradebus-broker with
// a generated config, or tradebus-bench-proxy (bare zmq_proxy). Each is on free loopback TCP
// ports or ipc:// paths in the run's temp dir, and the constructor returns only once it
// answers: the broker a status request over its control plane, the proxy a probe message
// round trip through it. Nothing sleeps for readiness.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <zmq.hpp>

#include "tradebus/common/child_process.hpp"
#include "tradebus/common/proc_stats.hpp"
#include "tradebus/schema/control.hpp"

namespace tradebus::bench {

using common::memory_sample;
using common::read_cpu_seconds;
using common::read_memory;

using common::child_process;

/// The run's scratch directory: $TMPDIR/tradebus-bench-XXXXXX (configs, logs, ipc:// paths,
/// journals), removed at the end unless --keep-temp.
class temp_dir : public common::scratch_dir {
  public:
    temp_dir() : common::scratch_dir("tradebus-bench") {}
};

enum class target_kind : std::uint8_t { broker, bare };
enum class transport : std::uint8_t { tcp, ipc };

[[nodiscard]] std::string_view to_string(target_kind k) noexcept;
[[nodiscard]] std::string_view to_string(transport t) noexcept;

/// Where the executables are (the driver's flags; defaults from the build).
struct executables {
    std::string broker, proxy, codec;
    std::string marketdata, strategy, risk, execution;  // the pipeline section's nodes
    std::string tradebus;                               // the CLI (backtest section)
    std::string python;     // Debian's python3 with python3-zmq, python3-msgpack (python section)
    std::string venue_sim;  // tradebus-venue-sim, the FIX venue of the orders section
    // The peers section's servers; empty: redis-server / nats-server on PATH, /usr/bin or
    // /usr/sbin (absent: that peer is skipped).
    std::string redis_server{}, nats_server{};
};

struct target_options {
    target_kind kind = target_kind::broker;
    transport via = transport::tcp;
    /// Bare proxy only: its XPUB SNDHWM and XSUB RCVHWM (the broker takes its own from the
    /// config; `broker_data_toml` overrides them there).
    int proxy_hwm = 1000;
    /// Broker only: keys for its [data] table, verbatim; empty = the project's defaults.
    std::string broker_data_toml;
    /// Distinguishes this target's files (config, log, ipc paths) in the temp dir.
    std::string label;
    /// Broker only: more tables for its config, verbatim (e.g. [pipeline.<node>]).
    std::string broker_extra_toml{};
};

class bus_target {
  public:
    /// Starts the target and waits (at most `timeout`) until it answers. Throws
    /// std::runtime_error, with the child's log, when it exits or stays silent.
    bus_target(zmq::context_t& ctx, const executables& exe, const temp_dir& dir,
               target_options opts, std::chrono::milliseconds timeout = std::chrono::seconds(15));
    ~bus_target();
    bus_target(const bus_target&) = delete;
    bus_target& operator=(const bus_target&) = delete;

    [[nodiscard]] target_kind kind() const noexcept { return opts_.kind; }
    [[nodiscard]] transport via() const noexcept { return opts_.via; }
    [[nodiscard]] const std::string& xsub() const noexcept { return xsub_; }
    [[nodiscard]] const std::string& xpub() const noexcept { return xpub_; }
    /// The broker's control endpoint (nodes register there).
    [[nodiscard]] const std::string& control() const noexcept { return control_; }
    [[nodiscard]] pid_t pid() const noexcept { return process_->pid(); }
    [[nodiscard]] std::optional<memory_sample> memory() const { return read_memory(pid()); }
    [[nodiscard]] std::optional<double> cpu_seconds() const { return read_cpu_seconds(pid()); }
    /// "tradebus-broker" or "bare zmq_proxy".
    [[nodiscard]] std::string_view name() const noexcept;

    /// Broker only: a status request (nullopt for the proxy, on timeout or an error reply).
    [[nodiscard]] std::optional<schema::status_reply> status(
        std::int64_t max_topics = 1000,
        std::chrono::milliseconds timeout = std::chrono::seconds(5));

    /// Throws std::runtime_error (with the child's log) when the process has exited.
    void check_alive();
    /// SIGTERM and wait; returns the exit status (0 = clean).
    int stop();

  private:
    void wait_broker(std::chrono::milliseconds timeout);
    void wait_proxy(std::chrono::milliseconds timeout);
    [[noreturn]] void died(const std::string& what);

    zmq::context_t& ctx_;
    target_options opts_;
    std::string xsub_, xpub_, control_;
    std::unique_ptr<child_process> process_;
};

/// "tcp://127.0.0.1:<port>" on a port the kernel just handed out as free.
[[nodiscard]] std::string free_tcp_endpoint();

/// One REQ/REP round trip with `endpoint`: sends `request`, waits up to `timeout` for the
/// reply. nullopt on timeout or an undecodable reply. A fresh REQ socket per call (Lazy
/// Pirate: a REQ that missed its reply cannot be reused).
[[nodiscard]] std::optional<schema::control_message> control_request(
    zmq::context_t& ctx, const std::string& endpoint, const schema::control_message& request,
    std::chrono::milliseconds timeout);

}  // namespace tradebus::bench
