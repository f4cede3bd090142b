#include "tradebus/broker/security.hpp"

#include <algorithm>

#include "tradebus/broker/config.hpp"
#include "tradebus/schema/topics.hpp"

namespace tradebus::broker {

namespace {

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

client_rule read_client(common::section& c, const security_config& cfg) {
    client_rule rule;
    rule.name = c.string("name", {}, true);
    if (c.has("name") && !schema::topics::valid_node_name(rule.name)) {
        c.error("name", "expected a node name (" + std::string(schema::topics::node_name_rule) +
                            "), got " + quoted(rule.name));
    }
    rule.public_key = common::read_public_key(c, "public_key", "public_key_file", true);
    if (auto bytes = common::z85_decode_key(rule.public_key)) rule.key = *bytes;
    if (!rule.public_key.empty() && rule.public_key == cfg.public_key) {
        c.error(c.has("public_key") ? "public_key" : "public_key_file",
                "expected a client's key, got the broker's own public key");
    }
    rule.publish = c.strings("publish");
    for (const auto& prefix : rule.publish) {
        if (prefix.empty()) {
            c.error("publish",
                    "expected topic prefixes such as \"risk.\", got \"\" (every "
                    "topic: list them instead)");
        } else if (auto why = schema::topics::prefix_error(prefix)) {
            c.error("publish", "expected topic prefixes, got " + quoted(prefix) + ": " + *why);
        } else if (prefix.starts_with(schema::topics::sys) ||
                   std::string_view(schema::topics::sys).starts_with(prefix)) {
            c.error("publish",
                    "expected prefixes outside sys. (only the broker publishes sys.*; "
                    "each node's sys.probe.<name> is always allowed), got " +
                        quoted(prefix));
        }
    }
    rule.is_operator = c.boolean("operator", false);
    return rule;
}

}  // namespace

const client_rule* security_config::find(std::string_view name) const noexcept {
    for (const auto& c : clients) {
        if (c.name == name) return &c;
    }
    return nullptr;
}

bool may_publish(const client_rule& client, std::string_view topic) noexcept {
    for (const auto& prefix : client.publish) {
        if (topic.starts_with(prefix)) return true;
    }
    const std::string_view probe = schema::topics::probe;
    return topic.size() == probe.size() + client.name.size() && topic.starts_with(probe) &&
           topic.substr(probe.size()) == client.name;
}

security_config read_security(common::section& top) {
    security_config cfg;
    common::section s = top.table("security");
    cfg.curve = s.boolean("curve", false);
    const std::string key_file = s.string("secret_key_file");
    if (cfg.curve && key_file.empty()) {
        s.error("secret_key_file",
                "missing: expected the broker's key file (NAME.key from tradebus keygen) when "
                "curve = true");
    } else if (!key_file.empty()) {
        try {
            const auto pair = common::load_key_file(key_file);
            cfg.public_key = pair.public_key;
            cfg.secret_key = pair.secret_key;
        } catch (const common::key_error& e) {
            s.error("secret_key_file", e.what());
        }
    }
    std::vector<common::section> tables = s.tables("client");
    for (auto& c : tables) {
        client_rule rule = read_client(c, cfg);
        if (!rule.name.empty() && cfg.find(rule.name) != nullptr) {
            c.error("name", "expected each client name once, got " + quoted(rule.name) + " again");
        }
        if (!rule.public_key.empty()) {
            for (const auto& other : cfg.clients) {
                if (other.public_key != rule.public_key) continue;
                c.error(c.has("public_key") ? "public_key" : "public_key_file",
                        "expected each key once, got the key of client " + quoted(other.name) +
                            " again");
            }
        }
        cfg.clients.push_back(std::move(rule));
    }
    if (!cfg.curve && !tables.empty()) {
        s.error("curve",
                "expected curve = true when [[security.client]] entries are listed "
                "(without CURVE nobody is authenticated and no ACL applies)");
    }
    if (cfg.curve && tables.empty()) {
        s.error("client",
                "expected at least one [[security.client]] when curve = true (every "
                "node, and the operator's CLI, needs an entry)");
    }
    return cfg;
}

}  // namespace tradebus::broker
