#include "tradebus/broker/topic_acl.hpp"

#include <spdlog/spdlog.h>

#include "tradebus/schema/topics.hpp"

namespace tradebus::broker {

topic_acl::topic_acl(const security_config& cfg, event_sink& sink) : sink_(sink) {
    senders_.reserve(cfg.clients.size());
    for (const auto& c : cfg.clients) senders_.push_back(sender{&c, common::rate_limited{}});
}

topic_acl::sender* topic_acl::find(std::string_view name) noexcept {
    if (last_ != nullptr && last_->rule->name == name) return last_;
    for (auto& s : senders_) {
        if (s.rule->name == name) return last_ = &s;
    }
    return nullptr;
}

bool topic_acl::allows(const char* user_id, std::string_view topic) {
    const std::string_view name = user_id == nullptr ? std::string_view{} : user_id;
    sender* s = find(name);
    if (s != nullptr && may_publish(*s->rule, topic)) return true;
    refused(s, topic);
    return false;
}

void topic_acl::refused(sender* s, std::string_view topic) {
    // A connection without a known User-Id cannot happen while ZAP admits only listed keys;
    // if it ever does, it is refused like a violation, reported under one limiter.
    common::rate_limited& limiter = s != nullptr ? s->report : unknown_report_;
    const std::uint64_t n = limiter.hit();
    if (n == 0) return;
    const std::string node = s != nullptr ? s->rule->name : "(unauthenticated)";
    spdlog::warn(
        "dropped message from {} on topic \"{}\": outside its [[security.client]] publish "
        "prefixes ({} dropped from it in last 1s) [acl]",
        node, topic, n);
    sink_.publish(schema::topics::acl_violation,
                  schema::acl_violation{node, std::string(topic), n});
}

}  // namespace tradebus::broker
