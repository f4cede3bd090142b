// Garbage on every broker socket (nats TestProtoErr): malformed data messages are dropped and
// counted by reason, bad subscription frames too, raw TCP noise is shrugged off, every control
// request gets an error reply (through REQ and through DEALER), and afterwards the broker
// still forwards and answers.
#include <doctest/doctest.h>

#include <map>
#include <random>

#include "broker_process.hpp"
#include "bus_clients.hpp"
#include "net.hpp"
#include "temp_dir.hpp"

using namespace tradebus;
using namespace tradebus::test;
namespace code = schema::error_code;

namespace {

std::uint64_t dropped(const schema::status_reply& s, std::string_view reason) {
    for (const auto& d : s.drops) {
        if (d.reason == reason) return d.count;
    }
    FAIL("no drop counter " << reason);
    return 0;
}

std::string random_bytes(std::mt19937_64& rng, std::size_t n) {
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng() & 0xff);
    return s;
}

// Proves the broker still forwards and answers.
void still_serving(zmq::context_t& ctx, broker_process& broker, const std::string& probe) {
    subscriber sub(ctx, broker.xpub, {probe});
    publisher pub(ctx, broker.xsub);
    wait_until_flowing(pub, sub, probe);
    CHECK(broker.process().running());
    (void)broker.status();
}

}  // namespace

TEST_CASE("broker: garbage on XSUB is dropped and counted by reason, forwarding goes on") {
    zmq::context_t ctx;
    temp_dir dir;
    broker_process broker(ctx, dir, {.max_message_bytes = 4096});
    subscriber sub(ctx, broker.xpub, {""});  // everything, so publishers send everything
    publisher pub(ctx, broker.xsub);
    wait_until_flowing(pub, sub, "test.probe");

    const std::vector<std::pair<std::vector<std::string>, std::string>> garbage = {
        {{"md.tick.X"}, "frame_count"},
        {{"md.tick.X", "a", "b"}, "frame_count"},
        {{"", "body"}, "empty"},
        {{"md.tick.X", ""}, "empty"},
        {{std::string(300, 'a'), "b"}, "topic_length"},
        {{"md.tick.\xff\xfe", "b"}, "topic_utf8"},
        {{"md tick", "b"}, "topic_chars"},
        {{"md.tick.*", "b"}, "topic_chars"},
        {{"md.big", std::string(10000, 'x')}, "oversized"},
        {{"sys.trading", "fake halt"}, "reserved_topic"},
        {{"sys.node.health", "fake"}, "reserved_topic"},
        {{"sys.broker.started", "fake restart"}, "reserved_topic"},  // CURVE or not
    };
    std::map<std::string, std::uint64_t> expected;
    for (const auto& [frames, reason] : garbage) {
        pub.send_frames(frames);
        ++expected[reason];
    }
    // Same publisher, same pipe: once the marker arrives every message before it was handled.
    pub.send("test.marker", "m");
    const auto seen = [&] {
        std::vector<bus_message> got;
        while (auto m = sub.recv(5s)) {
            if (m->topic == "test.marker") return got;
            got.push_back(*m);
        }
        FAIL("the marker never arrived");
        return got;
    }();
    for (const auto& m : seen) CHECK(m.topic.rfind("test.probe", 0) == 0);  // no garbage leaked

    const auto status = broker.status();
    for (const auto& [reason, count] : expected) {
        CAPTURE(reason);
        CHECK(dropped(status, reason) == count);
    }

    // Random frames: any count, any bytes. The broker must survive; the counts are not checked.
    std::mt19937_64 rng(12345);
    for (int i = 0; i < 300; ++i) {
        std::vector<std::string> frames(1 + rng() % 4);
        for (auto& f : frames) f = random_bytes(rng, rng() % 64);
        pub.send_frames(frames);
    }
    // A frame far above max_message_bytes: libzmq cuts that publisher's connection.
    publisher huge(ctx, broker.xsub);
    wait_until_flowing(huge, sub, "test.probe2");
    huge.send("md.huge", std::string(200'000, 'h'));

    // Raw TCP noise straight at the XSUB port.
    if (broker.xsub.rfind("tcp://", 0) == 0) {
        CHECK(send_raw_tcp(port_of(broker.xsub), random_bytes(rng, 4096)));
        CHECK(send_raw_tcp(port_of(broker.xsub),
                           std::string("\xff\0\0\0\0\0\0\0\x01\x7f", 10) + random_bytes(rng, 500)));
    }
    still_serving(ctx, broker, "test.after");
}

TEST_CASE("broker: garbage on XPUB (bad subscription frames, noise) is dropped and counted") {
    zmq::context_t ctx;
    temp_dir dir;
    broker_process broker(ctx, dir);
    // An XSUB peer can send any frames upstream, not only (un)subscriptions.
    zmq::socket_t rogue(ctx, zmq::socket_type::xsub);
    rogue.set(zmq::sockopt::linger, 0);
    rogue.connect(broker.xpub);
    const std::string probe_sub = std::string("\x01") + "test.rogue";
    (void)rogue.send(zmq::buffer(probe_sub), zmq::send_flags::none);
    publisher pub(ctx, broker.xsub);
    // The rogue's subscription works like any: wait until its probe arrives.
    {
        zmq_pollitem_t item{rogue.handle(), 0, ZMQ_POLLIN, 0};
        bool arrived = false;
        for (int i = 0; i < 500 && !arrived; ++i) {
            pub.send("test.rogue", "probe");
            arrived = zmq::poll(&item, 1, std::chrono::milliseconds(20)) > 0;
        }
        REQUIRE(arrived);
    }
    (void)rogue.send(zmq::buffer(std::string("\x02junk")), zmq::send_flags::none);
    (void)rogue.send(zmq::buffer(std::string("plain text")), zmq::send_flags::none);
    (void)rogue.send(zmq::buffer(std::string("\x01"
                                             "a")),
                     zmq::send_flags::sndmore);
    (void)rogue.send(zmq::buffer(std::string("b")), zmq::send_flags::none);
    // Unsubscribe last: once the rogue stops receiving the probes, everything before it was
    // handled (one pipe, in order).
    (void)rogue.send(zmq::buffer(std::string(1, '\0') + "test.rogue"), zmq::send_flags::none);

    const auto deadline = std::chrono::steady_clock::now() + 10s;
    schema::status_reply status;
    while (std::chrono::steady_clock::now() < deadline) {
        status = broker.status();
        if (dropped(status, "bad_subscription") >= 3) break;
    }
    CHECK(dropped(status, "bad_subscription") == 3);

    // A prefix longer than any topic is dropped; a frame above 1 KiB cuts the connection.
    (void)rogue.send(zmq::buffer("\x01" + std::string(300, 'p')), zmq::send_flags::none);
    (void)rogue.send(zmq::buffer("\x01" + std::string(2000, 'q')), zmq::send_flags::none);
    std::mt19937_64 rng(7);
    CHECK(send_raw_tcp(port_of(broker.xpub), random_bytes(rng, 4096)));
    still_serving(ctx, broker, "test.after");
}

TEST_CASE("broker: garbage on the control socket gets error replies (REQ)") {
    zmq::context_t ctx;
    temp_dir dir;
    broker_process broker(ctx, dir);
    control_client c(ctx, broker.control);

    struct row {
        std::vector<std::string> frames;
        std::string_view code;
    };
    std::string status_req;
    schema::encode_control(schema::status_request{}, status_req);
    std::string reply_as_request;
    schema::encode_control(schema::ok_reply{"x"}, reply_as_request);
    std::string bad_version = status_req;
    bad_version[2] = 7;  // {"v": 7, ...}
    const row rows[] = {
        {{"garbage"}, code::bad_request},
        {{""}, code::bad_request},
        {{std::string("\x81\xa1v\x01", 4)}, code::bad_request},
        {{std::string("\x82\xa1v\x01\xa4type\xa3zap", 13)}, code::unknown_type},
        {{bad_version}, code::unsupported_version},
        {{reply_as_request}, code::bad_request},
        {{status_req, status_req}, code::bad_request},     // two body frames
        {{std::string(2 << 20, 'x')}, code::bad_request},  // over the codec's 1 MiB limit
    };
    for (const auto& r : rows) {
        CAPTURE(r.frames.size());
        CAPTURE(r.frames[0].substr(0, 16));
        auto raw = c.request_raw(r.frames);
        REQUIRE_MESSAGE(raw, c.last_error());
        auto decoded = schema::decode_control(*raw);
        REQUIRE(decoded.ok());
        REQUIRE(std::holds_alternative<schema::error_reply>(decoded.value()));
        CHECK(std::get<schema::error_reply>(decoded.value()).code == r.code);
    }
    std::mt19937_64 rng(99);
    for (int i = 0; i < 200; ++i) {
        auto raw = c.request_raw({random_bytes(rng, rng() % 200)});
        REQUIRE_MESSAGE(raw, c.last_error());
        CHECK(schema::decode_control(*raw).ok());
    }
    // Above the transport limit (4 MiB) libzmq drops the connection: no reply, the client
    // times out and reconnects (Lazy Pirate), and the broker serves on.
    CHECK_FALSE(c.request_raw({std::string(5 << 20, 'x')}, 1s));
    CHECK(c.call<schema::status_reply>(schema::status_request{}).topics_total >= 1);
    if (broker.control.rfind("tcp://", 0) == 0) {
        CHECK(send_raw_tcp(port_of(broker.control), random_bytes(rng, 4096)));
    }
    still_serving(ctx, broker, "test.after");
}

TEST_CASE("broker: garbage on the control socket gets error replies (DEALER)") {
    zmq::context_t ctx;
    temp_dir dir;
    broker_process broker(ctx, dir);
    zmq::socket_t dealer(ctx, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 0);
    dealer.connect(broker.control);

    const auto exchange = [&](const std::vector<std::string>& frames) {
        for (std::size_t i = 0; i < frames.size(); ++i) {
            (void)dealer.send(zmq::buffer(frames[i]), i + 1 < frames.size()
                                                          ? zmq::send_flags::sndmore
                                                          : zmq::send_flags::none);
        }
        zmq_pollitem_t item{dealer.handle(), 0, ZMQ_POLLIN, 0};
        REQUIRE_MESSAGE(zmq::poll(&item, 1, std::chrono::milliseconds(5000)) > 0,
                        "no reply to a " << frames.size() << "-frame request");
        std::vector<std::string> reply;
        zmq::message_t m;
        do {
            (void)dealer.recv(m, zmq::recv_flags::none);
            reply.push_back(m.to_string());
        } while (m.more());
        return reply;
    };
    const auto error_code_of = [](const std::string& frame) {
        auto decoded = schema::decode_control(frame);
        REQUIRE(decoded.ok());
        REQUIRE(std::holds_alternative<schema::error_reply>(decoded.value()));
        return std::get<schema::error_reply>(decoded.value()).code;
    };

    // No delimiter: the reply comes back as one frame.
    auto r = exchange({"garbage"});
    REQUIRE(r.size() == 1);
    CHECK(error_code_of(r[0]) == code::bad_request);
    // REQ-style envelope: the reply keeps it.
    r = exchange({"", "garbage"});
    REQUIRE(r.size() == 2);
    CHECK(r[0].empty());
    CHECK(error_code_of(r[1]) == code::bad_request);
    r = exchange({"", "a", "b"});
    REQUIRE(r.size() == 2);
    CHECK(error_code_of(r[1]) == code::bad_request);
    r = exchange({""});
    REQUIRE(r.size() == 2);
    CHECK(error_code_of(r[1]) == code::bad_request);
    r = exchange(std::vector<std::string>(20, "x"));
    REQUIRE(r.size() == 1);
    CHECK(error_code_of(r[0]) == code::bad_request);
    // A well-formed request through a DEALER is answered normally.
    std::string status_req;
    schema::encode_control(schema::status_request{}, status_req);
    r = exchange({"", status_req});
    REQUIRE(r.size() == 2);
    auto decoded = schema::decode_control(r[1]);
    REQUIRE(decoded.ok());
    CHECK(std::holds_alternative<schema::status_reply>(decoded.value()));
    r = exchange({status_req});
    REQUIRE(r.size() == 1);
    CHECK(std::holds_alternative<schema::status_reply>(schema::decode_control(r[0]).value()));

    still_serving(ctx, broker, "test.after");
}
