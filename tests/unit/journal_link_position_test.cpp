// journal link position (nodes/journal/link_position.cpp): where the journal ends on the
// broker's recorder link, found from its files alone (FORMAT.md "Recorder marks"): the last
// mark plus the link records after it, across segments, a recorder_gap record counting as a
// mark, the journal's own records not counted, and nothing for a log without marks.
#include <doctest/doctest.h>

#include "scratch_dir.hpp"
#include "tradebus/journal/format.hpp"
#include "tradebus/journal/link_position.hpp"
#include "tradebus/journal/writer.hpp"
#include "tradebus/schema/codec.hpp"
#include "tradebus/schema/topics.hpp"

using namespace tradebus;
using namespace tradebus::journal;

namespace {

constexpr std::int64_t t0 = 1'700'000'000'000'000'000;
constexpr std::uint64_t epoch = 77;

writer_options small_segments(const scratch_dir& d) {
    writer_options o;
    o.dir = d.path().string();
    o.fsync = fsync_policy::none;
    o.segment_bytes = 4096;
    return o;
}

void mark(writer& w, std::uint64_t first) {
    REQUIRE(w.append(format::recorder_mark_topic, encode_recorder_mark(epoch, first), t0,
                     format::flags::recorder_mark));
}

void link_records(writer& w, int n) {
    for (int i = 0; i < n; ++i) REQUIRE(w.append("md.tick.AAPL", std::string(100, 'x'), t0, 0));
}

}  // namespace

TEST_CASE("journal link position: none without a mark") {
    scratch_dir d("linkpos-none");
    {
        writer w(small_segments(d));
        link_records(w, 5);
    }
    CHECK_FALSE(find_link_position(d.path().string()).has_value());
}

TEST_CASE("journal link position: the last mark plus the link records after it") {
    scratch_dir d("linkpos-count");
    {
        writer w(small_segments(d));
        mark(w, 1);
        link_records(w, 10);
        mark(w, 40);  // a resume went on at 40
        link_records(w, 3);
        // The journal's own records are not link messages.
        REQUIRE(w.append("md.tick.AAPL", "gap", t0, format::flags::gap_marker));
        link_records(w, 2);
        REQUIRE(w.append("md.tick.AAPL", std::string("\xc1"), t0, format::flags::undecodable));
    }
    const auto p = find_link_position(d.path().string());
    REQUIRE(p.has_value());
    CHECK(p->epoch == epoch);
    CHECK(p->seq == 45);  // 40 + 3 + 2 + 1 undecodable - 1
}

TEST_CASE("journal link position: a mark in an earlier segment counts the later ones too") {
    scratch_dir d("linkpos-segments");
    {
        writer w(small_segments(d));
        mark(w, 100);
        link_records(w, 120);  // about 150 bytes each: many 4 KiB segments
        CHECK(w.segments_created() > 2);
    }
    const auto p = find_link_position(d.path().string());
    REQUIRE(p.has_value());
    CHECK(p->seq == 219);
}

TEST_CASE("journal link position: a recorder_gap record marks where the journal went on") {
    scratch_dir d("linkpos-gap");
    {
        writer w(small_segments(d));
        mark(w, 1);
        link_records(w, 4);
        std::string body;
        schema::encode_event(schema::event{schema::envelope{"journal", 1, t0, 0},
                                           schema::recorder_gap{epoch, 5, 90, 85}},
                             body);
        REQUIRE(w.append(schema::topics::recorder_gap, body, t0, 0));
        link_records(w, 2);
    }
    const auto p = find_link_position(d.path().string());
    REQUIRE(p.has_value());
    CHECK(p->seq == 91);  // 90, 91
}

TEST_CASE("journal link position: with nothing after a mark it is the one before the mark") {
    scratch_dir d("linkpos-empty");
    {
        writer w(small_segments(d));
        mark(w, 7);
    }
    const auto p = find_link_position(d.path().string());
    REQUIRE(p.has_value());
    CHECK(p->seq == 6);
}
