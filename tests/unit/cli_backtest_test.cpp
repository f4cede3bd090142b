// The backtester's building blocks (cli/backtest.hpp): the shipped desk's node files built as
// `tradebus backtest` builds them and run on the sample quotes, identical whether subscribers
// get each published event or decode it from its bytes as on the wire; `--set` parsing and
// applying, and a bad --set value reported as the node file's own error; a journal's market
// data replayed in marketdata's place (md_records, scan_journal, journal_feed), and the CSV
// window marketdata is told.
#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include "scratch_dir.hpp"
#include "tradebus/cli/backtest.hpp"
#include "tradebus/journal/format.hpp"
#include "tradebus/journal/writer.hpp"
#include "tradebus/runtime/simulation.hpp"
#include "tradebus/schema/codec.hpp"

using namespace tradebus;
using namespace tradebus::cli;

namespace {

const std::string nodes_dir = std::string(TRADEBUS_SOURCE_DIR) + "/config/nodes";
const std::string sample = std::string(TRADEBUS_SOURCE_DIR) + "/config/data/sample_quotes.csv";

struct run_record {
    std::string published;  // every message: time, topic, bytes
    std::uint64_t fills = 0;
    runtime::simulation_stats stats;
};

run_record run_sample(bool decode_each) {
    std::vector<std::string> errors;
    auto nodes = load_backtest_nodes(
        nodes_dir, pipeline_kinds(),
        [](std::string_view kind, toml::table& file) {
            if (kind == "marketdata") replay_data(file, sample);
        },
        errors);
    REQUIRE(errors.empty());
    REQUIRE(nodes.size() == 4);
    runtime::simulation sim({.start_ns = 1'710'509'400'000'000'000, .decode_each = decode_each});
    for (auto& n : nodes) sim.add_node(n.name, std::move(n.logic));
    run_record r;
    sim.set_tap([&](std::int64_t now, std::string_view topic, std::string_view raw) {
        r.published.append(std::to_string(now)).append(" ").append(topic).append(" ");
        r.published.append(raw).append("\n");
        if (topic.starts_with("exec.fill.")) ++r.fills;
    });
    r.stats = sim.run();
    return r;
}

}  // namespace

TEST_CASE("backtest: the sample runs byte for byte the same with decode_each as without") {
    const run_record handed = run_sample(false);
    const run_record decoded = run_sample(true);
    CHECK(handed.fills > 0);
    CHECK(handed.stats.published == decoded.stats.published);
    CHECK(handed.stats.delivered == decoded.stats.delivered);
    CHECK(handed.stats.stopped_by == "marketdata");
    CHECK(handed.published == decoded.published);
}

TEST_CASE("backtest: --set parses a kind, a path and each value as TOML") {
    std::string error;
    auto s = parse_setting("strategy.fast_period=5,8,13", error);
    REQUIRE(s);
    CHECK(s->kind == "strategy");
    CHECK(s->path == std::vector<std::string>{"strategy", "fast_period"});
    CHECK(s->text == "strategy.fast_period");
    REQUIRE(s->values.size() == 3);
    CHECK(s->value_at(0).value<std::int64_t>() == 5);
    CHECK(s->value_at(2).value<std::int64_t>() == 13);

    s = parse_setting("risk.symbols.MSFT.max_position=2.5,true,[1, 2],\"a,b\",word", error);
    REQUIRE(s);
    CHECK(s->path == std::vector<std::string>{"risk", "symbols", "MSFT", "max_position"});
    REQUIRE(s->values.size() == 5);
    CHECK(s->value_at(0).value<double>() == 2.5);
    CHECK(s->value_at(1).value<bool>() == true);
    CHECK(s->value_at(2).is_array());
    CHECK(s->value_at(3).value<std::string>() == "a,b");
    CHECK(s->value_at(4).value<std::string>() == "word");

    for (const char* bad : {"fast_period=5", "strategy.fast_period", "strategy.fast_period=", "=5",
                            "strategy..x=1", "strategy.x=1,,2"}) {
        CAPTURE(bad);
        error.clear();
        CHECK_FALSE(parse_setting(bad, error));
        CHECK(error.find("--set") == 0);
    }
}

TEST_CASE("backtest: a --set value lands in the node file, and a bad one is that file's error") {
    std::string error;
    toml::table file;
    file.insert_or_assign("strategy", toml::table{{"fast_period", 5}});
    const auto s = parse_setting("strategy.symbols.MSFT.fast_period=3", error);
    REQUIRE(s);
    apply_setting(file, s->path, s->value_at(0));
    CHECK(file["strategy"]["symbols"]["MSFT"]["fast_period"].value<std::int64_t>() == 3);
    CHECK(file["strategy"]["fast_period"].value<std::int64_t>() == 5);

    const auto bad = parse_setting("strategy.fast_period=fast", error);
    REQUIRE(bad);
    std::vector<std::string> errors;
    const auto nodes = load_backtest_nodes(
        nodes_dir, pipeline_kinds(),
        [&](std::string_view kind, toml::table& f) {
            if (kind == "marketdata") replay_data(f, sample);
            if (kind == bad->kind) apply_setting(f, bad->path, bad->value_at(0));
        },
        errors);
    CHECK(nodes.empty());
    REQUIRE(errors.size() == 1);
    CHECK(errors.front().find("strategy.toml") != std::string::npos);
    CHECK(errors.front().find("fast_period") != std::string::npos);
}

namespace {

constexpr std::int64_t t0 = 1'710'509'400'000'000'000;
constexpr std::int64_t ms = 1'000'000;

std::string tick_bytes(const std::string& symbol, std::int64_t ts, std::uint64_t trace) {
    schema::tick t;
    t.symbol = symbol;
    t.bid_px = schema::to_fixed(100.0);
    t.ask_px = schema::to_fixed(100.5);
    t.bid_qty = t.ask_qty = 3;
    t.exch_ts_ns = ts;
    std::string out;
    schema::encode_event(schema::envelope{"md-live", 41, ts, trace, 9}, t, out);
    return out;
}

std::string bar_bytes(const std::string& symbol, std::int64_t start, std::uint64_t trace) {
    schema::bar b;
    b.symbol = symbol;
    b.interval_ms = 1000;
    b.start_ts_ns = start;
    b.open_px = b.high_px = b.low_px = b.close_px = schema::to_fixed(100.25);
    b.volume = 0;
    b.ticks = 2;
    std::string out;
    schema::encode_event(schema::envelope{"md-live", 7, start, trace, 9}, b, out);
    return out;
}

struct journal_record {
    std::string topic, body;
    std::int64_t at = 0;
    std::uint16_t flags = 0;
};

// Writes `records` as a journal in `dir`; returns each record's offset in its (one) segment.
std::vector<std::uint64_t> write_journal(const std::string& dir,
                                         const std::vector<journal_record>& records) {
    journal::writer w({.dir = dir, .fsync = journal::fsync_policy::none, .created_ns = t0});
    std::vector<std::uint64_t> offsets;
    std::uint64_t at = journal::format::header_bytes;
    for (const auto& r : records) {
        REQUIRE(w.append(r.topic, r.body, r.at, r.flags));
        offsets.push_back(at);
        at += journal::format::record_bytes(r.topic.size(), r.body.size());
    }
    REQUIRE(w.flush());
    return offsets;
}

std::string segment0(const std::string& dir) {
    return dir + "/" + journal::format::segment_name(0);
}

std::string scan_error(const std::string& dir, const replay_window& window = {}) {
    try {
        (void)scan_journal(dir, window);
    } catch (const journal_data_error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("backtest: a journal's md records replay at their times, with their trace ids") {
    scratch_dir tmp("bt-journal");
    const std::string dir = tmp.file("journal");
    write_journal(
        dir,
        {
            {"md.tick.AAPL", tick_bytes("AAPL", t0 - 5 * ms, 11), t0},
            {"sys.node.health.x", "not even msgpack", t0 + 1 * ms},
            {"md.tick.AAPL", "gap marker body", t0 + 2 * ms, journal::format::flags::gap_marker},
            {std::string(journal::format::recorder_mark_topic), std::string(16, '\0'), t0 + 3 * ms,
             journal::format::flags::recorder_mark},
            {"strategy.signal.AAPL", "\x81", t0 + 4 * ms},
            {"md.bar.AAPL", bar_bytes("AAPL", t0 - 1000 * ms, 12), t0 + 10 * ms},
            {"md.tick.MSFT", tick_bytes("MSFT", t0 + 15 * ms, 13), t0 + 10 * ms},
            {"md.tick.AAPL", tick_bytes("AAPL", t0 + 19 * ms, 14), t0 + 20 * ms},
        });

    const journal_scan all = scan_journal(dir, {});
    CHECK(all.segments == 1);
    CHECK(all.records == 4);
    CHECK(all.ticks == 3);
    CHECK(all.bars == 1);
    CHECK(all.first_ns == t0);
    CHECK(all.last_ns == t0 + 20 * ms);
    CHECK(all.last_index == 7);
    CHECK(all.gap_markers == 1);

    // A window: [from, to) of the receive times.
    const journal_scan window = scan_journal(dir, {t0 + 2 * ms, t0 + 20 * ms});
    CHECK(window.records == 2);
    CHECK(window.first_ns == t0 + 10 * ms);
    CHECK(window.last_index == 6);
    CHECK(window.gap_markers == 1);
    CHECK(scan_journal(dir, {t0 + 3 * ms, std::nullopt}).gap_markers == 0);
    CHECK(scan_journal(dir, {std::nullopt, t0}).records == 0);

    // On the simulated clock: each event at its receive time, on its topic, stamped by the
    // feeder (src, seq per topic, ts) with the recorded trace id and payload; then a stop.
    for (const bool decode_each : {false, true}) {
        CAPTURE(decode_each);
        runtime::simulation sim({.start_ns = all.first_ns, .decode_each = decode_each});
        sim.add_node(std::string(journal_feed_name),
                     std::make_unique<journal_feed>(dir, replay_window{}, all, 1000));
        std::vector<std::string> seen;
        sim.set_tap([&](std::int64_t now, std::string_view topic, std::string_view raw) {
            auto ev = schema::decode_event(raw);
            REQUIRE(ev);
            seen.push_back(std::to_string((now - t0) / ms) + " " + std::string(topic) + " " +
                           ev->env.src + "#" + std::to_string(ev->env.seq) + " ts " +
                           std::to_string((ev->env.ts_ns - t0) / ms) + " trace " +
                           std::to_string(ev->env.trace_id));
            if (const auto* t = std::get_if<schema::tick>(&ev->body)) {
                CHECK(t->bid_qty == 3);
                CHECK(t->exch_ts_ns != now);  // the recorded exchange time, not the replay's
            }
        });
        const auto stats = sim.run();
        CHECK(seen == std::vector<std::string>{
                          "0 md.tick.AAPL replay#1 ts 0 trace 11",
                          "10 md.bar.AAPL replay#1 ts 10 trace 12",
                          "10 md.tick.MSFT replay#1 ts 10 trace 13",
                          "20 md.tick.AAPL replay#2 ts 20 trace 14",
                      });
        CHECK(stats.stopped_by == "replay");
        CHECK(stats.stop_reason == "journal replay finished");
        const auto* feed = dynamic_cast<journal_feed*>(sim.logic(journal_feed_name));
        REQUIRE(feed != nullptr);
        CHECK(feed->published() == 4);
        CHECK(feed->finished());
    }

    // A window's feed replays only the window.
    runtime::simulation sim({.start_ns = window.first_ns});
    sim.add_node("replay", std::make_unique<journal_feed>(
                               dir, replay_window{t0 + 2 * ms, t0 + 20 * ms}, window, 1000));
    std::uint64_t published = 0;
    sim.set_tap([&](std::int64_t, std::string_view, std::string_view) { ++published; });
    (void)sim.run();
    CHECK(published == 2);
}

TEST_CASE("backtest: a journal's bad md record stops the check with its segment and offset") {
    scratch_dir tmp("bt-journal-bad");

    SUBCASE("undecodable") {
        const std::string dir = tmp.file("undecodable");
        const auto at = write_journal(
            dir, {{"md.tick.AAPL", tick_bytes("AAPL", t0, 1), t0},
                  {"md.tick.AAPL", "\x81\xa1v\x07", t0 + ms, journal::format::flags::undecodable}});
        const std::string why = scan_error(dir);
        CHECK_MESSAGE(why.starts_with(segment0(dir) + ":" + std::to_string(at[1]) +
                                      ": md.tick.AAPL: undecodable: "),
                      why);
        // Outside the window it is not replayed, so it does not matter.
        CHECK(scan_journal(dir, {std::nullopt, t0 + ms}).records == 1);
    }
    SUBCASE("misrouted") {
        const std::string dir = tmp.file("misrouted");
        const auto at = write_journal(dir, {{"md.tick.AAPL", bar_bytes("AAPL", t0, 1), t0}});
        CHECK(scan_error(dir) == segment0(dir) + ":" + std::to_string(at[0]) +
                                     ": a bar event on md.tick.AAPL (misrouted: md.tick.* "
                                     "carries ticks, md.bar.* bars)");
    }
    SUBCASE("out of time order") {
        const std::string dir = tmp.file("order");
        const auto at = write_journal(dir, {{"md.tick.AAPL", tick_bytes("AAPL", t0, 1), t0 + ms},
                                            {"risk.state", "x", t0},  // not md: no matter
                                            {"md.tick.AAPL", tick_bytes("AAPL", t0, 2), t0}});
        CHECK(scan_error(dir) == segment0(dir) + ":" + std::to_string(at[2]) +
                                     ": md.tick.AAPL received at " + std::to_string(t0) +
                                     " ns, earlier than the md record before it (" +
                                     std::to_string(t0 + ms) + " ns)");
    }
    SUBCASE("a damaged record, md or not") {
        const std::string dir = tmp.file("damaged");
        const auto at = write_journal(dir, {{"md.tick.AAPL", tick_bytes("AAPL", t0, 1), t0},
                                            {"exec.fill.AAPL", "whatever", t0 + ms},
                                            {"md.tick.AAPL", tick_bytes("AAPL", t0, 2), t0 + ms}});
        {
            std::fstream f(segment0(dir), std::ios::in | std::ios::out | std::ios::binary);
            f.seekp(static_cast<std::streamoff>(at[1] + 20));
            f.put('!');
        }
        CHECK(scan_error(dir) ==
              segment0(dir) + ":" + std::to_string(at[1]) + ": checksum mismatch");
    }
}

TEST_CASE("backtest: the window reaches marketdata's node file, and is described in UTC") {
    toml::table file;
    replay_data(file, "q.csv", {t0, t0 + 60'000 * ms});
    CHECK(file["marketdata"]["csv"]["from_ns"].value<std::int64_t>() == t0);
    CHECK(file["marketdata"]["csv"]["to_ns"].value<std::int64_t>() == t0 + 60'000 * ms);
    replay_data(file, "q.csv");
    CHECK(file["marketdata"]["csv"]["from_ns"].value<std::int64_t>() == 0);
    CHECK(file["marketdata"]["csv"]["to_ns"].value<std::int64_t>() == 0);

    CHECK(describe({}).empty());
    CHECK(describe({t0, std::nullopt}) == "at or after 2024-03-15T13:30:00.000Z");
    CHECK(describe({std::nullopt, t0}) == "before 2024-03-15T13:30:00.000Z");
    CHECK(describe({t0, t0 + 1500 * ms}) ==
          "at or after 2024-03-15T13:30:00.000Z and before 2024-03-15T13:30:01.500Z");
}
