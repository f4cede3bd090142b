// A fresh directory per test for configs, logs and ipc:// sockets (common::scratch_dir).
// Removed on scope exit when the test passed; kept (and its path printed) when it failed, for
// the logs inside.
#pragma once

#include "tradebus/common/child_process.hpp"

namespace tradebus::test {

class temp_dir : public common::scratch_dir {
  public:
    temp_dir();  // $TMPDIR/tradebus-it-XXXXXX (or /tmp)
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
};

}  // namespace tradebus::test
