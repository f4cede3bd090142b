#include "bus_clients.hpp"

#include <thread>

#include "tradebus/schema/events.hpp"

namespace tradebus::test {

namespace {

bool wait_readable(zmq::socket_t& s, std::chrono::milliseconds timeout) {
    zmq_pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
    return zmq::poll(&item, 1, timeout) > 0;
}

std::vector<std::string> recv_all(zmq::socket_t& s) {
    std::vector<std::string> frames;
    zmq::message_t m;
    do {
        if (!s.recv(m, zmq::recv_flags::none)) break;
        frames.push_back(m.to_string());
    } while (m.more());
    return frames;
}

}  // namespace

// ---------------------------------------------------------------- control_client

control_client::control_client(zmq::context_t& ctx, std::string endpoint, common::curve_client keys)
    : ctx_(ctx), endpoint_(std::move(endpoint)), keys_(std::move(keys)) {
    reset();
}

void control_client::reset() {
    socket_ = std::make_unique<zmq::socket_t>(ctx_, zmq::socket_type::req);
    socket_->set(zmq::sockopt::linger, 0);
    common::set_curve_client(*socket_, keys_);
    socket_->connect(endpoint_);
}

std::optional<std::vector<std::string>> control_client::request_frames(
    const std::vector<std::string>& frames, std::chrono::milliseconds timeout) {
    for (std::size_t i = 0; i < frames.size(); ++i) {
        const auto flags = i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
        (void)socket_->send(zmq::buffer(frames[i]), flags);
    }
    if (!wait_readable(*socket_, timeout)) {
        last_error_ = "timed out after " + std::to_string(timeout.count()) + " ms";
        reset();  // Lazy Pirate: a REQ that missed its reply cannot send again
        return std::nullopt;
    }
    return recv_all(*socket_);
}

std::optional<std::string> control_client::request_raw(const std::vector<std::string>& frames,
                                                       std::chrono::milliseconds timeout) {
    auto reply = request_frames(frames, timeout);
    if (!reply) return std::nullopt;
    if (reply->size() != 1) {
        last_error_ = "reply has " + std::to_string(reply->size()) + " frames";
        return std::nullopt;
    }
    return reply->front();
}

std::optional<schema::control_message> control_client::request(const schema::control_message& req,
                                                               std::chrono::milliseconds timeout) {
    std::string bytes;
    schema::encode_control(req, bytes);
    auto raw = request_raw({bytes}, timeout);
    if (!raw) return std::nullopt;
    auto decoded = schema::decode_control(*raw);
    if (!decoded) {
        last_error_ = "undecodable reply: " + decoded.error().to_string();
        return std::nullopt;
    }
    return std::move(decoded).value();
}

schema::error_reply control_client::call_error(const schema::control_message& req,
                                               std::chrono::milliseconds timeout) {
    auto reply = request(req, timeout);
    REQUIRE_MESSAGE(reply.has_value(), "no reply from " << endpoint_ << ": " << last_error_);
    REQUIRE_MESSAGE(std::holds_alternative<schema::error_reply>(*reply),
                    "expected an error, got " << schema::type_name(*reply));
    return std::get<schema::error_reply>(*reply);
}

// ---------------------------------------------------------------- data plane

std::optional<schema::event> bus_message::event() const {
    auto r = schema::decode_event(body);
    if (!r) return std::nullopt;
    return std::move(r).value();
}

subscriber::subscriber(zmq::context_t& ctx, const std::string& xpub_endpoint,
                       const std::vector<std::string>& prefixes, const common::curve_client& keys)
    : socket_(ctx, zmq::socket_type::sub) {
    socket_.set(zmq::sockopt::linger, 0);
    common::set_curve_client(socket_, keys);
    socket_.set(zmq::sockopt::rcvhwm, 0);  // tests count what arrives: never drop here
    for (const auto& p : prefixes) socket_.set(zmq::sockopt::subscribe, p);
    socket_.connect(xpub_endpoint);
}

std::optional<bus_message> subscriber::recv(std::chrono::milliseconds timeout) {
    if (!wait_readable(socket_, timeout)) return std::nullopt;
    auto frames = recv_all(socket_);
    bus_message m;
    m.frames = frames.size();
    if (!frames.empty()) m.topic = frames[0];
    if (frames.size() > 1) m.body = frames[1];
    return m;
}

std::optional<bus_message> subscriber::recv_until(
    const std::function<bool(const bus_message&)>& match, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return std::nullopt;
        auto m = recv(left);
        if (!m) return std::nullopt;
        if (match(*m)) return m;
    }
}

publisher::publisher(zmq::context_t& ctx, const std::string& xsub_endpoint,
                     const common::curve_client& keys, int sndhwm)
    : socket_(ctx, zmq::socket_type::pub) {
    socket_.set(zmq::sockopt::linger, 0);
    if (sndhwm > 0) socket_.set(zmq::sockopt::sndhwm, sndhwm);
    common::set_curve_client(socket_, keys);
    socket_.connect(xsub_endpoint);
}

void publisher::send(std::string_view topic, std::string_view body) {
    send_frames({std::string(topic), std::string(body)});
}

void publisher::send_frames(const std::vector<std::string>& frames) {
    for (std::size_t i = 0; i < frames.size(); ++i) {
        const auto flags = i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
        (void)socket_.send(zmq::buffer(frames[i]), flags);
    }
}

std::size_t wait_until_flowing(publisher& pub, subscriber& sub, std::string_view probe_topic,
                               std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t sent = 0;
    while (std::chrono::steady_clock::now() < deadline) {
        pub.send(probe_topic, "probe");
        ++sent;
        // Each wait is a poll on the socket, not a sleep: it returns as soon as a probe lands.
        if (sub.recv_until([&](const bus_message& m) { return m.topic == probe_topic; }, 20ms)) {
            return sent;
        }
    }
    FAIL("no probe on " << probe_topic << " arrived within " << timeout.count() << " ms");
    return sent;
}

std::string sample_tick(std::string_view symbol, std::uint64_t seq) {
    schema::tick t;
    t.symbol = std::string(symbol);
    t.bid_px = schema::to_fixed(100.0);
    t.ask_px = schema::to_fixed(100.02);
    t.bid_qty = 10;
    t.ask_qty = 12;
    std::string out;
    schema::encode_event(schema::envelope{"test-md", seq, 1, seq}, t, out);
    return out;
}

cached_snapshot ask_snapshot(control_client& control, const std::string& prefix,
                             const std::string& after) {
    std::string request;
    schema::encode_control(schema::snapshot_request{prefix, after}, request);
    auto frames = control.request_frames({request});
    REQUIRE_MESSAGE(frames.has_value(), "no snapshot reply: " << control.last_error());
    const auto decoded = schema::decode_control(frames->front());
    REQUIRE(decoded.ok());
    REQUIRE_MESSAGE(std::holds_alternative<schema::snapshot_reply>(decoded.value()),
                    "got " << schema::type_name(decoded.value()));
    cached_snapshot s{std::get<schema::snapshot_reply>(decoded.value()), {}};
    const auto error = schema::split_frame_pairs(*frames, s.header.count, s.pairs);
    REQUIRE_MESSAGE(!error, *error);
    return s;
}

cached_snapshot wait_snapshot(control_client& control, const std::string& prefix,
                              const std::function<bool(const cached_snapshot&)>& done,
                              std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        cached_snapshot s = ask_snapshot(control, prefix);
        if (done(s)) return s;
        REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline,
                        "the broker's cache did not reach the expected state for \""
                            << prefix << "\" (" << s.header.count << " topics)");
        std::this_thread::sleep_for(10ms);  // polling the broker, bounded by the deadline
    }
}

}  // namespace tradebus::test
