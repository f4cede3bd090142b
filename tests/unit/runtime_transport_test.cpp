// The node's live data plane (nodes/runtime/transport.cpp) over inproc sockets standing in for
// the broker: what it sends, and how it reads messages that keep or break the frame rules
// (PROTOCOL.md "Data plane frames", "The recorder link").
#include <doctest/doctest.h>

#include <string>
#include <vector>
#include <zmq.hpp>

#include "tradebus/runtime/transport.hpp"

using tradebus::runtime::zmq_transport;

namespace {

struct recording_sink final : tradebus::runtime::transport_sink {
    std::vector<std::string> messages, malformed, positions;
    bool accept_position = true;
    void on_message(std::string_view topic, std::string_view raw) override {
        messages.push_back(std::string(topic) + "=" + std::string(raw));
    }
    void on_malformed(std::string_view topic, std::string_view, const std::string& why,
                      bool to_logic) override {
        malformed.push_back(std::string(topic) + ": " + why + (to_logic ? "" : " (not logic's)"));
    }
    bool on_link_position(std::uint64_t epoch, std::uint64_t seq) override {
        positions.push_back(std::to_string(epoch) + "/" + std::to_string(seq));
        return accept_position;
    }
};

// A broker stand-in: a SUB the transport publishes to, a PUB it subscribes from.
struct fake_broker {
    zmq::context_t& ctx;
    zmq::socket_t in{ctx, zmq::socket_type::sub}, out{ctx, zmq::socket_type::pub};
    std::string in_ep, out_ep;
    fake_broker(zmq::context_t& c, const std::string& name)
        : ctx(c), in_ep("inproc://" + name + "-xsub"), out_ep("inproc://" + name + "-xpub") {
        in.set(zmq::sockopt::subscribe, "");
        in.bind(in_ep);
        out.bind(out_ep);
    }
    void send(const std::vector<std::string>& frames) {
        for (std::size_t i = 0; i < frames.size(); ++i) {
            out.send(zmq::buffer(frames[i]),
                     i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
        }
    }
};

std::string position(std::uint64_t epoch, std::uint64_t seq) {
    std::string out(16, '\0');
    for (int i = 0; i < 8; ++i) {
        out[static_cast<std::size_t>(7 - i)] = static_cast<char>(epoch >> (8 * i) & 0xff);
        out[static_cast<std::size_t>(15 - i)] = static_cast<char>(seq >> (8 * i) & 0xff);
    }
    return out;
}

// Publishes `frames` until the transport reads something (a SUB's subscription reaches the PUB
// a moment after connect), then returns what the sink got from that first delivery.
void until_delivered(fake_broker& b, zmq_transport& t, recording_sink& sink,
                     const std::vector<std::string>& frames) {
    for (int i = 0; i < 500 && sink.messages.empty() && sink.malformed.empty(); ++i) {
        b.send(frames);
        zmq::pollitem_t item{t.inbound_socket().handle(), 0, ZMQ_POLLIN, 0};
        zmq::poll(&item, 1, std::chrono::milliseconds(10));
        (void)t.drain(sink, 1);
    }
}

}  // namespace

TEST_CASE("transport: sends [topic][body] once connected, nothing before") {
    zmq::context_t ctx;
    fake_broker b(ctx, "send");
    zmq_transport t(ctx, {});
    CHECK_FALSE(t.send("md.tick.AAPL", "early"));
    REQUIRE(t.connect(b.in_ep, b.out_ep));
    CHECK_FALSE(t.connect(b.in_ep, b.out_ep));  // once
    // The fake broker's subscription reaches the PUB a moment after connect: send until one
    // arrives (bounded).
    zmq::message_t topic, body;
    bool got = false;
    for (int i = 0; i < 500 && !got; ++i) {
        CHECK(t.send("md.tick.AAPL", "body"));
        zmq::pollitem_t item{b.in.handle(), 0, ZMQ_POLLIN, 0};
        got = zmq::poll(&item, 1, std::chrono::milliseconds(10)) == 1;
    }
    REQUIRE(got);
    REQUIRE(b.in.recv(topic, zmq::recv_flags::dontwait));
    REQUIRE(topic.more());
    REQUIRE(b.in.recv(body, zmq::recv_flags::dontwait));
    CHECK(topic.to_string() == "md.tick.AAPL");
    CHECK(body.to_string() == "body");
    CHECK_FALSE(body.more());
}

TEST_CASE(
    "transport: two frames are a message, one or three are malformed, subscriptions "
    "filter, and a drain reads at most its budget") {
    zmq::context_t ctx;
    fake_broker b(ctx, "frames");
    zmq_transport t(ctx, {});
    t.subscribe("md.");
    REQUIRE(t.connect(b.in_ep, b.out_ep));
    recording_sink sink;
    until_delivered(b, t, sink, {"md.tick.AAPL", "first"});
    REQUIRE(sink.messages.size() == 1);
    CHECK(sink.messages[0] == "md.tick.AAPL=first");
    (void)t.drain(sink, 1000);  // the repeats until_delivered may have left
    sink.messages.clear();

    b.send({"risk.state.x", "not subscribed"});
    b.send({"md.tick.MSFT"});
    b.send({"md.tick.MSFT", "body", "surplus"});
    b.send({"md.tick.SPY", "a"});
    b.send({"md.tick.SPY", "b"});
    zmq::pollitem_t item{t.inbound_socket().handle(), 0, ZMQ_POLLIN, 0};
    REQUIRE(zmq::poll(&item, 1, std::chrono::milliseconds(2000)) == 1);
    CHECK(t.drain(sink, 3) == 3);
    CHECK(t.drain(sink, 100) == 1);
    CHECK(sink.malformed == std::vector<std::string>{"md.tick.MSFT: expected 2 frames, got 1",
                                                     "md.tick.MSFT: expected 2 frames, got 3"});
    CHECK(sink.messages == std::vector<std::string>{"md.tick.SPY=a", "md.tick.SPY=b"});
    CHECK(sink.positions.empty());
}

TEST_CASE(
    "transport: on the recorder link a message carries its position or is not the "
    "logic's") {
    zmq::context_t ctx;
    fake_broker b(ctx, "link");
    zmq_transport t(ctx, {.recorder_link = true});
    t.subscribe("");
    REQUIRE(t.connect(b.in_ep, b.out_ep));
    recording_sink sink;
    until_delivered(b, t, sink, {"md.tick.AAPL", "x", position(7, 1)});
    (void)t.drain(sink, 1000);
    REQUIRE_FALSE(sink.messages.empty());
    CHECK(sink.positions.front() == "7/1");
    CHECK(sink.messages.front() == "md.tick.AAPL=x");
    sink = {};

    b.send({"md.tick.AAPL", "two frames"});
    b.send({"md.tick.AAPL", "short", "12345678"});
    b.send({"md.tick.AAPL", "y", position(0x0102030405060708ULL, 42)});
    zmq::pollitem_t item{t.inbound_socket().handle(), 0, ZMQ_POLLIN, 0};
    REQUIRE(zmq::poll(&item, 1, std::chrono::milliseconds(2000)) == 1);
    sink.accept_position = false;  // the logic has it already: dropped
    CHECK(t.drain(sink, 100) == 3);
    CHECK(sink.malformed ==
          std::vector<std::string>{
              "md.tick.AAPL: expected 3 frames [topic][body][16-byte epoch+seq] on the recorder "
              "link, got 2 (not logic's)",
              "md.tick.AAPL: expected 3 frames [topic][body][16-byte epoch+seq] on the recorder "
              "link, got 3 with a 8-byte third frame (not logic's)"});
    CHECK(sink.positions == std::vector<std::string>{"72623859790382856/42"});
    CHECK(sink.messages.empty());
}
