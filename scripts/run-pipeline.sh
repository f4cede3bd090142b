#!/usr/bin/env bash
# The main job (README quick start): installs what is missing, builds, starts the broker and
# every node of its [pipeline] on this host with the default config/ (scripts/pipeline-nodes.sh),
# and shows what flows on the bus with `tradebus sniff`. Ctrl-C stops everything cleanly (nodes
# in reverse start order, then the broker) and leaves the journal in var/journal.
# Logs: var/log/<process>.log.
#   TRADEBUS_RUN_SECONDS=N  stop by itself after N seconds (used by the smoke test)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

./scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"${TRADEBUS_JOBS:-2}" --target tradebus-broker tradebus-nodes tradebus \
  >/dev/null

mkdir -p var/log var/journal
bin=$root/build
declare -A pids=() exe=()
while read -r kind path; do exe[$kind]=$path; done <"$bin/node-kinds.txt"  # cmake/NodeKinds.cmake
pipeline=$(scripts/pipeline-nodes.sh config/broker.toml config/nodes)  # "<name> <kind>" lines
nodes=() kinds=()
while read -r name kind; do nodes+=("$name"); kinds+=("$kind"); done <<<"$pipeline"

start() {  # name, executable, config
  # setsid: Ctrl-C reaches only this script, which then stops the processes in order.
  setsid "$2" --config "$3" >"var/log/$1.log" 2>&1 &
  pids[$1]=$!
}

stop_all() {
  trap - INT TERM EXIT
  echo
  echo "== stopping the pipeline"
  "$bin/cli/tradebus" status --control tcp://127.0.0.1:5552 --timeout 2 2>/dev/null || true
  local order=(broker)
  for name in "${nodes[@]}"; do order=("$name" "${order[@]}"); done
  for name in "${order[@]}"; do
    pid=${pids[$name]:-}
    [[ -n "$pid" ]] || continue
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "$name did not stop within 5 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  echo "== stopped; journal in var/journal, logs in var/log"
}
trap stop_all INT TERM EXIT

start broker "$bin/broker/tradebus-broker" config/broker.toml
for i in "${!nodes[@]}"; do
  kind=${kinds[$i]}
  [[ -n "${exe[$kind]:-}" ]] || { echo "config/nodes/${nodes[$i]}.toml: no built kind $kind"; exit 2; }
  start "${nodes[$i]}" "${exe[$kind]}" "config/nodes/${nodes[$i]}.toml"
done

list=$(IFS=,; echo "${nodes[*]}")
echo "== tradebus pipeline running (broker + ${list//,/, })"
echo "== showing bars, signals, risk decisions, fills, positions and sys events; Ctrl-C to stop"
if [[ " ${kinds[*]} " == *" web "* ]]; then  # the desk page's address, from its own config
  web_listen=$(sed -n 's|^listen = "tcp://\(.*\)".*|\1|p' config/nodes/web.toml)
  echo "== the desk page: http://${web_listen:-127.0.0.1:8470}/"
fi
sniff=("$bin/cli/tradebus" sniff --xpub tcp://127.0.0.1:5551 'md.bar.>' 'strategy.>' 'risk.>'
       'exec.>' 'sys.node.>' 'sys.trading' 'sys.broker.>')
if [[ -n "${TRADEBUS_RUN_SECONDS:-}" ]]; then
  sniff+=(--duration "$TRADEBUS_RUN_SECONDS")
fi
"${sniff[@]}" || true
