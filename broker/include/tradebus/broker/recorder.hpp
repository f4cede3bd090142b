// The lossless link to the journal (PROTOCOL.md "The recorder link", README "Failure
// behaviour"): an XPUB with ZMQ_XPUB_NODROP bound on its own endpoint ([endpoints] recorder).
// The forwarder offers every message it forwards, and every sys.* event the broker publishes,
// here first. Each gets the next recorder sequence number of this broker epoch and goes out as
// [topic][body][epoch, seq]. Every message the journal has not acknowledged (recorder_ack) is
// kept, up to [recorder] retain_messages / retain_bytes (the oldest sent one is evicted beyond,
// counted), so a journal that was down or restarting asks (recorder_resume) and gets them again,
// in order, before anything new.
// When the recorder's queue is full (EAGAIN), or a resume rewound the link, the unsent messages
// wait here and the broker stops reading XSUB, offering them again every
// defaults::recorder_retry_ms (an XPUB always polls writable, so POLLOUT cannot tell when its
// queue has room); a message goes on to XPUB once the recorder took it the first time. So
// nothing reaches XPUB that the recorder did not get, and a slow journal paces the bus.
// With no recorder subscribed a send matches no pipe and succeeds at once: nothing is gated,
// and what was sent stays retained for the journal's return.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <variant>
#include <zmq.hpp>

#include "tradebus/broker/data_stats.hpp"
#include "tradebus/common/process.hpp"
#include "tradebus/schema/control.hpp"

namespace tradebus::broker {

/// Bytes of the third frame: the broker epoch, then the recorder sequence number, each a
/// big-endian u64 (PROTOCOL.md "The recorder link").
inline constexpr std::size_t recorder_seq_frame_bytes = 16;

class recorder {
  public:
    /// `stats.recorder` is written by this object (loop thread only, THREADING.md). `epoch` is
    /// the broker's; sequence numbers start at 1. Sent messages the journal has not acknowledged
    /// are kept up to `retain_messages` and `retain_bytes` (topic + body bytes; 0 = none).
    recorder(zmq::context_t& ctx, int sndhwm, data_stats& stats, std::uint64_t epoch,
             std::size_t retain_messages, std::size_t retain_bytes);

    /// Binds `endpoint`. Throws zmq::error_t when it cannot.
    void bind(const std::string& endpoint);

    /// Offers [topic][body] as the next recorder message. True: the recorder has it (or no
    /// recorder is subscribed to it); the caller forwards its messages. False: the recorder's
    /// queue is full or earlier messages are still waiting; the messages were moved in here and
    /// `forward` of flush() sends them on later, or (a broker event while more than max_held
    /// new messages wait) it was dropped and counted as overflow. Never blocks.
    bool offer(zmq::message_t& topic, zmq::message_t& body);

    /// While stalled() the broker must not read XSUB and calls flush() every few ms.
    [[nodiscard]] bool stalled() const noexcept { return cursor_ < next_; }

    /// Sends waiting messages to the recorder, in order, at most `flush_budget` per call,
    /// calling `forward` for each one sent for the first time (a redelivered one reached XPUB
    /// before). Returns true when nothing waits any more.
    bool flush(const std::function<void(zmq::message_t&, zmq::message_t&)>& forward);

    /// recorder_ack: the journal wrote everything of `epoch` up to `seq`; those are forgotten.
    /// Returns the refusal reason (nothing changed) for another epoch or a `seq` never sent.
    [[nodiscard]] std::string ack(std::uint64_t epoch, std::uint64_t seq);

    /// recorder_resume: rewinds the link to the message after `after` (acknowledging `after`).
    /// Returns the reply (`first` the next message sent, `missing` how many after `after` were
    /// evicted), or the refusal reason (nothing changed) for another epoch or an `after` never
    /// sent.
    [[nodiscard]] std::variant<schema::recorder_resume_reply, std::string> resume(
        std::uint64_t epoch, std::uint64_t after);

    [[nodiscard]] zmq::socket_t& socket() noexcept { return socket_; }

    /// Most new messages (never sent yet) waiting at once: one forwarded message plus the
    /// broker's own events published during a stall; beyond it an own event is dropped and
    /// counted (overflow).
    static constexpr std::size_t max_held = 4096;
    /// Messages one flush() sends at most, so a long redelivery leaves the loop its turns.
    static constexpr std::size_t flush_budget = 4096;

  private:
    struct entry {
        std::uint64_t seq;
        zmq::message_t topic, body;
    };
    bool try_send(entry& e);
    void keep(std::uint64_t seq, zmq::message_t& topic, zmq::message_t& body, bool copy);
    void begin_stall();
    void trim();  // forgets acknowledged messages, evicts beyond the bounds
    void publish_stats();

    zmq::socket_t socket_;
    data_stats& stats_;
    std::uint64_t epoch_;
    std::size_t retain_messages_, retain_bytes_;
    // kept_: consecutive sequence numbers, oldest first; those >= cursor_ are not sent (yet, or
    // again after a resume) and are never evicted.
    std::deque<entry> kept_;
    std::size_t kept_bytes_ = 0;
    std::uint64_t next_ = 1;       // the sequence number of the next new message
    std::uint64_t cursor_ = 1;     // the next one to send on the socket
    std::uint64_t forwarded_ = 1;  // the first one not yet passed on to XPUB
    std::uint64_t sent_upto_ = 0;  // the highest ever sent
    std::uint64_t acked_ = 0;
    zmq::message_t topic_copy_, body_copy_;
    int frames_sent_ = 0;  // frames of the entry at cursor_ already out (a refusal mid-message)
    common::rate_limited overflow_log_, evict_log_;
};

}  // namespace tradebus::broker
