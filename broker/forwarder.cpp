#include "tradebus/broker/forwarder.hpp"

#include <spdlog/spdlog.h>

#include "tradebus/schema/topics.hpp"

namespace tradebus::broker {

forwarder::forwarder(zmq::socket_t& xsub, zmq::socket_t& xpub, std::size_t max_message_bytes,
                     data_stats& stats)
    : xsub_(xsub), xpub_(xpub), max_message_bytes_(max_message_bytes), stats_(stats) {}

void forwarder::dropped(drop_reason r, std::string_view socket) {
    stats_.drop(r);
    if (const std::uint64_t n = warn_[static_cast<std::size_t>(r)].hit()) {
        spdlog::warn("dropped message on {}: {} [{}] ({} dropped in last 1s, {} in all)", socket,
                     describe(r), to_string(r), n, stats_.dropped(r));
    }
}

std::size_t forwarder::drain_events(std::size_t budget) {
    std::size_t n = 0;
    for (; n < budget; ++n) {
        if (!xsub_.recv(topic_, zmq::recv_flags::dontwait)) break;
        ++stats_.received;
        if (!topic_.more()) {
            dropped(drop_reason::frame_count, "xsub");
            continue;
        }
        (void)xsub_.recv(body_, zmq::recv_flags::none);
        if (body_.more()) {
            do {
                (void)xsub_.recv(extra_, zmq::recv_flags::none);
            } while (extra_.more());
            dropped(drop_reason::frame_count, "xsub");
            continue;
        }
        const std::string_view topic = topic_.to_string_view();
        if (auto why = check_message(topic, body_.size(), max_message_bytes_)) {
            dropped(*why, "xsub");
            continue;
        }
        const std::size_t bytes = topic_.size() + body_.size();
        topic_count& counter = stats_.topics.slot(topic);  // before send() empties topic_
        // Shares the body's buffer (refcounted) rather than copying it, for large bodies.
        const bool cache = lvc_ != nullptr && lvc_->covers(topic);
        if (cache) {
            lvc_topic_.copy(topic_);
            lvc_body_.copy(body_);
        }
        if (!xpub_.send(topic_, zmq::send_flags::sndmore | zmq::send_flags::dontwait) ||
            !xpub_.send(body_, zmq::send_flags::dontwait)) {
            dropped(drop_reason::would_block, "xpub");
            continue;
        }
        if (cache) lvc_->update(lvc_topic_.to_string_view(), lvc_body_.to_string_view());
        ++counter.messages;
        counter.bytes += bytes;
        ++stats_.forwarded;
    }
    return n;
}

std::size_t forwarder::drain_subscriptions(std::size_t budget) {
    std::size_t n = 0;
    for (; n < budget; ++n) {
        if (!xpub_.recv(body_, zmq::recv_flags::dontwait)) break;
        if (body_.more()) {
            do {
                (void)xpub_.recv(extra_, zmq::recv_flags::none);
            } while (extra_.more());
            dropped(drop_reason::bad_subscription, "xpub");
            continue;
        }
        const auto* data = body_.data<unsigned char>();
        // A prefix longer than any topic can never match; not forwarding it keeps publishers'
        // subscription tries shallow.
        if (body_.size() == 0 || (data[0] != 0 && data[0] != 1) ||
            body_.size() > 1 + schema::topics::max_topic_bytes) {
            dropped(drop_reason::bad_subscription, "xpub");
            continue;
        }
        const bool subscribe = data[0] == 1;
        if (spdlog::should_log(spdlog::level::debug)) {
            spdlog::debug("{} \"{}\"", subscribe ? "subscribe" : "unsubscribe",
                          std::string_view(body_.data<char>() + 1, body_.size() - 1));
        }
        ++(subscribe ? stats_.subscriptions : stats_.unsubscriptions);
        if (!xsub_.send(body_, zmq::send_flags::dontwait)) {
            dropped(drop_reason::would_block, "xsub");
        }
    }
    return n;
}

void forwarder::publish(std::string_view topic, std::string_view body) {
    zmq::message_t t(topic.data(), topic.size());
    zmq::message_t b(body.data(), body.size());
    topic_count& counter = stats_.topics.slot(topic);
    if (!xpub_.send(t, zmq::send_flags::sndmore | zmq::send_flags::dontwait) ||
        !xpub_.send(b, zmq::send_flags::dontwait)) {
        dropped(drop_reason::would_block, "xpub");
        return;
    }
    ++counter.messages;
    counter.bytes += topic.size() + body.size();
    ++stats_.forwarded;
}

}  // namespace tradebus::broker
