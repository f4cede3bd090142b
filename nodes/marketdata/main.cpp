// tradebus-marketdata: publishes quotes and bars from a CSV replay or a synthetic walk.
#include "tradebus/marketdata/marketdata_node.hpp"

int main(int argc, char** argv) {
    return tradebus::runtime::run_node(argc, argv, "marketdata",
                                       &tradebus::marketdata::make_marketdata);
}
