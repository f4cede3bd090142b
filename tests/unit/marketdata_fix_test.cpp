// marketdata, source = "fix": the FIX -> tick translation (fix_quote_book: snapshots,
// incremental new/change/delete, trades, everything it refuses, staleness), the node logic
// driven without an engine (the MarketDataRequest it sends, ticks, health), and the config.
#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "recording_context.hpp"
#include "tradebus/fix/config.hpp"
#include "tradebus/fix/wire.hpp"
#include "tradebus/marketdata/fix_source.hpp"
#include "tradebus/marketdata/marketdata_node.hpp"
#include "tradebus/schema/topics.hpp"

using namespace tradebus;
using namespace tradebus::marketdata;

namespace {

constexpr std::int64_t ms = 1'000'000;
constexpr std::int64_t t0 = 1'700'000'000'000'000'000;  // 2023-11-14T22:13:20Z
constexpr std::int64_t px = schema::price_scale;

// A whole message of `type` from the venue with `body` (SOH written as '|' for readability).
std::string venue_text(std::string_view type, std::string body,
                       std::string sending = "20231114-22:13:20.000") {
    for (auto& c : body) {
        if (c == '|') c = fix::soh;
    }
    std::string inner = "35=" + std::string(type) + "\x01" + "49=VENUE\x01" + "56=MD\x01" +
                        "34=2\x01" + "52=" + sending + "\x01" + body;
    std::string text =
        "8=FIX.4.4\x01" + std::string("9=") + std::to_string(inner.size()) + "\x01" + inner;
    unsigned sum = 0;
    for (char c : text) sum += static_cast<unsigned char>(c);
    char trailer[8];
    std::snprintf(trailer, sizeof trailer, "10=%03u\x01", sum % 256);
    return text + trailer;
}

fix::message venue(std::string_view type, std::string body) {
    std::string error;
    auto m = fix::message::parse(venue_text(type, std::move(body)), error);
    REQUIRE_MESSAGE(m.has_value(), error);
    return *m;
}

const std::string aapl_snapshot =
    "262=md-1|55=AAPL|268=3|269=0|270=189.5|271=100|269=1|270=189.52|271=200|"
    "269=2|270=189.51|271=40|";

// Loads [marketdata] from TOML text (file "md.toml"); returns the config and the error lines.
std::pair<marketdata_config, std::string> load(const std::string& toml_text) {
    common::config_errors errors("md.toml");
    auto tbl = toml::parse(toml_text);
    common::section root(&tbl, "", errors);
    auto own = root.table("marketdata");
    auto cfg = read_config(own);
    own.finish();
    std::string all;
    for (const auto& e : errors.lines()) all += e + "\n";
    return {cfg, all};
}

marketdata_config fix_cfg() {
    marketdata_config c;
    c.source = "fix";
    c.fix.symbols = {"AAPL", "MSFT"};
    c.fix.stale_after_ms = 5000;
    return c;
}

}  // namespace

TEST_CASE("marketdata fix: the MarketDataRequest asks for bid, offer and trade of each symbol") {
    fix_quote_book book({"AAPL", "MSFT"});
    std::string body = book.request_body("md-7");
    for (auto& c : body) {
        if (c == fix::soh) c = '|';
    }
    CHECK(body == "262=md-7|263=1|264=1|265=1|267=3|269=0|269=1|269=2|146=2|55=AAPL|55=MSFT|");
}

TEST_CASE("marketdata fix: a snapshot replaces the book and gives one tick") {
    fix_quote_book book({"AAPL", "MSFT"});
    book.reset(t0);
    const auto r = book.apply(venue("W", aapl_snapshot), t0 + 5 * ms);
    CHECK(r.problems.empty());
    REQUIRE(r.ticks.size() == 1);
    const auto& t = r.ticks[0];
    CHECK(t.symbol == "AAPL");
    CHECK(t.bid_px == 18950000000);
    CHECK(t.bid_qty == 100);
    CHECK(t.ask_px == 18952000000);
    CHECK(t.ask_qty == 200);
    CHECK(t.last_px == 18951000000);
    CHECK(t.last_qty == 40);
    CHECK(t.exch_ts_ns == t0);  // SendingTime
    CHECK(book.counters().snapshots == 1);
    CHECK(book.counters().entries == 3);

    // A second snapshot without a trade: the book is replaced, the tick carries no trade.
    const auto r2 = book.apply(
        venue("W", "55=AAPL|268=1|269=0|270=189.4|271=10|272=20231114|273=22:13:21.250|"),
        t0 + 6 * ms);
    REQUIRE(r2.ticks.size() == 1);
    CHECK(r2.ticks[0].bid_px == 18940000000);
    CHECK(r2.ticks[0].ask_px == 0);
    CHECK(r2.ticks[0].ask_qty == 0);
    CHECK(r2.ticks[0].last_qty == 0);
    CHECK(r2.ticks[0].exch_ts_ns == t0 + 1'250 * ms);  // MDEntryDate + MDEntryTime
}

TEST_CASE("marketdata fix: incremental new, change and delete move the top of book") {
    fix_quote_book book({"AAPL", "MSFT"});
    book.reset(t0);
    (void)book.apply(venue("W", aapl_snapshot), t0);

    // change the bid, new MSFT offer: one tick per symbol, in the order first changed
    auto r = book.apply(venue("X",
                              "268=3|279=1|269=0|55=AAPL|270=189.49|271=300|"
                              "279=0|269=1|55=MSFT|270=417.1|271=5|"
                              "279=1|269=1|55=AAPL|270=189.53|271=7|"),
                        t0 + ms);
    CHECK(r.problems.empty());
    REQUIRE(r.ticks.size() == 2);
    CHECK(r.ticks[0].symbol == "AAPL");
    CHECK(r.ticks[0].bid_px == 18949000000);
    CHECK(r.ticks[0].bid_qty == 300);
    CHECK(r.ticks[0].ask_px == 18953000000);
    CHECK(r.ticks[0].ask_qty == 7);
    CHECK(r.ticks[0].last_qty == 0);  // no trade in this message
    CHECK(r.ticks[1].symbol == "MSFT");
    CHECK(r.ticks[1].bid_px == 0);
    CHECK(r.ticks[1].ask_px == 41710000000);
    CHECK(r.ticks[1].ask_qty == 5);

    // delete the AAPL offer: that side is 0 / 0
    r = book.apply(venue("X", "268=1|279=2|269=1|55=AAPL|"), t0 + 2 * ms);
    REQUIRE(r.ticks.size() == 1);
    CHECK(r.ticks[0].ask_px == 0);
    CHECK(r.ticks[0].ask_qty == 0);
    CHECK(r.ticks[0].bid_px == 18949000000);
    CHECK(book.book("AAPL")->ask_px == 0);
    CHECK(book.counters().incrementals == 2);
    CHECK(book.counters().entries == 3 + 4);
}

TEST_CASE("marketdata fix: a trade entry prints last_px and last_qty once") {
    fix_quote_book book({"AAPL"});
    book.reset(t0);
    (void)book.apply(venue("W", aapl_snapshot), t0);
    auto r = book.apply(venue("X", "268=1|279=0|269=2|55=AAPL|270=189.52|271=25|"), t0 + ms);
    REQUIRE(r.ticks.size() == 1);
    CHECK(r.ticks[0].last_px == 18952000000);
    CHECK(r.ticks[0].last_qty == 25);
    CHECK(r.ticks[0].bid_px == 18950000000);  // the book stays
    CHECK(r.ticks[0].ask_px == 18952000000);
    // the next quote change carries no trade
    r = book.apply(venue("X", "268=1|279=1|269=0|55=AAPL|270=189.51|271=5|"), t0 + 2 * ms);
    REQUIRE(r.ticks.size() == 1);
    CHECK(r.ticks[0].last_px == 0);
    CHECK(r.ticks[0].last_qty == 0);
    CHECK(book.book("AAPL")->last_px == 18952000000);  // remembered
}

TEST_CASE("marketdata fix: bad group counts, prices, types and unknown symbols publish nothing") {
    fix_quote_book book({"AAPL"});
    book.reset(t0);
    (void)book.apply(venue("W", aapl_snapshot), t0);
    const schema::tick before = *book.book("AAPL");

    struct bad_case {
        const char* what;
        const char* type;
        const char* body;
        bool unknown;
    };
    const bad_case cases[] = {
        {"count too high", "X", "268=2|279=1|269=0|55=AAPL|270=189.49|271=300|", false},
        {"count too low", "W", "55=AAPL|268=1|269=0|270=1|271=1|269=1|270=2|271=1|", false},
        {"count missing", "X", "279=1|269=0|55=AAPL|270=189.49|271=300|", false},
        {"bad price", "X", "268=1|279=1|269=0|55=AAPL|270=abc|271=300|", false},
        {"negative price", "X", "268=1|279=1|269=0|55=AAPL|270=-1|271=300|", false},
        {"zero price", "W", "55=AAPL|268=1|269=0|270=0|271=300|", false},
        {"fractional size", "X", "268=1|279=0|269=1|55=AAPL|270=189.6|271=1.5|", false},
        {"zero-size trade", "X", "268=1|279=0|269=2|55=AAPL|270=189.6|271=0|", false},
        {"unknown entry type", "X", "268=1|279=0|269=7|55=AAPL|270=189.6|271=3|", false},
        {"unknown action", "X", "268=1|279=5|269=0|55=AAPL|270=189.6|271=3|", false},
        {"no symbol", "X", "268=1|279=0|269=0|270=189.6|271=3|", false},
        {"a bad entry in a snapshot", "W", "55=AAPL|268=2|269=0|270=189.6|271=3|269=1|270=x|271=3|",
         false},
        {"unknown symbol (X)", "X", "268=1|279=0|269=0|55=TSLA|270=250|271=3|", true},
        {"unknown symbol (W)", "W", "55=TSLA|268=1|269=0|270=250|271=3|", true},
    };
    std::uint64_t malformed = 0, unknown = 0;
    for (const auto& c : cases) {
        CAPTURE(c.what);
        const auto r = book.apply(venue(c.type, c.body), t0 + ms);
        CHECK(r.ticks.empty());
        CHECK(r.problems.size() == 1);
        (c.unknown ? unknown : malformed) += 1;
        CHECK(book.counters().malformed == malformed);
        CHECK(book.counters().unknown_symbol == unknown);
        const schema::tick& now = *book.book("AAPL");
        CHECK(now.bid_px == before.bid_px);
        CHECK(now.ask_px == before.ask_px);
        CHECK(now.bid_qty == before.bid_qty);
    }

    // In an incremental refresh a bad entry is refused alone; the good one applies.
    const auto r = book.apply(venue("X",
                                    "268=2|279=1|269=0|55=AAPL|270=oops|271=1|"
                                    "279=1|269=1|55=AAPL|270=189.7|271=9|"),
                              t0 + 2 * ms);
    CHECK(book.counters().malformed == malformed + 1);
    REQUIRE(r.ticks.size() == 1);
    CHECK(r.ticks[0].ask_px == 18970000000);
    CHECK(r.ticks[0].bid_px == before.bid_px);
}

TEST_CASE("marketdata fix: a symbol without updates for stale_after_ms is stale") {
    fix_quote_book book({"AAPL", "MSFT"});
    book.reset(t0);
    const std::int64_t after = 5000 * ms;
    CHECK(book.stale(t0 + after, after).empty());  // not more than stale_after yet
    (void)book.apply(venue("W", aapl_snapshot), t0 + 3000 * ms);
    auto s = book.stale(t0 + 5001 * ms, after);
    REQUIRE(s.size() == 1);
    CHECK(s[0].first == "MSFT");
    CHECK(s[0].second == 5001 * ms);
    s = book.stale(t0 + 8001 * ms, after);
    CHECK(s.size() == 2);
    (void)book.apply(venue("X", "268=1|279=0|269=1|55=MSFT|270=417|271=1|"), t0 + 8001 * ms);
    s = book.stale(t0 + 8002 * ms, after);
    REQUIRE(s.size() == 1);
    CHECK(s[0].first == "AAPL");
    book.reset(t0 + 9000 * ms);  // a new logon restarts every clock
    CHECK(book.stale(t0 + 9000 * ms + after, after).empty());
}

TEST_CASE("marketdata fix: the node subscribes at each logon, publishes ticks and reports health") {
    recording_context ctx;
    ctx.now = t0;
    marketdata_node node(fix_cfg());
    std::vector<std::pair<std::string, std::string>> sent;
    node.set_fix_sender([&](const std::string& type, const std::string& body, std::string&) {
        sent.emplace_back(type, body);
        return true;
    });
    node.on_start(ctx);
    REQUIRE_FALSE(ctx.health.empty());
    CHECK(ctx.health.back().first == schema::health::degraded);
    CHECK(ctx.health.back().second == "venue disconnected");

    node.fix_session(ctx, true);
    REQUIRE(sent.size() == 1);
    CHECK(sent[0].first == "V");
    CHECK(sent[0].second.find("146=2\x01"
                              "55=AAPL\x01"
                              "55=MSFT\x01") != std::string::npos);
    CHECK(ctx.health.back().first == schema::health::healthy);

    // the snapshot answers the current request (a W for another MDReqID is dropped)
    node.fix_message(ctx, venue_text("W", "262=" + node.md_req_id() +
                                              aapl_snapshot.substr(aapl_snapshot.find('|'))));
    node.fix_message(ctx, venue_text("X", "268=1|279=1|269=0|55=AAPL|270=189.49|271=300|"));
    const auto ticks = ctx.of<schema::tick>();
    REQUIRE(ticks.size() == 2);
    CHECK(ticks[0].first->topic == "md.tick.AAPL");
    CHECK(ticks[0].second->bid_px == 18950000000);
    CHECK(ticks[1].second->bid_px == 18949000000);
    CHECK(ticks[1].second->ask_px == 18952000000);
    CHECK(ticks[0].first->ev.env.trace_id != ticks[1].first->ev.env.trace_id);
    CHECK(node.ticks_published() == 2);

    // unknown symbol and malformed: counted, nothing published
    node.fix_message(ctx, venue_text("X", "268=1|279=1|269=0|55=TSLA|270=1|271=1|"));
    node.fix_message(ctx, venue_text("X", "268=2|279=1|269=0|55=AAPL|270=1|271=1|"));
    node.fix_message(ctx, "8=FIX.4.4\x01garbage");
    CHECK(ctx.of<schema::tick>().size() == 2);
    CHECK(node.fix_book()->counters().unknown_symbol == 1);
    CHECK(node.fix_book()->counters().malformed == 1);

    // MSFT never quoted: stale once stale_after_ms has passed since the logon
    ctx.now = t0 + 4000 * ms;
    node.fix_message(ctx, venue_text("X", "268=1|279=1|269=1|55=AAPL|270=189.6|271=1|"));
    ctx.now = t0 + 5100 * ms;
    const std::int64_t next = node.on_timer(ctx, ctx.now);
    CHECK(next > ctx.now);
    CHECK(next <= ctx.now + 500 * ms);
    CHECK(ctx.health.back().first == schema::health::degraded);
    CHECK(ctx.health.back().second == "market data stale: MSFT for 5.1 s");
    const auto reports = ctx.health.size();
    ctx.now = t0 + 5600 * ms;
    (void)node.on_timer(ctx, ctx.now);
    CHECK(ctx.health.size() == reports);  // the same problem is not reported again
    ctx.now = t0 + 9500 * ms;
    (void)node.on_timer(ctx, ctx.now);
    CHECK(ctx.health.back().second == "market data stale: AAPL for 5.5 s, MSFT for 9.5 s");
    node.fix_message(ctx, venue_text("X",
                                     "268=2|279=0|269=1|55=MSFT|270=417|271=1|"
                                     "279=1|269=1|55=AAPL|270=189.6|271=2|"));
    CHECK(ctx.health.back().first == schema::health::healthy);

    // resent data and answers to an earlier request are dropped unread
    const std::string req_id = node.md_req_id();
    CHECK(req_id == "md-1700000000000000000-1");
    node.fix_message(ctx, venue_text("X", "262=md-0|268=1|279=1|269=0|55=AAPL|270=1|271=1|"));
    node.fix_message(ctx, venue_text("Y", "262=md-0|281=0|"));
    node.fix_message(ctx, venue_text("X", "43=Y|268=1|279=1|269=0|55=AAPL|270=1|271=1|"));
    CHECK(node.md_dropped() == 3);
    CHECK(node.md_rejects() == 0);
    CHECK(ctx.health.back().first == schema::health::healthy);
    CHECK(node.fix_book()->book("AAPL")->bid_px == 18949000000);

    // a rejected request: degraded with the reason, until the next logon
    node.fix_message(ctx, venue_text("Y", "262=" + req_id + "|281=3|58=not entitled|"));
    CHECK(node.md_rejects() == 1);
    CHECK(ctx.health.back().first == schema::health::degraded);
    CHECK(ctx.health.back().second ==
          "market data request rejected: insufficient permissions (3): not entitled");

    node.fix_session(ctx, false);
    CHECK(ctx.health.back().second == "venue disconnected");
    node.fix_session(ctx, true);  // subscribes again, with a new MDReqID
    REQUIRE(sent.size() == 2);
    CHECK(sent[1].first == "V");
    CHECK(sent[1].second.substr(0, sent[1].second.find('\x01')) !=
          sent[0].second.substr(0, sent[0].second.find('\x01')));
    CHECK(ctx.health.back().first == schema::health::healthy);
    CHECK(node.fix_book()->book("AAPL")->bid_px == 0);  // cleared: the next snapshot is all
}

TEST_CASE("marketdata fix: config reads [marketdata.fix] and reports bad values with positions") {
    auto [good, none] = load(R"(
[marketdata]
source = "fix"
[marketdata.fix]
sender_comp_id = "TB-MD"
target_comp_id = "VENUE"
port = 9878
store_dir = "/tmp/md-store"
symbols = ["AAPL", "MSFT"]
stale_after_ms = 2500
)");
    CHECK(none == "");
    CHECK(good.source == "fix");
    CHECK(good.fix.symbols == std::vector<std::string>{"AAPL", "MSFT"});
    CHECK(good.fix.stale_after_ms == 2500);
    CHECK(good.fix.session.port == 9878);
    CHECK(good.fix.session.sender_comp_id == "TB-MD");
    CHECK_FALSE(good.fix.session.acceptor);
    CHECK(good.fix.session.data_dictionary == fix::default_dictionary());

    auto [bad, errors] = load(R"(
[marketdata]
source = "fix"
[marketdata.fix]
sender_comp_id = "TB MD"
target_comp_id = "VENUE"
port = 70000
store_dir = "/tmp/md-store"
symbols = ["AAPL", "bad symbol!", "AAPL"]
stale_after_ms = 0
)");
    CAPTURE(errors);
    CHECK(errors.find("md.toml:5:18: marketdata.fix.sender_comp_id:") != std::string::npos);
    CHECK(errors.find("md.toml:7:8: marketdata.fix.port:") != std::string::npos);
    CHECK(errors.find("md.toml:9:11: marketdata.fix.symbols: expected symbols of 1..32") !=
          std::string::npos);
    CHECK(errors.find("symbol AAPL is listed twice") != std::string::npos);
    CHECK(errors.find("md.toml:10:18: marketdata.fix.stale_after_ms:") != std::string::npos);

    auto [missing, errs2] = load("[marketdata]\nsource = \"fix\"\n");
    CHECK(errs2.find("marketdata.fix") != std::string::npos);
    auto [no_syms, errs3] = load(R"(
[marketdata]
source = "fix"
[marketdata.fix]
sender_comp_id = "TB-MD"
target_comp_id = "VENUE"
port = 9878
store_dir = "/tmp/md-store"
)");
    CHECK(errs3.find("marketdata.fix.symbols: expected at least one symbol") != std::string::npos);
}
