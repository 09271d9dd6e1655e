#!/bin/sh
# run-fuzzer.sh HARNESS SEEDS [SECONDS]: one bounded libFuzzer run. New
# inputs go to a scratch corpus beside the harness, never into the seeds;
# a crash leaves its input there (crash-*) and fails the test.
set -eu
harness=$1 seeds=$2 seconds=${3:-${AUTODUMP_FUZZ_SECONDS:-20}}
work="$harness.corpus"
mkdir -p "$work"
exec "$harness" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -artifact_prefix="$harness-" -print_final_stats=1 "$work" "$seeds"
