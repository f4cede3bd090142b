#include "tradebus/broker/metrics_http.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

#include "tradebus/broker/defaults.hpp"
#include "tradebus/broker/node_table.hpp"

namespace tradebus::broker {

namespace {

constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

// The end of the request head (request line + headers), or npos while incomplete.
std::size_t head_end(std::string_view r) {
    const std::size_t crlf = r.find("\r\n\r\n");
    const std::size_t lf = r.find("\n\n");
    return std::min(crlf == std::string_view::npos ? crlf : crlf + 4,
                    lf == std::string_view::npos ? lf : lf + 2);
}

}  // namespace

metrics_http::metrics_http(zmq::context_t& ctx, std::string listen, renderer render)
    : listen_(std::move(listen)),
      render_(std::move(render)),
      socket_(ctx, zmq::socket_type::stream) {
    socket_.set(zmq::sockopt::linger, defaults::linger_ms);
}

bool metrics_http::bind() {
    try {
        socket_.bind(listen_);
    } catch (const zmq::error_t& e) {
        spdlog::error("cannot bind metrics endpoint {}: {}; not starting", listen_, e.what());
        return false;
    }
    return true;
}

void metrics_http::drain(std::size_t budget, std::int64_t now_ms) {
    zmq::message_t id, data;
    for (std::size_t n = 0; n < budget; ++n) {
        if (!socket_.recv(id, zmq::recv_flags::dontwait)) return;
        if (!id.more()) continue;  // STREAM always sends [id][data]; be lenient anyway
        (void)socket_.recv(data, zmq::recv_flags::none);
        while (data.more()) (void)socket_.recv(data, zmq::recv_flags::none);
        on_data(id.to_string(), data.to_string_view(), now_ms);
    }
}

void metrics_http::on_data(const std::string& id, std::string_view data, std::int64_t now_ms) {
    auto it = connections_.find(id);
    if (data.empty()) {  // STREAM's notification: a new connection, or a disconnect
        if (it != connections_.end()) {
            connections_.erase(it);
        } else if (connections_.size() >= defaults::metrics_max_connections) {
            ++stats_.too_many_connections;
            if (const std::uint64_t k = warn_.hit()) {
                spdlog::warn("metrics: refused connection, {} open already ({} refused in last 1s)",
                             connections_.size(), k);
            }
            close(id);
        } else {
            connections_.emplace(id, connection{{}, now_ms + defaults::metrics_request_timeout_ms});
        }
        stats_.open_connections = connections_.size();
        return;
    }
    // Bytes after a refusal or an answer: ignored (HTTP/1.0: one request per connection).
    if (it == connections_.end() || it->second.answered) return;
    std::string& request = it->second.request;
    request.append(data.substr(
        0, std::min(data.size(), defaults::metrics_max_request_bytes + 1 - request.size())));
    const std::size_t end = head_end(request);
    if (end != std::string::npos && end <= defaults::metrics_max_request_bytes) {
        const std::string head = request.substr(0, end);
        respond(id, head, now_ms);
    } else if (request.size() > defaults::metrics_max_request_bytes) {
        ++stats_.too_large;
        answer(id, 431, "Request Header Fields Too Large",
               "request above " + std::to_string(defaults::metrics_max_request_bytes) + " bytes\n");
    }
}

void metrics_http::respond(const std::string& id, std::string_view request, std::int64_t now_ms) {
    // Request line: METHOD SP target SP HTTP/x.y
    const std::string_view line = request.substr(0, request.find_first_of("\r\n"));
    const std::size_t sp1 = line.find(' ');
    const std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || !line.substr(sp2 + 1).starts_with("HTTP/")) {
        ++stats_.bad_request;
        answer(id, 400, "Bad Request", "expected an HTTP request line: GET /metrics HTTP/1.1\n");
        return;
    }
    const std::string_view method = line.substr(0, sp1);
    std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    target = target.substr(0, target.find('?'));
    if (method != "GET" && method != "HEAD") {
        ++stats_.method_not_allowed;
        answer(id, 405, "Method Not Allowed", "only GET and HEAD are served\n");
        return;
    }
    if (target != "/metrics") {
        ++stats_.not_found;
        answer(id, 404, "Not Found", "not found; metrics are at /metrics\n");
        return;
    }
    ++stats_.ok;
    render_(body_);
    answer(id, 200, "OK", body_, method == "HEAD", now_ms);
}

void metrics_http::answer(const std::string& id, int code, std::string_view reason,
                          std::string_view body, bool head, std::int64_t now_ms) {
    head_ = "HTTP/1.0 " + std::to_string(code) + " " + std::string(reason) + "\r\nContent-Type: ";
    head_ += code == 200 ? content_type : std::string_view("text/plain; charset=utf-8");
    head_ += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
    if (!head) head_ += body;
    if (!socket_.send(zmq::buffer(id), zmq::send_flags::sndmore | zmq::send_flags::dontwait) ||
        !socket_.send(zmq::buffer(head_), zmq::send_flags::dontwait)) {
        if (const std::uint64_t k = warn_.hit()) {
            spdlog::warn("metrics: could not queue an answer ({} in last 1s)", k);
        }
    }
    auto it = connections_.find(id);
    if (code == 200 && !head && it != connections_.end()) {
        it->second.answered = true;  // the client closes; see the header
        it->second.deadline_ms = now_ms + defaults::metrics_linger_ms;
        return;
    }
    close(id);
}

void metrics_http::close(const std::string& id) {
    // A zero-length frame to a STREAM peer closes its connection once queued data is written.
    if (socket_.send(zmq::buffer(id), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
        (void)socket_.send(zmq::message_t(), zmq::send_flags::dontwait);
    }
    connections_.erase(id);
    stats_.open_connections = connections_.size();
}

void metrics_http::run_timers(std::int64_t now_ms) {
    std::vector<std::string> late;
    std::vector<std::string> done;
    for (const auto& [id, c] : connections_) {
        if (c.deadline_ms <= now_ms) (c.answered ? done : late).push_back(id);
    }
    for (const auto& id : done) close(id);
    for (const auto& id : late) {
        ++stats_.timed_out;
        answer(id, 408, "Request Timeout",
               "no complete request within " +
                   std::to_string(defaults::metrics_request_timeout_ms) + " ms\n");
    }
}

std::int64_t metrics_http::next_deadline() const noexcept {
    std::int64_t next = no_deadline;
    for (const auto& [id, c] : connections_) next = std::min(next, c.deadline_ms);
    return next;
}

}  // namespace tradebus::broker
