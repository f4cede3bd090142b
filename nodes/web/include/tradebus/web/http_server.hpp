// The web node's HTTP server: a non-blocking TCP listener and its connections, polled by the
// node runtime's one loop (runtime::context::watch_fd; no thread). One request per connection
// (Connection: close): a plain answer is written and the connection closed; an event stream
// (Server-Sent Events) stays open and gets every frame broadcast() sends.
//
// Bounded so a slow or hostile client costs the node a few kilobytes and never a stall:
// - at most http_limits::max_clients open connections: a new one beyond that takes the slot of
//   a connection already answered (waiting for its client's close), else of the oldest one
//   still sending its request (slowloris loses its slot to a live browser), or gets 503 and is
//   closed when every open connection is an event stream or an answer being written;
// - http_limits::max_request_bytes per request head (431), max_body_bytes per body (413; a
//   body needs a Content-Length) and request_timeout_ms to send both (408); bytes after the
//   body are ignored;
// - an answer the handler gives later (deferred: it waits for the broker) is given within
//   answer_timeout_ms, else the client gets 504;
// - writes go out as the client takes them (POLLOUT), at most write_budget_bytes per loop turn
//   and connection; an answer not taken within write_timeout_ms is abandoned;
// - a stream client still holding unsent frames when the next one would take it beyond
//   client_buffer_bytes is dropped (it reconnects and gets the whole state again) rather than
//   buffered without limit; one that took everything always gets the next frame.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "tradebus/common/http.hpp"
#include "tradebus/common/process.hpp"
#include "tradebus/runtime/node.hpp"

namespace tradebus::web {

struct http_limits {
    std::size_t max_clients = 16;
    std::size_t client_buffer_bytes = 1 << 20;
    std::size_t max_request_bytes = 8192;
    std::size_t max_body_bytes = 4096;       // a form of an operator action is a few hundred bytes
    std::int64_t answer_timeout_ms = 15000;  // a deferred answer, at most
    std::int64_t request_timeout_ms = 5000;
    std::int64_t write_timeout_ms = 10000;
    std::int64_t close_wait_ms = 1000;  // after the answer: wait this long for the client's close
    std::size_t write_budget_bytes = 256 * 1024;
};

/// What the handler answers: a complete response, or (stream) the head of an event stream
/// whose body so far is `body` (the first frames), or (deferred) nothing yet: the handler
/// gives the answer later with http_server::answer_later and the request's ticket.
struct http_answer {
    int code = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
    bool stream = false;
    std::string extra_headers;  // whole lines, each ending in \r\n
    bool deferred = false;
};

/// Counters, for the log and the tests.
struct http_stats {
    std::uint64_t answered = 0;      // complete answers written in full
    std::uint64_t streams = 0;       // event streams opened
    std::uint64_t refused = 0;       // 503: max_clients, every one answered
    std::uint64_t evicted = 0;       // closed while sending its request, for a newer client
    std::uint64_t slow_dropped = 0;  // stream clients over client_buffer_bytes
    std::uint64_t bad_requests = 0;  // every answer with a code of 400 or above
    std::uint64_t late = 0;          // deferred answers not given in time (504)
    std::uint64_t unfinished = 0;    // went away (or stopped reading) before its answer
};

class http_server {
  public:
    /// Answers one parsed request (its body read in full); `ticket` names it for answer_later.
    /// Runs on the node's thread.
    using handler = std::function<http_answer(const common::http::request&, std::uint64_t ticket)>;

    http_server(http_limits limits, handler on_request);
    ~http_server();
    http_server(const http_server&) = delete;
    http_server& operator=(const http_server&) = delete;

    /// Listens on `endpoint` (tcp://host:port) and watches it through `ctx`; false with
    /// `error` when it cannot bind.
    bool start(runtime::context& ctx, const std::string& endpoint, std::string& error);
    /// Unwatches and closes every descriptor: call it while the context lives (on_stop); the
    /// destructor only closes them.
    void stop();

    /// Queues `frame` for every open event stream (shared, not copied per client), dropping a
    /// client still behind whose unsent bytes would pass client_buffer_bytes.
    void broadcast(const std::shared_ptr<const std::string>& frame);
    /// Gives the answer to the request `ticket` the handler deferred. False when there is
    /// nobody to give it to (the client went away, or got 504 already).
    bool answer_later(std::uint64_t ticket, http_answer answer);
    /// Closes connections whose deadline passed (408 to a request not complete in time, 504 to
    /// one whose deferred answer did not come).
    void run_timers(std::int64_t now_ms);

    [[nodiscard]] std::size_t streams() const noexcept;
    [[nodiscard]] std::size_t connections() const noexcept { return conns_.size(); }
    [[nodiscard]] const http_stats& stats() const noexcept { return stats_; }

  private:
    enum class state { reading, waiting, writing, streaming, closing };
    struct connection {
        int fd = -1;
        state st = state::reading;
        std::string request;         // the head, then the body
        std::size_t head_bytes = 0;  // 0 until the head is complete
        std::size_t body_bytes = 0;  // its Content-Length
        std::uint64_t ticket = 0;    // the request's, while its answer is deferred
        std::deque<std::shared_ptr<const std::string>> out;  // unsent, front partly sent
        std::size_t front_sent = 0;
        std::size_t pending = 0;   // unsent bytes in `out`
        short watched = -1;        // events asked of the loop (-1: not watched yet)
        bool peer_closed = false;  // the client shut down its side after its request
        std::int64_t opened_ms = 0, deadline_ms = 0;
    };
    void on_listener();
    void on_ready(int fd, short revents);
    void on_readable(connection& c);
    /// Looks for the end of the head in what was read: false when the request was answered
    /// (431, 400, 413) or the connection closed; true otherwise (head_bytes set once found).
    bool on_head(connection& c);
    void on_request(connection& c);
    void respond(connection& c, http_answer a, bool head_only);
    void answer_error(connection& c, int code, std::string_view reason, std::string_view body);
    void queue(connection& c, std::shared_ptr<const std::string> bytes);
    /// Writes what it can; false when the connection was closed.
    bool flush(connection& c);
    void rewatch(connection& c);
    void close(int fd);
    [[nodiscard]] std::int64_t now_ms() const;

    http_limits limits_;
    handler on_request_;
    runtime::context* ctx_ = nullptr;
    int listener_ = -1;
    std::uint64_t tickets_ = 0;
    std::unordered_map<int, connection> conns_;
    http_stats stats_;
    common::rate_limited warn_;
};

}  // namespace tradebus::web
