// The recorder link's hold queue (broker/recorder.cpp) over inproc: a subscriber that stops
// reading makes offer() hold messages in order, flush() hands them on once it reads again,
// and beyond max_held the broker's own events are counted as overflow.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "tradebus/broker/recorder.hpp"

using namespace tradebus::broker;

namespace {

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
    recorder rec{ctx, 10, stats};
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
    recorder r(ctx, 10, stats);
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
        while (sub.recv(part, zmq::recv_flags::dontwait)) {
            if (!part.more()) received.push_back(part.to_string());
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
