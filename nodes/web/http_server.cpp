// The web node's HTTP server (http_server.hpp).
#include "tradebus/web/http_server.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace tradebus::web {

namespace http = common::http;

namespace {

constexpr std::size_t accept_budget = 64;  // connections accepted per loop turn
constexpr int read_budget = 16;            // recv calls per connection and turn

std::string_view reason_of(int code) {
    switch (code) {
        case 200:
            return "OK";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 408:
            return "Request Timeout";
        case 413:
            return "Content Too Large";
        case 415:
            return "Unsupported Media Type";
        case 431:
            return "Request Header Fields Too Large";
        case 502:
            return "Bad Gateway";
        case 503:
            return "Service Unavailable";
        case 504:
            return "Gateway Timeout";
        default:
            return "Error";
    }
}

}  // namespace

http_server::http_server(http_limits limits, handler on_request)
    : limits_(limits), on_request_(std::move(on_request)) {}

http_server::~http_server() {
    // The context may be gone by now (the runtime destroys the logic last): close, never call it.
    for (const auto& [fd, c] : conns_) ::close(fd);
    if (listener_ >= 0) ::close(listener_);
}

std::int64_t http_server::now_ms() const { return ctx_ != nullptr ? ctx_->mono_ms() : 0; }

bool http_server::start(runtime::context& ctx, const std::string& endpoint, std::string& error) {
    ctx_ = &ctx;
    listener_ = http::listen_tcp(endpoint, error);
    if (listener_ < 0) return false;
    ctx.watch_fd(listener_, ZMQ_POLLIN, [this](short) { on_listener(); });
    return true;
}

void http_server::stop() {
    std::vector<int> fds;
    for (const auto& [fd, c] : conns_) fds.push_back(fd);
    for (const int fd : fds) close(fd);
    if (listener_ >= 0) {
        if (ctx_ != nullptr) ctx_->unwatch_fd(listener_);
        ::close(listener_);
        listener_ = -1;
    }
}

std::size_t http_server::streams() const noexcept {
    return static_cast<std::size_t>(std::count_if(conns_.begin(), conns_.end(), [](const auto& kv) {
        return kv.second.st == state::streaming;
    }));
}

void http_server::on_listener() {
    const std::int64_t now = now_ms();
    for (std::size_t n = 0; n < accept_budget; ++n) {
        const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;  // EAGAIN: none left (or a transient error: next poll)
        if (conns_.size() >= limits_.max_clients) {
            // Make room: a connection already answered (waiting for its client's close), else
            // the oldest one still sending its request.
            auto victim = conns_.end();
            for (auto it = conns_.begin(); it != conns_.end(); ++it) {
                if (it->second.st == state::closing) {
                    victim = it;
                    break;
                }
                if (it->second.st != state::reading) continue;
                if (victim == conns_.end() || it->second.opened_ms < victim->second.opened_ms) {
                    victim = it;
                }
            }
            if (victim == conns_.end()) {
                ++stats_.refused;
                if (const auto k = warn_.hit()) {
                    spdlog::warn(
                        "web: refused a client: {} connections open, max_clients ({} in "
                        "last 1s)",
                        conns_.size(), k);
                }
                // One try, never a wait: the client sees why if the bytes fit the buffer.
                const std::string body = "too many clients\n";
                const std::string msg =
                    http::response_head(503, reason_of(503), "text/plain; charset=utf-8",
                                        body.size()) +
                    body;
                (void)::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
                ::close(fd);
                continue;
            }
            if (victim->second.st == state::reading) ++stats_.evicted;
            close(victim->first);
        }
        connection c;
        c.fd = fd;
        c.opened_ms = now;
        c.deadline_ms = now + limits_.request_timeout_ms;
        conns_.emplace(fd, std::move(c));
        rewatch(conns_.at(fd));
    }
}

void http_server::on_ready(int fd, short revents) {
    auto it = conns_.find(fd);
    if (it == conns_.end()) return;
    connection& c = it->second;
    if ((revents & ZMQ_POLLOUT) != 0 && c.pending > 0) {
        if (!flush(c)) return;
    }
    if ((revents & (ZMQ_POLLIN | ZMQ_POLLERR)) != 0) on_readable(c);
}

void http_server::on_readable(connection& c) {
    const int fd = c.fd;  // `c` is gone once close(fd) ran
    char buf[4096];
    for (int reads = 0; reads < read_budget; ++reads) {
        const ssize_t got = ::recv(fd, buf, sizeof buf, 0);
        if (got < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
            if (c.st == state::writing || c.st == state::waiting) ++stats_.unfinished;
            close(fd);  // reset by the peer
            return;
        }
        if (got == 0) {  // the client closed (or shut down its side)
            if (c.st == state::writing || c.st == state::waiting) {
                // A half-close after the request: answer anyway.
                c.peer_closed = true;
                rewatch(c);
                return;
            }
            close(fd);
            return;
        }
        if (c.st != state::reading) continue;  // bytes after the request: ignored
        // Until the head is complete, as much as the largest head and body (a first segment
        // may carry both); then as much as this request's body.
        const std::size_t cap = c.head_bytes > 0
                                    ? c.head_bytes + c.body_bytes
                                    : limits_.max_request_bytes + limits_.max_body_bytes + 1;
        c.request.append(buf, std::min<std::size_t>(static_cast<std::size_t>(got),
                                                    cap - std::min(cap, c.request.size())));
        if (c.head_bytes == 0 && !on_head(c)) return;  // answered (an error), or closed
        if (c.head_bytes > 0 && c.request.size() >= c.head_bytes + c.body_bytes) {
            on_request(c);
        }
        if (!conns_.contains(fd)) return;  // closed meanwhile
    }
}

bool http_server::on_head(connection& c) {
    const std::size_t end = http::head_end(c.request);
    if (end == std::string::npos || end > limits_.max_request_bytes) {
        if (end == std::string::npos && c.request.size() <= limits_.max_request_bytes) {
            return true;  // more to come
        }
        answer_error(
            c, 431, reason_of(431),
            "request head above " + std::to_string(limits_.max_request_bytes) + " bytes\n");
        return false;
    }
    std::string error;
    const auto req = http::parse_request(std::string_view(c.request).substr(0, end), error);
    if (!req) {
        answer_error(c, 400, reason_of(400), error + "\n");
        return false;
    }
    const auto length = http::content_length(*req, error);
    if (!length) {
        answer_error(c, 400, reason_of(400), error + "\n");
        return false;
    }
    if (*length > limits_.max_body_bytes) {
        answer_error(c, 413, reason_of(413),
                     "request body of " + std::to_string(*length) + " bytes, at most " +
                         std::to_string(limits_.max_body_bytes) + " are taken\n");
        return false;
    }
    c.head_bytes = end;
    c.body_bytes = *length;
    return true;
}

void http_server::on_request(connection& c) {
    c.request.resize(c.head_bytes + c.body_bytes);  // bytes after the body: ignored
    std::string error;
    auto req = http::parse_request(std::string_view(c.request).substr(0, c.head_bytes), error);
    if (!req) {  // parsed once already in on_head
        answer_error(c, 400, reason_of(400), error + "\n");
        return;
    }
    req->body = std::string_view(c.request).substr(c.head_bytes);
    const std::uint64_t ticket = ++tickets_;
    http_answer a = on_request_(*req, ticket);
    const bool head_only = req->method == "HEAD";
    c.request.clear();
    c.request.shrink_to_fit();
    if (a.deferred) {
        c.st = state::waiting;
        c.ticket = ticket;
        c.deadline_ms = now_ms() + limits_.answer_timeout_ms;
        rewatch(c);
        return;
    }
    respond(c, std::move(a), head_only);
}

bool http_server::answer_later(std::uint64_t ticket, http_answer answer) {
    for (auto& [fd, c] : conns_) {
        if (c.st != state::waiting || c.ticket != ticket) continue;
        answer.deferred = false;
        answer.stream = false;
        respond(c, std::move(answer), false);
        return true;
    }
    return false;
}

void http_server::respond(connection& c, http_answer a, bool head_only) {
    if (a.code >= 400) ++stats_.bad_requests;
    if (a.stream) {
        ++stats_.streams;
        c.st = state::streaming;
        queue(c, std::make_shared<const std::string>(http::response_head(
                     a.code, reason_of(a.code), a.content_type, std::nullopt, a.extra_headers)));
        if (!a.body.empty()) queue(c, std::make_shared<const std::string>(std::move(a.body)));
    } else {
        c.st = state::writing;
        c.deadline_ms = now_ms() + limits_.write_timeout_ms;
        std::string msg = http::response_head(a.code, reason_of(a.code), a.content_type,
                                              a.body.size(), a.extra_headers);
        if (!head_only) msg += a.body;
        queue(c, std::make_shared<const std::string>(std::move(msg)));
    }
    (void)flush(c);
}

void http_server::answer_error(connection& c, int code, std::string_view reason,
                               std::string_view body) {
    ++stats_.bad_requests;
    c.st = state::writing;
    c.deadline_ms = now_ms() + limits_.write_timeout_ms;
    c.request.clear();
    c.request.shrink_to_fit();
    queue(c, std::make_shared<const std::string>(
                 http::response_head(code, reason, "text/plain; charset=utf-8", body.size()) +
                 std::string(body)));
    (void)flush(c);
}

void http_server::queue(connection& c, std::shared_ptr<const std::string> bytes) {
    c.pending += bytes->size();
    c.out.push_back(std::move(bytes));
}

void http_server::broadcast(const std::shared_ptr<const std::string>& frame) {
    std::vector<int> targets;
    for (const auto& [fd, c] : conns_) {
        if (c.st == state::streaming) targets.push_back(fd);
    }
    for (const int fd : targets) {
        connection& c = conns_.at(fd);
        // A client that took everything takes the next frame whatever its size (a state larger
        // than the cap must not drop every page); one still behind may hold up to the cap.
        if (c.pending > 0 && c.pending + frame->size() > limits_.client_buffer_bytes) {
            ++stats_.slow_dropped;
            if (const auto k = warn_.hit()) {
                spdlog::warn(
                    "web: dropped a slow stream client: {} bytes unsent, "
                    "client_buffer_bytes {} ({} in last 1s)",
                    c.pending, limits_.client_buffer_bytes, k);
            }
            close(fd);
            continue;
        }
        queue(c, frame);
        (void)flush(c);
    }
}

bool http_server::flush(connection& c) {
    const int fd = c.fd;
    std::size_t budget = limits_.write_budget_bytes;
    while (!c.out.empty() && budget > 0) {
        const std::string& front = *c.out.front();
        const std::size_t left = std::min(front.size() - c.front_sent, budget);
        const ssize_t sent = ::send(fd, front.data() + c.front_sent, left, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
            if (c.st == state::writing) ++stats_.unfinished;
            close(fd);
            return false;
        }
        const auto n = static_cast<std::size_t>(sent);
        c.front_sent += n;
        c.pending -= n;
        budget -= n;
        if (c.front_sent == front.size()) {
            c.out.pop_front();
            c.front_sent = 0;
        }
    }
    if (c.out.empty() && c.st == state::writing) {
        ++stats_.answered;
        if (c.peer_closed) {
            close(fd);
            return false;
        }
        // Everything is in the kernel: send FIN, then wait for the client's close (closing at
        // once with unread request bytes would reset the connection and may destroy the answer).
        (void)::shutdown(fd, SHUT_WR);
        c.st = state::closing;
        c.deadline_ms = now_ms() + limits_.close_wait_ms;
    }
    rewatch(c);
    return true;
}

void http_server::rewatch(connection& c) {
    short events = c.peer_closed ? 0 : ZMQ_POLLIN;
    if (c.pending > 0) events |= ZMQ_POLLOUT;
    if (events == c.watched) return;
    c.watched = events;
    const int fd = c.fd;
    ctx_->watch_fd(fd, events, [this, fd](short revents) { on_ready(fd, revents); });
}

void http_server::close(int fd) {
    if (ctx_ != nullptr) ctx_->unwatch_fd(fd);
    ::close(fd);
    conns_.erase(fd);
}

void http_server::run_timers(std::int64_t now) {
    std::vector<int> late;
    for (const auto& [fd, c] : conns_) {
        if (c.st != state::streaming && c.deadline_ms <= now) late.push_back(fd);
    }
    for (const int fd : late) {
        auto it = conns_.find(fd);
        if (it == conns_.end()) continue;
        connection& c = it->second;
        switch (c.st) {
            case state::reading:
                answer_error(c, 408, reason_of(408),
                             "no complete request within " +
                                 std::to_string(limits_.request_timeout_ms) + " ms\n");
                break;
            case state::waiting:
                ++stats_.late;
                answer_error(c, 504, reason_of(504),
                             "no answer within " + std::to_string(limits_.answer_timeout_ms) +
                                 " ms (the broker did not reply in time; the request may or may "
                                 "not have been carried out)\n");
                break;
            case state::writing:
                ++stats_.unfinished;  // the client does not read its answer
                close(fd);
                break;
            case state::closing:
            case state::streaming:
                close(fd);
                break;
        }
    }
}

}  // namespace tradebus::web
