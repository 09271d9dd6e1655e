#!/bin/sh
# Installs what is missing, builds, and shows autodump catching a leaking
# program with its built-in default rules.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[ -d build ] || meson setup build >/dev/null
meson compile -C build >/dev/null
out=$(mktemp -d /tmp/autodump-demo.XXXXXX)
echo "== autodump run -o $out -- misbehave leak (quiet for 11 s, then leaking 50 MiB/s)"
# The default memory-spike rule needs a 10 s warm-up to know what normal
# looks like; the leak starts after it. Stopped after 30 s.
build/src/autodump run -o "$out" -- timeout -s INT 30 build/tests/targets/misbehave leak after=11 rate=50 max=700 || true
echo
for dir in "$out"/*/; do
        echo "== autodump show $dir"
        build/src/autodump show "$dir"
        echo
        echo "== the leaking thread, from ${dir}stacks.txt"
        grep -B3 -A3 leak_memory "${dir}stacks.txt" | head -12
        if [ -f "${dir}core" ]; then
                echo
                echo "== gdb on ${dir}core"
                gdb --nx --batch -ex bt build/tests/targets/misbehave "${dir}core" 2>/dev/null | grep '^#'
        fi
done

crash_out=$(mktemp -d /tmp/autodump-demo-crash.XXXXXX)
echo "== autodump run -o $crash_out -- misbehave crash (a NULL write on a worker thread)"
status=0
build/src/autodump run -o "$crash_out" -- build/tests/targets/misbehave crash || status=$?
echo "exit status $status, as without autodump (128 + SIGSEGV)"
for dir in "$crash_out"/*/; do
        echo
        echo "== autodump show $dir"
        build/src/autodump show "$dir"
        echo
        echo "== gdb on ${dir}core: the crash as the kernel would have dumped it"
        gdb --nx --batch -ex bt build/tests/targets/misbehave "${dir}core" 2>/dev/null | grep -E '^#|terminated'
done
