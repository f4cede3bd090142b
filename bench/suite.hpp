// The whole benchmark suite behind tradebus-bench: starts the targets, runs every section in
// order (forwarding, loss, latency, pipeline, codec, journal, memory, scaling, backtest, python,
// orders, peers), prints one table and optionally writes RESULTS.md. Quick mode runs the same code
// with small counts.
#pragma once

#include <set>
#include <string>

#include "bus_target.hpp"

namespace tradebus::bench {

/// Section names, in the order they run. `python` and `orders` are left out of --quick runs
/// unless --only names them (ctest runs --quick: no Python node and no FIX session in the test
/// suite). `peers` runs in both modes, with whichever of redis-server and nats-server is
/// installed (an absent one is reported as skipped, never as a failure).
inline constexpr const char* section_names[] = {"forwarding", "loss",    "latency", "pipeline",
                                                "codec",      "journal", "memory",  "scaling",
                                                "backtest",   "python",  "orders",  "peers"};

struct suite_options {
    bool quick = false;
    std::string markdown_path;  // write RESULTS.md here when set
    executables exe;
    std::string source_dir;      // for the git sha in RESULTS.md
    unsigned rounds = 0;         // forwarding rounds per target; 0 = 9 (full) or 1 (quick)
    std::set<std::string> only;  // run only these sections; empty = all
    bool keep_temp = false;      // keep the temp dir (configs, logs) for inspection
};

/// Runs the suite; returns the process exit code: 0 when every section ran (whether or not
/// it met its target), 1 when a section failed (its error is in the table and on stderr).
int run_suite(const suite_options& opts, int argc, char** argv);

}  // namespace tradebus::bench
