#include "net.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
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
    int port = 0;
    ::close(bound_socket(port, false));
    return port;
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

tcp_listener::tcp_listener() { fd_ = bound_socket(port_, true); }
tcp_listener::~tcp_listener() {
    if (fd_ >= 0) ::close(fd_);
}

}  // namespace tradebus::test
