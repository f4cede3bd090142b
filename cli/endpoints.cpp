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

common::curve_client curve_keys(common::curve_client from_config, const std::string& key_file,
                                const std::string& broker_key, const std::string& broker_key_file) {
    common::curve_client out = std::move(from_config);
    try {
        if (!broker_key.empty() && !broker_key_file.empty()) {
            throw usage_error("--broker-key and --broker-key-file: give one of them");
        }
        if (!broker_key.empty()) {
            if (auto why = common::z85_key_error(broker_key)) {
                throw usage_error("--broker-key: " + *why);
            }
            out.server_key = broker_key;
        }
        if (!broker_key_file.empty())
            out.server_key = common::load_public_key_file(broker_key_file);
        if (!key_file.empty()) {
            const auto pair = common::load_key_file(key_file);
            out.public_key = pair.public_key;
            out.secret_key = pair.secret_key;
        }
    } catch (const common::key_error& e) {
        throw usage_error(e.what());
    }
    if (out.server_key.empty() != out.secret_key.empty()) {
        throw usage_error(out.server_key.empty()
                              ? "--key-file needs the broker's public key too (--broker-key or "
                                "--broker-key-file)"
                              : "--broker-key needs this client's key pair too (--key-file, "
                                "a NAME.key from tradebus keygen)");
    }
    return out;
}

std::string_view silent_broker_hint(const common::curve_client& keys) noexcept {
    return keys.enabled() ? "is tradebus-broker running, with this key's public part in its "
                            "[[security.client]]?"
                          : "is tradebus-broker running? a CURVE broker answers only --key-file "
                            "clients";
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
        common::section security = root.table("security");
        if (!security.has("curve")) out.curve = common::read_curve_client(security);
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
