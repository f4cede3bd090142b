// The backtester's building blocks (cli/backtest.hpp): the shipped desk's node files built as
// `tradebus backtest` builds them and run on the sample quotes, identical whether subscribers
// get each published event or decode it from its bytes as on the wire; `--set` parsing and
// applying, and a bad --set value reported as the node file's own error.
#include <doctest/doctest.h>

#include <string>

#include "tradebus/cli/backtest.hpp"
#include "tradebus/runtime/simulation.hpp"

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
