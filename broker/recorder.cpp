#include "tradebus/broker/recorder.hpp"

#include <spdlog/spdlog.h>

#include "tradebus/broker/defaults.hpp"
#include "tradebus/common/eintr.hpp"
#include "tradebus/common/process.hpp"

namespace tradebus::broker {

recorder::recorder(zmq::context_t& ctx, int sndhwm, data_stats& stats)
    : socket_(ctx, zmq::socket_type::xpub), stats_(stats) {
    socket_.set(zmq::sockopt::linger, defaults::linger_ms);
    socket_.set(zmq::sockopt::sndhwm, sndhwm);
    socket_.set(zmq::sockopt::xpub_nodrop, true);
    socket_.set(zmq::sockopt::maxmsgsize, defaults::max_subscription_frame_bytes);
}

void recorder::bind(const std::string& endpoint) {
    socket_.bind(endpoint);
    stats_.recorder.enabled = true;
}

// libzmq's XPUB checks the high-water mark of every matching pipe at a message's first frame
// and counts a message only once its last frame is written, so a body frame after an accepted
// topic frame is not refused in practice; topic_sent_ still keeps a refusal there correct.
bool recorder::try_send(zmq::message_t& topic, zmq::message_t& body) {
    // The caller keeps its messages for XPUB: send copies (zmq_msg_copy shares the payload).
    if (!topic_sent_) {
        topic_copy_.copy(topic);
        if (!common::send_uninterrupted(socket_, topic_copy_,
                                        zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
            return false;
        }
        topic_sent_ = true;
    }
    body_copy_.copy(body);
    if (!common::send_uninterrupted(socket_, body_copy_, zmq::send_flags::dontwait)) return false;
    topic_sent_ = false;
    ++stats_.recorder.sent;
    return true;
}

void recorder::hold(zmq::message_t& topic, zmq::message_t& body) {
    if (held_.empty()) {
        ++stats_.recorder.stalls;
        stats_.recorder.stalled_since_ms = common::mono_ms();
    }
    held_.emplace_back(std::move(topic), std::move(body));
    stats_.recorder.held = held_.size();
}

bool recorder::offer(zmq::message_t& topic, zmq::message_t& body) {
    if (held_.empty() && try_send(topic, body)) return true;
    if (held_.size() >= max_held) {
        ++stats_.recorder.overflow;
        if (const std::uint64_t n = overflow_log_.hit()) {
            spdlog::error(
                "recorder stalled with {} messages held: dropped a broker event the journal "
                "will not have ({} in last 1s, {} in all)",
                held_.size(), n, stats_.recorder.overflow);
        }
        return false;
    }
    hold(topic, body);
    return false;
}

bool recorder::flush(const std::function<void(zmq::message_t&, zmq::message_t&)>& forward) {
    if (held_.empty()) return true;
    while (!held_.empty()) {
        auto& [topic, body] = held_.front();
        if (!try_send(topic, body)) break;
        forward(topic, body);
        held_.pop_front();
    }
    stats_.recorder.held = held_.size();
    if (!held_.empty()) return false;
    stats_.recorder.stalled_ms +=
        static_cast<std::uint64_t>(common::mono_ms() - stats_.recorder.stalled_since_ms);
    return true;
}

}  // namespace tradebus::broker
