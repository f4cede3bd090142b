// Data-plane counters and the per-message check: tables of inputs and expected outcomes.
#include <doctest/doctest.h>

#include <string>

#include "tradebus/broker/data_check.hpp"
#include "tradebus/broker/defaults.hpp"
#include "tradebus/broker/topic_counters.hpp"

using namespace tradebus::broker;

TEST_CASE("broker topic counters: counts per topic, busiest first") {
    topic_counters c(100);
    struct row {
        std::string_view topic;
        int messages;
        std::size_t bytes_each;
    };
    const row rows[] = {{"md.tick.AAPL", 5, 40},
                        {"md.tick.MSFT", 7, 10},
                        {"exec.fill.AAPL", 1, 99},
                        {"md.bar.AAPL", 5, 1}};
    for (const auto& r : rows) {
        for (int i = 0; i < r.messages; ++i) c.count(r.topic, r.bytes_each);
    }
    CHECK(c.tracked() == 4);
    for (const auto& r : rows) {
        CAPTURE(r.topic);
        const topic_count* got = c.find(r.topic);
        REQUIRE(got != nullptr);
        CHECK(got->messages == static_cast<std::uint64_t>(r.messages));
        CHECK(got->bytes == r.bytes_each * static_cast<std::size_t>(r.messages));
    }
    const auto top = c.busiest(3);
    REQUIRE(top.size() == 3);
    CHECK(top[0].topic == "md.tick.MSFT");
    CHECK(top[1].topic == "md.bar.AAPL");  // 5 messages, ties broken by name
    CHECK(top[2].topic == "md.tick.AAPL");
    CHECK(c.busiest(100).size() == 4);
    CHECK(c.busiest(0).empty());
    CHECK(c.find("md.tick") == nullptr);
}

TEST_CASE("broker topic counters: topics beyond the cap go to the other row") {
    topic_counters c(2);
    c.count("a.one", 1);
    c.count("a.two", 2);
    c.count("a.three", 3);
    c.count("a.four", 4);
    c.count("a.one", 1);
    c.count("a.one", 1);
    CHECK(c.tracked() == 2);
    CHECK(c.find("a.three") == nullptr);
    CHECK(c.other().messages == 2);
    CHECK(c.other().bytes == 7);
    const auto top = c.busiest(10);
    REQUIRE(top.size() == 3);
    CHECK(top[0].topic == "a.one");
    CHECK(top[1].topic == std::string(defaults::other_topic));
    CHECK(top[1].messages == 2);
}

TEST_CASE("broker data check: each malformed topic or body has its reason") {
    struct row {
        std::string topic;
        std::size_t body;
        std::optional<drop_reason> expect;
    };
    const std::size_t max = 1000;
    const row rows[] = {
        {"md.tick.AAPL", 10, std::nullopt},
        {"sys.probe.marketdata", max, std::nullopt},
        {"sys.node.health", 1, drop_reason::reserved_topic},
        {"sys.trading", 1, drop_reason::reserved_topic},
        {"sys.probe", 1, drop_reason::reserved_topic},
        {"system.x", 1, std::nullopt},
        {"md.tick.caf\xc3\xa9", 1, std::nullopt},  // é: two-byte UTF-8
        {"x.\xf0\x9f\x93\x88", 1, std::nullopt},   // U+1F4C8: four bytes
        {std::string(255, 'a'), 1, std::nullopt},
        {"", 1, drop_reason::empty},
        {"md.tick.AAPL", 0, drop_reason::empty},
        {"md.tick.AAPL", max + 1, drop_reason::oversized},
        {std::string(256, 'a'), 1, drop_reason::topic_length},
        {"md.tick.\xff", 1, drop_reason::topic_utf8},
        {"md.\xc3", 1, drop_reason::topic_utf8},              // truncated sequence
        {"md.\xc0\xaf", 1, drop_reason::topic_utf8},          // overlong '/'
        {"md.\xed\xa0\x80", 1, drop_reason::topic_utf8},      // surrogate
        {"md.\xf4\x90\x80\x80", 1, drop_reason::topic_utf8},  // above U+10FFFF
        {"md tick", 1, drop_reason::topic_chars},
        {"md.tick.*", 1, drop_reason::topic_chars},
        {"md.>", 1, drop_reason::topic_chars},
        {std::string("md.\0x", 5), 1, drop_reason::topic_chars},
        {"md.\x7f", 1, drop_reason::topic_chars},
    };
    for (const auto& r : rows) {
        CAPTURE(r.topic);
        CAPTURE(r.body);
        const auto got = check_message(r.topic, r.body, max);
        CHECK(got.has_value() == r.expect.has_value());
        if (got && r.expect) CHECK(to_string(*got) == to_string(*r.expect));
    }
}

TEST_CASE("broker data check: the reserved other row can never be a forwarded topic") {
    CHECK(check_topic(defaults::other_topic).has_value());
    for (std::size_t i = 0; i < drop_reason_count; ++i) {
        CHECK_FALSE(drop_reason_names[i].empty());
        CHECK_FALSE(describe(static_cast<drop_reason>(i)).empty());
    }
}

TEST_CASE("broker topic counters: idle rows age out into the other row, busy rows stay") {
    topic_counters c(3);
    c.count("a.busy", 10);
    c.count("a.idle", 20);
    c.count("a.idle", 20);
    c.count("a.full", 5);
    c.count("a.beyond", 7);  // beyond the cap of 3
    CHECK(c.other().messages == 1);
    const auto sweep_all = [&] {
        std::size_t visited = 0;
        for (std::size_t b = 0; b < c.buckets(); b += 2) visited += c.sweep(b, 2);
        return visited;
    };
    // First pass: every row had messages since it was made: all kept, marked untouched.
    CHECK(sweep_all() == 3);
    CHECK(c.tracked() == 3);
    CHECK(c.removed() == 0);
    c.count("a.busy", 10);
    // Second pass: the rows without a message since the first go, their counts kept in "other".
    CHECK(sweep_all() == 3);
    CHECK(c.tracked() == 1);
    CHECK(c.removed() == 2);
    CHECK(c.find("a.idle") == nullptr);
    CHECK(c.other().messages == 1 + 2 + 1);
    CHECK(c.other().bytes == 7 + 40 + 5);
    REQUIRE(c.find("a.busy") != nullptr);
    CHECK(c.find("a.busy")->messages == 2);
    // The freed rows take new topics again: a real topic is no longer stuck in "other".
    c.count("a.new", 1);
    REQUIRE(c.find("a.new") != nullptr);
    CHECK(c.find("a.new")->messages == 1);
    c.count("a.idle", 1);  // back after aging out: a fresh row from 0
    REQUIRE(c.find("a.idle") != nullptr);
    CHECK(c.find("a.idle")->messages == 1);
}
