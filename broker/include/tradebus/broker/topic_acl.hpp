// Topic ACLs on the data plane (CURVE on only): the forwarder asks, for each message read
// from XSUB, whether its sender (the ZAP User-Id libzmq attaches to every message of an
// authenticated connection) may publish on its topic. A refused message is counted as drop
// reason `acl` by the caller; this class logs it and publishes sys.acl.violation, both at most
// once per second per sender, with how many were refused since the last report: the first
// refusal at once, the ones suppressed after it in a summary as soon as the second has passed
// (run_timers), so the `dropped` fields of a sender's events add up to every refusal within
// about a second. Loop thread only (THREADING.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
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

    /// Reports the refusals suppressed by the rate limit whose second has passed.
    void run_timers(std::int64_t now_ms);
    /// When run_timers next has a summary to report (mono ms), or no_deadline.
    [[nodiscard]] std::int64_t next_deadline() const noexcept;

  private:
    /// One sender's report limiter: at most one report per period, none lost.
    struct report_state {
        std::int64_t last_ms = -1'000'000;  // mono ms of the last report
        std::uint64_t pending = 0;          // refused since the last report
        std::string topic;                  // the latest refused topic
    };
    struct sender {
        const client_rule* rule;
        report_state report;
    };
    sender* find(std::string_view name) noexcept;
    void refused(sender* s, std::string_view topic);
    void report(const std::string& node, report_state& r, std::int64_t now_ms);

    event_sink& sink_;
    std::vector<sender> senders_;  // one per [[security.client]]
    sender* last_ = nullptr;       // most messages come in runs from one publisher
    report_state unknown_report_;
};

}  // namespace tradebus::broker
