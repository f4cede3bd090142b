// `tradebus backtest` as a user runs it: the shipped node files on the shipped sample quotes,
// twice, giving the same journal (byte for byte) and the same report; the journal reads with
// `tradebus journal`; a latency changes the run; bad input is refused with what was wrong; a
// run's journal replayed as the data gives the same run; --from/--to cut a window.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli_runner.hpp"
#include "headless_browser.hpp"
#include "temp_dir.hpp"

using namespace tradebus::test;
namespace fs = std::filesystem;

namespace {

const std::string source = TRADEBUS_SOURCE_DIR;
const std::string sample = source + "/config/data/sample_quotes.csv";
const std::string nodes = source + "/config/nodes";

std::string bytes_of(const fs::path& dir) {
    std::string all;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) all += f.filename().string() + "\n" + read_file(f);
    return all;
}

std::string without(std::string text, const std::string& dir, const std::string& by = "OUT") {
    for (auto at = text.find(dir); at != std::string::npos; at = text.find(dir, at + by.size())) {
        text.replace(at, dir.size(), by);
    }
    return text;
}

std::vector<fs::path> segments_of(const fs::path& dir) {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (e.path().extension() == ".tjl") out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

// The offsets of a segment's records (FORMAT.md: a 32-byte header, then records of 12 + length
// bytes, the length the first little-endian u32 of each).
std::vector<std::uint64_t> record_offsets(const std::string& bytes) {
    std::vector<std::uint64_t> out;
    for (std::size_t at = 32; at + 12 <= bytes.size();) {
        std::uint32_t len = 0;
        std::memcpy(&len, bytes.data() + at, 4);  // the test hosts are little-endian
        out.push_back(at);
        at += 12 + len;
    }
    return out;
}

void write_bytes(const fs::path& p, const std::string& bytes) {
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f << bytes;
}

// The number of the sample's quote rows in [from, to) (ns).
std::size_t sample_rows_between(std::int64_t from, std::int64_t to) {
    std::size_t n = 0;
    std::istringstream in(read_file(sample));
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] < '0' || line[0] > '9') continue;
        const std::int64_t ts = std::stoll(line.substr(0, line.find(',')));
        if (ts >= from && ts < to) ++n;
    }
    return n;
}

}  // namespace

TEST_CASE("backtest: the sample twice gives the same journal and report, byte for byte") {
    temp_dir dir;
    const auto a = dir.file("a"), b = dir.file("b");
    const auto first =
        run_cli(dir, "bt-a", {"backtest", "--config", nodes, "--data", sample, "--out", a.string()},
                std::chrono::seconds(120));
    REQUIRE_MESSAGE(first.status == 0, first.err);
    const auto second =
        run_cli(dir, "bt-b", {"backtest", "--config", nodes, "--data", sample, "--out", b.string()},
                std::chrono::seconds(120));
    REQUIRE_MESSAGE(second.status == 0, second.err);
    CHECK(bytes_of(a / "journal") == bytes_of(b / "journal"));
    CHECK(without(first.out, a.string()) == without(second.out, b.string()));
    CHECK(read_file(a / "report.html") == read_file(b / "report.html"));
    CHECK(has(first.out, "performance (equity = risk's realized + unrealized):"));
    CHECK(has(first.out, "max drawdown"));
    // The report: fills and realized P&L per symbol, risk's rejections by rule.
    CHECK(has(first.out, "== 2024-03-15 (UTC)"));
    CHECK(has(first.out, "AAPL"));
    CHECK(has(first.out, "risk rejections:"));
    CHECK(has(first.err, "backtest: 4923 ticks"));

    // Every journal command reads the run.
    const auto verify =
        run_cli(dir, "verify", {"journal", "verify", "--dir", (a / "journal").string()});
    CHECK(verify.status == 0);
    CHECK(has(verify.out, "clean"));
    const auto fills = run_cli(
        dir, "fills", {"journal", "cat", "--json", "--dir", (a / "journal").string(), "exec.fill"});
    CHECK(fills.status == 0);
    CHECK(lines_of(fills.out).size() > 10);
    // Each fill is in the simulated day of the data, not today.
    CHECK(has(fills.out, "\"ts_ns\":17105094"));

    // JSON report, and a run with 50 ms a hop: other fills.
    const auto slow = run_cli(dir, "bt-slow",
                              {"backtest", "--config", nodes, "--data", sample, "--out",
                               dir.file("slow").string(), "--latency-ms", "50", "--json"},
                              std::chrono::seconds(120));
    REQUIRE_MESSAGE(slow.status == 0, slow.err);
    CHECK(valid_json(slow.out));
    CHECK(has(slow.out, "\"performance\":{\"start_ns\":"));
    CHECK(bytes_of(dir.file("slow") / "journal") != bytes_of(a / "journal"));

    // A second run into the same place is refused, unless --force.
    const auto again = run_cli(
        dir, "bt-again", {"backtest", "--config", nodes, "--data", sample, "--out", a.string()});
    CHECK(again.status == 1);
    CHECK(has(again.err, "holds an earlier run; choose another --out, or --force"));
    const auto forced =
        run_cli(dir, "bt-force",
                {"backtest", "--config", nodes, "--data", sample, "--out", a.string(), "--force"},
                std::chrono::seconds(120));
    CHECK(forced.status == 0);
    CHECK(bytes_of(a / "journal") == bytes_of(b / "journal"));
}

namespace {

// Node files for the hand-checked run: EMA 2 / EMA 3 on tick mids with the RSI and ATR filters
// open, 10 lots, no slippage, limits far away.
void write_hand_checked_nodes(const fs::path& dir) {
    fs::create_directories(dir);
    const auto node = [&](const std::string& kind, const std::string& own) {
        std::ofstream out(dir / (kind + ".toml"));
        out << "[node]\nkind = \"" << kind << "\"\nname = \"" << kind
            << "\"\n[broker]\ncontrol_endpoint = \"tcp://127.0.0.1:5552\"\n"
            << own;
    };
    node("marketdata", "[marketdata]\nbar_interval_ms = 60000\n");
    node("strategy",
         "[strategy]\ntrade_symbols = [\"AAPL\"]\nprice_source = \"tick_mid\"\n"
         "fast_period = 2\nslow_period = 3\nrsi_period = 1\natr_period = 1\n"
         "rsi_overbought = 100.0\nrsi_oversold = 0.0\nmin_atr_bps = 0.0\norder_qty = 10\n"
         "allow_short = true\n");
    node("risk",
         "[risk]\nallowed_symbols = [\"AAPL\"]\nmax_order_qty = 100\nmax_position = 100\n"
         "max_gross_notional = 1000000.0\nmax_daily_loss = 100000.0\n"
         "reducing_daily_loss = 90000.0\nmax_orders_per_sec = 5\nprice_band_bps = 500.0\n"
         "stale_quote_ms = 2000\n");
    node("execution", "[execution]\nslippage_bps = 0.0\npartial_fills = false\n");
}

}  // namespace

TEST_CASE("backtest: a dozen hand-made quotes give exactly the signals, fills and P&L by hand") {
    temp_dir dir;
    const auto nodes_dir = dir.file("hand");
    write_hand_checked_nodes(nodes_dir);
    // One quote a second, bid/ask 0.50 around these mids:
    //   100 100 100 | 101 99 99 102 102 100 100 103 103
    // EMA2 / EMA3 seed on the first 2 / 3 mids (both 100 at the 3rd: warmup done, no side).
    //   4th 101: EMA2 100.667 > EMA3 100.500  the first side: no signal
    //   5th  99: EMA2  99.556 < EMA3  99.750  cross down: SELL 10 -> fills at the bid 98.50
    //   7th 102: EMA2 101.062 > EMA3 100.688  cross up: BUY 20 (short 10 to long 10) at 102.50
    //   9th 100: EMA2 100.562 < EMA3 100.672  cross down: SELL 20 at 99.50
    //  11th 103: EMA2 102.062 > EMA3 101.668  cross up: BUY 20 at 103.50
    // Realized: (98.50 - 102.50) x 10 + (99.50 - 102.50) x 10 + (99.50 - 103.50) x 10 = -110;
    // the run ends long 10 at 103.50.
    std::string csv = "ts_ns,symbol,bid_px,bid_qty,ask_px,ask_qty\n";
    const double mids[] = {100, 100, 100, 101, 99, 99, 102, 102, 100, 100, 103, 103};
    std::int64_t ts = 1'710'509'400'000'000'000;
    for (const double mid : mids) {
        char row[128];
        std::snprintf(row, sizeof row, "%lld,AAPL,%.2f,100,%.2f,100\n", static_cast<long long>(ts),
                      mid - 0.5, mid + 0.5);
        csv += row;
        ts += 1'000'000'000;
    }
    const auto data = dir.write("hand.csv", csv);
    const auto out = dir.file("out");
    const auto r = run_cli(dir, "hand",
                           {"backtest", "--config", nodes_dir.string(), "--data", data.string(),
                            "--out", out.string(), "--json"});
    REQUIRE_MESSAGE(r.status == 0, r.err);
    const std::string journal = (out / "journal").string();

    const auto signals =
        run_cli(dir, "signals", {"journal", "cat", "--dir", journal, "strategy.signal"});
    const auto signal_lines = lines_of(signals.out);
    REQUIRE_MESSAGE(signal_lines.size() == 4, signals.out);
    const char* expected_signals[] = {"SELL 10", "BUY 20", "SELL 20", "BUY 20"};
    for (std::size_t i = 0; i < 4; ++i) {
        CAPTURE(signal_lines[i]);
        CHECK(has(signal_lines[i], std::string("AAPL ") + expected_signals[i]));
    }
    const auto fills = run_cli(dir, "fills", {"journal", "cat", "--dir", journal, "exec.fill"});
    const auto fill_lines = lines_of(fills.out);
    REQUIRE_MESSAGE(fill_lines.size() == 4, fills.out);
    const char* expected_fills[] = {
        "AAPL SELL 10 @ 98.50 leaves=0", "AAPL BUY 20 @ 102.50 leaves=0",
        "AAPL SELL 20 @ 99.50 leaves=0", "AAPL BUY 20 @ 103.50 leaves=0"};
    for (std::size_t i = 0; i < 4; ++i) {
        CAPTURE(fill_lines[i]);
        CHECK(has(fill_lines[i], expected_fills[i]));
    }
    // The report (money in 1e-8 units): every approval filled, no rejection, the P&L above.
    CHECK_MESSAGE(has(r.out,
                      "\"AAPL\":{\"fills\":4,\"volume\":70,\"bought\":40,\"sold\":30,"
                      "\"position\":10,\"avg_px\":10350000000,\"realized_pnl\":-11000000000}"),
                  r.out);
    CHECK(has(r.out, "\"rejections_by_rule\":{}"));
    const auto rejected =
        run_cli(dir, "rejected", {"journal", "cat", "--dir", journal, "risk.rejected"});
    CHECK(lines_of(rejected.out).empty());
    // Three round trips closed, each a loss (-40, -30, -40), the last long still open.
    CHECK_MESSAGE(has(r.out,
                      "\"trades\":3,\"wins\":0,\"losses\":3,\"open_trades\":1,"
                      "\"best_trade\":-3000000000,\"worst_trade\":-4000000000"),
                  r.out);
    CHECK(has(r.out, "\"win_rate\":0.000000"));
    // Equity at the end: -110 realized, long 10 at 103.50 marked at the mid 103: -5. Never
    // above 0, so that is the drawdown too. A position from the 5th second (the first fill) to
    // the 12th, of 12 s: 2/3 of the time.
    CHECK(has(r.out,
              "\"equity\":-11500000000,\"realized_pnl\":-11000000000,"
              "\"unrealized_pnl\":-500000000,\"peak_equity\":0,"
              "\"max_drawdown\":11500000000,"));
    CHECK(has(r.out, "\"time_in_market\":0.666667"));

    // The page, in a real browser: the figures and both charts drawn.
    headless_browser browser(dir);
    browser.open("file://" + (out / "report.html").string());
    CHECK(browser.eval("document.querySelector('[data-figure=\"trades\"]').textContent") ==
          "3 closed, 1 open");
    CHECK(browser.eval("document.querySelector('[data-figure=\"win rate\"]').textContent") ==
          "0.0%");
    CHECK(browser.eval("document.querySelector('[data-figure=\"max drawdown\"]').textContent") ==
          "115.00");
    for (const std::string chart : {"equity-chart", "drawdown-chart"}) {
        CAPTURE(chart);
        const std::string svg = "document.querySelector('#" + chart + "')";
        CHECK(std::stoi(browser.eval(svg + ".querySelector('polyline').getAttribute('points')"
                                           ".trim().split(' ').length")) > 5);
        CHECK(std::stod(browser.eval(svg + ".getBoundingClientRect().width")) > 800);
    }
}

TEST_CASE("backtest: a missing data file or a bad node file is refused with where and why") {
    temp_dir dir;
    auto r = run_cli(dir, "no-data",
                     {"backtest", "--config", nodes, "--data", dir.file("none.csv").string()});
    CHECK(r.status == 2);
    CHECK(has(r.err, dir.file("none.csv").string() + ": cannot open"));

    const auto empty = dir.write("empty.csv", "ts_ns,symbol,bid_px,bid_qty,ask_px,ask_qty\n");
    r = run_cli(dir, "empty", {"backtest", "--config", nodes, "--data", empty.string()});
    CHECK(r.status == 2);
    CHECK(has(r.err, "empty.csv: no quote rows"));

    // Rows out of time order: refused with the line, not replayed out of order or skipped.
    const auto unsorted = dir.write("unsorted.csv",
                                    "ts_ns,symbol,bid_px,bid_qty,ask_px,ask_qty\n"
                                    "1710509400000000000,AAPL,171.00,1,171.01,1\n"
                                    "1710509402000000000,AAPL,171.00,1,171.01,1\n"
                                    "1710509401000000000,AAPL,171.00,1,171.01,1\n");
    r = run_cli(dir, "unsorted", {"backtest", "--config", nodes, "--data", unsorted.string()});
    CHECK(r.status == 2);
    CHECK_MESSAGE(has(r.err,
                      "unsorted.csv:4: timestamp 1710509401000000000 is earlier than the "
                      "row before it"),
                  r.err);
    // A missing column.
    const auto narrow = dir.write("narrow.csv", "ts_ns,symbol,bid_px\n1,AAPL,1\n");
    r = run_cli(dir, "narrow", {"backtest", "--config", nodes, "--data", narrow.string()});
    CHECK(r.status == 2);
    CHECK_MESSAGE(has(r.err, "narrow.csv"), r.err);

    // A node directory with a misspelt risk key: every problem, with file and line.
    const auto bad = dir.file("nodes");
    fs::create_directories(bad);
    for (const char* kind : {"marketdata", "strategy", "risk", "execution"}) {
        fs::copy_file(nodes + "/" + kind + ".toml", bad / (std::string(kind) + ".toml"));
    }
    {
        std::ofstream risk(bad / "risk.toml", std::ios::app);
        risk << "max_positoin = 5\n";
    }
    r = run_cli(dir, "bad-config",
                {"backtest", "--config", bad.string(), "--data", sample, "--out",
                 dir.file("out").string()});
    CHECK(r.status == 2);
    CHECK_MESSAGE(has(r.err, "risk.toml:"), r.err);
    CHECK(has(r.err, "unknown key"));
    CHECK_FALSE(fs::exists(dir.file("out") / "journal"));
}

TEST_CASE("backtest: a symbol the strategy does not trade is replayed, skipped and said") {
    temp_dir dir;
    // AAPL and TSLA quotes; the shipped strategy trades AAPL, MSFT and SPY.
    std::string csv = "ts_ns,symbol,bid_px,bid_qty,ask_px,ask_qty\n";
    for (int i = 0; i < 40; ++i) {
        const std::string ts = std::to_string(1'710'509'400'000'000'000 + i * 500'000'000LL);
        const std::string px = std::to_string(171 + (i / 4) % 3);
        csv += ts + ",AAPL," + px + ".00,5," + px + ".01,5\n";
        csv += ts + ",TSLA,200.00,5,200.01,5\n";
    }
    const auto data = dir.write("two.csv", csv);
    const auto r = run_cli(
        dir, "two",
        {"backtest", "--config", nodes, "--data", data.string(), "--out", dir.file("out").string()},
        std::chrono::seconds(120));
    REQUIRE_MESSAGE(r.status == 0, r.err);
    CHECK_MESSAGE(has(r.err, "backtest: note: 40 market data record(s) for TSLA, not in " + nodes +
                                 "/strategy.toml's trade_symbols: replayed, and the "
                                 "strategy ignores them"),
                  r.err);
    CHECK(has(r.err, "strategy.toml trades MSFT, SPY, with no market data for it"));
    CHECK(has(r.err, "backtest: 80 ticks"));
    // Replayed (in the journal), never traded.
    const auto ticks = run_cli(
        dir, "tsla-ticks",
        {"journal", "cat", "--dir", (dir.file("out") / "journal").string(), "md.tick.TSLA"});
    CHECK(lines_of(ticks.out).size() == 40);
    const auto signals = run_cli(dir, "tsla-signals",
                                 {"journal", "cat", "--dir", (dir.file("out") / "journal").string(),
                                  "strategy.signal.TSLA"});
    CHECK(signals.status == 0);
    CHECK(lines_of(signals.out).empty());
}

TEST_CASE("backtest: a run's journal as the data gives the same run as its CSV") {
    temp_dir dir;
    const auto a = dir.file("a"), b = dir.file("b");
    const auto csv = run_cli(dir, "bt-csv",
                             {"backtest", "--config", nodes, "--data", sample, "--out", a.string()},
                             std::chrono::seconds(120));
    REQUIRE_MESSAGE(csv.status == 0, csv.err);
    const std::string journal_a = (a / "journal").string();
    const auto replayed =
        run_cli(dir, "bt-journal",
                {"backtest", "--config", nodes, "--data", journal_a, "--out", b.string()},
                std::chrono::seconds(120));
    REQUIRE_MESSAGE(replayed.status == 0, replayed.err);
    CHECK_MESSAGE(has(replayed.err, "backtest: 4923 ticks"), replayed.err);

    // The same md events at the same times, so the same signals, orders, fills, positions: the
    // report (its journal's path aside) is the same.
    CHECK(without(csv.out, a.string()) == without(replayed.out, b.string()));
    const auto cat = [&](const std::string& name, const fs::path& out, const std::string& topic) {
        std::vector<std::string> args = {"journal", "cat", "--json", "--dir",
                                         (out / "journal").string()};
        if (!topic.empty()) args.push_back(topic);  // none: every record
        const auto r = run_cli(dir, name, args);
        REQUIRE(r.status == 0);
        return r.out;
    };
    const std::string fills_a = cat("fills-a", a, "exec.fill"),
                      fills_b = cat("fills-b", b, "exec.fill");
    CHECK(lines_of(fills_a).size() > 10);
    CHECK(fills_a == fills_b);
    // Every record is the same, envelope and all, but for one thing: the md ticks and bars are
    // published by the backtest's "replay" node instead of marketdata, so their envelope's src
    // differs (their seq, ts_ns and trace ids are the recorded ones, and so are the trace ids of
    // the orders and fills they led to).
    const std::string all_a = cat("all-a", a, ""), all_b = cat("all-b", b, "");
    CHECK(lines_of(all_a).size() > 4923);
    CHECK(without(all_a, "\"src\":\"marketdata\"", "\"src\":\"replay\"") == all_b);
    CHECK(has(all_b, "\"topic\":\"md.bar.AAPL\""));

    // Marketdata's node file is not read for a journal: a directory without it will do.
    const auto three = dir.file("three");
    fs::create_directories(three);
    for (const char* kind : {"strategy", "risk", "execution"}) {
        fs::copy_file(nodes + "/" + kind + ".toml", three / (std::string(kind) + ".toml"));
    }
    const auto c = dir.file("c");
    const auto again =
        run_cli(dir, "bt-three",
                {"backtest", "--config", three.string(), "--data", journal_a, "--out", c.string()},
                std::chrono::seconds(120));
    REQUIRE_MESSAGE(again.status == 0, again.err);
    CHECK(bytes_of(b / "journal") == bytes_of(c / "journal"));

    // The run's own journal as its data is refused (the run would replace it first).
    const auto self = run_cli(
        dir, "bt-self",
        {"backtest", "--config", nodes, "--data", journal_a, "--out", a.string(), "--force"});
    CHECK(self.status == 2);
    CHECK_MESSAGE(has(self.err, "is in this run's journal"), self.err);
    CHECK(segments_of(a / "journal").size() >= 1);
}

TEST_CASE("backtest: a torn or corrupt journal record is refused with its segment and offset") {
    temp_dir dir;
    const auto a = dir.file("a");
    const auto csv = run_cli(dir, "bt-csv",
                             {"backtest", "--config", nodes, "--data", sample, "--out", a.string()},
                             std::chrono::seconds(120));
    REQUIRE_MESSAGE(csv.status == 0, csv.err);
    const auto segments = segments_of(a / "journal");
    REQUIRE(!segments.empty());
    const std::string name = segments.back().filename().string();
    const std::string bytes = read_file(segments.back());
    const auto offsets = record_offsets(bytes);
    REQUIRE(offsets.size() > 100);

    // The last record cut short, as a crash leaves a segment: a torn record.
    const auto torn = dir.file("torn");
    fs::copy(a / "journal", torn);
    write_bytes(torn / name, bytes.substr(0, bytes.size() - 3));
    auto r = run_cli(dir, "bt-torn",
                     {"backtest", "--config", nodes, "--data", torn.string(), "--out",
                      dir.file("out-torn").string()});
    CHECK(r.status == 2);
    CHECK_MESSAGE(
        has(r.err, (torn / name).string() + ":" + std::to_string(offsets.back()) + ": torn record"),
        r.err);
    CHECK(has(r.err, "a backtest replays every record or none"));
    CHECK_FALSE(fs::exists(dir.file("out-torn") / "journal"));

    // A byte flipped in the payload of a record in the middle: its checksum fails.
    const auto corrupt = dir.file("corrupt");
    fs::copy(a / "journal", corrupt);
    std::string flipped = bytes;
    const std::uint64_t at = offsets[offsets.size() / 2];
    flipped[at + 12 + 4] = static_cast<char>(flipped[at + 12 + 4] ^ 0x40);
    write_bytes(corrupt / name, flipped);
    r = run_cli(dir, "bt-corrupt",
                {"backtest", "--config", nodes, "--data", corrupt.string(), "--out",
                 dir.file("out-corrupt").string()});
    CHECK(r.status == 2);
    CHECK_MESSAGE(
        has(r.err, (corrupt / name).string() + ":" + std::to_string(at) + ": checksum mismatch"),
        r.err);

    // A directory that is no journal, and a journal without market data.
    r = run_cli(dir, "bt-nojournal",
                {"backtest", "--config", nodes, "--data", (fs::path(source) / "config").string(),
                 "--out", dir.file("out-none").string()});
    CHECK(r.status == 2);
    CHECK_MESSAGE(has(r.err, "not a journal (no segment files journal-<index>.tjl"), r.err);
}

TEST_CASE("backtest: --from/--to replay only the data in the window, of a CSV or a journal") {
    temp_dir dir;
    // The sample: 13:30 to 13:35 UTC on 2024-03-15. Two minutes of it.
    const std::int64_t from = 1'710'509'460'000'000'000;  // 13:31:00Z
    const std::int64_t to = 1'710'509'580'000'000'000;    // 13:33:00Z
    const std::size_t rows = sample_rows_between(from, to);
    REQUIRE(rows > 100);
    REQUIRE(rows < 4923);
    const auto w = dir.file("w");
    const auto r = run_cli(dir, "bt-window",
                           {"backtest", "--config", nodes, "--data", sample, "--out", w.string(),
                            "--from", "2024-03-15T13:31:00Z", "--to", "2024-03-15T13:33", "--json"},
                           std::chrono::seconds(120));
    REQUIRE_MESSAGE(r.status == 0, r.err);
    CHECK_MESSAGE(has(r.err, "backtest: " + std::to_string(rows) + " ticks"), r.err);
    // The report covers the window: it starts at its first quote, and every tick and fill is
    // in it (a fill at most the run's 1 s settling after its end).
    const auto start = json_number(r.out, "start_ns");
    REQUIRE(start);
    CHECK(*start >= static_cast<double>(from));
    CHECK(*start < static_cast<double>(from + 1'000'000'000));
    const auto ts_of = [&](const std::string& name, const char* topic) {
        const auto cat = run_cli(
            dir, name, {"journal", "cat", "--json", "--dir", (w / "journal").string(), topic});
        REQUIRE(cat.status == 0);
        std::vector<std::int64_t> out;
        for (const auto& line : lines_of(cat.out)) {
            const auto ts = json_number(line, "ts_ns");
            REQUIRE(ts);
            out.push_back(static_cast<std::int64_t>(*ts));
        }
        return out;
    };
    const auto ticks = ts_of("ticks", "md.tick");
    CHECK(ticks.size() == rows);
    CHECK(std::all_of(ticks.begin(), ticks.end(), [&](auto t) { return t >= from && t < to; }));
    const auto fills = ts_of("fills", "exec.fill");
    CHECK(!fills.empty());
    CHECK(std::all_of(fills.begin(), fills.end(),
                      [&](auto t) { return t >= from && t < to + 1'000'000'000; }));

    // The same window of a journal (the whole sample's run): its md records in the window.
    const auto all = dir.file("all");
    const auto full = run_cli(
        dir, "bt-all", {"backtest", "--config", nodes, "--data", sample, "--out", all.string()},
        std::chrono::seconds(120));
    REQUIRE_MESSAGE(full.status == 0, full.err);
    const auto j =
        run_cli(dir, "bt-jwindow",
                {"backtest", "--config", nodes, "--data", (all / "journal").string(), "--out",
                 dir.file("jw").string(), "--from", "@1710509460", "--to", "2024-03-15T13:33:00Z"},
                std::chrono::seconds(120));
    REQUIRE_MESSAGE(j.status == 0, j.err);
    CHECK_MESSAGE(has(j.err, "backtest: " + std::to_string(rows) + " ticks"), j.err);

    // from >= to, a malformed time, and a window without data are refused.
    auto bad = run_cli(dir, "bt-backwards",
                       {"backtest", "--config", nodes, "--data", sample, "--from",
                        "2024-03-15T13:33:00Z", "--to", "2024-03-15T13:31:00Z"});
    CHECK(bad.status == 2);
    CHECK_MESSAGE(
        has(bad.err, "--from 2024-03-15T13:33:00Z is not before --to 2024-03-15T13:31:00Z"),
        bad.err);
    bad = run_cli(dir, "bt-equal",
                  {"backtest", "--config", nodes, "--data", sample, "--from", "@1710509460", "--to",
                   "2024-03-15T13:31:00Z"});
    CHECK(bad.status == 2);
    bad = run_cli(dir, "bt-garbled",
                  {"backtest", "--config", nodes, "--data", sample, "--from", "yesterday-ish"});
    CHECK(bad.status == 2);
    CHECK(has(bad.err, "--from: expected a time"));
    bad = run_cli(dir, "bt-empty-csv",
                  {"backtest", "--config", nodes, "--data", sample, "--from", "2030-01-01", "--out",
                   dir.file("e1").string()});
    CHECK(bad.status == 2);
    CHECK_MESSAGE(has(bad.err,
                      "sample_quotes.csv: no quote rows at or after "
                      "2030-01-01T00:00:00.000Z"),
                  bad.err);
    bad = run_cli(dir, "bt-empty-journal",
                  {"backtest", "--config", nodes, "--data", (all / "journal").string(), "--to",
                   "2024-03-15", "--out", dir.file("e2").string()});
    CHECK(bad.status == 2);
    CHECK_MESSAGE(has(bad.err,
                      "no market data records (md.tick.*, md.bar.*) before "
                      "2024-03-15T00:00:00.000Z"),
                  bad.err);
}
