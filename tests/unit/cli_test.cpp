// The `tradebus` CLI without a broker process: topic patterns, JSON and line output for every
// event type, the stats table, the status view, endpoint files, argument errors (exit 2), and
// sniff/status/halt end to end against in-process sockets standing in for the broker.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <thread>

#include "../common/json_checker.hpp"
#include "tradebus/cli/app.hpp"
#include "tradebus/cli/endpoints.hpp"
#include "tradebus/cli/format.hpp"
#include "tradebus/cli/journal_report.hpp"
#include "tradebus/cli/journal_view.hpp"
#include "tradebus/cli/json.hpp"
#include "tradebus/cli/pattern.hpp"
#include "tradebus/cli/render.hpp"
#include "tradebus/cli/stats.hpp"
#include "tradebus/cli/status_view.hpp"
#include "tradebus/cli/usage_error.hpp"
#include "tradebus/common/process.hpp"
#include "tradebus/journal/format.hpp"
#include "tradebus/journal/journal_node.hpp"
#include "tradebus/journal/writer.hpp"
#include "tradebus/schema/codec.hpp"

using namespace tradebus;
using namespace tradebus::cli;

namespace {

bool valid_json(std::string_view text) { return tradebus::test::json_checker(text).valid(); }

// ------------------------------------------------------------------ one sample per event type

schema::envelope env_of(std::string src, std::uint64_t seq) {
    return {.src = std::move(src),
            .seq = seq,
            .ts_ns = 1'700'000'000'123'456'789,  // 2023-11-14 22:13:20.123 UTC
            .trace_id = 0x0123'4567'89ab'cdefULL};
}

struct sample {
    const char* topic;
    schema::payload body;
    const char* line;  // format_payload() of body
};

// A new event type fails here until it has a sample (and so a line-format check).
static_assert(std::variant_size_v<schema::payload> == 26, "add a sample for the new event type");

std::vector<sample> samples() {
    using namespace schema;
    return {
        {"md.tick.AAPL",
         tick{.symbol = "AAPL",
              .bid_px = 18'951'000'000,
              .bid_qty = 300,
              .ask_px = 18'953'000'000,
              .ask_qty = 200,
              .last_px = 18'952'000'000,
              .last_qty = 50,
              .exch_ts_ns = 1},
         "AAPL bid 189.51 x 300  ask 189.53 x 200  last 189.52 x 50"},
        {"md.bar.MSFT",
         bar{.symbol = "MSFT",
             .interval_ms = 60'000,
             .start_ts_ns = 1,
             .open_px = 37'010'000'000,
             .high_px = 37'120'000'000,
             .low_px = 36'990'000'000,
             .close_px = 37'050'000'000,
             .volume = 12'345,
             .ticks = 678},
         "MSFT 1m O 370.10 H 371.20 L 369.90 C 370.50 V 12345 ticks=678"},
        {"strategy.signal.AAPL",
         schema::signal{.signal_id = 7,
                        .symbol = "AAPL",
                        .dir = side::buy,
                        .qty = 100,
                        .confidence = 0.75,
                        .ref_px = 18'952'000'000,
                        .reason = "ema_fast > ema_slow"},
         "AAPL BUY 100 conf=0.75 ref=189.52 id=7 reason=\"ema_fast > ema_slow\""},
        {"risk.approved.AAPL",
         order{.order_id = "risk-1-17-3",
               .symbol = "AAPL",
               .dir = side::sell,
               .qty = 80,
               .requested_qty = 100,
               .kind = order_type::limit,
               .limit_px = 18'950'000'000,
               .signal_src = "strategy-1",
               .signal_id = 7,
               .tif = time_in_force::gtc,
               .expire_ts_ns = 0},
         "AAPL SELL 80 LIMIT @ 189.50 GTC id=risk-1-17-3 requested=100 signal=strategy-1/7"},
        {"risk.rejected.AAPL",
         order_rejected{.symbol = "AAPL",
                        .dir = side::sell,
                        .qty = 500,
                        .signal_src = "strategy-1",
                        .signal_id = 8,
                        .rule = "max_order_qty",
                        .reason = "qty 500 > max_order_qty 100"},
         "AAPL SELL 500 rule=max_order_qty reason=\"qty 500 > max_order_qty 100\" "
         "signal=strategy-1/8"},
        {"exec.ack.AAPL",
         order_ack{.order_id = "risk-1-17-4",
                   .symbol = "AAPL",
                   .dir = side::buy,
                   .qty = 10,
                   .kind = order_type::market,
                   .limit_px = 0,
                   .tif = time_in_force::ioc,
                   .expire_ts_ns = 0,
                   .signal_src = "strategy-1"},
         "AAPL BUY 10 MARKET IOC id=risk-1-17-4"},
        {"exec.fill.AAPL",
         fill{.order_id = "risk-1-17-3",
              .fill_id = "exec-1-9",
              .symbol = "AAPL",
              .dir = side::sell,
              .qty = 30,
              .px = 18'950'500'000,
              .leaves_qty = 50},
         "AAPL SELL 30 @ 189.505 leaves=50 id=risk-1-17-3 fill=exec-1-9"},
        {"exec.reject.AAPL",
         exec_reject{.order_id = "risk-1-17-5",
                     .symbol = "AAPL",
                     .code = "no_quote",
                     .reason = "no quote for AAPL yet"},
         "AAPL id=risk-1-17-5 code=no_quote reason=\"no quote for AAPL yet\""},
        {"risk.position.AAPL",
         position{.symbol = "AAPL",
                  .qty = -30,
                  .avg_px = 18'950'500'000,
                  .realized_pnl = -1'234'567'890,
                  .unrealized_pnl = 987'654'321,
                  .last_fill_id = "paper-1-17"},
         "AAPL qty=-30 avg=189.505 realized=-12.3456789 unrealized=9.87654321"},
        {"risk.snapshot.risk-1",
         risk_snapshot{.session_start_ns = 1'700'000'000'000'000'000,
                       .day_base_pnl = -250'000'000,
                       .positions = {{.symbol = "AAPL",
                                      .qty = -30,
                                      .avg_px = 18'950'500'000,
                                      .realized_pnl = -1'234'567'890,
                                      .mark_px = 18'900'000'000,
                                      .last_fill_id = "paper-1-17"}},
                       .working = {}},
         "session_start_ns=1700000000000000000 day_base=-2.50 positions=1 working=0 "
         "AAPL:-30@189.505/-12.3456789"},
        {"sys.node.health",
         node_health{.node = "risk-1",
                     .kind = "risk",
                     .old_state = health::healthy,
                     .new_state = health::unhealthy,
                     .reason = "missed 3 heartbeats"},
         "risk-1 (risk) healthy -> unhealthy reason=\"missed 3 heartbeats\""},
        {"sys.node.registered",
         node_registered{.node = "risk-1",
                         .kind = "risk",
                         .host = "desk-a",
                         .version = "0.1.0",
                         .pid = 4242,
                         .session_id = 99},
         "risk-1 (risk) host=desk-a pid=4242 version=0.1.0 session=99"},
        {"sys.broker.started",
         broker_started{.epoch = 3,
                        .version = "0.1.0",
                        .xsub_endpoint = "tcp://127.0.0.1:5550",
                        .xpub_endpoint = "tcp://127.0.0.1:5551",
                        .control_endpoint = "tcp://127.0.0.1:5552"},
         "epoch=3 version=0.1.0 xsub=tcp://127.0.0.1:5550 xpub=tcp://127.0.0.1:5551 "
         "control=tcp://127.0.0.1:5552"},
        {"sys.trading",
         trading_state_changed{.state = trading_state::halted,
                               .reason = "daily loss \xe2\x82\xac 50k",
                               .by = "alice@desk",
                               .symbol = "",
                               .strategy = ""},
         "halted by=\"alice@desk\" reason=\"daily loss \xe2\x82\xac 50k\""},
        {"sys.probe.strategy-1", probe{.node = "strategy-1", .nonce = 5},
         "node=strategy-1 nonce=5"},
        {"sys.acl.violation",
         acl_violation{.node = "strategy-1", .topic = "exec.fill.AAPL", .dropped = 3},
         "node=strategy-1 topic=exec.fill.AAPL dropped=3"},
        {"sys.recorder.gap",
         recorder_gap{.epoch = 9, .expected_seq = 41, .first_seq = 1041, .missing = 1000},
         "RECORDER GAP epoch=9 expected_seq=41 first_seq=1041 missing=1000 (evicted by the "
         "broker before the journal had them)"},
        {"exec.cancelled.AAPL",
         order_cancelled{.order_id = "risk-1-17-3",
                         .symbol = "AAPL",
                         .dir = side::sell,
                         .qty = 80,
                         .leaves_qty = 50,
                         .by = "operator: ana@desk",
                         .reason = "pulled",
                         .request_id = 9},
         "AAPL SELL 80 leaves=50 id=risk-1-17-3 by=\"operator: ana@desk\" reason=\"pulled\" "
         "request=9"},
        {"exec.expired.AAPL",
         order_expired{.order_id = "risk-1-17-3",
                       .symbol = "AAPL",
                       .dir = side::buy,
                       .qty = 80,
                       .leaves_qty = 80,
                       .expire_ts_ns = 1'700'006'400'000'000'000},
         "AAPL BUY 80 leaves=80 id=risk-1-17-3 expire_ts_ns=1700006400000000000"},
        {"sys.cancel",
         cancel_request{.request_id = 9,
                        .order_id = "",
                        .symbol = "AAPL",
                        .all = false,
                        .reason = "pull",
                        .by = "ana@desk"},
         "symbol=AAPL request=9 by=\"ana@desk\" reason=\"pull\""},
        {"exec.cancel_reject",
         cancel_reject{.request_id = 9,
                       .order_id = "x-1",
                       .symbol = "",
                       .code = "unknown_order",
                       .reason = "never received"},
         "request=9 id=x-1 code=unknown_order reason=\"never received\""},
        {"exec.cancel_done", cancel_done{.request_id = 9, .cancelled = 2}, "request=9 cancelled=2"},
        {"sys.flatten",
         flatten_request{.request_id = 9, .symbol = "AAPL", .reason = "eod", .by = "ana@desk"},
         "symbol=AAPL request=9 by=\"ana@desk\" reason=\"eod\""},
        {"risk.flatten.risk",
         flatten_done{
             .request_id = 9,
             .symbol = "",
             .cancelled = 1,
             .closing =
                 {{.order_id = "risk-1-17-4", .symbol = "AAPL", .dir = side::sell, .open_qty = 30}},
             .left = {{.symbol = "MSFT", .qty = -4, .reason = "halted"}},
             .working = {},
             .error = ""},
         "all request=9 cancelled=1 close=AAPL:SELL:30 left=MSFT:-4"},
        {"risk.limits.risk",
         risk_limits{.cause = "refused",
                     .error = "risk.toml:3:16: risk.max_position: expected 1..1000000000",
                     .allowed_symbols = {},
                     .max_order_qty = 100,
                     .max_position = 10,
                     .symbols = {{.symbol = "AAPL", .max_order_qty = 5, .max_position = 20}},
                     .max_gross_notional = 100'000'000'000'000,
                     .max_daily_loss = 500'000'000'000,
                     .reducing_daily_loss = 0,
                     .max_orders_per_sec = 50,
                     .stale_quote_ms = 2000,
                     .max_working_orders = 1000,
                     .price_band_bps = 50.0},
         "refused max_order_qty=100 max_position=10 AAPL:5/20 max_gross_notional=1000000.00 "
         "max_daily_loss=5000.00 max_orders_per_sec=50 "
         "error=\"risk.toml:3:16: risk.max_position: expected 1..1000000000\""},
        {"exec.snapshot.execution",
         exec_snapshot{.session_start_ns = 1'700'000'000'000'000'000,
                       .resting = {{.order_id = "risk-1-17-4",
                                    .symbol = "AAPL",
                                    .dir = side::buy,
                                    .qty = 30,
                                    .leaves_qty = 10,
                                    .kind = order_type::limit,
                                    .limit_px = 18'900'000'000,
                                    .tif = time_in_force::gtc,
                                    .expire_ts_ns = 0,
                                    .signal_src = "strategy",
                                    .trace_id = 7}}},
         "session_start_ns=1700000000000000000 resting=1 risk-1-17-4:AAPL:BUY:10/30"},
    };
}

std::string encoded(const schema::envelope& env, const schema::payload& body) {
    std::string out;
    schema::encode_event(schema::event{env, body}, out);
    return out;
}

bool contains(std::string_view haystack, std::string_view needle) {
    return haystack.find(needle) != std::string_view::npos;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

struct captured {
    std::ostringstream out, err;
    zmq::context_t ctx;
    environment env{out, err, ctx, false};
};

int run_args(captured& c, std::vector<std::string> args) {
    args.insert(args.begin(), "tradebus");
    return run(args, c.env);
}

}  // namespace

// ------------------------------------------------------------------ patterns

TEST_CASE("cli: pattern -> ZeroMQ subscription prefix and client-side match") {
    struct row {
        const char* pattern;
        const char* subscription;
        const char* topic;
        bool match;
    };
    const row rows[] = {
        // '*' is exactly one token
        {"md.tick.*", "md.tick.", "md.tick.AAPL", true},
        {"md.tick.*", "md.tick.", "md.tick", false},
        {"md.tick.*", "md.tick.", "md.tick.A.B", false},
        {"md.tick.*", "md.tick.", "md.bar.AAPL", false},
        // trailing '>' is one or more tokens
        {"exec.>", "exec.", "exec.fill.AAPL", true},
        {"exec.>", "exec.", "exec.ack", true},
        {"exec.>", "exec.", "exec", false},
        {"exec.>", "exec.", "execx.fill", false},
        // wildcards alone: subscribe to everything, match here
        {"*", "", "heartbeat", true},
        {"*", "", "md.tick", false},
        {">", "", "md.tick.AAPL", true},
        {">", "", "sys", true},
        // wildcard in the middle: literal prefix up to it
        {"md.*.AAPL", "md.", "md.tick.AAPL", true},
        {"md.*.AAPL", "md.", "md.bar.AAPL", true},
        {"md.*.AAPL", "md.", "md.tick.MSFT", false},
        {"md.*.AAPL", "md.", "md.tick.AAPL.X", false},
        {"*.fill.>", "", "exec.fill.AAPL", true},
        {"*.fill.>", "", "exec.fill", false},
        // exact topic: a byte prefix, as ZeroMQ matches
        {"md.tick.AAPL", "md.tick.AAPL", "md.tick.AAPL", true},
        {"md.tick.AAPL", "md.tick.AAPL", "md.tick.MSFT", false},
        {"md.tick.AAPL", "md.tick.AAPL", "md.tick.AAPLX", true},
        // prefix without wildcard
        {"md.", "md.", "md.bar.MSFT", true},
        {"md.", "md.", "mdx.bar", false},
        {"md.ti", "md.ti", "md.tick.AAPL", true},
        {"", "", "anything.at.all", true},
    };
    for (const auto& r : rows) {
        CAPTURE(r.pattern);
        CAPTURE(r.topic);
        const auto p = topic_pattern::parse(r.pattern);
        CHECK(p.subscription() == r.subscription);
        CHECK(p.matches(r.topic) == r.match);
    }
}

TEST_CASE("cli: bad patterns are usage errors that say what is wrong") {
    struct row {
        const char* pattern;
        const char* message;
    };
    const row rows[] = {
        {"md.ti*", "must be whole dot-separated tokens"},
        {"md.*x.AAPL", "must be whole dot-separated tokens"},
        {"exec.>.fill", "'>' must be the last token"},
        {"md..*", "has an empty token"},
        {"md tick", "contains a space or control character"},
        {"md.*.a b", "contains a space or control character"},
        {".md", "starts with '.'"},
    };
    for (const auto& r : rows) {
        CAPTURE(r.pattern);
        try {
            (void)topic_pattern::parse(r.pattern);
            FAIL("no error for " << r.pattern);
        } catch (const usage_error& e) {
            CHECK(contains(e.what(), r.message));
            CHECK(contains(e.what(), r.pattern));
        }
    }
}

TEST_CASE("cli: several patterns subscribe to a minimal set of prefixes") {
    const auto f = topic_filter::parse({"md.tick.*", "md.>", "exec.fill.AAPL", "exec.>"});
    CHECK(f.subscriptions() == std::vector<std::string>{"exec.", "md."});
    CHECK(f.matches("md.bar.MSFT"));
    CHECK(f.matches("exec.fill.AAPL"));
    CHECK_FALSE(f.matches("risk.approved.AAPL"));
    CHECK(topic_filter{}.subscriptions() == std::vector<std::string>{""});
    CHECK(topic_filter{}.matches("risk.approved.AAPL"));
    CHECK(topic_filter::parse({"*", "sys."}).subscriptions() == std::vector<std::string>{""});
}

// ------------------------------------------------------------------ JSON

TEST_CASE("cli: JSON string escaping") {
    struct row {
        std::string in;
        std::string out;
    };
    const row rows[] = {
        {"plain", R"("plain")"},
        {"say \"hi\"", R"("say \"hi\"")"},
        {"back\\slash", R"("back\\slash")"},
        {"a\nb\tc\rd\be\ff", R"("a\nb\tc\rd\be\ff")"},
        {std::string("nul\0x", 5), R"("nul\u0000x")"},
        {"\x01\x1f\x7f", "\"\\u0001\\u001f\x7f\""},
        {"caf\xc3\xa9 \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xf0\x9f\x98\x80\""},  // kept as UTF-8
        {"bad \xff byte", R"("bad \ufffd byte")"},
        {"cut \xe2\x82", R"("cut \ufffd\ufffd")"},
        {"overlong \xc0\xaf", R"("overlong \ufffd\ufffd")"},
        {"surrogate \xed\xa0\x80", R"("surrogate \ufffd\ufffd\ufffd")"},
        {"/", R"("/")"},
    };
    for (const auto& r : rows) {
        CAPTURE(r.in);
        std::string out;
        append_json_string(out, r.in);
        CHECK(out == r.out);
        CHECK(valid_json(out));
    }
}

TEST_CASE("cli: an event becomes one JSON line with every envelope and payload field") {
    const schema::event ev{env_of("marketdata-1", 42), samples()[0].body};
    CHECK(event_json("md.tick.AAPL", ev) ==
          R"({"topic":"md.tick.AAPL","v":1,"type":"tick","src":"marketdata-1","seq":42,)"
          R"("ts_ns":1700000000123456789,"trace_id":81985529216486895,"inc":0,)"
          R"("data":{"symbol":"AAPL",)"
          R"("bid_px":18951000000,"bid_qty":300,"ask_px":18953000000,"ask_qty":200,)"
          R"("last_px":18952000000,"last_qty":50,"exch_ts_ns":1}})");

    const schema::event sig{env_of("strategy-1", 7), samples()[2].body};
    CHECK(contains(event_json("strategy.signal.AAPL", sig),
                   R"("data":{"signal_id":7,"symbol":"AAPL","side":"BUY","qty":100,)"
                   R"("confidence":0.75,"ref_px":18952000000,"reason":"ema_fast > ema_slow"})"));

    // Every event type: valid JSON, the topic first, the wire type name, one line.
    for (const auto& s : samples()) {
        const schema::event e{env_of("n", 1), s.body};
        const auto line = event_json(s.topic, e);
        CAPTURE(line);
        CHECK(valid_json(line));
        CHECK(line.rfind(std::string(R"({"topic":")") + s.topic + "\"", 0) == 0);
        CHECK(contains(line, std::string(R"("type":")") + std::string(e.type_name()) + "\""));
        CHECK_FALSE(contains(line, "\n"));
    }
}

TEST_CASE("cli: doubles that JSON cannot carry become null") {
    schema::signal s;
    s.confidence = std::numeric_limits<double>::quiet_NaN();
    const auto line = event_json("strategy.signal.X", schema::event{env_of("s", 1), s});
    CHECK(contains(line, R"("confidence":null)"));
    CHECK(valid_json(line));
}

TEST_CASE("cli: undecodable messages are flagged with the reason and every byte in hex") {
    // An unknown event type: the codec says which; the bytes are all there.
    bus_message m{.topic = "md.tick.AAPL", .body = {}, .frames = 2, .rx_ns = 5};
    std::string body = encoded(env_of("md", 1), samples()[0].body);
    const auto at = body.find("tick");
    REQUIRE(at != std::string::npos);
    body.replace(at, 4, "tock");
    m.body = body;
    const auto decoded = decode_message(m);
    REQUIRE_FALSE(decoded.ok());
    const auto json = render_message(m, decoded, output_format::json, {});
    CAPTURE(json);
    CHECK(valid_json(json));
    CHECK(contains(json, R"("undecodable":"type: unknown event type \"tock\"")"));
    CHECK(contains(json, "\"hex\":\"" + to_hex(body) + "\""));
    CHECK(contains(json, R"("frames":2)"));
    CHECK(contains(json, R"("rx_ns":5)"));

    // Wrong frame count, and a topic that is not UTF-8.
    const bus_message three{.topic = "x\xff", .body = "ab", .frames = 3, .rx_ns = 0};
    const auto j3 = render_message(three, decode_message(three), output_format::json, {});
    CAPTURE(j3);
    CHECK(valid_json(j3));
    CHECK(contains(j3, R"x("undecodable":"3 frames, expected 2 (topic, body)")x"));
    CHECK(contains(j3, R"("topic_hex":"78ff")"));
    CHECK(contains(j3, R"("hex":"6162")"));

    // Line form: flagged, reason, size, hex cut after 64 bytes.
    const bus_message big{.topic = "t", .body = std::string(100, 'A'), .frames = 2, .rx_ns = 0};
    const auto line = render_message(big, decode_message(big), output_format::lines, {.utc = true});
    CAPTURE(line);
    CHECK(line.rfind("00:00:00.000 t ", 0) == 0);
    CHECK(contains(line, "UNDECODABLE"));
    CHECK(contains(line, "[100 bytes] " + to_hex(std::string(64, 'A')) + "..."));
}

TEST_CASE("cli: a control reply becomes JSON with its wire keys") {
    schema::status_reply s;
    s.epoch = 9;
    schema::node_status n;
    n.name = "risk-1";
    n.kind = "risk";
    n.state = schema::health::degraded;
    s.nodes.push_back(n);
    const auto json = control_json(s);
    CAPTURE(json);
    CHECK(valid_json(json));
    CHECK(json.rfind(R"({"v":1,"type":"status_ok","epoch":9,)", 0) == 0);
    CHECK(contains(json, R"("nodes":[{"name":"risk-1","kind":"risk")"));
    CHECK(contains(json, R"("state":"degraded")"));
    CHECK(contains(json, R"("counters":{"published":0,)"));
    CHECK(contains(json, R"("trading_state":"active")"));
}

// ------------------------------------------------------------------ lines

TEST_CASE("cli: one readable line per event type") {
    for (const auto& s : samples()) {
        CAPTURE(s.topic);
        CHECK(format_payload(s.body) == s.line);
    }
    const schema::event ev{env_of("marketdata-1", 42), samples()[0].body};
    CHECK(format_line("md.tick.AAPL", ev, {.utc = true}) ==
          "22:13:20.123 md.tick.AAPL             marketdata-1#42      "
          "AAPL bid 189.51 x 300  ask 189.53 x 200  last 189.52 x 50");
    // A tick without a trade shows no "last".
    schema::tick quote = std::get<schema::tick>(samples()[0].body);
    quote.last_qty = 0;
    CHECK(format_payload(quote) == "AAPL bid 189.51 x 300  ask 189.53 x 200");
}

TEST_CASE("cli: text from the wire cannot break the line or drive the terminal") {
    CHECK(printable("a\nb\tc\x1b[2Jd") == "a\\nb\\tc\\x1b[2Jd");
    CHECK(printable("\xc2\x9b"
                    "31m") == "\\xc2\\x9b31m");  // C1 CSI
    CHECK(printable("caf\xc3\xa9 \xff") == "caf\xc3\xa9 \\xff");
    schema::exec_reject r{
        .order_id = "o", .symbol = "S", .code = "c", .reason = "two\nlines \"q\""};
    CHECK(format_payload(r) == "S id=o code=c reason=\"two\\nlines \\\"q\\\"\"");
}

TEST_CASE("cli: fixed-point prices, times, sizes and durations") {
    CHECK(format_fixed(18'951'000'000) == "189.51");
    CHECK(format_fixed(100'000'000) == "1.00");
    CHECK(format_fixed(0) == "0.00");
    CHECK(format_fixed(5) == "0.00000005");
    CHECK(format_fixed(-150'000'000) == "-1.50");
    CHECK(format_fixed(-1) == "-0.00000001");
    CHECK(format_fixed(std::numeric_limits<std::int64_t>::min()) == "-92233720368.54775808");
    CHECK(format_fixed(std::numeric_limits<std::int64_t>::max()) == "92233720368.54775807");
    CHECK(format_time(1'700'000'000'123'456'789, true) == "22:13:20.123");
    CHECK(format_time(-1'000'000, true) == "23:59:59.999");
    CHECK(format_bytes(512) == "512 B");
    CHECK(format_bytes(1536) == "1.5 KiB");
    CHECK(format_bytes(12.0 * 1024 * 1024) == "12.0 MiB");
    CHECK(format_duration_ms(850) == "850ms");
    CHECK(format_duration_ms(12'300) == "12.3s");
    CHECK(format_duration_ms(185'000) == "3m05s");
    CHECK(format_duration_ms(3'723'000) == "1h02m03s");
    CHECK(format_duration_ms(183'840'000) == "2d03h04m");
}

// ------------------------------------------------------------------ stats

TEST_CASE("cli: stats table counts rates, totals and gaps per source") {
    stats_table t(1'000);
    const auto rec = [&](const char* topic, const char* src, std::uint64_t seq) {
        const auto env = env_of(src, seq);
        t.record(topic, 100, &env);
    };
    rec("md.tick.AAPL", "md-1", 1);
    rec("md.tick.AAPL", "md-1", 2);
    rec("md.tick.AAPL", "md-1", 6);  // 3 missing
    rec("md.tick.AAPL", "md-2", 1);  // another source: its own sequence
    rec("md.tick.MSFT", "md-1", 1);  // another topic: its own sequence too
    t.record("md.tick.AAPL", 10, nullptr);
    t.roll(3'000);  // 2 s

    const auto text = t.render(10);
    CAPTURE(text);
    const auto rows = lines_of(text);
    REQUIRE(rows.size() == 4);
    CHECK(rows[0] == "TOPIC         MSG/S  BYTES/S  TOTAL  BYTES  GAPS  SOURCES (gaps)");
    CHECK(rows[1] ==
          "md.tick.AAPL    2.5    205 B      5  410 B     3  md-1=3, md-2=0, undecodable=1");
    CHECK(rows[2] == "md.tick.MSFT    0.5     50 B      1  100 B     0  md-1=0");
    CHECK(rows[3] == "2 topics, 6 messages, 3 gaps, 1 undecodable, over 2.0s");

    // The next interval starts from zero; totals keep growing; rows are capped.
    rec("md.tick.MSFT", "md-1", 2);
    t.roll(4'000);
    const auto next = lines_of(t.render(1));
    REQUIRE(next.size() == 4);
    CHECK(next[1].rfind("md.tick.AAPL    0.0", 0) == 0);
    CHECK(next[2] == "... 1 more topics");
}

TEST_CASE("cli: stats memory is bounded by max_topics") {
    stats_table t(0, 2);
    const auto env = env_of("s", 1);
    t.record("a", 1, &env);
    t.record("b", 1, &env);
    t.record("c", 1, &env);
    t.record("d", 1, &env);
    t.roll(1000);
    const auto text = t.render(10);
    CAPTURE(text);
    CHECK(contains(text, "(other topics)"));
    CHECK(t.messages() == 4);
}

// ------------------------------------------------------------------ status view

namespace {
schema::status_reply sample_status() {
    schema::status_reply s;
    s.epoch = 1'700'000'000;
    s.version = "0.1.0+abc";
    s.uptime_ms = 3'723'000;
    s.trading = schema::trading_state::halted;
    s.trading_reason = "operator halt";
    schema::node_status md;
    md.name = "marketdata-1";
    md.kind = "marketdata";
    md.host = "desk-a";
    md.version = "0.1.0";
    md.pid = 101;
    md.state = schema::health::healthy;
    md.last_heartbeat_age_ms = 400;
    md.counters.published = 5000;
    md.counters.cpu_ms = 1500;
    md.counters.rss_bytes = 12 << 20;
    md.counters.open_fds = 21;
    schema::node_status risk = md;
    risk.name = "risk-1";
    risk.kind = "risk";
    risk.pid = 103;
    risk.state = schema::health::starting;
    risk.last_heartbeat_age_ms = -1;
    risk.depends_on = {"marketdata-1", "strategy-1"};
    risk.counters = {};
    risk.counters.received = 12;
    risk.counters.gaps = 2;
    risk.counters.misrouted = 3;
    s.nodes = {md, risk};
    s.start_order = {"marketdata-1", "strategy-1", "risk-1"};
    s.topics = {{.topic = "sys.trading", .messages = 2, .bytes = 200},
                {.topic = "md.tick.AAPL", .messages = 4000, .bytes = 400'000},
                {.topic = "md.tick.MSFT", .messages = 1000, .bytes = 100'000}};
    s.topics_total = 3;
    s.drops = {{.reason = "frame_count", .count = 3},
               {.reason = "empty", .count = 0},
               {.reason = "oversized", .count = 1}};
    return s;
}
}  // namespace

TEST_CASE("cli: status view shows nodes, start order, trading state, topics and drops") {
    const auto text = format_status(sample_status(), "tcp://127.0.0.1:5552", 2);
    CAPTURE(text);
    const auto l = lines_of(text);
    REQUIRE(l.size() >= 14);
    CHECK(l[0] == "broker 0.1.0+abc at tcp://127.0.0.1:5552  epoch 1700000000  up 1h02m03s");
    CHECK(l[1] == "trading: HALTED (operator halt)");
    CHECK(l[3] ==
          "NODE          KIND        HOST    PID  STATE     HEARTBEAT  DEPENDS ON"
          "               PUBLISHED  RECEIVED  GAPS  DECODE ERR  MISROUTED   CPU       RSS  FDS");
    CHECK(l[4] ==
          "marketdata-1  marketdata  desk-a  101  healthy   400ms ago  -"
          "                             5000         0     0           0          0  1.5s  12.0 "
          "MiB   21");
    // A node that reports no resources (rss_bytes 0: an older node) shows dashes, not zeros.
    CHECK(l[5] ==
          "risk-1        risk        desk-a  103  starting      never  marketdata-1,strategy-1"
          "          0        12     2           0          3     -         -    -");
    CHECK(l[7] == "start order: marketdata-1 -> strategy-1 -> risk-1");
    CHECK(l[9] == "TOPIC         MESSAGES      BYTES");
    CHECK(l[10] == "md.tick.AAPL      4000  390.6 KiB");  // busiest first
    CHECK(l[11] == "md.tick.MSFT      1000   97.7 KiB");
    CHECK(l[12] == "(2 of 3 topics shown; --topics N for more)");
    CHECK(l[14] == "drops: 4 (frame_count 3, oversized 1)");
}

TEST_CASE("cli: status view lists every kill-switch scope in force under the desk's line") {
    auto s = sample_status();
    s.trading_scopes = {
        {.symbol = "",
         .strategy = "strategy-2",
         .state = schema::trading_state::reducing,
         .reason = "wind down",
         .by = "bob"},
        {.symbol = "AAPL", .strategy = "", .reason = "news pending", .by = "alice@desk"}};
    const auto l = lines_of(format_status(s, "tcp://127.0.0.1:5552", 2));
    REQUIRE(l.size() >= 5);
    CHECK(l[1] == "trading: HALTED (operator halt)");
    CHECK(l[2] == "  strategy strategy-2: REDUCING (wind down, by bob)");
    CHECK(l[3] == "  symbol AAPL: HALTED (news pending, by alice@desk)");
    CHECK(l[4].empty());
}

// ------------------------------------------------------------------ endpoints

TEST_CASE("cli: endpoints come from the broker's or a node's TOML, flags override") {
    const auto dir = std::filesystem::temp_directory_path() /
                     ("tradebus-cli-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto write = [&](const char* name, const char* text) {
        const auto path = (dir / name).string();
        std::ofstream(path) << text;
        return path;
    };
    const auto broker = write("broker.toml",
                              "[broker]\nname = 'b'\n[endpoints]\nxsub = 'tcp://0.0.0.0:6550'\n"
                              "xpub = 'tcp://*:6551'\ncontrol = 'tcp://127.0.0.1:6552'\n"
                              "[heartbeat]\nliveness = 3\n");
    auto ep = read_endpoints(broker);
    CHECK(ep.xpub == "tcp://127.0.0.1:6551");  // wildcard host: connect on loopback
    CHECK(ep.control == "tcp://127.0.0.1:6552");

    const auto advertised = write("adv.toml",
                                  "[endpoints]\nxpub = 'tcp://*:6551'\n"
                                  "xpub_advertised = 'tcp://desk-a:6551'\n");
    ep = read_endpoints(advertised);
    CHECK(ep.xpub == "tcp://desk-a:6551");
    CHECK(ep.control == std::string(defaults::control_endpoint));

    const auto node = write("node.toml",
                            "[node]\nkind = 'risk'\n[broker]\n"
                            "control_endpoint = 'ipc:///tmp/tb-control'\n");
    ep = read_endpoints(node);
    CHECK(ep.control == "ipc:///tmp/tb-control");
    CHECK(ep.xpub == std::string(defaults::xpub_endpoint));

    const auto bad = write("bad.toml", "[endpoints]\nxpub = 'localhost'\ncontrol = 'tcp://h:*'\n");
    try {
        (void)read_endpoints(bad);
        FAIL("no error");
    } catch (const usage_error& e) {
        CHECK(contains(e.what(), "bad.toml:2:"));
        CHECK(contains(e.what(), "endpoints.xpub"));
        CHECK(contains(e.what(), "wildcard port"));
    }
    CHECK_THROWS_AS((void)read_endpoints((dir / "missing.toml").string()), usage_error);

    CHECK(connectable("tcp://*:1") == "tcp://127.0.0.1:1");
    CHECK(connectable("ipc:///x") == "ipc:///x");
    CHECK_FALSE(connectable("tcp://127.0.0.1:*").has_value());

    captured c;
    CHECK(run_args(c, {"status", "--config", (dir / "missing.toml").string()}) == 2);
    CHECK(contains(c.err.str(), "missing.toml"));
    std::filesystem::remove_all(dir);
}

// ------------------------------------------------------------------ arguments

TEST_CASE("cli: bad arguments print a clear message and exit 2") {
    struct row {
        std::vector<std::string> args;
        const char* message;
    };
    const row rows[] = {
        {{}, "A subcommand is required"},
        {{"bogus"}, "unknown command \"bogus\""},
        {{"--bogus"}, "--bogus"},
        {{"sniff", "--count", "x"},
         "--count: expected a whole number > 0 (at most 1e12), got \"x\""},
        {{"sniff", "--count", "0"}, "--count: expected a whole number > 0"},
        {{"sniff", "--duration", "-1"}, "--duration"},
        {{"sniff", "--duration", "1e300"}, "at most 1e12"},
        {{"sniff", "--json", "--stats"}, "--json excludes --stats"},
        {{"sniff", "md.ti*"}, "pattern \"md.ti*\""},
        {{"sniff", "--xpub", "localhost:5551"}, "--xpub \"localhost:5551\": missing transport"},
        {{"sniff", "--xpub", "tcp://127.0.0.1:*"}, "wildcard port"},
        {{"status", "--timeout", "0"}, "--timeout: expected a number > 0"},
        {{"status", "--watch", "soon"}, "--watch: expected seconds"},
        {{"status", "--control"}, "--control"},
        {{"status", "extra"}, "extra"},
        {{"halt", "--reason"}, "--reason"},
        {{"resume", "--control", "tcp://nowhere"}, "expected tcp://host:port"},
        {{"journal"}, "A subcommand is required"},
        {{"journal", "cat", "--since", "yesterday"}, "--since: expected a time"},
        {{"journal", "cat", "--since", "10:00", "--until", "09:00"}, "is not before --until"},
        {{"journal", "cat", "--dir", "a", "--config", "b"}, "excludes"},
        {{"journal", "cat", "exec.>.x"}, "'>' must be the last token"},
        {{"journal", "verify", "--config", "/nonexistent/journal.toml"}, "journal.toml"},
    };
    for (const auto& r : rows) {
        captured c;
        std::string joined;
        for (const auto& a : r.args) joined += a + " ";
        CAPTURE(joined);
        CHECK(run_args(c, r.args) == exit_code::usage);
        CAPTURE(c.err.str());
        CHECK(contains(c.err.str(), r.message));
        CHECK(c.err.str().rfind("tradebus: ", 0) == 0);
        CHECK(c.out.str().empty());
    }
}

TEST_CASE("cli: --help and --version exit 0 and explain every command") {
    captured c;
    CHECK(run_args(c, {"--help"}) == 0);
    for (const char* cmd : {"sniff", "status", "halt", "resume"}) CHECK(contains(c.out.str(), cmd));
    captured v;
    CHECK(run_args(v, {"--version"}) == 0);
    CHECK(contains(v.out.str(), std::string(common::version())));
    captured s;
    CHECK(run_args(s, {"sniff", "--help"}) == 0);
    for (const char* opt : {"--json", "--stats", "--count", "--duration", "--last", "--xpub",
                            "--config", "md.tick.*", "exec.>", "1e-8"}) {
        CAPTURE(opt);
        CHECK(contains(s.out.str(), opt));
    }
    captured st;
    CHECK(run_args(st, {"status", "--help"}) == 0);
    for (const char* opt : {"--json", "--watch", "--timeout", "--control"}) {
        CHECK(contains(st.out.str(), opt));
    }
}

// ------------------------------------------------------------------ against in-process peers

namespace {
// A stand-in for the broker's control plane on inproc: answers status, halt and resume (resume
// with an error, to test that path) until told to stop.
class fake_control {
  public:
    fake_control(zmq::context_t& ctx, std::string endpoint) : socket_(ctx, zmq::socket_type::rep) {
        socket_.set(zmq::sockopt::linger, 0);
        socket_.bind(endpoint);
        thread_ = std::thread([this] { serve(); });
    }
    ~fake_control() {
        stop_ = true;
        thread_.join();
    }
    std::vector<std::string> requests;  // type names seen; read after destruction or join

  private:
    void serve() {
        while (!stop_) {
            zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
            if (zmq::poll(&item, 1, std::chrono::milliseconds(20)) == 0) continue;
            zmq::message_t msg;
            if (!socket_.recv(msg)) continue;
            const auto req = schema::decode_control(msg.to_string_view());
            schema::control_message reply = schema::error_reply{"bad_request", "undecodable"};
            if (req) {
                requests.emplace_back(schema::type_name(req.value()));
                if (std::holds_alternative<schema::status_request>(req.value())) {
                    reply = sample_status();
                } else if (const auto* h = std::get_if<schema::halt_request>(&req.value())) {
                    reply = schema::ok_reply{"halted by " + h->by + ": " + h->reason};
                } else {
                    reply = schema::error_reply{"not_allowed", "not halted"};
                }
            }
            std::string out;
            schema::encode_control(reply, out);
            socket_.send(zmq::buffer(out));
        }
    }
    zmq::socket_t socket_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};
}  // namespace

TEST_CASE("cli: status, halt and resume against a control-plane peer") {
    captured c;
    {
        fake_control broker(c.ctx, "inproc://cli-control");
        CHECK(run_args(c, {"status", "--control", "inproc://cli-control", "--json"}) == 0);
        const auto json = c.out.str();
        CAPTURE(json);
        REQUIRE(lines_of(json).size() == 1);
        CHECK(valid_json(lines_of(json)[0]));
        CHECK(contains(json, R"("type":"status_ok")"));
        CHECK(contains(json, R"("trading_state":"halted")"));
        CHECK(contains(json, R"("misrouted":0,"cpu_ms":1500,"rss_bytes":12582912,"open_fds":21})"));

        c.out.str("");
        CHECK(run_args(c, {"status", "--control", "inproc://cli-control"}) == 0);
        CHECK(contains(c.out.str(), "trading: HALTED (operator halt)"));
        CHECK(contains(c.out.str(), "start order: marketdata-1 -> strategy-1 -> risk-1"));

        c.out.str("");
        CHECK(run_args(c, {"halt", "--control", "inproc://cli-control", "--reason", "fat finger",
                           "--by", "alice@desk"}) == 0);
        CHECK(c.out.str() == "halted by alice@desk: fat finger [by alice@desk: fat finger]\n");

        c.out.str("");
        CHECK(run_args(c, {"resume", "--control", "inproc://cli-control"}) == 1);
        CHECK(
            contains(c.err.str(), "tradebus resume: the broker refused: not_allowed: not halted"));
    }
    // Nobody answers: a clear message naming the endpoint, exit 1, no hang.
    captured n;
    zmq::socket_t silent(n.ctx, zmq::socket_type::router);
    silent.set(zmq::sockopt::linger, 0);
    silent.bind("inproc://cli-silent");
    CHECK(run_args(n, {"status", "--control", "inproc://cli-silent", "--timeout", "0.05"}) == 1);
    CHECK(
        contains(n.err.str(),
                 "tradebus status: no reply from the broker at inproc://cli-silent within 0.05s"));
    CHECK(run_args(n, {"halt", "--control", "inproc://cli-silent", "--timeout", "0.05"}) == 1);
    CHECK(contains(n.err.str(), "the trading state is unknown"));
}

TEST_CASE("cli: operator identity is user@host") {
    const auto id = operator_identity();
    CHECK(contains(id, "@"));
    CHECK(id.back() != '@');
}

TEST_CASE("cli: sniff prints matching events as JSON lines, undecodable ones flagged") {
    captured c;
    zmq::socket_t pub(c.ctx, zmq::socket_type::pub);
    pub.set(zmq::sockopt::linger, 0);
    pub.bind("inproc://cli-xpub");

    const auto tick = encoded(env_of("md-1", 1), samples()[0].body);
    const auto bar = encoded(env_of("md-1", 1), samples()[1].body);
    std::atomic<bool> done{false};
    int code = -1;
    std::thread sniffer([&] {
        sniff_options o;
        o.patterns = {"md.tick.*"};
        o.json = true;
        o.count = 4;
        o.duration_s = 30;  // a guard against a hang, not a timing assertion
        o.xpub = "inproc://cli-xpub";
        code = run_sniff(o, c.env);
        done = true;
    });
    // A SUB joins late (its subscription travels first): publish until it has seen enough.
    while (!done) {
        pub.send(zmq::str_buffer("md.bar.AAPL"), zmq::send_flags::sndmore);  // filtered out
        pub.send(zmq::buffer(bar));
        pub.send(zmq::str_buffer("md.tick.AAPL.X"), zmq::send_flags::sndmore);  // '*' is 1 token
        pub.send(zmq::buffer(tick));
        pub.send(zmq::str_buffer("md.tick.AAPL"), zmq::send_flags::sndmore);
        pub.send(zmq::buffer(tick));
        pub.send(zmq::str_buffer("md.tick.BAD"), zmq::send_flags::sndmore);
        pub.send(zmq::str_buffer("\x81\xa1v\x01"));  // a map with only "v"
        pub.send(zmq::str_buffer("md.tick.ONE"));    // a single frame
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    sniffer.join();
    CHECK(code == 0);
    const auto lines = lines_of(c.out.str());
    CAPTURE(c.out.str());
    REQUIRE(lines.size() == 4);
    for (const auto& line : lines) {
        CHECK(valid_json(line));
        CHECK_FALSE(contains(line, "md.bar"));
        CHECK_FALSE(contains(line, "AAPL.X"));
        if (contains(line, R"("topic":"md.tick.AAPL")")) {
            CHECK(contains(line, R"("type":"tick","src":"md-1")"));
        } else if (contains(line, R"("topic":"md.tick.BAD")")) {
            CHECK(contains(line, R"("undecodable":"type: missing required key")"));
            CHECK(contains(line, R"("hex":"81a17601")"));
        } else {
            CHECK(contains(line, R"("topic":"md.tick.ONE","undecodable":"1 frame, expected 2)"));
        }
    }
}

namespace {

// Runs sniff with `o` against a PUB bound at o.xpub that sends ticks until sniff returns.
void sniff_ticks(captured& c, const sniff_options& o) {
    zmq::socket_t pub(c.ctx, zmq::socket_type::pub);
    pub.set(zmq::sockopt::linger, 0);
    pub.bind(o.xpub);
    std::atomic<bool> done{false};
    std::thread sniffer([&] {
        (void)run_sniff(o, c.env);
        done = true;
    });
    std::uint64_t seq = 0;
    while (!done) {
        const auto tick = encoded(env_of("md-1", ++seq), samples()[0].body);
        pub.send(zmq::str_buffer("md.tick.AAPL"), zmq::send_flags::sndmore);
        pub.send(zmq::buffer(tick));
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    sniffer.join();
}

}  // namespace

TEST_CASE("cli: sniff --stats --count ends with a final table") {
    captured c;
    sniff_options o;
    o.stats = true;
    o.count = 3;
    o.duration_s = 30;
    o.xpub = "inproc://cli-xpub-stats";
    sniff_ticks(c, o);
    CAPTURE(c.out.str());
    CHECK(contains(c.out.str(), "TOPIC"));
    CHECK(contains(c.out.str(), "3 messages"));
    CHECK(contains(c.out.str(), "md.tick.AAPL"));
    CHECK_FALSE(contains(c.out.str(), "\x1b["));  // not a TTY: plain blocks
}

TEST_CASE("cli: sniff --last with a broker that does not answer says so and follows live") {
    captured c;
    zmq::socket_t mute(c.ctx, zmq::socket_type::router);  // takes requests, never answers
    mute.set(zmq::sockopt::linger, 0);
    mute.bind("inproc://cli-control-mute");
    sniff_options o;
    o.last = true;
    o.json = true;
    o.count = 2;
    o.duration_s = 30;
    o.timeout_s = 0.2;
    o.xpub = "inproc://cli-xpub-last";
    o.control = "inproc://cli-control-mute";
    sniff_ticks(c, o);
    CHECK(contains(c.err.str(),
                   "--last: the broker at inproc://cli-control-mute did not answer "
                   "within 200 ms; following live messages only"));
    const std::string out = c.out.str();
    CHECK(std::count(out.begin(), out.end(), '\n') == 2);
    CHECK_FALSE(contains(out, "cached"));
}

// ------------------------------------------------------------------ journal

TEST_CASE("cli: --since/--until time arguments") {
    const std::int64_t now = 1'700'000'000'123'456'789;  // 2023-11-14 22:13:20.123 UTC
    const std::int64_t s = 1'000'000'000;
    struct row {
        const char* text;
        std::optional<std::int64_t> ns;
    };
    const row rows[] = {
        {"now", now},
        {"-90s", now - 90 * s},
        {"-10m", now - 600 * s},
        {"-2h", now - 7200 * s},
        {"-1d", now - 86'400 * s},
        {"@1700000000", 1'700'000'000 * s},
        {"@1700000000.5", 1'700'000'000 * s + 500'000'000},
        {"2023-11-14", 1'699'920'000 * s},
        {"2023-11-14T22:13", 1'699'999'980 * s},
        {"2023-11-14 22:13:20", 1'700'000'000 * s},
        {"2023-11-14T22:13:20.25Z", 1'700'000'000 * s + 250'000'000},
        {"22:13:20", 1'700'000'000 * s},  // today (UTC here)
        {"08:00", 1'699'948'800 * s},
        {"yesterday", std::nullopt},
        {"-10x", std::nullopt},
        {"-m", std::nullopt},
        {"2023-13-01", std::nullopt},
        {"2023-11-14T25:00", std::nullopt},
        {"2023-11-14T22:13:20 junk", std::nullopt},
        {"@", std::nullopt},
        {"", std::nullopt},
    };
    for (const auto& r : rows) {
        CAPTURE(r.text);
        CHECK(parse_time(r.text, now, true) == r.ns);
    }
}

namespace {
// A journal directory written by the journal's own writer, removed on scope exit.
struct journal_dir {
    std::filesystem::path path = std::filesystem::temp_directory_path() /
                                 ("tradebus-cli-journal-" + std::to_string(::getpid()));
    journal_dir() {
        std::filesystem::remove_all(path);
        journal::writer_options o;
        o.dir = path.string();
        o.fsync = journal::fsync_policy::none;
        journal::writer w(o);
        const auto& all = samples();
        std::int64_t t = 1'700'000'000'000'000'000;
        for (std::size_t i = 0; i < all.size(); ++i) {
            w.append(all[i].topic, encoded(env_of("n", i + 1), all[i].body), t += 1'000'000'000);
        }
        w.append("md.tick.AAPL",
                 journal::encode_gap_marker({.kind = "gap",
                                             .src = "md-1",
                                             .topic = "md.tick.AAPL",
                                             .expected_seq = 5,
                                             .got_seq = 9,
                                             .missing = 4}),
                 t += 1'000'000'000, journal::format::flags::gap_marker);
        w.append("md.tick.BAD", "\xc1", t += 1'000'000'000, journal::format::flags::undecodable);
    }
    ~journal_dir() { std::filesystem::remove_all(path); }
    [[nodiscard]] std::string segment() const {
        return (path / journal::format::segment_name(0)).string();
    }
};
}  // namespace

TEST_CASE("cli: journal cat prints records as sniff does, with gaps and filters") {
    journal_dir dir;
    captured c;
    CHECK(run_args(c, {"journal", "cat", "--dir", dir.path.string(), "--utc"}) == 0);
    auto lines = lines_of(c.out.str());
    CAPTURE(c.out.str());
    REQUIRE(lines.size() == samples().size() + 2);
    CHECK(lines[0] == "22:13:20.123 md.tick.AAPL             n#1                  " +
                          std::string(samples()[0].line));
    // The gap marker comes one second after the last sample (journal_dir).
    const std::int64_t gap_ns =
        1'700'000'000'000'000'000 + static_cast<std::int64_t>(samples().size() + 1) * 1'000'000'000;
    CHECK(lines[samples().size()] ==
          format_time(gap_ns, true) +
              " md.tick.AAPL             JOURNAL GAP          md-1 lost 4 (expected seq 5, got 9)");
    CHECK(contains(lines.back(), "md.tick.BAD              UNDECODABLE"));
    CHECK(contains(lines.back(), "[1 bytes] c1"));

    // JSON, a pattern, a time window and a count.
    captured j;
    CHECK(run_args(j, {"journal", "cat", "--dir", dir.path.string(), "--json", "md.>", "--since",
                       "@1700000002", "--count", "5"}) == 0);
    lines = lines_of(j.out.str());
    CAPTURE(j.out.str());
    // md.bar at +2 s, the gap marker, the undecodable record (the tick at +1 s is too early).
    REQUIRE(lines.size() == 3);
    CHECK(contains(lines[0], R"("topic":"md.bar.MSFT","v":1,"type":"bar")"));
    CHECK(lines[1] == R"({"topic":"md.tick.AAPL","type":"journal_gap","kind":"gap","src":"md-1",)"
                      R"("expected_seq":5,"got_seq":9,"missing":4,"recv_ts_ns":)" +
                          std::to_string(gap_ns) + "}");
    for (const auto& l : lines) CHECK(valid_json(l));

    captured w;
    CHECK(run_args(w, {"journal", "cat", "--dir", dir.path.string(), "--until", "@1700000003",
                       "--count", "1"}) == 0);
    CHECK(lines_of(w.out.str()).size() == 1);
}

TEST_CASE("cli: journal verify reports every damaged record with segment and offset") {
    journal_dir dir;
    captured ok;
    CHECK(run_args(ok, {"journal", "verify", "--dir", dir.path.string()}) == 0);
    CHECK(
        contains(ok.out.str(), "1 segments, " + std::to_string(samples().size() + 2) + " records"));
    CHECK(contains(ok.out.str(), ": clean"));

    // Flip a byte in the middle of the first record and tear the last one.
    const auto seg = dir.segment();
    std::string bytes;
    {
        std::ifstream in(seg, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    bytes[journal::format::header_bytes + 30] ^= 0x55;
    bytes.resize(bytes.size() - 3);
    std::ofstream(seg, std::ios::binary | std::ios::trunc) << bytes;

    captured bad;
    CHECK(run_args(bad, {"journal", "verify", "--dir", dir.path.string()}) == 1);
    CAPTURE(bad.out.str());
    const auto lines = lines_of(bad.out.str());
    REQUIRE(lines.size() == 3);
    CHECK(lines[0].rfind(seg + ":32: ", 0) == 0);
    CHECK(lines[1].rfind(seg + ":", 0) == 0);
    CHECK(contains(lines[2], "2 problems"));

    captured json;
    CHECK(run_args(json, {"journal", "verify", "--dir", dir.path.string(), "--json"}) == 1);
    CHECK(valid_json(lines_of(json.out.str()).at(0)));
    CHECK(contains(json.out.str(), R"("clean":false)"));
    CHECK(contains(json.out.str(), R"("offset":32,)"));

    // cat shows what it can, reports the damage on stderr and exits 1.
    captured cat;
    CHECK(run_args(cat, {"journal", "cat", "--dir", dir.path.string()}) == 1);
    CHECK(lines_of(cat.out.str()).size() == samples().size());
    CHECK(contains(cat.err.str(), seg + ":32: "));
    CHECK(contains(cat.err.str(), "2 damaged record(s) skipped"));

    captured missing;
    CHECK(run_args(missing, {"journal", "verify", "--dir", (dir.path / "nope").string()}) == 1);
    CHECK(contains(missing.err.str(), "cannot list journal directory"));
}

// ------------------------------------------------------------------ journal report / replay

namespace {
// Fixed point (1e-8 units).
constexpr std::int64_t px(std::int64_t whole) { return whole * 100'000'000; }

// A journal of one trading day (2023-11-14 UTC) and a fill the next day, written by the
// journal's own writer.
struct trading_journal {
    std::filesystem::path path = std::filesystem::temp_directory_path() /
                                 ("tradebus-cli-report-" + std::to_string(::getpid()));
    std::int64_t t = 1'700'000'000'000'000'000;  // 2023-11-14 22:13:20 UTC
    std::uint64_t seq = 0;
    std::optional<journal::writer> w;
    trading_journal() {
        std::filesystem::remove_all(path);
        journal::writer_options o;
        o.dir = path.string();
        o.fsync = journal::fsync_policy::none;
        w.emplace(o);
        const auto fill = [&](schema::side dir, std::int64_t qty, std::int64_t price) {
            add("exec.fill.AAPL", schema::fill{.order_id = "o",
                                               .fill_id = "f" + std::to_string(seq),
                                               .symbol = "AAPL",
                                               .dir = dir,
                                               .qty = qty,
                                               .px = px(price),
                                               .leaves_qty = 0});
        };
        fill(schema::side::buy, 10, 100);
        fill(schema::side::buy, 10, 110);
        const auto reject = [&](const char* rule) {
            add("risk.rejected.AAPL", schema::order_rejected{.symbol = "AAPL",
                                                             .dir = schema::side::buy,
                                                             .qty = 500,
                                                             .signal_src = "s",
                                                             .signal_id = 1,
                                                             .rule = rule,
                                                             .reason = "r"});
        };
        reject("max_order_qty");
        reject("halted");
        reject("max_order_qty");
        add("exec.reject.AAPL",
            schema::exec_reject{
                .order_id = "o", .symbol = "AAPL", .code = "no_quote", .reason = "r"});
        fill(schema::side::sell, 15, 120);
        add("sys.trading", schema::trading_state_changed{.state = schema::trading_state::halted,
                                                         .reason = "lunch",
                                                         .by = "op",
                                                         .symbol = "",
                                                         .strategy = ""});
        add("risk.state", schema::trading_state_changed{.state = schema::trading_state::active,
                                                        .reason = "",
                                                        .by = "risk",
                                                        .symbol = "",
                                                        .strategy = ""});
        fill(schema::side::sell, 10, 100);
        add("exec.fill.MSFT", schema::fill{.order_id = "m",
                                           .fill_id = "m1",
                                           .symbol = "MSFT",
                                           .dir = schema::side::sell,
                                           .qty = 3,
                                           .px = px(50),
                                           .leaves_qty = 0});
        w->append("md.tick.AAPL",
                  journal::encode_gap_marker({.kind = "gap",
                                              .src = "md-1",
                                              .topic = "md.tick.AAPL",
                                              .expected_seq = 5,
                                              .got_seq = 9,
                                              .missing = 4}),
                  t += 1'000'000'000, journal::format::flags::gap_marker);
        // The next day: buy back the short 5 at 90 (+50).
        t += 86'400'000'000'000;
        fill(schema::side::buy, 5, 90);
        w.reset();
    }
    void add(const std::string& topic, const schema::payload& body) {
        w->append(topic, encoded(env_of("n", ++seq), body), t += 1'000'000'000);
    }
    ~trading_journal() { std::filesystem::remove_all(path); }
};
}  // namespace

TEST_CASE("cli: journal report per day from a real journal") {
    trading_journal j;
    captured c;
    CHECK(run_args(c, {"journal", "report", "--dir", j.path.string(), "--utc", "--json"}) == 0);
    const std::string out = c.out.str();
    CAPTURE(out);
    CHECK(valid_json(lines_of(out).at(0)));
    CHECK(contains(out, R"({"day":"2023-11-14","records":12,"symbols":{"AAPL":{"fills":4,)"
                        R"("volume":45,"bought":20,"sold":25,"position":-5,"avg_px":10000000000,)"
                        R"("realized_pnl":20000000000},"MSFT":{"fills":1,"volume":3,"bought":0,)"
                        R"("sold":3,"position":-3,"avg_px":5000000000,"realized_pnl":0}},)"
                        R"("realized_pnl":20000000000,)"
                        R"("rejections_by_rule":{"halted":1,"max_order_qty":2},)"
                        R"("exec_rejects_by_code":{"no_quote":1},"trading":[)"));
    CHECK(contains(out, R"("topic":"sys.trading","state":"halted","by":"op","reason":"lunch"})"));
    CHECK(contains(out, R"("topic":"risk.state","state":"active","by":"risk","reason":""})"));
    CHECK(contains(out, R"("gaps":1,"missing":4,"restarts":0,"broker_restarts":0,"undecodable":0,)"
                        R"("misrouted":0})"));
    // The next day carries the short over: buying 5 back at 90 realizes +50.
    CHECK(contains(out, R"({"day":"2023-11-15","records":1,"symbols":{"AAPL":{"fills":1,)"
                        R"("volume":5,"bought":5,"sold":0,"position":0,"avg_px":0,)"
                        R"("realized_pnl":5000000000}})"));

    captured text;
    CHECK(run_args(text, {"journal", "report", "--dir", j.path.string(), "--utc", "--day",
                          "2023-11-14"}) == 0);
    const std::string t = text.out.str();
    CAPTURE(t);
    CHECK(contains(t, "== 2023-11-14 (UTC)"));
    CHECK_FALSE(contains(t, "2023-11-15"));
    CHECK(contains(t, "SYMBOL"));
    CHECK(contains(t, "REALIZED P&L"));
    bool aapl_row = false;
    for (const auto& l : lines_of(t)) {
        if (l.rfind("AAPL ", 0) == 0) {
            aapl_row = true;
            CHECK(contains(l, " -5 "));
            CHECK(contains(l, " 100.00 "));
            CHECK(l.ends_with(" 200.00"));
        }
    }
    CHECK(aapl_row);
    CHECK(contains(t, "risk rejections: 3 (halted 1, max_order_qty 2)"));
    CHECK(contains(t, "exec rejects: 1 (no_quote 1)"));
    CHECK(contains(t, "trading state: 1 halt(s), 1 resume(s)"));
    CHECK(contains(t, "sys.trading halted by op: lunch"));
    CHECK(contains(t, "journal gaps: 1 (4 messages lost), 0 publisher restart(s)"));

    captured none;
    CHECK(run_args(none, {"journal", "report", "--dir", j.path.string(), "--day", "1999-01-01"}) ==
          0);
    CHECK(contains(none.out.str(), "no records for that selection"));

    captured bad;
    CHECK(run_args(bad, {"journal", "report", "--dir", j.path.string(), "--day", "2023-13-01"}) ==
          2);
    CHECK(contains(bad.err.str(), "--day: expected YYYY-MM-DD"));
    captured missing;
    CHECK(run_args(missing, {"journal", "report", "--dir", (j.path / "nope").string()}) == 1);
}

TEST_CASE("cli: journal report groups by the desk's trading session, not the calendar day") {
    // New York sessions from 09:30: 2026-12-03 14:00 UTC is 09:00 there, still the session of
    // 12-02; 15:00 UTC (10:00) opens 12-03's, which runs into 12-04 until 14:30 UTC.
    const runtime::trading_session ny("America/New_York", "09:30");
    report_builder b(true, &ny);
    std::vector<std::string> bodies;
    bodies.reserve(8);
    std::uint64_t index = 0;
    const auto fill_at = [&](std::int64_t ts_ns, std::string id, schema::side dir) {
        bodies.push_back(encoded(env_of("x", index + 1), schema::fill{.order_id = "o",
                                                                      .fill_id = std::move(id),
                                                                      .symbol = "AAPL",
                                                                      .dir = dir,
                                                                      .qty = 10,
                                                                      .px = px(100),
                                                                      .leaves_qty = 0}));
        b.add(journal::record{++index, ts_ns, 0, "exec.fill.AAPL", bodies.back()});
    };
    constexpr std::int64_t dec3_0000_utc = 1'796'256'000'000'000'000;  // 2026-12-03 00:00 UTC
    constexpr std::int64_t hour = 3'600'000'000'000;
    fill_at(dec3_0000_utc + 14 * hour, "a", schema::side::buy);   // 12-02 session
    fill_at(dec3_0000_utc + 15 * hour, "b", schema::side::buy);   // 12-03 session
    fill_at(dec3_0000_utc + 26 * hour, "c", schema::side::sell);  // 12-04 02:00 UTC: still 12-03
    fill_at(dec3_0000_utc + 39 * hour, "d", schema::side::sell);  // 12-04 15:00 UTC: 12-04
    const auto days = b.days();
    REQUIRE(days.size() == 3);
    CHECK(days[0].day == "2026-12-02");
    CHECK(days[1].day == "2026-12-03");
    CHECK(days[2].day == "2026-12-04");
    CHECK(days[0].symbols.at("AAPL").fills == 1);
    CHECK(days[1].symbols.at("AAPL").fills == 2);  // across UTC midnight: one session
    CHECK(days[1].symbols.at("AAPL").position == 10);
    CHECK(days[2].symbols.at("AAPL").position == 0);
    CHECK(b.days("2026-12-03").size() == 1);
    const std::string text = format_report(days, "j", true, 0, &ny);
    CHECK_MESSAGE(contains(text, "== 2026-12-03 (session from 09:30 America/New_York)"), text);
    CHECK(contains(report_json(days, "j", true, 0, &ny), "\"session\":\"09:30 America/New_York\""));
    // Calendar UTC days would have split the 12-03 session in two.
    report_builder calendar(true);
    for (std::uint64_t i = 0; i < index; ++i) {
        calendar.add(journal::record{i + 1, dec3_0000_utc + std::array{14, 15, 26, 39}[i] * hour, 0,
                                     "exec.fill.AAPL", bodies[i]});
    }
    CHECK(calendar.days().size() == 2);
}

TEST_CASE("cli: journal report leaves out misrouted events, counts broker restarts it marked") {
    report_builder b(true);
    std::vector<std::string> bodies;  // the records view these
    bodies.reserve(16);
    std::uint64_t index = 0;
    const auto add = [&](std::string_view topic, std::string body, std::uint16_t flags = 0) {
        bodies.push_back(std::move(body));
        b.add(journal::record{++index, 1'700'000'000'000'000'000, flags, topic, bodies.back()});
    };
    const auto ev = [](const schema::payload& body) { return encoded(env_of("x", 1), body); };
    const schema::fill f{.order_id = "o",
                         .fill_id = "f1",
                         .symbol = "AAPL",
                         .dir = schema::side::buy,
                         .qty = 10,
                         .px = px(100),
                         .leaves_qty = 0};
    const schema::broker_started forged{.epoch = 99,
                                        .version = "0",
                                        .xsub_endpoint = "",
                                        .xpub_endpoint = "",
                                        .control_endpoint = ""};
    const schema::trading_state_changed halt{.state = schema::trading_state::halted,
                                             .reason = "forged",
                                             .by = "operator",
                                             .symbol = "",
                                             .strategy = ""};
    // Where their types belong: counted.
    add("exec.fill.AAPL", ev(f));
    add("risk.state", ev(halt));
    add("sys.broker.started", ev(forged));  // an event: the broker's own; no restart by itself
    // Where they do not (as anyone can publish them, or a replay under a prefix): left out.
    add("md.tick.AAPL", ev(f));
    add("replay.exec.fill.AAPL", ev(f));
    add("strategy.signal.AAPL", ev(halt));
    add("md.tick.AAPL", ev(forged));
    add("sys.probe.risk", ev(forged));
    // The journal's own broker_restart marker counts; one under another topic is no such one.
    const auto marker = journal::encode_gap_marker({.kind = "broker_restart",
                                                    .src = "",
                                                    .topic = "sys.broker.started",
                                                    .expected_seq = 0,
                                                    .got_seq = 0,
                                                    .missing = 0,
                                                    .old_epoch = 1,
                                                    .new_epoch = 2});
    add("sys.broker.started", marker, journal::format::flags::gap_marker);
    add("md.tick.AAPL", marker, journal::format::flags::gap_marker);

    const auto days = b.days();
    REQUIRE(days.size() == 1);
    const auto& d = days[0];
    CHECK(d.records == 10);
    CHECK(d.misrouted == 5);
    CHECK(d.broker_restarts == 1);
    CHECK(d.undecodable == 1);
    REQUIRE(d.symbols.count("AAPL") == 1);
    CHECK(d.symbols.at("AAPL").fills == 1);
    CHECK(d.symbols.at("AAPL").position == 10);
    REQUIRE(d.trading.size() == 1);
    CHECK(d.trading[0].topic == "risk.state");
    const auto text = format_report(days, "j", true, 0);
    CAPTURE(text);
    CHECK(contains(text, "1 broker restart(s), 1 undecodable, 5 misrouted"));
    CHECK(contains(report_json(days, "j", true, 0), R"("broker_restarts":1,"undecodable":1,)"
                                                    R"("misrouted":5})"));
}

namespace {
using bus_messages = std::vector<std::pair<std::string, std::string>>;

// Runs `tradebus <args> --xsub <endpoint>` on a thread against a SUB bound at `endpoint`
// (standing in for the broker's XSUB), serviced meanwhile by this thread: a socket only
// sends its subscriptions (and takes messages) when its own thread calls into it.
int replay_into(captured& c, std::vector<std::string> args, const std::string& endpoint,
                bus_messages& got) {
    zmq::socket_t sub(c.ctx, zmq::socket_type::sub);
    sub.set(zmq::sockopt::subscribe, "");
    sub.set(zmq::sockopt::rcvtimeo, 50);
    sub.bind(endpoint);
    args.insert(args.end(), {"--xsub", endpoint});
    std::atomic<bool> done{false};
    int rc = -1;
    std::thread runner([&] {
        rc = run_args(c, args);
        done = true;
    });
    zmq::message_t topic, body;
    int idle_after_done = 0;
    while (idle_after_done < 4) {
        if (sub.recv(topic)) {
            if (!topic.more() || !sub.recv(body)) break;
            got.emplace_back(topic.to_string(), body.to_string());
        } else if (done) {
            ++idle_after_done;
        }
    }
    runner.join();
    return rc;
}
}  // namespace

TEST_CASE("cli: journal replay republishes bodies byte for byte, skipping gaps and sys.*") {
    journal_dir dir;
    const auto& all = samples();
    captured c;
    bus_messages got;
    CHECK(replay_into(c, {"journal", "replay", "--dir", dir.path.string(), "--speed", "0"},
                      "inproc://replay-all", got) == 0);
    CAPTURE(c.out.str());
    CAPTURE(c.err.str());
    std::vector<std::pair<std::string, std::string>> want;
    for (std::size_t i = 0; i < all.size(); ++i) {
        if (std::string_view(all[i].topic).starts_with("sys.")) continue;
        want.emplace_back(all[i].topic, encoded(env_of("n", i + 1), all[i].body));
    }
    CHECK(want.size() == 17);
    CHECK(got == want);  // original topics, bodies (and so src/seq) exactly as journaled
    CHECK(contains(c.out.str(), "replayed 17 record(s)"));
    CHECK(contains(c.out.str(), "1 gap marker(s), 1 undecodable, 9 sys.*"));
}

TEST_CASE("cli: journal replay --prefix, patterns, --count, --since/--until and sys.*") {
    journal_dir dir;
    const auto& all = samples();
    {
        captured c;
        bus_messages got;
        CHECK(replay_into(c,
                          {"journal", "replay", "--dir", dir.path.string(), "--speed", "0",
                           "--prefix", "replay.", "exec.>", "--count", "2"},
                          "inproc://replay-prefix", got) == 0);
        REQUIRE(got.size() == 2);
        CHECK(got[0].first == "replay.exec.ack.AAPL");
        CHECK(got[1].first == "replay.exec.fill.AAPL");
        CHECK(got[1].second == encoded(env_of("n", 7), all[6].body));
    }
    {  // A prefix moves sys.* out of sys.: they are replayed.
        captured c;
        bus_messages got;
        CHECK(replay_into(c,
                          {"journal", "replay", "--dir", dir.path.string(), "--speed", "0",
                           "--prefix", "replay.", "sys."},
                          "inproc://replay-sys", got) == 0);
        REQUIRE(got.size() == 9);
        CHECK(got[0].first == "replay.sys.node.health");
        CHECK(got[4].first == "replay.sys.probe.strategy-1");
        CHECK(got[5].first == "replay.sys.acl.violation");
        CHECK(got[6].first == "replay.sys.recorder.gap");
        CHECK(got[7].first == "replay.sys.cancel");
        CHECK(got[8].first == "replay.sys.flatten");
        CHECK(contains(c.out.str(), "0 sys.*"));
    }
    {  // Without one they are skipped and counted.
        captured c;
        bus_messages got;
        CHECK(replay_into(c,
                          {"journal", "replay", "--dir", dir.path.string(), "--speed", "0", "sys."},
                          "inproc://replay-nosys", got) == 0);
        CHECK(got.empty());
        CHECK(contains(c.out.str(), "replayed 0 record(s)"));
        CHECK(contains(c.out.str(), "9 sys.*"));
    }
    {  // A time window, at 4x the recorded pace: 3 records 1 s apart take about 0.5 s.
        captured c;
        bus_messages got;
        const auto start = std::chrono::steady_clock::now();
        CHECK(replay_into(c,
                          {"journal", "replay", "--dir", dir.path.string(), "--speed", "4",
                           "--since", "@1700000002", "--until", "@1700000005"},
                          "inproc://replay-window", got) == 0);
        const auto elapsed = std::chrono::steady_clock::now() - start;
        REQUIRE(got.size() == 3);
        CHECK(got[0].first == "md.bar.MSFT");
        CHECK(got[2].first == "risk.approved.AAPL");
        CHECK(elapsed >= std::chrono::milliseconds(450));
    }
}

TEST_CASE("cli: journal replay errors: no subscriber, bad arguments") {
    journal_dir dir;
    captured c;
    CHECK(run_args(c, {"journal", "replay", "--dir", dir.path.string(), "--xsub",
                       "inproc://replay-nobody", "--settle", "0.2"}) == 1);
    CHECK(contains(c.err.str(), "no subscription arrived from inproc://replay-nobody"));
    CHECK(contains(c.err.str(), "Nothing was sent"));
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{"journal", "replay", "--prefix", "bad prefix"},
          std::vector<std::string>{"journal", "replay", "--speed", "-1"},
          std::vector<std::string>{"journal", "replay", "--xsub", "nonsense"},
          std::vector<std::string>{"journal", "replay", "--since", "10:00", "--until", "09:00"}}) {
        captured bad;
        CHECK(run_args(bad, args) == 2);
    }
    captured help;
    CHECK(run_args(help, {"journal", "replay", "--help"}) == 0);
    CHECK(contains(help.out.str(), "sys.*"));
    CHECK(contains(help.out.str(), "original src"));
}

TEST_CASE("test support: the JSON checker accepts RFC 8259 text and refuses the rest") {
    for (const char* ok : {"{}", "[]", "0", "-0.5e+3", "\"a\\u00e9\\n\"", "{\"a\":[1,true,null]}",
                           " {\"k\" : \"v\" } "}) {
        CAPTURE(ok);
        CHECK(valid_json(ok));
    }
    for (const char* bad :
         {"", "01", "1.", "{\"a\":}", "[1,]", "\"\x01\"", "\"\\x\"", "tru", "{} {}", "{'a':1}"}) {
        CAPTURE(bad);
        CHECK_FALSE(valid_json(bad));
    }
}
