// Whether the running doctest case has failed so far, for harness objects that act on scope
// exit (dump a child's log, keep a temp dir). Backed by a doctest listener in test_status.cpp.
#pragma once

namespace tradebus::test {

/// True when an assertion of the current test case failed, or an exception is unwinding.
[[nodiscard]] bool current_test_failed() noexcept;

}  // namespace tradebus::test
