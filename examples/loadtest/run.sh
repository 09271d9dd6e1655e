#!/bin/sh
# The load-test recipe end to end, in about a minute: records a redis
# load test (load.sh) under the rules here, replays a tighter rule on the
# recording, and writes the report. Usage: examples/loadtest/run.sh [DIR]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$here/../..
work=${1:-$(mktemp -d /tmp/autodump-loadtest.XXXXXX)}
mkdir -p "$work"
"$root/scripts/install-deps.sh"
for p in redis-server redis-tools; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$p" >/dev/null
done
[ -x "$root/build/src/autodump" ] || { meson setup "$root/build" "$root" >/dev/null && ninja -C "$root/build" >/dev/null; }
autodump=$root/build/src/autodump

"$autodump" run --record "$work/night.db" -o "$work/out" -r "$here/rules.yaml" -- "$here/load.sh"
echo
echo "== what fired (sqlite3)"
sqlite3 "$work/night.db" "SELECT time, rule, comm, pid, status FROM firings_named"
echo "== would a tighter rule have fired earlier? (replay)"
"$autodump" replay -r "$here/tighter.yaml" "$work/night.db"
"$autodump" report "$work/night.db" --replay "$here/tighter.yaml" -o "$work/night.html"
echo "== open file://$work/night.html"
