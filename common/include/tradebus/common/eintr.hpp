// A stop signal (SIGTERM from systemd or a supervisor, SIGINT) interrupts whichever ZeroMQ
// call is running when it lands: libzmq returns EINTR from send and recv as well as from poll,
// non-blocking calls included, and cppzmq throws it as zmq::error_t. Left alone that ends a
// node with exit 1 on an ordinary stop, or leaves half a multipart message in a socket.
// Sends and receives go through retry_eintr (the stop flag is read by the loop, which sees it
// right after); poll loops catch EINTR themselves and go round to that check.
#pragma once

#include <cerrno>
#include <zmq.hpp>

namespace tradebus::common {

/// Calls `op()` again for as long as it throws EINTR; returns what it returns.
template <class Op>
decltype(auto) retry_eintr(Op&& op) {
    for (;;) {
        try {
            return op();
        } catch (const zmq::error_t& e) {
            if (e.num() != EINTR) throw;
        }
    }
}

/// socket.send / socket.recv, repeated while interrupted by a signal.
inline zmq::send_result_t send_uninterrupted(zmq::socket_t& s, zmq::const_buffer b,
                                             zmq::send_flags f) {
    return retry_eintr([&] { return s.send(b, f); });
}
inline zmq::send_result_t send_uninterrupted(zmq::socket_t& s, zmq::message_t& m,
                                             zmq::send_flags f) {
    return retry_eintr([&] { return s.send(m, f); });
}
inline zmq::recv_result_t recv_uninterrupted(zmq::socket_t& s, zmq::message_t& m,
                                             zmq::recv_flags f) {
    return retry_eintr([&] { return s.recv(m, f); });
}

}  // namespace tradebus::common
