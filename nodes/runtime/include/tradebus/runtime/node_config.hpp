// The part of every node's TOML that the runtime reads: [node], [broker] and [security]. The node's
// own table ([risk], [marketdata], ...) is handed to its logic_factory.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tradebus/common/config.hpp"
#include "tradebus/common/curve.hpp"
#include "tradebus/runtime/session.hpp"

namespace tradebus::runtime {

/// Defaults, each with its unit and why.
namespace defaults {
inline constexpr std::int64_t heartbeat_interval_ms = 1000;  // Paranoid Pirate's 1 s
inline constexpr std::int64_t request_timeout_ms = 1000;     // one control round trip on a LAN
inline constexpr std::int64_t retry_max_ms = 5000;           // backoff cap while the broker is away
// 100k messages per pipe: a burst of several seconds of market data is absorbed instead of
// dropped (libzmq's default of 1000 loses most of a full-speed burst). Losses past this show
// up as sequence gaps at the subscriber.
inline constexpr std::int64_t sndhwm = 100'000;
inline constexpr std::int64_t rcvhwm = 100'000;
// Delay between recovery attempts while the journal cannot be reached: quick enough to start
// soon after it comes up, slow enough not to flood the log (warnings are rate-limited too).
inline constexpr std::int64_t recovery_retry_ms = 1000;
}  // namespace defaults

struct node_config {
    std::string file;
    std::string kind, name, log_level = "info";
    // [node] executable: what the tradebus-node launcher execs for this file instead of
    // tradebus-<kind> next to itself (a kind built out of tree). An absolute path; empty (or "") =
    // none. The node only checks it; the launcher (systemd/tradebus-node) acts on it.
    std::string executable;
    std::vector<std::string> depends_on;
    std::int64_t heartbeat_interval_ms = defaults::heartbeat_interval_ms;
    std::string control_endpoint;
    std::string xsub_endpoint, xpub_endpoint;  // empty: use what the broker advertises
    std::int64_t request_timeout_ms = defaults::request_timeout_ms;
    std::int64_t retry_max_ms = defaults::retry_max_ms;
    std::int64_t sndhwm = defaults::sndhwm, rcvhwm = defaults::rcvhwm;
    common::curve_client curve;  // [security]: empty = plaintext
    // Recovery (node_logic::recovery): start_fresh skips it deliberately (empty state).
    bool start_fresh = false;
    std::int64_t recovery_retry_ms = defaults::recovery_retry_ms;
    trading_session session;  // [session]: used by risk and execution (node_logic::configure)
};

/// Reads [node], [broker], [security] and [session] from `root`. `expected_kind` is the
/// executable's kind; a file for another kind is an error. Problems are recorded in `root`'s error
/// list.
node_config read_node_config(common::section& root, std::string_view expected_kind);

}  // namespace tradebus::runtime
