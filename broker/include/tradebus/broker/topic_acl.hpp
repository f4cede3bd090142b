// Topic ACLs on the data plane (CURVE on only): the forwarder asks, for each message read
// from XSUB, whether its sender (the ZAP User-Id libzmq attaches to every message of an
// authenticated connection) may publish on its topic. A refused message is counted as drop
// reason `acl` by the caller; this class logs it and publishes sys.acl.violation, both at most
// once per second per sender, with how many were refused since the last report. Loop thread
// only (THREADING.md).
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "tradebus/broker/control_plane.hpp"
#include "tradebus/broker/security.hpp"
#include "tradebus/common/process.hpp"

namespace tradebus::broker {

class topic_acl {
  public:
    /// `cfg` and `sink` must outlive the ACL.
    topic_acl(const security_config& cfg, event_sink& sink);

    /// True when `user_id` (nullptr: the connection carries none) may publish `topic`. False
    /// also reports the violation (rate-limited); the caller drops and counts the message.
    bool allows(const char* user_id, std::string_view topic);

  private:
    struct sender {
        const client_rule* rule;
        common::rate_limited report;
    };
    sender* find(std::string_view name) noexcept;
    void refused(sender* s, std::string_view topic);

    event_sink& sink_;
    std::vector<sender> senders_;  // one per [[security.client]]
    sender* last_ = nullptr;       // most messages come in runs from one publisher
    common::rate_limited unknown_report_;
};

}  // namespace tradebus::broker
