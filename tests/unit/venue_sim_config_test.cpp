// tradebus-venue-sim's config reader (its `file:line:col: key: ...` errors) and its control
// endpoint's request parser and command-line client requests.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "tradebus/fix/sim/control.hpp"
#include "tradebus/fix/sim/sim_config.hpp"

using namespace tradebus;
using namespace tradebus::fix::sim;

namespace {

struct loaded {
    sim_config cfg;
    std::vector<std::string> errors;
};

loaded load(const std::string& text) {
    common::config_errors errors("venue.toml");
    const auto table = toml::parse(std::string_view(text), std::string_view("venue.toml"));
    loaded out;
    out.cfg = read_sim_config(table, errors);
    out.errors = errors.lines();
    return out;
}

bool has_line(const loaded& l, const std::string& line) {
    return std::find(l.errors.begin(), l.errors.end(), line) != l.errors.end();
}

const std::string good =
    "[venue]\nport = 9878\nstore_dir = \"/tmp/store\"\nclients = [\"TRADEBUS\"]\n"
    "[market]\nsource = \"none\"\n";

}  // namespace

TEST_CASE("venue sim config: a minimal file reads with its defaults") {
    const auto l = load(good + "[market.symbols.AAPL]\nstart_px = 189.5\n");
    CAPTURE(l.errors.size());
    REQUIRE(l.errors.empty());
    CHECK(l.cfg.sender_comp_id == "VENUE");
    CHECK(l.cfg.port == 9878);
    CHECK(l.cfg.clients == std::vector<std::string>{"TRADEBUS"});
    CHECK(l.cfg.control.empty());
    CHECK_FALSE(l.cfg.data_dictionary.empty());
    CHECK(l.cfg.source == "none");
    CHECK(l.cfg.interval_ms == 200);
    REQUIRE(l.cfg.symbols.size() == 1);
    CHECK(l.cfg.symbols[0].symbol == "AAPL");
    CHECK(l.cfg.symbols[0].start_px == doctest::Approx(189.5));
}

TEST_CASE("venue sim config: errors name the file, line, column and key") {
    const auto l = load(
        "[venue]\nport = 0\nstore_dir = \"/tmp/store\"\nclients = [\"VENUE\", \"A=B\", \"X\", "
        "\"X\"]\ncontrol = \"tcp://nowhere\"\nmax_orders_per_client = 0\nprot = 1\n"
        "[market]\nsource = \"random\"\ninterval_ms = 5\n");
    std::string all;
    for (const auto& e : l.errors) all += e + "\n";
    CAPTURE(all);
    CHECK(has_line(l, "venue.toml:2:8: venue.port: expected an integer in [1, 65535], got 0"));
    CHECK(
        has_line(l, "venue.toml:4:11: venue.clients: \"VENUE\" is the venue's own sender_comp_id"));
    CHECK(has_line(l, "venue.toml:4:11: venue.clients: \"X\" is listed twice"));
    CHECK(std::any_of(l.errors.begin(), l.errors.end(), [](const std::string& e) {
        return e.starts_with("venue.toml:4:11: venue.clients: \"A=B\" is not a CompID");
    }));
    CHECK(std::any_of(l.errors.begin(), l.errors.end(), [](const std::string& e) {
        return e.starts_with("venue.toml:5:11: venue.control: ");
    }));
    CHECK(std::any_of(l.errors.begin(), l.errors.end(), [](const std::string& e) {
        return e.starts_with("venue.toml:6:25: venue.max_orders_per_client: ");
    }));
    CHECK(std::any_of(l.errors.begin(), l.errors.end(), [](const std::string& e) {
        return e.starts_with("venue.toml:7:1: venue.prot: unknown key");
    }));
    CHECK(std::any_of(l.errors.begin(), l.errors.end(), [](const std::string& e) {
        return e.starts_with("venue.toml:9:10: market.source: ");
    }));
    CHECK(std::any_of(l.errors.begin(), l.errors.end(), [](const std::string& e) {
        return e.starts_with("venue.toml:10:15: market.interval_ms: ");
    }));
}

TEST_CASE("venue sim config: required keys and a synthetic market without symbols") {
    const auto l = load("[venue]\n[market]\nsource = \"synthetic\"\n[market.symbols.\"A.B\"]\n");
    std::string all;
    for (const auto& e : l.errors) all += e + "\n";
    CAPTURE(all);
    CHECK(std::any_of(l.errors.begin(), l.errors.end(), [](const std::string& e) {
        return e.starts_with("venue.toml: venue.port: missing required key");
    }));
    CHECK(std::any_of(l.errors.begin(), l.errors.end(), [](const std::string& e) {
        return e.starts_with("venue.toml: venue.store_dir: missing required key");
    }));
    CHECK(has_line(l, "venue.toml: venue.clients: required: the client CompIDs the venue accepts"));
    CHECK(std::any_of(l.errors.begin(), l.errors.end(), [](const std::string& e) {
        return e.find("market.symbols.A.B: expected a symbol") != std::string::npos;
    }));
    CHECK(std::any_of(l.errors.begin(), l.errors.end(), [](const std::string& e) {
        return e.find("market.symbols: source \"synthetic\" needs at least one") !=
               std::string::npos;
    }));
}

TEST_CASE("venue sim control: flat JSON requests are parsed strictly") {
    std::string error;
    auto obj = flat_object::parse(
        R"( {"cmd" : "quote", "symbol":"AAPL", "bid":189.5, "ask":"189.52", "bid_qty":100,)"
        R"( "x":true, "esc":"a\"b\u0041"} )",
        error);
    REQUIRE_MESSAGE(obj, error);
    CHECK(obj->string("cmd") == "quote");
    CHECK(obj->decimal("bid") == "189.5");
    CHECK(obj->decimal("ask") == "189.52");
    CHECK(obj->string("bid") == std::nullopt);
    CHECK(obj->integer("bid_qty") == 100);
    CHECK(obj->integer("bid") == std::nullopt);
    CHECK(obj->string("esc") == "a\"bA");
    CHECK(obj->find("x")->text == "true");
    CHECK(flat_object::parse("{}", error));

    for (const char* bad :
         {"", "[]", "{", "{\"a\":}", "{\"a\":1,}", "{\"a\":{}}", "{\"a\":[1]}", "{\"a\":null}",
          "{\"a\":1}x", "{\"a\":1,\"a\":2}", "{\"a\":\"\\u0100\"}", "{\"a\":\"\x01\"}",
          "{\"a\":01.}", "{\"a\":-}", "{a:1}", "{\"a\":\"unterminated}"}) {
        CAPTURE(bad);
        CHECK_FALSE(flat_object::parse(bad, error));
    }
    CHECK_FALSE(flat_object::parse("{\"a\":\"" + std::string(300, 'x') + "\"}", error));
    CHECK_FALSE(flat_object::parse(std::string(5000, ' '), error));
    std::string many = "{";
    for (int i = 0; i < 20; ++i) many += (i ? "," : "") + ("\"k" + std::to_string(i) + "\":1");
    CHECK_FALSE(flat_object::parse(many + "}", error));
    CHECK(error.find("keys") != std::string::npos);
}

TEST_CASE("venue sim control: the client mode's command lines") {
    std::string error;
    CHECK(request_for({"quote", "AAPL", "189.50", "189.52"}, error) ==
          R"({"cmd":"quote","symbol":"AAPL","bid":"189.50","ask":"189.52"})");
    CHECK(request_for({"quote", "AAPL", "1", "2", "10", "0"}, error) ==
          R"({"cmd":"quote","symbol":"AAPL","bid":"1","ask":"2","bid_qty":10,"ask_qty":0})");
    CHECK(request_for({"drop", "TRADEBUS"}, error) == R"({"cmd":"drop","client":"TRADEBUS"})");
    CHECK(request_for({"positions"}, error) == R"({"cmd":"positions"})");
    CHECK(request_for({"json", R"({"cmd":"status"})"}, error) == R"({"cmd":"status"})");
    CHECK_FALSE(request_for({}, error));
    CHECK_FALSE(request_for({"quote", "AAPL", "1"}, error));
    CHECK_FALSE(request_for({"quote", "AAPL", "1", "2", "x", "1"}, error));
    CHECK(error.find("bid_qty") != std::string::npos);
    CHECK_FALSE(request_for({"status", "extra"}, error));
    CHECK_FALSE(request_for({"fly"}, error));
}

TEST_CASE("venue sim config: the shipped config/venue-sim.toml is valid") {
    CHECK_NOTHROW(load_sim_config(std::string(TRADEBUS_SOURCE_DIR) + "/config/venue-sim.toml"));
    const auto cfg = load_sim_config(std::string(TRADEBUS_SOURCE_DIR) + "/config/venue-sim.toml");
    CHECK(cfg.source == "synthetic");
    // AAPL, MSFT and SPY: every symbol the shipped risk.toml allows, so run-pipeline.sh --venue
    // fix trades them all.
    CHECK(cfg.symbols.size() == 3);
    CHECK(cfg.control == "ipc:///tmp/venue-sim.ctl");
}
