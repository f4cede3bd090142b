// A real journal damaged on disk (issue 7, Bad input): written by the journal node, then a
// record in the middle of one segment gets flipped bits and another segment is cut mid-record.
// The real `tradebus journal verify` and `tradebus journal cat --json` must name exactly those
// two places (segment:offset, FORMAT.md "Reading, and what damage looks like") and still print
// every other record.
#include <doctest/doctest.h>

#ifdef TRADEBUS_EXE_TRADEBUS

#include <filesystem>
#include <fstream>
#include <sstream>

#include "broker_process.hpp"
#include "bus_clients.hpp"
#include "node_process.hpp"
#include "tradebus/journal/reader.hpp"

using namespace tradebus;
using namespace tradebus::test;

namespace {

// Offsets of the good records of one segment, in file order.
std::vector<std::uint64_t> record_offsets(const std::string& segment) {
    journal::segment_reader r(segment);
    REQUIRE_FALSE(r.header_error().has_value());
    std::vector<std::uint64_t> out;
    for (auto s = r.next(); s != journal::segment_reader::step::end; s = r.next()) {
        REQUIRE(s == journal::segment_reader::step::record);
        out.push_back(r.offset());
    }
    return out;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) out.push_back(line);
    }
    return out;
}

std::string read_text(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// `tradebus <args>` with stdout and stderr kept apart.
struct cli_run {
    int status = -1;
    std::string out, err;
};

cli_run run_cli(const temp_dir& dir, const std::string& name, std::vector<std::string> args) {
    const auto err = dir.file(name + ".err");
    std::vector<std::string> sh{"-c", "exec \"$0\" \"$@\" 2>'" + err.string() + "'",
                                TRADEBUS_EXE_TRADEBUS};
    sh.insert(sh.end(), args.begin(), args.end());
    const auto r = run_to_exit("/bin/sh", sh, dir.file(name + ".out"));
    return {r.status, r.output, read_text(err)};
}

}  // namespace

TEST_CASE(
    "journal corrupt: verify and cat name the flipped and the torn record and print the rest") {
    zmq::context_t ctx;
    temp_dir dir;
    broker_process broker(ctx, dir, recording_broker());
    const auto journal_dir = dir.file("journal");
    // Small segments: 600 ticks make a dozen of them.
    auto journal = start_journal(broker, dir, journal_dir, "segment_bytes = 4096\n");
    publisher pub(ctx, broker.xsub);
    wait_publisher_through(ctx, broker, pub, "md.tick.PROBE");
    for (std::uint64_t seq = 1; seq <= 600; ++seq) {
        pub.send("md.tick.CRPT", sample_tick("CRPT", seq));
    }
    wait_journaled(journal_dir, "md.tick.CRPT", 600, *journal);
    REQUIRE(journal->stop() == 0);

    const auto before = read_journal(journal_dir);
    REQUIRE(before.damage.empty());
    const auto segments = journal::list_segments(journal_dir.string());
    REQUIRE(segments.size() >= 6);

    // Flipped bits inside the payload of the middle record of segment 1: a checksum mismatch
    // for that record alone.
    const std::string& flipped_seg = segments[1];
    const auto flipped_offsets = record_offsets(flipped_seg);
    const std::uint64_t flipped_at = flipped_offsets[flipped_offsets.size() / 2];
    {
        std::fstream f(flipped_seg, std::ios::in | std::ios::out | std::ios::binary);
        const auto pos = static_cast<std::streamoff>(flipped_at + 12 + 14);  // in the topic
        f.seekg(pos);
        char c = 0;
        f.get(c);
        f.seekp(pos);
        f.put(static_cast<char>(c ^ 0x5a));
    }
    // Segment 3 cut 17 bytes into its middle record: a torn record; the rest of that segment
    // is gone, the following segments are intact.
    const std::string& torn_seg = segments[3];
    const auto torn_offsets = record_offsets(torn_seg);
    const std::size_t torn_k = torn_offsets.size() / 2;
    const std::uint64_t torn_at = torn_offsets[torn_k];
    std::filesystem::resize_file(torn_seg, torn_at + 17);
    const std::size_t lost = torn_offsets.size() - torn_k;  // the torn record and all after it
    const std::size_t expected = before.records.size() - 1 - lost;

    // verify: exactly the two places, then the summary; exit 1.
    const auto verify =
        run_cli(dir, "verify", {"journal", "verify", "--dir", journal_dir.string()});
    CAPTURE(verify.out);
    CAPTURE(verify.err);
    CHECK(verify.status == 1);
    const auto vlines = lines_of(verify.out);
    REQUIRE(vlines.size() == 3);
    CHECK(vlines[0].rfind(flipped_seg + ":" + std::to_string(flipped_at) + ": checksum mismatch",
                          0) == 0);
    CHECK(vlines[1].rfind(torn_seg + ":" + std::to_string(torn_at) + ": torn record", 0) == 0);
    CHECK(vlines[2].find(std::to_string(expected) + " records") != std::string::npos);

    // cat --json: every other record, one JSON line each; the two damages on stderr; exit 1.
    const auto cat =
        run_cli(dir, "cat", {"journal", "cat", "--json", "--dir", journal_dir.string()});
    CAPTURE(cat.err);
    CHECK(cat.status == 1);
    const auto records = lines_of(cat.out);
    CHECK(records.size() == expected);
    for (const auto& line : records) {
        CHECK(line.front() == '{');
        CHECK(line.back() == '}');
    }
    const auto errs = lines_of(cat.err);
    REQUIRE(errs.size() == 3);
    CHECK(errs[0].find(flipped_seg + ":" + std::to_string(flipped_at) + ": checksum mismatch") !=
          std::string::npos);
    CHECK(errs[1].find(torn_seg + ":" + std::to_string(torn_at) + ": torn record") !=
          std::string::npos);
    CHECK(errs[2].find("2 damaged record(s) skipped") != std::string::npos);

    // And the library agrees: the same records survive, by index, in order.
    const auto after = read_journal(journal_dir);
    CHECK(after.records.size() == expected);
    CHECK(after.damage.size() == 2);
}

#endif
