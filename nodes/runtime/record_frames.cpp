#include "tradebus/runtime/record_frames.hpp"

#include "tradebus/common/eintr.hpp"

namespace tradebus::runtime {

void send_records(zmq::socket_t& socket, std::string_view header,
                  const std::vector<record_pair>& records) {
    schema::write_frame_pairs(header, records, [&](std::string_view frame, bool more) {
        common::send_uninterrupted(socket, zmq::buffer(frame),
                                   more ? zmq::send_flags::sndmore | zmq::send_flags::dontwait
                                        : zmq::send_flags::dontwait);
    });
}

std::optional<record_reply> receive_records(zmq::socket_t& socket, std::string& why) {
    zmq::message_t frame;
    if (!common::recv_uninterrupted(socket, frame, zmq::recv_flags::dontwait)) {
        why = "no reply waiting";
        return std::nullopt;
    }
    std::vector<std::string> frames{frame.to_string()};
    while (frame.more()) {
        if (!common::recv_uninterrupted(socket, frame, zmq::recv_flags::dontwait)) break;
        frames.push_back(frame.to_string());
    }
    record_reply out;
    if (auto bad = schema::split_frame_pairs(frames, std::nullopt, out.records)) {
        why = std::move(*bad);
        return std::nullopt;
    }
    out.header = std::move(frames.front());
    return out;
}

}  // namespace tradebus::runtime
