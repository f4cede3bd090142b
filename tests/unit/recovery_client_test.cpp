// The runtime's recovery client in one process: a REP socket plays the broker (first "no such
// service", then the journal's endpoint), a real query_service over a real journal answers the
// pages. Checks the retry, the paging to done, the records in journal order, and the release of
// held live events minus those the journal already returned.
#include "tradebus/runtime/recovery_client.hpp"

#include <doctest/doctest.h>
#include <spdlog/spdlog.h>

#include <string>
#include <vector>
#include <zmq.hpp>

#include "scratch_dir.hpp"
#include "tradebus/common/process.hpp"
#include "tradebus/journal/query_service.hpp"
#include "tradebus/journal/writer.hpp"
#include "tradebus/schema/codec.hpp"

using namespace tradebus;

namespace {

constexpr std::int64_t t0 = 1'700'000'000'000'000'000;

std::string fill_event(std::uint64_t seq, std::int64_t ts, const std::string& id) {
    schema::fill f;
    f.order_id = f.fill_id = id;
    f.symbol = "AAPL";
    f.qty = 1;
    f.px = 1;
    std::string out;
    schema::encode_event(schema::envelope{"execution", seq, ts, 1}, f, out);
    return out;
}

}  // namespace

TEST_CASE(
    "recovery client: retries until the journal is announced and reachable, then pages to the "
    "end") {
    spdlog::set_level(spdlog::level::off);
    scratch_dir d("rc");
    {
        journal::writer_options o;
        o.dir = d.path().string();
        o.fsync = journal::fsync_policy::none;
        journal::writer w(o);
        for (std::uint64_t i = 1; i <= 5; ++i) {
            const std::int64_t ts = t0 + 10 * static_cast<std::int64_t>(i);
            REQUIRE(w.append("exec.fill.AAPL", fill_event(i, ts, "f" + std::to_string(i)), ts));
            REQUIRE(w.append("md.tick.AAPL", "not a fill", ts + 1));
        }
    }
    zmq::context_t ctx;
    zmq::socket_t broker(ctx, zmq::socket_type::rep);
    broker.bind("inproc://rc-broker");
    journal::query_service journal(ctx, "inproc://rc-journal", d.path().string(),
                                   journal::query_limits{}, [](std::string&) { return true; });

    runtime::recovery_client rc(ctx, "inproc://rc-broker", std::chrono::milliseconds(2000), 10,
                                runtime::recovery_request{{"exec.fill."}, t0 + 15, {}, 0},
                                /*page_records=*/2);
    std::vector<std::string> fed;
    int lookups = 0;
    const std::int64_t deadline = common::mono_ms() + 10'000;
    while (!rc.done() && common::mono_ms() < deadline) {
        rc.drive(common::mono_ms());
        zmq::socket_t* waiting = rc.waiting_socket();
        zmq::pollitem_t items[3] = {{broker.handle(), 0, ZMQ_POLLIN, 0},
                                    {journal.socket().handle(), 0, ZMQ_POLLIN, 0},
                                    {waiting != nullptr ? waiting->handle() : broker.handle(), 0,
                                     static_cast<short>(waiting != nullptr ? ZMQ_POLLIN : 0), 0}};
        zmq::poll(items, 3, std::chrono::milliseconds(20));
        if (items[0].revents & ZMQ_POLLIN) {
            zmq::message_t req;
            REQUIRE(broker.recv(req));
            auto decoded = schema::decode_control(req.to_string_view());
            REQUIRE(decoded);
            REQUIRE(std::holds_alternative<schema::lookup_request>(decoded.value()));
            std::string out;
            if (++lookups == 1) {
                schema::encode_control(schema::error_reply{"unknown_service", "not yet"}, out);
            } else if (lookups == 2) {  // announced, but no address ZeroMQ can connect to
                schema::encode_control(
                    schema::lookup_reply{"journal", "tcp://garbage", "journal", true}, out);
            } else {
                schema::encode_control(
                    schema::lookup_reply{"journal", "inproc://rc-journal", "journal", true}, out);
            }
            broker.send(zmq::buffer(out));
        }
        if (items[1].revents & ZMQ_POLLIN) journal.on_readable();
        if (waiting != nullptr && (items[2].revents & ZMQ_POLLIN)) {
            rc.on_readable(common::mono_ms(), [&](std::string_view topic, std::string_view raw) {
                auto ev = schema::decode_event(raw);
                REQUIRE(ev);
                CHECK(topic == "exec.fill.AAPL");
                fed.push_back(std::get<schema::fill>(ev.value().body).fill_id);
                rc.note_recovered(topic, ev.value().env);
            });
        }
    }
    REQUIRE(rc.done());
    CHECK(lookups == 3);
    CHECK(rc.attempts_failed() == 2);  // not a crash: a failure, retried like any other
    CHECK(rc.last_problem() ==
          "the journal's announced endpoint tcp://garbage cannot be connected: Invalid argument");
    // since_ns = t0 + 15 leaves out fill 1; pages of 2.
    CHECK(fed == std::vector<std::string>{"f2", "f3", "f4", "f5"});
    CHECK(rc.records() == 4);
    CHECK(rc.pages() >= 2);

    // Live events held meanwhile: the ones the journal returned are dropped on release.
    rc.hold("exec.fill.AAPL", fill_event(5, t0 + 50, "f5"));  // already recovered
    rc.hold("exec.fill.AAPL", fill_event(6, t0 + 60, "f6"));  // newer: delivered
    const auto released = rc.release_held();
    REQUIRE(released.size() == 1);
    CHECK(std::get<schema::fill>(schema::decode_event(released[0].second).value().body).fill_id ==
          "f6");
    CHECK(rc.wants("exec.fill.MSFT"));
    CHECK_FALSE(rc.wants("md.tick.AAPL"));
}

namespace {

// Drives `rc` against a broker REP that always names the journal and the `journal` service,
// until done (a 10 s hang guard); returns the fill ids fed, in order.
std::vector<std::string> recover_all(zmq::context_t& ctx, runtime::recovery_client& rc,
                                     journal::query_service& journal, const std::string& broker_ep,
                                     const std::string& journal_ep) {
    zmq::socket_t broker(ctx, zmq::socket_type::rep);
    broker.bind(broker_ep);
    std::vector<std::string> fed;
    const std::int64_t deadline = common::mono_ms() + 10'000;
    while (!rc.done() && common::mono_ms() < deadline) {
        rc.drive(common::mono_ms());
        zmq::socket_t* waiting = rc.waiting_socket();
        zmq::pollitem_t items[3] = {{broker.handle(), 0, ZMQ_POLLIN, 0},
                                    {journal.socket().handle(), 0, ZMQ_POLLIN, 0},
                                    {waiting != nullptr ? waiting->handle() : broker.handle(), 0,
                                     static_cast<short>(waiting != nullptr ? ZMQ_POLLIN : 0), 0}};
        zmq::poll(items, 3, std::chrono::milliseconds(20));
        if (items[0].revents & ZMQ_POLLIN) {
            zmq::message_t req;
            REQUIRE(broker.recv(req));
            std::string out;
            schema::encode_control(schema::lookup_reply{"journal", journal_ep, "journal", true},
                                   out);
            broker.send(zmq::buffer(out));
        }
        if (items[1].revents & ZMQ_POLLIN) journal.on_readable();
        if (waiting != nullptr && (items[2].revents & ZMQ_POLLIN)) {
            rc.on_readable(common::mono_ms(), [&](std::string_view topic, std::string_view raw) {
                auto ev = schema::decode_event(raw);
                REQUIRE(ev);
                fed.push_back(std::string(topic) + " " +
                              std::get<schema::fill>(ev.value().body).fill_id);
            });
        }
    }
    REQUIRE(rc.done());
    return fed;
}

}  // namespace

TEST_CASE("recovery client: an anchor topic starts the replay at its last record") {
    spdlog::set_level(spdlog::level::off);
    scratch_dir d("rc-anchor");
    {
        journal::writer_options o;
        o.dir = d.path().string();
        o.fsync = journal::fsync_policy::none;
        journal::writer w(o);
        std::uint64_t seq = 0;
        auto add = [&](std::string_view topic, const std::string& id) {
            const std::int64_t ts = t0 + 10 * static_cast<std::int64_t>(++seq);
            REQUIRE(w.append(topic, fill_event(seq, ts, id), ts));
        };
        add("exec.fill.AAPL", "f0");      // before since_ns
        add("risk.snapshot.risk", "s0");  // before since_ns: not a candidate
        add("exec.fill.AAPL", "f1");
        add("risk.snapshot.risk", "s1");
        add("exec.fill.AAPL", "f2");
        add("risk.snapshot.risk-2", "other");  // another node's: the prefix matches, not the topic
        add("risk.snapshot.risk", "s2");       // the last one
        add("exec.fill.AAPL", "f3");
        add("exec.fill.AAPL", "f4");
    }
    zmq::context_t ctx;
    journal::query_service journal(ctx, "inproc://rca-journal", d.path().string(),
                                   journal::query_limits{}, [](std::string&) { return true; });
    SUBCASE("with anchor records: the last one, then what follows it") {
        runtime::recovery_client rc(
            ctx, "inproc://rca-broker", std::chrono::milliseconds(2000), 10,
            runtime::recovery_request{{"exec.fill."}, t0 + 25, "risk.snapshot.risk", 0}, 2);
        const auto fed =
            recover_all(ctx, rc, journal, "inproc://rca-broker", "inproc://rca-journal");
        CHECK(fed == std::vector<std::string>{"risk.snapshot.risk s2", "exec.fill.AAPL f3",
                                              "exec.fill.AAPL f4"});
        CHECK(rc.records() == 3);
    }
    SUBCASE("with none since since_ns: everything since then") {
        runtime::recovery_client rc(
            ctx, "inproc://rcb-broker", std::chrono::milliseconds(2000), 10,
            runtime::recovery_request{{"exec.fill."}, t0 + 25, "risk.snapshot.nobody", 0}, 2);
        const auto fed =
            recover_all(ctx, rc, journal, "inproc://rcb-broker", "inproc://rca-journal");
        CHECK(fed == std::vector<std::string>{"exec.fill.AAPL f1", "exec.fill.AAPL f2",
                                              "exec.fill.AAPL f3", "exec.fill.AAPL f4"});
    }
    SUBCASE("replay_since before the last anchor: everything since then, anchors in place") {
        runtime::recovery_client rc(
            ctx, "inproc://rcc-broker", std::chrono::milliseconds(2000), 10,
            runtime::recovery_request{
                {"exec.fill.", "risk.snapshot.risk"}, t0 + 25, "risk.snapshot.risk", t0 + 45},
            2);
        const auto fed =
            recover_all(ctx, rc, journal, "inproc://rcc-broker", "inproc://rca-journal");
        // The prefix also matches risk-2's topic: a node tells its own anchor by exact topic.
        CHECK(fed == std::vector<std::string>{"exec.fill.AAPL f2", "risk.snapshot.risk-2 other",
                                              "risk.snapshot.risk s2", "exec.fill.AAPL f3",
                                              "exec.fill.AAPL f4"});
    }
    SUBCASE("replay_since after the last anchor: from the anchor, as without it") {
        runtime::recovery_client rc(
            ctx, "inproc://rcd-broker", std::chrono::milliseconds(2000), 10,
            runtime::recovery_request{
                {"exec.fill.", "risk.snapshot.risk"}, t0 + 25, "risk.snapshot.risk", t0 + 75},
            2);
        const auto fed =
            recover_all(ctx, rc, journal, "inproc://rcd-broker", "inproc://rca-journal");
        CHECK(fed == std::vector<std::string>{"risk.snapshot.risk s2", "exec.fill.AAPL f3",
                                              "exec.fill.AAPL f4"});
    }
}
