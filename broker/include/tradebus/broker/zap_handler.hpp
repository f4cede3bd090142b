// The broker's ZAP handler (RFC 27): with CURVE on, libzmq asks inproc://zeromq.zap.01 about
// every handshake on the broker's sockets and waits for the answer in its I/O thread. A REP
// socket bound there, polled by the broker's one loop thread like the others (THREADING.md: no
// extra thread), answers 200 with User-Id = the client's node name for a key listed in
// [[security.client]], and 400 for any other key (counted as drop reason `unknown_key` and
// logged at most once a second with the key's public part, which is not a secret).
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "tradebus/broker/data_stats.hpp"
#include "tradebus/broker/security.hpp"
#include "tradebus/common/process.hpp"

namespace tradebus::broker {

inline constexpr const char* zap_endpoint = "inproc://zeromq.zap.01";

class zap_handler {
  public:
    /// Binds the ZAP endpoint on `ctx`: do this before binding any CURVE socket, or their first
    /// handshakes find no handler and fail. `cfg` and `stats` must outlive the handler.
    zap_handler(zmq::context_t& ctx, const security_config& cfg, data_stats& stats);

    [[nodiscard]] zmq::socket_t& socket() noexcept { return socket_; }

    /// Answers up to `budget` pending ZAP requests. Returns how many were answered.
    std::size_t drain(std::size_t budget);

  private:
    struct verdict {
        std::string status_code, status_text, user_id;
    };
    /// The answer for one request's frames; counts and logs a refused key.
    [[nodiscard]] verdict judge(const std::vector<zmq::message_t>& request);

    zmq::socket_t socket_;
    data_stats& stats_;
    std::map<common::curve_key_bytes, const client_rule*> by_key_;
    std::vector<zmq::message_t> frames_;
    common::rate_limited refused_log_;
};

}  // namespace tradebus::broker
