#include "tradebus/common/daemon.hpp"

#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "tradebus/common/config.hpp"
#include "tradebus/common/process.hpp"

namespace tradebus::common {

int daemon_main(int argc, char** argv, const daemon_options& options,
                const std::function<daemon_run(const std::string& config_path)>& load) {
    CLI::App app{options.exe + ": " + options.description, options.exe};
    std::string config_path;
    bool check_only = false;
    app.add_option("-c,--config", config_path, options.config_help)->required();
    app.add_flag("--check-config", check_only, "validate the config, print the result, exit");
    app.set_version_flag("--version", std::string(version()));
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "%s: %s (see --help)\n", options.exe.c_str(), e.what());
        return 2;
    }

    daemon_run d;
    try {
        d = load(config_path);
    } catch (const config_error& e) {
        // what() is one line per error, then the count: "N config errors in FILE".
        const std::string text = e.what();
        const auto last = text.rfind('\n') + 1;  // npos + 1 == 0 when there is one line
        std::fprintf(stderr, "%s%s: %s, not starting\n", text.substr(0, last).c_str(),
                     options.exe.c_str(), text.substr(last).c_str());
        return 2;
    }
    if (check_only) {
        std::printf("%s is valid\n", config_path.c_str());
        return 0;
    }
    init_logging(d.log_name, d.log_level);
    install_stop_signals();
    if (options.reload_signal) install_reload_signal();
    try {
        return d.run();
    } catch (const std::exception& e) {
        spdlog::critical("{}: {}", options.exe, e.what());
        std::fprintf(stderr, "%s: %s\n", options.exe.c_str(), e.what());
        return 1;
    }
}

}  // namespace tradebus::common
