#!/usr/bin/env bash
# pipeline-nodes.sh BROKER_TOML NODES_DIR: the nodes of a broker's pipeline, one line
# "<name> <kind>" per [pipeline.<name>] table of BROKER_TOML, in its order (the start order of
# the default dependencies), with the kind from the [node] table of NODES_DIR/<name>.toml.
# What scripts/run-pipeline.sh and tests/ops/ start and check: the default pipeline is written
# once, in config/broker.toml and config/nodes/ (CONTRIBUTING.md "Add a built-in node kind").
# Exit 2 when a node has no config or no kind, or the pipeline is empty.
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: $0 BROKER_TOML NODES_DIR" >&2; exit 2; }
broker_toml=$1 nodes_dir=$2
launcher=$(cd "$(dirname "$0")/.." && pwd)/systemd/tradebus-node
names=$(sed -n 's/^\[pipeline\.\([a-z0-9_-]*\)\][[:space:]]*\(#.*\)\{0,1\}$/\1/p' "$broker_toml")
[ -n "$names" ] || { echo "$broker_toml: no [pipeline.<name>] table" >&2; exit 2; }
for name in $names; do
    config=$nodes_dir/$name.toml
    [ -r "$config" ] || { echo "$0: $broker_toml: [pipeline.$name]: no $config" >&2; exit 2; }
    # The kind as the launcher reads it (systemd/tradebus-node --kind: one reader of [node]).
    kind=$("$launcher" --kind "$config") || exit 2
    echo "$name $kind"
done
