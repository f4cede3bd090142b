#include "tradebus/broker/forwarder.hpp"

#include <spdlog/spdlog.h>

#include "tradebus/broker/defaults.hpp"
#include "tradebus/common/eintr.hpp"
#include "tradebus/schema/codec.hpp"
#include "tradebus/schema/topics.hpp"

namespace tradebus::broker {

namespace {

// Keeps the state a risk node last published on risk.state, for /metrics: the broker's only view
// of risk's daily-loss stages (reduce-only past reducing_daily_loss, halted past max_daily_loss).
// A body that does not decode as a trading_state is left to the subscribers (not the broker's
// to judge); a new name beyond defaults::max_risk_states is not tracked.
void note_risk_state(std::string_view body, data_stats& stats) {
    const auto decoded = schema::decode_event(body);
    if (!decoded.ok()) return;
    const auto* ev = std::get_if<schema::trading_state_changed>(&decoded.value().body);
    if (ev == nullptr) return;
    const std::string& src = decoded.value().env.src;
    auto it = stats.risk_states.find(src);
    if (it == stats.risk_states.end()) {
        if (stats.risk_states.size() >= defaults::max_risk_states) return;
        it = stats.risk_states.emplace(src, risk_state_seen{}).first;
    }
    it->second = {.state = ev->state, .by_operator = ev->by == "operator"};
}

}  // namespace

forwarder::forwarder(zmq::socket_t& xsub, zmq::socket_t& xpub, std::size_t max_message_bytes,
                     data_stats& stats, std::size_t max_subscriptions)
    : xsub_(xsub),
      xpub_(xpub),
      max_message_bytes_(max_message_bytes),
      stats_(stats),
      max_subscriptions_(max_subscriptions) {}

void forwarder::dropped(drop_reason r, std::string_view socket) {
    stats_.drop(r);
    if (const std::uint64_t n = warn_[static_cast<std::size_t>(r)].hit()) {
        spdlog::warn("dropped message on {}: {} [{}] ({} dropped in last 1s, {} in all)", socket,
                     describe(r), to_string(r), n, stats_.dropped(r));
    }
}

std::size_t forwarder::drain_events(std::size_t budget) {
    std::size_t n = 0;
    if (recorder_ != nullptr && recorder_->stalled()) return 0;
    for (; n < budget; ++n) {
        if (!common::recv_uninterrupted(xsub_, topic_, zmq::recv_flags::dontwait)) break;
        ++stats_.received;
        if (!topic_.more()) {
            dropped(drop_reason::frame_count, "xsub");
            continue;
        }
        (void)common::recv_uninterrupted(xsub_, body_, zmq::recv_flags::none);
        if (body_.more()) {
            do {
                (void)common::recv_uninterrupted(xsub_, extra_, zmq::recv_flags::none);
            } while (extra_.more());
            dropped(drop_reason::frame_count, "xsub");
            continue;
        }
        const std::string_view topic = topic_.to_string_view();
        if (auto why = check_message(topic, body_.size(), max_message_bytes_)) {
            dropped(*why, "xsub");
            continue;
        }
        if (acl_ != nullptr && !acl_->allows(zmq_msg_gets(topic_.handle(), "User-Id"), topic)) {
            stats_.drop(drop_reason::acl);  // logged and reported per sender by the ACL
            continue;
        }
        if (recorder_ != nullptr && !recorder_->offer(topic_, body_)) return n + 1;  // held
        to_xpub(topic_, body_);
    }
    return n;
}

void forwarder::to_xpub(zmq::message_t& topic, zmq::message_t& body) {
    const std::size_t bytes = topic.size() + body.size();
    if (topic.to_string_view() == schema::topics::risk_state) {
        note_risk_state(body.to_string_view(), stats_);
    }
    topic_count& counter = stats_.topics.slot(topic.to_string_view());  // before send() empties it
    // The last-value cache keeps what was forwarded: the copies share the body's buffer
    // (refcounted) rather than copying it, and are stored once the send succeeded.
    const bool cache = lvc_ != nullptr && lvc_->covers(topic.to_string_view());
    if (cache) {
        lvc_topic_.copy(topic);
        lvc_body_.copy(body);
    }
    if (!common::send_uninterrupted(xpub_, topic,
                                    zmq::send_flags::sndmore | zmq::send_flags::dontwait) ||
        !common::send_uninterrupted(xpub_, body, zmq::send_flags::dontwait)) {
        dropped(drop_reason::would_block, "xpub");
        return;
    }
    if (cache) lvc_->update(lvc_topic_.to_string_view(), lvc_body_.to_string_view());
    ++counter.messages;
    counter.bytes += bytes;
    ++stats_.forwarded;
}

bool forwarder::resume_recorder() {
    return recorder_->flush([this](zmq::message_t& t, zmq::message_t& b) { to_xpub(t, b); });
}

std::size_t forwarder::drain_subscriptions(std::size_t budget) {
    return pass_subscriptions(xpub_, "xpub", budget);
}

std::size_t forwarder::drain_recorder_subscriptions(std::size_t budget) {
    return pass_subscriptions(recorder_->socket(), "recorder", budget);
}

std::size_t forwarder::pass_subscriptions(zmq::socket_t& from, std::string_view name,
                                          std::size_t budget) {
    std::size_t n = 0;
    for (; n < budget; ++n) {
        if (!common::recv_uninterrupted(from, body_, zmq::recv_flags::dontwait)) break;
        if (body_.more()) {
            do {
                (void)common::recv_uninterrupted(from, extra_, zmq::recv_flags::none);
            } while (extra_.more());
            dropped(drop_reason::bad_subscription, name);
            continue;
        }
        const auto* data = body_.data<unsigned char>();
        // A prefix longer than any topic can never match; not forwarding it keeps publishers'
        // subscription tries shallow.
        if (body_.size() == 0 || (data[0] != 0 && data[0] != 1) ||
            body_.size() > 1 + schema::topics::max_topic_bytes) {
            dropped(drop_reason::bad_subscription, name);
            continue;
        }
        const bool subscribe = data[0] == 1;
        const std::string_view prefix(body_.data<char>() + 1, body_.size() - 1);
        if (spdlog::should_log(spdlog::level::debug)) {
            spdlog::debug("{} \"{}\"", subscribe ? "subscribe" : "unsubscribe", prefix);
        }
        const std::uint8_t bit = &from == &xpub_ ? 1 : 2;
        auto it = upstream_.find(std::string(prefix));
        if (subscribe) {
            if (it == upstream_.end()) {
                if (upstream_.size() >= max_subscriptions_) {
                    dropped(drop_reason::subscription_limit, name);
                    continue;
                }
                it = upstream_.emplace(std::string(prefix), 0).first;
            } else if ((it->second & bit) != 0) {
                continue;  // already passed for this socket (XSUB would count it twice)
            }
            it->second |= bit;
        } else {
            // Not subscribed upstream from this socket: its subscribe was refused at the limit.
            if (it == upstream_.end() || (it->second & bit) == 0) continue;
            it->second &= static_cast<std::uint8_t>(~bit);
            if (it->second == 0) upstream_.erase(it);
        }
        ++(subscribe ? stats_.subscriptions : stats_.unsubscriptions);
        if (!common::send_uninterrupted(xsub_, body_, zmq::send_flags::dontwait)) {
            dropped(drop_reason::would_block, "xsub");
        }
    }
    return n;
}

void forwarder::publish(std::string_view topic, std::string_view body) {
    zmq::message_t t(topic.data(), topic.size());
    zmq::message_t b(body.data(), body.size());
    if (recorder_ != nullptr && !recorder_->offer(t, b)) return;  // held: sent on resume
    to_xpub(t, b);
}

}  // namespace tradebus::broker
