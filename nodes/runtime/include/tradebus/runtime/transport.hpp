// A node's data plane behind an interface the engine owns (ARCHITECTURE.md "Node session"):
// the engine hands a transport encoded events to publish and gets what arrived through a sink;
// neither it nor the logic touches a data-plane socket. zmq_transport is the live one: a PUB
// socket to the broker's XSUB and a SUB socket from its XPUB (or from the recorder link), with
// the frame rules of PROTOCOL.md "Data plane frames" checked as messages are read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <zmq.hpp>

#include "tradebus/common/curve.hpp"

namespace tradebus::runtime {

/// What a transport hands inbound messages to (the engine).
class transport_sink {
  public:
    virtual ~transport_sink() = default;
    /// One message: its topic and msgpack body, exactly as received.
    virtual void on_message(std::string_view topic, std::string_view raw) = 0;
    /// A message that breaks the frame rules: `why` says how. `to_logic`: the bytes may be
    /// shown to the logic (node_logic::on_undecodable); false on the recorder link, where a
    /// message without its position is never the logic's.
    virtual void on_malformed(std::string_view topic, std::string_view raw, const std::string& why,
                              bool to_logic) = 0;
    /// Only on the recorder link, right before on_message: the message's position (broker
    /// epoch, recorder sequence number). False: drop the message.
    virtual bool on_link_position(std::uint64_t epoch, std::uint64_t seq) = 0;
};

class transport {
  public:
    virtual ~transport() = default;
    /// Receives topics starting with `prefix` from now on ("" = everything).
    virtual void subscribe(std::string_view prefix) = 0;
    /// Publishes one encoded event on `topic`. Never blocks; false when it could not go out
    /// (not connected yet). At the high-water mark ZeroMQ drops silently: subscribers see the
    /// sequence gap.
    virtual bool send(std::string_view topic, std::string_view body) = 0;
    /// Hands at most `budget` waiting messages to `sink`, without waiting; returns how many.
    virtual std::size_t drain(transport_sink& sink, std::size_t budget) = 0;
};

/// The live data plane over ZeroMQ.
class zmq_transport final : public transport {
  public:
    struct options {
        std::int64_t sndhwm = 0, rcvhwm = 0;
        common::curve_client curve = {};  // empty: plaintext
        /// The SUB reads the broker's recorder link: every message has a third frame, its
        /// 16-byte position (big-endian epoch and sequence number).
        bool recorder_link = false;
    };
    zmq_transport(zmq::context_t& ctx, const options& opts);

    /// Connects the PUB to `xsub` and the SUB to `from` (the broker's XPUB or the recorder
    /// link); once: later calls change nothing and return false.
    bool connect(const std::string& xsub, const std::string& from);
    [[nodiscard]] bool connected() const noexcept { return connected_; }
    /// The socket to poll for inbound messages.
    [[nodiscard]] zmq::socket_t& inbound_socket() noexcept { return sub_; }

    void subscribe(std::string_view prefix) override;
    bool send(std::string_view topic, std::string_view body) override;
    std::size_t drain(transport_sink& sink, std::size_t budget) override;

    /// The size of the recorder link's third frame.
    static constexpr std::size_t link_position_bytes = 16;

  private:
    zmq::socket_t pub_, sub_;
    bool recorder_link_;
    bool connected_ = false;
};

}  // namespace tradebus::runtime
