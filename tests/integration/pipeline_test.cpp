// The main job end to end (issue 4): the broker and the five real node executables, started in
// reverse dependency order, trade for a few seconds with limits sure to reject some signals.
// An independent subscriber sees everything; the test then checks the trading outcome, the
// journal against what the subscriber saw, sequence continuity, and trace ids from fill back
// to quote.
#include "pipeline.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <set>

#include "bus_clients.hpp"
#include "fill_book.hpp"
#include "tradebus/journal/reader.hpp"
#include "tradebus/schema/topics.hpp"

using namespace tradebus;
using namespace tradebus::test;

namespace {

// Every node's own tables for this run: a 100 quotes/s synthetic feed, a strategy that signals
// on every quote, and risk limits that approve some orders and reject many (5 orders/s, small
// MSFT position limit).
const std::map<std::string, std::string>& node_tables(const temp_dir& dir) {
    static std::map<std::string, std::string> tables;
    tables = {
        {"journal",
         "[journal]\ndir = \"" + dir.file("journal").string() + "\"\nfsync = \"none\"\n"},
        {"marketdata",
         "[marketdata]\nsource = \"synthetic\"\nbar_interval_ms = 500\n"
         "[marketdata.synthetic]\nrate_per_sec = 100.0\nseed = 7\n"
         "[marketdata.synthetic.symbols.AAPL]\nstart_px = 171.0\n"
         "[marketdata.synthetic.symbols.MSFT]\nstart_px = 417.0\n"
         "[marketdata.synthetic.symbols.SPY]\nstart_px = 510.0\n"},
        {"execution", "[execution]\nslippage_bps = 1.0\npartial_fills = false\n"},
        {"risk",
         "[risk]\nallowed_symbols = [\"AAPL\", \"MSFT\", \"SPY\"]\nmax_order_qty = 100\n"
         "max_position = 300\nmax_gross_notional = 1000000.0\nmax_daily_loss = 100000.0\n"
         "max_orders_per_sec = 5\nprice_band_bps = 100.0\nstale_quote_ms = 2000\n"
         "position_interval_ms = 200\n[risk.symbols.MSFT]\nmax_position = 10\n"},
        {"strategy",
         "[strategy]\ntrade_symbols = [\"AAPL\", \"MSFT\", \"SPY\"]\nsignal_every_tick = true\n"
         "order_qty = 20\n"},
    };
    return tables;
}

struct seen_event {
    std::string topic, body;
    schema::event ev;
};

// Receives what is still in flight: until no event other than risk's periodic position marks
// has arrived for `quiet`, and for at most `limit` (a guard against hanging, not a timing).
void drain(subscriber& sub, std::vector<seen_event>& out, std::chrono::milliseconds quiet,
           std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    const auto start = std::chrono::steady_clock::now();
    auto last_activity = start;
    while (std::chrono::steady_clock::now() - last_activity < quiet &&
           std::chrono::steady_clock::now() - start < limit) {
        auto m = sub.recv(std::chrono::milliseconds(20));
        if (!m) continue;
        auto ev = m->event();
        REQUIRE_MESSAGE(ev.has_value(), "undecodable event on " << m->topic);
        if (!std::holds_alternative<schema::position>(ev->body)) {
            last_activity = std::chrono::steady_clock::now();
        }
        out.push_back({m->topic, m->body, std::move(*ev)});
    }
}

}  // namespace

TEST_CASE("pipeline: five nodes started in any order trade end to end and journal everything") {
    zmq::context_t ctx;
    temp_dir dir;
    pipeline p(ctx, dir);

    // The independent observer subscribes to everything before any node exists.
    subscriber all(ctx, p.broker.xpub, {""});
    publisher probe(ctx, p.broker.xsub);
    const std::size_t raw_probes = wait_until_flowing(probe, all, "test.probe");

    // Reverse dependency order: the broker's ready/waiting answers must sort it out.
    for (auto it = pipeline_kinds.rbegin(); it != pipeline_kinds.rend(); ++it) {
        p.configure(*it, node_tables(dir).at(*it));
        p.start(*it);
    }
    const auto healthy = p.wait_healthy(pipeline_kinds, std::chrono::seconds(30));
    CHECK(healthy.start_order ==
          std::vector<std::string>{"journal", "execution", "marketdata", "risk", "strategy"});

    // Trade for a while: collect for ~3 s of bus traffic (bounded by count, not asserted).
    std::vector<seen_event> events;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (std::chrono::steady_clock::now() < until) {
        if (auto m = all.recv(std::chrono::milliseconds(50))) {
            auto ev = m->event();
            if (!ev) continue;  // the test's own raw probes are not events
            events.push_back({m->topic, m->body, std::move(*ev)});
        }
    }
    // Stop the sources, let orders and fills in flight land, then stop the rest.
    CHECK(p.stop("strategy") == 0);
    CHECK(p.stop("marketdata") == 0);
    drain(all, events, std::chrono::milliseconds(800));
    const auto final_status = p.broker.status();
    CHECK(p.stop("risk") == 0);
    CHECK(p.stop("execution") == 0);
    drain(all, events, std::chrono::milliseconds(300));
    CHECK(p.stop("journal") == 0);

    // ---- what flowed
    std::map<std::string, std::size_t> by_type;
    std::map<std::string, std::size_t> rejections_by_rule;
    for (const auto& e : events) {
        ++by_type[std::string(e.ev.type_name())];
        if (const auto* r = std::get_if<schema::order_rejected>(&e.ev.body)) {
            CHECK_FALSE(r->rule.empty());
            CHECK_FALSE(r->reason.empty());
            ++rejections_by_rule[r->rule];
        }
    }
    INFO("events by type: " << [&] {
        std::string s;
        for (const auto& [t, n] : by_type) s += t + "=" + std::to_string(n) + " ";
        return s;
    }());
    CHECK(by_type["tick"] > 50);
    CHECK(by_type["signal"] > 10);
    CHECK(by_type["order"] > 0);
    CHECK(by_type["order_rejected"] > 0);
    CHECK(by_type["order_ack"] > 0);
    CHECK(by_type["fill"] > 0);
    CHECK(by_type["position"] > 0);
    CHECK(rejections_by_rule.count("max_orders_per_sec") +
              rejections_by_rule.count("max_position") >
          0);

    // ---- P&L consistent with the fills: replay the fills with average-cost accounting and
    // compare with risk's last published position per symbol.
    std::map<std::string, fill_book> books;
    std::map<std::string, schema::position> last_position;
    for (const auto& e : events) {
        if (const auto* f = std::get_if<schema::fill>(&e.ev.body)) {
            books[f->symbol].add(*f);
        } else if (const auto* pos = std::get_if<schema::position>(&e.ev.body)) {
            last_position[pos->symbol] = *pos;
        }
    }
    for (const auto& [symbol, b] : books) {
        CAPTURE(symbol);
        REQUIRE(last_position.count(symbol) == 1);
        const auto& pos = last_position.at(symbol);
        CHECK(static_cast<double>(pos.qty) == b.qty);
        CHECK(std::abs(schema::from_fixed(pos.realized_pnl) - b.realized) < 0.01);
    }

    // ---- every position, marks included, holds exactly the fills it names: the quantity
    // after its last_fill_id in execution's order, whenever it arrived here relative to fills
    // (a mark published just before a fill reached risk carries that fill's trace id too).
    std::map<std::string, std::int64_t> qty_after_fill, running;
    for (const auto& e : events) {
        if (const auto* f = std::get_if<schema::fill>(&e.ev.body)) {
            running[f->symbol] += f->dir == schema::side::buy ? f->qty : -f->qty;
            qty_after_fill[f->fill_id] = running[f->symbol];
        }
    }
    std::size_t positions_checked = 0;
    for (const auto& e : events) {
        const auto* pos = std::get_if<schema::position>(&e.ev.body);
        if (pos == nullptr) continue;
        CAPTURE(pos->symbol);
        CAPTURE(pos->last_fill_id);
        const auto it = qty_after_fill.find(pos->last_fill_id);
        REQUIRE((pos->last_fill_id.empty() || it != qty_after_fill.end()));
        CHECK(pos->qty == (pos->last_fill_id.empty() ? 0 : it->second));
        ++positions_checked;
    }
    CHECK(positions_checked == by_type["position"]);

    // ---- no sequence gaps at this modest rate, as seen by us and reported by every node
    std::map<std::pair<std::string, std::string>, std::uint64_t> last_seq;
    std::uint64_t gaps = 0;
    for (const auto& e : events) {
        auto& last = last_seq[{e.ev.env.src, e.topic}];
        if (last != 0 && e.ev.env.seq != last + 1) ++gaps;
        last = e.ev.env.seq;
    }
    CHECK(gaps == 0);
    for (const auto& n : final_status.nodes) {
        CAPTURE(n.name);
        CHECK(n.counters.gaps == 0);
        // The journal has everything the broker carried since it started (the recorder link
        // kept it for the journal): also this test's raw probes, which are no msgpack.
        if (n.name == "journal") {
            CHECK(n.counters.decode_errors <= raw_probes);
        } else {
            CHECK(n.counters.decode_errors == 0);
        }
    }

    // ---- every event the observer saw from the trading nodes is in the journal, byte for byte
    std::set<std::pair<std::string, std::string>> journaled;  // (topic, body)
    journal::reader reader(p.journal_dir.string());
    std::size_t corrupt = 0;
    while (const auto* item = reader.next()) {
        if (item->what == journal::read_item::status::corrupt) {
            ++corrupt;
            continue;
        }
        journaled.emplace(std::string(item->rec.topic), std::string(item->rec.body));
    }
    CHECK(corrupt == 0);
    std::size_t checked = 0, missing = 0;
    for (const auto& e : events) {
        if (e.ev.env.src == "broker" || e.topic.starts_with(schema::topics::probe)) continue;
        ++checked;
        if (journaled.count({e.topic, e.body}) == 0) ++missing;
    }
    CHECK(checked > 100);
    CHECK(missing == 0);

    // ---- a fill's trace id leads back through order and signal to a quote
    std::map<std::uint64_t, std::set<std::string>> types_by_trace;
    for (const auto& e : events) {
        types_by_trace[e.ev.env.trace_id].insert(std::string(e.ev.type_name()));
    }
    std::size_t fills_traced = 0;
    for (const auto& e : events) {
        if (!std::holds_alternative<schema::fill>(e.ev.body)) continue;
        const auto& types = types_by_trace[e.ev.env.trace_id];
        CAPTURE(e.ev.env.trace_id);
        CHECK(e.ev.env.trace_id != 0);
        CHECK(types.count("tick") == 1);
        CHECK(types.count("signal") == 1);
        CHECK(types.count("order") == 1);
        ++fills_traced;
    }
    CHECK(fills_traced > 0);
}
