#!/usr/bin/env bash
# ops.deb_package: the .deb a deploy host installs (README "Install from a .deb"). Builds it with
# `cpack -G DEB` from this build, checks its Depends: names the runtime libraries, then installs
# it with apt-get on a brand-new minimal Debian 12 root (nothing else installed) and runs the
# binaries there: --version of the broker, the CLI and every node; --check-config of the
# installed configs through the tradebus-node launcher; no library left unresolved (ldd); the
# units and conffiles in place. The node executables are the build's node-kinds.txt
# (cmake/NodeKinds.cmake), the nodes config/broker.toml's [pipeline] (scripts/pipeline-nodes.sh).
# Usage: deb_package_test.sh CPACK BUILD_DIR.
# Exit 0 pass, 1 fail, 77 skipped (not root, no debootstrap).
set -uo pipefail

cpack_exe=${1:?usage: $0 CPACK BUILD_DIR}
build=$(cd "${2:?usage: $0 CPACK BUILD_DIR}" && pwd)
repo=$(cd "$(dirname "$0")/../.." && pwd)
. "$(dirname "$0")/debian_root.sh"
debian_root_require
node_exes=$(while read -r _ path; do basename "$path"; done <"$build/node-kinds.txt")
pipeline=$("$repo/scripts/pipeline-nodes.sh" "$repo/config/broker.toml" "$repo/config/nodes") ||
    { echo "FAIL: config/broker.toml [pipeline] (above)"; exit 1; }
nodes=$(while read -r name _; do echo "$name"; done <<<"$pipeline")

tmp=$(mktemp -d /var/tmp/tradebus-deb.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

if ! "$cpack_exe" --config "$build/CPackConfig.cmake" -G DEB -B "$tmp/pkg" >"$tmp/cpack.log" 2>&1
then
    cat "$tmp/cpack.log"
    echo "FAIL: cpack -G DEB"
    exit 1
fi
deb=$(ls "$tmp"/pkg/tradebus_*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || { cat "$tmp/cpack.log"; echo "FAIL: cpack made no tradebus_*.deb"; exit 1; }
echo "built $(basename "$deb")"

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for lib in libzmq5 libspdlog1.10-fmt9 libfmt9 libtomlplusplus3 libsystemd0 \
           libnss-systemd; do
    [[ ",$depends," =~ [,\ ]$lib[\ ,\(] ]] || fail "Depends: does not name $lib"
done
dpkg-deb --info "$deb" conffiles | grep -qx /etc/tradebus/broker.toml ||
    fail "/etc/tradebus/broker.toml is not a conffile"

root=$tmp/root
debian_root_new "$root" || { echo "FAIL: cannot build a Debian 12 root (debootstrap)"; exit 1; }
cp "$deb" "$root/tmp/tradebus.deb"
debian_root_run "$root" "node_exes='$(echo $node_exes)' nodes='$(echo $nodes)'"'
    set -euo pipefail
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends /tmp/tradebus.deb >/tmp/apt.log 2>&1 ||
        { cat /tmp/apt.log; exit 1; }
    rc=0
    for exe in tradebus-broker tradebus $node_exes; do
        if ldd "/usr/bin/$exe" | grep "not found"; then
            echo "FAIL: $exe: unresolved libraries"; rc=1
        fi
        out=$("$exe" --version) || { echo "FAIL: $exe --version"; rc=1; }
        echo "$exe --version: $out"
    done
    tradebus-broker --config /etc/tradebus/broker.toml --check-config || rc=1
    for name in $nodes; do
        tradebus-node --config "/etc/tradebus/nodes/$name.toml" --check-config || rc=1
    done
    for unit in tradebus-broker.service tradebus-node@.service tradebus.target; do
        [ -f "/usr/lib/systemd/system/$unit" ] || { echo "FAIL: no unit $unit"; rc=1; }
    done
    exit $rc
' || fail "installing and running the package on a fresh Debian 12 root (output above)"

if [ "$failures" -ne 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "PASS: the .deb installs on a minimal Debian 12 root and its binaries run there"
