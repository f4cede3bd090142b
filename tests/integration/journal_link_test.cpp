// The journal as the record of truth (issue 7, Overload and Faults): through the broker's
// recorder link it has every message the broker forwarded even when it falls behind, every
// publisher-side loss is a gap marker in it, and a broker restart is a marker too. Real broker
// and journal processes; the journal is made slow by freezing it (SIGSTOP), the slowest a
// journal can be. Deadlines are hang guards, not timing assertions.
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <thread>

#include "broker_process.hpp"
#include "bus_clients.hpp"
#include "node_process.hpp"
#include "tradebus/cli/journal_view.hpp"
#include "tradebus/common/process.hpp"
#include "tradebus/journal/format.hpp"
#include "tradebus/schema/codec.hpp"
#include "tradebus/schema/topics.hpp"

using namespace tradebus;
using namespace tradebus::test;

namespace {

constexpr std::string_view flood_topic = "md.tick.FLOOD";

// What a journal holds for one topic: its events' sequence numbers and its gap markers.
struct topic_view {
    std::vector<std::uint64_t> seqs;
    std::uint64_t gap_markers = 0, missing = 0;
};

topic_view view_of(const journal_contents& j, std::string_view topic) {
    topic_view v;
    for (const auto& r : j.records) {
        if (r.topic != topic) continue;
        if ((r.flags & journal::format::flags::gap_marker) != 0) {
            const auto g = cli::decode_gap(r.body);
            REQUIRE(g.has_value());
            if (g->kind == "gap") {
                ++v.gap_markers;
                v.missing += g->missing;
            }
            continue;
        }
        const auto ev = schema::decode_event(r.body);
        if (ev) v.seqs.push_back(ev.value().env.seq);
    }
    return v;
}

std::uint64_t topic_messages(const schema::status_reply& st, std::string_view topic) {
    for (const auto& t : st.topics) {
        if (t.topic == topic) return t.messages;
    }
    return 0;
}

}  // namespace

TEST_CASE(
    "journal link: a frozen journal stalls the broker and still gets every forwarded message") {
    zmq::context_t ctx;
    temp_dir dir;
    // Small queues everywhere, so the flood below overflows them within a fraction of a second.
    broker_process broker(ctx, dir, recording_broker(1000));
    const auto journal_dir = dir.file("journal");
    auto journal = start_journal(broker, dir, journal_dir);

    publisher pub(ctx, broker.xsub, 1000);
    wait_publisher_through(ctx, broker, pub, "md.tick.PROBE");
    // The journal stops reading: the recorder's queue fills, the broker stops reading XSUB,
    // its XSUB queue and then this PUB's queue fill, and the PUB drops the rest.
    journal->signal(SIGSTOP);
    constexpr std::uint64_t flood = 300'000;
    for (std::uint64_t seq = 1; seq <= flood; ++seq) {
        pub.send(std::string(flood_topic), sample_tick("FLOOD", seq));
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    schema::status_reply st = broker.status();
    while (!st.recorder.stalled && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // polling status only
        st = broker.status();
    }
    CHECK(st.recorder.enabled);
    CHECK(st.recorder.stalled);
    // Stalled on the recorder, the broker still serves the control plane (this status).
    CHECK(broker.process().running());
    journal->signal(SIGCONT);
    // Then one more message at a time until the journal has the latest: queues may still be
    // draining (a PUB drops what it sends while its own queue is full), so the last sequence
    // number sent is only known once one arrived.
    std::uint64_t last = flood;
    const auto tail_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
        REQUIRE_MESSAGE(std::chrono::steady_clock::now() < tail_deadline,
                        "the journal did not catch up within 30 s");
        REQUIRE(journal->running());
        pub.send(std::string(flood_topic), sample_tick("FLOOD", ++last));
        std::this_thread::sleep_for(std::chrono::milliseconds(100));  // pacing the tail only
        const auto v = view_of(read_journal(journal_dir), flood_topic);
        if (!v.seqs.empty() && v.seqs.back() == last) break;
    }
    st = broker.status();
    CHECK(journal->stop() == 0);

    const auto v = view_of(read_journal(journal_dir), flood_topic);
    const std::uint64_t forwarded = topic_messages(st, flood_topic);
    INFO("forwarded ", forwarded, ", journaled ", v.seqs.size(), ", gap markers ", v.gap_markers,
         " (", v.missing, " missing), stalls ", st.recorder.stalls, " (", st.recorder.stalled_ms,
         " ms)");
    CHECK(st.recorder.stalls >= 1);
    CHECK(st.recorder.stalled_ms > 0);
    // Every message the broker forwarded on the topic is in the journal...
    CHECK(v.seqs.size() == forwarded);
    // ... in order, and every loss (the publisher's PUB dropped at its HWM) is a gap marker.
    CHECK(std::is_sorted(v.seqs.begin(), v.seqs.end()));
    CHECK(v.missing > 0);
    CHECK(v.gap_markers > 0);
    CHECK(v.seqs.size() + v.missing == last);
    CHECK(v.seqs.front() == 1);
    CHECK(v.seqs.back() == last);
}

TEST_CASE("journal link: with no recorder connected nothing is gated") {
    zmq::context_t ctx;
    temp_dir dir;
    broker_process broker(ctx, dir, broker_settings{.sndhwm = 1000, .recorder = true});
    publisher pub(ctx, broker.xsub);
    subscriber sub(ctx, broker.xpub, {"md.tick."});
    wait_until_flowing(pub, sub, "md.tick.PROBE");
    constexpr std::uint64_t n = 5000;
    for (std::uint64_t seq = 1; seq <= n; ++seq) {
        pub.send("md.tick.FREE", sample_tick("FREE", seq));
        if (seq % 500 == 0) {  // stay within every queue: this test is about gating, not loss
            for (std::uint64_t k = 0; k < 500; ++k) {
                auto m =
                    sub.recv_until([](const bus_message& b) { return b.topic == "md.tick.FREE"; },
                                   std::chrono::seconds(5));
                REQUIRE_MESSAGE(m.has_value(), "forwarding stopped at seq " << seq);
            }
        }
    }
    const auto st = broker.status();
    CHECK(st.recorder.enabled);
    CHECK(st.recorder.stalls == 0);
    CHECK_FALSE(st.recorder.stalled);
    CHECK(topic_messages(st, "md.tick.FREE") == n);
}

TEST_CASE(
    "journal link: kill -9 of the broker leaves a broker_restart marker and recording goes on") {
    zmq::context_t ctx;
    temp_dir dir;
    broker_process broker(ctx, dir, recording_broker());
    const auto journal_dir = dir.file("journal");
    auto journal = start_journal(broker, dir, journal_dir);
    publisher pub(ctx, broker.xsub);
    wait_publisher_through(ctx, broker, pub, "md.tick.PROBE");
    pub.send("md.tick.BEFORE", sample_tick("BEFORE", 1));
    wait_journaled(journal_dir, "md.tick.BEFORE", 1, *journal);
    const std::uint64_t old_epoch = broker.status().epoch;

    broker.process().signal(SIGKILL);
    REQUIRE(broker.process().wait_exit(std::chrono::seconds(5)) == 128 + SIGKILL);
    broker.start();
    const std::uint64_t new_epoch = broker.status().epoch;
    REQUIRE(new_epoch != old_epoch);
    (void)wait_node_state(broker, "journal", schema::health::healthy, std::chrono::seconds(15));
    // The journal's SUB reconnected to the new broker's recorder by itself; this PUB too.
    wait_publisher_through(ctx, broker, pub, "md.tick.PROBE");
    for (std::uint64_t seq = 1; seq <= 3; ++seq)
        pub.send("md.tick.AFTER", sample_tick("AFTER", seq));
    wait_journaled(journal_dir, "md.tick.AFTER", 3, *journal);
    CHECK(journal->stop() == 0);

    const auto j = read_journal(journal_dir);
    CHECK(j.damage.empty());
    std::optional<std::uint64_t> marker_at, before_at, after_at;
    for (const auto& r : j.records) {
        if ((r.flags & journal::format::flags::gap_marker) != 0) {
            const auto g = cli::decode_gap(r.body);
            REQUIRE(g.has_value());
            if (g->kind != "broker_restart") continue;
            CHECK_FALSE(marker_at.has_value());  // exactly one
            marker_at = r.index;
            CHECK(r.topic == schema::topics::broker_started);
            CHECK(g->old_epoch == old_epoch);
            CHECK(g->new_epoch == new_epoch);
        } else if (r.topic == "md.tick.BEFORE") {
            before_at = r.index;
        } else if (r.topic == "md.tick.AFTER" && !after_at) {
            after_at = r.index;
        }
    }
    REQUIRE(marker_at.has_value());
    REQUIRE(before_at.has_value());
    REQUIRE(after_at.has_value());
    CHECK(*before_at < *marker_at);
    CHECK(*marker_at < *after_at);

#ifdef TRADEBUS_EXE_TRADEBUS
    // The CLI shows it: cat (text and JSON) and the per-day report.
    const auto cat =
        run_to_exit(TRADEBUS_EXE_TRADEBUS, {"journal", "cat", "--dir", journal_dir.string()},
                    dir.file("cat.out"));
    CHECK(cat.status == 0);
    CHECK(cat.output.find("broker restarted (epoch " + std::to_string(old_epoch) + " -> " +
                          std::to_string(new_epoch) + ")") != std::string::npos);
    const auto json = run_to_exit(TRADEBUS_EXE_TRADEBUS,
                                  {"journal", "cat", "--json", "--dir", journal_dir.string()},
                                  dir.file("cat_json.out"));
    CHECK(json.status == 0);
    CHECK(json.output.find("\"kind\":\"broker_restart\"") != std::string::npos);
    CHECK(json.output.find("\"old_epoch\":" + std::to_string(old_epoch) +
                           ",\"new_epoch\":" + std::to_string(new_epoch)) != std::string::npos);
    const auto report =
        run_to_exit(TRADEBUS_EXE_TRADEBUS, {"journal", "report", "--dir", journal_dir.string()},
                    dir.file("report.out"));
    CHECK(report.status == 0);
    CHECK(report.output.find("1 broker restart(s)") != std::string::npos);
#endif
}

TEST_CASE("journal link: after a broker restart the journal has every event a subscriber got") {
    zmq::context_t ctx;
    temp_dir dir;
    broker_process broker(ctx, dir, recording_broker());
    const auto journal_dir = dir.file("journal");
    auto journal = start_journal(broker, dir, journal_dir);
    subscriber sub(ctx, broker.xpub, {"sys.", "md."});
    publisher pub(ctx, broker.xsub);
    wait_until_flowing(pub, sub, "md.tick.PROBE");

    const std::int64_t restart_ns = common::now_ns();
    broker.process().signal(SIGKILL);
    REQUIRE(broker.process().wait_exit(std::chrono::seconds(5)) == 128 + SIGKILL);
    broker.start();
    const std::uint64_t new_epoch = broker.status().epoch;
    // What this plain subscriber gets from the new broker: its own events (sys.node.registered,
    // sys.node.health as the journal re-registers, ...) as soon as the subscriber reconnected,
    // maybe before the journal resumed in the new epoch, and ticks published through it.
    std::vector<bus_message> got;
    bool journal_healthy = false, tick = false;
    std::uint64_t sent = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    auto next_send = std::chrono::steady_clock::now();
    while (!(journal_healthy && tick)) {
        REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline,
                        "no healthy journal and tick through the new broker within 15 s");
        if (std::chrono::steady_clock::now() >= next_send) {
            pub.send("md.tick.AFTER", sample_tick("AFTER", ++sent));
            next_send += std::chrono::milliseconds(100);  // pacing the probe ticks only
        }
        auto m = sub.recv(std::chrono::milliseconds(20));
        if (!m) continue;
        auto ev = m->event();
        // (Test ticks carry ts_ns 1; the broker's own events its wall clock.)
        if (!ev || (ev->env.src == "broker" && ev->env.ts_ns < restart_ns)) continue;
        if (ev->env.src == "broker" || m->topic == "md.tick.AFTER") got.push_back(*m);
        tick = tick || m->topic == "md.tick.AFTER";
        const auto* h = std::get_if<schema::node_health>(&ev->body);
        journal_healthy = journal_healthy || (h != nullptr && h->node == "journal" &&
                                              h->new_state == schema::health::healthy);
    }
    bool sys_seen = false;
    for (const auto& m : got) sys_seen = sys_seen || m.topic.starts_with("sys.node.");
    CHECK(sys_seen);

    // Every one of them is in the journal, byte for byte: the new broker kept its link from
    // its first message until the journal resumed there.
    const auto all_in = [&] {
        const auto j = read_journal(journal_dir);
        for (const auto& m : got) {
            const bool in = std::any_of(j.records.begin(), j.records.end(), [&](const auto& r) {
                return r.topic == m.topic && r.body == m.body;
            });
            if (!in) return false;
        }
        return true;
    };
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!all_in() && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling files only
    }
    for (const auto& m : got) {
        CAPTURE(m.topic);
        const auto j = read_journal(journal_dir);
        CHECK(std::any_of(j.records.begin(), j.records.end(),
                          [&](const auto& r) { return r.topic == m.topic && r.body == m.body; }));
    }
    // The journal has the new broker's own start too, which no subscriber was there to get.
    const auto j = read_journal(journal_dir);
    CHECK(std::any_of(j.records.begin(), j.records.end(), [&](const auto& r) {
        auto ev = schema::decode_event(r.body);
        const auto* b = ev ? std::get_if<schema::broker_started>(&ev.value().body) : nullptr;
        return b != nullptr && b->epoch == new_epoch;
    }));
    CHECK(journal->stop() == 0);
}

TEST_CASE(
    "journal link: recorder_ack and recorder_resume: bogus ones are refused, change nothing") {
    zmq::context_t ctx;
    temp_dir dir;
    // The test itself is the recorder client here, so it knows its session.
    broker_process broker(
        ctx, dir,
        broker_settings{.recorder = true, .extra_toml = "[recorder]\nclient = \"auditor\"\n"});
    control_client control(ctx, broker.control);
    const auto reg = control.request(
        schema::register_request{"auditor", "auditor", "localhost", "test", 1, {}, {}, {}, 0});
    REQUIRE(reg);
    const auto* ok = std::get_if<schema::register_reply>(&*reg);
    REQUIRE(ok != nullptr);
    const std::uint64_t session = ok->session_id, epoch = ok->epoch;
    const auto before = broker.status();
    REQUIRE(before.recorder.seq >= 2);  // sys.broker.started, sys.node.registered, ...

    struct bad {
        schema::control_message request;
        std::string_view code, reason;
    };
    const bad rows[] = {
        {schema::recorder_ack{"auditor", session, epoch + 1, 1}, "bad_request",
         "is not this broker's"},
        {schema::recorder_ack{"auditor", session, epoch, 1'000'000'000}, "bad_request",
         "was never sent"},
        {schema::recorder_resume{"auditor", session, epoch, 1'000'000'000}, "bad_request",
         "was never sent"},
        {schema::recorder_resume{"auditor", session, epoch ^ 1, 0}, "bad_request",
         "is not this broker's"},
        {schema::recorder_resume{"journal", session, epoch, 0}, "not_allowed",
         "only the recorder client \"auditor\""},
        {schema::recorder_ack{"auditor", session + 1, epoch, 1}, "unknown_session", ""},
    };
    for (const auto& row : rows) {
        CAPTURE(schema::type_name(row.request));
        CAPTURE(row.reason);
        const auto reply = control.request(row.request);
        REQUIRE(reply);
        const auto* e = std::get_if<schema::error_reply>(&*reply);
        REQUIRE(e != nullptr);
        CHECK(e->code == row.code);
        CHECK(e->reason.find(row.reason) != std::string::npos);
    }
    const auto after = broker.status();
    CHECK(after.recorder.acked == before.recorder.acked);
    CHECK(after.recorder.redelivered == before.recorder.redelivered);
    CHECK(after.recorder.retained == before.recorder.retained);

    // A real one: from the start, all kept (nobody was subscribed, nothing acknowledged).
    const auto resumed = control.request(schema::recorder_resume{"auditor", session, epoch, 0});
    REQUIRE(resumed);
    const auto* r = std::get_if<schema::recorder_resume_reply>(&*resumed);
    REQUIRE(r != nullptr);
    CHECK(r->epoch == epoch);
    CHECK(r->first == 1);
    CHECK(r->missing == 0);
    CHECK(r->next > before.recorder.seq);
    const auto acked = control.request(schema::recorder_ack{"auditor", session, epoch, 2});
    REQUIRE(acked);
    CHECK(std::holds_alternative<schema::ok_reply>(*acked));
    CHECK(broker.status().recorder.acked == 2);
}

TEST_CASE("journal link: a journal the broker does not take as recorder client reports degraded") {
    zmq::context_t ctx;
    temp_dir dir;
    auto settings = recording_broker();
    settings.extra_toml = "[recorder]\nclient = \"archive\"\n";  // not "journal"
    broker_process broker(ctx, dir, settings);
    const auto journal_dir = dir.file("journal");
    auto journal =
        start_node(broker, dir, "journal", "journal", journal_table(broker, journal_dir));
    // Recording nothing (the link never resumed), it says so instead of looking healthy.
    (void)wait_node_state(broker, "journal", schema::health::degraded, std::chrono::seconds(15));
    CHECK(log_shows(*journal, "recorder_resume after 0"));
    CHECK(log_shows(*journal, "only the recorder client \"archive\""));
    CHECK(journal->running());
}
