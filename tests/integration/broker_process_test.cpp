// tradebus-broker as a process: flags, config errors (exit 2 before binding), runtime errors
// (exit 1), clean stops on SIGTERM/SIGINT (exit 0), and systemd notification.
#include "broker_process.hpp"

#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <thread>

#include "bus_clients.hpp"
#include "net.hpp"
#include "node_process.hpp"
#include "temp_dir.hpp"
#include "tradebus/common/proc_stats.hpp"

using namespace tradebus;
using namespace tradebus::test;

TEST_CASE("broker: --help, --version, --check-config and usage errors") {
    temp_dir dir;
    const auto exe = broker_executable();
    auto r = run_to_exit(exe, {"--help"}, dir.file("help.log"));
    CHECK(r.status == 0);
    CHECK(r.output.find("--config") != std::string::npos);
    CHECK(r.output.find("--check-config") != std::string::npos);

    r = run_to_exit(exe, {"--version"}, dir.file("version.log"));
    CHECK(r.status == 0);
    CHECK(r.output.find("0.") != std::string::npos);

    const std::string shipped = source_dir() + "/config/broker.toml";
    r = run_to_exit(exe, {"--config", shipped, "--check-config"}, dir.file("check.log"));
    CHECK(r.status == 0);
    CHECK(r.output.find(shipped + " is valid") != std::string::npos);

    r = run_to_exit(exe, {}, dir.file("noargs.log"));
    CHECK(r.status == 2);
    CHECK(r.output.find("--config is required") != std::string::npos);
    r = run_to_exit(exe, {"--config", shipped, "--bogus"}, dir.file("bogus.log"));
    CHECK(r.status == 2);
}

TEST_CASE("broker: each bad config file exits 2 with its file:line:col error") {
    temp_dir dir;
    struct row {
        const char* name;
        const char* toml;
        const char* expect;
    };
    const row rows[] = {
        {"unknown_key", "[broker]\nname = \"b\"\nnmae = \"x\"\n",
         "bad.toml:3:1: broker.nmae: unknown key (did you mean \"name\"?)"},
        {"unknown_table", "[hearbeat]\ninterval_ms = 5\n",
         "bad.toml:1:2: hearbeat: unknown key (did you mean \"heartbeat\"?)"},
        {"wrong_type", "[heartbeat]\ninterval_ms = \"fast\"\n",
         "bad.toml:2:15: heartbeat.interval_ms: expected an integer, got \"fast\""},
        {"out_of_range", "[heartbeat]\nliveness = 0\n",
         "bad.toml:2:12: heartbeat.liveness: expected an integer in [1, 100], got 0"},
        {"bad_endpoint", "[endpoints]\nxsub = \"127.0.0.1:5550\"\n",
         "bad.toml:2:8: endpoints.xsub: expected a ZeroMQ endpoint (tcp://host:port or "
         "ipc://path): missing transport"},
        {"bad_port", "[endpoints]\ncontrol = \"tcp://127.0.0.1:99999\"\n",
         "bad.toml:2:11: endpoints.control: expected a ZeroMQ endpoint"},
        {"unknown_dependency", "[pipeline.strategy]\ndepends_on = [\"marketdat\"]\n",
         "bad.toml:2:14: pipeline.strategy.depends_on: expected names of [pipeline] nodes, got "
         "\"marketdat\""},
        {"cycle", "[pipeline.a]\ndepends_on = [\"b\"]\n[pipeline.b]\ndepends_on = [\"a\"]\n",
         "bad.toml:2:14: pipeline.a.depends_on: expected no dependency cycle, got a -> b -> a"},
        {"syntax", "[broker\n", "bad.toml:1:8: (syntax):"},
    };
    for (const auto& r : rows) {
        CAPTURE(r.name);
        const auto path = dir.write("bad.toml", r.toml);
        const auto result = run_to_exit(broker_executable(), {"--config", path.string()},
                                        dir.file(std::string(r.name) + ".log"));
        CHECK(result.status == 2);
        // The file path as given, then line:col.
        std::string expect = r.expect;
        expect.replace(0, std::string("bad.toml").size(), path.string());
        CAPTURE(result.output);
        CHECK(result.output.find(expect) != std::string::npos);
        CHECK(result.output.find("tradebus-broker: ") != std::string::npos);
        CHECK(result.output.find(", not starting") != std::string::npos);
        CHECK(result.output.find("ready") == std::string::npos);  // never got to binding
        // --check-config reports the same problem with the same exit code.
        const auto checked =
            run_to_exit(broker_executable(), {"--config", path.string(), "--check-config"},
                        dir.file(std::string(r.name) + ".check.log"));
        CHECK(checked.status == 2);
        CHECK(checked.output.find(expect) != std::string::npos);
    }

    // Several problems: all reported in one run.
    const auto path =
        dir.write("many.toml", "[broker]\nname = 5\n[data]\nsndhwm = -1\n[extra]\nx = 1\n");
    const auto many =
        run_to_exit(broker_executable(), {"--config", path.string()}, dir.file("many.log"));
    CHECK(many.status == 2);
    CHECK(many.output.find("broker.name") != std::string::npos);
    CHECK(many.output.find("data.sndhwm") != std::string::npos);
    CHECK(many.output.find("extra: unknown key") != std::string::npos);
    CHECK(many.output.find("3 config errors") != std::string::npos);

    const auto missing = run_to_exit(
        broker_executable(), {"--config", dir.file("nope.toml").string()}, dir.file("missing.log"));
    CHECK(missing.status == 2);
    CHECK(missing.output.find("cannot open") != std::string::npos);
}

TEST_CASE("broker: an endpoint already in use is a runtime error (exit 1)") {
    temp_dir dir;
    tcp_listener busy;
    const auto path = dir.write(
        "broker.toml", "[endpoints]\nxsub = \"tcp://127.0.0.1:" + std::to_string(busy.port()) +
                           "\"\nxpub = \"" + free_tcp_endpoint() + "\"\ncontrol = \"" +
                           free_tcp_endpoint() + "\"\n");
    const auto r =
        run_to_exit(broker_executable(), {"--config", path.string()}, dir.file("busy.log"));
    CHECK(r.status == 1);
    CHECK(r.output.find("cannot bind xsub endpoint") != std::string::npos);
}

TEST_CASE("broker: SIGTERM and SIGINT stop it cleanly with exit 0") {
    for (int sig : {SIGTERM, SIGINT}) {
        CAPTURE(sig);
        zmq::context_t ctx;
        temp_dir dir;
        broker_process broker(ctx, dir);
        const std::string log_before = broker.process().log();
        CHECK(log_before.find("ready: tradebus-broker") != std::string::npos);
        broker.process().signal(sig);
        const auto status = broker.process().wait_exit(10s);
        REQUIRE_MESSAGE(status, "the broker did not exit within 10 s of signal " << sig);
        CHECK(*status == 0);
        CHECK(broker.process().log().find("stop requested") != std::string::npos);
    }
}

TEST_CASE("broker: READY, WATCHDOG and STOPPING reach NOTIFY_SOCKET") {
    temp_dir dir;
    const auto sock_path = dir.file("notify.sock");
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", sock_path.c_str());
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    timeval tv{0, 100'000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

    std::string seen;
    const auto read_until = [&](std::string_view what, std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (seen.find(what) == std::string::npos &&
               std::chrono::steady_clock::now() < deadline) {
            char buf[4096];
            const ssize_t n = ::recv(fd, buf, sizeof buf, 0);  // waits at most 100 ms
            if (n > 0) seen.append(buf, static_cast<std::size_t>(n)).push_back('\n');
        }
        return seen.find(what) != std::string::npos;
    };

    {
        zmq::context_t ctx;
        broker_process broker(
            ctx, dir, {.env = {"NOTIFY_SOCKET=" + sock_path.string(), "WATCHDOG_USEC=200000"}});
        CHECK(read_until("READY=1", 10s));
        CHECK(read_until("WATCHDOG=1", 10s));
        CHECK(broker.stop() == 0);
        CHECK(read_until("STOPPING=1", 10s));
    }
    ::close(fd);
}

// Supervisors (systemd, the test harness, tradebus-bench) start daemons with stdin on /dev/null,
// which is always readable: a poll set that polled fd 0 by mistake (a zmq_pollitem_t with a
// null socket polls its fd field) spun the broker at 100% of a core while idle and starved
// the nodes sharing its machine. An idle broker and node must sleep until something arrives:
// heartbeats and status requests cost a few ms of CPU a second, a spin costs all of it.
TEST_CASE("broker and an idle node sleep in poll: no busy loop with stdin on /dev/null") {
    temp_dir dir;
    zmq::context_t ctx;
    broker_process broker(ctx, dir);  // no recorder, no CURVE, no metrics: the optional slots
    auto journal = start_journal(broker, dir, dir.file("journal"));
    const auto cpu = [](pid_t pid) {
        const auto s = common::read_cpu_seconds(pid);
        REQUIRE_MESSAGE(s.has_value(), "no /proc/" << pid << "/stat");
        return *s;
    };
    const double broker_before = cpu(broker.process().pid());
    const double journal_before = cpu(journal->pid());
    std::this_thread::sleep_for(2s);  // the interval measured, not a wait for an outcome
    const double broker_used = cpu(broker.process().pid()) - broker_before;
    const double journal_used = cpu(journal->pid()) - journal_before;
    INFO("CPU seconds over 2 s idle: broker ", broker_used, ", journal ", journal_used);
    CHECK(broker_used < 0.4);
    CHECK(journal_used < 0.4);
}
