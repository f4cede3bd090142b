#!/usr/bin/env bash
# Installs exactly the Debian 12 packages tradebus needs that are not installed yet.
# Idempotent: when everything is present it only runs dpkg-query (well under a second).
set -euo pipefail

packages=(
  build-essential cmake pkg-config   # compiler, build system
  libzmq3-dev cppzmq-dev             # sockets
  libmsgpack-cxx-dev                 # wire encoding
  libspdlog-dev                      # logging
  libtomlplusplus-dev                # configuration
  libcli11-dev                       # command-line parsing (tradebus CLI, every binary's flags)
  libsystemd-dev                     # sd_notify: READY=1 and watchdog under Type=notify
  doctest-dev                        # unit and integration tests
  clang libclang-rt-14-dev           # libFuzzer targets and their short CI run
  libbenchmark-dev                   # codec micro-benchmarks (bench/)
  iproute2                           # network-namespace LAN test (ip netns, veth)
  jq                                 # LAN test reads `tradebus status --json`
  systemd                            # systemd-analyze verify on our unit files
  python3                            # protocol conformance test: a client written from PROTOCOL.md
  python3-msgpack python3-zmq
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=()
if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
