// The metrics HTTP endpoint: a plain non-blocking TCP listener and its connections, polled by
// the broker's one loop thread with its ZeroMQ sockets (zmq_poll takes raw file descriptors;
// THREADING.md: no thread, no lock). HTTP/1.0 style: read one request per connection, answer,
// close. GET (or HEAD) /metrics gets 200 with the exposition text; GET (or HEAD) /health gets
// 200 or 503 with a small JSON body (render_health, README "Health check"); any other path 404.
//
// Bounded so a slow or hostile client costs the broker a few kilobytes and never a stall:
// - at most defaults::metrics_max_connections open connections; a new one beyond that evicts
//   the oldest connection still sending its request (a slow client loses its slot to a live
//   scraper, whose request arrives at once), or is closed at once when every open connection
//   already has its answer;
// - defaults::metrics_max_request_bytes per request (431) and
//   defaults::metrics_request_timeout_ms to send it (408);
// - the answer is written as the client takes it (POLLOUT), never blocking; one that is not
//   taken within defaults::metrics_write_timeout_ms is abandoned and counted as unfinished;
// - the exposition text is rendered in slices of defaults::metrics_render_rows rows per loop
//   turn (metrics_render), so a scrape of a huge topic table never holds the loop.
// Answers are counted by code once written in full; a client that closes before reading its
// answer is counted as unfinished. A client may half-close (shut down its sending side) after
// its request: the answer is still written. After the answer the broker shuts down its sending
// side and closes once the client has closed (or after defaults::metrics_close_wait_ms).
#pragma once

#include <zmq.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tradebus/broker/metrics.hpp"
#include "tradebus/common/process.hpp"

namespace tradebus::broker {

class metrics_http {
  public:
    /// `listen` is "tcp://host:port" (host may be "*", an IPv4 address, a name or [IPv6]).
    /// `src` is what a 200 answer renders; it must outlive the endpoint.
    metrics_http(std::string listen, const metrics_sources& src);
    ~metrics_http();
    metrics_http(const metrics_http&) = delete;
    metrics_http& operator=(const metrics_http&) = delete;

    /// Binds and listens; false (logged) when it cannot.
    bool bind();

    /// Appends the descriptors to poll this turn (the listener, then each connection).
    void poll_items(std::vector<zmq_pollitem_t>& items) const;
    /// Handles what the poll found on the items poll_items() appended (in the same order):
    /// accepts, reads requests, writes answers.
    void handle(const zmq_pollitem_t* items, std::size_t n, std::int64_t now_ms);
    /// Renders one slice of a pending scrape; closes connections whose deadline passed.
    void run_timers(std::int64_t now_ms);
    /// When run_timers next has work (mono ms; `now` while a scrape is being rendered), or
    /// no_deadline.
    [[nodiscard]] std::int64_t next_deadline(std::int64_t now_ms) const noexcept;

    [[nodiscard]] const metrics_http_stats& stats() const noexcept { return stats_; }

  private:
    enum class state { reading, rendering, writing, closing };
    struct connection {
        int fd = -1;
        state st = state::reading;
        std::string request;
        std::string head;                         // status line + headers
        std::shared_ptr<const std::string> body;  // null: no body (HEAD, errors in head)
        std::size_t written = 0;                  // bytes of head + body written
        int code = 0;                             // of the answer being written
        bool peer_closed = false;                 // read returned 0 (the client half-closed)
        std::int64_t opened_ms = 0;
        std::int64_t deadline_ms = 0;
    };
    void accept_all(std::int64_t now_ms);
    void on_readable(connection& c, std::int64_t now_ms);
    void on_request(connection& c, std::int64_t now_ms);
    void answer(connection& c, int code, std::string_view reason, std::string_view body,
                std::int64_t now_ms);
    void start_writing(connection& c, int code, std::string_view reason,
                       std::shared_ptr<const std::string> body, std::size_t length,
                       std::int64_t now_ms, std::string_view content_type);
    void on_writable(connection& c, std::int64_t now_ms);
    void finish(connection& c, std::int64_t now_ms);
    void close(int fd);
    void count(int code);

    std::string listen_;
    int listener_ = -1;
    metrics_sources src_;  // what /health reads
    metrics_render render_;
    std::deque<int> waiting_;  // connections (fds) waiting for the render in progress
    std::unordered_map<int, connection> connections_;  // by fd
    metrics_http_stats stats_;
    common::rate_limited warn_;
};

}  // namespace tradebus::broker
