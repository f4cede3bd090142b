// The recorder link (broker/recorder.cpp) over inproc: a subscriber that stops reading makes
// offer() hold messages in order, flush() hands them on once it reads again, and beyond
// max_held the broker's own events are counted as overflow; every message carries its
// sequence number, is kept until acknowledged (within the retention) and sent again after a
// resume; bogus acks and resumes change nothing.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "tradebus/broker/recorder.hpp"

using namespace tradebus::broker;

namespace {

constexpr std::uint64_t epoch = 0x1122334455667788;

// The third frame of a recorder message: epoch and seq, big-endian.
std::pair<std::uint64_t, std::uint64_t> seq_of(const zmq::message_t& frame) {
    REQUIRE(frame.size() == recorder_seq_frame_bytes);
    const auto* b = frame.data<unsigned char>();
    std::uint64_t e = 0, s = 0;
    for (std::size_t i = 0; i < 8; ++i) {
        e = e << 8 | static_cast<std::uint64_t>(b[i]);
        s = s << 8 | static_cast<std::uint64_t>(b[8 + i]);
    }
    return {e, s};
}

zmq::message_t msg(const std::string& s) { return zmq::message_t(s.data(), s.size()); }

// Offers "t"/"<i>" until the recorder refuses one; returns how many it took.
int fill(recorder& r) {
    for (int i = 0;; ++i) {
        auto t = msg("t");
        auto b = msg(std::to_string(i));
        if (!r.offer(t, b)) return i;
        REQUIRE(i < 1'000'000);
    }
}

// A recorder bound on `endpoint` with a queue of 10, and a subscriber to everything (queue 10)
// that reads only when told to.
struct recorder_link {
    zmq::context_t ctx;
    data_stats stats{16};
    recorder rec{ctx, 10, stats, epoch, 100'000, 1 << 20};
    zmq::socket_t sub{ctx, zmq::socket_type::sub};

    explicit recorder_link(const std::string& endpoint) {
        rec.bind(endpoint);
        sub.set(zmq::sockopt::rcvhwm, 10);
        sub.set(zmq::sockopt::subscribe, "");
        sub.connect(endpoint);
        zmq::message_t subscription;  // the XPUB sees it: from now on its sends match
        REQUIRE(rec.socket().recv(subscription));
    }
};

}  // namespace

TEST_CASE("broker recorder: no subscriber, nothing is held") {
    zmq::context_t ctx;
    data_stats stats(16);
    recorder r(ctx, 10, stats, epoch, 100'000, 1 << 20);
    r.bind("inproc://recorder-none");
    for (int i = 0; i < 1000; ++i) {
        auto t = msg("t");
        auto b = msg("b");
        REQUIRE(r.offer(t, b));
    }
    CHECK_FALSE(r.stalled());
    CHECK(stats.recorder.enabled);
    CHECK(stats.recorder.stalls == 0);
}

TEST_CASE("broker recorder: a full subscriber queue holds messages in order until it reads") {
    recorder_link l("inproc://recorder-full");
    recorder& r = l.rec;
    const data_stats& stats = l.stats;
    zmq::socket_t& sub = l.sub;

    const int taken = fill(r);
    CHECK(taken > 0);
    CHECK(r.stalled());
    CHECK(stats.recorder.stalls == 1);
    // Later offers queue behind the held one, whatever their own fate would be.
    auto t = msg("t");
    auto b = msg("later");
    CHECK_FALSE(r.offer(t, b));
    CHECK(stats.recorder.held == 2);
    std::vector<std::string> forwarded;
    const auto forward = [&](zmq::message_t&, zmq::message_t& body) {
        forwarded.push_back(body.to_string());
    };
    CHECK_FALSE(r.flush(forward));  // still full
    CHECK(forwarded.empty());

    // The subscriber reads everything: the held messages go out in order.
    std::vector<std::string> received;
    const auto drain = [&] {
        zmq::message_t part;
        int frame = 0;
        while (sub.recv(part, zmq::recv_flags::dontwait)) {
            if (frame == 1) received.push_back(part.to_string());  // [topic][body][seq]
            frame = part.more() ? frame + 1 : 0;
        }
    };
    drain();
    // The reader's progress reaches the XPUB as a command it processes on its next poll (as
    // in the broker's loop) or, throttled, on a send: retry like the broker does.
    bool flushed = false;
    for (int k = 0; k < 1000 && !flushed; ++k) {
        zmq::pollitem_t item{r.socket().handle(), 0, ZMQ_POLLIN, 0};
        (void)zmq::poll(&item, 1, std::chrono::milliseconds(1));
        flushed = r.flush(forward);
    }
    CHECK(flushed);
    CHECK_FALSE(r.stalled());
    CHECK(forwarded == std::vector<std::string>{std::to_string(taken), "later"});
    drain();
    REQUIRE(received.size() == static_cast<std::size_t>(taken) + 2);
    CHECK(received[static_cast<std::size_t>(taken)] == std::to_string(taken));
    CHECK(received.back() == "later");
    CHECK(stats.recorder.held == 0);
    CHECK(stats.recorder.sent == static_cast<std::uint64_t>(taken) + 2);
}

TEST_CASE("broker recorder: beyond max_held an offer is dropped and counted as overflow") {
    recorder_link l("inproc://recorder-overflow");
    recorder& r = l.rec;
    const data_stats& stats = l.stats;
    (void)fill(r);
    for (std::size_t i = 1; i < recorder::max_held + 5; ++i) {
        auto t = msg("t");
        auto b = msg("x");
        CHECK_FALSE(r.offer(t, b));
    }
    CHECK(stats.recorder.held == recorder::max_held);
    CHECK(stats.recorder.overflow == 5);
}

TEST_CASE("broker recorder: a resume sends again what was not acknowledged, numbered, in order") {
    recorder_link l("inproc://recorder-resume");
    recorder& r = l.rec;
    const data_stats& stats = l.stats;
    for (int i = 1; i <= 5; ++i) {
        auto t = msg("t");
        auto b = msg("m" + std::to_string(i));
        REQUIRE(r.offer(t, b));
    }
    const auto read = [&](std::size_t n) {
        std::vector<std::pair<std::string, std::uint64_t>> got;
        zmq::message_t topic, body, seq;
        for (std::size_t k = 0; k < n; ++k) {
            REQUIRE(l.sub.recv(topic));
            REQUIRE(topic.more());
            REQUIRE(l.sub.recv(body));
            REQUIRE(body.more());
            REQUIRE(l.sub.recv(seq));
            CHECK_FALSE(seq.more());
            const auto [e, s] = seq_of(seq);
            CHECK(e == epoch);
            got.emplace_back(body.to_string(), s);
        }
        return got;
    };
    CHECK(read(5) == std::vector<std::pair<std::string, std::uint64_t>>{
                         {"m1", 1}, {"m2", 2}, {"m3", 3}, {"m4", 4}, {"m5", 5}});
    CHECK(stats.recorder.seq == 5);
    CHECK(stats.recorder.retained == 5);

    // The journal wrote up to 2 and came back: 3..5 again, before anything new.
    const auto reply = r.resume(epoch, 2);
    REQUIRE(std::holds_alternative<tradebus::schema::recorder_resume_reply>(reply));
    const auto& ok = std::get<tradebus::schema::recorder_resume_reply>(reply);
    CHECK(ok.first == 3);
    CHECK(ok.missing == 0);
    CHECK(ok.next == 6);
    CHECK(r.stalled());
    auto t = msg("t");
    auto b = msg("m6");
    CHECK_FALSE(r.offer(t, b));  // new: waits behind the redelivery
    std::vector<std::string> forwarded;
    CHECK(r.flush(
        [&](zmq::message_t&, zmq::message_t& body) { forwarded.push_back(body.to_string()); }));
    CHECK(forwarded == std::vector<std::string>{"m6"});  // only the new one goes on to XPUB
    CHECK(read(4) == std::vector<std::pair<std::string, std::uint64_t>>{
                         {"m3", 3}, {"m4", 4}, {"m5", 5}, {"m6", 6}});
    CHECK(stats.recorder.redelivered == 3);
    CHECK(stats.recorder.acked == 2);
    CHECK(stats.recorder.retained == 4);

    CHECK(r.ack(epoch, 6).empty());
    CHECK(stats.recorder.retained == 0);
    CHECK(stats.recorder.acked == 6);
    CHECK(stats.recorder.evicted == 0);
}

TEST_CASE("broker recorder: beyond retain_messages the oldest is evicted and a resume says so") {
    zmq::context_t ctx;
    data_stats stats(16);
    recorder r(ctx, 10, stats, epoch, 3, 1 << 20);
    r.bind("inproc://recorder-evict");
    for (int i = 1; i <= 10; ++i) {
        auto t = msg("t");
        auto b = msg("m" + std::to_string(i));
        REQUIRE(r.offer(t, b));
    }
    CHECK(stats.recorder.retained == 3);
    CHECK(stats.recorder.evicted == 7);
    const auto reply = r.resume(epoch, 2);
    REQUIRE(std::holds_alternative<tradebus::schema::recorder_resume_reply>(reply));
    const auto& ok = std::get<tradebus::schema::recorder_resume_reply>(reply);
    CHECK(ok.first == 8);
    CHECK(ok.missing == 5);  // 3..7
    CHECK(ok.next == 11);
}

TEST_CASE("broker recorder: retain_bytes bounds what is kept too") {
    zmq::context_t ctx;
    data_stats stats(16);
    recorder r(ctx, 10, stats, epoch, 1000, 100);
    r.bind("inproc://recorder-bytes");
    for (int i = 0; i < 50; ++i) {
        auto t = msg("topic");
        auto b = msg(std::string(20, 'x'));  // 25 bytes each
        REQUIRE(r.offer(t, b));
    }
    CHECK(stats.recorder.retained == 4);
    CHECK(stats.recorder.retained_bytes == 100);
    CHECK(stats.recorder.evicted == 46);
}

TEST_CASE("broker recorder: a bogus ack or resume is refused and changes nothing") {
    zmq::context_t ctx;
    data_stats stats(16);
    recorder r(ctx, 10, stats, epoch, 1000, 1 << 20);
    r.bind("inproc://recorder-bogus");
    for (int i = 0; i < 4; ++i) {
        auto t = msg("t");
        auto b = msg("b");
        REQUIRE(r.offer(t, b));
    }
    struct row {
        bool resume;
        std::uint64_t epoch, seq;
        std::string reason;
    };
    const row rows[] = {
        {false, epoch + 1, 1, "epoch 1234605616436508553 is not this broker's"},
        {false, epoch, 5, "seq 5 was never sent (last sent 4)"},
        {true, epoch, 99, "after 99 was never sent (last sent 4)"},
        {true, 0, 0, "epoch 0 is not this broker's"},
    };
    for (const auto& x : rows) {
        CAPTURE(x.reason);
        std::string why;
        if (x.resume) {
            const auto reply = r.resume(x.epoch, x.seq);
            REQUIRE(std::holds_alternative<std::string>(reply));
            why = std::get<std::string>(reply);
        } else {
            why = r.ack(x.epoch, x.seq);
        }
        CHECK(why.find(x.reason) != std::string::npos);
        CHECK(stats.recorder.acked == 0);
        CHECK(stats.recorder.retained == 4);
        CHECK_FALSE(r.stalled());
    }
}
