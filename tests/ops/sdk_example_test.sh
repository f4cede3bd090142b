#!/usr/bin/env bash
# ops.sdk_meanrev: "bring your own node" end to end (README "Write your own node"). Installs
# this build with `cmake --install --prefix` into a scratch prefix, builds
# examples/cpp/meanrev out of tree against it (find_package(tradebus 0.1), tradebus::node; the
# repository's warning flags with -Werror), checks tradebus.pc compiles and links the same
# code, then runs the installed broker, journal, marketdata, execution and risk with the
# example node in place of the built-in strategy, started through the installed tradebus-node
# launcher with [node] executable. Passes when the meanrev node is healthy in `tradebus status`,
# its signals were approved by risk and filled by execution, and the positions risk published
# match what `tradebus journal report` computes from the journaled fills. Then the same
# executable backtests its logic (`tradebus-meanrev backtest`): twice the same, its own signals
# filled, and a sweep of its window.
# Usage: sdk_example_test.sh CMAKE BUILD_DIR CXX [COMPILER_LAUNCHER]. Exit 0 pass, 1 fail.
set -uo pipefail

if [ $# -lt 3 ]; then
    echo "usage: $0 CMAKE BUILD_DIR CXX [COMPILER_LAUNCHER]" >&2
    exit 2
fi
cmake_exe=$1
build=$(cd "$2" && pwd)
cxx=$3
launcher=${4:-}
src=$(cd "$(dirname "$0")/../.." && pwd)
# The SDK and the example's build live at a fixed place in this build dir, so a compiler
# launcher (ccache) sees the same paths on every run; the pipeline's sockets and journal in a
# short temporary dir (ipc:// paths are limited to about 100 bytes).
work=$build/tests/ops/sdk-meanrev
prefix=$work/prefix
run=$(mktemp -d /tmp/tradebus-sdk.XXXXXX)
deadline=$((SECONDS + 120))
pids=()

. "$(dirname "$0")/processes.sh"
cleanup() {
    stop_pids "${pids[@]}"
    rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
    echo "FAIL: $*"
    for f in "$run"/*.log; do [ -f "$f" ] && { echo "--- ${f##*/}"; tail -n 30 "$f"; }; done
    exit 1
}
left() { echo $((deadline - SECONDS)); }

# ---- 1. the SDK, installed as a user would (with the binaries, launcher and units).
rm -rf "$work"
mkdir -p "$work"
"$cmake_exe" --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1 ||
    { cat "$work/install.log"; fail "cmake --install $build --prefix $prefix"; }
echo "ok: installed into $prefix"

# ---- 2. the example, out of tree: only the installed package, never this source tree's
# libraries. The repository's warning policy applies to it too (cmake/Warnings.cmake).
warnings="-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wold-style-cast"
warnings+=" -Wnon-virtual-dtor -Wimplicit-fallthrough -Werror"
configure=("$cmake_exe" -S "$src/examples/cpp/meanrev" -B "$work/build"
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo
    -DCMAKE_CXX_FLAGS="$warnings" -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON)
[ -n "$launcher" ] && configure+=(-DCMAKE_CXX_COMPILER_LAUNCHER="$launcher")
"${configure[@]}" >"$work/configure.log" 2>&1 ||
    { cat "$work/configure.log"; fail "configuring examples/cpp/meanrev against the SDK"; }
grep -q "tradebus_DIR:PATH=$prefix/" "$work/build/CMakeCache.txt" ||
    fail "find_package(tradebus) did not find the package under $prefix"
"$cmake_exe" --build "$work/build" >"$work/build.log" 2>&1 ||
    { cat "$work/build.log"; fail "building examples/cpp/meanrev against the SDK"; }
meanrev=$work/build/tradebus-meanrev
[ -x "$meanrev" ] || fail "no $meanrev after the build"
echo "ok: examples/cpp/meanrev built against the installed SDK"

# tradebus-backtest.pc (which requires tradebus.pc): its Cflags find every header the example
# includes, its Libs link the object (the example has a backtest entry point).
pcdir=$(find "$prefix" -name tradebus.pc -printf '%h\n' | head -n 1)
[ -n "$pcdir" ] || fail "no tradebus.pc installed under $prefix"
[ -f "$pcdir/tradebus-backtest.pc" ] || fail "no tradebus-backtest.pc next to tradebus.pc"
obj=$(find "$work/build" -name 'meanrev.cpp.o' | head -n 1)
cflags=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags tradebus-backtest) || fail "pkg-config --cflags"
libs=$(PKG_CONFIG_PATH=$pcdir pkg-config --libs tradebus-backtest) || fail "pkg-config --libs"
# shellcheck disable=SC2086  # flag lists, split on purpose
"$cxx" -std=c++20 -E $cflags "$src/examples/cpp/meanrev/meanrev.cpp" -o /dev/null \
    >"$work/pc.log" 2>&1 ||
    { cat "$work/pc.log"; fail "compiling with pkg-config --cflags tradebus-backtest"; }
# shellcheck disable=SC2086
"$cxx" "$obj" -o "$work/meanrev-pc" $libs >"$work/pc.log" 2>&1 ||
    { cat "$work/pc.log"; fail "linking with pkg-config --libs tradebus-backtest"; }
echo "ok: tradebus-backtest.pc (and tradebus.pc) compile and link the example"

# ---- 3. the pipeline from the installed binaries, the example in place of the strategy.
bin=$prefix/bin
control=ipc://$run/control
cat >"$run/broker.toml" <<TOML
[broker]
name = "broker"
[endpoints]
xsub = "ipc://$run/xsub"
xpub = "ipc://$run/xpub"
control = "$control"
recorder = "ipc://$run/recorder"
[heartbeat]
interval_ms = 250
[trading]
missing_state = "active"
[pipeline.journal]
depends_on = []
[pipeline.marketdata]
depends_on = ["journal"]
[pipeline.execution]
depends_on = ["journal"]
[pipeline.risk]
depends_on = ["journal", "execution"]
[pipeline.meanrev]
depends_on = ["journal", "risk"]
TOML
node_header() {  # KIND DEPENDS_ON [MORE [node] LINES]
    printf '[node]\nkind = "%s"\nname = "%s"\ndepends_on = %s\nheartbeat_interval_ms = 250\n%s' \
        "$1" "$1" "$2" "${3:-}"
    printf '[broker]\ncontrol_endpoint = "%s"\n' "$control"
}
{
    node_header journal '[]'
    printf '[journal]\ndir = "%s/journal"\nfsync = "none"\nsource = "recorder"\n' "$run"
    printf 'recorder_endpoint = "ipc://%s/recorder"\n' "$run"
} >"$run/journal.toml"
{
    node_header marketdata '["journal"]'
    printf '[marketdata]\nsource = "synthetic"\nbar_interval_ms = 100\n'
    printf '[marketdata.synthetic]\nrate_per_sec = 200.0\nseed = 11\n'
    printf '[marketdata.synthetic.symbols.AAPL]\nstart_px = 171.0\n'
    printf '[marketdata.synthetic.symbols.MSFT]\nstart_px = 417.0\n'
} >"$run/marketdata.toml"
{
    node_header execution '["journal"]'
    printf '[execution]\nslippage_bps = 1.0\npartial_fills = false\n'
} >"$run/execution.toml"
{
    node_header risk '["journal", "execution"]'
    printf '[risk]\nallowed_symbols = ["AAPL", "MSFT"]\nmax_order_qty = 100\nmax_position = 300\n'
    printf 'max_gross_notional = 1000000.0\nmax_daily_loss = 100000.0\nmax_orders_per_sec = 50\n'
    printf 'price_band_bps = 100.0\nstale_quote_ms = 2000\nposition_interval_ms = 200\n'
} >"$run/risk.toml"
# A 5-bar window of 100 ms bars and low thresholds: it trades within a second or two. The
# launcher runs it from `executable`, as tradebus-node@meanrev.service would.
{
    node_header meanrev '["journal", "risk"]' "executable = \"$meanrev\"
"
    printf '[meanrev]\nsymbols = ["AAPL", "MSFT"]\nwindow = 5\nentry_z = 1.2\nexit_z = 0.3\n'
    printf 'qty = 10\n'
} >"$run/meanrev.toml"

"$bin/tradebus-broker" --config "$run/broker.toml" --check-config >"$run/check.log" 2>&1 ||
    fail "broker.toml does not check: $(cat "$run/check.log")"
for n in journal marketdata execution risk meanrev; do
    "$bin/tradebus-node" --config "$run/$n.toml" --check-config >"$run/check.log" 2>&1 ||
        fail "$n.toml does not check: $(cat "$run/check.log")"
done
"$bin/tradebus-broker" --config "$run/broker.toml" >"$run/broker.log" 2>&1 &
pids+=($!)
for n in journal execution marketdata risk meanrev; do
    "$bin/tradebus-node" --config "$run/$n.toml" >"$run/$n.log" 2>&1 &
    pids+=($!)
done
meanrev_pid=${pids[-1]}

status() { timeout 5 "$bin/tradebus" status --json --control "$control" --timeout 2; }
topic_count() {  # STATUS_FILE PREFIX: messages the broker forwarded on topics under PREFIX
    jq --arg p "$2" '[.topics[] | select(.topic | startswith($p)) | .messages] | add // 0' "$1"
}

# Every node healthy, the example among them under its own kind.
healthy=0
while [ "$(left)" -gt 0 ]; do
    if status >"$run/status.json" 2>/dev/null &&
        [ "$(jq '[.nodes[] | select(.state == "healthy")] | length' "$run/status.json")" = 5 ]
    then
        healthy=1
        break
    fi
    sleep 0.3
done
[ $healthy -eq 1 ] || fail "not all 5 nodes healthy: $(cat "$run/status.json" 2>/dev/null)"
[ "$(jq -r '.nodes[] | select(.name == "meanrev") | "\(.kind) \(.pid)"' "$run/status.json")" = \
    "meanrev $meanrev_pid" ] ||
    fail "meanrev not registered as kind meanrev with the launcher's pid $meanrev_pid (exec)"
echo "ok: 5 nodes healthy, meanrev (kind meanrev, pid $meanrev_pid) among them"

# Trading: signals, approvals and fills flowing (the broker's per-topic counts).
traded=0
while [ "$(left)" -gt 0 ]; do
    if status >"$run/status.json" 2>/dev/null &&
        [ "$(topic_count "$run/status.json" strategy.signal.)" -ge 4 ] &&
        [ "$(topic_count "$run/status.json" exec.fill.)" -ge 3 ]; then
        traded=1
        break
    fi
    sleep 0.3
done
[ $traded -eq 1 ] || fail "no trading within the deadline: signals \
$(topic_count "$run/status.json" strategy.signal.), approvals \
$(topic_count "$run/status.json" risk.approved.), fills $(topic_count "$run/status.json" exec.fill.)"
"$bin/tradebus" status --control "$control" --timeout 2 >"$run/status.txt" 2>&1 ||
    fail "tradebus status"
grep -qE '^meanrev +meanrev +.* healthy ' "$run/status.txt" ||
    fail "tradebus status does not show meanrev healthy: $(cat "$run/status.txt")"

# Stop the sources, wait until what was in flight landed (every approved order filled or
# rejected, and risk published a position after each symbol's last fill: read from the
# journal, which is current after each of its loop turns), then the rest; each exits 0.
stop() {  # INDEX in pids
    local pid=${pids[$1]} rc=0
    kill -TERM "$pid"
    wait "$pid" || rc=$?
    [ $rc -eq 0 ] || fail "process $pid exited $rc on SIGTERM, want 0"
}
stop 5  # meanrev
stop 3  # marketdata
settled() {
    "$bin/tradebus" journal cat --json --dir "$run/journal" 2>/dev/null | jq -s -e '
        ([.[] | select(.type == "order")] | length) ==
            ([.[] | select(.type == "fill" or .type == "exec_reject")] | length)
        and ([.[] | select(.type == "fill")] | group_by(.data.symbol)
             | map({key: .[0].data.symbol, value: last.data.fill_id}) | from_entries) as $last
        | [.[] | select(.type == "position")] | group_by(.data.symbol)
             | map({key: .[0].data.symbol, value: last.data.last_fill_id}) | from_entries
             | . as $pos | $last | to_entries | all(.value == $pos[.key])' >/dev/null
}
until settled; do
    [ "$(left)" -gt 0 ] || fail "orders in flight did not settle: $(cat "$run/status.json")"
    sleep 0.2
done
stop 4 && stop 2 && stop 1 && stop 0
pids=()
grep -q 'meanrev meanrev: 2 symbol(s), window 5' "$run/meanrev.log" ||
    fail "meanrev.log lacks the node's start line"

# ---- 4. what the journal recorded: the chain from meanrev's signals to fills and positions.
"$bin/tradebus" journal cat --json --dir "$run/journal" >"$run/journal.json" 2>"$run/cat.log" ||
    fail "tradebus journal cat: $(cat "$run/cat.log")"
q() { jq -s "$1" "$run/journal.json"; }
signals=$(q '[.[] | select(.type == "signal" and .src == "meanrev")] | length')
bad_reasons=$(q '[.[] | select(.type == "signal" and .src == "meanrev")
    | select(.data.reason | test("sd from the 5-bar mean") | not)] | length')
# shellcheck disable=SC2016  # jq variables
approved=$(q '[.[] | select(.type == "signal" and .src == "meanrev") | .data.signal_id] as $ids
    | [.[] | select(.type == "order" and .data.signal_src == "meanrev")
    | select(.data.signal_id as $i | $ids | index($i))] | length')
# shellcheck disable=SC2016
filled=$(q '[.[] | select(.type == "order" and .data.signal_src == "meanrev") | .data.order_id]
    as $ids | [.[] | select(.type == "fill") | select(.data.order_id as $o | $ids | index($o))]
    | length')
others=$(q '[.[] | select(.type == "fill")] | length')
echo "journal: $signals meanrev signal(s), $approved approved, $filled fill(s) of them ($others in all)"
[ "$signals" -ge 4 ] || fail "journal: $signals signals from meanrev, want >= 4"
[ "$bad_reasons" -eq 0 ] || fail "journal: $bad_reasons meanrev signal(s) without a z-score reason"
[ "$approved" -ge 1 ] || fail "journal: no order approved for a meanrev signal"
[ "$filled" -ge 1 ] || fail "journal: no fill of an order from a meanrev signal"
[ "$filled" -eq "$others" ] || fail "journal: fills not from meanrev's orders ($others vs $filled)"

# Positions: risk's last published position per symbol equals the position `tradebus journal
# report` computes from the journaled fills (what an operator compares at the end of a day).
"$bin/tradebus" journal report --json --utc --dir "$run/journal" >"$run/report.json" \
    2>"$run/report.log" || fail "tradebus journal report: $(cat "$run/report.log")"
risk_pos=$(q 'map(select(.type == "position")) | group_by(.data.symbol)
    | map({key: .[0].data.symbol, value: (last.data.qty)}) | from_entries')
report_pos=$(jq -c '[.days[].symbols | map_values(.position)] | add // {}' "$run/report.json") ||
    fail "report --json: unexpected shape: $(head -c 600 "$run/report.json")"
echo "positions: risk $(echo "$risk_pos" | jq -c .), journal report $report_pos"
# shellcheck disable=SC2016
jq -n -e --argjson risk "$risk_pos" --argjson report "$report_pos" \
    '$report | to_entries | all(.value == $risk[.key])' >/dev/null ||
    fail "risk's positions differ from the journal report's"
[ "$(echo "$report_pos" | jq 'length')" -ge 1 ] || fail "journal report shows no traded symbol"

# ---- 5. the same executable backtests its logic (tradebus::backtest, backtest_main): the
# shipped node files for marketdata, risk and execution, meanrev's own file, the sample quotes.
desk=$run/desk
mkdir -p "$desk"
cp "$src/config/nodes/marketdata.toml" "$src/config/nodes/risk.toml" \
    "$src/config/nodes/execution.toml" "$desk/"
{
    printf '[node]\nkind = "meanrev"\nname = "meanrev"\n'
    printf '[broker]\ncontrol_endpoint = "tcp://127.0.0.1:5552"\n'
    printf '[meanrev]\nsymbols = ["AAPL", "MSFT", "SPY"]\nwindow = 5\nentry_z = 1.2\n'
    printf 'exit_z = 0.3\nqty = 10\n'
} >"$desk/meanrev.toml"
for out in bt1 bt2; do
    "$meanrev" backtest --config "$desk" --data "$src/config/data/sample_quotes.csv" \
        --out "$run/$out" --json >"$run/$out.json" 2>"$run/$out.log" ||
        fail "tradebus-meanrev backtest exited $?: $(tail -n 20 "$run/$out.log")"
done
# The same report, but for the output directory it names.
cmp -s <(sed "s|$run/bt1|OUT|g" "$run/bt1.json") <(sed "s|$run/bt2|OUT|g" "$run/bt2.json") ||
    fail "two backtests of meanrev differ"
cmp -s <(cat "$run"/bt1/journal/*) <(cat "$run"/bt2/journal/*) ||
    fail "two backtests of meanrev wrote different journals"
"$bin/tradebus" journal cat --json --dir "$run/bt1/journal" >"$run/bt.json" 2>"$run/cat.log" ||
    fail "tradebus journal cat of the backtest: $(cat "$run/cat.log")"
bq() { jq -s "$1" "$run/bt.json"; }
bt_signals=$(bq '[.[] | select(.type == "signal" and .src == "meanrev")] | length')
bt_others=$(bq '[.[] | select(.type == "signal" and .src != "meanrev")] | length')
bt_fills=$(bq '[.[] | select(.type == "fill")] | length')
bt_report_fills=$(jq '.performance.fills' "$run/bt1.json")
echo "backtest: $bt_signals meanrev signal(s), $bt_fills fill(s); report: $bt_report_fills fill(s)"
[ "$bt_signals" -ge 2 ] || fail "backtest: $bt_signals signals from meanrev, want >= 2"
[ "$bt_others" -eq 0 ] || fail "backtest: $bt_others signal(s) from another strategy"
[ "$bt_fills" -ge 1 ] || fail "backtest: no fill"
[ "$bt_fills" -eq "$bt_report_fills" ] || fail "backtest: report says $bt_report_fills fills"
"$meanrev" backtest --config "$desk" --data "$src/config/data/sample_quotes.csv" \
    --out "$run/bt3" --set meanrev.window=5,10 --jobs 2 >"$run/sweep.txt" 2>"$run/sweep.log" ||
    fail "tradebus-meanrev backtest sweep exited $?: $(tail -n 20 "$run/sweep.log")"
grep -q 'sweep of 2 backtests' "$run/sweep.txt" || fail "sweep: $(cat "$run/sweep.txt")"
echo "ok: tradebus-meanrev backtest: deterministic, its own signals filled, a sweep of its window"

echo "PASS: the meanrev example, built out of tree against the installed SDK, traded end to end"

