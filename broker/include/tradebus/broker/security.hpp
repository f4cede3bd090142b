// The broker's [security] table: CURVE on or off, the broker's own key pair, and one
// [[security.client]] per key allowed to connect, mapped to a node name with what it may do.
// Deny by default: an unlisted key is refused at the handshake (ZAP 400); a listed client may
// subscribe to anything, publish only under its `publish` prefixes (plus its own data-plane
// probe, sys.probe.<name>), register / heartbeat / deregister only as its own name, and send
// halt / resume only with `operator = true`. status is open to every authenticated client.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tradebus/common/config.hpp"
#include "tradebus/common/curve.hpp"

namespace tradebus::broker {

/// One [[security.client]]: a CURVE public key and the node name it authenticates as.
struct client_rule {
    std::string name;                  // the ZAP User-Id: what the control plane and ACLs see
    std::string public_key;            // Z85
    common::curve_key_bytes key{};     // the same, as the 32 bytes ZAP presents
    std::vector<std::string> publish;  // topic prefixes it may publish (empty = none)
    bool is_operator = false;          // may send halt / resume
};

struct security_config {
    bool curve = false;
    std::string public_key, secret_key;  // the broker's pair (Z85); secret never logged
    std::vector<client_rule> clients;

    /// The client named `name`, or nullptr.
    [[nodiscard]] const client_rule* find(std::string_view name) const noexcept;
};

/// Reads [security] from `top` (the file's root section), recording every problem.
[[nodiscard]] security_config read_security(common::section& top);

/// True when `client` may publish on `topic`: a `publish` prefix matches, or the topic is its
/// own probe sys.probe.<name>.
[[nodiscard]] bool may_publish(const client_rule& client, std::string_view topic) noexcept;

}  // namespace tradebus::broker
