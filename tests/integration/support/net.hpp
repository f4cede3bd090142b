// Endpoints for tests: free loopback TCP ports, ipc:// paths in a temp dir, and raw TCP bytes
// for garbage-on-the-wire checks. Loopback and ipc only (nothing leaves the host).
#pragma once

#include <chrono>
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
