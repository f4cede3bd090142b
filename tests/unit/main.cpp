// The only doctest main: every *_test.cpp in this folder links into one binary.
#define DOCTEST_CONFIG_IMPLEMENT
#include "../common/doctest_main.hpp"

int main(int argc, char** argv) { return tradebus::test::run_doctest(argc, argv); }
