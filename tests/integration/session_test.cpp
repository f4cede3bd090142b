// Trading sessions across days and the journal's group commit, with real processes (issue 15):
// a risk started against a journal spanning three sessions (written with the journal's own
// writer, explicit timestamps) carries positions over from its last snapshot and the fills
// after it, and its daily loss counts only the current session; an execution with no age limit
// refuses an approval it acted on sessions ago; a journal killed with
// -9 has written every event it had received. Deadlines are hang guards, not timing asserts.
#include "tradebus/runtime/session.hpp"

#include <doctest/doctest.h>

#include <csignal>
#include <ctime>
#include <thread>

#include "bus_clients.hpp"
#include "cli_runner.hpp"
#include "node_process.hpp"
#include "pipeline.hpp"
#include "tradebus/common/process.hpp"
#include "tradebus/journal/writer.hpp"
#include "tradebus/risk/position_book.hpp"
#include "tradebus/schema/codec.hpp"
#include "tradebus/schema/topics.hpp"

using namespace tradebus;
using namespace tradebus::test;
namespace topics = schema::topics;

namespace {

constexpr std::int64_t hb_ms = 100;
constexpr std::int64_t minute_ns = 60LL * 1'000'000'000LL;
constexpr std::int64_t day_ns = 1440 * minute_ns;

// "HH:MM" (UTC) of `ts_ns`.
std::string hhmm(std::int64_t ts_ns) {
    const std::time_t t = ts_ns / 1'000'000'000;
    std::tm tm{};
    REQUIRE(gmtime_r(&t, &tm) != nullptr);
    char buf[8];
    REQUIRE(std::strftime(buf, sizeof buf, "%H:%M", &tm) == 5);
    return buf;
}

// Appends events as `src` published them at `ts_ns`, received by the journal at that time.
class journal_file {
  public:
    explicit journal_file(const std::filesystem::path& dir)
        : w_([&] {
              journal::writer_options o;
              o.dir = dir.string();
              o.fsync = journal::fsync_policy::none;
              return o;
          }()) {}
    template <class Body>
    void add(std::string_view topic, const std::string& src, std::int64_t ts_ns, const Body& body) {
        std::string bytes;
        schema::encode_event(schema::envelope{src, ++seq_, ts_ns, 0}, body, bytes);
        REQUIRE(w_.append(topic, bytes, ts_ns));
    }

  private:
    journal::writer w_;
    std::uint64_t seq_ = 0;
};

schema::fill fill(const std::string& id, schema::side dir, std::int64_t qty, double px) {
    return {"order-" + id, id, "AAPL", dir, qty, schema::to_fixed(px), 0};
}

// Reads `sub` until `match` accepts an event; fails the test after `guard`.
template <class Match>
schema::event until(subscriber& sub, Match match, std::chrono::milliseconds guard,
                    std::string_view what) {
    const auto deadline = std::chrono::steady_clock::now() + guard;
    while (std::chrono::steady_clock::now() < deadline) {
        auto m = sub.recv(std::chrono::milliseconds(20));
        if (!m) continue;
        if (auto ev = m->event(); ev && match(m->topic, *ev)) return *ev;
    }
    FAIL("no " << what << " within " << guard.count() << " ms");
    return {};
}

}  // namespace

TEST_CASE("sessions: a restarted risk carries positions over three sessions from its snapshot") {
    zmq::context_t ctx;
    temp_dir dir;
    pipeline p(ctx, dir, hb_ms);
    // Sessions start every day at a UTC time 2-3 hours ago: S3 is the current one.
    const std::int64_t now = common::now_ns();
    const std::string start = hhmm(now - 2 * 60 * minute_ns).substr(0, 3) + "00";
    const runtime::trading_session session("UTC", start);
    const std::int64_t s3 = session.start_of(now), s2 = s3 - day_ns, s1 = s2 - day_ns;
    REQUIRE(now - s3 >= 2 * 60 * minute_ns);

    // S1: buy 10 @ 100, sell 4 @ 110 (+40). Risk snapshots at the start of S2 (what S1 gave,
    // marked at 110). S2: buy 4 @ 90 (10 @ 96), marked at 80, and a loss halt that day.
    // S3: marked at 79, sell 5 @ 79.
    const std::vector<std::pair<std::int64_t, schema::fill>> fills = {
        {s1 + minute_ns, fill("f1", schema::side::buy, 10, 100.0)},
        {s1 + 2 * minute_ns, fill("f2", schema::side::sell, 4, 110.0)},
        {s2 + minute_ns, fill("f3", schema::side::buy, 4, 90.0)},
        {s3 + 2 * minute_ns, fill("f4", schema::side::sell, 5, 79.0)},
    };
    {
        journal_file j(p.journal_dir);
        j.add("exec.fill.AAPL", "execution", fills[0].first, fills[0].second);
        j.add("exec.fill.AAPL", "execution", fills[1].first, fills[1].second);
        schema::risk_snapshot snap;
        snap.session_start_ns = s2;
        snap.day_base_pnl = schema::to_fixed(100.0);  // 40 + 6 x (110 - 100)
        snap.positions.push_back({"AAPL", 6, schema::to_fixed(100.0), schema::to_fixed(40.0),
                                  schema::to_fixed(110.0), "f2"});
        // A GTC BUY approved in S1 that still rests, 90 lots open: it must keep counting.
        snap.working.push_back({"risk-old-1", "AAPL", schema::side::buy, 90});
        j.add("risk.snapshot.risk", "risk", s2, snap);
        j.add("exec.fill.AAPL", "execution", fills[2].first, fills[2].second);
        j.add("risk.position.AAPL", "risk", s2 + 2 * minute_ns,
              schema::position{"AAPL", 10, schema::to_fixed(96.0), schema::to_fixed(40.0),
                               schema::to_fixed(-160.0), "f3"});
        j.add("risk.state", "risk", s2 + 2 * minute_ns,
              schema::trading_state_changed{schema::trading_state::halted,
                                            "daily loss limit: day P&L -160.00", "risk", "", ""});
        j.add("risk.position.AAPL", "risk", s3 + minute_ns,
              schema::position{"AAPL", 10, schema::to_fixed(96.0), schema::to_fixed(40.0),
                               schema::to_fixed(-170.0), "f3"});
        j.add("exec.fill.AAPL", "execution", fills[3].first, fills[3].second);
    }
    // What the three sessions' fills give, by the one accounting rule.
    risk::position_book truth;
    for (const auto& [ts, f] : fills) truth.apply_fill(f.symbol, f.dir, f.qty, f.px);
    const auto* want = truth.find("AAPL");
    REQUIRE(want != nullptr);
    REQUIRE(want->qty == 5);
    REQUIRE(want->realized_pnl == schema::to_fixed(40.0 - 85.0));

    subscriber bus(ctx, p.broker.xpub, {"risk."});
    // The horizon (2 days) leaves S1's fills out: only the snapshot carries them.
    const std::string session_table = "[session]\nsession_timezone = \"UTC\"\nsession_start = \"" +
                                      start + "\"\nrecovery_horizon_days = 2\n";
    p.configure("journal",
                "[journal]\ndir = \"" + p.journal_dir.string() + "\"\nfsync = \"none\"\n");
    p.configure("execution", "[execution]\nmax_order_age_ms = 500\n" + session_table);
    // Session P&L -10 (from S2's last mark, -120, to -130 now); since the book began it is
    // -130: a limit of 100 halts only if the daily loss counted more than this session.
    p.configure("risk",
                "[risk]\nallowed_symbols = [\"AAPL\"]\nmax_daily_loss = 100.0\n"
                "position_interval_ms = 200\n" +
                    session_table);
    const std::vector<std::string> kinds = {"journal", "execution", "risk"};
    for (const auto& kind : kinds) p.start(kind);
    (void)p.wait_healthy(kinds, std::chrono::seconds(30));

    CHECK(log_shows(p.node("risk"), "recovery: starting from the last risk.snapshot.risk"));
    CHECK(log_shows(p.node("risk"), "state rebuilt from the journal: 2 fill(s)"));
    const auto pos = until(
        bus,
        [](const std::string& topic, const schema::event& ev) {
            return topic == "risk.position.AAPL" && ev.env.src == "risk" && ev.env.ts_ns > 0 &&
                   std::holds_alternative<schema::position>(ev.body);
        },
        std::chrono::seconds(10), "risk.position.AAPL from the restarted risk");
    const auto& got = std::get<schema::position>(pos.body);
    CHECK(got.qty == want->qty);
    CHECK(got.avg_px == want->avg_px);
    CHECK(got.avg_px == schema::to_fixed(96.0));
    CHECK(got.realized_pnl == want->realized_pnl);
    CHECK(got.unrealized_pnl == schema::to_fixed(5 * (79.0 - 96.0)));
    // The daily loss counts S3 only: active, and S2's halt is not latched again.
    CHECK(log_shows(p.node("risk"), "day P&L -10.00, trading active"));
    const auto state = until(
        bus,
        [](const std::string& topic, const schema::event& ev) {
            return topic == topics::risk_state && ev.env.src == "risk";
        },
        std::chrono::seconds(10), "risk.state");
    CHECK(std::get<schema::trading_state_changed>(state.body).state ==
          schema::trading_state::active);

    // The GTC BUY 90 working at the snapshot still counts: 5 held + 90 working + 10 > 100.
    bus_log log(ctx, p.broker.xpub, {""});
    publisher pub(ctx, p.broker.xsub);
    wait_until_flowing(pub, log.sub(), "test.probe");
    const auto send = [&](std::string_view topic, const std::string& src, std::uint64_t seq,
                          const auto& body) {
        std::string bytes;
        schema::encode_event(schema::envelope{src, seq, common::now_ns(), 7}, body, bytes);
        pub.send(topic, bytes);
    };
    send("md.tick.AAPL", "md", 1,
         schema::tick{"AAPL", schema::to_fixed(78.99), 100, schema::to_fixed(79.01), 100, 0, 0,
                      common::now_ns()});
    (void)log.find_or_expect([](const seen& s) { return s.ev.env.src == "md"; },
                             std::chrono::seconds(10), "the test's quote");
    send("strategy.signal.AAPL", "strategy", 1,
         schema::signal{1, "AAPL", schema::side::buy, 10, 0.9, schema::to_fixed(79.0), "test"});
    const seen decision = log.find_or_expect(
        [](const seen& s) {
            const auto* r = std::get_if<schema::order_rejected>(&s.ev.body);
            return s.ev.env.src == "risk" &&
                   (r != nullptr || std::holds_alternative<schema::order>(s.ev.body));
        },
        std::chrono::seconds(10), "risk's decision on the signal");
    const auto* rejected = std::get_if<schema::order_rejected>(&decision.ev.body);
    REQUIRE_MESSAGE(rejected != nullptr, "approved: the working order was forgotten");
    CHECK(rejected->rule == "max_position");
}

TEST_CASE("sessions: execution without an age limit refuses an order it acted on days ago") {
    zmq::context_t ctx;
    temp_dir dir;
    pipeline p(ctx, dir, hb_ms);
    // max_order_age_ms = 0: an approval of any age could still be executed, so execution must
    // remember the ids it acted on sessions ago (within the recovery horizon), not today's.
    const std::int64_t acted = common::now_ns() - 2 * day_ns;
    schema::order o;
    o.order_id = "risk-1-42";
    o.symbol = "AAPL";
    o.dir = schema::side::buy;
    o.qty = 10;
    o.requested_qty = 10;
    o.kind = schema::order_type::limit;
    o.limit_px = schema::to_fixed(101.0);
    o.signal_src = "strategy";
    o.signal_id = 42;
    std::string approval;
    schema::encode_event(schema::envelope{"risk", 1, acted, 0}, o, approval);
    {
        journal_file j(p.journal_dir);
        j.add("risk.approved.AAPL", "risk", acted, o);
        j.add(
            "exec.ack.AAPL", "execution", acted + 1'000'000,
            schema::order_ack{o.order_id, "AAPL", schema::side::buy, 10, schema::order_type::limit,
                              o.limit_px, schema::time_in_force::day, 0, "strategy"});
        j.add("exec.fill.AAPL", "execution", acted + 2'000'000,
              schema::fill{o.order_id, "execution-1-1", "AAPL", schema::side::buy, 10,
                           schema::to_fixed(100.5), 0});
    }
    subscriber bus(ctx, p.broker.xpub, {"exec."});
    publisher replay(ctx, p.broker.xsub);
    wait_until_flowing(replay, bus, "exec.probe.test");
    p.configure("journal",
                "[journal]\ndir = \"" + p.journal_dir.string() + "\"\nfsync = \"none\"\n");
    p.configure("execution",
                "[execution]\nmax_order_age_ms = 0\n[session]\n"
                "session_timezone = \"America/New_York\"\nsession_start = \"09:30\"\n");
    const std::vector<std::string> kinds = {"journal", "execution"};
    for (const auto& kind : kinds) p.start(kind);
    (void)p.wait_healthy(kinds, std::chrono::seconds(30));
    CHECK(log_shows(p.node("execution"), "1 order id(s) acted on earlier recovered"));

    const std::int64_t sent_ns = common::now_ns();
    replay.send("risk.approved.AAPL", approval);  // the same order again
    const auto refusal = until(
        bus,
        [&](const std::string& topic, const schema::event& ev) {
            const auto* x = std::get_if<schema::exec_reject>(&ev.body);
            return topic.starts_with(topics::exec_reject) && ev.env.ts_ns > sent_ns &&
                   x != nullptr && x->order_id == o.order_id;
        },
        std::chrono::seconds(10), "execution refusing the approval it had filled");
    CHECK(std::get<schema::exec_reject>(refusal.body).code == "duplicate");
}

TEST_CASE("sessions: a journal killed with -9 has written every event it had received") {
    zmq::context_t ctx;
    temp_dir dir;
    broker_process broker(ctx, dir, recording_broker());
    const auto journal_dir = dir.file("journal");
    // The harness's journal has fsync "none": only the write to the file is under test.
    auto journal = start_journal(broker, dir, journal_dir);
    publisher pub(ctx, broker.xsub);
    wait_publisher_through(ctx, broker, pub, "md.tick.PROBE");

    // What the journal counts as received once the probes stopped arriving.
    auto received = [&] {
        for (const auto& n : broker.status().nodes) {
            if (n.name == "journal") return n.counters.received;
        }
        FAIL("no journal node in the broker's status");
        return std::uint64_t{0};
    };
    std::uint64_t before = received();
    for (int same = 0; same < 3;) {  // unchanged over three heartbeats: nothing in flight
        std::this_thread::sleep_for(std::chrono::milliseconds(hb_ms * 2));  // polling only
        const auto now = received();
        same = now == before ? same + 1 : 0;
        before = now;
    }
    constexpr std::uint64_t n = 500;
    for (std::uint64_t seq = 1; seq <= n; ++seq) pub.send("md.tick.KILL", sample_tick("KILL", seq));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (received() < before + n) {
        REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline,
                        "the journal did not receive " << n << " events within 30 s");
        std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling status only
    }
    journal->signal(SIGKILL);
    REQUIRE(journal->wait_exit(std::chrono::seconds(5)) == 128 + SIGKILL);

    std::uint64_t kept = 0, next = 1;
    for (const auto& r : read_journal(journal_dir).records) {
        if (r.topic != "md.tick.KILL" || r.flags != 0) continue;
        const auto ev = schema::decode_event(r.body);
        REQUIRE(ev);
        CHECK(ev.value().env.seq == next++);
        ++kept;
    }
    CHECK(kept == n);
}

TEST_CASE("sessions: a GTC order acknowledged days ago rests again after execution restarts") {
    zmq::context_t ctx;
    temp_dir dir;
    pipeline p(ctx, dir, hb_ms);
    // Three days ago execution acknowledged a GTC BUY 10 and filled 4 of it the day after:
    // long before today's session start and max_order_age_ms, the window its order ids come
    // from. Only a snapshot (or, with none yet, the whole horizon) brings the order back.
    const std::int64_t acked = common::now_ns() - 3 * day_ns;
    const std::string id = "risk-1-7";
    {
        journal_file j(p.journal_dir);
        j.add("exec.ack.AAPL", "execution", acked,
              schema::order_ack{id, "AAPL", schema::side::buy, 10, schema::order_type::limit,
                                schema::to_fixed(50.0), schema::time_in_force::gtc, 0, "strategy"});
        j.add("exec.fill.AAPL", "execution", acked + day_ns,
              schema::fill{id, "execution-1-1", "AAPL", schema::side::buy, 4,
                           schema::to_fixed(50.0), 6});
    }
    subscriber bus(ctx, p.broker.xpub, {"exec."});
    p.configure("journal",
                "[journal]\ndir = \"" + p.journal_dir.string() + "\"\nfsync = \"none\"\n");
    p.configure("execution", "[execution]\nmax_order_age_ms = 500\n");
    const std::vector<std::string> kinds = {"journal", "execution"};
    for (const auto& kind : kinds) p.start(kind);
    (void)p.wait_healthy(kinds, std::chrono::seconds(30));
    CHECK(log_shows(p.node("execution"), "recovery: no exec.snapshot.execution in the journal"));
    CHECK(log_shows(p.node("execution"), "1 order(s) resting again"));
    // Its book, journaled at its start: the anchor of the next recovery.
    const auto snap = until(
        bus,
        [](const std::string& topic, const schema::event& ev) {
            return topic == "exec.snapshot.execution" &&
                   std::holds_alternative<schema::exec_snapshot>(ev.body);
        },
        std::chrono::seconds(10), "exec.snapshot.execution");
    const auto& book = std::get<schema::exec_snapshot>(snap.body);
    REQUIRE(book.resting.size() == 1);
    CHECK(book.resting[0].order_id == id);
    CHECK(book.resting[0].leaves_qty == 6);

    // kill -9 and restart: the journal since today's session start holds no ack of it, only
    // the snapshot; the order rests again and can be cancelled.
    p.node("execution").signal(SIGKILL);
    REQUIRE(p.node("execution").wait_exit(std::chrono::seconds(5)) == 128 + SIGKILL);
    p.start("execution");
    CHECK(log_shows(p.node("execution"), "the last exec.snapshot.execution is later than",
                    std::chrono::seconds(20)));
    CHECK(log_shows(p.node("execution"), "1 order(s) resting again", std::chrono::seconds(20)));
    (void)p.wait_healthy({"execution"}, std::chrono::seconds(20));
    const auto cancel =
        run_cli(dir, "cancel-old-gtc",
                {"cancel", id, "--control", p.broker.control, "--xpub", p.broker.xpub});
    CHECK_MESSAGE(cancel.status == 0, cancel.err);
    CHECK_MESSAGE(
        cancel.out.find("cancelled " + id + " AAPL BUY 10 (6 unfilled)") != std::string::npos,
        cancel.out);
}
