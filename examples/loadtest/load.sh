#!/bin/sh
# The "load test": Debian's redis-server on loopback, driven by
# redis-benchmark, then filled with 2 million keys, emptied, and driven
# again. About 45 seconds. Run under `autodump run`, which watches it.
set -u
port=${REDIS_PORT:-6399}
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --enable-debug-command local >/dev/null &
server=$!
until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.1; done
sleep 12                                                   # a quiet baseline
redis-benchmark -p "$port" -q -n 1000000 -c 50 -t set,get >/dev/null
redis-cli -p "$port" debug populate 2000000 >/dev/null     # memory jumps
sleep 8
redis-cli -p "$port" flushall >/dev/null
sleep 5
redis-benchmark -p "$port" -q -n 200000 -c 50 -t incr >/dev/null
sleep 3
redis-cli -p "$port" shutdown nosave >/dev/null 2>&1
wait "$server"
