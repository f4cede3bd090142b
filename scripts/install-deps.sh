#!/usr/bin/env bash
# Installs exactly the Debian 12 packages tradebus needs that are not installed yet, then checks
# that every command the repository's scripts and tests call is present. Idempotent: when
# everything is present it only runs dpkg-query and `command -v` (well under a second).
#
# This file is the one list of what a machine needs. A script, test or CMake file that starts
# calling a new tool adds its package to `packages` and the command to `commands`; the CI guard
# (tests/ops/fresh_root_deps_test.sh) runs this script on a brand-new Debian 12 root and fails
# when anything listed here does not end up installed, or the build cannot be configured there.
#   install-deps.sh          install what is missing, then check
#   install-deps.sh --check  only check (exit 1 and name what is missing)
# It also installs the one npm package the build needs (the FIX data dictionaries, pinned in
# fix/dictionary/package-lock.json).
set -euo pipefail

packages=(
  build-essential cmake pkg-config   # compiler, build system (dpkg-dev: dpkg-shlibdeps for cpack)
  ccache                             # test.sh: unchanged sources are not compiled again
  git                                # test.sh lists the files to format-check; bench records the sha
  libzmq3-dev cppzmq-dev             # sockets
  libmsgpack-cxx-dev                 # wire encoding
  libspdlog-dev                      # logging
  libtomlplusplus-dev                # configuration
  libcli11-dev                       # command-line parsing (tradebus CLI, every binary's flags)
  libhowardhinnant-date-dev tzdata   # trading session time zones ([session], system tz database)
  libsystemd-dev                     # sd_notify: READY=1 and watchdog under Type=notify
  doctest-dev                        # unit and integration tests
  clang-format                       # test.sh: format check (clang-format --dry-run --Werror)
  clang libclang-rt-14-dev           # libFuzzer targets and their short CI run
  libbenchmark-dev                   # codec micro-benchmarks (bench/)
  libhiredis-dev libnats-dev         # bench/ peers section: Redis and NATS C clients (the servers,
                                     # redis-server and nats-server, are optional: not installed)
  iproute2                           # network-namespace LAN test (ip netns, veth)
  jq                                 # LAN test reads `tradebus status --json`
  prometheus                         # promtool: checks and unit-tests config/prometheus/ rules
  systemd                            # systemd-analyze verify on our unit files
  debootstrap                        # CI guard: a minimal Debian 12 root for install checks
  file                               # cpack -G DEB: dpkg-shlibdeps' Depends need file(1)
  python3                            # scripts/gen_sample_quotes.py (regenerates the sample CSV)
  python3-zmq python3-msgpack        # the Python node package (python/): its only dependencies
  python3-pytest                     # its tests (python/tests, run by ctest)
  python3-venv python3-wheel         # its install test: pip install ./python into a venv, offline
  chromium                           # the web page's integration test (headless, DevTools pipe)
  libquickfix-dev                    # FIX 4.4 sessions (fix/: the FIX venue, source, simulator)
  openssl                            # the FIX TLS test makes its certificates with openssl(1)
)
# npm installs the FIX data dictionaries (fix/dictionary/package-lock.json, below). Debian's
# `npm` package, unless an npm is already there (e.g. NodeSource's nodejs, which bundles it
# and conflicts with Debian's npm).
command -v npm >/dev/null 2>&1 || packages+=(npm)
packages+=(ca-certificates)  # npm ci fetches over HTTPS (a minimal Debian root has no CA bundle)

# Every external command the scripts (scripts/, tests/**/*.sh, .ci/run), the CMake files and
# the tests call, beyond what every Debian system has (bash, coreutils, grep, sed, awk,
# util-linux: setsid, unshare, flock, mount).
commands=(
  c++ make cmake ctest cpack pkg-config dpkg-shlibdeps dpkg-deb file ccache
  git clang++ clang-format
  ip jq promtool systemd-analyze debootstrap python3 chromium npm openssl
)

check() {
  local missing=()
  for c in "${commands[@]}"; do
    command -v "$c" >/dev/null 2>&1 || missing+=("$c")
  done
  if ((${#missing[@]} > 0)); then
    echo "install-deps: missing command(s): ${missing[*]}" >&2
    echo "install-deps: add the Debian package that provides each to 'packages' in $0" >&2
    return 1
  fi
}

if [[ "${1:-}" == "--check" ]]; then
  check
  exit
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$p")
done

if ((${#missing[@]} > 0)); then
  echo "install-deps: installing ${missing[*]}"
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
check

# The FIX 4.4 data dictionary QuickFIX loads (Debian ships none): jspurefix's data/FIX44.xml,
# the version and every dependency pinned with integrity hashes in package-lock.json. Into the
# source tree (fix/dictionary/node_modules, git-ignored); installed with the binaries.
dictionary_dir="$(cd "$(dirname "$0")/.." && pwd)/fix/dictionary"
if [[ ! -f "$dictionary_dir/node_modules/jspurefix/data/FIX44.xml" ||
      "$dictionary_dir/package-lock.json" -nt "$dictionary_dir/node_modules/.package-lock.json" ]]; then
  echo "install-deps: npm ci in $dictionary_dir (FIX data dictionaries)"
  npm ci --prefix "$dictionary_dir" --ignore-scripts --omit=dev --no-audit --no-fund --loglevel=error
fi
