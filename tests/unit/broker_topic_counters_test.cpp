// Data-plane counters and the per-message check: tables of inputs and expected outcomes.
#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "tradebus/broker/data_check.hpp"
#include "tradebus/broker/defaults.hpp"
#include "tradebus/broker/topic_counters.hpp"
#include "tradebus/schema/topics.hpp"

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

namespace {

// Topics whose hashes share their low bits (the same home slot in a table of `slots`).
std::vector<std::string> colliding_topics(std::size_t n, std::size_t slots) {
    std::vector<std::string> out;
    std::uint64_t home = 0;
    for (int i = 0; out.size() < n; ++i) {
        std::string t = "md.tick.C" + std::to_string(i);
        const std::uint64_t h = topic_hash(t) & (slots - 1);
        if (out.empty()) home = h;
        if (h == home) out.push_back(std::move(t));
    }
    return out;
}

}  // namespace

TEST_CASE("broker topic counters: topics on one home slot each keep their own row") {
    // The initial table for a cap of 100 has 128 slots: every topic below starts its probe at
    // the same one, so each lookup walks past the others.
    topic_counters c(100);
    REQUIRE(c.buckets() == 128);
    const auto topics = colliding_topics(12, c.buckets());
    for (std::size_t i = 0; i < topics.size(); ++i) {
        for (std::size_t k = 0; k <= i; ++k) c.count(topics[i], 10 + i);
    }
    CHECK(c.tracked() == topics.size());
    CHECK(c.other().messages == 0);
    for (std::size_t i = 0; i < topics.size(); ++i) {
        CAPTURE(topics[i]);
        const topic_count* got = c.find(topics[i]);
        REQUIRE(got != nullptr);
        CHECK(got->messages == i + 1);
        CHECK(got->bytes == (i + 1) * (10 + i));
    }
    CHECK(c.find("md.tick.C-absent") == nullptr);
}

TEST_CASE("broker topic counters: the table grows up to the cap, then the other row counts") {
    const std::size_t cap = 5000;
    topic_counters c(cap);
    const std::uint64_t layout_before = c.layout();
    for (std::size_t i = 0; i < cap + 300; ++i) c.count("md.bar.S" + std::to_string(i), 2);
    CHECK(c.tracked() == cap);
    CHECK(c.layout() > layout_before);  // grew (rebuilt) on the way
    CHECK(c.buckets() >= cap);
    CHECK(c.buckets() <= 2 * 8 * cap / 7);  // bounded by the cap, not by what was offered
    CHECK(c.other().messages == 300);
    CHECK(c.other().bytes == 600);
    for (std::size_t i = 0; i < cap + 300; ++i) {
        const std::string t = "md.bar.S" + std::to_string(i);
        const topic_count* got = c.find(t);
        if (i < cap) {
            REQUIRE(got != nullptr);
            CHECK(got->messages == 1);
        } else {
            CHECK(got == nullptr);
        }
    }
    // A tracked topic still gets its own row at the cap; the walk shows every row once.
    c.count("md.bar.S0", 2);
    CHECK(c.find("md.bar.S0")->messages == 2);
    std::size_t rows = 0, messages = 0;
    c.for_each([&](std::string_view, const topic_count& n) {
        ++rows;
        messages += n.messages;
    });
    CHECK(rows == cap);
    CHECK(messages == cap + 1);
    std::size_t walked = 0;
    for (std::size_t b = 0; b < c.buckets(); ++b) {
        walked += c.for_each_in_bucket(b, [](std::string_view, const topic_count&) {});
    }
    CHECK(walked == cap);
}

TEST_CASE("broker topic counters: long topics, up to the maximum length, are keys like others") {
    topic_counters c(10);
    const std::string longest(tradebus::schema::topics::max_topic_bytes, 'x');
    std::string almost = longest;
    almost.back() = 'y';               // differs in the last byte only
    const std::string edge(30, 'e');   // the longest kept inline in the row
    const std::string edge1(31, 'e');  // the shortest kept apart
    for (const auto& t : {longest, almost, edge, edge1}) c.count(t, t.size());
    c.count(longest, 1);
    CHECK(c.tracked() == 4);
    REQUIRE(c.find(longest) != nullptr);
    CHECK(c.find(longest)->messages == 2);
    CHECK(c.find(longest)->bytes == longest.size() + 1);
    REQUIRE(c.find(almost) != nullptr);
    CHECK(c.find(almost)->messages == 1);
    CHECK(c.find(edge)->messages == 1);
    CHECK(c.find(edge1)->messages == 1);
    CHECK(c.find(std::string(254, 'x')) == nullptr);
    std::set<std::string> seen;
    c.for_each([&](std::string_view t, const topic_count&) { seen.emplace(t); });
    CHECK(seen == std::set<std::string>{longest, almost, edge, edge1});
    const auto top = c.busiest(1);
    REQUIRE(top.size() == 1);
    CHECK(top[0].topic == longest);
}

TEST_CASE("broker topic counters: the sweep removes only idle rows, the others stay findable") {
    // Rows removed from the middle of probe chains (colliding topics, long and short ones):
    // every remaining row is still found, freed slots and long-topic copies are reused.
    topic_counters c(64);
    REQUIRE(c.buckets() == 128);
    auto topics = colliding_topics(10, c.buckets());
    topics.push_back(std::string(200, 'L') + "1");
    topics.push_back(std::string(200, 'L') + "2");
    for (const auto& t : topics) c.count(t, 1);
    const auto sweep_all = [&] {
        for (std::size_t b = 0; b < c.buckets(); b += 7) c.sweep(b, 7);
    };
    sweep_all();  // all marked untouched
    // Keep every other topic busy; the rest go idle.
    for (std::size_t i = 0; i < topics.size(); i += 2) c.count(topics[i], 1);
    sweep_all();
    CHECK(c.tracked() == topics.size() / 2);
    CHECK(c.removed() == topics.size() / 2);
    for (std::size_t i = 0; i < topics.size(); ++i) {
        CAPTURE(topics[i]);
        const topic_count* got = c.find(topics[i]);
        if (i % 2 == 0) {
            REQUIRE(got != nullptr);
            CHECK(got->messages == 2);
        } else {
            CHECK(got == nullptr);
        }
    }
    CHECK(c.other().messages == topics.size() / 2);
    // The removed topics come back as fresh rows, next to the ones that stayed.
    for (std::size_t i = 1; i < topics.size(); i += 2) c.count(topics[i], 5);
    CHECK(c.tracked() == topics.size());
    for (std::size_t i = 0; i < topics.size(); ++i) {
        CAPTURE(topics[i]);
        REQUIRE(c.find(topics[i]) != nullptr);
        CHECK(c.find(topics[i])->messages == (i % 2 == 0 ? 2U : 1U));
    }
    CHECK(c.other().messages == topics.size() / 2);  // unchanged
}

TEST_CASE("broker topic counters: churn through the sweep never grows the table past the cap") {
    // Each round: 40 new topics, the previous round's aged out by two sweeps. Deleted slots
    // pile up until a rebuild drops them (at the same size, or doubled when it comes with most
    // of the cap live): the table never passes twice the size the cap needs.
    topic_counters c(50);
    const std::size_t slots = c.buckets();
    for (int round = 0; round < 200; ++round) {
        for (int i = 0; i < 40; ++i) {
            c.count("x.r" + std::to_string(round) + ".t" + std::to_string(i), 1);
        }
        c.sweep(0, c.buckets());
        c.sweep(0, c.buckets());
        CHECK(c.tracked() == 0);
    }
    CHECK(c.buckets() <= 2 * slots);
    CHECK(c.layout() > 2);  // rebuilt along the way, not grown without bound
    CHECK(c.removed() == 200 * 40);
    CHECK(c.other().messages == 200 * 40);
    CHECK(c.other().bytes == 200 * 40);
}

TEST_CASE("broker topic counters: the hash spreads topics that differ in one byte") {
    // Symbols differing only in their last digits land in different slots and tags.
    std::set<std::uint64_t> low, tags;
    for (int i = 0; i < 256; ++i) {
        const std::uint64_t h = topic_hash("md.tick.S" + std::to_string(100000 + i));
        low.insert(h & 1023);
        tags.insert(h >> 57);
    }
    CHECK(low.size() > 200);   // 256 balls in 1024 bins: ~226 distinct expected
    CHECK(tags.size() > 100);  // in 128 bins: ~112 expected
    CHECK(topic_hash("") != topic_hash(std::string_view("\0", 1)));
    CHECK(topic_hash("abcdefgh") != topic_hash(std::string_view("abcdefgh\0", 9)));
}
