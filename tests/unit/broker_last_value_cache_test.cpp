// The broker's last-value cache: prefixes, bounds (topics, bytes) and what happens when full,
// and snapshot paging.
#include <doctest/doctest.h>

#include <string>

#include "tradebus/broker/last_value_cache.hpp"

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
