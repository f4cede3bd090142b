// tradebus-journal: appends every message on the bus to a durable, checksummed log on disk.
#include "tradebus/journal/journal_node.hpp"

int main(int argc, char** argv) {
    return tradebus::runtime::run_node(argc, argv, "journal", &tradebus::journal::make_journal);
}
