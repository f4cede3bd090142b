// Starts a real tradebus-broker for a test: writes its TOML into the test's temp dir on free
// loopback ports (or ipc:// paths), starts it under a process_guard and returns once the
// control plane answers a status request. Node tests use it too: start the broker, then the
// node executables against broker.control / xsub / xpub.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "process_guard.hpp"
#include "temp_dir.hpp"
#include "tradebus/common/curve.hpp"
#include "tradebus/schema/control.hpp"

namespace tradebus::test {

/// Path of the tradebus-broker executable under test.
[[nodiscard]] std::string broker_executable();
/// The repository root (for the shipped config/ files).
[[nodiscard]] std::string source_dir();

struct broker_settings {
    std::string pipeline_toml{};  // [pipeline.<name>] tables, verbatim
    std::int64_t interval_ms = 100;
    std::int64_t liveness = 3;
    std::int64_t gone_after_ms = 5000;
    std::int64_t max_message_bytes = 1 << 20;
    std::int64_t sndhwm = 0;           // per-subscriber queue on XPUB; 0 = the broker's default
    std::int64_t rcvhwm = 0;           // per-publisher queue on XSUB; 0 = the broker's default
    bool ipc = false;                  // ipc:// endpoints in the temp dir instead of loopback TCP
    bool recorder = false;             // bind the lossless recorder endpoint too
    std::string trading_state_file{};  // [trading] state_file; "" = none
    std::string missing_state = "active";  // [trading] missing_state (the broker's default: halted)
    std::string data_toml{};               // more [data] keys ("key = value\n"), verbatim
    std::string extra_toml{};              // appended verbatim
    std::vector<std::string> env{};        // extra environment for the process ("KEY=VALUE")
    common::curve_client keys{};           // CURVE broker: the keys the harness's own requests use
};

class broker_process {
  public:
    /// Writes broker.toml into `dir` and starts the broker (waits until it answers).
    broker_process(zmq::context_t& ctx, const temp_dir& dir, broker_settings settings = {});

    /// Starts the broker again with the same config and endpoints (after stop()).
    void start();
    /// SIGTERM; returns the exit status.
    int stop();

    [[nodiscard]] process_guard& process() { return *process_; }
    [[nodiscard]] schema::status_reply status(std::int64_t max_topics = 1000);

    std::string xsub, xpub, control;
    std::string recorder;  // empty unless broker_settings::recorder
    std::filesystem::path config_path;

  private:
    zmq::context_t& ctx_;
    common::curve_client keys_;
    std::filesystem::path log_path_;
    std::vector<std::string> env_;
    std::unique_ptr<process_guard> process_;
};

/// Asks `control_endpoint` for status until it answers (each attempt waits on the socket, no
/// sleeping). Fails the test when `timeout` passes or `proc` exits first.
schema::status_reply wait_until_answering(
    zmq::context_t& ctx, const std::string& control_endpoint, process_guard* proc,
    std::chrono::milliseconds timeout = std::chrono::seconds(15),
    const common::curve_client& keys = {});

}  // namespace tradebus::test
