#include "tradebus/broker/metrics_http.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "tradebus/broker/defaults.hpp"
#include "tradebus/broker/node_table.hpp"

namespace tradebus::broker {

namespace {

constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";
constexpr std::string_view json_type = "application/json";
constexpr std::string_view text_type = "text/plain; charset=utf-8";

// The end of the request head (request line + headers), or npos while incomplete.
std::size_t head_end(std::string_view r) {
    const std::size_t crlf = r.find("\r\n\r\n");
    const std::size_t lf = r.find("\n\n");
    return std::min(crlf == std::string_view::npos ? crlf : crlf + 4,
                    lf == std::string_view::npos ? lf : lf + 2);
}

bool set_nonblocking(int fd) {
    const int flags = ::fcntl(fd, F_GETFL, 0);
    return flags >= 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

metrics_sources with_http(metrics_sources src, const metrics_http_stats* http) {
    src.http = http;
    return src;
}

}  // namespace

metrics_http::metrics_http(std::string listen, const metrics_sources& src)
    : listen_(std::move(listen)), src_(src), render_(with_http(src, &stats_)) {}

metrics_http::~metrics_http() {
    for (const auto& [fd, c] : connections_) ::close(fd);
    if (listener_ >= 0) ::close(listener_);
}

bool metrics_http::bind() {
    // tcp://host:port, checked by the config loader (config.cpp load_metrics).
    const std::string addr = listen_.substr(6);
    const std::size_t colon = addr.rfind(':');
    std::string host = addr.substr(0, colon);
    const std::string port = addr.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    addrinfo* found = nullptr;
    const int rc =
        ::getaddrinfo(host == "*" ? nullptr : host.c_str(), port.c_str(), &hints, &found);
    if (rc != 0) {
        spdlog::error("cannot bind metrics endpoint {}: {}; not starting", listen_,
                      ::gai_strerror(rc));
        return false;
    }
    int err = 0;
    for (const addrinfo* a = found; a != nullptr && listener_ < 0; a = a->ai_next) {
        const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        const int one = 1;
        (void)::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, 128) != 0 ||
            !set_nonblocking(fd)) {
            err = errno;
            ::close(fd);
            continue;
        }
        listener_ = fd;
    }
    ::freeaddrinfo(found);
    if (listener_ < 0) {
        spdlog::error("cannot bind metrics endpoint {}: {}; not starting", listen_,
                      std::strerror(err));
        return false;
    }
    return true;
}

void metrics_http::poll_items(std::vector<zmq_pollitem_t>& items) const {
    if (listener_ < 0) return;
    items.push_back({nullptr, listener_, ZMQ_POLLIN, 0});
    for (const auto& [fd, c] : connections_) {
        short events = 0;
        if (!c.peer_closed && c.st != state::writing) events |= ZMQ_POLLIN;
        if (c.st == state::writing) events |= ZMQ_POLLOUT;
        items.push_back({nullptr, fd, events, 0});
    }
}

void metrics_http::handle(const zmq_pollitem_t* items, std::size_t n, std::int64_t now_ms) {
    if (n == 0) return;
    for (std::size_t i = 1; i < n; ++i) {
        if (items[i].revents == 0) continue;
        auto it = connections_.find(items[i].fd);
        if (it == connections_.end()) continue;  // closed earlier in this turn
        connection& c = it->second;
        if ((items[i].revents & ZMQ_POLLOUT) != 0 && c.st == state::writing) {
            on_writable(c, now_ms);
        } else if ((items[i].revents & (ZMQ_POLLIN | ZMQ_POLLERR)) != 0) {
            on_readable(c, now_ms);
        }
    }
    // New connections last: an eviction never closes a descriptor still listed in `items`
    // before its events were handled.
    if ((items[0].revents & ZMQ_POLLIN) != 0) accept_all(now_ms);
}

void metrics_http::accept_all(std::int64_t now_ms) {
    for (std::size_t n = 0; n < defaults::control_drain_budget; ++n) {
        const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;  // EAGAIN: none left (or a transient error: next poll)
        if (connections_.size() >= defaults::metrics_max_connections) {
            // Make room: the oldest connection still sending its request (a live scraper
            // sends it at once; only a slow or idle client is that old).
            auto victim = connections_.end();
            for (auto it = connections_.begin(); it != connections_.end(); ++it) {
                if (it->second.st != state::reading) continue;
                if (victim == connections_.end() ||
                    it->second.opened_ms < victim->second.opened_ms) {
                    victim = it;
                }
            }
            if (victim == connections_.end()) {
                ++stats_.too_many_connections;
                if (const std::uint64_t k = warn_.hit()) {
                    spdlog::warn(
                        "metrics: refused connection, {} open already, all answered ({} "
                        "refused in last 1s)",
                        connections_.size(), k);
                }
                ::close(fd);
                continue;
            }
            ++stats_.evicted;
            close(victim->first);
        }
        connection c;
        c.fd = fd;
        c.opened_ms = now_ms;
        c.deadline_ms = now_ms + defaults::metrics_request_timeout_ms;
        connections_.emplace(fd, std::move(c));
        stats_.open_connections = connections_.size();
    }
}

void metrics_http::on_readable(connection& c, std::int64_t now_ms) {
    const int fd = c.fd;  // `c` is gone once close(fd) ran
    char buf[4096];
    // Bounded per turn: a client flooding bytes cannot keep the loop here.
    for (int reads = 0; reads < 16; ++reads) {
        const ssize_t got = ::recv(c.fd, buf, sizeof buf, 0);
        if (got < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
            if (c.st == state::writing || c.st == state::rendering) ++stats_.unfinished;
            close(fd);  // reset by the peer
            return;
        }
        if (got == 0) {  // the client shut down its sending side (or closed)
            c.peer_closed = true;
            if (c.st == state::reading || c.st == state::closing) close(fd);
            return;  // rendering / writing: the answer still goes out
        }
        if (c.st != state::reading) continue;  // bytes after the request: ignored
        c.request.append(
            buf, std::min<std::size_t>(static_cast<std::size_t>(got),
                                       defaults::metrics_max_request_bytes + 1 - c.request.size()));
        const std::size_t end = head_end(c.request);
        if (end != std::string::npos && end <= defaults::metrics_max_request_bytes) {
            c.request.resize(end);
            on_request(c, now_ms);
        } else if (c.request.size() > defaults::metrics_max_request_bytes) {
            answer(
                c, 431, "Request Header Fields Too Large",
                "request above " + std::to_string(defaults::metrics_max_request_bytes) + " bytes\n",
                now_ms);
        }
        if (connections_.find(fd) == connections_.end()) return;  // closed meanwhile
    }
}

void metrics_http::on_request(connection& c, std::int64_t now_ms) {
    // Request line: METHOD SP target SP HTTP/x.y
    const std::string_view request = c.request;
    const std::string_view line = request.substr(0, request.find_first_of("\r\n"));
    const std::size_t sp1 = line.find(' ');
    const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || !line.substr(sp2 + 1).starts_with("HTTP/")) {
        answer(c, 400, "Bad Request", "expected an HTTP request line: GET /metrics HTTP/1.1\n",
               now_ms);
        return;
    }
    const std::string_view method = line.substr(0, sp1);
    std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    target = target.substr(0, target.find('?'));
    if (method != "GET" && method != "HEAD") {
        answer(c, 405, "Method Not Allowed", "only GET and HEAD are served\n", now_ms);
        return;
    }
    if (target == "/health") {
        // Small (a line per expected node) and read from the loop's own state: answered at once.
        health_report h = render_health(src_, now_ms);
        const std::size_t length = h.json.size();
        auto body = std::make_shared<const std::string>(std::move(h.json));
        start_writing(c, h.healthy ? 200 : 503, h.healthy ? "OK" : "Service Unavailable",
                      method == "HEAD" ? nullptr : std::move(body), length, now_ms, json_type);
        return;
    }
    if (target != "/metrics") {
        answer(c, 404, "Not Found", "not found; metrics are at /metrics, health at /health\n",
               now_ms);
        return;
    }
    // The text is rendered over the next loop turns (run_timers); every scrape waiting when
    // it is complete gets that text. A HEAD needs its length too, so it waits the same way.
    c.st = state::rendering;
    c.code = method == "HEAD" ? -200 : 200;  // negative: head only
    c.request.clear();
    c.request.shrink_to_fit();
    waiting_.push_back(c.fd);
    if (!render_.busy()) render_.start(now_ms);
}

void metrics_http::answer(connection& c, int code, std::string_view reason, std::string_view body,
                          std::int64_t now_ms) {
    start_writing(c, code, reason, std::make_shared<const std::string>(body), body.size(), now_ms,
                  text_type);
}

void metrics_http::start_writing(connection& c, int code, std::string_view reason,
                                 std::shared_ptr<const std::string> body, std::size_t length,
                                 std::int64_t now_ms, std::string_view type) {
    c.head = "HTTP/1.0 " + std::to_string(code) + " " + std::string(reason) + "\r\nContent-Type: ";
    c.head += type;
    c.head += "\r\nContent-Length: " + std::to_string(length) + "\r\nConnection: close\r\n\r\n";
    c.body = std::move(body);
    c.code = code;
    c.written = 0;
    c.st = state::writing;
    c.request.clear();
    c.request.shrink_to_fit();
    c.deadline_ms = now_ms + defaults::metrics_write_timeout_ms;
    on_writable(c, now_ms);  // most answers fit the socket buffer at once
}

void metrics_http::on_writable(connection& c, std::int64_t now_ms) {
    const std::size_t body_size = c.body ? c.body->size() : 0;
    std::size_t budget = defaults::metrics_write_bytes;  // the rest on the next POLLOUT
    while (c.written < c.head.size() + body_size) {
        if (budget == 0) return;
        const char* p;
        std::size_t left;
        if (c.written < c.head.size()) {
            p = c.head.data() + c.written;
            left = c.head.size() - c.written;
        } else {
            p = c.body->data() + (c.written - c.head.size());
            left = body_size - (c.written - c.head.size());
        }
        left = std::min(left, budget);
        const ssize_t sent = ::send(c.fd, p, left, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;  // POLLOUT
            ++stats_.unfinished;  // the client went away before taking it all
            close(c.fd);
            return;
        }
        c.written += static_cast<std::size_t>(sent);
        budget -= static_cast<std::size_t>(sent);
    }
    finish(c, now_ms);
}

void metrics_http::finish(connection& c, std::int64_t now_ms) {
    count(c.code);
    c.head.clear();
    c.body.reset();
    if (c.peer_closed) {
        close(c.fd);
        return;
    }
    // Everything is in the kernel: send FIN, then wait for the client's close (closing at once
    // with unread request bytes would make the kernel reset the connection, and a reset may
    // destroy answer bytes the client has not read yet).
    (void)::shutdown(c.fd, SHUT_WR);
    c.st = state::closing;
    c.deadline_ms = now_ms + defaults::metrics_close_wait_ms;
}

void metrics_http::count(int code) {
    switch (code) {
        case 200:
            ++stats_.ok;
            break;
        case 400:
            ++stats_.bad_request;
            break;
        case 404:
            ++stats_.not_found;
            break;
        case 405:
            ++stats_.method_not_allowed;
            break;
        case 408:
            ++stats_.timed_out;
            break;
        case 431:
            ++stats_.too_large;
            break;
        case 503:
            ++stats_.unavailable;
            break;
        default:
            break;
    }
}

void metrics_http::close(int fd) {
    ::close(fd);
    connections_.erase(fd);
    stats_.open_connections = connections_.size();
}

void metrics_http::run_timers(std::int64_t now_ms) {
    if (render_.busy() && render_.step(defaults::metrics_render_rows)) {
        const auto body = std::make_shared<const std::string>(render_.take());
        for (const int fd : waiting_) {
            auto it = connections_.find(fd);
            if (it == connections_.end() || it->second.st != state::rendering) continue;
            connection& c = it->second;
            const bool head_only = c.code < 0;
            start_writing(c, 200, "OK", head_only ? nullptr : body, body->size(), now_ms,
                          content_type);
        }
        waiting_.clear();
    }
    std::vector<int> late;
    for (const auto& [fd, c] : connections_) {
        if (c.st != state::rendering && c.deadline_ms <= now_ms) late.push_back(fd);
    }
    for (const int fd : late) {
        auto it = connections_.find(fd);
        if (it == connections_.end()) continue;
        connection& c = it->second;
        switch (c.st) {
            case state::reading:
                answer(c, 408, "Request Timeout",
                       "no complete request within " +
                           std::to_string(defaults::metrics_request_timeout_ms) + " ms\n",
                       now_ms);
                break;
            case state::writing:
                ++stats_.unfinished;  // the client does not read its answer
                close(fd);
                break;
            case state::closing:
            case state::rendering:
                close(fd);
                break;
        }
    }
}

std::int64_t metrics_http::next_deadline(std::int64_t now_ms) const noexcept {
    if (render_.busy()) return now_ms;
    std::int64_t next = no_deadline;
    for (const auto& [fd, c] : connections_) next = std::min(next, c.deadline_ms);
    return next;
}

}  // namespace tradebus::broker
