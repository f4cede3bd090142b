#!/usr/bin/env bash
# The shipped Prometheus alerting rules (config/prometheus/tradebus-alerts.yml): valid rules
# (promtool check rules) that fire, and stay quiet, as their unit tests say (promtool test rules,
# tests/ops/prometheus/). That each metric name they use is one the broker serves is checked
# against a live scrape by the integration test "health: every metric the alerting rules use ...".
#   alert_rules_test.sh SOURCE_DIR
set -euo pipefail
src=${1:?usage: alert_rules_test.sh SOURCE_DIR}
if ! command -v promtool >/dev/null 2>&1; then
    echo "alert_rules_test: promtool not found; scripts/install-deps.sh installs it (Debian package prometheus)" >&2
    exit 1
fi
promtool check rules "$src/config/prometheus/tradebus-alerts.yml"
promtool test rules "$src/tests/ops/prometheus/tradebus-alerts.test.yml"
