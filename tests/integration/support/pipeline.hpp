// The whole pipeline for a test: a broker plus the five node executables, each with a TOML
// generated into the test's temp dir (loopback ports of this test's broker, short heartbeats,
// the journal in the temp dir). Used by the end-to-end and fault tests.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "broker_process.hpp"
#include "process_guard.hpp"
#include "temp_dir.hpp"

namespace tradebus::test {

/// The kinds the end-to-end tests trade through, in the order the dependencies start them.
/// Test data, like the node tables each test writes and what it asserts of them (the start
/// order, fills): not every built-in kind, a new kind joins only the tests written for it.
/// Each one's depends_on is the shipped config/nodes/<kind>.toml's.
inline const std::vector<std::string> pipeline_kinds = {"journal", "marketdata", "execution",
                                                        "risk", "strategy"};

/// The broker's [pipeline] tables for pipeline_kinds, each with its shipped depends_on.
[[nodiscard]] std::string pipeline_broker_toml();

/// Path of the tradebus-<kind> executable, for any built-in kind.
[[nodiscard]] std::string node_executable(const std::string& kind);

class pipeline {
  public:
    /// Starts a broker (heartbeat `interval_ms`) in `dir`. Nodes are started with start().
    /// `secured`: CURVE on, with a key pair per node, the default topic ACL (each kind publishes
    /// under its own prefix, the journal nothing) and an `observer` operator key for the test.
    /// `broker_toml` is appended to the broker's TOML verbatim (e.g. a [recorder] table).
    pipeline(zmq::context_t& ctx, const temp_dir& dir, std::int64_t interval_ms = 200,
             bool secured = false, const std::string& broker_toml = "");

    /// Writes `kind`.toml: the [node]/[broker] header for this test's broker, then `own` (the
    /// node's own tables, verbatim). As in the shipped config, the journal reads the broker's
    /// lossless recorder endpoint: `source`/`recorder_endpoint` are added to its [journal]
    /// table unless `own` sets `source`. Call before start(kind).
    void configure(const std::string& kind, const std::string& own);
    /// Starts (or restarts) the node process.
    void start(const std::string& kind);
    /// SIGTERM; returns the exit status.
    int stop(const std::string& kind);
    [[nodiscard]] process_guard& node(const std::string& kind) { return *nodes_.at(kind); }

    /// Polls status until every node in `kinds` is healthy; fails the test after `timeout`.
    schema::status_reply wait_healthy(const std::vector<std::string>& kinds,
                                      std::chrono::milliseconds timeout);

    /// The broker's [trading] state_file (the durable halt/resume).
    [[nodiscard]] std::filesystem::path broker_state_file() const;

    common::curve_client observer;  // secured: the test's own keys (an operator); else empty
    broker_process broker;
    std::filesystem::path journal_dir;

  private:
    const temp_dir& dir_;
    std::int64_t interval_ms_;
    std::map<std::string, std::unique_ptr<process_guard>> nodes_;
};

}  // namespace tradebus::test
