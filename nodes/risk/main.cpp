// tradebus-risk: pre-trade risk checks, positions and the trading state (nodes/risk). All logic
// lives in tradebus::risk; the runtime does config, sockets, registration and the loop.
#include "tradebus/risk/risk_node.hpp"
#include "tradebus/runtime/node.hpp"

int main(int argc, char** argv) {
    return tradebus::runtime::run_node(argc, argv, "risk", &tradebus::risk::make_risk);
}
