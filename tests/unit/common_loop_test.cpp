// The loop the broker and every node run (common/loop.cpp): the order of a turn's hooks, what
// a readable socket shows, the end of the loop, and the cap on one wait.
#include <doctest/doctest.h>

#include <string>
#include <vector>
#include <zmq.hpp>

#include "tradebus/common/loop.hpp"

using tradebus::common::loop_owner;

namespace {

// Records each hook call; reads one message per turn from `in` when poll says it is readable.
struct recording_owner final : loop_owner {
    zmq::socket_t& in;
    std::vector<zmq_pollitem_t> items;
    std::int64_t timeout_ms;
    int turns_wanted;
    std::vector<std::string> calls;
    std::vector<std::string> received;
    int turns = 0;

    recording_owner(zmq::socket_t& s, std::int64_t timeout, int wanted)
        : in(s), timeout_ms(timeout), turns_wanted(wanted) {}

    wait prepare() override {
        calls.emplace_back("prepare");
        items.assign(1, {in.handle(), 0, ZMQ_POLLIN, 0});
        return {items, timeout_ms};
    }
    void dispatch() override {
        calls.emplace_back("dispatch");
        if ((items[0].revents & ZMQ_POLLIN) != 0) {
            zmq::message_t m;
            if (in.recv(m, zmq::recv_flags::dontwait)) received.push_back(m.to_string());
        }
    }
    void before_sleep() override {
        calls.emplace_back("before_sleep");
        ++turns;
    }
    [[nodiscard]] bool done() const override { return turns >= turns_wanted; }
};

}  // namespace

TEST_CASE("loop: each turn prepares, waits, dispatches what is readable, then runs before_sleep") {
    zmq::context_t ctx;
    zmq::socket_t rx(ctx, zmq::socket_type::pair), tx(ctx, zmq::socket_type::pair);
    rx.bind("inproc://loop-test");
    tx.connect("inproc://loop-test");
    tx.send(zmq::str_buffer("one"), zmq::send_flags::none);
    tx.send(zmq::str_buffer("two"), zmq::send_flags::none);

    recording_owner owner(rx, 0, 3);
    tradebus::common::run_loop(owner, 50);

    CHECK(owner.turns == 3);
    const std::vector<std::string> one_turn{"prepare", "dispatch", "before_sleep"};
    REQUIRE(owner.calls.size() == 9);
    for (std::size_t i = 0; i < owner.calls.size(); ++i) CHECK(owner.calls[i] == one_turn[i % 3]);
    // Two turns found a message, the third found the socket empty.
    CHECK(owner.received == std::vector<std::string>{"one", "two"});
}

TEST_CASE("loop: a wait never lasts past max_wait_ms, whatever the owner asks") {
    zmq::context_t ctx;
    zmq::socket_t rx(ctx, zmq::socket_type::pair);
    rx.bind("inproc://loop-idle");
    // The owner asks for an hour per wait; capped at 20 ms, five idle turns end at once
    // (uncapped, the test would hit its timeout).
    recording_owner owner(rx, 3'600'000, 5);
    tradebus::common::run_loop(owner, 20);
    CHECK(owner.turns == 5);
    CHECK(owner.received.empty());
}

TEST_CASE("loop: an owner that is done at once runs no turn") {
    zmq::context_t ctx;
    zmq::socket_t rx(ctx, zmq::socket_type::pair);
    rx.bind("inproc://loop-done");
    recording_owner owner(rx, 0, 0);
    tradebus::common::run_loop(owner, 20);
    CHECK(owner.calls.empty());
}
