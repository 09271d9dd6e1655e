#!/bin/sh
# Installs what is missing, builds with -Werror, runs every test (unit and
# integration), then runs them all again under AddressSanitizer and
# UndefinedBehaviorSanitizer.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
if [ "$(id -u)" -ne 0 ]; then
        echo "the integration tests need root (ptrace, ns_last_pid, setpriv)" >&2
        exit 1
fi
rm -rf build-test build-asan
meson setup build-test -Dwerror=true >/dev/null
meson test -C build-test --print-errorlogs
meson setup build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        meson test -C build-asan --print-errorlogs
