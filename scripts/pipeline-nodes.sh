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
names=$(sed -n 's/^\[pipeline\.\([a-z0-9_-]*\)\][[:space:]]*\(#.*\)\{0,1\}$/\1/p' "$broker_toml")
[ -n "$names" ] || { echo "$broker_toml: no [pipeline.<name>] table" >&2; exit 2; }
for name in $names; do
    config=$nodes_dir/$name.toml
    [ -r "$config" ] || { echo "$0: $broker_toml: [pipeline.$name]: no $config" >&2; exit 2; }
    # The first kind = "..." inside [node] (as systemd/tradebus-node reads it).
    kind=$(awk '
        /^[ \t]*\[/ { header = $0; gsub(/[ \t]/, "", header); in_node = (header ~ /^\[node\]/); next }
        in_node && /^[ \t]*kind[ \t]*=/ {
            sub(/^[^=]*=[ \t]*/, ""); q = substr($0, 1, 1); rest = substr($0, 2)
            if ((q == "\"" || q == "\047") && index(rest, q) > 0) print substr(rest, 1, index(rest, q) - 1)
            exit
        }' "$config")
    case "$kind" in
        "" | *[!a-z0-9_-]*) echo "$0: $config: [node] kind: missing or not a kind" >&2; exit 2 ;;
    esac
    echo "$name $kind"
done
