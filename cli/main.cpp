// tradebus: the operator's command-line tool. Parsing and every command live in tradebus::cli
// (app.hpp); this only wires up the process: signals, the ZeroMQ context, the standard streams.
#include <unistd.h>

#include <iostream>
#include <vector>

#include "tradebus/cli/app.hpp"
#include "tradebus/common/process.hpp"

int main(int argc, char** argv) {
    tradebus::common::install_stop_signals();  // Ctrl-C ends sniff / --watch cleanly (exit 0)
    std::ios::sync_with_stdio(false);
    zmq::context_t ctx(1);
    tradebus::cli::environment env{std::cout, std::cerr, ctx, isatty(STDOUT_FILENO) == 1};
    const std::vector<std::string> args(argv, argv + argc);
    const int code = tradebus::cli::run(args, env);
    std::cout.flush();
    return code;
}
