// The only doctest main of the integration binary: every *_test.cpp in this folder links into
// it, and doctest_discover_tests makes each TEST_CASE its own ctest entry.
#define DOCTEST_CONFIG_IMPLEMENT
#include "../common/doctest_main.hpp"

int main(int argc, char** argv) { return tradebus::test::run_doctest(argc, argv); }
