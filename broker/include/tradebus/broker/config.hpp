// The broker's configuration (config/broker.toml): loaded into a plain struct by one function
// that validates every key through common::section and reports every problem at once as
// `file:line:col: key: expected ..., got ...`, before anything is bound (ARCHITECTURE.md
// "Config validation").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tradebus/broker/security.hpp"
#include "tradebus/schema/types.hpp"

namespace tradebus::broker {

struct endpoints_config {
    std::string xsub, xpub, control;  // bind endpoints
    std::string recorder;             // the journal's lossless link; empty = none
    // What a node on this host should connect to. Empty = derived from the bind endpoint after
    // binding (a wildcard host becomes 127.0.0.1, a wildcard port the port bound).
    std::string xsub_advertised, xpub_advertised, control_advertised;
};

struct data_config {
    int sndhwm = 0;  // XPUB, messages per subscriber
    int rcvhwm = 0;  // XSUB, messages per publisher
    std::size_t max_message_bytes = 0;
    std::size_t max_topics_tracked = 0;
    std::int64_t topic_idle_s = 0;      // a topic row without a message this long is removed
    std::size_t max_subscriptions = 0;  // distinct prefixes subscribed upstream at a time
};

struct heartbeat_config {
    std::int64_t interval_ms = 0;
    std::int64_t liveness = 0;
    std::int64_t gone_after_ms = 0;
};

/// [metrics]: the Prometheus endpoint (README "Metrics"). Empty listen = off.
struct metrics_config {
    std::string listen;  // tcp://host:port
};

/// [lvc]: the last-value cache for late joiners (README "Late joiners"). No prefixes = off.
struct lvc_config {
    std::vector<std::string> prefixes;
    std::size_t max_topics = 0;
    std::size_t max_bytes = 0;  // topic + body bytes of every cached message
};

/// [trading]: where the trading state is kept across restarts (trading_store.hpp) and what a
/// broker without a saved state starts in.
struct trading_config {
    std::string state_file;  // "" = not kept
    schema::trading_state missing_state = schema::trading_state::halted;
};

/// [recorder]: what the recorder link keeps for redelivery (recorder.hpp) and who may
/// acknowledge it.
struct recorder_config {
    std::size_t retain_messages = 0;
    std::size_t retain_bytes = 0;  // topic + body bytes
    std::string client;            // node name allowed to send recorder_ack / recorder_resume
};

/// One [pipeline.<name>] table: a node the desk runs and the nodes it waits for.
struct pipeline_node {
    std::string name;
    std::vector<std::string> depends_on;
};

struct broker_config {
    std::string source;  // the file it came from (logs, --check-config)
    std::string name;
    std::string log_level;
    endpoints_config endpoints;
    data_config data;
    heartbeat_config heartbeat;
    metrics_config metrics;
    lvc_config lvc;
    trading_config trading;
    recorder_config recorder;
    std::vector<pipeline_node> pipeline;  // sorted by name
    security_config security;             // [security]: CURVE, ZAP clients, topic ACLs
};

/// Loads and validates `path`. Throws common::config_error listing every problem (one
/// `file:line:col: key: message` line each, then a summary line) when there is any.
[[nodiscard]] broker_config load_config(const std::string& path);

/// As load_config, from TOML text; `source` names it in error lines (tests, --check-config).
[[nodiscard]] broker_config parse_config(std::string_view toml_text, const std::string& source);

}  // namespace tradebus::broker
