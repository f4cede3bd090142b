// The broker's last-value cache: prefixes, bounds (topics, bytes) and what happens when full,
// snapshot paging, and its index (topic_table) kept in step with the ordered entries.
#include <doctest/doctest.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "tradebus/broker/last_value_cache.hpp"
#include "tradebus/schema/topics.hpp"

using tradebus::broker::last_value_cache;

TEST_CASE("last value cache: keeps the last body per covered topic, byte for byte") {
    last_value_cache c({"md.tick.", "md.bar."}, 100, 1 << 20);
    CHECK(c.covers("md.tick.AAPL"));
    CHECK(c.covers("md.bar.AAPL"));
    CHECK_FALSE(c.covers("md.trade.AAPL"));
    CHECK_FALSE(c.covers("exec.fill.AAPL"));
    c.update("md.tick.AAPL", std::string("one\0x", 5));
    c.update("md.tick.AAPL", std::string("two\0\xff", 5));
    c.update("md.tick.MSFT", "m");
    CHECK(c.topics() == 2);
    CHECK(c.bytes() == 12 + 5 + 12 + 1);
    last_value_cache::page p;
    c.snapshot("md.tick.", "", 10, 1 << 20, p);
    REQUIRE(p.items.size() == 2);
    CHECK(p.items[0].first == "md.tick.AAPL");
    CHECK(p.items[0].second == std::string("two\0\xff", 5));
    CHECK(p.items[1].first == "md.tick.MSFT");
    CHECK(p.next.empty());
    c.snapshot("md.tick.AAPL", "", 10, 1 << 20, p);
    CHECK(p.items.size() == 1);
    c.snapshot("md.bar.", "", 10, 1 << 20, p);
    CHECK(p.items.empty());
    CHECK(p.next.empty());
}

TEST_CASE("last value cache: full by topics, new topics are refused, cached ones update") {
    last_value_cache c({"md."}, 2, 1 << 20);
    c.update("md.a", "1");
    c.update("md.b", "1");
    c.update("md.c", "1");  // refused: two topics already
    CHECK(c.topics() == 2);
    CHECK(c.refused() == 1);
    c.update("md.a", "22");
    CHECK(c.updates() == 3);
    last_value_cache::page p;
    c.snapshot("md.", "", 10, 1 << 20, p);
    REQUIRE(p.items.size() == 2);
    CHECK(p.items[0].second == "22");
    CHECK(p.items[1].first == "md.b");
}

TEST_CASE("last value cache: full by bytes, an update that does not fit drops that topic") {
    last_value_cache c({"md."}, 100, 1024);
    c.update("md.a", std::string(500, 'a'));  // 504 bytes
    c.update("md.b", std::string(500, 'b'));  // 1008 bytes
    CHECK(c.bytes() == 1008);
    c.update("md.c", std::string(20, 'c'));  // 24 more would exceed 1024: refused
    CHECK(c.topics() == 2);
    c.update("md.a", std::string(600, 'a'));  // would be 1108: the stale value goes
    CHECK(c.topics() == 1);
    CHECK(c.bytes() == 504);
    CHECK(c.refused() == 2);
    c.update("md.b", std::string(10, 'b'));  // shrinking always fits
    CHECK(c.bytes() == 14);
}

TEST_CASE("last value cache: snapshot pages by count and bytes, with a cursor") {
    last_value_cache c({"md."}, 100, 1 << 20);
    for (char s = 'a'; s <= 'e'; ++s) c.update(std::string("md.") + s, std::string(100, s));
    last_value_cache::page p;
    std::string after;
    std::string seen;
    int pages = 0;
    do {
        c.snapshot("md.", after, 2, 1 << 20, p);
        for (const auto& [t, b] : p.items) seen += t.back();
        after = p.next;
        ++pages;
    } while (!after.empty() && pages < 10);
    CHECK(seen == "abcde");
    CHECK(pages == 3);
    // By bytes: 250 allows two 104-byte items per page; a page always holds at least one.
    c.snapshot("md.", "", 100, 250, p);
    CHECK(p.items.size() == 2);
    CHECK(p.next == "md.b");
    c.snapshot("md.", "", 100, 1, p);
    CHECK(p.items.size() == 1);
}

namespace {
// The topics of a snapshot page, space-separated.
std::string topics_of(const last_value_cache::page& p) {
    std::string out;
    for (const auto& item : p.items) out += (out.empty() ? "" : " ") + std::string(item.first);
    return out;
}
}  // namespace

TEST_CASE("last value cache: the broker's own topics are kept whatever the bounds and prefixes") {
    last_value_cache c({"sys."}, 1, 1024);
    c.keep_own("sys.trading.");
    CHECK(c.covers("sys.node.health"));
    CHECK_FALSE(c.covers("sys.trading.symbol.AAPL"));  // a peer never overwrites them
    c.update("sys.node.health", "h");                  // the one topic allowed
    c.put_own("sys.trading.symbol.AAPL", "halted");
    c.put_own("sys.trading.strategy.s2", "reducing");
    c.put_own("sys.trading.symbol.AAPL", "halted again");
    CHECK(c.topics() == 3);
    last_value_cache::page own;
    c.snapshot("sys.trading", "", 10, 1 << 20, own);
    CHECK(topics_of(own) == "sys.trading.strategy.s2 sys.trading.symbol.AAPL");
    CHECK(own.items.back().second == "halted again");
    c.erase("sys.trading.symbol.AAPL");
    c.erase("sys.trading.symbol.MSFT");  // not there: nothing happens
    c.snapshot("sys.", "", 10, 1 << 20, own);
    CHECK(topics_of(own) == "sys.node.health sys.trading.strategy.s2");
    CHECK(c.bytes() == 15 + 1 + 23 + 8);
}

namespace {

// Every page of a snapshot of `prefix`, `per_page` topics a page: the topics in order.
std::vector<std::string> all_pages(const last_value_cache& c, std::string_view prefix,
                                   std::size_t per_page) {
    std::vector<std::string> out;
    last_value_cache::page p;
    std::string after;
    do {
        c.snapshot(prefix, after, per_page, 1 << 30, p);
        for (const auto& item : p.items) out.emplace_back(item.first);
        after = p.next;
    } while (!after.empty() && out.size() < 1'000'000);
    return out;
}

}  // namespace

TEST_CASE("last value cache: many topics, in any arrival order, page in byte order") {
    // More topics than the index starts with (it rebuilds on the way), arriving in an order
    // unrelated to byte order; every update replaces, the snapshot stays sorted.
    const std::size_t n = 3000;
    last_value_cache c({"md."}, n, 1 << 30);
    std::vector<std::string> topics;
    for (std::size_t i = 0; i < n; ++i) {
        topics.push_back("md.tick.S" + std::to_string((i * 7919) % n));  // a permutation
    }
    for (const auto& t : topics) c.update(t, "first");
    for (const auto& t : topics) c.update(t, t + "!");
    CHECK(c.topics() == n);
    CHECK(c.updates() == 2 * n);
    CHECK(c.refused() == 0);
    std::size_t bytes = 0;
    for (const auto& t : topics) bytes += t.size() + t.size() + 1;
    CHECK(c.bytes() == bytes);
    std::vector<std::string> sorted = topics;
    std::sort(sorted.begin(), sorted.end());
    CHECK(all_pages(c, "md.", 1000) == sorted);
    CHECK(all_pages(c, "md.", 7) == sorted);
    // Each body is the last one of its topic.
    last_value_cache::page p;
    c.snapshot("md.tick.S2999", "", 10, 1 << 20, p);
    REQUIRE(p.items.size() == 1);
    CHECK(p.items[0].second == "md.tick.S2999!");
}

TEST_CASE("last value cache: a replaced body of the same size reuses the stored buffer") {
    last_value_cache c({"md."}, 10, 1 << 20);
    c.update("md.tick.AAPL", std::string(100, 'a'));
    last_value_cache::page p;
    c.snapshot("md.", "", 10, 1 << 20, p);
    REQUIRE(p.items.size() == 1);
    const char* stored = p.items[0].second.data();
    c.update("md.tick.AAPL", std::string(100, 'b'));
    c.update("md.tick.AAPL", std::string(60, 'c'));
    c.snapshot("md.", "", 10, 1 << 20, p);
    REQUIRE(p.items.size() == 1);
    CHECK(p.items[0].second == std::string(60, 'c'));
    CHECK(p.items[0].second.data() == stored);  // assigned in place, not reallocated
    CHECK(c.bytes() == 12 + 60);
}

TEST_CASE("last value cache: at the cap, new topics are refused until one leaves") {
    last_value_cache c({"md."}, 100, 1 << 20);
    c.keep_own("md.own.");
    for (int i = 0; i < 100; ++i) c.update("md.tick.S" + std::to_string(i), "v");
    REQUIRE(c.topics() == 100);
    for (int i = 100; i < 1100; ++i) c.update("md.tick.S" + std::to_string(i), "v");
    CHECK(c.topics() == 100);
    CHECK(c.refused() == 1000);
    CHECK(c.updates() == 100);
    // Cached topics still update at the cap.
    for (int i = 0; i < 100; ++i) c.update("md.tick.S" + std::to_string(i), "w");
    CHECK(c.updates() == 200);
    CHECK(c.refused() == 1000);
    last_value_cache::page p;
    c.snapshot("md.tick.S99", "", 10, 1 << 20, p);
    REQUIRE(p.items.size() == 1);
    CHECK(p.items[0].second == "w");
    c.snapshot("md.tick.S100", "", 10, 1 << 20, p);
    CHECK(p.items.empty());  // never cached
    // An own topic goes in beyond the cap and counts in topics(): a new topic is refused...
    c.put_own("md.own.x", "o");
    CHECK(c.topics() == 101);
    c.update("md.tick.S100", "v");
    CHECK(c.refused() == 1001);
    // ...until two leave: one for the own topic over the cap, one to make room.
    c.erase("md.own.x");
    c.erase("md.tick.S5");
    CHECK(c.topics() == 99);
    c.update("md.tick.S100", "new");
    CHECK(c.topics() == 100);
    c.update("md.tick.S101", "v");  // full again
    CHECK(c.refused() == 1002);
    c.snapshot("md.tick.S100", "", 10, 1 << 20, p);
    REQUIRE(p.items.size() == 1);
    CHECK(p.items[0].second == "new");
    c.snapshot("md.tick.S5", "", 10, 1 << 20, p);
    CHECK(topics_of(p) ==
          "md.tick.S50 md.tick.S51 md.tick.S52 md.tick.S53 md.tick.S54 "
          "md.tick.S55 md.tick.S56 md.tick.S57 md.tick.S58 md.tick.S59");
    std::size_t bytes = 12 + 3;  // md.tick.S100 "new"
    for (int i = 0; i < 100; ++i) {
        if (i != 5) bytes += ("md.tick.S" + std::to_string(i)).size() + 1;
    }
    CHECK(c.bytes() == bytes);
}

TEST_CASE("last value cache: a topic dropped by the byte bound can come back") {
    last_value_cache c({"md."}, 100, 1024);
    c.update("md.a", std::string(500, 'a'));
    c.update("md.b", std::string(400, 'b'));
    c.update("md.a", std::string(700, 'a'));  // over 1024 with md.b's 404: md.a goes
    CHECK(c.topics() == 1);
    CHECK(c.bytes() == 404);
    c.update("md.a", std::string(100, 'A'));  // a new topic again, and it fits
    CHECK(c.topics() == 2);
    CHECK(c.bytes() == 404 + 104);
    last_value_cache::page p;
    c.snapshot("md.", "", 10, 1 << 20, p);
    CHECK(topics_of(p) == "md.a md.b");
    CHECK(p.items[0].second == std::string(100, 'A'));
}

TEST_CASE("last value cache: the cursor of a page works after its topic left the cache") {
    last_value_cache c({"md."}, 100, 1 << 20);
    c.keep_own("md.own.");
    for (const char* t : {"md.a", "md.b", "md.c", "md.d", "md.e"}) c.update(t, "x");
    c.put_own("md.own.k", "k");
    last_value_cache::page p;
    c.snapshot("md.", "", 2, 1 << 20, p);
    CHECK(topics_of(p) == "md.a md.b");
    REQUIRE(p.next == "md.b");
    const std::string cursor = p.next;
    c.update("md.b", std::string(2000, 'x'));  // over the byte bound: md.b leaves
    c.update("md.bb", "new");                  // sorts after the cursor
    c.snapshot("md.", cursor, 2, 1 << 20, p);
    CHECK(topics_of(p) == "md.bb md.c");
    REQUIRE(p.next == "md.c");
    const std::string cursor2 = p.next;  // the page is the output: not a view into it
    c.snapshot("md.", cursor2, 10, 1 << 20, p);
    CHECK(topics_of(p) == "md.d md.e md.own.k");
    CHECK(p.next.empty());
    // A cursor before the prefix starts at the prefix; one past it yields nothing.
    c.snapshot("md.d", "md.a", 10, 1 << 20, p);
    CHECK(topics_of(p) == "md.d");
    c.snapshot("md.d", "md.z", 10, 1 << 20, p);
    CHECK(p.items.empty());
}

TEST_CASE("last value cache: topics up to the maximum length, kept in the index or beside it") {
    // The index keeps topics of up to 46 bytes in its rows, longer ones apart: both kinds,
    // up to the 255-byte maximum, and topics differing in their last byte only.
    const std::size_t max = tradebus::schema::topics::max_topic_bytes;
    const std::string longest = "md." + std::string(max - 3, 'x');
    std::string almost = longest;
    almost.back() = 'y';
    const std::string edge = "md." + std::string(43, 'e');   // 46 bytes
    const std::string edge1 = "md." + std::string(44, 'e');  // 47
    last_value_cache c({"md."}, 4, 1 << 20);
    c.keep_own("md.own.");
    for (const auto& t : {longest, almost, edge, edge1}) c.update(t, t.substr(t.size() - 4));
    c.update(longest, "last");
    CHECK(c.topics() == 4);
    CHECK(c.updates() == 5);
    c.update("md." + std::string(max - 2, 'x'), "too long");  // 256 bytes: never a topic
    c.update("md." + std::string(max - 4, 'x'), "new");       // 254 bytes: over the cap
    CHECK(c.refused() == 2);
    CHECK(c.topics() == 4);
    CHECK_THROWS_AS(c.put_own("md.own." + std::string(max, 'o'), "o"), std::length_error);
    CHECK(c.topics() == 4);
    const std::string own_longest = "md.own." + std::string(max - 7, 'o');
    c.put_own(own_longest, "own");
    CHECK(c.topics() == 5);
    last_value_cache::page p;
    c.snapshot("md.", "", 10, 1 << 20, p);
    REQUIRE(p.items.size() == 5);
    CHECK(p.items[0].first == edge);
    CHECK(p.items[0].second == "eeee");
    CHECK(p.items[1].first == edge1);
    CHECK(p.items[2].first == own_longest);
    CHECK(p.items[3].first == longest);
    CHECK(p.items[3].second == "last");
    CHECK(p.items[4].first == almost);
    CHECK(p.items[4].second == "xxxy");
    // Erased long topics free their places; re-added, all stay findable.
    c.erase(own_longest);
    c.erase(longest);
    CHECK(c.topics() == 3);
    c.update(longest, "back");
    c.update("md." + std::string(max - 3, 'z'), "z");  // at the cap again: refused
    CHECK(c.refused() == 3);
    CHECK(c.topics() == 4);
    c.snapshot("md." + std::string(max - 4, 'x'), "", 10, 1 << 20, p);
    REQUIRE(p.items.size() == 2);
    CHECK(p.items[0].second == "back");
    CHECK(p.items[1].second == "xxxy");
    CHECK(c.bytes() == 46 + 4 + 47 + 4 + max + 4 + max + 4);
}

TEST_CASE("last value cache: topics sharing a home slot, erased from the middle of the chain") {
    // The index of a cache capped at 100 starts with 128 slots: these topics all hash to one.
    std::vector<std::string> topics;
    std::uint64_t home = 0;
    for (int i = 0; topics.size() < 12; ++i) {
        std::string t = "sys.trading.symbol.C" + std::to_string(i);
        const std::uint64_t h = tradebus::broker::topic_hash(t) & 127;
        if (topics.empty()) home = h;
        if (h == home) topics.push_back(std::move(t));
    }
    last_value_cache c({"md."}, 100, 1 << 20);
    c.keep_own("sys.trading.");
    for (const auto& t : topics) c.put_own(t, t);
    for (std::size_t i = 1; i < topics.size(); i += 2) c.erase(topics[i]);
    for (std::size_t i = 0; i < topics.size(); i += 2) c.put_own(topics[i], "again");
    CHECK(c.topics() == topics.size() / 2);
    std::vector<std::string> kept;
    for (std::size_t i = 0; i < topics.size(); i += 2) kept.push_back(topics[i]);
    std::sort(kept.begin(), kept.end());
    CHECK(all_pages(c, "sys.trading.", 100) == kept);
    std::size_t bytes = 0;
    for (const auto& t : kept) bytes += t.size() + 5;
    CHECK(c.bytes() == bytes);
    for (std::size_t i = 1; i < topics.size(); i += 2) c.put_own(topics[i], "back");
    CHECK(c.topics() == topics.size());
    last_value_cache::page p;
    for (std::size_t i = 0; i < topics.size(); ++i) {
        CAPTURE(topics[i]);
        c.snapshot(topics[i], "", 100, 1 << 20, p);
        // A topic is a prefix of those extending it (C1 of C10): its own entry comes first.
        REQUIRE_FALSE(p.items.empty());
        CHECK(p.items[0].first == topics[i]);
        CHECK(p.items[0].second == (i % 2 == 0 ? "again" : "back"));
    }
}
