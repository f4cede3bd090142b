// tradebus-strategy: indicator signals per symbol (nodes/strategy). All logic lives in
// tradebus::strategy; the runtime does config, sockets, registration and the loop.
#include "tradebus/runtime/node.hpp"
#include "tradebus/strategy/strategy_node.hpp"

int main(int argc, char** argv) {
    return tradebus::runtime::run_node(argc, argv, "strategy", &tradebus::strategy::make_strategy);
}
