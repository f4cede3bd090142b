// tradebus-venue-sim: the FIX 4.4 venue simulator (fix/sim/README.md). As a daemon:
//   tradebus-venue-sim --config FILE [--check-config]
// As a client of a running simulator's control endpoint (prints the JSON reply; exit 0, 1 when
// the reply is an error or none came within 5 s, 2 for a bad command line):
//   tradebus-venue-sim --control ENDPOINT CMD [ARGS...]   (or: tradebus-venue-sim ctl ENDPOINT ...)
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>
#include <zmq.hpp>

#include "tradebus/common/config.hpp"
#include "tradebus/common/daemon.hpp"
#include "tradebus/fix/sim/control.hpp"
#include "tradebus/fix/sim/sim_config.hpp"
#include "tradebus/fix/sim/venue_sim.hpp"

namespace {

constexpr const char* exe = "tradebus-venue-sim";

int client_main(int argc, char** argv) {
    if (argc < 4) {
        std::fprintf(stderr,
                     "usage: %s --control ENDPOINT CMD [ARGS...]\n"
                     "  CMD: quote SYMBOL BID ASK [BID_QTY ASK_QTY] | walk SYMBOL | positions |\n"
                     "       executions | orders CLIENT | drop CLIENT | status | json TEXT\n",
                     exe);
        return 2;
    }
    const std::string endpoint = argv[2];
    if (auto why = tradebus::common::endpoint_error(endpoint)) {
        std::fprintf(stderr, "%s: --control %s: %s\n", exe, endpoint.c_str(), why->c_str());
        return 2;
    }
    std::vector<std::string> args(argv + 3, argv + argc);
    std::string error;
    auto request = tradebus::fix::sim::request_for(args, error);
    if (!request) {
        std::fprintf(stderr, "%s: %s\n", exe, error.c_str());
        return 2;
    }
    try {
        zmq::context_t ctx;
        zmq::socket_t req(ctx, zmq::socket_type::req);
        req.set(zmq::sockopt::linger, 0);
        req.set(zmq::sockopt::rcvtimeo, 5000);
        req.set(zmq::sockopt::sndtimeo, 5000);
        req.connect(endpoint);
        if (!req.send(zmq::buffer(*request), zmq::send_flags::none)) {
            std::fprintf(stderr, "%s: %s did not take the request within 5 s\n", exe,
                         endpoint.c_str());
            return 1;
        }
        zmq::message_t reply;
        if (!req.recv(reply, zmq::recv_flags::none)) {
            std::fprintf(stderr, "%s: no reply from %s within 5 s\n", exe, endpoint.c_str());
            return 1;
        }
        const std::string text = reply.to_string();
        std::printf("%s\n", text.c_str());
        return text.starts_with("{\"error\"") ? 1 : 0;
    } catch (const zmq::error_t& e) {
        std::fprintf(stderr, "%s: %s: %s\n", exe, endpoint.c_str(), e.what());
        return 1;
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc >= 2 &&
        (std::string_view(argv[1]) == "--control" || std::string_view(argv[1]) == "ctl")) {
        return client_main(argc, argv);
    }
    tradebus::common::daemon_options options;
    options.exe = exe;
    options.description = "a FIX 4.4 venue simulator (QuickFIX acceptor) for tests and demos";
    options.config_help = "the simulator's TOML config (config/venue-sim.toml)";
    return tradebus::common::daemon_main(argc, argv, options, [](const std::string& path) {
        auto cfg = tradebus::fix::sim::load_sim_config(path);
        tradebus::common::daemon_run d;
        d.log_name = "venue-sim";
        d.log_level = cfg.log_level;
        d.run = [cfg]() {
            zmq::context_t ctx;
            tradebus::fix::sim::venue v(cfg, ctx);
            return v.run();
        };
        return d;
    });
}
