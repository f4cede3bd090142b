#!/usr/bin/env bash
# README "Trading at a FIX venue": `scripts/run-pipeline.sh --venue fix` runs the default
# pipeline with execution and marketdata logged on over FIX 4.4 to tradebus-venue-sim, for
# 25 s. Then, from what it left (var/fix/journal, var/log/venue-sim.log):
#   - the pipeline traded: fills were journaled, each from execution with a venue-derived id;
#   - one for one: every journaled fill is one execution the simulator logged (order id, side,
#     symbol, qty, price), and the simulator logged no execution the bus lacks;
#   - no fill id twice, and every approved order has exactly one end (a reject, or an ack and
#     one terminal event), its fills adding up to qty - the final leaves_qty;
#   - risk's last position per symbol equals what `tradebus journal report` computes.
# Uses the script's fixed ports (5551-5553, 8470, 9878) and var/ of the source tree: RUN_SERIAL.
set -uo pipefail

src=$(cd "${1:?usage: $0 SOURCE_DIR BUILD_DIR}" && pwd)
build=$(cd "${2:?usage: $0 SOURCE_DIR BUILD_DIR}" && pwd)
fail() { echo "FAIL: $*"; exit 1; }

cd "$src"
out=$(TRADEBUS_RUN_SECONDS=25 TRADEBUS_JOBS=2 timeout 600 ./scripts/run-pipeline.sh --venue fix 2>&1)
rc=$?
[ "$rc" -eq 0 ] || { echo "$out" | tail -n 60; fail "run-pipeline.sh --venue fix exited $rc"; }
grep -q "against the FIX venue simulator" <<<"$out" || fail "no FIX venue banner: $(head -c 2000 <<<"$out")"

journal=$(mktemp)
trap 'rm -f "$journal"' EXIT
"$build/cli/tradebus" journal cat --json --dir var/fix/journal >"$journal" 2>/dev/null ||
    fail "tradebus journal cat --dir var/fix/journal"
q() { jq -s "$1" "$journal"; }

fills=$(q '[.[] | select(.type == "fill")] | length')
echo "journal: $fills fill(s)"
[ "$fills" -ge 1 ] || fail "no fill journaled in 25 s against the simulator"
[ "$(q '[.[] | select(.type == "fill") | select(.src != "execution" or
        (.data.fill_id | startswith("execution-") | not))] | length')" -eq 0 ] ||
    fail "a fill not from execution, or with an id not derived from the venue's"
dups=$(jq -r 'select(.type == "fill") | .data.fill_id' "$journal" | sort | uniq -d)
[ -z "$dups" ] || fail "fill ids journaled twice: $dups"

# One for one with the simulator's log lines "<client> <ClOrdID> <SIDE> <SYM> <qty> @ <px> (...)".
bus=$(jq -r 'select(.type == "fill") | "\(.data.order_id) \(.data.side) \(.data.symbol) \(.data.qty)"' \
    "$journal" | sort)
venue=$(sed -n 's/.*\] TRADEBUS \([^ ]*\) \(BUY\|SELL\) \([^ ]*\) \([0-9]*\) @ .*/\1 \2 \3 \4/p' \
    var/log/venue-sim.log | sort)
[ "$bus" = "$venue" ] || fail "the bus's fills and the simulator's executions differ:
bus:
$bus
venue:
$venue"

# Every approved order ends exactly once.
bad=$(q '[.[] | select(.type == "order" and (.topic | startswith("risk.approved.")))
    | .data.order_id] as $ids
  | [.[]] as $all
  | [$ids[] as $id
     | ($all | map(select(.data.order_id == $id))) as $ev
     | ($ev | map(select(.type == "exec_reject")) | length) as $rej
     | ($ev | map(select(.type == "order_ack")) | length) as $ack
     | ($ev | map(select(.type == "order_cancelled" or .type == "order_expired"
                         or (.type == "fill" and .data.leaves_qty == 0))) | length) as $ends
     | select(($rej == 1 and $ack == 0 and $ends == 0) or ($rej == 0 and $ack == 1 and $ends <= 1)
              | not) | $id]')
[ "$(jq 'length' <<<"$bad")" -eq 0 ] || fail "orders without exactly one outcome: $bad"

"$build/cli/tradebus" journal report --json --utc --dir var/fix/journal >"$journal.report" ||
    fail "tradebus journal report"
risk_pos=$(q 'map(select(.type == "position")) | group_by(.data.symbol)
    | map({key: .[0].data.symbol, value: (last.data.qty)}) | from_entries')
report_pos=$(jq -c '[.days[].symbols | map_values(.position)] | add // {}' "$journal.report")
rm -f "$journal.report"
echo "positions: risk $(jq -c . <<<"$risk_pos"), journal report $report_pos"
# shellcheck disable=SC2016  # jq variables
jq -n -e --argjson risk "$risk_pos" --argjson report "$report_pos" \
    '$report | to_entries | all(.value == $risk[.key])' >/dev/null ||
    fail "risk's positions differ from the journal report's"
echo "PASS"
