// common::section, the validating TOML reader every binary uses: unknown keys with a "did you
// mean", wrong types, ranges, endpoints, nested tables, and every error collected in one pass.
#include "tradebus/common/config.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace tradebus::common;

namespace {

// Parses `text` and runs `read` on its root section, then finish(); returns all error lines.
template <class F>
std::vector<std::string> errors_after(const std::string& text, F read) {
    config_errors errors("test.toml");
    const toml::table table = toml::parse(std::string_view(text), std::string_view("test.toml"));
    section root(&table, "", errors);
    read(root);
    root.finish();
    return errors.lines();
}

toml::table parse(std::string_view text) {
    return toml::parse(text, std::string_view("test.toml"));
}

bool has(const std::vector<std::string>& lines, const std::string& text) {
    for (const auto& l : lines) {
        if (l.find(text) != std::string::npos) return true;
    }
    return false;
}

}  // namespace

TEST_CASE("config: values of the right type are read, missing ones default") {
    config_errors errors("test.toml");
    const toml::table t = parse(R"(
name = "risk"
qty = 5
ratio = 0.5
ratio_int = 2
on = true
list = ["a", "b"]
ep = "tcp://127.0.0.1:5550"
level = "warn"
[nested]
x = 1
)");
    section root(&t, "", errors);
    CHECK(root.string("name") == "risk");
    CHECK(root.integer("qty", 0, 0, 10) == 5);
    CHECK(root.number("ratio", 0.0, 0.0, 1.0) == doctest::Approx(0.5));
    CHECK(root.number("ratio_int", 0.0, 0.0, 5.0) == doctest::Approx(2.0));
    CHECK(root.boolean("on", false));
    CHECK(root.strings("list") == std::vector<std::string>{"a", "b"});
    CHECK(root.endpoint("ep", "") == "tcp://127.0.0.1:5550");
    CHECK(root.choice("level", "info", {"info", "warn"}) == "warn");
    CHECK(root.integer("absent", 42, 0, 100) == 42);
    CHECK(root.string("absent_s", "dflt") == "dflt");
    auto nested = root.table("nested");
    CHECK(nested.present());
    CHECK(nested.integer("x", 0, 0, 9) == 1);
    CHECK_FALSE(root.table("nope").present());
    CHECK(root.table_keys() == std::vector<std::string>{"nested"});
    root.finish();
    CHECK(errors.empty());
}

TEST_CASE("config: unknown keys, with did-you-mean when close, at their position") {
    const auto lines =
        errors_after("heartbeat_interval = 1\nzzz = 2\n[risk]\nmax_qty = 3\n", [](section& root) {
            (void)root.integer("heartbeat_interval_ms", 0, 0, 10);
            auto risk = root.table("risk");
            (void)risk.integer("max_order_qty", 0, 0, 10);
        });
    REQUIRE(lines.size() == 3);
    CHECK(has(lines,
              "test.toml:1:1: heartbeat_interval: unknown key (did you mean "
              "\"heartbeat_interval_ms\"?)"));
    CHECK(has(lines, "test.toml:2:1: zzz: unknown key"));
    CHECK_FALSE(has(lines, "zzz: unknown key (did"));
    CHECK(has(lines, "test.toml:4:1: risk.max_qty: unknown key"));
}

TEST_CASE("config: wrong types say what was expected and what was got") {
    struct row {
        const char* toml;
        const char* expect;
    };
    const row rows[] = {
        {"k = \"5\"", "test.toml:1:5: k: expected an integer, got \"5\""},
        {"k = 1.5", "test.toml:1:5: k: expected an integer, got 1.5"},
        {"k = true", "test.toml:1:5: k: expected an integer, got true"},
        {"k = [1]", "test.toml:1:5: k: expected an integer, got an array"},
        {"[k]\na = 1", "test.toml:1:1: k: expected an integer, got a table"},
    };
    for (const auto& r : rows) {
        CAPTURE(r.toml);
        const auto lines = errors_after(r.toml, [](section& s) { (void)s.integer("k", 0, 0, 9); });
        REQUIRE(lines.size() == 1);
        CHECK(lines[0].find(r.expect) != std::string::npos);
    }
    const auto strs = errors_after("k = [\"a\", 2]", [](section& s) { (void)s.strings("k"); });
    REQUIRE(strs.size() == 1);
    CHECK(strs[0].find("k[1]: expected a string, got 2") != std::string::npos);
    const auto b = errors_after("k = 1", [](section& s) { (void)s.boolean("k", false); });
    CHECK(has(b, "k: expected true or false, got 1"));
    const auto n = errors_after("k = \"x\"", [](section& s) { (void)s.number("k", 0, 0, 1); });
    CHECK(has(n, "k: expected a number, got \"x\""));
}

TEST_CASE("config: out-of-range values name the range and keep the default") {
    config_errors errors("test.toml");
    const toml::table t = parse("lo = -1\nhi = 11\nf = 2.5\n");
    section root(&t, "", errors);
    CHECK(root.integer("lo", 3, 0, 10) == 3);
    CHECK(root.integer("hi", 4, 0, 10) == 4);
    CHECK(root.number("f", 0.1, 0.0, 1.0) == doctest::Approx(0.1));
    root.finish();
    const auto& lines = errors.lines();
    CHECK(has(lines, "test.toml:1:6: lo: expected an integer in [0, 10], got -1"));
    CHECK(has(lines, "test.toml:2:6: hi: expected an integer in [0, 10], got 11"));
    CHECK(has(lines, "test.toml:3:5: f: expected a number in [0, 1], got 2.5"));
}

TEST_CASE("config: an integer a double cannot hold exactly is out of range, not a crash") {
    config_errors errors("test.toml");
    const toml::table t = parse("big = 9007199254740993\nok = 9007199254740992\n");
    section root(&t, "", errors);
    CHECK(root.number("big", 70.0, 0.0, 1e300) == doctest::Approx(70.0));
    CHECK(root.number("ok", 1.0, 0.0, 1e300) == doctest::Approx(9007199254740992.0));
    root.finish();
    REQUIRE(errors.lines().size() == 1);
    CHECK(errors.lines()[0].starts_with(
        "test.toml:1:7: big: expected a number in [0, 1e+300], got "));
}

TEST_CASE("config: endpoints are checked") {
    struct row {
        const char* value;
        const char* expect;  // empty = valid
    };
    const row rows[] = {
        {"tcp://127.0.0.1:5550", ""},
        {"tcp://*:5550", ""},
        {"tcp://127.0.0.1:*", ""},
        {"ipc:///tmp/tradebus.sock", ""},
        {"inproc://x", ""},
        {"localhost:5550", "missing transport"},
        {"udp://127.0.0.1:5550", "unsupported transport \"udp\""},
        {"tcp://127.0.0.1", "expected tcp://host:port"},
        {"tcp://:5550", "expected tcp://host:port"},
        {"tcp://127.0.0.1:0", "port must be 1..65535 or *"},
        {"tcp://127.0.0.1:65536", "port must be 1..65535 or *"},
        {"tcp://127.0.0.1:55x", "port must be 1..65535 or *"},
        {"ipc://", "empty ipc path"},
    };
    for (const auto& r : rows) {
        CAPTURE(r.value);
        const auto why = endpoint_error(r.value);
        if (std::string_view(r.expect).empty()) {
            CHECK_FALSE(why);
        } else {
            REQUIRE(why);
            CHECK(why->find(r.expect) != std::string::npos);
        }
    }
    const auto lines =
        errors_after("ep = \"nope\"", [](section& s) { (void)s.endpoint("ep", ""); });
    REQUIRE(lines.size() == 1);
    CHECK(has(lines,
              "test.toml:1:6: ep: expected a ZeroMQ endpoint (tcp://host:port or "
              "ipc://path): missing transport"));
}

TEST_CASE("config: required keys and tables, choices, cross-field errors") {
    const auto lines = errors_after("mode = \"fast\"\nlimit = 5\n", [](section& s) {
        (void)s.string("name", "", true);
        (void)s.table("risk", true);
        (void)s.choice("mode", "slow", {"slow", "medium"});
        (void)s.integer("limit", 0, 0, 10);
        s.error("limit", "expected less than max, got 5");
    });
    CHECK(has(lines, "test.toml: name: missing required key (expected a string)"));
    CHECK(has(lines, "test.toml: risk: missing required table [risk]"));
    CHECK(has(lines, "test.toml:1:8: mode: expected one of slow|medium, got \"fast\""));
    CHECK(has(lines, "test.toml:2:9: limit: expected less than max, got 5"));
}

TEST_CASE("config: every error is collected, then thrown together") {
    config_errors errors("test.toml");
    const toml::table t = parse("a = \"x\"\nb = 99\ntypo = 1\n");
    section root(&t, "", errors);
    (void)root.integer("a", 0, 0, 10);
    (void)root.integer("b", 0, 0, 10);
    (void)root.integer("typ", 0, 0, 10);
    root.finish();
    CHECK(errors.lines().size() == 3);
    try {
        throw_if_errors(errors);
        FAIL("expected config_error");
    } catch (const config_error& e) {
        const std::string what = e.what();
        CHECK(what.find("test.toml:1:5: a:") != std::string::npos);
        CHECK(what.find("test.toml:2:5: b:") != std::string::npos);
        CHECK(what.find("test.toml:3:1: typo: unknown key (did you mean \"typ\"?)") !=
              std::string::npos);
        CHECK(what.find("3 config errors in test.toml") != std::string::npos);
    }
    config_errors none("ok.toml");
    CHECK_NOTHROW(throw_if_errors(none));
}

TEST_CASE("config: a missing file or a syntax error is reported, with a position") {
    config_errors errors("/nonexistent/x.toml");
    CHECK_FALSE(parse_config_file("/nonexistent/x.toml", errors));
    REQUIRE(errors.lines().size() == 1);
    CHECK(errors.lines()[0].find("cannot open") != std::string::npos);
}
