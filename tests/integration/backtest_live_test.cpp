// The backtest is faithful to live (issue 19): the shipped EMA strategy, risk and execution
// settings on a slice of the shipped sample quotes, once through the live pipeline (broker,
// marketdata replaying the CSV, strategy, risk, execution and journal as processes over
// loopback) and once through `tradebus backtest` with the same node files, give the same
// signals, risk decisions, acks and fills, trade by trade, each after the same quote.
//
// The pace. Live, a quote's effects (tick -> strategy -> signal -> risk -> order -> execution
// -> fill -> risk and strategy: four hops through the broker) take a little wall time; in the
// backtest (zero latency) they all happen at the quote's instant. The two agree when every
// quote's effects settle before the next quote, so the slice is replayed with its rows
// re-stamped `pace_ms` apart (the sample's own rows can be 5 us apart, closer than any
// replay `speed` could make room for), in both runs: marketdata replays it at speed 1 with
// timestamps = "recorded", which is what the backtest does with any data. Whether the live
// run did settle is checked, not assumed: every compared event carries the number of quotes
// journaled before it, and they must match too (a failure there names the pace, not the
// logic). The backtest on the slice at its recorded times must trade exactly as on the
// re-stamped one: re-stamping changes no trade (the rules measured on the clock decide
// nothing here). What is excluded from the comparison, and why: read_run, field_text and the
// node settings below.
#include <doctest/doctest.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <type_traits>
#include <variant>

#include "cli_runner.hpp"
#include "node_process.hpp"
#include "pipeline.hpp"
#include "tradebus/common/process.hpp"
#include "tradebus/journal/format.hpp"
#include "tradebus/schema/codec.hpp"

using namespace tradebus;
using namespace tradebus::test;
namespace fs = std::filesystem;

namespace {

const std::string source = TRADEBUS_SOURCE_DIR;

// The first rows of the sample: the strategy warms up on the first ~50 (EMA 20 per symbol),
// then signals 7 times (SPY 4, AAPL 2, MSFT 1), risk approves 5 (SPY's reduced to
// max_order_qty) and rejects 2 (max_gross_notional, max_position), and execution fills each
// approval. ~25 s live.
constexpr std::size_t slice_rows = 160;
constexpr std::int64_t pace_ms = 150;
// One more row after the slice, for a symbol nobody trades: once it is in the live journal,
// so is everything the slice's last quote caused (when settled, which the test checks).
constexpr std::string_view end_symbol = "END";

// The sample's first `rows` data rows, fields split.
std::vector<std::vector<std::string>> sample_rows(std::size_t rows) {
    std::ifstream in(source + "/config/data/sample_quotes.csv");
    std::vector<std::vector<std::string>> out;
    for (std::string line; out.size() < rows && std::getline(in, line);) {
        if (line.empty() || line[0] < '0' || line[0] > '9') continue;  // comments, header
        std::vector<std::string> fields;
        std::stringstream ss(line);
        for (std::string f; std::getline(ss, f, ',');) fields.push_back(f);
        if (line.back() == ',') fields.emplace_back();
        out.push_back(std::move(fields));
    }
    REQUIRE(out.size() == rows);
    return out;
}

// The rows as a CSV: at their recorded times, or re-stamped `pace_ms` apart from the first;
// then the end row, `pace_ms` after the last.
std::string csv_of(std::vector<std::vector<std::string>> rows, bool restamp) {
    const std::int64_t first = std::stoll(rows.front()[0]);
    for (std::size_t i = 0; i < rows.size() && restamp; ++i) {
        rows[i][0] = std::to_string(first + static_cast<std::int64_t>(i) * pace_ms * 1'000'000);
    }
    const std::int64_t end = std::stoll(rows.back()[0]) + pace_ms * 1'000'000;
    rows.push_back(
        {std::to_string(end), std::string(end_symbol), "1.00", "1", "1.01", "1", "", ""});
    std::string csv = "ts_ns,symbol,bid_px,bid_qty,ask_px,ask_qty,last_px,last_qty\n";
    for (const auto& r : rows) {
        for (std::size_t i = 0; i < r.size(); ++i) csv += (i == 0 ? "" : ",") + r[i];
        csv += "\n";
    }
    return csv;
}

// The shipped config/nodes/<kind>.toml's own table and [session] (for risk and execution), as
// TOML, after `adjust`.
std::string shipped_tables(const std::string& kind,
                           const std::function<void(toml::table&)>& adjust = {}) {
    const auto doc = toml::parse_file(source + "/config/nodes/" + kind + ".toml");
    toml::table out;
    REQUIRE(doc[kind].as_table() != nullptr);
    out.insert(kind, *doc[kind].as_table());
    if (const auto* session = doc["session"].as_table()) out.insert("session", *session);
    if (adjust) adjust(out);
    std::ostringstream text;
    text << out << "\n";
    return text.str();
}

// The trading session's start, "HH:MM" UTC, for both runs' risk and execution: the shipped
// 00:00 unless the live run could cross it (a new session resets risk's day P&L and expires
// DAY orders; the backtest's simulated minute, 13:30 UTC, never crosses either choice).
std::string session_start() {
    const std::int64_t minute = (common::now_ns() / 60'000'000'000) % (24 * 60);
    return minute >= 23 * 60 + 30 || minute < 30 ? "12:00" : "00:00";
}

// One compared event of a run: what it is, every field (ids as ordinals), and how many quotes
// were journaled before it.
struct traded {
    std::size_t after_quotes = 0;
    std::string what;
};

// What a run journaled, reduced to what must be equal.
struct run_events {
    std::vector<traded> events;
    std::size_t quotes = 0, gaps = 0;
    std::map<std::string, std::size_t> by_type, rejections_by_rule;
    // The longest time from a quote to one of its effects (publishers' clocks: wall live,
    // simulated in a backtest) and where, to say what the pace left to spare.
    std::int64_t slowest_ns = 0;
    std::string slowest;

    [[nodiscard]] std::size_t count(const std::string& type) const {
        const auto it = by_type.find(type);
        return it == by_type.end() ? 0 : it->second;
    }
};

template <class>
inline constexpr bool unhandled = false;

// Ids carry their node's start time (live: the wall clock; backtest: the simulated start):
// each one is replaced by its ordinal in the run (the 1st order id seen, the 2nd, ...), so
// an id still has to name the same order in both runs.
struct field_text {
    std::map<std::string, std::map<std::string, std::size_t>>& ids;
    std::string out;

    std::string ordinal(std::string_view key, const std::string& id) {
        auto& seen = ids[std::string(key)];
        return "#" + std::to_string(seen.try_emplace(id, seen.size() + 1).first->second);
    }

    template <class T>
    void operator()(std::string_view key, const T& v) {
        // Excluded: an order's expiry, where set (execution's ack and expiry), is the end of
        // the trading day each run trades in: today live, the data's day in the backtest.
        if (key == "expire_ts_ns") return;
        out += " ";
        out += key;
        out += "=";
        const bool id = key == "signal_id" || key == "order_id" || key == "fill_id";
        if constexpr (std::is_same_v<T, std::string>) {
            out += id ? ordinal(key, v) : v;
        } else if constexpr (std::is_enum_v<T>) {
            out += schema::to_string(v);
        } else if constexpr (std::is_same_v<T, double>) {
            char text[40];
            std::snprintf(text, sizeof text, "%.17g", v);
            out += text;
        } else if constexpr (std::is_integral_v<T>) {
            out += id ? ordinal(key, std::to_string(v)) : std::to_string(v);
        } else {
            static_assert(unhandled<T>, "a field type the comparison does not print");
        }
    }
};

// Reads a run's journal: the quotes and, in order, every signal, risk decision and execution
// report: its topic, publisher, per-topic sequence number and every field. Not compared: the
// envelope's ts_ns (each run's clock), trace_id (random live, seeded in a backtest) and inc
// (the publisher's incarnation: random live, 1 in a backtest); bars (this strategy trades
// tick mids), risk's positions (its periodic marks go out on its timer, whose phase differs
// between the runs; those after a fill follow from the fills), risk.state, snapshots and
// limits (published at start), and the broker's own events.
run_events read_run(const fs::path& journal_dir) {
    const auto contents = read_journal(journal_dir);
    REQUIRE_MESSAGE(contents.damage.empty(), journal_dir << ": damaged");
    run_events run;
    std::map<std::string, std::map<std::string, std::size_t>> ids;
    std::int64_t quote_ns = 0;
    std::string quote;
    for (const auto& r : contents.records) {
        if ((r.flags & journal::format::flags::gap_marker) != 0) {
            ++run.gaps;
            continue;
        }
        if (!r.topic.starts_with("md.tick.") && !r.topic.starts_with("strategy.signal.") &&
            !r.topic.starts_with("risk.approved.") && !r.topic.starts_with("risk.rejected.") &&
            !r.topic.starts_with("exec.")) {
            continue;
        }
        const auto ev = schema::decode_event(r.body);
        REQUIRE_MESSAGE(ev.ok(), r.topic << ": " << ev.error().to_string());
        const auto& e = ev.value();
        if (std::holds_alternative<schema::tick>(e.body)) {
            ++run.quotes;
            quote_ns = e.env.ts_ns;
            quote = r.topic;
            continue;
        }
        field_text text{ids, std::string(e.type_name()) + " topic=" + r.topic +
                                 " src=" + e.env.src + " seq=" + std::to_string(e.env.seq)};
        const bool compared = std::visit(
            [&](const auto& body) {
                using T = std::decay_t<decltype(body)>;
                if constexpr (std::is_same_v<T, schema::signal> ||
                              std::is_same_v<T, schema::order> ||
                              std::is_same_v<T, schema::order_rejected> ||
                              std::is_same_v<T, schema::order_ack> ||
                              std::is_same_v<T, schema::fill> ||
                              std::is_same_v<T, schema::exec_reject> ||
                              std::is_same_v<T, schema::order_cancelled> ||
                              std::is_same_v<T, schema::order_expired>) {
                    T::fields(body, text);
                    if constexpr (std::is_same_v<T, schema::order_rejected>) {
                        ++run.rejections_by_rule[body.rule];
                    }
                    return true;
                }
                return false;  // exec.snapshot
            },
            e.body);
        if (!compared) continue;
        ++run.by_type[std::string(e.type_name())];
        if (e.env.ts_ns - quote_ns > run.slowest_ns) {
            run.slowest_ns = e.env.ts_ns - quote_ns;
            run.slowest =
                text.out + " after quote " + std::to_string(run.quotes) + " (" + quote + ")";
        }
        run.events.push_back({run.quotes, std::move(text.out)});
    }
    return run;
}

// Where two runs' events first differ, with a few events of context from each.
std::string first_difference(const run_events& a, const std::string& a_name, const run_events& b,
                             const std::string& b_name, bool with_quotes) {
    const auto line = [&](const traded& t) {
        return (with_quotes ? "after quote " + std::to_string(t.after_quotes) + ": " : "") + t.what;
    };
    std::size_t i = 0;
    while (i < a.events.size() && i < b.events.size() && line(a.events[i]) == line(b.events[i])) {
        ++i;
    }
    if (i == a.events.size() && i == b.events.size()) return "no difference";
    std::string out = "first difference at event " + std::to_string(i + 1) + " of " +
                      std::to_string(a.events.size()) + " (" + a_name + ") and " +
                      std::to_string(b.events.size()) + " (" + b_name + ")\n";
    const std::size_t from = i >= 3 ? i - 3 : 0;
    for (const auto* run : {&a, &b}) {
        out += "-- " + (run == &a ? a_name : b_name) + ":\n";
        for (std::size_t k = from; k < std::min(run->events.size(), i + 4); ++k) {
            out += (k == i ? "> " : "  ") + line(run->events[k]) + "\n";
        }
    }
    return out;
}

bool same(const run_events& a, const run_events& b, bool with_quotes) {
    if (a.events.size() != b.events.size()) return false;
    for (std::size_t i = 0; i < a.events.size(); ++i) {
        if (a.events[i].what != b.events[i].what) return false;
        if (with_quotes && a.events[i].after_quotes != b.events[i].after_quotes) return false;
    }
    return true;
}

}  // namespace

TEST_CASE(
    "backtest live: the sample's signals, risk decisions and fills equal the live pipeline's") {
    zmq::context_t ctx;
    temp_dir dir;
    const auto rows = sample_rows(slice_rows);
    const auto paced = dir.write("paced.csv", csv_of(rows, true));
    const auto recorded = dir.write("recorded.csv", csv_of(rows, false));

    // The node files, written once into `dir` (the pipeline's own [node]/[broker] header, then
    // the node's tables) and read by both runs: the live nodes and `backtest --config dir`.
    pipeline p(ctx, dir);
    const std::string session = session_start();
    const auto with_session = [&](toml::table& t) {
        t["session"].as_table()->insert_or_assign("session_start", session);
    };
    p.configure("journal",
                "[journal]\ndir = \"" + p.journal_dir.string() + "\"\nfsync = \"none\"\n");
    // As the backtest replays any data (cli::replay_data): at its recorded pace and times.
    p.configure("marketdata", "[marketdata]\nsource = \"csv\"\n[marketdata.csv]\npath = \"" +
                                  paced.string() +
                                  "\"\nspeed = 1.0\nloop = false\nexit_at_end = true\n"
                                  "timestamps = \"recorded\"\n");
    // The shipped strategy, risk and execution settings, with two exceptions:
    // - execution partial_fills = false (shipped: true). With partial fills an order rests
    //   and fills on later quotes, and a quote that fills a resting order can also make the
    //   strategy signal: execution's fill and the strategy's signal, one hop each from the
    //   same quote, then race to risk live, and which one risk sees first changes its
    //   decision (the position it checks). No pace separates them. Live, the fill nearly
    //   always wins (the broker's XPUB sends a quote to its "md.tick." subscribers, execution
    //   and risk, before the strategy's "md.tick.<SYM>", and execution does less with it);
    //   the backtest always delivers the strategy's signal first (runtime::simulation hands
    //   a message to its subscribers in the order the nodes were added: marketdata,
    //   strategy, risk, execution). README "Backtesting" states the difference.
    // - the session start, only on the night the live run might cross it (session_start()).
    // Left as shipped because they cannot decide here, though measured on each run's clock:
    // risk's stale_quote_ms (a signal's own quote has just arrived, and quotes come pace_ms
    // apart), max_orders_per_sec (approvals here are seconds apart) and the strategy's
    // pending_timeout_ms (every signal is answered and every order filled within its quote's
    // settling, long before the strategy's 1 s timer could expire it). The test checks that
    // no decision was made by either risk rule.
    p.configure("strategy", shipped_tables("strategy"));
    p.configure("risk", shipped_tables("risk", with_session));
    p.configure("execution", shipped_tables("execution", [&](toml::table& t) {
                    with_session(t);
                    t["execution"].as_table()->insert_or_assign("partial_fills", false);
                }));

    // ---- the backtests: on the re-stamped slice, and on the slice at its recorded times
    const auto backtest = [&](const std::string& name, const fs::path& data) {
        const auto r = run_cli(dir, name,
                               {"backtest", "--config", dir.path().string(), "--data",
                                data.string(), "--out", dir.file(name).string()},
                               std::chrono::seconds(60));
        REQUIRE_MESSAGE(r.status == 0, r.err);
        return read_run(dir.file(name) / "journal");
    };
    const run_events bt = backtest("bt", paced);
    const run_events bt_recorded = backtest("bt-recorded", recorded);
    CHECK_MESSAGE(same(bt, bt_recorded, true),
                  first_difference(bt, "re-stamped", bt_recorded, "recorded times", true));
    // What the comparison covers: signals, approvals (some reduced), rejections by two rules.
    INFO("backtest: " << [&] {
        std::string s;
        for (const auto& [t, n] : bt.by_type) s += t + "=" + std::to_string(n) + " ";
        for (const auto& [rule, n] : bt.rejections_by_rule)
            s += rule + ":" + std::to_string(n) + " ";
        return s;
    }());
    REQUIRE(bt.count("signal") >= 5);
    REQUIRE(bt.count("order") >= 3);
    REQUIRE(bt.rejections_by_rule.size() >= 2);
    REQUIRE(bt.count("fill") == bt.count("order"));
    CHECK(bt.quotes == slice_rows + 1);
    for (const auto* rule : {"max_orders_per_sec", "stale_data", "risk_degraded"}) {
        CHECK(bt.rejections_by_rule.count(rule) == 0);
    }

    // ---- live: everything up before the first quote, as in the backtest (marketdata waits for
    // no trading node, so it starts last, once the others are healthy, i.e. subscribed)
    for (const auto* kind : {"journal", "execution", "risk", "strategy"}) p.start(kind);
    p.wait_healthy({"journal", "execution", "risk", "strategy"}, std::chrono::seconds(30));
    p.start("marketdata");
    // The replay takes (rows x pace); the limit only guards against a hang.
    const auto replay = std::chrono::milliseconds(static_cast<std::int64_t>(slice_rows) * pace_ms);
    CHECK(p.node("marketdata").wait_exit(replay + std::chrono::seconds(30)) == 0);
    wait_journaled(p.journal_dir, "md.tick." + std::string(end_symbol), 1, p.node("journal"));
    for (const auto* kind : {"strategy", "risk", "execution", "journal"}) {
        CAPTURE(kind);
        CHECK(p.stop(kind) == 0);
    }
    const run_events live = read_run(p.journal_dir);

    CHECK(live.gaps == 0);
    CHECK(live.quotes == bt.quotes);
    INFO("slowest effect of a quote: live " << live.slowest_ns / 1'000'000 << " ms ("
                                            << live.slowest << "), of the " << pace_ms
                                            << " ms to the next quote");
    // Trade by trade: the same signals, decisions, acks and fills, every field.
    CHECK_MESSAGE(same(bt, live, false), first_difference(bt, "backtest", live, "live", false));
    // And each after the same quote: every quote's effects settled before the next one.
    CHECK_MESSAGE(same(bt, live, true), first_difference(bt, "backtest", live, "live", true));
}
