// The control-plane client: a REQ socket used with the Lazy Pirate pattern (ZeroMQ Guide ch. 4).
// A request that gets no reply within the timeout is abandoned by closing and reopening the
// socket (a REQ socket cannot send twice in a row), so a lost reply or a dead broker never
// wedges the caller. Asynchronous: the engine polls socket() alongside its SUB socket, so the
// data plane keeps flowing while the broker is away.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "tradebus/common/curve.hpp"

namespace tradebus::runtime {

class control_client {
  public:
    /// `curve`: the keys for a CURVE broker (set on every socket it opens); empty = plaintext.
    control_client(zmq::context_t& ctx, std::string endpoint, std::chrono::milliseconds timeout,
                   common::curve_client curve = {});

    /// True while a request is in flight (waiting for a reply or for its deadline).
    [[nodiscard]] bool busy() const noexcept { return busy_; }
    /// Sends one request frame. Precondition: !busy().
    void send(const std::string& request, std::int64_t now_ms);
    /// The socket to poll for a reply while busy().
    [[nodiscard]] zmq::socket_t& socket() noexcept { return socket_; }
    /// Reads the reply once socket() is readable; nullopt if nothing was there after all.
    std::optional<std::string> receive();
    /// As receive(), keeping every frame of a multipart reply (snapshot_ok + its pairs); at
    /// most max_reply_frames are kept, further ones are read and discarded.
    std::optional<std::vector<std::string>> receive_frames();
    static constexpr std::size_t max_reply_frames = 4096;

    /// When the deadline has passed: resets the socket (Lazy Pirate) and returns true.
    bool expire(std::int64_t now_ms);
    [[nodiscard]] std::int64_t deadline_ms() const noexcept { return deadline_ms_; }
    [[nodiscard]] const std::string& endpoint() const noexcept { return endpoint_; }

    /// Blocking convenience for one-shot callers (CLI, shutdown): send, wait up to the timeout,
    /// reset on timeout. Returns the reply or nullopt.
    std::optional<std::string> request(const std::string& request);
    /// As request(), for a multipart reply: every frame.
    std::optional<std::vector<std::string>> request_frames(const std::string& request);

  private:
    void open();

    zmq::context_t& ctx_;
    std::string endpoint_;
    std::chrono::milliseconds timeout_;
    common::curve_client curve_;
    zmq::socket_t socket_;
    bool busy_ = false;
    std::int64_t deadline_ms_ = 0;
};

}  // namespace tradebus::runtime
