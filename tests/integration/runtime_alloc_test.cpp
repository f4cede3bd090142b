// The node runtime's receive and send paths allocate nothing per message: a real node process
// (tradebus-test-alloc-echo, counting operator new on its loop thread) receives ticks from a
// real broker and publishes a signal for each; after a warm-up the count over the next
// `window` messages must not grow with them. Any per-message allocation (a decoded event
// built anew, a topic or key string, a copied envelope) would count at least `window`.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "broker_process.hpp"
#include "bus_clients.hpp"
#include "node_process.hpp"
#include "process_guard.hpp"
#include "temp_dir.hpp"
#include "tradebus/schema/codec.hpp"

using namespace tradebus;
using namespace tradebus::test;
using namespace std::chrono_literals;

TEST_CASE("the node runtime allocates nothing per message it receives and publishes") {
    constexpr std::uint64_t warmup = 2'000, window = 20'000, batch = 500;
    zmq::context_t ctx;
    temp_dir dir;
    broker_process broker(ctx, dir);
    broker.start();
    // A name longer than std::string's 15 inline bytes: copying it into each envelope would
    // allocate.
    const std::string name = "allocation-echo-node";
    const std::string toml = "[node]\nkind = \"allocecho\"\nname = \"" + name +
                             "\"\ndepends_on = []\nheartbeat_interval_ms = 1000\n"
                             "[broker]\ncontrol_endpoint = \"" +
                             broker.control +
                             "\"\nrequest_timeout_ms = 500\nretry_max_ms = 500\n"
                             "[allocecho]\nwarmup = " +
                             std::to_string(warmup) + "\nwindow = " + std::to_string(window) + "\n";
    const auto config = dir.write(name + ".toml", toml);
    process_guard node(TRADEBUS_EXE_TRADEBUS_TEST_ALLOC_ECHO, {"--config", config.string()},
                       dir.file(name + ".log"));
    (void)wait_node_state(broker, name, schema::health::healthy, 10s);

    publisher pub(ctx, broker.xsub, 100'000);
    subscriber signals(ctx, broker.xpub, {"strategy.signal.ALLOC"});
    subscriber ticks(ctx, broker.xpub, {"md.tick.ALLOC"});
    wait_publisher_through(ctx, broker, pub, "md.tick.ALLOCPROBE");

    // In batches, each answered before the next goes out: nothing waits in a queue long
    // enough to meet a high-water mark, so every tick reaches the node.
    schema::tick t{"ALLOC", 100'000'000, 10, 100'010'000, 10, 0, 0, 0};
    std::string body;
    std::uint64_t sent = 0, answered = 0;
    while (sent < warmup + window) {
        const std::uint64_t end = std::min(sent + batch, warmup + window);
        for (; sent < end; ++sent) {
            t.exch_ts_ns = static_cast<std::int64_t>(sent);
            schema::encode_event(schema::envelope{"md", sent + 1, 1, sent + 1, 7}, t, body);
            pub.send("md.tick.ALLOC", body);
        }
        while (answered < sent) {
            auto m = signals.recv(10s);
            REQUIRE_MESSAGE(m, "no signal for tick ", answered + 1, " of ", sent, " sent");
            const auto ev = m->event();
            REQUIRE(ev);
            const auto* s = std::get_if<schema::signal>(&ev->body);
            REQUIRE(s != nullptr);
            CHECK(ev->env.src == name);
            ++answered;
            CHECK(s->signal_id == answered);  // one each, in order: none lost
            CHECK(ev->env.seq == answered);
        }
    }

    REQUIRE(log_shows(node, "allocations: ", 10s));
    std::ifstream log(dir.file(name + ".log"));
    std::stringstream text;
    text << log.rdbuf();
    const std::string all = text.str();
    const std::string_view label = "allocations: ";
    const auto at = all.find(label);
    REQUIRE(at != std::string::npos);
    const auto digits =
        all.substr(at + label.size(), all.find(' ', at + label.size()) - at - label.size());
    REQUIRE_FALSE(digits.empty());
    REQUIRE(digits.find_first_not_of("0123456789") == std::string::npos);
    const auto allocations = std::stoull(digits);
    MESSAGE("allocations on the node's loop thread over ", window, " messages: ", allocations);
    INFO("node log:\n", all);
    // The loop also runs its heartbeat (once a second) and the broker's status in that time:
    // a handful at most. One per message would be 20,000.
    CHECK(allocations <= window / 1000);
}
