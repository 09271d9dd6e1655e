#!/bin/sh
# The long fuzzing campaign, outside CI's time budget:
#   tests/bench/fuzz_campaign.sh [SECONDS_EACH] [HARNESS]...
# builds the harnesses with clang (build-fuzz), runs each for SECONDS_EACH
# (3600 by default) over its seeds plus a kept corpus (build-fuzz/campaign),
# and prints executions, coverage and any crash per harness.
set -eu
cd "$(dirname "$0")/../.."
seconds=${1:-3600}
[ $# -gt 0 ] && shift
harnesses=${*:-rules config proc maps perfmap hsperf}
if [ ! -d build-fuzz ]; then
        CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=false -Db_sanitize=address,undefined \
                -Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link >/dev/null
fi
ninja -C build-fuzz >/dev/null
for name in $harnesses; do
        harness=build-fuzz/tests/fuzz/fuzz_$name
        log=build-fuzz/campaign-$name.log
        status=ok
        tests/fuzz/run-fuzzer.sh "$harness" tests/fuzz/corpus/$name "$seconds" >"$log" 2>&1 || status=FAILED
        execs=$(sed -n 's/^stat::number_of_executed_units: //p' "$log")
        cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)
        echo "fuzz_$name: $status, $execs executions in ${seconds}s, $cov, corpus $(ls "$harness.corpus" | wc -l) inputs"
        ls "$harness"-crash-* "$harness"-leak-* "$harness"-timeout-* "$harness"-oom-* 2>/dev/null || true
done
