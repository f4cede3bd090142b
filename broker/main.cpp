// tradebus-broker: parses flags, loads and checks the config, runs the broker; the logic lives
// in tradebus::broker (ARCHITECTURE.md "Layout"). Exit codes: 0 clean stop, 1 runtime error,
// 2 usage or config error.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "tradebus/broker/broker.hpp"
#include "tradebus/common/config.hpp"
#include "tradebus/common/process.hpp"

int main(int argc, char** argv) {
    using namespace tradebus;
    CLI::App app{"tradebus-broker: the XSUB/XPUB data plane and REQ/REP control plane"};
    std::string config_path;
    bool check_only = false;
    app.add_option("--config", config_path, "broker TOML file (e.g. config/broker.toml)")
        ->required();
    app.add_flag("--check-config", check_only, "validate the config, print the result, exit");
    app.set_version_flag("--version", std::string(common::version()));
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "tradebus-broker: %s (see --help)\n", e.what());
        return 2;
    }

    broker::broker_config cfg;
    try {
        cfg = broker::load_config(config_path);
    } catch (const common::config_error& e) {
        // what() is one line per error, then the count: "N config errors in FILE".
        const std::string text = e.what();
        const auto last = text.rfind('\n') + 1;  // npos + 1 == 0 when there is one line
        std::fprintf(stderr, "%stradebus-broker: %s, not starting\n", text.substr(0, last).c_str(),
                     text.substr(last).c_str());
        return 2;
    }
    if (check_only) {
        std::printf("%s is valid\n", config_path.c_str());
        return 0;
    }
    common::init_logging(cfg.name, cfg.log_level);
    common::install_stop_signals();
    return broker::run(cfg);
}
