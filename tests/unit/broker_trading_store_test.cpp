// The broker's trading state on disk: what a restart reads back, and what it starts in when the
// file is missing or damaged (halted, whatever missing_state says, for a damaged one).
#include <doctest/doctest.h>

#include <fstream>

#include "scratch_dir.hpp"
#include "tradebus/broker/trading_store.hpp"

using namespace tradebus;
using namespace tradebus::broker;
using schema::trading_state;

namespace {

void write_file(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace

TEST_CASE("broker trading store: a saved decision reads back exactly, in a new directory too") {
    scratch_dir dir("trading-store");
    const trading_store store(dir.file("a/b/trading.toml"));
    CHECK(store.durable());
    const trading_record r{trading_state::halted, "fat \"finger\"\nline two", "alice", 42};
    REQUIRE_FALSE(store.save(r, {}).has_value());
    const auto loaded = store.load(trading_state::active, 7);
    CHECK(loaded.restored);
    CHECK(loaded.record.state == trading_state::halted);
    CHECK(loaded.record.reason == r.reason);
    CHECK(loaded.record.by == "alice");
    CHECK(loaded.record.since_ns == 42);
    CHECK(loaded.note.find("restored from") != std::string::npos);
    // Replaced, not appended: the latest decision wins.
    REQUIRE_FALSE(store.save({trading_state::active, "go", "bob", 43}, {}).has_value());
    CHECK(store.load(trading_state::halted, 7).record.state == trading_state::active);
    CHECK_FALSE(std::filesystem::exists(dir.file("a/b/trading.toml.tmp")));
}

TEST_CASE("broker trading store: no file, or none configured, starts in missing_state") {
    scratch_dir dir("trading-store");
    for (const auto missing : {trading_state::halted, trading_state::active}) {
        CAPTURE(schema::to_string(missing));
        const auto absent = trading_store(dir.file("none.toml")).load(missing, 5);
        CHECK_FALSE(absent.restored);
        CHECK(absent.record.state == missing);
        CHECK(absent.record.since_ns == 5);
        CHECK(absent.note.find("no saved trading state in") == 0);
        const auto unset = trading_store("").load(missing, 5);
        CHECK(unset.record.state == missing);
        CHECK(unset.note.find("no [trading] state_file configured") == 0);
    }
    CHECK_FALSE(trading_store("").durable());
    CHECK_FALSE(trading_store("").save({}, {}).has_value());  // nothing to keep, nothing fails
}

TEST_CASE("broker trading store: a damaged file starts halted even when missing_state is active") {
    scratch_dir dir("trading-store");
    const std::string path = dir.file("trading.toml");
    const struct {
        std::string text, why;
    } rows[] = {
        {"state = \"halted\"\nsince_ns = 1\nreason = \"x", "Error while parsing"},
        {"state = \"paused\"\nsince_ns = 1\n", "state: expected \"active\", \"reducing\""},
        {"since_ns = 1\n", "state: expected"},
        {"state = \"active\"\n", "since_ns: expected a non-negative integer"},
        {"state = \"active\"\nsince_ns = -5\n", "since_ns: expected a non-negative integer"},
        {std::string(9'000'000, '#'), "9000000 bytes is not a state file"},
        {"format = 3\nstate = \"active\"\nsince_ns = 1\n", "format: expected 1..2"},
        {"format = 2\nstate = \"active\"\nsince_ns = 1\nscope = 5\n",
         "scope: expected an array of tables"},
        {"format = 2\nstate = \"active\"\nsince_ns = 1\n[[scope]]\nstate = \"halted\"\n"
         "since_ns = 1\n",
         "scope[0].symbol / strategy: expected one of them"},
        {"format = 2\nstate = \"active\"\nsince_ns = 1\n[[scope]]\nsymbol = \"A.B\"\n"
         "state = \"halted\"\nsince_ns = 1\n",
         "scope[0].symbol / strategy: symbol is not 1..32 bytes"},
        {"format = 2\nstate = \"active\"\nsince_ns = 1\n[[scope]]\nstrategy = \"s1\"\n"
         "state = \"active\"\nsince_ns = 1\n",
         "scope[0].state: expected \"reducing\" or \"halted\""},
        {"format = 2\nstate = \"active\"\nsince_ns = 1\n[[scope]]\nstrategy = \"s1\"\n"
         "state = \"halted\"\n",
         "scope[0].since_ns: expected a non-negative integer"},
    };
    for (const auto& row : rows) {
        CAPTURE(row.text.substr(0, 60));
        write_file(path, row.text);
        const auto loaded = trading_store(path).load(trading_state::active, 9);
        CHECK_FALSE(loaded.restored);
        CHECK(loaded.record.state == trading_state::halted);
        CHECK(loaded.record.reason.find("cannot read the saved trading state " + path) == 0);
        CHECK(loaded.record.reason.find(row.why) != std::string::npos);
        CHECK(loaded.note.find("starting halted until an operator resumes") != std::string::npos);
        CHECK(loaded.scopes.empty());  // the desk's halt covers every scope
    }
}

TEST_CASE("broker trading store: scopes in force read back with who, why and when") {
    scratch_dir dir("trading-store");
    const trading_store store(dir.file("trading.toml"));
    const trading_record desk{trading_state::active, "morning", "alice", 10};
    const std::vector<trading_scope_record> scopes{
        {"AAPL", "", {trading_state::halted, "news pending", "bob", 11}},
        {"", "strategy2", {trading_state::reducing, "wind down", "carol", 12}}};
    REQUIRE_FALSE(store.save(desk, scopes).has_value());
    const auto loaded = store.load(trading_state::halted, 0);
    REQUIRE(loaded.restored);
    CHECK(loaded.record.state == trading_state::active);
    CHECK(loaded.record.reason == "morning");
    REQUIRE(loaded.scopes.size() == 2);
    CHECK(loaded.scopes[0].symbol == "AAPL");
    CHECK(loaded.scopes[0].strategy.empty());
    CHECK(loaded.scopes[0].record.state == trading_state::halted);
    CHECK(loaded.scopes[0].record.reason == "news pending");
    CHECK(loaded.scopes[0].record.by == "bob");
    CHECK(loaded.scopes[0].record.since_ns == 11);
    CHECK(loaded.scopes[1].strategy == "strategy2");
    CHECK(loaded.scopes[1].record.state == trading_state::reducing);
    CHECK(loaded.scopes[1].record.by == "carol");
    CHECK(loaded.note.find("symbol AAPL halted (news pending, by bob)") != std::string::npos);
    // A save without them forgets them.
    REQUIRE_FALSE(store.save(desk, {}).has_value());
    CHECK(store.load(trading_state::halted, 0).scopes.empty());
}

TEST_CASE("broker trading store: a file written before scopes (format 1) still reads") {
    scratch_dir dir("trading-store");
    const std::string path = dir.file("trading.toml");
    write_file(path, "reason = \"lunch\"\nby = \"alice\"\nstate = \"halted\"\nsince_ns = 5\n");
    const auto loaded = trading_store(path).load(trading_state::active, 0);
    CHECK(loaded.restored);
    CHECK(loaded.record.state == trading_state::halted);
    CHECK(loaded.record.reason == "lunch");
    CHECK(loaded.scopes.empty());
}

TEST_CASE("broker trading store: a save that cannot be written says why and changes nothing") {
    scratch_dir dir("trading-store");
    write_file(dir.file("blocker"), "not a directory");
    const auto why = trading_store(dir.file("blocker/trading.toml")).save({}, {});
    REQUIRE(why.has_value());
    CHECK(why->find("cannot create " + dir.file("blocker")) == 0);
    // A good file stays as it was when its replacement cannot be written.
    const std::string path = dir.file("trading.toml");
    const trading_store store(path);
    REQUIRE_FALSE(store.save({trading_state::halted, "keep", "alice", 1}, {}).has_value());
    std::filesystem::create_directory(path + ".tmp");  // the temporary name is taken
    CHECK(store.save({trading_state::active, "lost", "bob", 2}, {}).has_value());
    CHECK(store.load(trading_state::active, 0).record.reason == "keep");
}
