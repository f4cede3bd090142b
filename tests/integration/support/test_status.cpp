#include "test_status.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <exception>

namespace tradebus::test {

namespace {

std::atomic<bool> g_failed{false};

bool is_failure(int assert_type, bool failed) {
    return failed && (assert_type & doctest::assertType::is_warn) == 0;
}

// A listener, not a reporter: it only watches for failures and prints nothing.
struct failure_listener : doctest::IReporter {
    explicit failure_listener(const doctest::ContextOptions&) {}
    void report_query(const doctest::QueryData&) override {}
    void test_run_start() override {}
    void test_run_end(const doctest::TestRunStats&) override {}
    void test_case_start(const doctest::TestCaseData&) override { g_failed = false; }
    void test_case_reenter(const doctest::TestCaseData&) override {}
    void test_case_end(const doctest::CurrentTestCaseStats&) override {}
    void test_case_exception(const doctest::TestCaseException&) override { g_failed = true; }
    void subcase_start(const doctest::SubcaseSignature&) override {}
    void subcase_end() override {}
    void log_assert(const doctest::AssertData& ad) override {
        if (is_failure(ad.m_at, ad.m_failed)) g_failed = true;
    }
    void log_message(const doctest::MessageData& md) override {
        // FAIL / FAIL_CHECK arrive as messages with a check or require severity.
        if ((md.m_severity & (doctest::assertType::is_check | doctest::assertType::is_require)) !=
            0) {
            g_failed = true;
        }
    }
    void test_case_skipped(const doctest::TestCaseData&) override {}
};

}  // namespace

DOCTEST_REGISTER_LISTENER("tradebus_failure_flag", 1, failure_listener);

bool current_test_failed() noexcept { return g_failed || std::uncaught_exceptions() > 0; }

}  // namespace tradebus::test
