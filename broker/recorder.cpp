#include "tradebus/broker/recorder.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>

#include "tradebus/broker/defaults.hpp"
#include "tradebus/common/eintr.hpp"
#include "tradebus/common/process.hpp"

namespace tradebus::broker {

namespace {

std::array<unsigned char, recorder_seq_frame_bytes> seq_frame(std::uint64_t epoch,
                                                              std::uint64_t seq) {
    std::array<unsigned char, recorder_seq_frame_bytes> out{};
    for (std::size_t i = 0; i < 8; ++i) {
        out[i] = static_cast<unsigned char>(epoch >> (56 - 8 * i));
        out[8 + i] = static_cast<unsigned char>(seq >> (56 - 8 * i));
    }
    return out;
}

}  // namespace

recorder::recorder(zmq::context_t& ctx, int sndhwm, data_stats& stats, std::uint64_t epoch,
                   std::size_t retain_messages, std::size_t retain_bytes)
    : socket_(ctx, zmq::socket_type::xpub),
      stats_(stats),
      epoch_(epoch),
      retain_messages_(retain_messages),
      retain_bytes_(retain_bytes) {
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
// and counts a message only once its last frame is written, so a later frame after an accepted
// first one is not refused in practice; frames_sent_ still keeps a refusal there correct.
bool recorder::try_send(entry& e) {
    // The entry stays kept: send copies (zmq_msg_copy shares the payload).
    if (frames_sent_ == 0) {
        topic_copy_.copy(e.topic);
        if (!common::send_uninterrupted(socket_, topic_copy_,
                                        zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
            return false;
        }
        frames_sent_ = 1;
    }
    if (frames_sent_ == 1) {
        body_copy_.copy(e.body);
        if (!common::send_uninterrupted(socket_, body_copy_,
                                        zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
            return false;
        }
        frames_sent_ = 2;
    }
    const auto frame = seq_frame(epoch_, e.seq);
    zmq::message_t seq(frame.data(), frame.size());
    if (!common::send_uninterrupted(socket_, seq, zmq::send_flags::dontwait)) return false;
    frames_sent_ = 0;
    ++stats_.recorder.sent;
    if (e.seq <= sent_upto_) {
        ++stats_.recorder.redelivered;
    } else {
        sent_upto_ = e.seq;
    }
    return true;
}

void recorder::keep(std::uint64_t seq, zmq::message_t& topic, zmq::message_t& body, bool copy) {
    kept_.push_back(entry{seq, {}, {}});
    entry& e = kept_.back();
    if (copy) {
        e.topic.copy(topic);
        e.body.copy(body);
    } else {
        e.topic.move(topic);
        e.body.move(body);
    }
    kept_bytes_ += e.topic.size() + e.body.size();
}

void recorder::begin_stall() {
    ++stats_.recorder.stalls;
    stats_.recorder.stalled_since_ms = common::mono_ms();
}

bool recorder::offer(zmq::message_t& topic, zmq::message_t& body) {
    if (!stalled()) {
        const std::uint64_t seq = next_++;
        keep(seq, topic, body, true);
        if (try_send(kept_.back())) {
            cursor_ = next_;
            forwarded_ = next_;
            trim();
            return true;
        }
        kept_bytes_ -= kept_.back().topic.size() + kept_.back().body.size();
        kept_.pop_back();
        keep(seq, topic, body, false);  // the caller's own messages: forwarded after the send
        begin_stall();
        publish_stats();
        return false;
    }
    if (next_ - forwarded_ >= max_held) {
        ++stats_.recorder.overflow;
        if (const std::uint64_t n = overflow_log_.hit()) {
            spdlog::error(
                "recorder stalled with {} new messages waiting: dropped a broker event the "
                "journal will not have ({} in last 1s, {} in all)",
                next_ - forwarded_, n, stats_.recorder.overflow);
        }
        return false;
    }
    keep(next_++, topic, body, false);
    publish_stats();
    return false;
}

bool recorder::flush(const std::function<void(zmq::message_t&, zmq::message_t&)>& forward) {
    if (!stalled()) return true;
    for (std::size_t n = 0; n < flush_budget && cursor_ < next_; ++n) {
        entry& e = kept_[static_cast<std::size_t>(cursor_ - kept_.front().seq)];
        if (!try_send(e)) break;
        ++cursor_;
        if (e.seq >= forwarded_) {
            forwarded_ = e.seq + 1;
            topic_copy_.copy(e.topic);
            body_copy_.copy(e.body);
            forward(topic_copy_, body_copy_);
        }
    }
    trim();
    if (stalled()) return false;
    stats_.recorder.stalled_ms +=
        static_cast<std::uint64_t>(common::mono_ms() - stats_.recorder.stalled_since_ms);
    return true;
}

void recorder::trim() {
    while (!kept_.empty() && kept_.front().seq < cursor_) {
        const entry& e = kept_.front();
        if (e.seq > acked_) {
            if (kept_.size() <= retain_messages_ && kept_bytes_ <= retain_bytes_) break;
            ++stats_.recorder.evicted;
            if (const std::uint64_t n = evict_log_.hit()) {
                spdlog::warn(
                    "recorder link: evicted message {} the journal has not acknowledged "
                    "([recorder] retain_messages {}, retain_bytes {}); a journal resuming "
                    "before it will record a gap ({} in last 1s, {} in all)",
                    e.seq, retain_messages_, retain_bytes_, n, stats_.recorder.evicted);
            }
        }
        kept_bytes_ -= e.topic.size() + e.body.size();
        kept_.pop_front();
    }
    publish_stats();
}

void recorder::publish_stats() {
    recorder_counters& c = stats_.recorder;
    c.seq = next_ - 1;
    c.acked = acked_;
    c.held = next_ - cursor_;
    c.retained = kept_.size();
    c.retained_bytes = kept_bytes_;
}

std::string recorder::ack(std::uint64_t epoch, std::uint64_t seq) {
    if (epoch != epoch_) {
        return "epoch " + std::to_string(epoch) + " is not this broker's (" +
               std::to_string(epoch_) + "): resume in the current epoch";
    }
    if (seq > sent_upto_) {
        return "seq " + std::to_string(seq) + " was never sent (last sent " +
               std::to_string(sent_upto_) + ")";
    }
    if (seq <= acked_) return {};
    acked_ = seq;
    // The journal has them: nothing to send again (unless a message is half out on the socket).
    if (cursor_ <= seq && frames_sent_ == 0) cursor_ = seq + 1;
    const bool was_stalled = stalled();
    trim();
    if (was_stalled && !stalled()) {
        stats_.recorder.stalled_ms +=
            static_cast<std::uint64_t>(common::mono_ms() - stats_.recorder.stalled_since_ms);
    }
    return {};
}

std::variant<schema::recorder_resume_reply, std::string> recorder::resume(std::uint64_t epoch,
                                                                          std::uint64_t after) {
    if (epoch != epoch_) {
        return "epoch " + std::to_string(epoch) + " is not this broker's (" +
               std::to_string(epoch_) + "): resume in the current epoch";
    }
    if (after > sent_upto_) {
        return "after " + std::to_string(after) + " was never sent (last sent " +
               std::to_string(sent_upto_) + ")";
    }
    if (frames_sent_ != 0) return std::string("the link is in the middle of a message: retry");
    if (after > acked_) acked_ = after;
    const bool was_stalled = stalled();
    if (cursor_ > after + 1) cursor_ = after + 1;
    if (cursor_ > next_) cursor_ = next_;
    trim();  // forgets up to `after` (and what was acknowledged before)
    const std::uint64_t oldest = kept_.empty() ? next_ : kept_.front().seq;
    const std::uint64_t first = std::max(after + 1, oldest);
    cursor_ = std::max(cursor_, first);
    if (!was_stalled && stalled()) begin_stall();
    publish_stats();
    return schema::recorder_resume_reply{epoch_, first, first - (after + 1), next_};
}

}  // namespace tradebus::broker
