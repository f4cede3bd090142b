// Services nodes offer through the control plane (PROTOCOL.md "Services"): a node announces
// `service` at `endpoint` (the journal's query endpoint), others look it up by name. An entry
// belongs to one node session: it is forgotten as soon as that session ends (deregistered,
// gone) or is replaced by a new registration of the node, so a lookup never returns the
// endpoint of a process that is no longer the node. The control plane owns it (one thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tradebus/broker/node_table.hpp"
#include "tradebus/schema/control.hpp"

namespace tradebus::broker {

class service_registry {
  public:
    /// At most `capacity` services at once (bounded memory whatever peers send).
    explicit service_registry(std::size_t capacity) : capacity_(capacity) {}

    /// Records `r` for the live session `rec` (the caller resolved the session). Returns an
    /// error reply when the service name or endpoint is malformed or the table is full.
    std::optional<schema::error_reply> announce(const node_record& rec,
                                                const schema::announce_request& r,
                                                const node_table& nodes);
    /// The entry for `service` if its node session is still the current one.
    [[nodiscard]] std::optional<schema::lookup_reply> lookup(std::string_view service,
                                                             const node_table& nodes);
    /// Every live entry, sorted by service name.
    [[nodiscard]] std::vector<schema::service_status> list(const node_table& nodes);

    /// Drops entries whose session ended or was replaced.
    void forget_stale(const node_table& nodes);

  private:
    struct entry {
        std::string node, endpoint;
        std::uint64_t session_id = 0;
    };
    std::map<std::string, entry, std::less<>> entries_;
    std::size_t capacity_;
};

/// Service names: 1..64 bytes of [a-z0-9._-].
[[nodiscard]] bool valid_service_name(std::string_view name) noexcept;
/// A ZeroMQ endpoint a peer can connect to: tcp://host:port or ipc://path, at most 256 bytes.
[[nodiscard]] bool valid_service_endpoint(std::string_view endpoint) noexcept;

}  // namespace tradebus::broker
