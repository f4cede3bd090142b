// Defaults of the context's extension points: a context that does not own sockets (a test
// double) refuses them loudly instead of pretending.
#include <stdexcept>

#include "tradebus/runtime/node.hpp"

namespace tradebus::runtime {

zmq::context_t& context::zmq_context() {
    throw std::logic_error("this runtime context has no ZeroMQ context");
}

void context::watch_socket(zmq::socket_t& /*socket*/, std::function<void()> /*on_readable*/) {
    throw std::logic_error("this runtime context cannot watch sockets");
}

void context::unwatch_socket(zmq::socket_t& /*socket*/) {
    throw std::logic_error("this runtime context cannot watch sockets");
}

void context::watch_fd(int /*fd*/, short /*events*/, std::function<void(short)> /*on_ready*/) {
    throw std::logic_error("this runtime context cannot watch file descriptors");
}

void context::unwatch_fd(int /*fd*/) {
    throw std::logic_error("this runtime context cannot watch file descriptors");
}

void context::announce_service(std::string service, std::string /*endpoint*/) {
    throw std::logic_error("this runtime context cannot announce service " + service);
}

std::uint64_t context::broker_epoch() const { return 0; }

std::uint64_t context::session_id() const { return 0; }

bool context::send_control(std::string /*request*/,
                           std::function<void(const schema::control_message*)> /*on_reply*/) {
    throw std::logic_error("this runtime context cannot send control requests");
}

}  // namespace tradebus::runtime
