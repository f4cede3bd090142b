#include "tradebus/runtime/record_frames.hpp"

#include "tradebus/common/eintr.hpp"

namespace tradebus::runtime {

void send_records(zmq::socket_t& socket, std::string_view header,
                  const std::vector<record_pair>& records) {
    const auto more = zmq::send_flags::sndmore | zmq::send_flags::dontwait;
    common::send_uninterrupted(socket, zmq::buffer(header),
                               records.empty() ? zmq::send_flags::dontwait : more);
    for (std::size_t i = 0; i < records.size(); ++i) {
        common::send_uninterrupted(socket, zmq::buffer(records[i].topic), more);
        common::send_uninterrupted(socket, zmq::buffer(records[i].body),
                                   i + 1 == records.size() ? zmq::send_flags::dontwait : more);
    }
}

std::optional<record_reply> receive_records(zmq::socket_t& socket, std::string& why) {
    zmq::message_t frame;
    if (!common::recv_uninterrupted(socket, frame, zmq::recv_flags::dontwait)) {
        why = "no reply waiting";
        return std::nullopt;
    }
    record_reply out;
    out.header = frame.to_string();
    std::size_t frames = 1;
    std::optional<std::string> topic;
    while (frame.more()) {
        if (!common::recv_uninterrupted(socket, frame, zmq::recv_flags::dontwait)) break;
        ++frames;
        if (topic) {
            out.records.push_back({std::move(*topic), frame.to_string()});
            topic.reset();
        } else {
            topic = frame.to_string();
        }
    }
    if (topic) {
        why =
            "expected a header and [topic][body] pairs, got " + std::to_string(frames) + " frames";
        return std::nullopt;
    }
    return out;
}

}  // namespace tradebus::runtime
