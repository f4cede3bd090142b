// Which broker the CLI talks to: the localhost defaults, or the endpoints read from a TOML
// file (--config), overridden by --xpub / --control. Only the keys needed are read; the rest
// of the file is ignored (the broker validates its own file).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "tradebus/common/curve.hpp"

namespace tradebus::cli {

/// The broker's defaults (config/broker.toml ships the same).
namespace defaults {
inline constexpr std::string_view xsub_endpoint = "tcp://127.0.0.1:5550";
inline constexpr std::string_view xpub_endpoint = "tcp://127.0.0.1:5551";
inline constexpr std::string_view control_endpoint = "tcp://127.0.0.1:5552";
}  // namespace defaults

struct broker_endpoints {
    std::string xsub{defaults::xsub_endpoint};  // read only when asked (journal replay)
    std::string xpub{defaults::xpub_endpoint};
    std::string control{defaults::control_endpoint};
    common::curve_client curve;  // a node's [security] table: its keys for a CURVE broker
};

/// Reads the endpoints from a TOML file, which may be
///   - the broker's config: [endpoints] xpub_advertised / control_advertised when set, else
///     the bind endpoints xpub / control (a wildcard host becomes 127.0.0.1), or
///   - a node's config: [broker] xpub_endpoint / control_endpoint, and its [security] keys
///     (broker_public_key / broker_public_key_file + key_file) for a CURVE broker.
/// Keys the file does not have keep their defaults. Throws usage_error (file:line:col: key:
/// what was expected) for a missing file, a syntax error, a bad endpoint, or a bind on a
/// wildcard port (no way to know which port the broker got).
/// `with_xsub`: also read xsub (xsub_advertised / xsub, or a node's [broker] xsub_endpoint);
/// only `journal replay` publishes, so the other commands never fail on a wildcard xsub port.
[[nodiscard]] broker_endpoints read_endpoints(const std::string& path, bool with_xsub = false);

/// The endpoint to connect to for a bind endpoint: tcp://*:5551 and tcp://0.0.0.0:5551
/// become tcp://127.0.0.1:5551; anything else is returned unchanged. nullopt for a wildcard
/// port (tcp://host:*), which cannot be connected to.
[[nodiscard]] std::optional<std::string> connectable(std::string_view bind_endpoint);

/// The CURVE keys for the command line's --key-file / --broker-key / --broker-key-file over
/// `from_config` (what --config gave). Throws usage_error for a bad key or file, or when only
/// one side (own key file, broker key) ends up known.
[[nodiscard]] common::curve_client curve_keys(common::curve_client from_config,
                                              const std::string& key_file,
                                              const std::string& broker_key,
                                              const std::string& broker_key_file);

/// What to suggest when the broker does not answer: whether it runs, and with CURVE keys
/// whether this key is listed, without keys that a CURVE broker answers only keyed clients.
[[nodiscard]] std::string_view silent_broker_hint(const common::curve_client& keys) noexcept;

/// Checks an endpoint given on the command line and returns what to connect to (as
/// connectable()). Throws usage_error naming `option` when it is not a ZeroMQ endpoint or has
/// a wildcard port.
[[nodiscard]] std::string connect_endpoint(std::string_view option, std::string_view endpoint);

}  // namespace tradebus::cli
