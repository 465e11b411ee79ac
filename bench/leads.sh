#!/usr/bin/env bash
# Benchmark: POST /leads next to GET /health on the same `brokeros serve` (release build,
# embedded store), in one run, under wrk on loopback. Prints one RESULT line per route.
#   bash bench/leads.sh            # DURATION=20s CONNECTIONS=32 THREADS=1 DURABILITY=full by default
#   DURABILITY="full relaxed" bash bench/leads.sh   # each store durability on a fresh server, side by side
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v wrk >/dev/null || { echo "error: wrk is required: apt-get install wrk" >&2; exit 1; }
DURATION=${DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}
DURABILITY=${DURABILITY:-full}
export BENCH_DIR="$PWD/bench"

source bench/server.sh
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION (server and wrk share the machine)"
for mode in $DURABILITY; do
  start_server "$mode"
  echo "--durability $mode"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d5s -s bench/health.lua "http://127.0.0.1:$port/health" >/dev/null # warm-up
  printf 'GET /health  '; wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s bench/health.lua "http://127.0.0.1:$port/health" | grep RESULT
  printf 'POST /leads  '; wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s bench/lead.lua "http://127.0.0.1:$port/leads" | grep RESULT
  echo "leads stored: $(sqlite3 "$data/brokeros.db" 'select count(*) from items where tbl="main" and sk="LEAD"' 2>/dev/null || echo '(sqlite3 not installed)')"
  stop_server
done
