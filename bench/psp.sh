#!/usr/bin/env bash
# Benchmark: payment-provider webhook ingest (signature check, dedup, durable queue) through
# `brokeros serve` next to GET /health on the same server, in one run, under wrk on loopback.
#   bash bench/psp.sh        # DURATION=10s CONNECTIONS=32 THREADS=1 DELIVERIES_COUNT=400000 PROVIDER=simcard DURABILITY=full
#   DURABILITY="full relaxed" bash bench/psp.sh   # each store durability on a fresh server, side by side
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v wrk >/dev/null || { echo "error: wrk is required: apt-get install wrk" >&2; exit 1; }
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}
DELIVERIES_COUNT=${DELIVERIES_COUNT:-400000}
PROVIDER=${PROVIDER:-simcard}
DURABILITY=${DURABILITY:-full}
export BENCH_DIR="$PWD/bench" THREADS

source bench/server.sh
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION (server and wrk share the machine); provider $PROVIDER"
for mode in $DURABILITY; do
  start_server "$mode"
  echo "--durability $mode"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d5s -s bench/health.lua "http://127.0.0.1:$port/health" >/dev/null # warm-up
  printf 'GET /health               '; wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s bench/health.lua "http://127.0.0.1:$port/health" | grep RESULT
  # Signatures are valid for five minutes: generate them right before the run.
  export DELIVERIES="$data/deliveries.tsv"
  "$bin" psp deliveries --provider "$PROVIDER" --count "$DELIVERIES_COUNT" --out "$DELIVERIES"
  printf 'POST /webhooks/psp/%s ' "$PROVIDER"; wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s bench/psp.lua "http://127.0.0.1:$port/" | grep RESULT
  echo "queued messages: $(sqlite3 "$data/brokeros.db" "select count(*) from items where tbl='main' and pk like 'QMSG#%'" 2>/dev/null || echo '(sqlite3 not installed)')"
  stop_server
done
