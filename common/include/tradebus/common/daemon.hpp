// The one main of the broker and every node (ARCHITECTURE.md "The loop"): the same flags, the
// same config-error report, the same logging and signals, the same exit codes, whichever
// daemon it is.
#pragma once

#include <functional>
#include <string>

namespace tradebus::common {

struct daemon_options {
    std::string exe;             // "tradebus-broker", "tradebus-risk": --help, error prefixes
    std::string description;     // the first line of --help
    std::string config_help;     // what -c/--config names
    bool reload_signal = false;  // SIGHUP asks for a config reload instead of terminating
};

/// What a daemon's config, loaded and checked, gives daemon_main: the logger's name and level,
/// and the run itself (returns the exit status).
struct daemon_run {
    std::string log_name, log_level;
    std::function<int()> run;
};

/// Parses -c/--config FILE, --check-config, --version and --help; calls `load` with the file,
/// which throws config_error (every problem, file:line:col) when it is not valid. Then, for
/// --check-config, prints "FILE is valid"; else sets up logging and the stop (and reload)
/// signals and runs. Exit codes: 0 clean stop (or --help, --version, a valid --check-config),
/// 1 runtime error (the exception logged and on stderr), 2 usage or config error (on stderr,
/// "EXE: ..., not starting", before anything binds).
int daemon_main(int argc, char** argv, const daemon_options& options,
                const std::function<daemon_run(const std::string& config_path)>& load);

}  // namespace tradebus::common
