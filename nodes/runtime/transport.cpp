#include "tradebus/runtime/transport.hpp"

#include "tradebus/common/eintr.hpp"

namespace tradebus::runtime {

zmq_transport::zmq_transport(zmq::context_t& ctx, const options& opts)
    : pub_(ctx, zmq::socket_type::pub),
      sub_(ctx, zmq::socket_type::sub),
      recorder_link_(opts.recorder_link) {
    common::set_curve_client(pub_, opts.curve);
    common::set_curve_client(sub_, opts.curve);
    pub_.set(zmq::sockopt::sndhwm, static_cast<int>(opts.sndhwm));
    pub_.set(zmq::sockopt::linger, 500);  // flush what we published, but never hang on exit
    sub_.set(zmq::sockopt::rcvhwm, static_cast<int>(opts.rcvhwm));
    sub_.set(zmq::sockopt::linger, 0);
}

bool zmq_transport::connect(const std::string& xsub, const std::string& from) {
    if (connected_) return false;
    pub_.connect(xsub);
    sub_.connect(from);
    connected_ = true;
    return true;
}

void zmq_transport::subscribe(std::string_view prefix) {
    sub_.set(zmq::sockopt::subscribe, prefix);
}

bool zmq_transport::send(std::string_view topic, std::string_view body) {
    if (!connected_) return false;
    // PUB never blocks: at the high-water mark libzmq drops, subscribers see the gap.
    common::send_uninterrupted(pub_, zmq::buffer(topic),
                               zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    common::send_uninterrupted(pub_, zmq::buffer(body), zmq::send_flags::dontwait);
    return true;
}

std::size_t zmq_transport::drain(transport_sink& sink, std::size_t budget) {
    std::size_t k = 0;
    for (; k < budget; ++k) {
        zmq::message_t topic;
        if (!common::recv_uninterrupted(sub_, topic, zmq::recv_flags::dontwait)) break;
        if (!topic.more()) {
            sink.on_malformed(topic.to_string_view(), "", "expected 2 frames, got 1", true);
            continue;
        }
        zmq::message_t body;
        if (!common::recv_uninterrupted(sub_, body, zmq::recv_flags::dontwait)) break;
        std::size_t extra = 0;
        zmq::message_t more;
        while ((extra == 0 ? body : more).more()) {  // drain any surplus frames
            if (!common::recv_uninterrupted(sub_, more, zmq::recv_flags::dontwait)) break;
            ++extra;
        }
        // The recorder link: [topic][body][epoch, seq] (PROTOCOL.md "The recorder link"). A
        // message without a valid third frame there never reaches the logic: the journal's
        // position in the link counts what it stores.
        if (recorder_link_) {
            if (extra != 1 || more.size() != link_position_bytes) {
                sink.on_malformed(
                    topic.to_string_view(), body.to_string_view(),
                    "expected 3 frames [topic][body][16-byte epoch+seq] on the "
                    "recorder link, got " +
                        std::to_string(extra + 2) +
                        (extra == 1 ? " with a " + std::to_string(more.size()) + "-byte third frame"
                                    : std::string()),
                    false);
                continue;
            }
            const auto* b = more.data<unsigned char>();
            std::uint64_t epoch = 0, seq = 0;
            for (std::size_t i = 0; i < 8; ++i) {
                epoch = epoch << 8 | static_cast<std::uint64_t>(b[i]);
                seq = seq << 8 | static_cast<std::uint64_t>(b[8 + i]);
            }
            if (!sink.on_link_position(epoch, seq)) continue;
        } else if (extra > 0) {
            sink.on_malformed(topic.to_string_view(), body.to_string_view(),
                              "expected 2 frames, got " + std::to_string(extra + 2), true);
            continue;
        }
        sink.on_message(topic.to_string_view(), body.to_string_view());
    }
    return k;
}

}  // namespace tradebus::runtime
