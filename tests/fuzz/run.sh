#!/usr/bin/env bash
# Runs every fuzzer (schema decoders, the broker's control plane, the journal reader, the HTTP
# request head, the FIX tag=value parser): first the committed regression inputs (tests/fuzz/regressions/<target>/,
# each must pass), then SECONDS of fuzzing from a seed corpus generated from the schema (plus any
# committed tests/fuzz/corpus/<target>/). The growing corpus, crash artifacts and logs stay in
# BUILD_DIR/fuzz/. Exits non-zero on any crash, leak, timeout or oversized allocation.
# Usage: tests/fuzz/run.sh BUILD_DIR SECONDS   (BUILD_DIR configured with -DTRADEBUS_BUILD_FUZZ=ON
#        and CXX=clang++, target tradebus_fuzz_targets built)
set -euo pipefail

usage() { echo "usage: $0 BUILD_DIR SECONDS" >&2; exit 2; }
[[ $# -eq 2 ]] || usage
[[ "$2" =~ ^[1-9][0-9]*$ ]] || usage
[[ -d "$1" ]] || { echo "run.sh: no build dir $1" >&2; exit 2; }
build=$(cd "$1" && pwd)
seconds=$2
src=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bin="$build/tests/fuzz"
work="$build/fuzz"
targets=(fuzz_event_decoder fuzz_control_decoder fuzz_control_plane fuzz_journal_reader
    fuzz_http_request fuzz_fix_message)

for exe in "${targets[@]}" tradebus_fuzz_seeds; do
    if [[ ! -x "$bin/$exe" ]]; then
        echo "run.sh: $bin/$exe not built (cmake --build $1 --target tradebus_fuzz_targets)" >&2
        exit 2
    fi
done

seeds="$work/seeds"
rm -rf "$seeds"
"$bin/tradebus_fuzz_seeds" "$seeds"

# Crash on the first sanitizer report, with a stack; keep going is never what we want here.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# The decoder never needs more than a few MiB for a 1 MiB message: a larger single allocation
# means it trusted a claimed length, and libFuzzer reports it as a crash.
common=(-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=64)

status=0
for target in "${targets[@]}"; do
    artifacts="$work/artifacts/$target"
    corpus="$work/corpus/$target"
    log="$work/$target.log"
    mkdir -p "$artifacts" "$corpus"

    regressions=()
    if [[ -d "$src/regressions/$target" ]]; then
        while IFS= read -r -d '' f; do regressions+=("$f"); done < <(
            find "$src/regressions/$target" -type f ! -name '*.md' ! -name '.*' -print0 | sort -z)
    fi
    if ((${#regressions[@]} > 0)); then
        if ! "$bin/$target" "${common[@]}" -artifact_prefix="$artifacts/" "${regressions[@]}" \
            >"$work/$target.regressions.log" 2>&1; then
            echo "FAIL $target: a committed regression input crashes again" >&2
            tail -n 40 "$work/$target.regressions.log" >&2
            status=1
            continue
        fi
        echo "ok   $target: ${#regressions[@]} regression inputs"
    fi

    inputs=("$corpus" "$seeds/$target")
    [[ -d "$src/corpus/$target" ]] && inputs+=("$src/corpus/$target")
    if "$bin/$target" "${common[@]}" -max_total_time="$seconds" -max_len=8192 \
        -dict="$seeds/$target.dict" -artifact_prefix="$artifacts/" -print_final_stats=1 \
        "${inputs[@]}" >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
        cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 || true)
        echo "ok   $target: ${runs:-?} runs in ${seconds}s, ${cov:-cov: ?}, corpus $corpus"
    else
        echo "FAIL $target: crash found; artifacts in $artifacts, log $log" >&2
        grep -E 'ERROR|SUMMARY|tradebus fuzz|Test unit written' "$log" | head -n 20 >&2 || true
        echo "     reproduce: $bin/$target <artifact>; fix, then commit the input under" \
            "tests/fuzz/regressions/$target/" >&2
        status=1
    fi
done
exit "$status"
