#!/usr/bin/env bash
# The main job (README quick start): installs what is missing, builds, starts the broker and
# every node of its [pipeline] on this host with the default config/ (scripts/pipeline-nodes.sh),
# and shows what flows on the bus with `tradebus sniff`. Ctrl-C stops everything cleanly (nodes
# in reverse start order, then the broker) and leaves the journal in var/journal.
# Logs: var/log/<process>.log.
#   --venue fix             trade against the FIX venue simulator (tradebus-venue-sim, started
#                           first on port 9878) instead of the paper exchange: execution with
#                           [execution] venue = "fix", marketdata with source = "fix", both
#                           logged on to it over FIX 4.4 (README "Trading at a FIX venue"). The
#                           simulator keeps its book in memory, so this starts from a fresh
#                           state under var/fix/ (configs, FIX stores, journal) every time.
#   TRADEBUS_RUN_SECONDS=N  stop by itself after N seconds (used by the smoke test)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

venue=paper
while (($# > 0)); do
  case "$1" in
    --venue) venue=${2:-}; shift 2 || { echo "usage: $0 [--venue paper|fix]" >&2; exit 2; } ;;
    --venue=*) venue=${1#--venue=}; shift ;;
    *) echo "usage: $0 [--venue paper|fix]" >&2; exit 2 ;;
  esac
done
[[ "$venue" == paper || "$venue" == fix ]] || { echo "$0: --venue paper|fix, not '$venue'" >&2; exit 2; }

./scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"${TRADEBUS_JOBS:-2}" --target tradebus-broker tradebus-nodes tradebus \
  tradebus-venue-sim >/dev/null

mkdir -p var/log var/journal
bin=$root/build
declare -A pids=() exe=()
while read -r kind path; do exe[$kind]=$path; done <"$bin/node-kinds.txt"  # cmake/NodeKinds.cmake
nodes_dir=config/nodes
if [[ "$venue" == fix ]]; then
  # The shipped node files with the FIX venue and source switched on: the two keys a desk edits
  # ([execution] venue, [marketdata] source) and the two tables it fills in, pointed at the
  # simulator; every other file as shipped. The journal under var/fix/ too: the journal's
  # working orders must be the simulator's.
  rm -rf var/fix
  mkdir -p var/fix/nodes
  cp config/nodes/*.toml var/fix/nodes/
  nodes_dir=var/fix/nodes
  sed -i 's|^dir = "var/journal"|dir = "var/fix/journal"|' "$nodes_dir/journal.toml"
  sed -i 's|^venue = "paper"|venue = "fix"|' "$nodes_dir/execution.toml"
  sed -i 's|^source = "synthetic"|source = "fix"|' "$nodes_dir/marketdata.toml"
  session() {  # sender, store
    printf 'sender_comp_id = "%s"\ntarget_comp_id = "VENUE"\nport = 9878\nstore_dir = "%s"\n' "$1" "$2"
    printf 'heartbeat_interval_s = 5\nreconnect_interval_s = 1\n'
  }
  { echo; echo "[execution.fix]"; session TRADEBUS var/fix/store/execution; } \
    >>"$nodes_dir/execution.toml"
  { echo; echo "[marketdata.fix]"; session TRADEBUS-MD var/fix/store/marketdata
    echo 'symbols = ["AAPL", "MSFT", "SPY"]'; } >>"$nodes_dir/marketdata.toml"
  sed -e 's|^store_dir = .*|store_dir = "var/fix/store/venue-sim"|' \
      -e 's|^control = .*|control = "ipc://'"$root"'/var/fix/venue-sim.ctl"|' \
      config/venue-sim.toml >var/fix/venue-sim.toml
  for kind in execution marketdata; do  # a bad edit stops here, with its file:line:col
    "${exe[$kind]}" --config "$nodes_dir/$kind.toml" --check-config >/dev/null
  done
fi
pipeline=$(scripts/pipeline-nodes.sh config/broker.toml "$nodes_dir")  # "<name> <kind>" lines
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
  [[ "$venue" == fix ]] && order+=(venue-sim)
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
  echo "== stopped; journal in $([[ "$venue" == fix ]] && echo var/fix/journal || echo var/journal), logs in var/log"
}
trap stop_all INT TERM EXIT

if [[ "$venue" == fix ]]; then
  start venue-sim "$bin/fix/sim/tradebus-venue-sim" var/fix/venue-sim.toml
fi
start broker "$bin/broker/tradebus-broker" config/broker.toml
for i in "${!nodes[@]}"; do
  kind=${kinds[$i]}
  [[ -n "${exe[$kind]:-}" ]] || { echo "$nodes_dir/${nodes[$i]}.toml: no built kind $kind"; exit 2; }
  start "${nodes[$i]}" "${exe[$kind]}" "$nodes_dir/${nodes[$i]}.toml"
done

list=$(IFS=,; echo "${nodes[*]}")
echo "== tradebus pipeline running (broker + ${list//,/, })"
if [[ "$venue" == fix ]]; then
  echo "== against the FIX venue simulator on port 9878 (var/log/venue-sim.log); ask it with"
  echo "   $bin/fix/sim/tradebus-venue-sim --control ipc://$root/var/fix/venue-sim.ctl positions"
fi
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
