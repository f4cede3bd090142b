// `tradebus backtest` as a user runs it: the shipped node files on the shipped sample quotes,
// twice, giving the same journal (byte for byte) and the same report; the journal reads with
// `tradebus journal`; a latency changes the run; bad input is refused with what was wrong.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli_runner.hpp"
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
