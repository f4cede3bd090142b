// The broker's dependency graph: unknown names, cycle paths as text, start order.
#include <doctest/doctest.h>

#include <algorithm>

#include "tradebus/broker/dependency_graph.hpp"

using namespace tradebus::broker;
using names = std::vector<std::string>;

namespace {
dependency_graph desk() {
    dependency_graph g;
    g.add_configured("marketdata", {});
    g.add_configured("journal", {});
    g.add_configured("strategy", {"marketdata"});
    g.add_configured("risk", {"marketdata"});
    g.add_configured("execution", {"marketdata", "risk"});
    return g;
}
}  // namespace

TEST_CASE("broker dependency graph: start order puts dependencies first, ties by name") {
    const auto g = desk();
    CHECK(g.start_order() == names{"journal", "marketdata", "risk", "execution", "strategy"});
    CHECK_FALSE(g.find_cycle());
    CHECK_FALSE(g.dangling_configured());
}

TEST_CASE("broker dependency graph: unknown dependency is named") {
    const auto g = desk();
    CHECK(g.unknown_dependency({"marketdata", "riks", "nope"}) ==
          std::optional<std::string>("riks"));
    CHECK_FALSE(g.unknown_dependency({"marketdata", "risk"}));
    CHECK_FALSE(g.unknown_dependency({}));
}

TEST_CASE("broker dependency graph: a declared dependency that closes a cycle is reported") {
    auto g = desk();
    // marketdata -> execution -> risk -> marketdata
    const auto cycle = g.cycle_if_declared("marketdata", {"execution"});
    REQUIRE(cycle);
    CHECK(dependency_graph::path_text(*cycle) == "marketdata -> execution -> marketdata");
    const auto longer = g.cycle_if_declared("marketdata", {"strategy", "journal"});
    REQUIRE(longer);
    CHECK(dependency_graph::path_text(*longer) == "marketdata -> strategy -> marketdata");
    CHECK(dependency_graph::path_text(*g.cycle_if_declared("risk", {"risk"})) == "risk -> risk");
    CHECK_FALSE(g.cycle_if_declared("strategy", {"risk", "execution"}));
}

TEST_CASE("broker dependency graph: declared dependencies join the graph until forgotten") {
    auto g = desk();
    g.declare("strategy", {"risk"});
    CHECK(g.dependencies("strategy") == names{"marketdata", "risk"});
    CHECK(g.start_order() == names{"journal", "marketdata", "risk", "execution", "strategy"});
    // A three-node cycle through the declared edge: execution -> strategy -> risk ... no:
    // risk -> strategy would close risk -> strategy -> risk.
    const auto cycle = g.cycle_if_declared("risk", {"strategy"});
    REQUIRE(cycle);
    CHECK(dependency_graph::path_text(*cycle) == "risk -> strategy -> risk");
    g.forget("strategy");
    CHECK(g.dependencies("strategy") == names{"marketdata"});
    CHECK_FALSE(g.cycle_if_declared("risk", {"strategy"}));
}

TEST_CASE("broker dependency graph: unconfigured nodes come and go") {
    auto g = desk();
    g.declare("sniffer", {"marketdata"});
    CHECK_FALSE(g.is_configured("sniffer"));
    CHECK(g.dependencies("sniffer") == names{"marketdata"});
    const auto order = g.start_order();
    CHECK(std::find(order.begin(), order.end(), "sniffer") != order.end());
    g.forget("sniffer");
    const auto after = g.start_order();
    CHECK(std::find(after.begin(), after.end(), "sniffer") == after.end());
}

TEST_CASE("broker dependency graph: configured cycles and dangling names") {
    dependency_graph g;
    g.add_configured("c", {"a"});
    g.add_configured("a", {"b"});
    g.add_configured("b", {"c"});
    const auto cycle = g.find_cycle();
    REQUIRE(cycle);
    CHECK(dependency_graph::path_text(*cycle) == "a -> b -> c -> a");

    dependency_graph d;
    d.add_configured("a", {"ghost"});
    const auto dangling = d.dangling_configured();
    REQUIRE(dangling);
    CHECK(dangling->first == "a");
    CHECK(dangling->second == "ghost");
    CHECK(d.start_order() == names{"a"});
}
