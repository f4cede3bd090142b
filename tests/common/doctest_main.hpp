// The doctest main of each test binary. Beyond doctest's own, it fails a run whose filter
// selected no test case: ctest runs one TEST_CASE per entry by name, and a name that does not
// round-trip through ctest (a ';' splits it into two entries) would otherwise "pass" by running
// nothing.
#pragma once

#include <doctest/doctest.h>

#include <iostream>

namespace tradebus::test {

struct selected_counter : doctest::IReporter {
    explicit selected_counter(const doctest::ContextOptions&) {}
    void report_query(const doctest::QueryData&) override {}
    void test_run_start() override {}
    void test_run_end(const doctest::TestRunStats& stats) override {
        selected() = stats.numTestCasesPassingFilters;
    }
    void test_case_start(const doctest::TestCaseData&) override {}
    void test_case_reenter(const doctest::TestCaseData&) override {}
    void test_case_end(const doctest::CurrentTestCaseStats&) override {}
    void test_case_exception(const doctest::TestCaseException&) override {}
    void subcase_start(const doctest::SubcaseSignature&) override {}
    void subcase_end() override {}
    void log_assert(const doctest::AssertData&) override {}
    void log_message(const doctest::MessageData&) override {}
    void test_case_skipped(const doctest::TestCaseData&) override {}
    static unsigned& selected() {
        static unsigned n = 0;
        return n;
    }
};

inline int run_doctest(int argc, char** argv) {
    doctest::Context context(argc, argv);
    const int rc = context.run();
    if (context.shouldExit()) return rc;  // --help, --list-test-cases, ...
    if (rc == 0 && selected_counter::selected() == 0) {
        std::cerr << "no test case matched the filter: failing instead of passing vacuously\n";
        return 1;
    }
    return rc;
}

}  // namespace tradebus::test

DOCTEST_REGISTER_LISTENER("tradebus_selected_counter", 2, tradebus::test::selected_counter);
