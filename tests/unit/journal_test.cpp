// journal: CRC, the exact record format, rotation, every fsync policy, torn-tail recovery,
// damage reported per record with reading going on, bounded reader memory, and the node
// (raw bytes, undecodable messages, gap markers) through a recording context.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "recording_context.hpp"
#include "scratch_dir.hpp"
#include "tradebus/journal/crc32c.hpp"
#include "tradebus/journal/format.hpp"
#include "tradebus/journal/journal_node.hpp"
#include "tradebus/journal/link_position.hpp"
#include "tradebus/journal/reader.hpp"
#include "tradebus/journal/writer.hpp"

using namespace tradebus;
using namespace tradebus::journal;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t t0 = 1'700'000'000'000'000'000;
constexpr std::int64_t ms = 1'000'000;

writer_options opts(const scratch_dir& d, fsync_policy p = fsync_policy::none) {
    writer_options o;
    o.dir = d.path().string();
    o.fsync = p;
    return o;
}

std::string body_for(int i) {
    std::string b = "body-" + std::to_string(i) + "-";
    b.append(static_cast<std::size_t>(i % 17), static_cast<char>('a' + i % 26));
    b.push_back('\0');  // binary-safe
    b.push_back(static_cast<char>(0xff));
    return b;
}

struct read_back {
    std::vector<std::pair<std::string, std::string>> records;  // topic, body
    std::vector<std::uint64_t> indexes;
    std::vector<problem> problems;
};

read_back read_all(const std::string& dir) {
    read_back r;
    reader rd(dir);
    while (const read_item* it = rd.next()) {
        if (it->what == read_item::status::ok) {
            r.records.emplace_back(std::string(it->rec.topic), std::string(it->rec.body));
            r.indexes.push_back(it->rec.index);
        } else {
            r.problems.push_back(
                {std::string(it->segment), it->offset, it->bytes, std::string(it->reason)});
        }
    }
    return r;
}

// Offsets of each record in a single-segment journal, by walking the frames.
std::vector<std::uint64_t> record_offsets(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::vector<std::uint64_t> out;
    std::size_t at = format::header_bytes;
    while (at + format::frame_bytes <= data.size()) {
        out.push_back(at);
        at += format::frame_bytes + format::get_u32(data.data() + at);
    }
    return out;
}

void flip_byte(const std::string& path, std::uint64_t offset) {
    std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
    f.seekg(static_cast<std::streamoff>(offset));
    char c = 0;
    f.get(c);
    f.seekp(static_cast<std::streamoff>(offset));
    f.put(static_cast<char>(c ^ 0x10));
}

void write_n(const writer_options& o, int n, int from = 0) {
    writer w(o);
    for (int i = from; i < from + n; ++i) {
        REQUIRE(w.append("md.tick.T" + std::to_string(i % 3), body_for(i), t0 + i));
    }
}

}  // namespace

TEST_CASE("journal: crc32c matches the standard check value") {
    const char* s = "123456789";
    CHECK(crc32c(s, 9) == 0xE3069283U);
    CHECK(crc32c(s + 4, 5, crc32c(s, 4)) == 0xE3069283U);  // incremental
    CHECK(crc32c(s, 0) == 0U);
    std::string zeros(32, '\0');
    CHECK(crc32c(zeros.data(), zeros.size()) == 0x8A9136AAU);  // RFC 3720 B.4 test vector
    CHECK(crc32c_table(s, 9) == 0xE3069283U);
    CHECK(crc32c_table(zeros.data(), zeros.size()) == 0x8A9136AAU);
}

TEST_CASE("journal: crc32c by instruction and by table agree on every length and alignment") {
    std::string bytes(300, '\0');
    std::uint32_t x = 12345;
    for (char& c : bytes) {
        x = x * 1103515245U + 12345U;
        c = static_cast<char>(x >> 16);
    }
    for (std::size_t start = 0; start < 9; ++start) {
        for (std::size_t len = 0; start + len <= bytes.size(); len += 7) {
            const std::uint32_t seed = len % 2 == 0 ? 0U : 0xDEADBEEFU;
            REQUIRE(crc32c(bytes.data() + start, len, seed) ==
                    crc32c_table(bytes.data() + start, len, seed));
        }
    }
}

TEST_CASE("journal: record bytes are exactly as FORMAT.md describes") {
    std::string rec;
    format::append_record(rec, 0x0102030405060708, format::flags::undecodable, "md.x", "\x91\x01");
    REQUIRE(rec.size() == format::record_bytes(4, 2));
    REQUIRE(rec.size() == 12 + 12 + 4 + 2);
    const std::uint32_t len = 12 + 4 + 2;
    CHECK(format::get_u32(rec.data()) == len);       // length of the payload
    CHECK(format::get_u32(rec.data() + 4) == ~len);  // its complement
    CHECK(format::get_u32(rec.data() + 8) == crc32c(rec.data() + 12, len));
    CHECK(static_cast<unsigned char>(rec[12]) == 0x08);  // recv_ts_ns, little-endian
    CHECK(static_cast<unsigned char>(rec[19]) == 0x01);
    CHECK(format::get_u16(rec.data() + 20) == format::flags::undecodable);
    CHECK(format::get_u16(rec.data() + 22) == 4);
    CHECK(rec.substr(24, 4) == "md.x");
    CHECK(rec.substr(28) == "\x91\x01");

    const auto h = format::encode_header({42, t0});
    CHECK(std::string_view(h.data(), 4) == "TBJ1");
    CHECK(format::get_u16(h.data() + 4) == 1);
    CHECK(format::get_u16(h.data() + 6) == 32);
    CHECK(format::get_u64(h.data() + 8) == 42);
    std::string why;
    auto back = format::decode_header(std::string_view(h.data(), h.size()), why);
    REQUIRE(back.has_value());
    CHECK(back->first_index == 42);
    CHECK(back->created_ns == t0);
    auto broken = h;
    broken[9] ^= 1;
    CHECK_FALSE(format::decode_header(std::string_view(broken.data(), broken.size()), why));
    CHECK(why.find("checksum") != std::string::npos);

    CHECK(format::segment_name(42) == "journal-00000000000000000042.tjl");
    CHECK(format::parse_segment_name("journal-00000000000000000042.tjl") == 42U);
    CHECK_FALSE(format::parse_segment_name("journal-42.tjl"));
    CHECK_FALSE(format::parse_segment_name("journal-0000000000000000004x.tjl"));
}

TEST_CASE("journal: records round trip through writer and reader, across reopen") {
    scratch_dir d("journal");
    write_n(opts(d), 50);
    {
        writer w(opts(d));  // reopen: appends after what is there
        CHECK(w.recovery().clean());
        CHECK(w.next_index() == 50);
        CHECK(w.append("", "", t0, format::flags::gap_marker));  // empty topic and body
    }
    const auto r = read_all(d.path().string());
    REQUIRE(r.problems.empty());
    REQUIRE(r.records.size() == 51);
    for (int i = 0; i < 50; ++i) {
        CHECK(r.records[static_cast<std::size_t>(i)].first == "md.tick.T" + std::to_string(i % 3));
        CHECK(r.records[static_cast<std::size_t>(i)].second == body_for(i));
        CHECK(r.indexes[static_cast<std::size_t>(i)] == static_cast<std::uint64_t>(i));
    }
    CHECK(r.records[50].first.empty());
    reader rd(d.path().string());
    const read_item* first = rd.next();
    REQUIRE(first != nullptr);
    CHECK(first->rec.recv_ts_ns == t0);
    CHECK(first->rec.flags == 0);
    CHECK(first->offset == format::header_bytes);
}

TEST_CASE("journal: segments rotate by size, named by first index, read back in order") {
    scratch_dir d("journal");
    auto o = opts(d);
    o.segment_bytes = 4096;
    std::uint64_t segments = 0;
    {
        writer w(o);
        for (int i = 0; i < 500; ++i) REQUIRE(w.append("t", std::string(100, 'x'), t0 + i));
        segments = w.segments_created();
    }
    const auto files = list_segments(d.path().string());
    CHECK(files.size() == segments);
    REQUIRE(files.size() > 10);
    std::uint64_t expected_first = 0;
    for (const auto& f : files) {
        CHECK(fs::file_size(f) <= 4096);
        CHECK(fs::path(f).filename().string() == format::segment_name(expected_first));
        segment_reader sr(f);
        REQUIRE_FALSE(sr.header_error());
        CHECK(sr.header().first_index == expected_first);
        while (sr.next() == segment_reader::step::record) {
        }
        expected_first += sr.positions();
    }
    CHECK(expected_first == 500);
    const auto rep = verify(d.path().string());
    CHECK(rep.clean());
    CHECK(rep.records == 500);
    CHECK(rep.segments == files.size());

    // A record larger than a segment still goes in, alone in its own segment.
    {
        writer w(o);
        CHECK(w.append("big", std::string(10'000, 'b'), t0));
        CHECK(w.append("after", "x", t0));
    }
    const auto r = read_all(d.path().string());
    CHECK(r.problems.empty());
    REQUIRE(r.records.size() == 502);
    CHECK(r.records[500].second.size() == 10'000);
    CHECK(r.records[501].first == "after");
}

TEST_CASE("journal: fsync policy every syncs each record before append returns") {
    scratch_dir d("journal");
    writer w(opts(d, fsync_policy::every));
    for (int i = 0; i < 5; ++i) {
        REQUIRE(w.append("t", body_for(i), t0 + i));
        CHECK(w.fsyncs() == static_cast<std::uint64_t>(i + 1));
        CHECK(w.buffered_bytes() == 0);
        CHECK(read_all(d.path().string()).records.size() == static_cast<std::size_t>(i + 1));
    }
    CHECK(w.tick(t0 + 10'000 * ms) == 0);  // nothing waits
}

TEST_CASE("journal: fsync policy interval syncs once the interval has passed") {
    scratch_dir d("journal");
    auto o = opts(d, fsync_policy::interval);
    o.fsync_interval_ms = 1000;
    o.flush_interval_ms = 100;
    writer w(o);
    REQUIRE(w.append("t", "a", t0));
    REQUIRE(w.append("t", "b", t0 + 50 * ms));
    CHECK(w.buffered_bytes() > 0);  // buffered: not written yet
    CHECK(read_all(d.path().string()).records.empty());
    CHECK(w.tick(t0 + 99 * ms) == t0 + 100 * ms);
    CHECK(w.write_calls() == 1);                     // just the header
    CHECK(w.tick(t0 + 100 * ms) == t0 + 1000 * ms);  // flushed; the sync is still due
    CHECK(read_all(d.path().string()).records.size() == 2);
    CHECK(w.fsyncs() == 0);
    CHECK(w.tick(t0 + 999 * ms) == t0 + 1000 * ms);
    CHECK(w.fsyncs() == 0);
    CHECK(w.tick(t0 + 1000 * ms) == 0);
    CHECK(w.fsyncs() == 1);
    CHECK(w.tick(t0 + 5000 * ms) == 0);  // nothing new: no more syncs
    CHECK(w.fsyncs() == 1);
    REQUIRE(w.append("t", "c", t0 + 6000 * ms));
    CHECK(w.tick(t0 + 7000 * ms) == 0);
    CHECK(w.fsyncs() == 2);
}

TEST_CASE("journal: fsync policy none writes on the flush interval and never syncs") {
    scratch_dir d("journal");
    auto o = opts(d, fsync_policy::none);
    o.flush_interval_ms = 100;
    o.buffer_bytes = 4096;
    {
        writer w(o);
        REQUIRE(w.append("t", "a", t0));
        CHECK(w.tick(t0 + 100 * ms) == 0);
        CHECK(read_all(d.path().string()).records.size() == 1);
        // A full buffer is written at once, without waiting for the interval.
        for (int i = 0; i < 100; ++i) REQUIRE(w.append("t", std::string(100, 'z'), t0 + 200 * ms));
        CHECK(w.buffered_bytes() < 4096);
        CHECK(read_all(d.path().string()).records.size() > 1);
        CHECK(w.fsyncs() == 0);
    }
    CHECK(read_all(d.path().string()).records.size() == 101);  // closing flushes
}

TEST_CASE("journal: a torn tail is truncated on reopen and what was dropped is reported") {
    scratch_dir d("journal");
    const int n = 20;
    write_n(opts(d), n);
    const auto seg = list_segments(d.path().string()).back();
    const auto offsets = record_offsets(seg);
    REQUIRE(offsets.size() == static_cast<std::size_t>(n));
    const auto full = fs::file_size(seg);

    SUBCASE("cut in the middle of the last record") {
        const std::uint64_t cut = offsets.back() + 15;
        fs::resize_file(seg, cut);
        {
            const auto r = read_all(d.path().string());
            CHECK(r.records.size() == static_cast<std::size_t>(n - 1));
            REQUIRE(r.problems.size() == 1);
            CHECK(r.problems[0].offset == offsets.back());
            CHECK(r.problems[0].reason.find("torn record") != std::string::npos);
        }
        writer w(opts(d));
        const auto& rep = w.recovery();
        CHECK(rep.records_kept == static_cast<std::uint64_t>(n - 1));
        CHECK(rep.truncated_at == offsets.back());
        CHECK(rep.dropped_bytes == 15);
        REQUIRE(rep.dropped.size() == 1);
        CHECK(rep.dropped[0].offset == offsets.back());
        CHECK(rep.dropped[0].reason.find("torn") != std::string::npos);
        CHECK(fs::file_size(seg) == offsets.back());
        CHECK(w.next_index() == static_cast<std::uint64_t>(n - 1));
        REQUIRE(w.append("after", "recovery", t0));
    }
    SUBCASE("cut inside the frame of the last record") {
        fs::resize_file(seg, offsets.back() + 5);
        writer w(opts(d));
        CHECK(w.recovery().records_kept == static_cast<std::uint64_t>(n - 1));
        CHECK(w.recovery().dropped_bytes == 5);
        CHECK(w.recovery().dropped[0].reason.find("torn record frame") != std::string::npos);
        REQUIRE(w.append("after", "recovery", t0));
    }
    SUBCASE("zeros after the last record (a crash after the file grew)") {
        std::ofstream(seg, std::ios::binary | std::ios::app) << std::string(300, '\0');
        writer w(opts(d));
        CHECK(w.recovery().records_kept == static_cast<std::uint64_t>(n));
        CHECK(w.recovery().dropped_bytes == 300);
        CHECK(w.recovery().dropped[0].reason.find("length damaged") != std::string::npos);
        CHECK(fs::file_size(seg) == full);
        REQUIRE(w.append("after", "recovery", t0));
    }
    SUBCASE("the last record complete but its checksum wrong") {
        flip_byte(seg, full - 1);
        writer w(opts(d));
        CHECK(w.recovery().records_kept == static_cast<std::uint64_t>(n - 1));
        CHECK(w.recovery().dropped_bytes == full - offsets.back());
        CHECK(w.recovery().dropped[0].reason == "checksum mismatch");
        REQUIRE(w.append("after", "recovery", t0));
    }
    const auto r = read_all(d.path().string());
    CHECK(r.problems.empty());
    const std::size_t kept = r.records.size() - 1;
    REQUIRE(r.records.size() >= static_cast<std::size_t>(n));
    CHECK(r.records.back().first == "after");
    CHECK(r.indexes.back() == kept);  // indexes continue where the kept records end
    for (std::size_t i = 0; i < kept; ++i)
        CHECK(r.records[i].second == body_for(static_cast<int>(i)));
}

TEST_CASE("journal: a flipped bit mid-file is reported at its exact record, reading goes on") {
    scratch_dir d("journal");
    write_n(opts(d), 30);
    const auto seg = list_segments(d.path().string()).back();
    const auto offsets = record_offsets(seg);
    flip_byte(seg, offsets[12] + format::frame_bytes + format::payload_fixed_bytes + 3);

    const auto r = read_all(d.path().string());
    CHECK(r.records.size() == 29);
    REQUIRE(r.problems.size() == 1);
    CHECK(r.problems[0].segment == seg);
    CHECK(r.problems[0].offset == offsets[12]);
    CHECK(r.problems[0].bytes == offsets[13] - offsets[12]);
    CHECK(r.problems[0].reason == "checksum mismatch");
    CHECK(r.records[12].second == body_for(13));  // the one after it is intact
    CHECK(r.indexes[12] == 13);                   // and keeps its index

    const auto rep = verify(d.path().string());
    CHECK(rep.records == 29);
    REQUIRE(rep.problems.size() == 1);
    CHECK(rep.problems[0].offset == offsets[12]);

    // Reopening keeps the damaged record (good ones follow it): nothing is cut.
    const auto size = fs::file_size(seg);
    writer w(opts(d));
    CHECK(w.recovery().damaged_kept == 1);
    CHECK(w.recovery().dropped_bytes == 0);
    CHECK(fs::file_size(seg) == size);
    CHECK(w.next_index() == 30);
}

TEST_CASE("journal: a damaged length skips the rest of its segment, the next one is read") {
    scratch_dir d("journal");
    auto o = opts(d);
    o.segment_bytes = 2048;
    write_n(o, 150);
    const auto files = list_segments(d.path().string());
    REQUIRE(files.size() >= 3);
    const auto offsets = record_offsets(files[0]);
    REQUIRE(offsets.size() > 4);
    flip_byte(files[0], offsets[2] + 1);  // inside the length field

    const auto rep = verify(d.path().string());
    REQUIRE(rep.problems.size() == 1);  // no extra "index discontinuity" for the same damage
    CHECK(rep.problems[0].segment == files[0]);
    CHECK(rep.problems[0].offset == offsets[2]);
    CHECK(rep.problems[0].bytes == fs::file_size(files[0]) - offsets[2]);
    CHECK(rep.problems[0].reason.find("length damaged") != std::string::npos);
    CHECK(rep.records == 150 - offsets.size() + 2);
}

TEST_CASE("journal: a missing segment is reported as an index discontinuity") {
    scratch_dir d("journal");
    auto o = opts(d);
    o.segment_bytes = 2048;
    write_n(o, 150);
    const auto files = list_segments(d.path().string());
    REQUIRE(files.size() >= 3);
    fs::remove(files[1]);
    const auto rep = verify(d.path().string());
    REQUIRE(rep.problems.size() == 1);
    CHECK(rep.problems[0].segment == files[2]);
    CHECK(rep.problems[0].offset == 0);
    CHECK(rep.problems[0].reason.find("index discontinuity") != std::string::npos);

    fs::remove(files[0]);  // a journal may start at any index (old segments deleted)
    CHECK(verify(d.path().string()).clean());
}

TEST_CASE("journal: an unusable last segment is set aside and a new one started") {
    scratch_dir d("journal");
    const auto path = d.file(format::segment_name(0));
    std::ofstream(path, std::ios::binary) << std::string(100, 'G');
    {
        writer w(opts(d));
        CHECK(w.recovery().set_aside == path + ".corrupt");
        CHECK(fs::exists(path + ".corrupt"));
        REQUIRE(w.append("t", "fresh", t0));
    }
    auto r = read_all(d.path().string());
    CHECK(r.problems.empty());
    CHECK(r.records.size() == 1);

    // A header cut short (crash while creating the segment) is simply rewritten.
    scratch_dir d2("journal");
    std::ofstream(d2.file(format::segment_name(7)), std::ios::binary) << "TBJ";
    writer w2(opts(d2));
    CHECK(w2.recovery().dropped_bytes == 3);
    CHECK(w2.next_index() == 7);
}

TEST_CASE("journal: reading a large log uses a fixed buffer") {
    scratch_dir d("journal");
    auto o = opts(d);
    o.segment_bytes = 4ULL << 20;
    {
        writer w(o);
        const std::string body(200, 'm');
        for (int i = 0; i < 100'000; ++i) REQUIRE(w.append("md.tick.AAPL", body, t0 + i));
        REQUIRE(w.append("big", std::string(1 << 20, 'B'), t0));  // one record > the buffer
        for (int i = 0; i < 1000; ++i) REQUIRE(w.append("md.tick.AAPL", body, t0 + i));
    }
    reader rd(d.path().string());
    std::uint64_t n = 0;
    std::size_t cap_after_big = 0;
    bool big_seen = false;
    while (const read_item* it = rd.next()) {
        REQUIRE(it->what == read_item::status::ok);
        ++n;
        if (it->rec.topic == "big") big_seen = true;
        if (big_seen && it->rec.topic != "big") cap_after_big = rd.max_buffer_capacity();
    }
    CHECK(n == 101'001);
    // The buffer grew once, to hold the 1 MiB record, and never beyond one record + frame.
    CHECK(rd.max_buffer_capacity() <= format::record_bytes(3, 1 << 20));
    CHECK(cap_after_big == rd.max_buffer_capacity());

    // Without the big record, a 20 MB log never needs more than the default buffer.
    scratch_dir d2("journal");
    {
        writer w(opts(d2));
        const std::string body(200, 'm');
        for (int i = 0; i < 100'000; ++i) REQUIRE(w.append("md.tick.AAPL", body, t0 + i));
    }
    reader rd2(d2.path().string());
    while (rd2.next() != nullptr) {
    }
    CHECK(rd2.max_buffer_capacity() == segment_reader::default_buffer_bytes);
}

TEST_CASE("journal: node writes what a poll turn received before the next poll") {
    scratch_dir d("journal");
    journal_config cfg;
    cfg.writer = opts(d, fsync_policy::interval);
    cfg.writer.fsync_interval_ms = 3'600'000;  // fdatasync out of the picture
    cfg.query_endpoint.clear();
    journal_node node(cfg);
    recording_context ctx;
    node.on_start(ctx);
    auto count_on_disk = [&] {
        std::size_t n = 0;
        reader rd(d.path().string());
        while (const read_item* it = rd.next()) n += it->what == read_item::status::ok ? 1 : 0;
        return n;
    };
    for (std::uint64_t seq = 1; seq <= 3; ++seq) {
        inbound_message m("md.tick.AAPL",
                          schema::event{schema::envelope{"md", seq, t0, seq},
                                        schema::tick{"AAPL", 1, 1, 2, 1, 0, 0, t0}});
        node.on_event(ctx, m.view());
    }
    CHECK(count_on_disk() == 0);  // appended: still in the writer's buffer
    REQUIRE(node.log() != nullptr);
    const auto syncs = node.log()->fsyncs();
    node.on_drained(ctx);         // the end of the poll turn
    CHECK(count_on_disk() == 3);  // in the file (the OS has it), the process still running
    CHECK(node.log()->buffered_bytes() == 0);
    CHECK(node.log()->fsyncs() == syncs);  // write(2) only: fdatasync stays on its interval
    node.on_stop(ctx);
}

TEST_CASE("journal: node stores raw bytes, flags undecodable messages, records gap markers") {
    scratch_dir d("journal");
    journal_config cfg;
    cfg.writer = opts(d, fsync_policy::interval);
    cfg.query_endpoint.clear();  // no query service: this context has no sockets
    journal_node node(cfg);
    recording_context ctx;
    CHECK(node.subscriptions() == std::vector<std::string>{""});
    node.on_start(ctx);

    auto tick_event = [](std::uint64_t seq) {
        return schema::event{schema::envelope{"md", seq, t0, 100 + seq},
                             schema::tick{"AAPL", 1, 1, 2, 1, 0, 0, t0}};
    };
    std::vector<std::string> raws;
    for (std::uint64_t seq : {1U, 2U, 5U, 6U, 1U}) {  // a gap of 2, then a restart
        inbound_message m("md.tick.AAPL", tick_event(seq));
        raws.push_back(m.raw);
        node.on_event(ctx, m.view());
        ctx.now += ms;
    }
    node.on_undecodable(ctx, "md.tick.AAPL", "\xc1garbage", schema::decode_error{"", "bad"});
    CHECK(node.on_timer(ctx, ctx.now) == ctx.now + cfg.writer.fsync_interval_ms * ms);
    CHECK(node.gaps_recorded() == 2);
    node.on_stop(ctx);
    CHECK(node.log() == nullptr);

    reader rd(d.path().string());
    std::vector<record> recs;
    std::vector<std::string> bodies;
    while (const read_item* it = rd.next()) {
        REQUIRE(it->what == read_item::status::ok);
        recs.push_back(it->rec);
        bodies.emplace_back(it->rec.body);
    }
    REQUIRE(recs.size() == 8);
    CHECK(bodies[0] == raws[0]);  // exactly the bytes received
    CHECK(bodies[1] == raws[1]);
    CHECK(recs[2].flags == format::flags::gap_marker);
    const auto marker = encode_gap_marker({"gap", "md", "md.tick.AAPL", 3, 5, 2});
    CHECK(bodies[2] == marker);
    CHECK(bodies[3] == raws[2]);
    CHECK(bodies[4] == raws[3]);
    CHECK(recs[5].flags == format::flags::gap_marker);
    CHECK(bodies[5].find("restart") != std::string::npos);
    CHECK(bodies[6] == raws[4]);
    CHECK(recs[7].flags == format::flags::undecodable);
    CHECK(bodies[7] == "\xc1garbage");
    CHECK(recs[0].recv_ts_ns == recording_context{}.now);
    CHECK(ctx.out.empty());  // the journal never publishes
}

TEST_CASE("journal: gap marker is a msgpack map with string keys") {
    const auto b = encode_gap_marker({"gap", "md", "md.tick.AAPL", 3, 300, 297});
    CHECK(static_cast<unsigned char>(b[0]) == 0x87);  // fixmap of 7
    CHECK(b.substr(1, 5) == "\xa4type");
    CHECK(b.find("\xabjournal_gap") != std::string::npos);
    CHECK(b.find("\xa7got_seq\xcf") != std::string::npos);  // 300 > 127: uint64 form
    CHECK(b.find("\xa7missing\xcf") != std::string::npos);
    CHECK(b.find("\xac"
                 "expected_seq\x03") != std::string::npos);  // positive fixint
}

TEST_CASE("journal: a broker_restart marker carries both epochs") {
    gap_marker m{"broker_restart", "", "sys.broker.started", 0, 0, 0, 7, 300};
    const auto b = encode_gap_marker(m);
    CHECK(static_cast<unsigned char>(b[0]) == 0x89);  // fixmap of 9
    CHECK(b.find("\xae"
                 "broker_restart") != std::string::npos);
    CHECK(b.find("\xa9old_epoch\x07") != std::string::npos);
    CHECK(b.find("\xa9new_epoch\xcf") != std::string::npos);  // 300 > 127: uint64 form
}

// Reads [journal] from `text` as the node does; problems land in `errors`.
static journal_config parse_journal(std::string_view text, common::config_errors& errors) {
    auto tbl = toml::parse(text);
    common::section root(&tbl, "", errors);
    auto own = root.table("journal");
    journal_config cfg = read_config(own);
    own.finish();
    return cfg;
}

TEST_CASE("journal: a link message that comes before the resume reply is stored once") {
    // The broker resends right after answering recorder_resume; the runtime reads the data
    // socket before the control reply, so the resent messages can come first.
    scratch_dir d("journal");
    journal_config cfg;
    cfg.writer = opts(d, fsync_policy::interval);
    cfg.query_endpoint.clear();
    cfg.source = "recorder";
    cfg.recorder_endpoint = "tcp://127.0.0.1:5553";
    journal_node node(cfg);
    recording_context ctx;
    ctx.epoch = 7;
    ctx.session = 9;
    node.on_start(ctx);
    REQUIRE(ctx.control.size() == 1);
    const auto req = schema::decode_control(ctx.control[0].request);
    REQUIRE(req);
    const auto* resume = std::get_if<schema::recorder_resume>(&req.value());
    REQUIRE(resume != nullptr);
    CHECK(resume->epoch == 7);
    CHECK(resume->after == 0);

    const auto take = [&](std::uint64_t epoch, std::uint64_t seq) {
        if (!node.on_recorder_seq(ctx, epoch, seq)) return false;
        inbound_message m("md.tick.AAPL",
                          schema::event{schema::envelope{"md", seq, t0, seq},
                                        schema::tick{"AAPL", 1, 1, 2, 1, 0, 0, t0}});
        node.on_event(ctx, m.view());
        return true;
    };
    CHECK_FALSE(take(6, 1));  // an older epoch than the one asked for
    CHECK(take(7, 1));        // before the reply: the message after the last stored
    CHECK_FALSE(take(7, 3));  // ahead
    CHECK(take(7, 2));
    const schema::control_message reply = schema::recorder_resume_reply{7, 1, 0, 4};
    ctx.control[0].on_reply(&reply);
    CHECK_FALSE(take(7, 1));  // the resent ones: stored already
    CHECK_FALSE(take(7, 2));
    CHECK(take(7, 3));
    CHECK(node.link_stored().epoch == 7);
    CHECK(node.link_stored().seq == 3);
    CHECK(node.recorder_gaps() == 0);
    node.on_stop(ctx);

    std::vector<std::uint64_t> stored;  // the ticks' seqs, each once, in order
    reader rd(d.path().string());
    while (const read_item* it = rd.next()) {
        REQUIRE(it->what == read_item::status::ok);
        if (it->rec.topic != "md.tick.AAPL") continue;
        const auto ev = schema::decode_event(it->rec.body);
        REQUIRE(ev);
        stored.push_back(ev.value().env.seq);
    }
    CHECK(stored == std::vector<std::uint64_t>{1, 2, 3});
    const auto pos = find_link_position(d.path().string());
    REQUIRE(pos.has_value());
    CHECK(pos->epoch == 7);
    CHECK(pos->seq == 3);
}

TEST_CASE("journal: source recorder needs the recorder endpoint") {
    common::config_errors ok("journal.toml");
    const journal_node node(parse_journal(
        "[journal]\nsource = \"recorder\"\nrecorder_endpoint = \"tcp://127.0.0.1:5553\"\n", ok));
    CHECK(ok.empty());
    CHECK(node.data_endpoint() == "tcp://127.0.0.1:5553");

    common::config_errors bad("journal.toml");
    (void)parse_journal("[journal]\nsource = \"recorder\"\n", bad);
    REQUIRE(bad.lines().size() == 1);
    CHECK(bad.lines()[0].find("journal.recorder_endpoint: expected the broker's [endpoints] "
                              "recorder endpoint") != std::string::npos);

    common::config_errors dflt("journal.toml");
    const journal_node bus(parse_journal("[journal]\n", dflt));
    CHECK(dflt.empty());
    CHECK(bus.data_endpoint().empty());  // the broker's XPUB, as every node
}

TEST_CASE("journal: config keys are read and checked") {
    common::config_errors errors("journal.toml");
    auto tbl = toml::parse(R"(
        [journal]
        dir = "/tmp/j"
        segment_bytes = 1048576
        fsync = "every"
        fsync_interval_ms = 250
        buffer_bytes = 65536
    )");
    common::section root(&tbl, "", errors);
    auto own = root.table("journal");
    const auto cfg = read_config(own);
    own.finish();
    CHECK(errors.empty());
    CHECK(cfg.writer.dir == "/tmp/j");
    CHECK(cfg.writer.segment_bytes == 1048576);
    CHECK(cfg.writer.fsync == fsync_policy::every);
    CHECK(cfg.writer.fsync_interval_ms == 250);
    CHECK(cfg.writer.buffer_bytes == 65536);

    common::config_errors bad("journal.toml");
    (void)parse_journal("[journal]\nfsync = \"sometimes\"\nsegment_bytes = 10\n", bad);
    CHECK(bad.lines().size() == 2);
    // flush_interval_ms is gone: the node writes every poll's records before the next poll.
    common::config_errors gone("journal.toml");
    (void)parse_journal("[journal]\nflush_interval_ms = 100\n", gone);
    REQUIRE(gone.lines().size() == 1);
    CHECK(gone.lines()[0].find("journal.flush_interval_ms: unknown key") != std::string::npos);
}
