// The `tradebus` CLI as a process against a real tradebus-broker: sniff --json over a raw PUB,
// status --json and its text view, halt/resume through the control plane (seen on the bus by
// a sniffer started with the broker's --config), a broker that does not answer, Ctrl-C, and
// the --help/usage smoke checks. Output is parsed with a tiny JSON validator and substring
// checks on the wire keys.
#include <doctest/doctest.h>

#ifdef TRADEBUS_EXE_TRADEBUS

#include <cctype>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include "broker_process.hpp"
#include "bus_clients.hpp"
#include "cli_runner.hpp"
#include "net.hpp"
#include "temp_dir.hpp"

using namespace tradebus;
using namespace tradebus::test;

TEST_CASE("cli: tradebus --help, --version and bad arguments") {
    temp_dir dir;
    auto r = run_cli(dir, "help", {"--help"});
    CHECK(r.status == 0);
    for (const char* cmd : {"sniff", "status", "halt", "resume", "journal"}) CHECK(has(r.out, cmd));
    r = run_cli(dir, "version", {"--version"});
    CHECK(r.status == 0);
    CHECK(has(r.out, "0."));
    r = run_cli(dir, "sniff-help", {"sniff", "--help"});
    CHECK(r.status == 0);
    CHECK(has(r.out, "--json"));
    r = run_cli(dir, "bad-count", {"sniff", "--count", "x"});
    CHECK(r.status == 2);
    CHECK(has(r.err, "--count: expected a whole number > 0 (at most 1e12), got \"x\""));
    CHECK(r.out.empty());
    r = run_cli(dir, "bad-pattern", {"sniff", "md.ti*"});
    CHECK(r.status == 2);
    CHECK(has(r.err, "pattern \"md.ti*\""));
}

TEST_CASE("cli: tradebus sniff --json --count N prints matching events from a raw PUB") {
    zmq::context_t ctx;
    temp_dir dir;
    broker_process broker(ctx, dir);
    publisher pub(ctx, broker.xsub);
    cli_process sniff(dir, "sniff",
                      {"sniff", "--json", "--count", "6", "--xpub", broker.xpub, "md.tick.*"});

    // The sniffer joins when it joins: publish until it has had its 6 (or the guard expires).
    std::uint64_t seq = 0;
    const auto guard = std::chrono::steady_clock::now() + 20s;
    while (sniff.proc->running() && std::chrono::steady_clock::now() < guard) {
        ++seq;
        pub.send("md.tick.AAPL", sample_tick("AAPL", seq));
        pub.send("md.bar.AAPL", sample_tick("AAPL", seq));     // another prefix: not subscribed
        pub.send("md.tick.AAPL.X", sample_tick("AAPL", seq));  // '*' is one token: filtered here
        if (seq % 2 == 0) pub.send("md.tick.BAD", "\xc1");     // not msgpack: flagged, shown
        std::this_thread::sleep_for(5ms);                      // pacing, not readiness
    }
    REQUIRE(sniff.wait() == 0);
    const auto out = sniff.stdout_text();
    CAPTURE(out);
    CAPTURE(sniff.stderr_text());
    const auto lines = lines_of(out);
    REQUIRE(lines.size() == 6);
    std::uint64_t last_seq = 0;
    for (const auto& line : lines) {
        CHECK(valid_json(line));
        if (has(line, R"({"topic":"md.tick.AAPL","v":1,"type":"tick","src":"test-md","seq":)")) {
            CHECK(has(line, R"("data":{"symbol":"AAPL","bid_px":10000000000,)"));
            const auto at = line.find("\"seq\":") + 6;
            const auto this_seq = std::stoull(line.substr(at));
            CHECK(this_seq > last_seq);
            last_seq = this_seq;
        } else {
            CHECK(line == R"({"topic":"md.tick.BAD","undecodable":"truncated or invalid msgpack",)"
                          R"("frames":2,"bytes":1,"hex":"c1","rx_ns":)" +
                              line.substr(line.find("\"rx_ns\":") + 8));
        }
    }
    CHECK(sniff.stderr_text().empty());
}

TEST_CASE("cli: tradebus status --json and the text view show the node table") {
    zmq::context_t ctx;
    temp_dir dir;
    broker_process broker(ctx, dir,
                          {.pipeline_toml = "[pipeline.marketdata]\n[pipeline.risk]\n"
                                            "depends_on = [\"marketdata\"]\n"});
    control_client c(ctx, broker.control);
    schema::register_request reg;
    reg.name = "marketdata";
    reg.kind = "marketdata";
    reg.host = "it-host";
    reg.version = "test";
    reg.pid = 4242;
    // One heartbeat must keep it healthy for the whole test, however slow this machine or
    // build (ASan) is: the longest interval the broker accepts (liveness 3 x 60 s).
    reg.heartbeat_interval_ms = 60'000;
    const auto session = c.call<schema::register_reply>(reg).session_id;
    schema::heartbeat_request hb;
    hb.name = "marketdata";
    hb.session_id = session;
    hb.counters.published = 77;
    c.call<schema::heartbeat_reply>(hb);

    auto r = run_cli(dir, "status-json", {"status", "--json", "--control", broker.control});
    CHECK(r.status == 0);
    CAPTURE(r.out);
    CAPTURE(r.err);
    const auto lines = lines_of(r.out);
    REQUIRE(lines.size() == 1);
    CHECK(valid_json(lines[0]));
    CHECK(lines[0].rfind(R"({"v":1,"type":"status_ok",)", 0) == 0);
    CHECK(has(lines[0], R"({"name":"marketdata","kind":"marketdata","host":"it-host",)"));
    CHECK(has(lines[0], R"("state":"healthy")"));
    CHECK(has(lines[0], R"("published":77,)"));
    CHECK(has(lines[0], R"("start_order":["marketdata","risk"])"));
    CHECK(has(lines[0], R"("trading_state":"active")"));

    r = run_cli(dir, "status-text", {"status", "--config", broker.config_path.string()});
    CHECK(r.status == 0);
    CAPTURE(r.out);
    CHECK(has(r.out, "broker "));
    CHECK(has(r.out, "trading: ACTIVE"));
    CHECK(has(r.out, "NODE"));
    CHECK(has(r.out, "marketdata  marketdata  it-host"));
    CHECK(has(r.out, "start order: marketdata -> risk"));
    CHECK(has(r.out, "sys.broker.started"));
    CHECK(has(r.out, "services:\nno services announced"));

    // A service a node announced shows with its node, state and endpoint.
    c.call<schema::ok_reply>(
        schema::announce_request{"marketdata", session, "journal", "tcp://127.0.0.1:45678"});
    r = run_cli(dir, "status-services", {"status", "--control", broker.control});
    CHECK(r.status == 0);
    CAPTURE(r.out);
    CHECK(has(r.out, "SERVICE  NODE        STATE    ENDPOINT"));
    CHECK(has(r.out, "journal  marketdata  healthy  tcp://127.0.0.1:45678"));
}

TEST_CASE("cli: tradebus halt/resume go through the control plane and onto the bus") {
    zmq::context_t ctx;
    temp_dir dir;
    broker_process broker(ctx, dir);
    // A sniffer on sys.trading, its endpoints from the broker's own TOML; it runs until Ctrl-C.
    cli_process sniff(dir, "sniff-trading",
                      {"sniff", "--json", "--config", broker.config_path.string(), "sys.trading"});

    // Halt until the sniffer has printed one (its subscription may arrive after the first).
    const auto guard = std::chrono::steady_clock::now() + 20s;
    int halts = 0;
    while (sniff.stdout_text().empty() && std::chrono::steady_clock::now() < guard) {
        const auto r = run_cli(
            dir, "halt-" + std::to_string(++halts),
            {"halt", "--control", broker.control, "--reason", "it test", "--by", "tester@it"});
        REQUIRE(r.status == 0);
        CHECK(has(r.out, "[by tester@it: it test]"));
    }
    const auto first = lines_of(sniff.stdout_text()).at(0);
    CAPTURE(first);
    CHECK(valid_json(first));
    CHECK(has(first, R"("topic":"sys.trading","v":1,"type":"trading_state","src":"broker",)"));
    CHECK(has(first, R"("data":{"state":"halted","reason":"it test","by":"tester@it","symbol":"",)"
                     R"("strategy":""})"));
    CHECK(broker.status().trading == schema::trading_state::halted);

    auto r = run_cli(dir, "resume", {"resume", "--control", broker.control});
    CHECK(r.status == 0);
    CHECK(broker.status().trading == schema::trading_state::active);
    r = run_cli(dir, "status-after", {"status", "--control", broker.control, "--json"});
    CHECK(has(r.out, R"("trading_state":"active")"));

    // Ctrl-C ends the sniffer cleanly.
    sniff.proc->signal(SIGINT);
    CHECK(sniff.wait() == 0);
    CHECK(has(sniff.stdout_text(), R"("state":"active")"));
}

TEST_CASE("cli: a broker that does not answer gives a clear message and exit 1") {
    temp_dir dir;
    const auto nobody = free_tcp_endpoint();
    auto r = run_cli(dir, "status", {"status", "--control", nobody, "--timeout", "0.3"});
    CHECK(r.status == 1);
    CHECK(has(r.err, "no reply from the broker at " + nobody + " within 0.3s"));
    r = run_cli(dir, "halt", {"halt", "--control", nobody, "--timeout", "0.3"});
    CHECK(r.status == 1);
    CHECK(has(r.err, "the trading state is unknown"));
}

// The seq of a sniff --json line.
std::uint64_t seq_of(const std::string& line) {
    const auto at = line.find("\"seq\":");
    return at == std::string::npos ? 0 : std::stoull(line.substr(at + 6));
}

TEST_CASE("cli: tradebus sniff --last prints the cached quote per symbol at once, then live") {
    zmq::context_t ctx;
    temp_dir dir;
    broker_process broker(ctx, dir);  // default [lvc]: md.tick. and md.bar.
    publisher pub(ctx, broker.xsub);
    {
        // Nobody subscribes to market data: the broker caches it anyway.
        subscriber probes(ctx, broker.xpub, {"test.probe"});
        wait_until_flowing(pub, probes, "test.probe");
    }
    // A few quotes, then the market goes quiet.
    for (std::uint64_t seq = 1; seq <= 5; ++seq) pub.send("md.tick.AAPL", sample_tick("AAPL", seq));
    for (std::uint64_t seq = 1; seq <= 3; ++seq) pub.send("md.tick.MSFT", sample_tick("MSFT", seq));
    control_client control(ctx, broker.control);
    (void)wait_snapshot(control, "md.tick.", [](const cached_snapshot& s) {
        return s.pairs.size() == 2 && s.pairs[0].body == sample_tick("AAPL", 5) &&
               s.pairs[1].body == sample_tick("MSFT", 3);
    });
    // Nothing is published now: the first two lines can only come from the cache.
    cli_process sniff(dir, "sniff-last",
                      {"sniff", "--last", "--json", "--count", "4", "--xpub", broker.xpub,
                       "--control", broker.control, "md.tick.*"});
    const auto cached_by = std::chrono::steady_clock::now() + 15s;
    while (lines_of(sniff.stdout_text()).size() < 2 &&
           std::chrono::steady_clock::now() < cached_by && sniff.proc->running()) {
        std::this_thread::sleep_for(20ms);  // polling the output file, not a readiness guess
    }
    auto lines = lines_of(sniff.stdout_text());
    CAPTURE(sniff.stderr_text());
    REQUIRE(lines.size() == 2);
    CHECK(valid_json(lines[0]));
    CHECK(lines[0].rfind(R"({"cached":true,"topic":"md.tick.AAPL",)", 0) == 0);
    CHECK(seq_of(lines[0]) == 5);
    CHECK(lines[1].rfind(R"({"cached":true,"topic":"md.tick.MSFT",)", 0) == 0);
    CHECK(seq_of(lines[1]) == 3);

    // Live traffic resumes, starting with a repeat of the cached AAPL #5: never shown twice.
    std::uint64_t aapl = 5, msft = 3;
    const auto guard = std::chrono::steady_clock::now() + 15s;
    while (sniff.proc->running() && std::chrono::steady_clock::now() < guard) {
        pub.send("md.tick.AAPL", sample_tick("AAPL", 5));
        pub.send("md.tick.AAPL", sample_tick("AAPL", ++aapl));
        pub.send("md.tick.MSFT", sample_tick("MSFT", ++msft));
        std::this_thread::sleep_for(20ms);  // pacing, not readiness
    }
    REQUIRE(sniff.wait() == 0);
    lines = lines_of(sniff.stdout_text());
    REQUIRE(lines.size() == 4);
    std::uint64_t last_aapl = 5, last_msft = 3;
    for (std::size_t i = 2; i < 4; ++i) {
        CHECK(valid_json(lines[i]));
        CHECK_FALSE(has(lines[i], "\"cached\""));
        auto& last = has(lines[i], R"("topic":"md.tick.AAPL")") ? last_aapl : last_msft;
        CHECK(seq_of(lines[i]) > last);  // no duplicate, nothing older than the cache
        last = seq_of(lines[i]);
    }
    CHECK(sniff.stderr_text().empty());
}

TEST_CASE(
    "cli: tradebus sniff --last on a prefix the cache does not keep says so and follows live") {
    zmq::context_t ctx;
    temp_dir dir;
    broker_process broker(ctx, dir);
    publisher pub(ctx, broker.xsub);
    cli_process sniff(dir, "sniff-last-none",
                      {"sniff", "--last", "--count", "1", "--xpub", broker.xpub, "--control",
                       broker.control, "exec.fill."});
    const auto guard = std::chrono::steady_clock::now() + 15s;
    std::uint64_t seq = 0;
    while (sniff.proc->running() && std::chrono::steady_clock::now() < guard) {
        pub.send("exec.fill.AAPL", sample_tick("AAPL", ++seq));
        std::this_thread::sleep_for(20ms);  // pacing, not readiness
    }
    REQUIRE(sniff.wait() == 0);
    CHECK(has(sniff.stderr_text(), "keeps no last values under \"exec.fill.\""));
    const auto lines = lines_of(sniff.stdout_text());
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].rfind("(cached)", 0) == std::string::npos);
}

#else
TEST_CASE("cli: tradebus integration tests need the tradebus executable in this build") {
    MESSAGE("the tradebus target is not part of this build; skipped");
}
#endif
