// Endpoints for tests: free loopback TCP ports, ipc:// paths in a temp dir, and raw TCP bytes
// for garbage-on-the-wire checks. Loopback and ipc only (nothing leaves the host).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "temp_dir.hpp"

namespace tradebus::test {

/// A TCP port on 127.0.0.1 that was free a moment ago (the kernel's pick for port 0).
[[nodiscard]] int free_tcp_port();
/// "tcp://127.0.0.1:<free port>".
[[nodiscard]] std::string free_tcp_endpoint();
/// "ipc://<dir>/<name>".
[[nodiscard]] std::string ipc_endpoint(const temp_dir& dir, std::string_view name);
/// The port of a "tcp://host:port" endpoint.
[[nodiscard]] int port_of(std::string_view tcp_endpoint);

/// Connects a plain TCP socket to 127.0.0.1:`port`, writes `bytes`, and closes it. Returns
/// false when the connection was refused. Never blocks longer than `timeout`.
bool send_raw_tcp(int port, std::string_view bytes,
                  std::chrono::milliseconds timeout = std::chrono::seconds(2));

/// A raw TCP client connection to 127.0.0.1 (HTTP scrapes, slow and idle clients).
class tcp_client {
  public:
    /// Connects (non-blocking connect, waited for up to `timeout`); connected() says whether.
    explicit tcp_client(int port, std::chrono::milliseconds timeout = std::chrono::seconds(2));
    ~tcp_client();
    tcp_client(const tcp_client&) = delete;
    tcp_client& operator=(const tcp_client&) = delete;
    [[nodiscard]] bool connected() const noexcept { return connected_; }
    /// Writes all of `bytes` within `timeout`; false if the peer closed or time ran out.
    bool send(std::string_view bytes, std::chrono::milliseconds timeout = std::chrono::seconds(2));
    /// Shuts down the sending side (the peer reads end of file); reading goes on.
    void shutdown_send();
    /// Reads until the peer closes the connection; nullopt if it is still open at `timeout`.
    std::optional<std::string> read_until_closed(std::chrono::milliseconds timeout);
    /// Reads until `complete(bytes so far)` says so or the peer closes; nullopt at `timeout`.
    std::optional<std::string> read_until(const std::function<bool(const std::string&)>& complete,
                                          std::chrono::milliseconds timeout);

  private:
    int fd_ = -1;
    bool connected_ = false;
};

/// One HTTP/1.0-style exchange: connects, writes `request`, reads the answer until the peer
/// closes. nullopt when the connection failed or the peer did not close within `timeout`.
std::optional<std::string> tcp_exchange(
    int port, std::string_view request,
    std::chrono::milliseconds timeout = std::chrono::seconds(5));

/// As tcp_exchange, for an HTTP answer: stops once the head and Content-Length bytes of body
/// have arrived (then closes, as curl and Prometheus do), or when the peer closes.
std::optional<std::string> http_exchange(
    int port, std::string_view request,
    std::chrono::milliseconds timeout = std::chrono::seconds(5));

/// Holds a listening TCP socket on 127.0.0.1 (to make a port "in use").
class tcp_listener {
  public:
    tcp_listener();
    ~tcp_listener();
    tcp_listener(const tcp_listener&) = delete;
    tcp_listener& operator=(const tcp_listener&) = delete;
    [[nodiscard]] int port() const noexcept { return port_; }

  private:
    int fd_ = -1;
    int port_ = 0;
};

}  // namespace tradebus::test
