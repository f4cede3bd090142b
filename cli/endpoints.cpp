// Broker endpoints from the defaults, a TOML file or the command line (endpoints.hpp).
#include "tradebus/cli/endpoints.hpp"

#include "tradebus/cli/usage_error.hpp"
#include "tradebus/common/config.hpp"

namespace tradebus::cli {

std::optional<std::string> connectable(std::string_view bind_endpoint) {
    std::string ep(bind_endpoint);
    if (ep.rfind("tcp://", 0) != 0) return ep;
    if (ep.ends_with(":*")) return std::nullopt;
    for (const std::string_view any : {"tcp://*:", "tcp://0.0.0.0:"}) {
        if (ep.rfind(any, 0) == 0) return "tcp://127.0.0.1:" + ep.substr(any.size());
    }
    return ep;
}

std::string connect_endpoint(std::string_view option, std::string_view endpoint) {
    if (auto error = common::endpoint_error(endpoint)) {
        throw usage_error(std::string(option) + " \"" + std::string(endpoint) + "\": " + *error);
    }
    auto usable = connectable(endpoint);
    if (!usable) {
        throw usage_error(std::string(option) + " \"" + std::string(endpoint) +
                          "\": a wildcard port cannot be connected to");
    }
    return *usable;
}

broker_endpoints read_endpoints(const std::string& path, bool with_xsub) {
    common::config_errors errors(path);
    broker_endpoints out;
    auto table = common::parse_config_file(path, errors);
    if (table) {
        common::section root(&*table, "", errors);
        common::section ep = root.table("endpoints");
        common::section node = root.table("broker");
        const auto pick = [&](std::string& dest, std::string_view key) {
            const std::string advertised = ep.endpoint(std::string(key) + "_advertised", "");
            const std::string bound = ep.endpoint(key, "");
            const std::string from_node = node.endpoint(std::string(key) + "_endpoint", "");
            if (!advertised.empty()) {
                dest = advertised;
            } else if (!bound.empty()) {
                if (auto usable = connectable(bound)) {
                    dest = *usable;
                } else {
                    ep.error(key, "binds a wildcard port; pass the port the broker got with --" +
                                      std::string(key));
                }
            } else if (!from_node.empty()) {
                dest = from_node;
            }
        };
        if (with_xsub) pick(out.xsub, "xsub");
        pick(out.xpub, "xpub");
        pick(out.control, "control");
    }
    if (!errors.empty()) {
        std::string message;
        for (const auto& line : errors.lines()) message += (message.empty() ? "" : "\n") + line;
        throw usage_error(message);
    }
    return out;
}

}  // namespace tradebus::cli
