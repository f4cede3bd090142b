// tradebus-execution: the paper exchange that fills approved orders against the latest quote.
#include "tradebus/execution/execution_node.hpp"

int main(int argc, char** argv) {
    return tradebus::runtime::run_node(argc, argv, "execution",
                                       &tradebus::execution::make_execution);
}
