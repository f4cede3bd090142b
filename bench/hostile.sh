#!/usr/bin/env bash
# The figures of issue 14 (hostile peers against the broker), reproducibly: starts a broker
# and the five nodes of the shipped pipeline on their own ports in a temp dir, then runs each
# part of tradebus-bench-hostile against them and prints one line of figures per part:
#   node RSS after subscription-churn rounds, broker RSS after a registration flood, the control
#   round trip while a 200k-topic table is scraped, scrapes under 50 slow clients.
# Not run by CI. Usage: bench/hostile.sh [BUILD_DIR] [BASE_PORT]   (defaults: build 23550; pick
# ports below the kernel's ephemeral range, where no outgoing connection can hold them)
# Environment: ROUNDS (8), TOPICS (200000), REGISTRATIONS (1017), PARTS ("churn register topics
# slowhttp": which parts run, in that order).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$repo/build}" && pwd)
base=${2:-23550}
rounds=${ROUNDS:-8}
topics=${TOPICS:-200000}
registrations=${REGISTRATIONS:-1017}
parts=" ${PARTS:-churn register topics slowhttp} "
metrics_port=$((base + 9))
work=$(mktemp -d /tmp/tradebus-hostile.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

ports() {  # the shipped endpoints moved to this run's ports
    sed -e "s/127.0.0.1:5550/127.0.0.1:$base/; s/127.0.0.1:5551/127.0.0.1:$((base + 1))/" \
        -e "s/127.0.0.1:5552/127.0.0.1:$((base + 2))/; s/127.0.0.1:5553/127.0.0.1:$((base + 3))/" \
        -e "s|var/journal|$work/journal|; s|var/broker/trading.toml|$work/trading.toml|" \
        -e "s|config/data/|$repo/config/data/|" "$1"
}
ports "$repo/config/broker.toml" |
    sed -e "s|^listen = \"\"|listen = \"tcp://127.0.0.1:$metrics_port\"|" >"$work/broker.toml"
for n in journal execution marketdata risk strategy; do
    ports "$repo/config/nodes/$n.toml" >"$work/$n.toml"
done

"$build/broker/tradebus-broker" --config "$work/broker.toml" 2>"$work/broker.log" &
broker=$!
pids+=("$broker")
sleep 1
kill -0 "$broker" 2>/dev/null || { cat "$work/broker.log" >&2; exit 1; }
declare -A node_pid
for n in journal execution marketdata risk strategy; do
    "$build/nodes/$n/tradebus-$n" --config "$work/$n.toml" 2>"$work/$n.log" &
    node_pid[$n]=$!
    pids+=("$!")
done
sleep 5
for n in "${!node_pid[@]}"; do
    kill -0 "${node_pid[$n]}" 2>/dev/null || { cat "$work/$n.log" >&2; exit 1; }
done
hostile="$build/bench/tradebus-bench-hostile"
list=""
for n in marketdata strategy risk execution; do list+="${list:+,}$n=${node_pid[$n]}"; done

echo "# tradebus-bench-hostile, broker pid $broker, ports $base.., metrics :$metrics_port"
[[ $parts != *" churn "* ]] || "$hostile" churn --xpub "tcp://127.0.0.1:$((base + 1))" --metrics-port "$metrics_port" \
    --topics "$topics" --rounds "$rounds" --pids "$list,broker=$broker"
[[ $parts != *" register "* ]] || "$hostile" register --control "tcp://127.0.0.1:$((base + 2))" --count "$registrations" \
    --bytes 1000000 --broker-pid "$broker"
[[ $parts != *" topics "* ]] || "$hostile" topics --xsub "tcp://127.0.0.1:$base" --xpub "tcp://127.0.0.1:$((base + 1))" \
    --control "tcp://127.0.0.1:$((base + 2))" --metrics-port "$metrics_port" --topics "$topics"
[[ $parts != *" slowhttp "* ]] || "$hostile" slowhttp --metrics-port "$metrics_port" --clients 50 --scrapes 10
