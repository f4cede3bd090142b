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

void context::announce_service(std::string service, std::string /*endpoint*/) {
    throw std::logic_error("this runtime context cannot announce service " + service);
}

std::int64_t utc_day_start_ns(std::int64_t now_ns) noexcept {
    constexpr std::int64_t ns_per_day = 86'400LL * 1'000'000'000LL;
    const std::int64_t day =
        now_ns >= 0 ? now_ns / ns_per_day : (now_ns - ns_per_day + 1) / ns_per_day;
    return day * ns_per_day;
}

std::int64_t day_order_expiry_ns(std::int64_t now_ns) noexcept {
    return utc_day_start_ns(now_ns) + 86'400LL * 1'000'000'000LL;
}

}  // namespace tradebus::runtime
