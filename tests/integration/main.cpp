// The only doctest main of the integration binary: every *_test.cpp in this folder links into
// it, and doctest_discover_tests makes each TEST_CASE its own ctest entry.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
