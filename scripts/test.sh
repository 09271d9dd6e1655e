#!/bin/sh
# Installs what is missing, builds with -Werror, runs every test (unit and
# integration), then runs them all again under AddressSanitizer and
# UndefinedBehaviorSanitizer, then runs each libFuzzer harness for
# AUTODUMP_FUZZ_SECONDS (20). Ends with one "N passed, N failed" line.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
if [ "$(id -u)" -ne 0 ]; then
        echo "the integration tests need root (ptrace, ns_last_pid, setpriv)" >&2
        exit 1
fi
rm -rf build-test build-asan build-fuzz
meson setup build-test -Dwerror=true >/dev/null
meson setup build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
CC=clang meson setup build-fuzz -Dfuzz=true -Dtests=false -Db_sanitize=address,undefined -Db_lundef=false \
        -Dc_args=-fsanitize=fuzzer-no-link >/dev/null
status=0
meson test -C build-test --print-errorlogs || status=1
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp meson test -C build-asan --print-errorlogs || status=1
meson test -C build-fuzz --print-errorlogs || status=1
/usr/bin/python3 - build-test build-asan build-fuzz <<'PY'
import json, sys
passed = failed = 0
for build in sys.argv[1:]:
    with open(f"{build}/meson-logs/testlog.json") as f:
        for line in f:
            if json.loads(line)["result"] == "OK":
                passed += 1
            else:
                failed += 1
print(f"{passed} passed, {failed} failed")
PY
exit $status
