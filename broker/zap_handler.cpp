#include "tradebus/broker/zap_handler.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace tradebus::broker {

namespace {

// Request frames (RFC 27): version, request id, domain, address, routing id, mechanism, then
// the mechanism's credentials (CURVE: one frame, the client's 32-byte public key).
constexpr std::size_t version_frame = 0, request_id_frame = 1, address_frame = 3,
                      mechanism_frame = 5, credentials_frame = 6;
constexpr std::size_t max_frames = 16;  // more is not a ZAP request: read and discard

}  // namespace

zap_handler::zap_handler(zmq::context_t& ctx, const security_config& cfg, data_stats& stats)
    : socket_(ctx, zmq::socket_type::rep), stats_(stats) {
    for (const auto& c : cfg.clients) by_key_.emplace(c.key, &c);
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind(zap_endpoint);
}

zap_handler::verdict zap_handler::judge(const std::vector<zmq::message_t>& req) {
    if (req.size() <= credentials_frame || req[version_frame].to_string_view() != "1.0") {
        return {"500", "malformed ZAP request", ""};
    }
    const std::string_view mechanism = req[mechanism_frame].to_string_view();
    if (mechanism != "CURVE") {
        return {"400", "mechanism " + std::string(mechanism) + " not accepted: CURVE only", ""};
    }
    const zmq::message_t& cred = req[credentials_frame];
    if (cred.size() != 32) return {"500", "malformed CURVE credentials", ""};
    common::curve_key_bytes key{};
    std::copy_n(cred.data<std::uint8_t>(), 32, key.begin());
    if (auto it = by_key_.find(key); it != by_key_.end()) {
        spdlog::debug("CURVE client {} authenticated from {}", it->second->name,
                      req[address_frame].to_string_view());
        return {"200", "OK", it->second->name};
    }
    stats_.drop(drop_reason::unknown_key);
    if (const std::uint64_t n = refused_log_.hit()) {
        spdlog::warn(
            "refused CURVE client from {}: public key {} is not in [[security.client]] ({} "
            "refused in last 1s, {} in all) [unknown_key]",
            req[address_frame].to_string_view(), common::z85_encode_key(key.data()), n,
            stats_.dropped(drop_reason::unknown_key));
    }
    return {"400", "unknown key", ""};
}

std::size_t zap_handler::drain(std::size_t budget) {
    std::size_t n = 0;
    for (; n < budget; ++n) {
        frames_.clear();
        zmq::message_t first;
        if (!socket_.recv(first, zmq::recv_flags::dontwait)) break;
        bool more = first.more();
        frames_.push_back(std::move(first));
        while (more) {
            zmq::message_t part;
            (void)socket_.recv(part, zmq::recv_flags::none);
            more = part.more();
            if (frames_.size() < max_frames) frames_.push_back(std::move(part));
        }
        const verdict v = judge(frames_);
        const std::string request_id =
            frames_.size() > request_id_frame ? frames_[request_id_frame].to_string() : "";
        // Reply frames: version, request id, status code, status text, user id, metadata.
        const std::string parts[] = {"1.0", request_id, v.status_code, v.status_text, v.user_id};
        for (const auto& p : parts) socket_.send(zmq::buffer(p), zmq::send_flags::sndmore);
        socket_.send(zmq::message_t{}, zmq::send_flags::none);
    }
    return n;
}

}  // namespace tradebus::broker
