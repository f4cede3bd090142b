#!/usr/bin/env bash
# ops.install_systemd_verify: `cmake --install` into a temporary DESTDIR with prefix /usr, then
# checks what landed where (binaries, launcher, units, config with installed paths), that the
# launcher starts the right executable from a config alone, that a reinstall keeps an edited
# config, and that `systemd-analyze verify` accepts the units with no warning at all.
# The node executables are the build's node-kinds.txt (cmake/NodeKinds.cmake), the nodes the
# installed broker.toml's [pipeline] (scripts/pipeline-nodes.sh).
# Usage: install_verify_test.sh CMAKE BUILD_DIR. Exit 0 pass, 1 fail, 77 skipped.
set -uo pipefail

cmake_exe=$1
build=$2
pipeline_nodes=$(cd "$(dirname "$0")/../.." && pwd)/scripts/pipeline-nodes.sh
skip=77
tmp=$(mktemp -d /tmp/tradebus-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
failures=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
check_file() { [ -f "$root$1" ] || fail "not installed: $1"; }
check_grep() {  # FILE PATTERN: the installed FILE has a line matching PATTERN
    grep -qE -- "$2" "$root$1" || fail "$1: no line matching '$2'"
}

if ! DESTDIR="$root" "$cmake_exe" --install "$build" --prefix /usr >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log"
    echo "FAIL: cmake --install $build --prefix /usr (DESTDIR=$root)"
    exit 1
fi

node_exes=$(while read -r _ path; do basename "$path"; done <"$build/node-kinds.txt")
[ -n "$node_exes" ] || fail "no node kind in $build/node-kinds.txt"
if ! pipeline=$("$pipeline_nodes" "$root/etc/tradebus/broker.toml" "$root/etc/tradebus/nodes")
then
    fail "the installed broker.toml's [pipeline] (scripts/pipeline-nodes.sh, above)"
fi
nodes=$(while read -r name _; do echo "$name"; done <<<"$pipeline")
for exe in tradebus-broker $node_exes tradebus tradebus-node; do
    [ -x "$root/usr/bin/$exe" ] || fail "not installed or not executable: /usr/bin/$exe"
done
units=/usr/lib/systemd/system
for unit in tradebus-broker.service tradebus-node@.service tradebus.target; do
    check_file "$units/$unit"
done
check_grep "$units/tradebus-broker.service" \
    '^ExecStart=/usr/bin/tradebus-broker --config /etc/tradebus/broker.toml$'
check_grep "$units/tradebus-node@.service" \
    '^ExecStart=/usr/bin/tradebus-node --config /etc/tradebus/nodes/%i.toml$'
check_grep "$units/tradebus-broker.service" '^Type=notify$'
check_grep "$units/tradebus-broker.service" '^SyslogIdentifier=tradebus-broker$'
check_grep "$units/tradebus-node@.service" '^SyslogIdentifier=tradebus-%i$'
check_grep "$units/tradebus-broker.service" '^StartLimitIntervalSec=0$'
check_grep "$units/tradebus-node@.service" '^StartLimitIntervalSec=0$'
check_grep "$units/tradebus-node@.service" '^Type=notify$'
for name in $nodes; do
    check_grep "$units/tradebus.target" "tradebus-node@$name\\.service"
    check_file "/etc/tradebus/nodes/$name.toml"
done
check_file /etc/tradebus/broker.toml
check_file /etc/tradebus/data/sample_quotes.csv
check_grep /etc/tradebus/nodes/journal.toml '^dir = "/var/lib/tradebus/journal"'
check_grep /etc/tradebus/broker.toml '^state_file = "/var/lib/tradebus/broker/trading.toml"$'
check_grep /etc/tradebus/broker.toml '^missing_state = "halted"$'
check_grep /etc/tradebus/nodes/marketdata.toml '^path = "/etc/tradebus/data/sample_quotes.csv"'
if grep -rn '@TB_' "$root$units" "$root/etc/tradebus"; then fail "unreplaced @TB_...@ above"; fi

# The installed binaries accept the installed config; the launcher picks the executable from
# [node] kind (the node itself refuses a config of another kind, so --check-config proves it).
"$root/usr/bin/tradebus-broker" --config "$root/etc/tradebus/broker.toml" --check-config \
    >"$tmp/out" 2>&1 || { cat "$tmp/out"; fail "installed broker.toml does not check"; }
for name in $nodes; do
    "$root/usr/bin/tradebus-node" --config "$root/etc/tradebus/nodes/$name.toml" \
        --check-config >"$tmp/out" 2>&1 ||
        { cat "$tmp/out"; fail "tradebus-node --config nodes/$name.toml --check-config"; }
done
printf '[node]\nname = "x"\n' >"$tmp/nokind.toml"
"$root/usr/bin/tradebus-node" --config "$tmp/nokind.toml" >"$tmp/out" 2>&1
rc=$?
if [ $rc -ne 2 ] || ! grep -q 'node.kind: missing' "$tmp/out"; then
    cat "$tmp/out"
    fail "launcher on a config without kind: exit $rc, want 2 + message"
fi
printf '[node] # the node\nkind = "../../bin/sh"\n' >"$tmp/badkind.toml"
"$root/usr/bin/tradebus-node" --config "$tmp/badkind.toml" >"$tmp/out" 2>&1
rc=$?
[ $rc -eq 2 ] || { cat "$tmp/out"; fail "launcher on kind \"../../bin/sh\": exit $rc, want 2"; }

# A reinstall keeps an operator's edited config and still rewrites the units.
echo "# edited by the operator" >>"$root/etc/tradebus/broker.toml"
DESTDIR="$root" "$cmake_exe" --install "$build" --prefix /usr >"$tmp/install2.log" 2>&1 ||
    { cat "$tmp/install2.log"; fail "second cmake --install"; }
grep -q 'edited by the operator' "$root/etc/tradebus/broker.toml" ||
    fail "reinstall overwrote /etc/tradebus/broker.toml"

# systemd-analyze verify --root resolves ExecStart= inside the DESTDIR; the units the tradebus
# ones name (sysinit.target, network-online.target, ...) come from this host's systemd.
if ! command -v systemd-analyze >/dev/null; then
    echo "install checks: $failures failure(s)"
    [ $failures -eq 0 ] || exit 1
    echo "SKIPPED: systemd-analyze not found (install checks above passed)"
    exit $skip
fi
host_units=""
for d in /usr/lib/systemd/system /lib/systemd/system; do
    [ -f "$d/sysinit.target" ] && { host_units=$d; break; }
done
if [ -z "$host_units" ]; then
    [ $failures -eq 0 ] || exit 1
    echo "SKIPPED: no systemd base units (sysinit.target) on this host to verify against"
    exit $skip
fi
cp -an "$host_units/." "$root$units/"
for unit in tradebus-broker.service tradebus-node@.service tradebus-node@journal.service \
            tradebus.target; do
    out=$(systemd-analyze verify --root="$root" "$unit" 2>&1)
    rc=$?
    if [ $rc -ne 0 ] || [ -n "$out" ]; then
        echo "$out"
        fail "systemd-analyze verify $unit: exit $rc (any output counts as a failure)"
    else
        echo "ok: systemd-analyze verify $unit"
    fi
done

if [ $failures -ne 0 ]; then
    echo "--- cmake --install log"; cat "$tmp/install.log"
    echo "$failures failure(s)"
    exit 1
fi
echo "PASS: install layout, launcher, config kept on reinstall, systemd-analyze verify"
