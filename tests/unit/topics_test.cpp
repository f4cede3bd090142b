// Topic tests (schema/topics.cpp): the prefix constants, builders, symbol rules, the topic and
// subscription-prefix validators as tables (input, expected error substring or valid), and
// ZeroMQ byte-prefix matching, including its one surprise (md.tick.AAPL receives AAPLX).
#include "tradebus/schema/topics.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace topics = tradebus::schema::topics;

TEST_CASE("topics: prefix and fixed topic constants") {
    // The wire names other languages subscribe to (PROTOCOL.md "Topics"): changing one is a
    // protocol change.
    CHECK(topics::md_tick == "md.tick.");
    CHECK(topics::md_bar == "md.bar.");
    CHECK(topics::signal == "strategy.signal.");
    CHECK(topics::approved == "risk.approved.");
    CHECK(topics::rejected == "risk.rejected.");
    CHECK(topics::position == "risk.position.");
    CHECK(topics::risk_state == "risk.state");
    CHECK(topics::exec_ack == "exec.ack.");
    CHECK(topics::exec_fill == "exec.fill.");
    CHECK(topics::exec_reject == "exec.reject.");
    CHECK(topics::sys == "sys.");
    CHECK(topics::node_health == "sys.node.health");
    CHECK(topics::node_registered == "sys.node.registered");
    CHECK(topics::broker_started == "sys.broker.started");
    CHECK(topics::trading == "sys.trading");
    CHECK(topics::probe == "sys.probe.");
}

TEST_CASE("topics: every constant is a valid prefix, fixed topics are valid topics") {
    const std::vector<std::string_view> prefixes = {
        topics::md_tick,     topics::md_bar,   topics::signal,   topics::approved,
        topics::rejected,    topics::position, topics::exec_ack, topics::exec_fill,
        topics::exec_reject, topics::sys,      topics::probe};
    for (const auto p : prefixes) {
        INFO("prefix ", p);
        CHECK_FALSE(topics::prefix_error(p).has_value());
        CHECK(p.back() == '.');                   // symbol (or node name) follows
        const auto err = topics::topic_error(p);  // a bare prefix is not a topic
        REQUIRE(err.has_value());
        CHECK(*err == "ends with '.'");
        CHECK_FALSE(topics::topic_error(topics::for_symbol(p, "AAPL")).has_value());
    }
    const std::vector<std::string_view> fixed = {topics::risk_state, topics::node_health,
                                                 topics::node_registered, topics::broker_started,
                                                 topics::trading};
    for (const auto t : fixed) {
        INFO("topic ", t);
        CHECK_FALSE(topics::topic_error(t).has_value());
        CHECK_FALSE(topics::prefix_error(t).has_value());
    }
    // Every sys.* topic is under the sys. prefix, so one subscription watches the broker.
    for (const auto t : {topics::node_health, topics::node_registered, topics::broker_started,
                         topics::trading, topics::probe}) {
        CHECK(topics::matches(topics::sys, t));
    }
}

TEST_CASE("topics: for_symbol builds prefix + symbol") {
    CHECK(topics::for_symbol(topics::md_tick, "AAPL") == "md.tick.AAPL");
    CHECK(topics::for_symbol(topics::md_bar, "MSFT") == "md.bar.MSFT");
    CHECK(topics::for_symbol(topics::signal, "BRK/B") == "strategy.signal.BRK/B");
    CHECK(topics::for_symbol(topics::exec_fill, "ES:H5") == "exec.fill.ES:H5");
    CHECK(topics::for_symbol(topics::probe, "risk-1") == "sys.probe.risk-1");
    CHECK(topics::for_symbol("", "") == "");
    // The longest prefix with the longest symbol is still a valid topic.
    const std::string longest =
        topics::for_symbol(topics::signal, std::string(topics::max_symbol_bytes, 'S'));
    CHECK(longest.size() < topics::max_topic_bytes);
    CHECK_FALSE(topics::topic_error(longest).has_value());
}

TEST_CASE("topics: valid_symbol (table)") {
    struct row {
        std::string symbol;
        bool valid;
    };
    const std::vector<row> rows = {
        {"AAPL", true},
        {"a", true},
        {"brk/b", true},
        {"ES:H5", true},
        {"BTC-USD", true},
        {"SPX_W", true},
        {"0700", true},
        {std::string(32, 'X'), true},
        {"", false},
        {std::string(33, 'X'), false},
        {"BRK.B", false},  // the dot separates topic tokens
        {"A B", false},
        {"A\tB", false},
        {"A*", false},
        {"A>", false},
        {"A#", false},
        {"\xc3\x84pple", false},  // non-ASCII, even valid UTF-8
        {std::string("A\0B", 3), false},
        {"AAPL\n", false},
    };
    for (const auto& [symbol, valid] : rows) {
        INFO("symbol \"", symbol, "\"");
        CHECK(topics::valid_symbol(symbol) == valid);
    }
}

namespace {
struct validity_row {
    std::string text;
    std::optional<std::string> error;  // substring of the expected error; nullopt = valid
};

void check_table(const std::vector<validity_row>& rows,
                 std::optional<std::string> (*check)(std::string_view)) {
    for (const auto& [text, error] : rows) {
        INFO("input \"", text, "\" (", text.size(), " bytes)");
        const auto got = check(text);
        if (!error) {
            CHECK_MESSAGE(!got.has_value(), "unexpected error: ", got.value_or(""));
        } else {
            REQUIRE_MESSAGE(got.has_value(), "accepted, expected: ", *error);
            CHECK_MESSAGE(got->find(*error) != std::string::npos, "error was: ", *got);
        }
    }
}
}  // namespace

TEST_CASE("topics: topic_error (table)") {
    check_table(
        {
            {"md.tick.AAPL", std::nullopt},
            {"sys.node.health", std::nullopt},
            {"a", std::nullopt},
            {"md.tick.BRK/B", std::nullopt},
            {"md.tick.\xc3\x84pple", std::nullopt},  // printable UTF-8 is allowed in topics
            {"custom-app.v2:x_y", std::nullopt},
            {std::string(255, 't'), std::nullopt},
            {"", "empty"},
            {std::string(256, 't'), "longer than 255 bytes"},
            {"md.tick.", "ends with '.'"},
            {".md.tick", "starts with '.'"},
            {".", "starts with '.'"},
            {"md..tick", "empty token"},
            {"md tick", "space or control character"},
            {"md.tick.AAPL ", "space or control character"},
            {"md\ttick", "space or control character"},
            {"md.tick\n", "space or control character"},
            {std::string("md\0tick", 7), "space or control character"},
            {"md.\x7f", "space or control character"},
            {"md.*", "wildcard"},
            {"md.tick.>", "wildcard"},
            {"md.\xff", "not valid UTF-8"},
            {"md.\xc0\xae", "not valid UTF-8"},  // overlong '.'
            {"md.\xed\xa0\x80", "not valid UTF-8"},
        },
        &topics::topic_error);
}

TEST_CASE("topics: prefix_error (table)") {
    check_table(
        {
            {"", std::nullopt},  // everything
            {"md.", std::nullopt},
            {"md.tick.", std::nullopt},
            {"md.tick.AAPL", std::nullopt},
            {"md.ti", std::nullopt},  // legal, though it matches by bytes (see matches)
            {"sys.", std::nullopt},
            {std::string(255, 'p'), std::nullopt},
            {std::string(256, 'p'), "longer than 255 bytes"},
            {".", "starts with '.'"},
            {".md", "starts with '.'"},
            {"md..", "empty token"},
            {"md. ", "space or control character"},
            {"md.*", "wildcard"},
            {">", "wildcard"},
            {"\xc3", "not valid UTF-8"},
        },
        &topics::prefix_error);
}

TEST_CASE("topics: matches is ZeroMQ byte-prefix matching (table)") {
    struct row {
        std::string_view prefix, topic;
        bool match;
    };
    constexpr row rows[] = {
        {"", "md.tick.AAPL", true},
        {"", "", true},
        {"md.", "md.tick.AAPL", true},
        {"md.tick.", "md.tick.AAPL", true},
        {"md.tick.AAPL", "md.tick.AAPL", true},
        // Byte prefix, not token match: a symbol subscription also receives longer symbols.
        // Subscribers wanting exactly one symbol compare the topic frame themselves.
        {"md.tick.AAPL", "md.tick.AAPLX", true},
        {"md.tick", "md.ticker.X", true},
        {"md.tick.", "md.bar.AAPL", false},
        {"md.tick.AAPL", "md.tick.", false},
        {"md.tick.AAPL", "md.tick.AAP", false},
        {"sys.", "sys.node.health", true},
        {"sys.", "system", false},
        {"MD.", "md.tick.AAPL", false},  // case-sensitive
        {"risk.", "risk.state", true},
    };
    for (const auto& [prefix, topic, match] : rows) {
        INFO("prefix \"", prefix, "\" topic \"", topic, "\"");
        CHECK(topics::matches(prefix, topic) == match);
    }
    static_assert(topics::matches("md.tick.", "md.tick.AAPL"));  // usable at compile time
    static_assert(!topics::matches("md.bar.", "md.tick.AAPL"));
}

TEST_CASE("topics: type_belongs puts each event type on its own topics only") {
    struct row {
        std::string_view type, topic;
        bool belongs;
    };
    const row rows[] = {
        {"tick", "md.tick.AAPL", true},
        {"bar", "md.bar.AAPL", true},
        {"signal", "strategy.signal.AAPL", true},
        {"order", "risk.approved.AAPL", true},
        {"order_rejected", "risk.rejected.AAPL", true},
        {"order_ack", "exec.ack.AAPL", true},
        {"fill", "exec.fill.AAPL", true},
        {"exec_reject", "exec.reject.AAPL", true},
        {"position", "risk.position.AAPL", true},
        {"risk_snapshot", "risk.snapshot.risk", true},
        {"exec_snapshot", "exec.snapshot.execution", true},
        {"exec_snapshot", "risk.snapshot.risk", false},
        {"risk_snapshot", "exec.snapshot.execution", false},
        {"trading_state", "sys.trading", true},
        {"trading_state", "risk.state", true},
        {"node_health", "sys.node.health", true},
        {"node_registered", "sys.node.registered", true},
        {"broker_started", "sys.broker.started", true},
        {"probe", "sys.probe.risk", true},
        {"probe", "bench.9ef6ee.throughput", true},
        {"acl_violation", "sys.acl.violation", true},
        // The forgeries of the issue: a broker restart anywhere but the broker's topic.
        {"broker_started", "md.tick.AAPL", false},
        {"broker_started", "sys.probe.risk", false},
        {"broker_started", "strategy.signal.AAPL", false},
        {"broker_started", "sys.broker.started.x", false},
        {"broker_started", "sys.broker.", false},
        // Other types off their topics.
        {"fill", "md.tick.AAPL", false},
        {"fill", "replay.exec.fill.AAPL", false},  // a replay under a prefix
        {"trading_state", "sys.probe.risk", false},
        {"trading_state", "risk.stateX", false},
        {"tick", "md.bar.AAPL", false},
        {"tick", "md.tick.", false},  // a prefix alone is no topic
        {"probe", "md.tick.AAPL", false},
        {"node_health", "sys.node.registered", false},
        {"risk_snapshot", "risk.position.AAPL", false},
        {"position", "risk.snapshot.risk", false},
        {"no_such_type", "md.tick.AAPL", false},
        {"", "", false},
    };
    for (const auto& r : rows) {
        CAPTURE(r.type);
        CAPTURE(r.topic);
        CHECK(topics::type_belongs(r.type, r.topic) == r.belongs);
    }
}
