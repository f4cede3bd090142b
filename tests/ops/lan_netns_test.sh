#!/usr/bin/env bash
# ops.lan_netns: the pipeline across a real network. Two network namespaces joined by a veth
# pair (10.231.77.1/30 <-> 10.231.77.2/30, addresses that exist only inside them): the broker
# binds its veth address in one, the nodes of the repository's config/broker.toml [pipeline]
# (scripts/pipeline-nodes.sh) run in the other and know only the broker's control endpoint. Asserts, from the broker's side, that `tradebus status --json` shows every
# node healthy with counters moving, and from the nodes' side that `tradebus sniff --json`
# receives ticks and fills; then that SIGTERM stops everything with exit 0. The namespaces are
# always deleted (trap). Usage: lan_netns_test.sh BROKER CLI NODE_KINDS, NODE_KINDS being the
# build's node-kinds.txt ("<kind> <executable>" lines, cmake/NodeKinds.cmake). Exit 0 pass,
# 1 fail, 77 skipped (cannot create namespaces: not root, no CAP_NET_ADMIN, no iproute2).
# Bounded: gives up after 60 s.
set -uo pipefail

skip=77
if [ $# -ne 3 ]; then
    echo "usage: $0 BROKER CLI NODE_KINDS" >&2
    exit 2
fi
broker=$1 cli=$2
declare -A kind_exe=()
while read -r kind path; do kind_exe[$kind]=$path; done <"$3" || exit 2
repo=$(cd "$(dirname "$0")/../.." && pwd)
config_dir=$repo/config/nodes
pipeline=$("$repo/scripts/pipeline-nodes.sh" "$repo/config/broker.toml" "$config_dir") || exit 2
nodes=()
declare -A node_exe=()
while read -r name kind; do
    [ -n "${kind_exe[$kind]:-}" ] || { echo "FAIL: $name: no executable for kind $kind in $3"; exit 1; }
    nodes+=("$name")
    node_exe[$name]=${kind_exe[$kind]}
done <<<"$pipeline"

ns_a=tbtest-a-$$  # the broker's side
ns_b=tbtest-b-$$  # the nodes' side
addr_a=10.231.77.1
addr_b=10.231.77.2
control=tcp://$addr_a:5552
deadline=$((SECONDS + 60))
tmp=$(mktemp -d /tmp/tradebus-lan.XXXXXX)
pids=()

skip_test() { echo "SKIPPED: $*"; exit $skip; }
command -v ip >/dev/null || skip_test "no 'ip' command (iproute2) to create network namespaces"
command -v jq >/dev/null || skip_test "no jq to read tradebus status --json"
[ "$(id -u)" -eq 0 ] || skip_test "needs root (CAP_NET_ADMIN) to create network namespaces"

# Namespaces a killed earlier run left behind (its pid is gone).
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^tbtest-[ab]-[0-9]+$'); do
    kill -0 "${ns##*-}" 2>/dev/null || ip netns del "$ns" 2>/dev/null
done

. "$(dirname "$0")/processes.sh"
cleanup() {
    stop_pids "${pids[@]}"
    # Anything still inside the namespaces was started by this test.
    for pid in $(ip netns pids "$ns_a" 2>/dev/null) $(ip netns pids "$ns_b" 2>/dev/null); do
        kill -KILL "$pid" 2>/dev/null
    done
    ip netns del "$ns_a" 2>/dev/null
    ip netns del "$ns_b" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if ! err=$(ip netns add "$ns_a" 2>&1); then
    skip_test "cannot create a network namespace (ip netns add: $err)"
fi
ip netns add "$ns_b" || { echo "FAIL: ip netns add $ns_b"; exit 1; }
# The veth pair is created inside ns_a with its peer moved to ns_b: the host's own namespace
# never sees either end.
if ! { ip -n "$ns_a" link add tb0 type veth peer name tb1 netns "$ns_b" &&
        ip -n "$ns_a" addr add "$addr_a/30" dev tb0 &&
        ip -n "$ns_b" addr add "$addr_b/30" dev tb1 &&
        ip -n "$ns_a" link set lo up && ip -n "$ns_b" link set lo up &&
        ip -n "$ns_a" link set tb0 up && ip -n "$ns_b" link set tb1 up; }; then
    echo "FAIL: could not set up the veth pair"
    exit 1
fi

fail() {
    echo "FAIL: $*"
    for f in "$tmp"/*.log; do echo "--- ${f##*/}"; tail -n 30 "$f"; done
    exit 1
}
in_a() { ip netns exec "$ns_a" "$@"; }
in_b() { ip netns exec "$ns_b" "$@"; }  # foreground only: a backgrounded function is a subshell
left() { echo $((deadline - SECONDS)); }

# The broker binds its veth address only; nodes get everything else from its REGISTER reply.
cat >"$tmp/broker.toml" <<TOML
[broker]
name = "broker"
[endpoints]
xsub = "tcp://$addr_a:5550"
xpub = "tcp://$addr_a:5551"
control = "$control"
recorder = "tcp://$addr_a:5553"
[heartbeat]
interval_ms = 250
[trading]
missing_state = "active"
TOML
# The repository's [pipeline] tables, as they are (each from its header to the next table).
awk '/^[ \t]*\[/ { keep = ($0 ~ /^\[pipeline\./) } keep && !/^[ \t]*#/' "$repo/config/broker.toml" \
    >>"$tmp/broker.toml"
# The repository's node configs with only the broker's address (and the journal's directory)
# changed: what a node on another host needs.
for n in "${nodes[@]}"; do
    sed -e "s|^control_endpoint = .*|control_endpoint = \"$control\"|" \
        -e "s|^heartbeat_interval_ms = .*|heartbeat_interval_ms = 250|" \
        -e "s|^dir = \"var/journal\"|dir = \"$tmp/journal\"|" \
        -e "s|^recorder_endpoint = .*|recorder_endpoint = \"tcp://$addr_a:5553\"|" \
        "$config_dir/$n.toml" >"$tmp/$n.toml"
    grep -q "^control_endpoint = \"$control\"" "$tmp/$n.toml" ||
        fail "$n.toml: no [broker] control_endpoint line to point at $control"
done

# Started by `ip netns exec` directly (it execs the binary): $! is the process itself, so
# SIGTERM and wait below reach the broker and the nodes, not a subshell.
ip netns exec "$ns_a" "$broker" --config "$tmp/broker.toml" >"$tmp/broker.log" 2>&1 &
pids+=($!)
for n in "${nodes[@]}"; do
    ip netns exec "$ns_b" "${node_exe[$n]}" --config "$tmp/$n.toml" >"$tmp/$n.log" 2>&1 &
    pids+=($!)
done

status() { in_a timeout 5 "$cli" status --json --control "$control" --timeout 2; }

# Every node registered over the veth and healthy (ready: dependencies sorted themselves out).
healthy=0
while [ "$(left)" -gt 0 ]; do
    if status >"$tmp/status1.json" 2>/dev/null &&
        [ "$(jq '[.nodes[] | select(.state == "healthy")] | length' "$tmp/status1.json")" = \
            ${#nodes[@]} ]
    then
        healthy=1
        break
    fi
    sleep 0.5
done
[ $healthy -eq 1 ] ||
    fail "not all ${#nodes[@]} nodes healthy within 60 s: $(cat "$tmp/status1.json")"
echo "ok: ${#nodes[@]} nodes healthy across the veth: $(jq -c '[.nodes[] | {name, state, host}]' \
    "$tmp/status1.json")"

# From the nodes' side of the link: ticks, then the whole chain through to a fill.
in_b timeout "$(left)" "$cli" sniff --json --count 20 --xpub "tcp://$addr_a:5551" 'md.tick.>' \
    >"$tmp/sniff_ticks.json" 2>"$tmp/sniff.log" || fail "sniff md.tick.> from $ns_b"
[ "$(jq -s 'length' "$tmp/sniff_ticks.json")" = 20 ] || fail "sniff: expected 20 JSON lines"
echo "ok: 20 ticks received in $ns_b: $(head -c 200 "$tmp/sniff_ticks.json")"
in_b timeout "$(left)" "$cli" sniff --json --count 1 --xpub "tcp://$addr_a:5551" 'exec.fill.>' \
    >"$tmp/sniff_fill.json" 2>>"$tmp/sniff.log" || fail "no exec.fill.* seen from $ns_b"
echo "ok: a fill crossed marketdata -> strategy -> risk -> execution: \
$(head -c 200 "$tmp/sniff_fill.json")"

# Counters move between two status replies (heartbeats carry the nodes' counters).
sleep 1
status >"$tmp/status2.json" || fail "second status"
for n in "${nodes[@]}"; do
    before=$(jq --arg n "$n" '.nodes[] | select(.name == $n) | .counters | .published + .received' \
        "$tmp/status1.json")
    after=$(jq --arg n "$n" '.nodes[] | select(.name == $n) | .counters | .published + .received' \
        "$tmp/status2.json")
    if [ -z "$after" ] || [ "$after" -le "${before:-0}" ]; then
        fail "$n: published + received not moving ($before -> $after)"
    fi
done
ticks1=$(jq '[.topics[] | select(.topic | startswith("md.tick.")) | .messages] | add' \
    "$tmp/status1.json")
ticks2=$(jq '[.topics[] | select(.topic | startswith("md.tick.")) | .messages] | add' \
    "$tmp/status2.json")
[ "$ticks2" -gt "$ticks1" ] || fail "broker md.tick.* messages not moving ($ticks1 -> $ticks2)"
echo "ok: counters moving (broker md.tick.* messages $ticks1 -> $ticks2)"

# SIGTERM: nodes first, then the broker; each exits 0.
for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid=${pids[$i]}
    kill -TERM "$pid"
    rc=0
    wait "$pid" || rc=$?
    [ $rc -eq 0 ] || fail "process $pid exited $rc on SIGTERM, want 0"
done
pids=()
echo "PASS: broker in $ns_a, ${#nodes[@]} nodes in $ns_b, events across the veth, clean exit"
