#include "tradebus/broker/topic_acl.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "tradebus/schema/topics.hpp"

namespace tradebus::broker {

topic_acl::topic_acl(const security_config& cfg, event_sink& sink) : sink_(sink) {
    senders_.reserve(cfg.clients.size());
    for (const auto& c : cfg.clients) senders_.push_back(sender{&c, report_state{}});
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

namespace {
constexpr std::int64_t report_period_ms = 1000;
const std::string unauthenticated = "(unauthenticated)";
}  // namespace

void topic_acl::refused(sender* s, std::string_view topic) {
    // A connection without a known User-Id cannot happen while ZAP admits only listed keys;
    // if it ever does, it is refused like a violation, reported under one limiter.
    report_state& r = s != nullptr ? s->report : unknown_report_;
    ++r.pending;
    r.topic.assign(topic);
    const std::int64_t now = common::mono_ms();
    if (now - r.last_ms >= report_period_ms)
        report(s != nullptr ? s->rule->name : unauthenticated, r, now);
}

void topic_acl::report(const std::string& node, report_state& r, std::int64_t now_ms) {
    spdlog::warn(
        "dropped message from {} on topic \"{}\": outside its [[security.client]] publish "
        "prefixes ({} dropped from it in last 1s) [acl]",
        node, r.topic, r.pending);
    sink_.publish(schema::topics::acl_violation, schema::acl_violation{node, r.topic, r.pending});
    r.pending = 0;
    r.last_ms = now_ms;
}

void topic_acl::run_timers(std::int64_t now_ms) {
    for (auto& s : senders_) {
        if (s.report.pending > 0 && now_ms - s.report.last_ms >= report_period_ms) {
            report(s.rule->name, s.report, now_ms);
        }
    }
    if (unknown_report_.pending > 0 && now_ms - unknown_report_.last_ms >= report_period_ms) {
        report(unauthenticated, unknown_report_, now_ms);
    }
}

std::int64_t topic_acl::next_deadline() const noexcept {
    std::int64_t next = no_deadline;
    for (const auto& s : senders_) {
        if (s.report.pending > 0) next = std::min(next, s.report.last_ms + report_period_ms);
    }
    if (unknown_report_.pending > 0) {
        next = std::min(next, unknown_report_.last_ms + report_period_ms);
    }
    return next;
}

}  // namespace tradebus::broker
