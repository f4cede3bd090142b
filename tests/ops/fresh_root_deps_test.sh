#!/usr/bin/env bash
# ops.fresh_root_deps: the CI guard that scripts/install-deps.sh is complete, proven on a
# brand-new Debian 12 root (debootstrap minbase: no compiler, no project packages) instead of
# trusting whatever this machine has installed by hand. Inside that root it runs install-deps.sh
# on a copy of the source tree, then checks that every command the scripts and tests call is
# present (install-deps.sh --check), that CMake configures the plain build and the clang fuzz
# build (every find_package/pkg_check_modules), that clang++ links a libFuzzer target, and that
# clang-format runs with the repository's style. Fails when a package the repository
# needs is missing from install-deps.sh. Usage: fresh_root_deps_test.sh SOURCE_DIR.
# Exit 0 pass, 1 fail, 77 skipped (not root, no debootstrap). A few minutes; downloads cached.
set -uo pipefail

src=$(cd "${1:?usage: $0 SOURCE_DIR}" && pwd)
. "$(dirname "$0")/debian_root.sh"
debian_root_require

root=$(mktemp -d /var/tmp/tradebus-fresh-root.XXXXXX)
trap 'rm -rf "$root"' EXIT
debian_root_new "$root" || { echo "FAIL: cannot build a Debian 12 root (debootstrap)"; exit 1; }

# The source tree as a clean clone would have it, with this checkout's edits: the files git
# tracks (or would), nothing built.
mkdir -p "$root/home/src"
if git -C "$src" rev-parse >/dev/null 2>&1; then
    git -C "$src" ls-files -z --cached --others --exclude-standard |
        (cd "$src" && tar --null -T - -cf -) | tar -C "$root/home/src" -xf -
else
    (cd "$src" && tar --exclude='./build*' -cf - .) | tar -C "$root/home/src" -xf -
fi

debian_root_run "$root" '
    set -euo pipefail
    cd /home/src
    step() { printf "\n-- %s\n" "$*"; }
    step "scripts/install-deps.sh on a fresh root"
    ./scripts/install-deps.sh >/tmp/install-deps.log 2>&1 ||
        { tail -n 40 /tmp/install-deps.log; exit 1; }
    grep "^install-deps:" /tmp/install-deps.log
    step "every command the scripts call (install-deps.sh --check)"
    ./scripts/install-deps.sh --check
    step "cmake configure: the plain build, with tests and benchmarks"
    cmake -S . -B /tmp/build -DTRADEBUS_WARNINGS_AS_ERRORS=ON >/tmp/configure.log 2>&1 ||
        { cat /tmp/configure.log; exit 1; }
    step "cmake configure: the fuzz build (clang++)"
    CXX=clang++ cmake -S . -B /tmp/build-fuzz -DTRADEBUS_BUILD_FUZZ=ON \
        -DTRADEBUS_BUILD_BENCH=OFF >/tmp/configure-fuzz.log 2>&1 ||
        { cat /tmp/configure-fuzz.log; exit 1; }
    step "clang++ links a libFuzzer target with ASan + UBSan"
    printf "%s\n" "#include <cstddef>" "#include <cstdint>" \
        "extern \"C\" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }" \
        >/tmp/fuzz.cpp
    clang++ -fsanitize=fuzzer,address,undefined /tmp/fuzz.cpp -o /tmp/fuzz
    /tmp/fuzz -runs=10 >/tmp/fuzz.log 2>&1 || { cat /tmp/fuzz.log; exit 1; }
    step "clang-format runs with the repository style (the first step of scripts/test.sh)"
    clang-format --style=file common/process.cpp >/dev/null
    echo "fresh root: install-deps.sh installs everything the repository calls"
'
rc=$?
if [ "$rc" -ne 0 ]; then
    echo "FAIL: on a fresh Debian 12 root (exit $rc): scripts/install-deps.sh misses something above"
    exit 1
fi
echo "PASS"
