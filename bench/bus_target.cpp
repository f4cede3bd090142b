#include "bus_target.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "tradebus/schema/codec.hpp"
#include "tradebus/schema/topics.hpp"

namespace tradebus::bench {

using namespace std::chrono_literals;

std::string_view to_string(target_kind k) noexcept {
    return k == target_kind::broker ? "broker" : "bare";
}
std::string_view to_string(transport t) noexcept { return t == transport::tcp ? "tcp" : "ipc"; }

std::string free_tcp_endpoint() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        ::close(fd);
        throw std::runtime_error(std::string("bind 127.0.0.1:0: ") + std::strerror(errno));
    }
    ::close(fd);
    return "tcp://127.0.0.1:" + std::to_string(ntohs(a.sin_port));
}

std::optional<schema::control_message> control_request(zmq::context_t& ctx,
                                                       const std::string& endpoint,
                                                       const schema::control_message& request,
                                                       std::chrono::milliseconds timeout) {
    zmq::socket_t req(ctx, zmq::socket_type::req);
    req.set(zmq::sockopt::linger, 0);
    req.connect(endpoint);
    std::string bytes;
    schema::encode_control(request, bytes);
    (void)req.send(zmq::buffer(bytes), zmq::send_flags::none);
    zmq_pollitem_t item{req.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, timeout) <= 0) return std::nullopt;
    zmq::message_t reply;
    if (!req.recv(reply, zmq::recv_flags::none) || reply.more()) return std::nullopt;
    auto decoded = schema::decode_control(reply.to_string_view());
    if (!decoded) return std::nullopt;
    return std::move(decoded).value();
}

bus_target::bus_target(zmq::context_t& ctx, const executables& exe, const temp_dir& dir,
                       target_options opts, std::chrono::milliseconds timeout)
    : ctx_(ctx), opts_(std::move(opts)) {
    const std::string& l = opts_.label;
    if (opts_.via == transport::ipc) {
        xsub_ = "ipc://" + dir.file(l + "-xsub.ipc").string();
        xpub_ = "ipc://" + dir.file(l + "-xpub.ipc").string();
        control_ = "ipc://" + dir.file(l + "-control.ipc").string();
    } else {
        xsub_ = free_tcp_endpoint();
        do xpub_ = free_tcp_endpoint();
        while (xpub_ == xsub_);
        do control_ = free_tcp_endpoint();
        while (control_ == xsub_ || control_ == xpub_);
    }
    const auto log = dir.file(l + ".log");
    if (opts_.kind == target_kind::broker) {
        // log_level warn: the broker still reports drops (rate-limited) but no per-run chatter.
        std::string toml = "[broker]\nname = \"broker\"\nlog_level = \"warn\"\n";
        toml += "[endpoints]\nxsub = \"" + xsub_ + "\"\nxpub = \"" + xpub_ + "\"\ncontrol = \"" +
                control_ + "\"\n";
        if (!opts_.broker_data_toml.empty()) toml += "[data]\n" + opts_.broker_data_toml + "\n";
        // A bench broker has no saved trading state and must trade from the start.
        toml += "[trading]\nmissing_state = \"active\"\n";
        toml += opts_.broker_extra_toml;
        const auto config = dir.write(l + ".toml", toml);
        process_ = std::make_unique<child_process>(
            exe.broker, std::vector<std::string>{"--config", config.string()}, log);
        wait_broker(timeout);
    } else {
        const std::string hwm = std::to_string(opts_.proxy_hwm);
        process_ = std::make_unique<child_process>(
            exe.proxy,
            std::vector<std::string>{"--xsub", xsub_, "--xpub", xpub_, "--sndhwm", hwm, "--rcvhwm",
                                     hwm},
            log);
        wait_proxy(timeout);
    }
}

bus_target::~bus_target() {
    if (process_) process_->stop();
}

std::string_view bus_target::name() const noexcept {
    return opts_.kind == target_kind::broker ? "tradebus-broker" : "bare zmq_proxy";
}

void bus_target::died(const std::string& what) {
    throw std::runtime_error(std::string(name()) + " (" + process_->executable() + ", " +
                             to_string(opts_.via).data() + ") " + what + "; its log:\n" +
                             process_->log());
}

void bus_target::check_alive() {
    if (!process_->running()) {
        died("exited with status " + std::to_string(process_->wait_exit(0ms).value_or(-1)));
    }
}

void bus_target::wait_broker(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        check_alive();
        // Each attempt waits on the socket for the reply: no sleeping.
        if (auto reply = control_request(ctx_, control_, schema::status_request{}, 200ms)) {
            if (std::holds_alternative<schema::status_reply>(*reply)) return;
        }
    }
    died("did not answer a status request within " + std::to_string(timeout.count()) + " ms");
}

void bus_target::wait_proxy(std::chrono::milliseconds timeout) {
    const std::string topic = schema::topics::for_symbol(schema::topics::probe, "bench-ready");
    zmq::socket_t pub(ctx_, zmq::socket_type::pub), sub(ctx_, zmq::socket_type::sub);
    pub.set(zmq::sockopt::linger, 0);
    sub.set(zmq::sockopt::linger, 0);
    sub.set(zmq::sockopt::subscribe, topic);
    pub.connect(xsub_);
    sub.connect(xpub_);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        check_alive();
        (void)pub.send(zmq::buffer(topic), zmq::send_flags::sndmore);
        (void)pub.send(zmq::str_buffer("probe"), zmq::send_flags::none);
        // Waits on the socket: returns as soon as a probe has made the round trip.
        zmq_pollitem_t item{sub.handle(), 0, ZMQ_POLLIN, 0};
        if (zmq::poll(&item, 1, 20ms) > 0) return;
    }
    died("did not pass a probe message within " + std::to_string(timeout.count()) + " ms");
}

std::optional<schema::status_reply> bus_target::status(std::int64_t max_topics,
                                                       std::chrono::milliseconds timeout) {
    if (opts_.kind != target_kind::broker) return std::nullopt;
    schema::status_request req;
    req.max_topics = max_topics;
    auto reply = control_request(ctx_, control_, req, timeout);
    if (!reply || !std::holds_alternative<schema::status_reply>(*reply)) return std::nullopt;
    return std::get<schema::status_reply>(std::move(*reply));
}

int bus_target::stop() { return process_->stop(); }

}  // namespace tradebus::bench
