// `tradebus journal report` and `tradebus journal replay` against a journal the real journal
// node wrote: the whole pipeline (tests/integration/support/pipeline) trades for a few seconds
// with limits that reject some signals, then
//   - report --json must give, per symbol, the fills, volume and realized P&L the test
//     computes itself from the journaled fills (and risk's last position update agrees), and
//     the rejections by rule counted from the journaled rejections;
//   - replay --prefix replay. --speed max into the live broker must deliver every journaled
//     event under replay.<topic>, byte for byte, in journal order.
#include <doctest/doctest.h>

#ifdef TRADEBUS_EXE_TRADEBUS

#include <cmath>
#include <map>

#include "bus_clients.hpp"
#include "cli_runner.hpp"
#include "fill_book.hpp"
#include "pipeline.hpp"
#include "tradebus/journal/reader.hpp"
#include "tradebus/schema/codec.hpp"
#include "tradebus/schema/topics.hpp"

using namespace tradebus;
using namespace tradebus::test;
using namespace std::chrono_literals;

namespace {

struct journaled {
    std::string topic, body;
    schema::event ev;
};

// Runs the pipeline (quotes at 100/s, a signal on each, 5 approvals/s, a tiny MSFT position
// limit) until fills and rejections have both happened, then stops it source first, so every
// order in flight lands in the journal. The broker stays up.
void trade_a_while(zmq::context_t& ctx, pipeline& p) {
    const std::map<std::string, std::string> own = {
        {"journal", "[journal]\ndir = \"" + p.journal_dir.string() + "\"\nfsync = \"none\"\n"},
        {"marketdata",
         "[marketdata]\nsource = \"synthetic\"\nbar_interval_ms = 500\n"
         "[marketdata.synthetic]\nrate_per_sec = 100.0\nseed = 11\n"
         "[marketdata.synthetic.symbols.AAPL]\nstart_px = 171.0\n"
         "[marketdata.synthetic.symbols.MSFT]\nstart_px = 417.0\n"},
        {"execution", "[execution]\nslippage_bps = 1.0\npartial_fills = false\n"},
        {"risk",
         "[risk]\nallowed_symbols = [\"AAPL\", \"MSFT\"]\nmax_order_qty = 100\n"
         "max_position = 300\nmax_gross_notional = 1000000.0\nmax_daily_loss = 100000.0\n"
         "max_orders_per_sec = 5\nprice_band_bps = 100.0\nstale_quote_ms = 2000\n"
         "position_interval_ms = 200\n[risk.symbols.MSFT]\nmax_position = 10\n"},
        {"strategy",
         "[strategy]\ntrade_symbols = [\"AAPL\", \"MSFT\"]\nsignal_every_tick = true\n"
         "order_qty = 20\n"},
    };
    // Watches the outcomes: trading goes on until both fills and rejections have happened.
    subscriber outcomes(
        ctx, p.broker.xpub,
        {std::string(schema::topics::exec_fill), std::string(schema::topics::rejected)});
    for (const auto& kind : pipeline_kinds) {
        p.configure(kind, own.at(kind));
        p.start(kind);
    }
    (void)p.wait_healthy(pipeline_kinds, 30s);
    std::size_t fills = 0, rejections = 0;
    const auto guard = std::chrono::steady_clock::now() + 20s;
    while ((fills < 10 || rejections < 10) && std::chrono::steady_clock::now() < guard) {
        if (auto m = outcomes.recv(100ms)) {
            ++(m->topic.starts_with(schema::topics::exec_fill) ? fills : rejections);
        }
    }
    REQUIRE_MESSAGE(fills >= 10, "only " << fills << " fills within 20 s");
    REQUIRE_MESSAGE(rejections >= 10, "only " << rejections << " rejections within 20 s");
    // Sources first; then, once no order outcome has come for 500 ms, the rest.
    CHECK(p.stop("strategy") == 0);
    CHECK(p.stop("marketdata") == 0);
    auto quiet_since = std::chrono::steady_clock::now();
    const auto drain_guard = quiet_since + 5s;
    while (std::chrono::steady_clock::now() - quiet_since < 500ms &&
           std::chrono::steady_clock::now() < drain_guard) {
        if (outcomes.recv(50ms)) quiet_since = std::chrono::steady_clock::now();
    }
    for (const char* kind : {"risk", "execution", "journal"}) CHECK(p.stop(kind) == 0);
}

std::vector<journaled> read_journal(const std::filesystem::path& dir) {
    std::vector<journaled> out;
    journal::reader reader(dir.string());
    while (const auto* item = reader.next()) {
        REQUIRE(item->what != journal::read_item::status::corrupt);
        auto ev = schema::decode_event(item->rec.body);
        if (!ev) continue;  // gap markers
        out.push_back(
            {std::string(item->rec.topic), std::string(item->rec.body), std::move(ev).value()});
    }
    return out;
}

// The part of `json` from "key":{ on (for per-symbol numbers).
std::string_view object_at(std::string_view json, std::string_view key) {
    const auto at = json.find("\"" + std::string(key) + "\":{");
    REQUIRE_MESSAGE(at != std::string_view::npos, "no \"" << key << "\" object in " << json);
    return json.substr(at);
}

}  // namespace

TEST_CASE("journal cli: report --json matches the fills and rejections the journal holds") {
    zmq::context_t ctx;
    temp_dir dir;
    pipeline p(ctx, dir);
    trade_a_while(ctx, p);
    const auto records = read_journal(p.journal_dir);

    // What the test computes: per symbol fills, volume and average-cost realized P&L; the
    // rejections by rule; and risk's last position update per symbol.
    std::map<std::string, fill_book> books;
    std::map<std::string, std::uint64_t> rejections;
    std::map<std::string, schema::position> last_position;
    for (const auto& r : records) {
        if (const auto* f = std::get_if<schema::fill>(&r.ev.body)) {
            books[f->symbol].add(*f);
        } else if (const auto* rej = std::get_if<schema::order_rejected>(&r.ev.body)) {
            ++rejections[rej->rule];
        } else if (const auto* pos = std::get_if<schema::position>(&r.ev.body)) {
            last_position[pos->symbol] = *pos;
        }
    }
    REQUIRE_MESSAGE(!books.empty(), "no fill was journaled");
    REQUIRE_MESSAGE(!rejections.empty(), "no rejection was journaled");

    const auto r = run_cli(
        dir, "report", {"journal", "report", "--json", "--utc", "--dir", p.journal_dir.string()});
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    REQUIRE(r.status == 0);
    REQUIRE(valid_json(r.out.substr(0, r.out.find_last_not_of('\n') + 1)));
    CHECK(json_number(r.out, "damaged") == 0);
    double total_realized = 0;
    for (const auto& [symbol, b] : books) {
        CAPTURE(symbol);
        const auto obj = object_at(object_at(r.out, "symbols"), symbol);
        CHECK(json_number(obj, "fills") == static_cast<double>(b.fills));
        CHECK(json_number(obj, "volume") == static_cast<double>(b.volume));
        CHECK(json_number(obj, "position") == b.qty);
        const double realized = schema::from_fixed(
            static_cast<std::int64_t>(json_number(obj, "realized_pnl").value_or(-1e18)));
        CHECK(std::abs(realized - b.realized) < 0.01);
        total_realized += realized;
        // Risk's own books agree (it publishes a position after every fill).
        REQUIRE(last_position.count(symbol) == 1);
        CHECK(std::abs(schema::from_fixed(last_position.at(symbol).realized_pnl) - realized) <
              0.01);
    }
    const auto by_rule = object_at(r.out, "rejections_by_rule");
    for (const auto& [rule, n] : rejections) {
        CAPTURE(rule);
        CHECK(json_number(by_rule, rule) == static_cast<double>(n));
    }
    // The text view shows the same day and the P&L total.
    const auto text = run_cli(dir, "report-text",
                              {"journal", "report", "--utc", "--dir", p.journal_dir.string()});
    CHECK(text.status == 0);
    CHECK(has(text.out, "TOTAL"));
    for (const auto& [rule, n] : rejections) CHECK(has(text.out, rule));
}

TEST_CASE("journal cli: replay --prefix replay. --speed max delivers every event byte for byte") {
    zmq::context_t ctx;
    temp_dir dir;
    pipeline p(ctx, dir);
    trade_a_while(ctx, p);
    const auto records = read_journal(p.journal_dir);
    // What replay sends: every decodable event, sys.* too (the prefix moves them out of sys.,
    // where only the broker may publish).
    std::vector<const journaled*> expected;
    std::size_t system_events = 0;
    for (const auto& r : records) {
        expected.push_back(&r);
        if (r.topic.starts_with(schema::topics::sys)) ++system_events;
    }
    CHECK(system_events > 0);
    REQUIRE(expected.size() > 50);

    subscriber sub(ctx, p.broker.xpub, {"replay."});
    publisher probe(ctx, p.broker.xsub);
    wait_until_flowing(probe, sub, "replay.test.probe");
    cli_process replay(dir, "replay",
                       {"journal", "replay", "--dir", p.journal_dir.string(), "--prefix", "replay.",
                        "--speed", "max", "--xsub", p.broker.xsub});
    std::vector<bus_message> got;
    const auto guard = std::chrono::steady_clock::now() + 30s;  // against a hang only
    while (got.size() < expected.size() && std::chrono::steady_clock::now() < guard) {
        if (auto m = sub.recv(100ms)) {
            if (m->topic.starts_with("replay.test.probe")) continue;  // late probes
            got.push_back(std::move(*m));
        }
    }
    CHECK(replay.wait(20s) == 0);
    INFO("replay stdout: " << replay.stdout_text() << "\nstderr: " << replay.stderr_text());
    REQUIRE(got.size() == expected.size());
    std::size_t mismatched = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const bool same =
            got[i].topic == "replay." + expected[i]->topic && got[i].body == expected[i]->body;
        if (!same && mismatched++ < 3) {
            CAPTURE(i);
            CHECK(got[i].topic == "replay." + expected[i]->topic);
            CHECK(got[i].body == expected[i]->body);
        }
    }
    CHECK(mismatched == 0);
    // Nothing more arrives afterwards (no duplicates).
    CHECK_FALSE(sub.recv(300ms).has_value());
}

#endif
