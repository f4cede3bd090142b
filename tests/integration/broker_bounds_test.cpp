// What hostile subscribers can make a real tradebus-broker pass to publishers: every
// subscription and unsubscription reaches a publisher exactly, even one that reads its
// subscriptions late, and no more than [data] max_subscriptions distinct prefixes at a time
// (the rest refused and counted), so a publisher's memory stays bounded whatever subscribers do.
#include <doctest/doctest.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>

#include "broker_process.hpp"
#include "bus_clients.hpp"
#include "net.hpp"
#include "temp_dir.hpp"

using namespace tradebus;
using namespace tradebus::test;

namespace {

// A publisher that shows what it is subscribed to: an XPUB socket connected to the broker's
// XSUB, as a node's PUB is, that hands the subscription frames to the test. It is connected
// once the broker's own last-value-cache prefixes ("md.tick.", "md.bar.") have arrived.
struct watching_publisher {
    zmq::socket_t socket;
    std::set<std::string> subscribed;  // prefixes starting with `watched`
    std::size_t subscribes = 0, unsubscribes = 0;
    std::size_t frames = 0;  // every subscription frame, watched or not
    std::string watched;

    watching_publisher(zmq::context_t& ctx, const std::string& xsub, std::string prefix)
        : socket(ctx, zmq::socket_type::xpub), watched(std::move(prefix)) {
        socket.set(zmq::sockopt::linger, 0);
        // A publisher that is slow to read: a small queue and socket buffer, so frames the
        // broker sends while it is busy stay queued on the broker's side.
        socket.set(zmq::sockopt::rcvhwm, 10);
        socket.set(zmq::sockopt::rcvbuf, 4096);
        socket.connect(xsub);
        REQUIRE(read_until([](const watching_publisher& p) { return p.frames > 0; },
                           std::chrono::seconds(10)));
    }

    // Reads subscription frames until `done` or `timeout`; true when done.
    template <class Done>
    bool read_until(Done done, std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            zmq::message_t frame;
            if (!socket.recv(frame, zmq::recv_flags::dontwait)) {
                zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
                (void)zmq::poll(&item, 1, std::chrono::milliseconds(50));
                if (done(*this)) return true;
                continue;
            }
            const std::string_view f = frame.to_string_view();
            REQUIRE(!f.empty());
            ++frames;
            const std::string prefix(f.substr(1));
            if (!prefix.starts_with(watched)) continue;
            if (f[0] == 1) {
                ++subscribes;
                subscribed.insert(prefix);
            } else {
                ++unsubscribes;
                subscribed.erase(prefix);
            }
            if (done(*this)) return true;
        }
        return done(*this);
    }
};

// A subscriber that subscribes to `n` distinct long prefixes under `base` at once.
std::unique_ptr<zmq::socket_t> subscribe_many(zmq::context_t& ctx, const std::string& xpub,
                                              const std::string& base, std::size_t n) {
    auto sub = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::sub);
    sub->set(zmq::sockopt::linger, 0);
    sub->set(zmq::sockopt::sndhwm, 0);  // every subscription leaves this socket
    sub->connect(xpub);
    for (std::size_t i = 0; i < n; ++i) {
        std::string prefix = base + std::to_string(i) + ".";
        prefix.resize(240, 'x');
        sub->set(zmq::sockopt::subscribe, prefix);
    }
    return sub;
}

// One sample of the broker's metrics endpoint (a line "name value"), or -1 when absent.
double metric(int port, const std::string& name) {
    const auto answer = http_exchange(port, "GET /metrics HTTP/1.0\r\n\r\n");
    REQUIRE(answer);
    const auto at = answer->find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stod(answer->substr(at + name.size() + 2));
}

std::uint64_t drops(const schema::status_reply& s, std::string_view reason) {
    for (const auto& d : s.drops) {
        if (d.reason == reason) return d.count;
    }
    FAIL("no drop reason " << reason << " in status");
    return 0;
}

}  // namespace

TEST_CASE("bounds: a burst of subscriptions and unsubscriptions reaches a slow publisher exactly") {
    zmq::context_t ctx;
    temp_dir dir;
    broker_settings s;
    s.data_toml = "max_subscriptions = 100000\n";
    const int port = free_tcp_port();
    s.extra_toml = "[metrics]\nlisten = \"tcp://127.0.0.1:" + std::to_string(port) + "\"\n";
    broker_process broker(ctx, dir, s);
    watching_publisher pub(ctx, broker.xsub, "test.churn.");

    // 10,000 distinct prefixes of 240 bytes (2.4 MB of frames: ten times libzmq's default
    // high-water mark, which dropped them before) subscribed, then all dropped when the
    // subscriber leaves, while the publisher reads nothing.
    constexpr std::size_t n = 10'000;
    auto sub = subscribe_many(ctx, broker.xpub, "test.churn.", n);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(40);
    double passed = 0;
    while (passed < n && std::chrono::steady_clock::now() < deadline) {
        passed = metric(port, "tradebus_subscriptions_total");
        if (passed < n) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    REQUIRE(passed == n);  // the broker passed them all upstream
    sub.reset();           // leaves: the broker passes an unsubscribe for each prefix

    // Now the publisher reads: it must have got every one of both, and hold nothing.
    const bool all =
        pub.read_until([&](const watching_publisher& p) { return p.unsubscribes == n; },
                       std::chrono::duration_cast<std::chrono::milliseconds>(
                           deadline - std::chrono::steady_clock::now()));
    CHECK(all);
    CHECK(pub.subscribes == n);
    CHECK(pub.unsubscribes == n);
    CHECK(pub.subscribed.empty());
    CHECK(drops(broker.status(), "subscription_limit") == 0);
}

TEST_CASE("bounds: subscriptions beyond max_subscriptions are refused, counted, never passed") {
    zmq::context_t ctx;
    temp_dir dir;
    broker_settings s;
    s.data_toml = "max_subscriptions = 100\n";
    broker_process broker(ctx, dir, s);
    watching_publisher pub(ctx, broker.xsub, "test.many.");

    // 300 prefixes asked for: the first 100 reach the publisher, 200 are refused and counted.
    auto sub = subscribe_many(ctx, broker.xpub, "test.many.", 300);
    const auto refused_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    std::uint64_t refused = 0;
    while (refused < 200 && std::chrono::steady_clock::now() < refused_deadline) {
        refused = drops(broker.status(), "subscription_limit");
    }
    CHECK(refused == 200);
    CHECK(pub.read_until([](const watching_publisher& p) { return p.subscribes == 100; },
                         std::chrono::seconds(10)));
    CHECK(pub.subscribed.size() == 100);

    // The limit holds for everyone: another subscriber's new prefix is refused too.
    subscriber other(ctx, broker.xpub, {"test.else."});
    const auto refused_more = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (refused < 201 && std::chrono::steady_clock::now() < refused_more) {
        refused = drops(broker.status(), "subscription_limit");
    }
    CHECK(refused == 201);

    // The subscriber leaves: exactly the 100 passed are taken back; the refused ones were never
    // passed, so nothing is left at the publisher.
    sub.reset();
    CHECK(pub.read_until([](const watching_publisher& p) { return p.unsubscribes == 100; },
                         std::chrono::seconds(20)));
    CHECK(pub.subscribes == 100);
    CHECK(pub.subscribed.empty());

    // Room again: a new prefix passes.
    subscriber later(ctx, broker.xpub, {"test.many.later"});
    CHECK(pub.read_until([](const watching_publisher& p) { return p.subscribes == 101; },
                         std::chrono::seconds(10)));
}
