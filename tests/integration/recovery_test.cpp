// State recovery after restarts (issue 7 "Recovery of state"), with real processes: risk killed
// with -9 rebuilds its positions, P&L and daily-loss halt from the journal; execution killed
// with -9 refuses an approval it already filled (raw bytes captured from the bus and sent
// again); risk started while the journal is away waits, not ready, until it can recover; the
// journal's query service shows in the broker's service table and disappears with it.
// Heartbeats of 100 ms; every deadline below is a hang guard, not a timing assertion.
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <iterator>
#include <map>
#include <thread>

#include "bus_clients.hpp"
#include "pipeline.hpp"
#include "tradebus/common/process.hpp"
#include "tradebus/journal/reader.hpp"
#include "tradebus/risk/position_book.hpp"
#include "tradebus/schema/topics.hpp"

using namespace tradebus;
using namespace tradebus::test;
namespace topics = schema::topics;

namespace {

constexpr std::int64_t hb_ms = 100;

// Own tables: a 50 quotes/s feed, a signal on every quote; `risk_extra` overrides risk limits.
std::string own_table(const temp_dir& dir, const std::string& kind,
                      const std::string& max_daily_loss = "1000000000.0") {
    if (kind == "journal") {
        return "[journal]\ndir = \"" + dir.file("journal").string() + "\"\nfsync = \"none\"\n";
    }
    if (kind == "marketdata") {
        return "[marketdata]\nsource = \"synthetic\"\nbar_interval_ms = 500\n"
               "[marketdata.synthetic]\nrate_per_sec = 50.0\nseed = 11\n"
               "[marketdata.synthetic.symbols.AAPL]\nstart_px = 171.0\n"
               "[marketdata.synthetic.symbols.SPY]\nstart_px = 510.0\n";
    }
    if (kind == "execution") {
        return "[execution]\nslippage_bps = 5.0\npartial_fills = false\nmax_order_age_ms = 500\n";
    }
    if (kind == "risk") {
        return "[risk]\nallowed_symbols = [\"AAPL\", \"SPY\"]\nmax_order_qty = 100\n"
               "max_position = 1000000\nmax_gross_notional = 1000000000.0\nmax_daily_loss = " +
               max_daily_loss +
               "\nmax_orders_per_sec = 10\nprice_band_bps = 100.0\n"
               "stale_quote_ms = 2000\nposition_interval_ms = 200\n";
    }
    return "[strategy]\ntrade_symbols = [\"AAPL\", \"SPY\"]\nsignal_every_tick = true\n"
           "order_qty = 10\n";
}

void launch(pipeline& p, const temp_dir& dir, const std::vector<std::string>& kinds,
            const std::string& max_daily_loss = "1000000000.0") {
    for (const auto& kind : kinds) {
        p.configure(kind, own_table(dir, kind, max_daily_loss));
        p.start(kind);
    }
    (void)p.wait_healthy(kinds, std::chrono::seconds(30));
}

// A raw SUB that keeps every message (topic + raw body) it received, in order.
class tape {
  public:
    tape(zmq::context_t& ctx, const std::string& xpub, const std::vector<std::string>& prefixes)
        : sub_(ctx, xpub, prefixes) {}

    // Reads until `match` accepts a message; fails the test after `guard`.
    bus_message until(const std::function<bool(const bus_message&, const schema::event&)>& match,
                      std::chrono::milliseconds guard, std::string_view what) {
        const auto deadline = std::chrono::steady_clock::now() + guard;
        while (std::chrono::steady_clock::now() < deadline) {
            auto m = sub_.recv(std::chrono::milliseconds(20));
            if (!m) continue;
            kept.push_back(*m);
            if (auto ev = m->event(); ev && match(*m, *ev)) return *m;
        }
        std::string topics_kept;
        for (const auto& m : kept) topics_kept += m.topic + " ";
        FAIL("no " << what << " within " << guard.count() << " ms (" << kept.size()
                   << " messages kept: " << topics_kept << ")");
        return {};
    }
    // Everything during `d`.
    void soak(std::chrono::milliseconds d) {
        const auto until = std::chrono::steady_clock::now() + d;
        while (std::chrono::steady_clock::now() < until) {
            if (auto m = sub_.recv(std::chrono::milliseconds(20))) kept.push_back(*m);
        }
    }
    subscriber& sub() noexcept { return sub_; }

    std::vector<bus_message> kept;

  private:
    subscriber sub_;
};

void kill_hard(process_guard& proc) {
    proc.signal(SIGKILL);
    REQUIRE(proc.wait_exit(std::chrono::seconds(5)) == 128 + SIGKILL);
}

bool log_has(const process_guard& proc, std::string_view text,
             std::chrono::milliseconds guard = std::chrono::seconds(15)) {
    const auto deadline = std::chrono::steady_clock::now() + guard;
    while (std::chrono::steady_clock::now() < deadline) {
        if (proc.log().find(text) != std::string::npos) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a file only
    }
    return false;
}

// The last risk.position risk published per symbol among `msgs` at or after `after_ns`.
std::map<std::string, schema::position> last_positions(const std::vector<bus_message>& msgs,
                                                       std::int64_t after_ns = 0) {
    std::map<std::string, schema::position> out;
    for (const auto& m : msgs) {
        auto ev = m.event();
        if (!ev || ev->env.src != "risk" || ev->env.ts_ns < after_ns) continue;
        if (const auto* p = std::get_if<schema::position>(&ev->body)) out[p->symbol] = *p;
    }
    return out;
}

// Positions computed from every fill in the journal directory (the record of truth).
risk::position_book book_from_journal(const std::filesystem::path& dir) {
    risk::position_book book;
    journal::reader rd(dir.string());
    while (const auto* item = rd.next()) {
        if (item->what != journal::read_item::status::ok || item->rec.flags != 0) continue;
        if (!item->rec.topic.starts_with(topics::exec_fill)) continue;
        auto ev = schema::decode_event(item->rec.body);
        REQUIRE(ev);
        const auto& f = std::get<schema::fill>(ev.value().body);
        book.apply_fill(f.symbol, f.dir, f.qty, f.px);
    }
    return book;
}

// Waits until the broker shows the process `proc` (by pid) as node `name`, healthy: after a
// kill -9 the broker still shows the dead instance healthy for up to liveness intervals.
void wait_new_instance_healthy(broker_process& broker, const std::string& name,
                               process_guard& proc) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
        for (const auto& n : broker.status().nodes) {
            if (n.name == name && n.pid == proc.pid() && n.state == schema::health::healthy) {
                return;
            }
        }
        REQUIRE(proc.running());
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling interval only
    }
    FAIL(name << " (pid " << proc.pid() << ") not healthy within 15 s");
}

const schema::node_status* node_in(const schema::status_reply& st, const std::string& name) {
    for (const auto& n : st.nodes) {
        if (n.name == name) return &n;
    }
    return nullptr;
}

}  // namespace

TEST_CASE("recovery: risk killed with -9 rebuilds positions and P&L from the journal") {
    zmq::context_t ctx;
    temp_dir dir;
    pipeline p(ctx, dir, hb_ms);
    tape bus(ctx, p.broker.xpub, {"risk.position.", "exec.fill."});
    launch(p, dir, pipeline_kinds);
    std::size_t fills = 0;
    (void)bus.until(
        [&](const bus_message& m, const schema::event&) {
            return m.topic.starts_with("exec.fill.") && ++fills >= 6;
        },
        std::chrono::seconds(20), "6 fills");

    // Freeze the book: no more signals, let the last approvals fill and risk publish positions.
    REQUIRE(p.stop("strategy") == 0);
    bus.soak(std::chrono::milliseconds(1200));
    const auto before = last_positions(bus.kept);
    REQUIRE_FALSE(before.empty());

    kill_hard(p.node("risk"));
    const std::int64_t restarted_ns = common::now_ns();
    p.start("risk");
    wait_new_instance_healthy(p.broker, "risk", p.node("risk"));
    CHECK(log_has(p.node("risk"), "state rebuilt from the journal"));
    bus.soak(std::chrono::milliseconds(600));  // risk re-publishes positions (start + timer)
    const auto after = last_positions(bus.kept, restarted_ns);

    const auto truth = book_from_journal(p.journal_dir);
    for (const auto& [sym, was] : before) {
        CAPTURE(sym);
        REQUIRE(after.count(sym) == 1);
        const auto& now = after.at(sym);
        CHECK(now.qty == was.qty);
        CHECK(now.avg_px == was.avg_px);
        CHECK(now.realized_pnl == was.realized_pnl);
        const auto* j = truth.find(sym);
        REQUIRE(j != nullptr);
        CHECK(now.qty == j->qty);
        CHECK(now.avg_px == j->avg_px);
        CHECK(now.realized_pnl == j->realized_pnl);
    }
}

TEST_CASE("recovery: a restarted risk still halts when the day's loss exceeds max_daily_loss") {
    zmq::context_t ctx;
    temp_dir dir;
    pipeline p(ctx, dir, hb_ms);
    tape bus(ctx, p.broker.xpub, {"risk.", "exec.fill."});
    // 0.01 of loss: the slippage of the first fill, marked at the mid, crosses it.
    launch(p, dir, pipeline_kinds, "0.01");
    auto halted_by_risk = [](const bus_message& m, const schema::event& ev) {
        const auto* s = std::get_if<schema::trading_state_changed>(&ev.body);
        return m.topic == topics::risk_state && ev.env.src == "risk" && s != nullptr &&
               s->state == schema::trading_state::halted && s->by == "risk";
    };
    (void)bus.until(halted_by_risk, std::chrono::seconds(20), "risk halting on the daily loss");

    kill_hard(p.node("risk"));
    const std::int64_t restarted_ns = common::now_ns();
    p.start("risk");
    (void)bus.until(
        [&](const bus_message& m, const schema::event& ev) {
            return ev.env.ts_ns > restarted_ns && halted_by_risk(m, ev);
        },
        std::chrono::seconds(15), "the restarted risk publishing its halt");
    // Strategy signals on every quote: each one is refused for the daily loss, none approved.
    std::size_t refused = 0;
    (void)bus.until(
        [&](const bus_message& m, const schema::event& ev) {
            const auto* r = std::get_if<schema::order_rejected>(&ev.body);
            if (ev.env.ts_ns > restarted_ns && m.topic.starts_with(topics::rejected) &&
                r != nullptr && r->rule == "max_daily_loss") {
                ++refused;
            }
            return refused >= 5;
        },
        std::chrono::seconds(15), "5 signals refused for max_daily_loss after the restart");
    for (const auto& m : bus.kept) {
        auto ev = m.event();
        if (ev && ev->env.ts_ns > restarted_ns) CHECK_FALSE(m.topic.starts_with(topics::approved));
    }

    // Control: the same restart with start_fresh = true forgets the halt (which is why
    // recovery is the default).
    kill_hard(p.node("risk"));
    {
        // start_fresh goes into [node]: rewrite the generated header with it.
        auto path = dir.file("risk.toml");
        std::ifstream in(path);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        const auto at = text.find("[broker]");
        REQUIRE(at != std::string::npos);
        text.insert(at, "start_fresh = true\n");
        dir.write("risk.toml", text);
    }
    const std::int64_t fresh_ns = common::now_ns();
    p.start("risk");
    (void)bus.until(
        [&](const bus_message& m, const schema::event& ev) {
            return ev.env.ts_ns > fresh_ns && m.topic.starts_with(topics::approved);
        },
        std::chrono::seconds(15), "approvals from a risk started fresh");
    CHECK(log_has(p.node("risk"), "start_fresh = true"));
}

TEST_CASE("recovery: execution killed with -9 refuses an approval it already filled") {
    zmq::context_t ctx;
    temp_dir dir;
    pipeline p(ctx, dir, hb_ms);
    tape bus(ctx, p.broker.xpub, {"risk.approved.", "exec."});
    publisher replay(ctx, p.broker.xsub);
    wait_until_flowing(replay, bus.sub(), "exec.probe.test");  // under the tape's "exec."
    launch(p, dir, pipeline_kinds);

    // An approval, captured as raw bytes, that execution then filled.
    std::map<std::string, bus_message> approvals;
    const auto filled = bus.until(
        [&](const bus_message& m, const schema::event& ev) {
            if (const auto* o = std::get_if<schema::order>(&ev.body)) {
                if (m.topic.starts_with(topics::approved)) approvals[o->order_id] = m;
            }
            const auto* f = std::get_if<schema::fill>(&ev.body);
            return f != nullptr && approvals.count(f->order_id) == 1;
        },
        std::chrono::seconds(20), "a fill of a captured approval");
    const std::string order_id = std::get<schema::fill>(filled.event()->body).order_id;
    const bus_message approval = approvals.at(order_id);
    CAPTURE(order_id);

    REQUIRE(p.stop("strategy") == 0);  // no new approvals: only the replay reaches execution
    kill_hard(p.node("execution"));
    p.start("execution");
    wait_new_instance_healthy(p.broker, "execution", p.node("execution"));
    const std::int64_t replayed_ns = common::now_ns();
    replay.send(approval.topic, approval.body);  // the same bytes, sent again

    const auto refusal = bus.until(
        [&](const bus_message& m, const schema::event& ev) {
            const auto* x = std::get_if<schema::exec_reject>(&ev.body);
            return m.topic.starts_with(topics::exec_reject) && ev.env.ts_ns > replayed_ns &&
                   x != nullptr && x->order_id == order_id;
        },
        std::chrono::seconds(10), "execution refusing the replayed approval");
    CHECK(std::get<schema::exec_reject>(refusal.event()->body).code == "duplicate");
    bus.soak(std::chrono::milliseconds(500));
    std::size_t fills_of_order = 0;
    for (const auto& m : bus.kept) {
        auto ev = m.event();
        if (!ev) continue;
        if (const auto* f = std::get_if<schema::fill>(&ev->body)) {
            if (f->order_id == order_id) ++fills_of_order;
        }
    }
    CHECK(fills_of_order == 1);
    CHECK(log_has(p.node("execution"), "recovered from the journal"));
}

TEST_CASE("recovery: risk started while the journal is down waits, then recovers when it is up") {
    zmq::context_t ctx;
    temp_dir dir;
    // No [pipeline] dependencies: risk registers and is ready at once, so only recovery holds
    // it back.
    broker_process broker(ctx, dir, broker_settings{.interval_ms = hb_ms});
    auto node_toml = [&](const std::string& kind, const std::string& own) {
        dir.write(kind + ".toml", "[node]\nkind = \"" + kind + "\"\nname = \"" + kind +
                                      "\"\nheartbeat_interval_ms = " + std::to_string(hb_ms) +
                                      "\nrecovery_retry_ms = 200\n[broker]\ncontrol_endpoint = \"" +
                                      broker.control +
                                      "\"\nrequest_timeout_ms = 500\nretry_max_ms = 500\n" + own);
        return std::vector<std::string>{"--config", dir.file(kind + ".toml").string()};
    };
    process_guard risk_proc(node_executable("risk"), node_toml("risk", own_table(dir, "risk")),
                            dir.file("risk.log"));
    REQUIRE(log_has(risk_proc, "journal service not available"));
    // Not ready: registered, heartbeating, still "starting" while it cannot recover.
    for (int i = 0; i < 5; ++i) {
        const auto st = broker.status();
        const auto* r = node_in(st, "risk");
        REQUIRE(r != nullptr);
        CHECK(r->state == schema::health::starting);
        std::this_thread::sleep_for(std::chrono::milliseconds(hb_ms));  // across heartbeats
    }
    CHECK(risk_proc.log().find("starting work") == std::string::npos);

    process_guard journal_proc(node_executable("journal"),
                               node_toml("journal", own_table(dir, "journal")),
                               dir.file("journal.log"));
    REQUIRE(log_has(risk_proc, "recovery: done"));
    REQUIRE(log_has(risk_proc, "starting work"));

    // The broker's service table lists the journal's query endpoint...
    test::control_client control(ctx, broker.control);
    const auto services = control.call<schema::services_reply>(schema::services_request{});
    REQUIRE(services.services.size() == 1);
    CHECK(services.services[0].service == "journal");
    CHECK(services.services[0].node == "journal");
    CHECK(services.services[0].endpoint.starts_with("tcp://127.0.0.1:"));
    const auto found = control.call<schema::lookup_reply>(schema::lookup_request{"journal"});
    CHECK(found.endpoint == services.services[0].endpoint);
    // ...and forgets it when the journal's session ends.
    REQUIRE(journal_proc.stop() == 0);
    const auto gone = control.call_error(schema::lookup_request{"journal"});
    CHECK(gone.code == schema::error_code::unknown_service);
    CHECK(control.call<schema::services_reply>(schema::services_request{}).services.empty());
}

namespace {

// The tape's fills as a book: what a subscriber saw is what happened.
risk::position_book book_from_tape(const std::vector<bus_message>& msgs) {
    risk::position_book book;
    for (const auto& m : msgs) {
        auto ev = m.event();
        if (!ev || !m.topic.starts_with(topics::exec_fill)) continue;
        if (const auto* f = std::get_if<schema::fill>(&ev->body)) {
            book.apply_fill(f->symbol, f->dir, f->qty, f->px);
        }
    }
    return book;
}

std::size_t fills_in(const std::vector<bus_message>& msgs) {
    return static_cast<std::size_t>(std::count_if(msgs.begin(), msgs.end(), [](const auto& m) {
        return m.topic.starts_with(topics::exec_fill);
    }));
}

void check_same_book(const risk::position_book& got, const risk::position_book& want,
                     const std::vector<std::string>& symbols) {
    for (const auto& sym : symbols) {
        CAPTURE(sym);
        const auto* w = want.find(sym);
        const auto* g = got.find(sym);
        REQUIRE((w == nullptr) == (g == nullptr));
        if (w == nullptr) continue;
        CHECK(g->qty == w->qty);
        CHECK(g->avg_px == w->avg_px);
        CHECK(g->realized_pnl == w->realized_pnl);
    }
}

}  // namespace

TEST_CASE(
    "recovery: journal killed with -9 under load misses no fill, so a restarted risk is right") {
    zmq::context_t ctx;
    temp_dir dir;
    pipeline p(ctx, dir, hb_ms);
    tape bus(ctx, p.broker.xpub, {"risk.position.", "exec.fill."});
    launch(p, dir, pipeline_kinds);
    (void)bus.until(
        [&](const bus_message&, const schema::event&) { return fills_in(bus.kept) >= 3; },
        std::chrono::seconds(20), "3 fills");

    // The journal dies mid-flow; trading goes on without it for a while.
    kill_hard(p.node("journal"));
    const std::size_t at_kill = fills_in(bus.kept);
    (void)bus.until(
        [&](const bus_message&, const schema::event&) { return fills_in(bus.kept) >= at_kill + 8; },
        std::chrono::seconds(20), "8 fills while the journal is down");
    p.start("journal");
    wait_new_instance_healthy(p.broker, "journal", p.node("journal"));

    // Freeze the book, let the last approvals fill and the journal catch up.
    REQUIRE(p.stop("strategy") == 0);
    bus.soak(std::chrono::milliseconds(1500));
    const auto truth = book_from_tape(bus.kept);
    const std::vector<std::string> symbols{"AAPL", "SPY"};
    const auto st = p.broker.status();
    INFO("fills seen ", fills_in(bus.kept), ", recorder seq ", st.recorder.seq, " acked ",
         st.recorder.acked, " redelivered ", st.recorder.redelivered, " evicted ",
         st.recorder.evicted);
    CHECK(st.recorder.redelivered > 0);
    CHECK(st.recorder.evicted == 0);
    // Every fill a subscriber saw is in the journal exactly once, the downtime's included.
    check_same_book(book_from_journal(p.journal_dir), truth, symbols);

    kill_hard(p.node("risk"));
    const std::int64_t restarted_ns = common::now_ns();
    p.start("risk");
    wait_new_instance_healthy(p.broker, "risk", p.node("risk"));
    bus.soak(std::chrono::milliseconds(600));  // risk re-publishes positions (start + timer)
    const auto after = last_positions(bus.kept, restarted_ns);
    for (const auto& sym : symbols) {
        CAPTURE(sym);
        const auto* t = truth.find(sym);
        if (t == nullptr) continue;
        REQUIRE(after.count(sym) == 1);
        CHECK(after.at(sym).qty == t->qty);
        CHECK(after.at(sym).avg_px == t->avg_px);
        CHECK(after.at(sym).realized_pnl == t->realized_pnl);
    }
}

TEST_CASE(
    "recovery: a journal down past the broker's retention records the hole, risk starts halted") {
    zmq::context_t ctx;
    temp_dir dir;
    pipeline p(ctx, dir, hb_ms, false, "[recorder]\nretain_messages = 20\n");
    tape bus(ctx, p.broker.xpub, {"risk.", "exec.fill.", "sys.trading"});
    launch(p, dir, pipeline_kinds);
    (void)bus.until(
        [&](const bus_message&, const schema::event&) { return fills_in(bus.kept) >= 2; },
        std::chrono::seconds(20), "2 fills");

    // Down long enough that the broker keeps far less than what flowed meanwhile.
    kill_hard(p.node("journal"));
    const auto evict_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    for (auto st = p.broker.status(); st.recorder.seq < st.recorder.acked + 200;
         st = p.broker.status()) {
        REQUIRE_MESSAGE(std::chrono::steady_clock::now() < evict_deadline,
                        "200 messages did not flow within 15 s");
        bus.soak(std::chrono::milliseconds(50));
    }
    CHECK(p.broker.status().recorder.evicted > 0);
    p.start("journal");
    wait_new_instance_healthy(p.broker, "journal", p.node("journal"));

    // The journal says where it is incomplete: a recorder_gap record with the lost range.
    std::optional<schema::recorder_gap> hole;
    const auto gap_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!hole) {
        REQUIRE_MESSAGE(std::chrono::steady_clock::now() < gap_deadline, "no recorder_gap record");
        journal::reader rd(p.journal_dir.string());
        while (const auto* item = rd.next()) {
            if (item->what != journal::read_item::status::ok ||
                item->rec.topic != topics::recorder_gap) {
                continue;
            }
            auto ev = schema::decode_event(item->rec.body);
            REQUIRE(ev);
            hole = std::get<schema::recorder_gap>(ev.value().body);
        }
        bus.soak(std::chrono::milliseconds(50));
    }
    CHECK(hole->missing > 0);
    CHECK(hole->first_seq == hole->expected_seq + hole->missing);

    // Risk restarted across the hole: halted, saying why, and it approves nothing.
    kill_hard(p.node("risk"));
    const std::int64_t restarted_ns = common::now_ns();
    p.start("risk");
    (void)bus.until(
        [&](const bus_message&, const schema::event& ev) {
            const auto* t = std::get_if<schema::trading_state_changed>(&ev.body);
            return ev.env.src == "risk" && ev.env.ts_ns >= restarted_ns && t != nullptr &&
                   t->state == schema::trading_state::halted &&
                   t->reason.find("journal hole") != std::string::npos;
        },
        std::chrono::seconds(20), "risk.state halted for the journal hole");
    CHECK(log_has(p.node("risk"), "starting HALTED until an operator resumes"));
    const std::size_t mark = bus.kept.size();
    bus.soak(std::chrono::milliseconds(1000));
    for (std::size_t i = mark; i < bus.kept.size(); ++i) {
        CAPTURE(bus.kept[i].topic);
        CHECK_FALSE(bus.kept[i].topic.starts_with(topics::approved));
    }

    // The operator reconciles, then resumes: risk trades again.
    control_client control(ctx, p.broker.control);
    const std::int64_t resumed_ns = common::now_ns();
    REQUIRE(control.request(schema::resume_request{"reconciled the hole", "test", "", ""}));
    (void)bus.until(
        [&](const bus_message& m, const schema::event& ev) {
            return m.topic.starts_with(topics::approved) && ev.env.ts_ns >= resumed_ns;
        },
        std::chrono::seconds(10), "an approval after resume");
}
