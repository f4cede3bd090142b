// `tradebus backtest --set` as a user runs it: one override changes the run as the same
// setting in the node file would; a grid of values runs every combination in child processes
// and ranks them in one table, the same table whatever --jobs is, each row what that
// combination alone gives; bad settings are refused before anything runs.
#include <doctest/doctest.h>

#include <cctype>
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

// The JSON report's final equity ("equity":N in its performance).
std::string equity_of(const std::string& json) {
    const auto perf = json.find("\"performance\":{");
    REQUIRE(perf != std::string::npos);
    const std::string key = "\"equity\":";
    const auto at = json.find(key, perf);
    REQUIRE(at != std::string::npos);
    const auto from = at + key.size();
    const auto end = json.find_first_not_of("-0123456789", from);
    REQUIRE(end != std::string::npos);
    REQUIRE(end > from);
    return json.substr(from, end - from);
}

// The table's rows after its header: "rank run fast slow equity ...", split on blanks.
std::vector<std::vector<std::string>> table_rows(const std::string& out) {
    std::vector<std::vector<std::string>> rows;
    bool header = false;
    for (const auto& line : lines_of(out)) {
        if (line.find("rank  run") != std::string::npos) {
            header = true;
            continue;
        }
        if (!header || line.find("run-") == std::string::npos) continue;
        std::istringstream in(line);
        std::vector<std::string> cells;
        for (std::string c; in >> c;) cells.push_back(c);
        if (!cells.empty() && std::isdigit(static_cast<unsigned char>(cells[0][0])) != 0) {
            rows.push_back(cells);
        }
    }
    return rows;
}

}  // namespace

TEST_CASE("backtest: a --set override runs as the same setting in the node file") {
    temp_dir dir;
    // A copy of the shipped node files with fast_period = 8 written in.
    const fs::path edited = dir.file("nodes");
    fs::create_directories(edited);
    for (const auto& e : fs::directory_iterator(nodes))
        fs::copy(e.path(), edited / e.path().filename());
    std::string strategy = read_file(edited / "strategy.toml");
    const auto at = strategy.find("fast_period = 5");
    REQUIRE(at != std::string::npos);
    strategy.replace(at, 15, "fast_period = 8");
    std::ofstream(edited / "strategy.toml", std::ios::trunc) << strategy;

    const auto by_file = run_cli(dir, "by-file",
                                 {"backtest", "--config", edited.string(), "--data", sample,
                                  "--out", dir.file("f").string(), "--json"},
                                 std::chrono::seconds(120));
    REQUIRE_MESSAGE(by_file.status == 0, by_file.err);
    const auto by_set =
        run_cli(dir, "by-set",
                {"backtest", "--config", nodes, "--data", sample, "--out", dir.file("s").string(),
                 "--json", "--set", "strategy.fast_period=8"},
                std::chrono::seconds(120));
    REQUIRE_MESSAGE(by_set.status == 0, by_set.err);
    const auto plain = run_cli(dir, "plain",
                               {"backtest", "--config", nodes, "--data", sample, "--out",
                                dir.file("p").string(), "--json"},
                               std::chrono::seconds(120));
    REQUIRE_MESSAGE(plain.status == 0, plain.err);
    CHECK(equity_of(by_set.out) == equity_of(by_file.out));
    CHECK(equity_of(by_set.out) != equity_of(plain.out));
}

TEST_CASE("backtest: a sweep ranks every combination, the same table at any --jobs") {
    temp_dir dir;
    const std::vector<std::string> grid = {"--set", "strategy.fast_period=3,8", "--set",
                                           "strategy.slow_period=13,21"};
    std::vector<std::string> two = {
        "backtest", "--config", nodes, "--data", sample, "--out", dir.file("two").string(),
        "--jobs",   "2"};
    two.insert(two.end(), grid.begin(), grid.end());
    const auto parallel = run_cli(dir, "sweep-2", two, std::chrono::seconds(300));
    REQUIRE_MESSAGE(parallel.status == 0, parallel.err);
    CHECK(has(parallel.err, "sweep: 4 runs of strategy.fast_period x strategy.slow_period"));
    CHECK(has(parallel.out, "sweep of 4 backtests"));
    const auto rows = table_rows(parallel.out);
    REQUIRE(rows.size() == 4);
    // Ranked: 1..4, equity (column 5) never rising down the table; each run's own output.
    for (std::size_t i = 0; i < rows.size(); ++i) {
        REQUIRE(rows[i].size() == 12);
        CHECK(rows[i][0] == std::to_string(i + 1));
        CHECK(fs::exists(dir.file("two") / rows[i][1] / "journal"));
        CHECK(fs::exists(dir.file("two") / rows[i][1] / "report.html"));
        if (i > 0) CHECK(std::stod(rows[i - 1][4]) >= std::stod(rows[i][4]));
    }

    std::vector<std::string> one = {
        "backtest", "--config", nodes, "--data", sample, "--out", dir.file("one").string(),
        "--jobs",   "1"};
    one.insert(one.end(), grid.begin(), grid.end());
    const auto serial = run_cli(dir, "sweep-1", one, std::chrono::seconds(300));
    REQUIRE_MESSAGE(serial.status == 0, serial.err);
    CHECK(table_rows(serial.out) == rows);

    // The winner alone, as a plain backtest with its two values: the same equity.
    const auto best =
        run_cli(dir, "best",
                {"backtest", "--config", nodes, "--data", sample, "--out",
                 dir.file("best").string(), "--json", "--set", "strategy.fast_period=" + rows[0][2],
                 "--set", "strategy.slow_period=" + rows[0][3]},
                std::chrono::seconds(120));
    REQUIRE_MESSAGE(best.status == 0, best.err);
    const double alone = std::stod(equity_of(best.out)) / 1e8;
    CHECK(std::abs(alone - std::stod(rows[0][4])) <= 0.005);

    // --json: one object, ranked, with each run's settings.
    std::vector<std::string> as_json = {
        "backtest", "--config", nodes, "--data", sample, "--out", dir.file("two").string(),
        "--force",  "--json"};
    as_json.insert(as_json.end(), grid.begin(), grid.end());
    const auto json = run_cli(dir, "sweep-json", as_json, std::chrono::seconds(300));
    REQUIRE_MESSAGE(json.status == 0, json.err);
    CHECK(valid_json(json.out));
    CHECK(has(json.out, "{\"sweep\":[{\"rank\":1,\"run\":\"" + rows[0][1] + "\""));
    CHECK(has(json.out, "\"settings\":{\"strategy.fast_period\":" + rows[0][2] +
                            ",\"strategy.slow_period\":" + rows[0][3] + "}"));
    CHECK(has(json.out, "\"failed\":[]"));
}

TEST_CASE("backtest: bad --set values are refused before any run starts") {
    temp_dir dir;
    const auto base = [&](std::vector<std::string> more) {
        std::vector<std::string> args = {
            "backtest", "--config", nodes, "--data", sample, "--out", dir.file("bad").string()};
        args.insert(args.end(), more.begin(), more.end());
        return args;
    };
    const auto no_kind = run_cli(dir, "no-kind", base({"--set", "strat.fast_period=3,5"}));
    CHECK(no_kind.status == 2);
    CHECK(has(no_kind.err, "no node kind \"strat\" in this backtest"));
    const auto bad_value =
        run_cli(dir, "bad-value", base({"--set", "strategy.fast_period=3,fast"}));
    CHECK(bad_value.status == 2);
    CHECK(has(bad_value.err, "strategy.toml: strategy.fast_period: expected an integer"));
    CHECK(has(bad_value.err, "with strategy.fast_period=fast"));
    CHECK_FALSE(fs::exists(dir.file("bad") / "run-001" / "journal"));
    const auto malformed = run_cli(dir, "malformed", base({"--set", "fast_period=3"}));
    CHECK(malformed.status == 2);
    CHECK(has(malformed.err, "expected KIND.PATH"));
}
