// Late joiners without a broker: paging through snapshot replies, malformed replies, and the
// (src, topic, seq) merge of cached values with live traffic (no duplicate, nothing stale).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tradebus/runtime/late_join.hpp"
#include "tradebus/schema/codec.hpp"
#include "tradebus/schema/frame_pairs.hpp"

using namespace tradebus;
using runtime::late_join;

namespace {

// Incarnation 1 of `src` publishes seq n at n s; incarnation 2 (a restart) at 1000 + n s.
schema::envelope env_of(const std::string& src, std::uint64_t seq, std::uint64_t inc = 1) {
    const auto at_s = static_cast<std::int64_t>(seq + (inc == 1 ? 0 : 1000));
    return schema::envelope{src, seq, 1'000'000'000LL * at_s, 7, inc};
}

std::string tick(const std::string& src, std::uint64_t seq, const std::string& symbol,
                 std::uint64_t inc = 1) {
    schema::event ev{env_of(src, seq, inc), schema::tick{.symbol = symbol,
                                                         .bid_px = 100'00000000,
                                                         .bid_qty = 10,
                                                         .ask_px = 101'00000000,
                                                         .ask_qty = 20}};
    std::string out;
    schema::encode_event(ev, out);
    return out;
}

// A reply as it comes off the wire: header frame, then [topic][body] pairs.
std::vector<std::string> reply(const schema::snapshot_reply& header,
                               const std::vector<std::pair<std::string, std::string>>& pairs) {
    std::vector<std::string> frames(1);
    schema::encode_control(header, frames[0]);
    for (const auto& [t, b] : pairs) {
        frames.push_back(t);
        frames.push_back(b);
    }
    return frames;
}

}  // namespace

TEST_CASE("late join: asks each prefix in turn and follows the paging cursor") {
    late_join lj({"md.tick.", "exec.fill."});
    auto req = lj.next_request();
    REQUIRE(req);
    CHECK(req->prefix == "md.tick.");
    CHECK(req->after.empty());
    auto frames = reply({1, "md.tick.AAPL", true}, {{"md.tick.AAPL", tick("md", 5, "AAPL")}});
    CHECK_FALSE(lj.on_reply({1, "md.tick.AAPL", true}, frames));
    req = lj.next_request();
    REQUIRE(req);
    CHECK(req->prefix == "md.tick.");
    CHECK(req->after == "md.tick.AAPL");
    frames = reply({1, "", true}, {{"md.tick.MSFT", tick("md", 3, "MSFT")}});
    CHECK_FALSE(lj.on_reply({1, "", true}, frames));
    req = lj.next_request();
    REQUIRE(req);
    CHECK(req->prefix == "exec.fill.");  // not covered by the cache: an empty answer
    frames = reply({0, "", false}, {});
    CHECK_FALSE(lj.on_reply({0, "", false}, frames));
    CHECK(lj.done());
    CHECK_FALSE(lj.next_request());
    const auto items = lj.take_for_start();
    REQUIRE(items.size() == 2);
    CHECK(items[0].topic == "md.tick.AAPL");
    CHECK(items[1].topic == "md.tick.MSFT");
}

TEST_CASE("late join: a malformed reply skips that prefix and keeps nothing of it") {
    late_join lj({"md.tick."});
    auto frames = reply({2, "", true}, {{"md.tick.AAPL", tick("md", 5, "AAPL")}});  // 1 of 2
    const auto why = lj.on_reply({2, "", true}, frames);
    REQUIRE(why);
    CHECK(why->find("expected 1 + 2 x 2 frames, got 3") != std::string::npos);
    CHECK(lj.done());
    CHECK(lj.take_for_start().empty());

    late_join other({"md.tick."});
    frames = reply({1, "", true}, {{"exec.fill.X", tick("md", 5, "X")}});
    CHECK(other.on_reply({1, "", true}, frames));  // a topic outside the prefix asked for
    CHECK(other.take_for_start().empty());
}

TEST_CASE("late join: live traffic is merged by src, topic and seq without duplicates") {
    late_join lj({"md.tick."});
    auto frames = reply({3, "", true}, {{"md.tick.AAPL", tick("md", 5, "AAPL")},
                                        {"md.tick.MSFT", tick("md", 9, "MSFT")},
                                        {"md.tick.SPY", "not msgpack"}});
    CHECK_FALSE(lj.on_reply({3, "", true}, frames));
    // Before the start, a newer live MSFT arrived (the logic did not get it): it wins.
    lj.seen_before_start("md.tick.MSFT", env_of("md", 10), tick("md", 10, "MSFT"));
    lj.seen_before_start("md.tick.AAPL", env_of("md", 4), tick("md", 4, "AAPL"));  // older
    const auto items = lj.take_for_start();
    CHECK(lj.undecodable() == 1);
    REQUIRE(items.size() == 2);
    CHECK(items[0].body == tick("md", 5, "AAPL"));
    CHECK(items[1].body == tick("md", 10, "MSFT"));
    // After the start: repeats of what was delivered are duplicates, newer ones are not.
    CHECK(lj.is_duplicate("md.tick.AAPL", env_of("md", 5)));
    CHECK(lj.is_duplicate("md.tick.AAPL", env_of("md", 4)));
    CHECK(lj.is_duplicate("md.tick.MSFT", env_of("md", 10)));
    CHECK_FALSE(lj.is_duplicate("md.tick.AAPL", env_of("md", 6)));
    CHECK_FALSE(lj.is_duplicate("md.tick.AAPL", env_of("md", 5)));   // past the snapshot
    CHECK_FALSE(lj.is_duplicate("md.tick.MSFT", env_of("md2", 3)));  // another source
    CHECK_FALSE(lj.is_duplicate("md.tick.MSFT", env_of("md", 1)));   // the topic restarted
}

TEST_CASE("late join: a restarted source (another inc) is never a repeat, and its value wins") {
    late_join lj({"md.tick."});
    auto frames = reply({2, "", true}, {{"md.tick.AAPL", tick("md", 50, "AAPL")},
                                        {"md.tick.MSFT", tick("md", 60, "MSFT")}});
    CHECK_FALSE(lj.on_reply({2, "", true}, frames));
    // md restarted before the start: its seq 3 (incarnation 2) is newer than the cache's 50.
    lj.seen_before_start("md.tick.AAPL", env_of("md", 3, 2), tick("md", 3, "AAPL", 2));
    const auto items = lj.take_for_start();
    REQUIRE(items.size() == 2);
    CHECK(items[0].body == tick("md", 3, "AAPL", 2));
    CHECK(items[1].body == tick("md", 60, "MSFT"));
    CHECK(lj.is_duplicate("md.tick.AAPL", env_of("md", 2, 2)));
    // MSFT's cache was incarnation 1 at seq 60; the restarted md's seq 7 is new, not a repeat
    // (by seq alone it would be: 7 <= 60).
    CHECK_FALSE(lj.is_duplicate("md.tick.MSFT", env_of("md", 7, 2)));
}

TEST_CASE("late join: overlapping prefixes deliver each topic once, give_up delivers nothing") {
    late_join lj({"md.", "md.tick."});
    auto frames = reply({1, "", true}, {{"md.tick.AAPL", tick("md", 5, "AAPL")}});
    CHECK_FALSE(lj.on_reply({1, "", true}, frames));
    frames = reply({1, "", true}, {{"md.tick.AAPL", tick("md", 5, "AAPL")}});
    CHECK_FALSE(lj.on_reply({1, "", true}, frames));
    CHECK(lj.take_for_start().size() == 1);

    late_join none({"md."});
    none.give_up();
    CHECK(none.done());
    CHECK(none.take_for_start().empty());
    CHECK_FALSE(none.is_duplicate("md.tick.AAPL", env_of("md", 1)));
}

TEST_CASE("frame pairs: written and split back by the one rule, odd or miscounted refused") {
    const std::vector<std::pair<std::string, std::string>> pairs = {{"md.tick.AAPL", "a"},
                                                                    {"md.tick.MSFT", "b"}};
    std::vector<std::string> frames;
    std::vector<bool> more;
    schema::write_frame_pairs("header", pairs, [&](std::string_view f, bool m) {
        frames.emplace_back(f);
        more.push_back(m);
    });
    CHECK(frames == std::vector<std::string>{"header", "md.tick.AAPL", "a", "md.tick.MSFT", "b"});
    CHECK(more == std::vector<bool>{true, true, true, true, false});

    auto copy = frames;
    std::vector<schema::frame_pair> out;
    REQUIRE_FALSE(schema::split_frame_pairs(copy, std::nullopt, out));
    REQUIRE(out.size() == 2);
    CHECK(out[1].topic == "md.tick.MSFT");
    CHECK(out[1].body == "b");

    copy = frames;
    copy.pop_back();  // a topic without its body
    out.clear();
    const auto odd = schema::split_frame_pairs(copy, std::nullopt, out);
    REQUIRE(odd);
    CHECK(*odd == "expected a header and [topic][body] pairs, got 4 frames");
    CHECK(out.empty());
    copy = frames;
    CHECK(schema::split_frame_pairs(copy, 3, out) == "expected 1 + 2 x 3 frames, got 5");

    std::vector<std::string> header_only;
    schema::write_frame_pairs("h", std::vector<schema::frame_pair>{},
                              [&](std::string_view f, bool m) {
                                  header_only.emplace_back(f);
                                  CHECK_FALSE(m);
                              });
    CHECK(header_only == std::vector<std::string>{"h"});
}
