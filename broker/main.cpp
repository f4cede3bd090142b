// tradebus-broker: common::daemon_main (flags, config errors, logging, signals, exit codes 0
// clean stop, 1 runtime error, 2 usage or config error) around the broker; the logic lives in
// tradebus::broker (ARCHITECTURE.md "Layout").
#include "tradebus/broker/broker.hpp"
#include "tradebus/common/daemon.hpp"

int main(int argc, char** argv) {
    using namespace tradebus;
    return common::daemon_main(
        argc, argv,
        {"tradebus-broker", "the XSUB/XPUB data plane and REQ/REP control plane",
         "broker TOML file (e.g. config/broker.toml)", false},
        [](const std::string& path) {
            auto cfg = std::make_shared<broker::broker_config>(broker::load_config(path));
            return common::daemon_run{cfg->name, cfg->log_level,
                                      [cfg] { return broker::run(*cfg); }};
        });
}
