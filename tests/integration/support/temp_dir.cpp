#include "temp_dir.hpp"

#include <iostream>

#include "test_status.hpp"

namespace tradebus::test {

temp_dir::temp_dir() : common::scratch_dir("tradebus-it") {}

temp_dir::~temp_dir() {
    if (current_test_failed()) {
        keep();
        std::cerr << "temp_dir: kept " << path().string() << " (the test failed)\n";
    }
}

}  // namespace tradebus::test
