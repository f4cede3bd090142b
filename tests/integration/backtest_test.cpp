// `tradebus backtest` as a user runs it: the shipped node files on the shipped sample quotes,
// twice, giving the same journal (byte for byte) and the same report; the journal reads with
// `tradebus journal`; a latency changes the run; bad input is refused with what was wrong.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
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

std::string without(std::string text, const std::string& dir) {
    for (auto at = text.find(dir); at != std::string::npos; at = text.find(dir)) {
        text.replace(at, dir.size(), "OUT");
    }
    return text;
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
