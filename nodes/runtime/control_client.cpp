#include "tradebus/runtime/control_client.hpp"

#include "tradebus/common/eintr.hpp"
#include "tradebus/common/process.hpp"

namespace tradebus::runtime {

control_client::control_client(zmq::context_t& ctx, std::string endpoint,
                               std::chrono::milliseconds timeout, common::curve_client curve)
    : ctx_(ctx), endpoint_(std::move(endpoint)), timeout_(timeout), curve_(std::move(curve)) {
    open();
}

void control_client::open() {
    socket_ = zmq::socket_t(ctx_, zmq::socket_type::req);
    socket_.set(zmq::sockopt::linger, 0);  // an abandoned request must not hold the process
    common::set_curve_client(socket_, curve_);
    socket_.connect(endpoint_);
    busy_ = false;
}

void control_client::send(const std::string& request, std::int64_t now_ms) {
    common::send_uninterrupted(socket_, zmq::buffer(request), zmq::send_flags::dontwait);
    busy_ = true;
    deadline_ms_ = now_ms + timeout_.count();
}

std::optional<std::string> control_client::receive() {
    zmq::message_t reply;
    if (!common::recv_uninterrupted(socket_, reply, zmq::recv_flags::dontwait)) return std::nullopt;
    // A REP/ROUTER reply is one frame; drain any further frames a broken peer might send.
    while (reply.more()) {
        zmq::message_t extra;
        if (!common::recv_uninterrupted(socket_, extra, zmq::recv_flags::dontwait)) break;
    }
    busy_ = false;
    return reply.to_string();
}

std::optional<std::vector<std::string>> control_client::receive_frames() {
    zmq::message_t part;
    if (!common::recv_uninterrupted(socket_, part, zmq::recv_flags::dontwait)) return std::nullopt;
    std::vector<std::string> frames;
    frames.push_back(part.to_string());
    while (part.more()) {
        if (!common::recv_uninterrupted(socket_, part, zmq::recv_flags::dontwait)) break;
        if (frames.size() < max_reply_frames) frames.push_back(part.to_string());
    }
    busy_ = false;
    return frames;
}

bool control_client::expire(std::int64_t now_ms) {
    if (!busy_ || now_ms < deadline_ms_) return false;
    socket_.close();
    open();
    return true;
}

std::optional<std::string> control_client::request(const std::string& request) {
    auto frames = request_frames(request);
    if (!frames) return std::nullopt;
    return std::move(frames->front());
}

std::optional<std::vector<std::string>> control_client::request_frames(const std::string& request) {
    if (busy_) {
        socket_.close();
        open();
    }
    send(request, common::mono_ms());
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, timeout_) > 0) {
        if (auto reply = receive_frames()) return reply;
    }
    socket_.close();
    open();
    return std::nullopt;
}

}  // namespace tradebus::runtime
