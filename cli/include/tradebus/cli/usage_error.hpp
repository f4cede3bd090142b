// The one exception the CLI's own argument checks throw (bad pattern, unreadable --config):
// run() turns it into "tradebus: <what>" on stderr and exit code 2, like a CLI11 parse error.
#pragma once

#include <stdexcept>

namespace tradebus::cli {

class usage_error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

}  // namespace tradebus::cli
