#include "tradebus/broker/config.hpp"

#include <algorithm>

#include "tradebus/broker/defaults.hpp"
#include "tradebus/broker/dependency_graph.hpp"
#include "tradebus/common/config.hpp"
#include "tradebus/schema/topics.hpp"

namespace tradebus::broker {

namespace {

using common::section;

constexpr std::string_view endpoint_expected = "a ZeroMQ endpoint (tcp://host:port or ipc://path)";

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// Bind endpoints: tcp or ipc (inproc cannot reach another process).
std::string bind_endpoint(section& s, std::string_view key, std::string_view fallback) {
    std::string ep = s.endpoint(key, std::string(fallback));
    if (ep.rfind("inproc://", 0) == 0) {
        s.error(key, "expected " + std::string(endpoint_expected) +
                         " (inproc cannot reach other processes), got " + quoted(ep));
        return std::string(fallback);
    }
    return ep;
}

// Advertised endpoints: what a node connects to, so no wildcard host or port.
std::string advertised_endpoint(section& s, std::string_view key) {
    std::string ep = s.endpoint(key, "");
    if (ep.empty()) return ep;
    const bool tcp = ep.rfind("tcp://", 0) == 0;
    const bool wildcard = tcp && (ep.find("://*") != std::string::npos ||
                                  ep.find("://0.0.0.0") != std::string::npos || ep.ends_with(":*"));
    if (ep.rfind("inproc://", 0) == 0 || wildcard) {
        s.error(key,
                "expected an endpoint a node can connect to (no wildcard host or port, no "
                "inproc), got " +
                    quoted(ep));
        return "";
    }
    return ep;
}

void load_pipeline(const toml::table& root, section& top, broker_config& cfg) {
    section pipe = top.table("pipeline");
    const toml::table* raw = root["pipeline"].as_table();
    if (raw == nullptr) return;
    std::vector<section> tables;
    for (const auto& [key, value] : *raw) {
        const std::string name(key.str());
        section node = pipe.table(name);  // a non-table value is reported as "expected a table"
        if (!value.is_table()) continue;
        if (!schema::topics::valid_node_name(name)) {
            pipe.error(name, "expected a node name (" +
                                 std::string(schema::topics::node_name_rule) + "), got " +
                                 quoted(name));
        }
        cfg.pipeline.push_back({name, node.strings("depends_on")});
        tables.push_back(node);
    }
    dependency_graph graph;
    for (const auto& n : cfg.pipeline) graph.add_configured(n.name, n.depends_on);
    for (std::size_t i = 0; i < cfg.pipeline.size(); ++i) {
        for (const auto& dep : cfg.pipeline[i].depends_on) {
            if (graph.is_configured(dep)) continue;
            std::string hint;
            std::size_t best = 3;
            for (const auto& other : cfg.pipeline) {
                const std::size_t d = common::edit_distance(dep, other.name);
                if (d < best) best = d, hint = " (did you mean " + quoted(other.name) + "?)";
            }
            tables[i].error("depends_on",
                            "expected names of [pipeline] nodes, got " + quoted(dep) + hint);
        }
    }
    if (graph.dangling_configured()) return;  // reported above; cycles need a whole graph
    if (auto cycle = graph.find_cycle()) {
        const auto at = std::find_if(cfg.pipeline.begin(), cfg.pipeline.end(),
                                     [&](const auto& n) { return n.name == cycle->front(); });
        tables[static_cast<std::size_t>(at - cfg.pipeline.begin())].error(
            "depends_on",
            "expected no dependency cycle, got " + dependency_graph::path_text(*cycle));
    }
}

// [metrics] listen: a TCP address with an explicit port (a scrape config names it); "" = off.
void load_metrics(section& top, broker_config& cfg) {
    section m = top.table("metrics");
    std::string ep = m.string("listen", std::string(defaults::metrics_listen));
    if (ep.empty()) return;
    const std::string expected = "expected tcp://host:port (e.g. \"tcp://127.0.0.1:9464\"), got ";
    const auto colon = ep.rfind(':');
    const std::string port = colon == std::string::npos ? "" : ep.substr(colon + 1);
    const bool numeric_port =
        !port.empty() && port.size() <= 5 &&
        std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (ep.rfind("tcp://", 0) != 0 || colon <= 6 || !numeric_port || std::stoi(port) == 0 ||
        std::stoi(port) > 65535 || common::endpoint_error(ep)) {
        m.error("listen", expected + quoted(ep));
        return;
    }
    for (const auto* other : {&cfg.endpoints.xsub, &cfg.endpoints.xpub, &cfg.endpoints.control}) {
        if (*other == ep) {
            m.error("listen", "expected an address no [endpoints] entry uses, got " + quoted(ep));
            return;
        }
    }
    cfg.metrics.listen = ep;
}

// [lvc]: which topic prefixes keep their last message, and the memory bounds.
void load_lvc(section& top, broker_config& cfg) {
    section l = top.table("lvc");
    std::vector<std::string> fallback(std::begin(defaults::lvc_prefixes),
                                      std::end(defaults::lvc_prefixes));
    cfg.lvc.prefixes = l.strings("prefixes", fallback);
    for (const auto& p : cfg.lvc.prefixes) {
        if (p.empty() || p.size() > schema::topics::max_topic_bytes) {
            l.error("prefixes", "expected topic prefixes of 1.." +
                                    std::to_string(schema::topics::max_topic_bytes) +
                                    " bytes, got " + quoted(p));
        }
    }
    cfg.lvc.max_topics =
        static_cast<std::size_t>(l.integer("max_topics", defaults::lvc_max_topics, 1, 10'000'000));
    cfg.lvc.max_bytes =
        static_cast<std::size_t>(l.integer("max_bytes", defaults::lvc_max_bytes, 1024, 16LL << 30));
}

// [trading]: the state file and the state a broker without one starts in.
void load_trading(section& top, broker_config& cfg) {
    section t = top.table("trading");
    cfg.trading.state_file = t.string("state_file", std::string(defaults::trading_state_file));
    const std::string missing = t.choice(
        "missing_state", std::string(defaults::trading_missing_state), {"halted", "active"});
    cfg.trading.missing_state =
        schema::parse_enum<schema::trading_state>(missing).value_or(schema::trading_state::halted);
}

// [recorder]: the redelivery bounds of the recorder link and the node that acknowledges it.
void load_recorder(section& top, broker_config& cfg) {
    section r = top.table("recorder");
    cfg.recorder.retain_messages = static_cast<std::size_t>(
        r.integer("retain_messages", defaults::recorder_retain_messages, 0, 100'000'000));
    cfg.recorder.retain_bytes = static_cast<std::size_t>(
        r.integer("retain_bytes", defaults::recorder_retain_bytes, 0, 64LL << 30));
    cfg.recorder.client = r.string("client", std::string(defaults::recorder_client));
    if (!schema::topics::valid_node_name(cfg.recorder.client)) {
        r.error("client", "expected a node name (" + std::string(schema::topics::node_name_rule) +
                              "), got " + quoted(cfg.recorder.client));
    }
}

broker_config from_table(const toml::table& root, common::config_errors& errors) {
    broker_config cfg;
    cfg.source = errors.file();
    section top(&root, "", errors);

    section b = top.table("broker");
    cfg.name = b.string("name", std::string(defaults::name));
    if (!schema::topics::valid_node_name(cfg.name)) {
        b.error("name", "expected a node name (" + std::string(schema::topics::node_name_rule) +
                            "), got " + quoted(cfg.name));
    }
    cfg.log_level =
        b.choice("log_level", std::string(defaults::log_level),
                 {"trace", "debug", "info", "warn", "warning", "error", "critical", "off"});

    section e = top.table("endpoints");
    cfg.endpoints.xsub = bind_endpoint(e, "xsub", defaults::xsub_endpoint);
    cfg.endpoints.xpub = bind_endpoint(e, "xpub", defaults::xpub_endpoint);
    cfg.endpoints.control = bind_endpoint(e, "control", defaults::control_endpoint);
    if (e.has("recorder")) cfg.endpoints.recorder = bind_endpoint(e, "recorder", "");
    for (const std::string* other :
         {&cfg.endpoints.xsub, &cfg.endpoints.xpub, &cfg.endpoints.control}) {
        if (!cfg.endpoints.recorder.empty() && cfg.endpoints.recorder == *other) {
            e.error("recorder",
                    "expected an endpoint other than endpoints.xsub, xpub and control, got " +
                        quoted(cfg.endpoints.recorder));
        }
    }
    cfg.endpoints.xsub_advertised = advertised_endpoint(e, "xsub_advertised");
    cfg.endpoints.xpub_advertised = advertised_endpoint(e, "xpub_advertised");
    cfg.endpoints.control_advertised = advertised_endpoint(e, "control_advertised");
    if (cfg.endpoints.xpub == cfg.endpoints.xsub) {
        e.error("xpub", "expected an endpoint other than endpoints.xsub, got " +
                            quoted(cfg.endpoints.xpub));
    }
    if (cfg.endpoints.control == cfg.endpoints.xsub ||
        cfg.endpoints.control == cfg.endpoints.xpub) {
        e.error("control",
                "expected an endpoint other than endpoints.xsub and endpoints.xpub, got " +
                    quoted(cfg.endpoints.control));
    }

    section d = top.table("data");
    cfg.data.sndhwm = static_cast<int>(d.integer("sndhwm", defaults::sndhwm, 1, 10'000'000));
    cfg.data.rcvhwm = static_cast<int>(d.integer("rcvhwm", defaults::rcvhwm, 1, 10'000'000));
    cfg.data.max_message_bytes = static_cast<std::size_t>(
        d.integer("max_message_bytes", defaults::max_message_bytes, 1024, 256 << 20));
    cfg.data.max_topics_tracked = static_cast<std::size_t>(
        d.integer("max_topics_tracked", defaults::max_topics_tracked, 1, 10'000'000));
    cfg.data.topic_idle_s = d.integer("topic_idle_s", defaults::topic_idle_s, 1, 7 * 24 * 3600);
    cfg.data.max_subscriptions = static_cast<std::size_t>(
        d.integer("max_subscriptions", defaults::max_subscriptions, 1, 1'000'000));

    section h = top.table("heartbeat");
    cfg.heartbeat.interval_ms =
        h.integer("interval_ms", defaults::heartbeat_interval_ms,
                  defaults::min_heartbeat_interval_ms, defaults::max_heartbeat_interval_ms);
    cfg.heartbeat.liveness = h.integer("liveness", defaults::liveness, 1, 100);
    cfg.heartbeat.gone_after_ms =
        h.integer("gone_after_ms", defaults::gone_after_ms, 10, 7 * 24 * 3600 * 1000LL);
    const std::int64_t silent_ms = cfg.heartbeat.interval_ms * cfg.heartbeat.liveness;
    if (h.has("gone_after_ms") && cfg.heartbeat.gone_after_ms <= silent_ms) {
        h.error("gone_after_ms", "expected more than interval_ms x liveness (" +
                                     std::to_string(silent_ms) + " ms), got " +
                                     std::to_string(cfg.heartbeat.gone_after_ms));
    }
    cfg.heartbeat.gone_after_ms = std::max(cfg.heartbeat.gone_after_ms, silent_ms + 1);

    load_metrics(top, cfg);
    load_lvc(top, cfg);
    load_trading(top, cfg);
    load_recorder(top, cfg);
    load_pipeline(root, top, cfg);
    cfg.security = read_security(top);
    top.finish();
    return cfg;
}

}  // namespace

broker_config load_config(const std::string& path) {
    common::config_errors errors(path);
    auto table = common::parse_config_file(path, errors);
    if (!table) common::throw_if_errors(errors);
    broker_config cfg = from_table(*table, errors);
    common::throw_if_errors(errors);
    return cfg;
}

broker_config parse_config(std::string_view toml_text, const std::string& source) {
    common::config_errors errors(source);
    try {
        const toml::table table = toml::parse(toml_text, source);
        broker_config cfg = from_table(table, errors);
        common::throw_if_errors(errors);
        return cfg;
    } catch (const toml::parse_error& e) {
        errors.add(e.source(), "(syntax)", std::string(e.description()));
    }
    common::throw_if_errors(errors);
    return {};
}

}  // namespace tradebus::broker
