// marketdata: CSV parsing (bad rows included), replay pacing, the synthetic walk, bar
// aggregation, and the node logic driven through a recording context.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "recording_context.hpp"
#include "scratch_dir.hpp"
#include "tradebus/marketdata/marketdata_node.hpp"
#include "tradebus/schema/topics.hpp"

using namespace tradebus;
using namespace tradebus::marketdata;

namespace {

constexpr std::int64_t ms = 1'000'000;
constexpr std::int64_t sec = 1'000'000'000;

void write_file(const std::string& path, const std::string& text) {
    std::ofstream f(path, std::ios::binary);
    f << text;
}

std::string row_error(std::string_view line, const csv_layout& l = {}) {
    auto r = parse_row(line, l);
    if (auto* e = std::get_if<std::string>(&r)) return *e;
    return "";
}

// Loads [marketdata] from TOML text; returns the config and the error lines.
std::pair<marketdata_config, std::vector<std::string>> load(const std::string& toml_text) {
    common::config_errors errors("md.toml");
    auto tbl = toml::parse(toml_text);
    common::section root(&tbl, "", errors);
    auto own = root.table("marketdata");
    auto cfg = read_config(own);
    own.finish();
    return {cfg, errors.lines()};
}

marketdata_config synthetic_cfg(double rate, std::int64_t max_batch = 1000) {
    marketdata_config c;
    c.source = "synthetic";
    c.seed = 7;
    c.max_batch = max_batch;
    c.synthetic.rate_per_sec = rate;
    c.synthetic.symbols = {{"AAPL", 190.0, 5.0, 2.0, 1, 50}, {"MSFT", 410.0, 5.0, 2.0, 1, 50}};
    return c;
}

const std::string sample_csv_path =
    (std::filesystem::path(__FILE__).parent_path() / "../../config/data/sample_quotes.csv")
        .string();

}  // namespace

TEST_CASE("schema: parse_fixed reads plain decimals exactly and rejects the rest") {
    CHECK(schema::parse_fixed("189.52") == std::optional<std::int64_t>(18'952'000'000));
    CHECK(schema::parse_fixed("12") == std::optional<std::int64_t>(1'200'000'000));
    CHECK(schema::parse_fixed("0.00000001") == std::optional<std::int64_t>(1));
    CHECK(schema::parse_fixed(".5") == std::optional<std::int64_t>(50'000'000));
    CHECK(schema::parse_fixed("7.") == std::optional<std::int64_t>(700'000'000));
    for (const char* bad : {"", ".", "-1", "+1", "1e3", "1.000000001", "abc", "1.2.3", " 1",
                            "99999999999999999999"}) {
        CAPTURE(bad);
        CHECK_FALSE(schema::parse_fixed(bad).has_value());
    }
}

TEST_CASE("marketdata: csv rows parse, and every kind of bad row says why") {
    auto ok = parse_row("1710509400000000000,AAPL,172.61,12,172.62,9,172.62,3", {});
    REQUIRE(std::holds_alternative<quote_row>(ok));
    const auto& r = std::get<quote_row>(ok);
    CHECK(r.ts_ns == 1'710'509'400'000'000'000);
    CHECK(r.symbol == "AAPL");
    CHECK(r.bid_px == schema::to_fixed(172.61));
    CHECK(r.ask_qty == 9);
    CHECK(r.last_px == schema::to_fixed(172.62));
    CHECK(r.last_qty == 3);

    auto no_trade = parse_row("5,SPY,511.20,4,511.21,6,,", {});
    REQUIRE(std::holds_alternative<quote_row>(no_trade));
    CHECK(std::get<quote_row>(no_trade).last_qty == 0);

    struct bad_case {
        const char* line;
        const char* expect;
    };
    const bad_case table[] = {
        {"5,SPY,511.20,4,511.21", "expected 8 fields, got 5"},
        {"x,SPY,511.20,4,511.21,6,,", "timestamp"},
        {"-5,SPY,511.20,4,511.21,6,,", "timestamp"},
        {"5,SP Y,511.20,4,511.21,6,,", "symbol"},
        {"5,,511.20,4,511.21,6,,", "symbol"},
        {"5,SPY,abc,4,511.21,6,,", "bid_px"},
        {"5,SPY,0,4,511.21,6,,", "bid_px"},
        {"5,SPY,511.20,-4,511.21,6,,", "bid_qty"},
        {"5,SPY,511.20,4,,6,,", "ask_px"},
        {"5,SPY,511.20,4,511.21,1.5,,", "ask_qty"},
        {"5,SPY,511.30,4,511.21,6,,", "crossed quote"},
        {"5,SPY,511.20,4,511.21,6,511.2,", "give both or neither"},
        {"5,SPY,511.20,4,511.21,6,,3", "give both or neither"},
        {"5,SPY,511.20,4,511.21,6,511.2,0", "positive size"},
        {"5,SPY,511.20,4,511.21,6,-1,2", "last_px"},
    };
    for (const auto& c : table) {
        CAPTURE(c.line);
        const auto why = row_error(c.line);
        CHECK_MESSAGE(why.find(c.expect) != std::string::npos, why);
    }
}

TEST_CASE("marketdata: csv header maps columns by name, in any order, with ms timestamps") {
    auto h = parse_header("symbol,ts_ms,ask_px,ask_qty,bid_px,bid_qty,venue");
    REQUIRE(std::holds_alternative<csv_layout>(h));
    const auto& l = std::get<csv_layout>(h);
    CHECK(l.ts_unit_ns == ms);
    CHECK(l.last_px == -1);
    auto r = parse_row("AAPL,1710509400123,172.62,9,172.61,12,XNAS", l);
    REQUIRE(std::holds_alternative<quote_row>(r));
    CHECK(std::get<quote_row>(r).ts_ns == 1'710'509'400'123 * ms);
    CHECK(std::get<quote_row>(r).bid_qty == 12);

    auto missing = parse_header("ts_ns,symbol,bid_px,bid_qty,ask_px");
    REQUIRE(std::holds_alternative<std::string>(missing));
    CHECK(std::get<std::string>(missing).find("ask_qty") != std::string::npos);
    auto twice = parse_header("ts_ns,ts_ms,symbol,bid_px,bid_qty,ask_px,ask_qty");
    CHECK(std::holds_alternative<std::string>(twice));
    auto half_trade = parse_header("ts_ns,symbol,bid_px,bid_qty,ask_px,ask_qty,last_px");
    CHECK(std::holds_alternative<std::string>(half_trade));
}

TEST_CASE("marketdata: csv reader skips bad rows, counting them with their line numbers") {
    scratch_dir dir("md");
    const auto path = dir.file("q.csv");
    write_file(path,
               "# comment line\n"
               "ts_ns,symbol,bid_px,bid_qty,ask_px,ask_qty,last_px,last_qty\r\n"
               "1000,AAPL,10.00,1,10.01,2,,\r\n"
               "\n"
               "oops,AAPL,10.00,1,10.01,2,,\n" +
                   std::string(5000, 'x') + "\n" +
                   "2000,AAPL,10.01,1,10.02,2,10.02,1\n"
                   "3000,MSFT,10.05,1,10.01,2,,\n"
                   "4000,MSFT,20.00,3,20.01,4,,");  // no newline at the end
    csv_reader rd(path);
    std::vector<quote_row> rows;
    while (auto r = rd.next()) rows.push_back(*r);
    REQUIRE(rows.size() == 3);
    CHECK(rows[0].ts_ns == 1000);
    CHECK(rows[1].last_qty == 1);
    CHECK(rows[2].symbol == "MSFT");
    CHECK(rd.rows_ok() == 3);
    CHECK(rd.rows_bad() == 3);
    CHECK(rd.last_bad().line == 8);
    CHECK(rd.last_bad().reason.find("crossed") != std::string::npos);

    rd.rewind();  // loop support: the same rows again, counters keep running
    int again = 0;
    while (rd.next()) ++again;
    CHECK(again == 3);
    CHECK(rd.rows_bad() == 6);
}

TEST_CASE("marketdata: csv rows earlier than the row before are bad rows, said with their line") {
    scratch_dir dir("md");
    const auto path = dir.file("q.csv");
    write_file(path,
               "ts_ns,symbol,bid_px,bid_qty,ask_px,ask_qty\n"
               "1000,AAPL,10.00,1,10.01,2\n"
               "3000,AAPL,10.00,1,10.01,2\n"
               "2000,AAPL,10.00,1,10.01,2\n"  // line 4: back in time
               "3000,MSFT,20.00,1,20.01,2\n"  // the same time as the last good row: fine
               "4000,MSFT,20.00,1,20.01,2\n");
    csv_reader rd(path);
    std::vector<std::int64_t> ts;
    while (auto r = rd.next()) ts.push_back(r->ts_ns);
    CHECK(ts == std::vector<std::int64_t>{1000, 3000, 3000, 4000});
    CHECK(rd.rows_bad() == 1);
    CHECK(rd.last_bad().line == 4);
    CHECK(rd.last_bad().reason ==
          "timestamp 2000 is earlier than the row before it (3000): rows must be in time order");
    rd.rewind();  // a loop starts again from the first row's time
    int again = 0;
    while (rd.next()) ++again;
    CHECK(again == 4);
}

TEST_CASE("marketdata: csv reader without header uses the default order, bad headers refuse") {
    scratch_dir dir("md");
    write_file(dir.file("plain.csv"), "1000,AAPL,10.00,1,10.01,2,,\n2000,AAPL,10.00,1,10.01,2,,\n");
    csv_reader plain(dir.file("plain.csv"));
    int n = 0;
    while (plain.next()) ++n;
    CHECK(n == 2);

    write_file(dir.file("bad.csv"), "# x\ntime,sym,bid,ask\n1,A,1,2\n");
    CHECK_THROWS_WITH_AS(csv_reader(dir.file("bad.csv")), doctest::Contains("bad.csv:2"),
                         std::runtime_error);
    CHECK_THROWS_AS(csv_reader(dir.file("missing.csv")), std::runtime_error);
}

TEST_CASE("marketdata: the shipped sample_quotes.csv is clean, ordered and realistic") {
    csv_reader rd(sample_csv_path);
    std::set<std::string> symbols;
    std::int64_t prev = 0;
    std::uint64_t trades = 0, rows = 0;
    bool ordered = true, sane = true;
    while (auto r = rd.next()) {
        ++rows;
        symbols.insert(r->symbol);
        if (r->ts_ns < prev) ordered = false;
        prev = r->ts_ns;
        if (r->last_qty > 0) ++trades;
        const double spread_bps =
            schema::from_fixed(r->ask_px - r->bid_px) / schema::from_fixed(r->bid_px) * 1e4;
        if (spread_bps <= 0.0 || spread_bps > 20.0) sane = false;
    }
    CHECK(rd.rows_bad() == 0);
    CHECK(rows >= 2000);
    CHECK(symbols == std::set<std::string>{"AAPL", "MSFT", "SPY"});
    CHECK(ordered);
    CHECK(sane);
    CHECK(trades > rows / 20);
    CHECK(trades < rows);
    CHECK(std::filesystem::file_size(sample_csv_path) < 500 * 1024);
}

TEST_CASE("marketdata: replay pacing maps recorded time to wall time at any speed") {
    const std::int64_t src0 = 1'710'509'400 * sec, wall0 = 1'700'000'000 * sec;
    replay_pacer real(1.0);
    CHECK_FALSE(real.anchored());
    real.anchor(src0, wall0);
    CHECK(real.anchored());
    CHECK(real.due_ns(src0) == wall0);
    CHECK(real.due_ns(src0 + 250 * ms) == wall0 + 250 * ms);
    CHECK(real.due_ns(src0 - 5 * ms) == wall0 - 5 * ms);  // out of order: due at once
    CHECK(real.source_ns(wall0 + 3 * sec) == src0 + 3 * sec);

    replay_pacer fast(10.0);
    fast.anchor(src0, wall0);
    CHECK(fast.due_ns(src0 + 10 * sec) == wall0 + sec);
    CHECK(fast.source_ns(wall0 + sec) == src0 + 10 * sec);

    replay_pacer slow(0.5);
    slow.anchor(src0, wall0);
    CHECK(slow.due_ns(src0 + sec) == wall0 + 2 * sec);

    replay_pacer max(0.0);
    max.anchor(src0, wall0);
    CHECK(max.as_fast_as_possible());
    CHECK(max.due_ns(src0 + 3600 * sec) == wall0);  // everything due at once
}

TEST_CASE("marketdata: synthetic walk is deterministic for a seed") {
    auto cfg = synthetic_cfg(50.0).synthetic;
    synthetic_source a(cfg, 42), b(cfg, 42), c(cfg, 43);
    bool differs = false;
    for (int i = 0; i < 1000; ++i) {
        const auto ta = a.next(i), tb = b.next(i), tc = c.next(i);
        REQUIRE(ta.bid_px == tb.bid_px);
        REQUIRE(ta.ask_px == tb.ask_px);
        REQUIRE(ta.bid_qty == tb.bid_qty);
        REQUIRE(ta.last_qty == tb.last_qty);
        if (ta.bid_px != tc.bid_px || ta.bid_qty != tc.bid_qty) differs = true;
    }
    CHECK(differs);
}

TEST_CASE("marketdata: synthetic quotes stay on the grid, inside bounds, with sane sizes") {
    synthetic_config cfg;
    cfg.rate_per_sec = 10.0;  // few ticks per second: big per-tick moves
    cfg.trade_probability = 0.5;
    cfg.symbols = {{"X", 50.0, 500.0, 3.0, 5, 20}, {"Y", 0.5, 50.0, 100.0, 1, 1}};
    synthetic_source s(cfg, 1);
    const std::int64_t grid = schema::to_fixed(0.01);
    std::int64_t trades = 0;
    for (int i = 0; i < 100'000; ++i) {
        const auto t = s.next(i);
        const auto& p = cfg.symbols[static_cast<std::size_t>(i % 2)];
        REQUIRE(t.symbol == p.symbol);
        REQUIRE(t.bid_px > 0);
        REQUIRE(t.bid_px < t.ask_px);
        REQUIRE(t.bid_px % grid == 0);
        REQUIRE(t.ask_px % grid == 0);
        REQUIRE(t.bid_qty >= p.min_qty);
        REQUIRE(t.bid_qty <= p.max_qty);
        REQUIRE(t.ask_qty >= p.min_qty);
        REQUIRE(t.ask_qty <= p.max_qty);
        const double mid = s.mid(static_cast<std::size_t>(i % 2));
        REQUIRE(mid >= p.start_px / 4.0);
        REQUIRE(mid <= p.start_px * 4.0);
        if (t.last_qty > 0) {
            ++trades;
            REQUIRE((t.last_px == t.bid_px || t.last_px == t.ask_px));
            REQUIRE(t.last_qty <= (t.last_px == t.ask_px ? t.ask_qty : t.bid_qty));
        }
    }
    CHECK(trades > 40'000);
    CHECK(trades < 60'000);
}

TEST_CASE("marketdata: bars aggregate OHLCV of the mid per interval, closing on time") {
    bar_aggregator agg(1000);
    std::vector<closed_bar> closed;
    const std::int64_t t0 = 1'700'000'000 * sec;  // on a second boundary
    auto tick = [](std::string sym, double bid, double ask, std::int64_t qty, std::int64_t ts) {
        return schema::tick{std::move(sym),
                            schema::to_fixed(bid),
                            1,
                            schema::to_fixed(ask),
                            1,
                            qty > 0 ? schema::to_fixed(ask) : 0,
                            qty,
                            ts};
    };
    agg.add(tick("A", 10.00, 10.02, 0, t0 + 10 * ms), 1, closed);  // mid 10.01
    agg.add(tick("A", 10.10, 10.12, 5, t0 + 20 * ms), 2, closed);  // mid 10.11 high
    agg.add(tick("B", 20.00, 20.02, 1, t0 + 30 * ms), 3, closed);
    agg.add(tick("A", 9.90, 9.92, 2, t0 + 900 * ms), 4, closed);    // mid 9.91 low
    agg.add(tick("A", 10.00, 10.04, 0, t0 + 999 * ms), 5, closed);  // mid 10.02 close
    CHECK(closed.empty());
    CHECK(agg.next_close_ns() == t0 + sec);

    agg.add(tick("A", 10.00, 10.02, 0, t0 + sec), 6, closed);  // next interval closes A's bar
    REQUIRE(closed.size() == 1);
    const auto& b = closed[0].bar;
    CHECK(b.symbol == "A");
    CHECK(b.interval_ms == 1000);
    CHECK(b.start_ts_ns == t0);
    CHECK(b.open_px == schema::to_fixed(10.01));
    CHECK(b.high_px == schema::to_fixed(10.11));
    CHECK(b.low_px == schema::to_fixed(9.91));
    CHECK(b.close_px == schema::to_fixed(10.02));
    CHECK(b.volume == 7);
    CHECK(b.ticks == 4);
    CHECK(closed[0].trace_id == 5);  // the last tick in the bar

    closed.clear();
    agg.close_until(t0 + sec - 1, closed);  // B's interval has not ended yet
    CHECK(closed.empty());
    agg.close_until(t0 + sec, closed);  // B closes on time with no later B tick
    REQUIRE(closed.size() == 1);
    CHECK(closed[0].bar.symbol == "B");
    CHECK(closed[0].bar.volume == 1);

    closed.clear();
    agg.add(tick("A", 10.00, 10.02, 0, t0 + 5 * sec), 7, closed);  // quiet intervals: no bars
    REQUIRE(closed.size() == 1);
    CHECK(closed[0].bar.start_ts_ns == t0 + sec);
    closed.clear();
    agg.close_all(closed);
    REQUIRE(closed.size() == 1);
    CHECK(closed[0].bar.start_ts_ns == t0 + 5 * sec);
    CHECK(agg.next_close_ns() == 0);
}

TEST_CASE("marketdata: synthetic node publishes paced ticks with new trace ids, and bars") {
    marketdata_node node(synthetic_cfg(100.0));  // one tick every 10 ms
    recording_context ctx;
    ctx.now = 1'700'000'000 * sec + 500 * ms;
    node.on_start(ctx);
    std::int64_t due = node.on_timer(ctx, ctx.now);
    CHECK(ctx.of<schema::tick>().size() == 1);
    CHECK(due == ctx.now + 10 * ms);
    for (int i = 0; i < 300; ++i) {  // three seconds, called exactly at each deadline
        ctx.now = due;
        due = node.on_timer(ctx, ctx.now);
        REQUIRE(due > ctx.now);
    }
    const auto ticks = ctx.of<schema::tick>();
    CHECK(ticks.size() == 301);
    std::set<std::uint64_t> traces;
    for (const auto& [p, t] : ticks) {
        CHECK(p->topic == schema::topics::for_symbol(schema::topics::md_tick, t->symbol));
        CHECK(p->ev.env.trace_id != 0);
        traces.insert(p->ev.env.trace_id);
    }
    CHECK(traces.size() == ticks.size());  // a new trace id per tick
    const auto bars = ctx.of<schema::bar>();
    REQUIRE(bars.size() >= 4);  // 2 symbols x at least 2 closed one-second intervals
    for (const auto& [p, b] : bars) {
        CHECK(p->topic == schema::topics::for_symbol(schema::topics::md_bar, b->symbol));
        CHECK(b->interval_ms == 1000);
        CHECK(b->ticks > 0);
        CHECK(b->low_px <= b->open_px);
        CHECK(b->high_px >= b->close_px);
        CHECK(traces.contains(p->ev.env.trace_id));  // leads back to a tick
    }
}

TEST_CASE("marketdata: a behind synthetic node publishes a bounded batch per timer call") {
    marketdata_node node(synthetic_cfg(1000.0, 100));
    recording_context ctx;
    node.on_start(ctx);
    const std::int64_t start = ctx.now;
    node.on_timer(ctx, start);
    ctx.now = start + 500 * ms;  // 500 ticks are due
    const std::int64_t due = node.on_timer(ctx, ctx.now);
    CHECK(ctx.of<schema::tick>().size() == 101);
    CHECK(due <= ctx.now);  // call again as soon as inbound traffic is drained
    for (int i = 0; i < 4; ++i) node.on_timer(ctx, ctx.now);
    CHECK(ctx.of<schema::tick>().size() == 501);
    CHECK(node.on_timer(ctx, ctx.now) > ctx.now);  // caught up
    ctx.now += 10 * sec;  // a stalled process skips ahead instead of bursting 10 s of ticks
    for (int i = 0; i < 20; ++i) node.on_timer(ctx, ctx.now);
    CHECK(ctx.of<schema::tick>().size() < 501 + 200 + 10);
}

TEST_CASE("marketdata: csv node replays at recorded pace, then stays up idle") {
    scratch_dir dir("md");
    const auto path = dir.file("r.csv");
    write_file(path,
               "ts_ms,symbol,bid_px,bid_qty,ask_px,ask_qty,last_px,last_qty\n"
               "1000,AAPL,10.00,1,10.01,2,,\n"
               "1100,MSFT,20.00,1,20.01,2,20.01,2\n"
               "bad,row\n"
               "1400,AAPL,10.01,1,10.02,2,,\n");
    marketdata_config cfg;
    cfg.source = "csv";
    cfg.csv.path = path;
    cfg.csv.speed = 2.0;
    cfg.csv.timestamps = replay_timestamps::recorded;
    marketdata_node node(cfg);
    recording_context ctx;
    node.on_start(ctx);
    const std::int64_t t0 = ctx.now;
    std::int64_t due = node.on_timer(ctx, t0);
    REQUIRE(ctx.of<schema::tick>().size() == 1);
    CHECK(due == t0 + 50 * ms);  // 100 ms of recorded time at 2x
    ctx.now = t0 + 49 * ms;
    CHECK(node.on_timer(ctx, ctx.now) == t0 + 50 * ms);  // early call: nothing due yet
    CHECK(ctx.of<schema::tick>().size() == 1);
    ctx.now = t0 + 50 * ms;
    due = node.on_timer(ctx, ctx.now);
    CHECK(ctx.of<schema::tick>().size() == 2);
    CHECK(due == t0 + 200 * ms);
    ctx.now = due;
    CHECK(node.on_timer(ctx, ctx.now) == 0);  // end of a non-looping file: no timer
    const auto ticks = ctx.of<schema::tick>();
    REQUIRE(ticks.size() == 3);
    CHECK(ticks[2].second->exch_ts_ns == 1400 * ms);  // recorded timestamps kept
    CHECK(ticks[1].second->last_qty == 2);
    CHECK(node.replay_finished());
    CHECK(ctx.stops.empty());  // downstream nodes depend on us: stay up
    CHECK(node.reader()->rows_bad() == 1);
    CHECK(ctx.of<schema::bar>().size() == 2);  // open bars are closed at the end of the data
}

TEST_CASE("marketdata: csv node as fast as possible, exit_at_end, and loop") {
    scratch_dir dir("md");
    const auto path = dir.file("r.csv");
    std::string text = "ts_ns,symbol,bid_px,bid_qty,ask_px,ask_qty\n";
    for (int i = 0; i < 250; ++i) {
        text += std::to_string(1'000'000'000 + i * 1'000'000) + ",SPY,500.00,1,500.01,1\n";
    }
    write_file(path, text);

    SUBCASE("speed 0 publishes in bounded batches, then stops when asked to") {
        marketdata_config cfg;
        cfg.source = "csv";
        cfg.csv = {path, 0.0, false, true, replay_timestamps::replay};
        cfg.max_batch = 100;
        marketdata_node node(cfg);
        recording_context ctx;
        node.on_start(ctx);
        CHECK(node.on_timer(ctx, ctx.now) <= ctx.now);
        CHECK(ctx.of<schema::tick>().size() == 100);
        CHECK(ctx.of<schema::tick>()[0].second->exch_ts_ns == ctx.now);  // replay clock
        node.on_timer(ctx, ctx.now);
        CHECK(ctx.stops.empty());
        CHECK(node.on_timer(ctx, ctx.now) == 0);
        CHECK(ctx.of<schema::tick>().size() == 250);
        REQUIRE(ctx.stops.size() == 1);  // exit_at_end = true
    }
    SUBCASE("loop replays the file again with timestamps that keep increasing") {
        marketdata_config cfg;
        cfg.source = "csv";
        cfg.csv = {path, 0.0, true, false, replay_timestamps::recorded};
        cfg.max_batch = 1000;
        marketdata_node node(cfg);
        recording_context ctx;
        node.on_start(ctx);
        node.on_timer(ctx, ctx.now);
        const auto ticks = ctx.of<schema::tick>();
        REQUIRE(ticks.size() == 1000);  // four passes over 250 rows
        for (std::size_t i = 1; i < ticks.size(); ++i) {
            REQUIRE(ticks[i].second->exch_ts_ns > ticks[i - 1].second->exch_ts_ns);
        }
        CHECK_FALSE(node.replay_finished());
        CHECK(ctx.stops.empty());
    }
}

TEST_CASE(
    "marketdata: csv from_ns and to_ns replay only the rows from from_ns up to to_ns, every loop") {
    scratch_dir dir("md");
    const auto path = dir.file("w.csv");
    std::string text = "ts_ns,symbol,bid_px,bid_qty,ask_px,ask_qty\n";
    for (int i = 0; i < 10; ++i) {
        text += std::to_string(1'000 * sec + i * sec) + ",SPY,500.00,1,500.01,1\n";
    }
    write_file(path, text);
    const auto times = [](const recording_context& ctx) {
        std::vector<std::int64_t> out;
        for (const auto& [p, t] : ctx.of<schema::tick>()) out.push_back(t->exch_ts_ns);
        return out;
    };

    SUBCASE("a window inside the file: its rows, then the end of the replay") {
        marketdata_config cfg;
        cfg.source = "csv";
        cfg.csv = {path, 0.0, false, true, replay_timestamps::recorded, 1'003 * sec, 1'006 * sec};
        marketdata_node node(cfg);
        recording_context ctx;
        node.on_start(ctx);
        CHECK(node.on_timer(ctx, ctx.now) == 0);
        CHECK(times(ctx) == std::vector<std::int64_t>{1'003 * sec, 1'004 * sec, 1'005 * sec});
        CHECK(node.replay_finished());
        CHECK(ctx.stops.size() == 1);
    }
    SUBCASE("only an end, then only a start") {
        marketdata_config cfg;
        cfg.source = "csv";
        cfg.csv = {path, 0.0, false, true, replay_timestamps::recorded, 0, 1'002 * sec};
        marketdata_node head(cfg);
        recording_context ctx;
        head.on_start(ctx);
        head.on_timer(ctx, ctx.now);
        CHECK(times(ctx) == std::vector<std::int64_t>{1'000 * sec, 1'001 * sec});

        cfg.csv.from_ns = 1'008 * sec;
        cfg.csv.to_ns = 0;
        marketdata_node tail(cfg);
        recording_context ctx2;
        tail.on_start(ctx2);
        tail.on_timer(ctx2, ctx2.now);
        CHECK(times(ctx2) == std::vector<std::int64_t>{1'008 * sec, 1'009 * sec});
    }
    SUBCASE("a loop replays the window again, shifted by its span plus the loop gap") {
        marketdata_config cfg;
        cfg.source = "csv";
        cfg.csv = {path, 0.0, true, false, replay_timestamps::recorded, 1'001 * sec, 1'003 * sec};
        cfg.max_batch = 6;
        marketdata_node node(cfg);
        recording_context ctx;
        node.on_start(ctx);
        node.on_timer(ctx, ctx.now);
        // Span 1 s + the 1 s gap between loops: each pass 2 s after the one before.
        CHECK(times(ctx) == std::vector<std::int64_t>{1'001 * sec, 1'002 * sec, 1'003 * sec,
                                                      1'004 * sec, 1'005 * sec, 1'006 * sec});
    }
    SUBCASE("a window without rows ends the replay at once, even with loop") {
        marketdata_config cfg;
        cfg.source = "csv";
        cfg.csv = {path, 0.0, true, false, replay_timestamps::recorded, 2'000 * sec, 0};
        marketdata_node node(cfg);
        recording_context ctx;
        node.on_start(ctx);
        CHECK(node.on_timer(ctx, ctx.now) == 0);
        CHECK(ctx.of<schema::tick>().empty());
        CHECK(node.replay_finished());
    }
    SUBCASE("the keys, and to_ns not after from_ns refused") {
        const std::string csv_table =
            "[marketdata]\nsource = \"csv\"\n[marketdata.csv]\npath = \"" + path + "\"\n";
        auto [good, none] = load(csv_table + "from_ns = 5\nto_ns = 9\n");
        CHECK(none.empty());
        CHECK(good.csv.from_ns == 5);
        CHECK(good.csv.to_ns == 9);
        auto [bad, errors] = load(csv_table + "from_ns = 9\nto_ns = 9\n");
        REQUIRE(errors.size() == 1);
        CHECK(errors.front().find("to_ns") != std::string::npos);
        auto [negative, errors2] = load(csv_table + "from_ns = -1\n");
        CHECK(errors2.size() == 1);
    }
}

TEST_CASE("marketdata: config is validated, every problem reported") {
    auto [good, none] = load(R"(
        [marketdata]
        source = "synthetic"
        bar_interval_ms = 500
        [marketdata.synthetic]
        rate_per_sec = 20.0
        seed = 9
        volatility_bps = 3.0
        [marketdata.synthetic.symbols.AAPL]
        start_px = 190.0
        [marketdata.synthetic.symbols.SPY]
        start_px = 510.0
        spread_bps = 0.5
    )");
    CHECK(none.empty());
    REQUIRE(good.synthetic.symbols.size() == 2);
    CHECK(good.synthetic.symbols[0].symbol == "AAPL");
    CHECK(good.synthetic.symbols[0].volatility_bps == 3.0);  // section default inherited
    CHECK(good.synthetic.symbols[1].spread_bps == 0.5);
    CHECK(good.seed == 9);
    CHECK(good.bar_interval_ms == 500);

    auto [bad, errors] = load(R"(
        [marketdata]
        source = "csv"
        bar_interval_ms = 0
        [marketdata.csv]
        path = "/nonexistent/quotes.csv"
        speed = -1.0
        loop = true
        exit_at_end = true
        spede = 2.0
    )");
    std::string all;
    for (const auto& e : errors) all += e + "\n";
    CAPTURE(all);
    CHECK(all.find("bar_interval_ms") != std::string::npos);
    CHECK(all.find("/nonexistent/quotes.csv: cannot open") != std::string::npos);
    CHECK(all.find("csv.speed") != std::string::npos);
    CHECK(all.find("exit_at_end") != std::string::npos);
    CHECK(all.find("spede") != std::string::npos);

    auto [no_syms, errs2] = load("[marketdata]\nsource = \"synthetic\"\n[marketdata.synthetic]\n");
    CHECK_FALSE(errs2.empty());
}
