// The metrics HTTP endpoint: a ZMQ_STREAM socket (raw TCP) polled by the broker's one loop
// thread like its other sockets (THREADING.md: no thread, no lock). HTTP/1.0 style: read one
// request per connection, answer, close. GET (or HEAD) /metrics gets 200 with the exposition
// text, any other path 404. Bounded: at most defaults::metrics_max_connections open
// connections (a further one is closed at once), defaults::metrics_max_request_bytes per
// request (431, then closed), and defaults::metrics_request_timeout_ms to send it (408, then
// closed), so a slow or hostile client costs the broker a few kilobytes and never a stall.
// Every send is non-blocking; a client that does not read its answer loses it.
// A 200 answer with a body is not followed by an immediate close: libzmq drops what its engine
// has not written yet when a STREAM connection is closed (libzmq issue #4763), so the client
// closes once it has Content-Length bytes (curl and Prometheus do), or the broker closes after
// defaults::metrics_linger_ms. Short answers (errors, HEAD) fit the kernel's socket buffer and
// are closed at once.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <zmq.hpp>

#include "tradebus/broker/metrics.hpp"
#include "tradebus/common/process.hpp"

namespace tradebus::broker {

class metrics_http {
  public:
    /// `render` fills the body of a 200 answer; it runs on the caller's (loop) thread.
    using renderer = std::function<void(std::string& body)>;

    metrics_http(zmq::context_t& ctx, std::string listen, renderer render);

    /// Binds the listen address; false (logged) when it cannot be bound.
    bool bind();

    /// The socket to poll for ZMQ_POLLIN.
    [[nodiscard]] void* handle() noexcept { return socket_.handle(); }

    /// Reads up to `budget` frames: new connections, request bytes, disconnects; answers each
    /// complete request at once.
    void drain(std::size_t budget, std::int64_t now_ms);

    /// Closes connections whose request did not arrive in time (408).
    void run_timers(std::int64_t now_ms);
    /// When run_timers next has work (mono ms), or no_deadline.
    [[nodiscard]] std::int64_t next_deadline() const noexcept;

    [[nodiscard]] const metrics_http_stats& stats() const noexcept { return stats_; }

  private:
    struct connection {
        std::string request;
        std::int64_t deadline_ms = 0;  // request timeout, then (answered) the close deadline
        bool answered = false;
    };
    void on_data(const std::string& id, std::string_view data, std::int64_t now_ms);
    void respond(const std::string& id, std::string_view request, std::int64_t now_ms);
    void answer(const std::string& id, int code, std::string_view reason, std::string_view body,
                bool head = false, std::int64_t now_ms = 0);
    void close(const std::string& id);

    std::string listen_;
    renderer render_;
    zmq::socket_t socket_;
    std::unordered_map<std::string, connection> connections_;  // by STREAM routing id
    metrics_http_stats stats_;
    std::string body_, head_;
    common::rate_limited warn_;
};

}  // namespace tradebus::broker
