// The lossless link to the journal (PROTOCOL.md "Broker behaviour", README "Failure
// behaviour"): an XPUB with ZMQ_XPUB_NODROP bound on its own endpoint ([endpoints] recorder).
// The forwarder offers every message it forwards, and every sys.* event the broker publishes,
// here first. When the recorder's queue is full (EAGAIN) the message is held here, in order,
// and the broker stops reading XSUB, offering the held message again every
// defaults::recorder_retry_ms (an XPUB always polls writable, so POLLOUT cannot tell when its
// queue has room) until the recorder takes it; then the held messages go on to XPUB. So nothing
// reaches XPUB that the recorder did not get, and a slow journal paces the bus (publishers' PUB
// high-water marks then drop, which every subscriber, the journal included, sees as sequence gaps).
// With no recorder subscribed a send matches no pipe and succeeds at once: nothing is gated.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <utility>
#include <zmq.hpp>

#include "tradebus/broker/data_stats.hpp"
#include "tradebus/common/process.hpp"

namespace tradebus::broker {

class recorder {
  public:
    /// `stats.recorder` is written by this object (loop thread only, THREADING.md).
    recorder(zmq::context_t& ctx, int sndhwm, data_stats& stats);

    /// Binds `endpoint`. Throws zmq::error_t when it cannot.
    void bind(const std::string& endpoint);

    /// Offers [topic][body]. True: the recorder has it (or no recorder is subscribed to it);
    /// the caller forwards its messages. False: the recorder's queue is full or earlier
    /// messages are still held; the messages were moved into the hold queue and `forward` of
    /// flush() sends them on later. Never blocks.
    bool offer(zmq::message_t& topic, zmq::message_t& body);

    /// While stalled() the broker must not read XSUB and calls flush() every few ms.
    [[nodiscard]] bool stalled() const noexcept { return !held_.empty(); }

    /// Sends held messages to the recorder, in order, calling `forward` for each one it took.
    /// Returns true when nothing is held any more.
    bool flush(const std::function<void(zmq::message_t&, zmq::message_t&)>& forward);

    [[nodiscard]] zmq::socket_t& socket() noexcept { return socket_; }

    /// Most messages held at once (one forwarded message plus the broker's own events
    /// published during a stall); beyond it an own event is dropped and counted (overflow).
    static constexpr std::size_t max_held = 4096;

  private:
    bool try_send(zmq::message_t& topic, zmq::message_t& body);
    void hold(zmq::message_t& topic, zmq::message_t& body);

    zmq::socket_t socket_;
    data_stats& stats_;
    std::deque<std::pair<zmq::message_t, zmq::message_t>> held_;
    zmq::message_t topic_copy_, body_copy_;
    bool topic_sent_ = false;  // the head's topic frame went out, its body did not yet
    common::rate_limited overflow_log_;
};

}  // namespace tradebus::broker
