#include "net.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>
#include <stdexcept>

namespace tradebus::test {

namespace {

sockaddr_in loopback(int port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

int bound_socket(int& port_out, bool listen_too) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_in a = loopback(0);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        (listen_too && ::listen(fd, 4) != 0)) {
        ::close(fd);
        throw std::runtime_error(std::string("bind: ") + std::strerror(errno));
    }
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port_out = ntohs(a.sin_port);
    return fd;
}

}  // namespace

int free_tcp_port() {
    // Each probe socket is closed at once, so the kernel may hand the same free port to two
    // calls (a broker's endpoint and its metrics listener, say): never give one out twice.
    static std::mutex m;
    static std::set<int> given;
    const std::lock_guard lock(m);
    for (int attempt = 0; attempt < 1000; ++attempt) {
        int port = 0;
        ::close(bound_socket(port, false));
        if (given.insert(port).second) return port;
    }
    throw std::runtime_error("free_tcp_port: 1000 probes gave only ports already handed out");
}

std::string free_tcp_endpoint() { return "tcp://127.0.0.1:" + std::to_string(free_tcp_port()); }

std::string ipc_endpoint(const temp_dir& dir, std::string_view name) {
    return "ipc://" + dir.file(name).string();
}

int port_of(std::string_view ep) { return std::stoi(std::string(ep.substr(ep.rfind(':') + 1))); }

bool send_raw_tcp(int port, std::string_view bytes, std::chrono::milliseconds timeout) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return false;
    sockaddr_in a = loopback(port);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 || errno == EINPROGRESS;
    std::size_t sent = 0;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (ok && sent < bytes.size() && std::chrono::steady_clock::now() < deadline) {
        pollfd p{fd, POLLOUT, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        if ((p.revents & (POLLERR | POLLHUP)) != 0) break;  // refused or closed by the peer
        const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR) break;
        if (n > 0) sent += static_cast<std::size_t>(n);
    }
    ::close(fd);
    return ok && sent > 0;
}

tcp_client::tcp_client(int port, std::chrono::milliseconds timeout) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd_ < 0) return;
    sockaddr_in a = loopback(port);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
        connected_ = true;
        return;
    }
    if (errno != EINPROGRESS) return;
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return;
    int err = 0;
    socklen_t len = sizeof err;
    connected_ = ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
}

tcp_client::~tcp_client() {
    if (fd_ >= 0) ::close(fd_);
}

void tcp_client::shutdown_send() {
    if (fd_ >= 0) (void)::shutdown(fd_, SHUT_WR);
}

bool tcp_client::send(std::string_view bytes, std::chrono::milliseconds timeout) {
    std::size_t sent = 0;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (connected_ && sent < bytes.size() && std::chrono::steady_clock::now() < deadline) {
        pollfd p{fd_, POLLOUT, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        if ((p.revents & (POLLERR | POLLHUP)) != 0) return false;
        const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
        if (n > 0) sent += static_cast<std::size_t>(n);
    }
    return sent == bytes.size();
}

std::optional<std::string> tcp_client::read_until_closed(std::chrono::milliseconds timeout) {
    return read_until([](const std::string&) { return false; }, timeout);
}

std::optional<std::string> tcp_client::read_until(
    const std::function<bool(const std::string&)>& complete, std::chrono::milliseconds timeout) {
    std::string out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[65536];
    while (connected_ && std::chrono::steady_clock::now() < deadline) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
        if (n == 0) return out;  // orderly close
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            return out;  // reset: what arrived before it is the answer
        }
        out.append(buf, static_cast<std::size_t>(n));
        if (complete(out)) return out;
    }
    return std::nullopt;
}

namespace {

std::optional<std::string> exchange(int port, std::string_view request,
                                    std::chrono::milliseconds timeout,
                                    const std::function<bool(const std::string&)>& complete) {
    tcp_client c(port, timeout);
    if (!c.connected() || !c.send(request, timeout)) return std::nullopt;
    return c.read_until(complete, timeout);
}

}  // namespace

std::optional<std::string> tcp_exchange(int port, std::string_view request,
                                        std::chrono::milliseconds timeout) {
    return exchange(port, request, timeout, [](const std::string&) { return false; });
}

std::optional<std::string> http_exchange(int port, std::string_view request,
                                         std::chrono::milliseconds timeout) {
    return exchange(port, request, timeout, [](const std::string& got) {
        const auto end = got.find("\r\n\r\n");
        if (end == std::string::npos) return false;
        const auto at = got.find("Content-Length: ");
        if (at == std::string::npos || at > end) return false;
        return got.size() - (end + 4) >= std::stoull(got.substr(at + 16));
    });
}

tcp_listener::tcp_listener() { fd_ = bound_socket(port_, true); }
tcp_listener::~tcp_listener() {
    if (fd_ >= 0) ::close(fd_);
}

}  // namespace tradebus::test
