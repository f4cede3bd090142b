// tradebus-bench: forwarding throughput, loss, latency, pipeline latency, codec, journal, memory,
// scaling, backtest, a Python strategy node's tick rate, order latency (FIX venue vs paper
// exchange) and Redis pub/sub and NATS as peers, tradebus against its baselines in the same run;
// prints one table (bench/README.md).
// Exit codes: 0 every section ran, 1 a section failed, 2 usage error.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <iterator>
#include <string>

#include "suite.hpp"

int main(int argc, char** argv) {
    using namespace tradebus::bench;
    CLI::App app{"tradebus-bench: tradebus-broker vs bare zmq_proxy, codec, journal, memory"};
    suite_options o;
    o.exe = {TRADEBUS_BENCH_BROKER_EXE,     TRADEBUS_BENCH_PROXY_EXE,    TRADEBUS_BENCH_CODEC_EXE,
             TRADEBUS_BENCH_MARKETDATA_EXE, TRADEBUS_BENCH_STRATEGY_EXE, TRADEBUS_BENCH_RISK_EXE,
             TRADEBUS_BENCH_EXECUTION_EXE,  TRADEBUS_BENCH_TRADEBUS_EXE, TRADEBUS_BENCH_PYTHON3_EXE,
             TRADEBUS_BENCH_VENUE_SIM_EXE};
    o.source_dir = TRADEBUS_SOURCE_DIR;
    std::vector<std::string> only;
    app.add_flag("--quick", o.quick, "small counts: checks the suite runs (well under a minute)");
    app.add_option("--markdown", o.markdown_path, "also write the results as Markdown to FILE")
        ->option_text("FILE");
    app.add_option("--rounds", o.rounds, "forwarding runs per target (default 9, quick 1)")
        ->check(CLI::Range(1u, 50u));
    app.add_option("--only", only, "run only these sections")
        ->check(CLI::IsMember(
            std::vector<std::string>(std::begin(section_names), std::end(section_names))))
        ->delimiter(',');
    app.add_option("--broker", o.exe.broker, "tradebus-broker executable")
        ->check(CLI::ExistingFile);
    app.add_option("--proxy", o.exe.proxy, "tradebus-bench-proxy executable")
        ->check(CLI::ExistingFile);
    app.add_option("--codec", o.exe.codec, "tradebus-bench-codec executable")
        ->check(CLI::ExistingFile);
    app.add_option("--venue-sim", o.exe.venue_sim, "tradebus-venue-sim for the orders section")
        ->check(CLI::ExistingFile);
    app.add_option("--python", o.exe.python, "python3 for the python section's node")
        ->check(CLI::ExistingFile);
    app.add_option("--redis-server", o.exe.redis_server,
                   "redis-server for the peers section (default: PATH, /usr/bin, /usr/sbin)")
        ->check(CLI::ExistingFile);
    app.add_option("--nats-server", o.exe.nats_server,
                   "nats-server for the peers section (default: PATH, /usr/bin, /usr/sbin)")
        ->check(CLI::ExistingFile);
    app.add_flag("--keep-temp", o.keep_temp, "keep the temp dir (configs, child logs)");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "tradebus-bench: %s (see --help)\n", e.what());
        return 2;
    }
    o.only.insert(only.begin(), only.end());
    std::signal(SIGPIPE, SIG_IGN);
    try {
        return run_suite(o, argc, argv);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "tradebus-bench: %s\n", e.what());
        return 1;
    }
}
