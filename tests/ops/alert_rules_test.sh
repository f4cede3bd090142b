#!/usr/bin/env bash
# The shipped Prometheus alerting rules (config/prometheus/tradebus-alerts.yml): valid rules
# (promtool check rules) that fire, and stay quiet, as their unit tests say (promtool test rules,
# tests/ops/prometheus/). Then a real broker's /metrics passes promtool's exposition lint
# (promtool check metrics: names, types, HELP). That each metric name the rules use is one the
# broker serves with nodes running is checked against a live scrape by the integration test
# "health: every metric the alerting rules use is in a live broker's scrape".
#   alert_rules_test.sh SOURCE_DIR BROKER_EXECUTABLE
set -euo pipefail
src=${1:?usage: alert_rules_test.sh SOURCE_DIR BROKER_EXECUTABLE}
broker=${2:?usage: alert_rules_test.sh SOURCE_DIR BROKER_EXECUTABLE}
fail() { echo "alert_rules_test: $*" >&2; exit 1; }
command -v promtool >/dev/null 2>&1 ||
    fail "promtool not found; scripts/install-deps.sh installs it (Debian package prometheus)"

promtool check rules "$src/config/prometheus/tradebus-alerts.yml"
promtool test rules "$src/tests/ops/prometheus/tradebus-alerts.test.yml"

# A broker on ipc endpoints in a scratch dir and a free loopback port for its metrics.
tmp=$(mktemp -d)
pid=""
cleanup() {
    if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$tmp/broker.toml" <<TOML
[endpoints]
xsub = "ipc://$tmp/xsub"
xpub = "ipc://$tmp/xpub"
control = "ipc://$tmp/control"
recorder = "ipc://$tmp/recorder"
[metrics]
listen = "tcp://127.0.0.1:$port"
[pipeline.journal]
TOML
"$broker" --config "$tmp/broker.toml" >"$tmp/broker.log" 2>&1 &
pid=$!

# GET with bash's /dev/tcp (HTTP/1.0: the broker closes after the answer).
get() {
    exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
    printf 'GET %s HTTP/1.0\r\n\r\n' "$1" >&3
    cat <&3
    exec 3<&-
}
answer=""
for _ in $(seq 100); do
    answer=$(get /metrics 2>/dev/null) && [[ -n "$answer" ]] && break
    kill -0 "$pid" 2>/dev/null || { cat "$tmp/broker.log" >&2; fail "the broker exited"; }
    sleep 0.1
done
[[ "$answer" == "HTTP/1.0 200 OK"* ]] || { cat "$tmp/broker.log" >&2; fail "no 200 from /metrics"; }
body=${answer#*$'\r\n\r\n'}
grep -q '^# TYPE tradebus_recorder_stalled gauge$' <<<"$body" || fail "no recorder families in the scrape"
promtool check metrics <<<"$body" || fail "promtool check metrics found problems above"
# /health: the configured journal never registered.
health=$(get /health)
[[ "$health" == "HTTP/1.0 503 Service Unavailable"* ]] || fail "/health: expected 503, got: $health"
grep -q '"reasons":\["journal: never registered"\]' <<<"$health" || fail "/health reasons: $health"
echo "alert_rules_test: rules checked and unit-tested, /metrics lint clean, /health 503 without its node"
