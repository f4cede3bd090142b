#!/usr/bin/env bash
# The test command of the README quick start (.ci/run calls exactly this). On a fresh Debian 12
# machine it installs what is missing, builds with warnings as errors, runs every test, then
# runs them again in an AddressSanitizer + UndefinedBehaviorSanitizer build, then gives each
# libFuzzer target a short bounded run. Set TRADEBUS_SKIP_ASAN=1 / TRADEBUS_SKIP_FUZZ=1 to
# shorten a local loop; CI never sets them.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
jobs=${TRADEBUS_JOBS:-2}

# Three builds of the same sources (plain, sanitized, fuzz) dominate the run: compile through
# ccache, so a source compiled before with the same flags (an earlier run, another checkout of
# the same tree: paths are hashed relative to it) is not compiled again.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)

step() { printf '\n==> %s\n' "$*"; }

step "format check (clang-format --dry-run --Werror)"
git ls-files -- '*.cpp' '*.hpp' | xargs -r clang-format --dry-run --Werror

step "build (warnings as errors)"
cmake -S . -B build -DTRADEBUS_WARNINGS_AS_ERRORS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "${launcher[@]}" >/dev/null
cmake --build build -j"$jobs"
ln -sf build/compile_commands.json compile_commands.json

step "tests"
ctest --test-dir build --output-on-failure -j"$jobs" --timeout 300

if [[ "${TRADEBUS_SKIP_ASAN:-0}" != 1 ]]; then
  step "build (AddressSanitizer + UndefinedBehaviorSanitizer)"
  cmake -S . -B build-asan -DTRADEBUS_WARNINGS_AS_ERRORS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DTRADEBUS_SANITIZE=address,undefined -DTRADEBUS_BUILD_BENCH=OFF "${launcher[@]}" >/dev/null
  cmake --build build-asan -j"$jobs"
  step "tests under ASan + UBSan"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs" --timeout 600
fi

if [[ "${TRADEBUS_SKIP_FUZZ:-0}" != 1 ]]; then
  step "fuzz (libFuzzer, bounded runs)"
  CXX=clang++ cmake -S . -B build-fuzz -DTRADEBUS_BUILD_FUZZ=ON -DTRADEBUS_BUILD_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" >/dev/null
  cmake --build build-fuzz -j"$jobs" --target tradebus_fuzz_targets
  ./tests/fuzz/run.sh build-fuzz "${TRADEBUS_FUZZ_SECONDS:-20}"
fi

step "all tests passed"
