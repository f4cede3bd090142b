#!/usr/bin/env bash
# ops.install_systemd_verify: `cmake --install` into a temporary DESTDIR with prefix /usr, then
# checks what landed where (binaries, launcher, units, config with installed paths, the C++ SDK:
# headers, static libraries, CMake package, tradebus.pc), that the launcher starts the right
# executable from a config alone (tradebus-<kind>, or [node] executable), that a reinstall keeps
# an edited config, and that `systemd-analyze verify` accepts the units with no warning at all.
# The node executables are the build's node-kinds.txt (cmake/NodeKinds.cmake), the nodes the
# installed broker.toml's [pipeline] (scripts/pipeline-nodes.sh).
# Usage: install_verify_test.sh CMAKE BUILD_DIR. Exit 0 pass, 1 fail, 77 skipped.
set -uo pipefail

cmake_exe=$1
build=$2
src=$(cd "$(dirname "$0")/../.." && pwd)
pipeline_nodes=$src/scripts/pipeline-nodes.sh
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
check_file /etc/tradebus/prometheus/tradebus-alerts.yml
check_grep /etc/tradebus/nodes/journal.toml '^dir = "/var/lib/tradebus/journal"'
check_grep /etc/tradebus/broker.toml '^state_file = "/var/lib/tradebus/broker/trading.toml"$'
check_grep /etc/tradebus/broker.toml '^missing_state = "halted"$'
check_grep /etc/tradebus/nodes/marketdata.toml '^path = "/etc/tradebus/data/sample_quotes.csv"'
if grep -rn '@TB_' "$root$units" "$root/etc/tradebus"; then fail "unreplaced @TB_...@ above"; fi

# The C++ SDK (README "Write your own node"): every public header of schema, common and the
# node runtime, and no private one; the static libraries; the CMake package; tradebus.pc.
for lib_dir in schema common nodes/runtime; do
    while IFS= read -r header; do
        check_file "/usr/include/${header#"$src/$lib_dir/include/"}"
    done < <(find "$src/$lib_dir/include" -name '*.hpp')
done
[ -e "$root/usr/include/tradebus/schema/msgpack_reader.hpp" ] &&
    fail "a private header (msgpack_reader.hpp) was installed"
libdir=$(find "$root/usr/lib" -name libtradebus_runtime.a -printf '%h\n' | head -n 1)
libdir=${libdir#"$root"}
[ -n "$libdir" ] || fail "not installed: /usr/lib*/libtradebus_runtime.a"
for lib in libtradebus_schema.a libtradebus_common.a libtradebus_runtime.a \
           cmake/tradebus/tradebusConfig.cmake cmake/tradebus/tradebusConfigVersion.cmake \
           cmake/tradebus/tradebusTargets.cmake pkgconfig/tradebus.pc; do
    check_file "$libdir/$lib"
done
targets=$libdir/cmake/tradebus/tradebusTargets.cmake
for target in node schema runtime common options; do
    check_grep "$targets" "^add_library\\(tradebus::$target "
done
# Nothing of the build's own policy or paths: no warnings target, no source or build dir.
if grep -nE 'tradebus_warnings|tradebus::warnings' "$root$targets"; then
    fail "$targets names the internal warnings target (above)"
fi
if grep -rnF -e "$src/" -e "$(cd "$build" && pwd)/" "$root$libdir/cmake/tradebus" "$root$libdir/pkgconfig"; then
    fail "the installed package names the source or build tree (above)"
fi
check_grep "$libdir/pkgconfig/tradebus.pc" '^prefix=/usr$'
check_grep "$libdir/pkgconfig/tradebus.pc" '^Libs: .*-ltradebus_runtime -ltradebus_common -ltradebus_schema'
if command -v pkg-config >/dev/null; then
    PKG_CONFIG_PATH="$root$libdir/pkgconfig" pkg-config --validate tradebus >"$tmp/out" 2>&1 ||
        { cat "$tmp/out"; fail "pkg-config --validate tradebus"; }
    [ "$(PKG_CONFIG_PATH="$root$libdir/pkgconfig" pkg-config --modversion tradebus)" = 0.1.0 ] ||
        fail "pkg-config --modversion tradebus is not 0.1.0"
fi

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
# --kind FILE prints the kind (what scripts/pipeline-nodes.sh reads) and starts nothing.
out=$("$root/usr/bin/tradebus-node" --kind "$root/etc/tradebus/nodes/risk.toml" 2>&1)
[ "$out" = risk ] || fail "tradebus-node --kind nodes/risk.toml: got '$out', want 'risk'"
"$root/usr/bin/tradebus-node" --kind "$tmp/badkind.toml" >"$tmp/out" 2>&1 &&
    fail "tradebus-node --kind on kind \"../../bin/sh\": exit 0, want 2"

# [node] executable: the launcher execs that path in place (same PID: Type=notify), with the
# same arguments; the installed nodes accept the key; a relative path is refused; a kind with
# neither is named with the file and the key to set.
mkdir -p "$tmp/bin"
printf '#!/bin/sh\necho "custom node pid=$$ args=$*"\n' >"$tmp/bin/custom-node"
chmod +x "$tmp/bin/custom-node"
printf '[node]\nkind = "custom"\nname = "custom"\nexecutable = "%s"  # built out of tree\n' \
    "$tmp/bin/custom-node" >"$tmp/custom.toml"
"$root/usr/bin/tradebus-node" --config "$tmp/custom.toml" --check-config >"$tmp/out" 2>&1 &
pid=$!
wait $pid
rc=$?
if [ $rc -ne 0 ] ||
    ! grep -qxF "custom node pid=$pid args=--config $tmp/custom.toml --check-config" "$tmp/out"
then
    cat "$tmp/out"
    fail "launcher with [node] executable: exit $rc, want 0 and the custom node run as pid $pid"
fi
sed 's|^kind = "risk".*|&\nexecutable = "'"$root"'/usr/bin/tradebus-risk"|' \
    "$root/etc/tradebus/nodes/risk.toml" >"$tmp/risk-exe.toml"
grep -q '^executable = "/' "$tmp/risk-exe.toml" || fail "could not add executable to risk.toml"
"$root/usr/bin/tradebus-node" --config "$tmp/risk-exe.toml" --check-config >"$tmp/out" 2>&1 ||
    { cat "$tmp/out"; fail "tradebus-node with [node] executable = tradebus-risk --check-config"; }
printf '[node]\nkind = "custom"\nexecutable = "bin/custom-node"\n' >"$tmp/relexe.toml"
(cd "$tmp" && "$root/usr/bin/tradebus-node" --config "$tmp/relexe.toml") >"$tmp/out" 2>&1
rc=$?
if [ $rc -ne 2 ] || ! grep -q 'node.executable: expected an absolute path' "$tmp/out" ||
    grep -q 'custom node' "$tmp/out"; then
    cat "$tmp/out"
    fail "launcher with a relative [node] executable: exit $rc, want 2 + message, not run"
fi
printf '[node]\nkind = "custom"\nname = "custom"\n' >"$tmp/noexe.toml"
"$root/usr/bin/tradebus-node" --config "$tmp/noexe.toml" >"$tmp/out" 2>&1
rc=$?
if [ $rc -ne 2 ] || ! grep -qF "$tmp/noexe.toml" "$tmp/out" || ! grep -q '"custom"' "$tmp/out" ||
    ! grep -q 'executable = ' "$tmp/out"; then
    cat "$tmp/out"
    fail "launcher on a kind with no tradebus-<kind>: exit $rc, want 2 naming file, kind, key"
fi

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
echo "PASS: install layout, SDK, launcher, config kept on reinstall, systemd-analyze verify"
