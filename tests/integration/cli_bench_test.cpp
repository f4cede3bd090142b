// `tradebus bench` as a process against a real tradebus-broker: the JSON numbers add up (every
// message published to every subscriber, none lost at a modest paced rate), the round-trip
// percentiles are ordered, the broker's own counters saw the traffic, the text view names
// both parts, and bad arguments / a silent broker give the documented exit codes. No time
// is asserted: these are the numbers' consistency, not their size.
#include <doctest/doctest.h>

#ifdef TRADEBUS_EXE_TRADEBUS

#include "broker_process.hpp"
#include "cli_runner.hpp"
#include "net.hpp"

using namespace tradebus;
using namespace tradebus::test;
using namespace std::chrono_literals;

namespace {

double number(const std::string& json, std::string_view object, std::string_view key) {
    const auto at = json.find("\"" + std::string(object) + "\":{");
    REQUIRE_MESSAGE(at != std::string::npos, "no \"" << object << "\" object in " << json);
    const auto v = json_number(std::string_view(json).substr(at), key);
    REQUIRE_MESSAGE(v.has_value(), "no number \"" << key << "\" in " << object);
    return *v;
}

}  // namespace

TEST_CASE("cli bench: counts add up, no loss at a modest rate, percentiles ordered") {
    zmq::context_t ctx;
    temp_dir dir;
    broker_process broker(ctx, dir);
    const auto r = run_cli(
        dir, "bench",
        {"bench",           "--json",       "--xsub",         broker.xsub, "--xpub", broker.xpub,
         "--control",       broker.control, "--pubs",         "2",         "--subs", "3",
         "--count",         "3000",         "--rate",         "3000",      "--size", "256",
         "--latency-count", "400",          "--latency-rate", "1000"},
        60s);
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    REQUIRE(r.status == 0);
    const auto lines = lines_of(r.out);
    REQUIRE(lines.size() == 1);
    CHECK(valid_json(lines[0]));
    const std::string& j = lines[0];
    CHECK(json_number(j, "size") == 256);

    CHECK(number(j, "throughput", "publishers") == 2);
    CHECK(number(j, "throughput", "subscribers") == 3);
    CHECK(number(j, "throughput", "sent") == 6000);
    CHECK(number(j, "throughput", "expected") == 18000);
    CHECK(number(j, "throughput", "received") == 18000);
    CHECK(number(j, "throughput", "lost") == 0);
    CHECK(number(j, "throughput", "gaps") == 0);
    CHECK(number(j, "throughput", "published_per_s") > 0);
    CHECK(number(j, "throughput", "delivered_per_s") > 0);

    CHECK(number(j, "latency", "sent") == 400);
    CHECK(number(j, "latency", "answered") == 400);
    const double p50 = number(j, "us", "p50"), p90 = number(j, "us", "p90");
    const double p99 = number(j, "us", "p99"), p999 = number(j, "us", "p99.9");
    const double max = number(j, "us", "max");
    CHECK(p50 > 0);
    CHECK(p50 <= p90);
    CHECK(p90 <= p99);
    CHECK(p99 <= p999);
    CHECK(p999 <= max);

    // The broker counted the same traffic on its bench.<run>.d.<publisher> topics.
    const auto topics_at = j.find("\"topics\":\"");
    REQUIRE(topics_at != std::string::npos);
    const std::string run = j.substr(topics_at + 10, j.find('>', topics_at) - topics_at - 10);
    CHECK(run.starts_with("bench."));
    std::uint64_t counted = 0;
    for (const auto& t : broker.status().topics) {
        if (t.topic == run + "d.0" || t.topic == run + "d.1") counted += t.messages;
    }
    CHECK(counted == 6000);
}

TEST_CASE("cli bench: the text view, --only and endpoints from --config") {
    zmq::context_t ctx;
    temp_dir dir;
    broker_process broker(ctx, dir);
    auto r = run_cli(dir, "text",
                     {"bench", "--config", broker.config_path.string(), "--count", "2000", "--rate",
                      "4000", "--latency-count", "200"},
                     60s);
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    REQUIRE(r.status == 0);
    CHECK(has(r.out, "xsub " + broker.xsub + ", xpub " + broker.xpub));
    CHECK(has(r.out, "throughput: 1 publisher -> 1 subscriber, 2,000 msgs per publisher"));
    CHECK(has(r.out, "published"));
    CHECK(has(r.out, "delivered"));
    CHECK(has(r.out, "lost 0 of 2,000 (0.00%), seen as seq gaps 0"));
    CHECK(has(r.out, "answered 200/200"));
    CHECK(has(r.out, "p99.9"));

    r = run_cli(dir, "only",
                {"bench", "--config", broker.config_path.string(), "--only", "latency",
                 "--latency-count", "100"});
    CHECK(r.status == 0);
    CHECK(has(r.out, "round trip"));
    CHECK_FALSE(has(r.out, "throughput"));
}

TEST_CASE("cli bench: bad arguments exit 2 and a broker that does not answer exits 1") {
    temp_dir dir;
    struct bad {
        std::vector<std::string> args;
        std::string message;
    };
    const std::vector<bad> table{
        {{"bench", "--pubs", "0"}, "--pubs"},
        {{"bench", "--subs", "65"}, "--subs"},
        {{"bench", "--count", "0"}, "--count"},
        {{"bench", "--size", "10"}, "--size: expected"},
        {{"bench", "--only", "forwarding"}, "--only"},
        {{"bench", "--rate", "fast"}, "--rate"},
        {{"bench", "--xsub", "localhost"}, "--xsub \"localhost\""},
    };
    for (const auto& b : table) {
        CAPTURE(b.args[1]);
        const auto r = run_cli(dir, "bad", b.args);
        CHECK(r.status == 2);
        CHECK(has(r.err, b.message));
        CHECK(r.out.empty());
    }
    const std::string silent = free_tcp_endpoint();  // nothing listens there
    const auto r = run_cli(dir, "silent",
                           {"bench", "--control", silent, "--xsub", free_tcp_endpoint(), "--xpub",
                            free_tcp_endpoint(), "--timeout", "0.3"});
    CHECK(r.status == 1);
    CHECK(has(r.err, "no reply from the broker at " + silent));
    CHECK(r.out.empty());
}

#endif
