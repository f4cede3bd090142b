#include "tradebus/runtime/node_config.hpp"

#include "tradebus/schema/topics.hpp"

namespace tradebus::runtime {

node_config read_node_config(common::section& root, std::string_view expected_kind) {
    node_config cfg;
    auto node = root.table("node", true);
    cfg.kind = node.string("kind", std::string(expected_kind), true);
    if (node.present() && node.has("kind") && cfg.kind != expected_kind) {
        node.error("kind", "this is the tradebus-" + std::string(expected_kind) +
                               " executable; expected kind = \"" + std::string(expected_kind) +
                               "\", got \"" + cfg.kind + "\"");
    }
    cfg.name = node.string("name", {}, true);
    if (node.has("name") && !schema::topics::valid_node_name(cfg.name)) {
        node.error("name", "expected " + std::string(schema::topics::node_name_rule) + ", got \"" +
                               cfg.name + "\"");
    }
    cfg.executable = node.string("executable");
    if (!cfg.executable.empty() && cfg.executable.front() != '/') {
        node.error("executable",
                   "expected an absolute path to the node's executable, e.g. "
                   "\"/usr/local/bin/tradebus-" +
                       std::string(expected_kind) + "\", got \"" + cfg.executable + "\"");
    }
    cfg.depends_on = node.strings("depends_on");
    for (const auto& dep : cfg.depends_on) {
        if (!schema::topics::valid_node_name(dep)) {
            node.error("depends_on", "expected node names of " +
                                         std::string(schema::topics::node_name_rule) + ", got \"" +
                                         dep + "\"");
        }
        if (dep == cfg.name) node.error("depends_on", "a node cannot depend on itself");
    }
    cfg.heartbeat_interval_ms =
        node.integer("heartbeat_interval_ms", defaults::heartbeat_interval_ms, 10, 60'000);
    cfg.log_level =
        node.choice("log_level", "info", {"trace", "debug", "info", "warn", "error", "critical"});
    cfg.start_fresh = node.boolean("start_fresh", false);
    cfg.recovery_retry_ms =
        node.integer("recovery_retry_ms", defaults::recovery_retry_ms, 10, 600'000);

    auto broker = root.table("broker", true);
    cfg.control_endpoint = broker.endpoint("control_endpoint", {}, true);
    cfg.xsub_endpoint = broker.endpoint("xsub_endpoint", {});
    cfg.xpub_endpoint = broker.endpoint("xpub_endpoint", {});
    cfg.request_timeout_ms =
        broker.integer("request_timeout_ms", defaults::request_timeout_ms, 10, 60'000);
    cfg.retry_max_ms = broker.integer("retry_max_ms", defaults::retry_max_ms, 10, 600'000);
    cfg.sndhwm = broker.integer("sndhwm", defaults::sndhwm, 0, 100'000'000);
    cfg.rcvhwm = broker.integer("rcvhwm", defaults::rcvhwm, 0, 100'000'000);

    // [security]: broker_public_key(_file) + key_file = CURVE on every socket to the broker.
    auto security = root.table("security");
    cfg.curve = common::read_curve_client(security);
    cfg.session = read_session(root);
    return cfg;
}

}  // namespace tradebus::runtime
