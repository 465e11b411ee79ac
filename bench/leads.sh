#!/usr/bin/env bash
# Benchmark: POST /leads next to GET /health on the same `brokeros serve` (release build,
# embedded store), in one run, under wrk on loopback. Prints one RESULT line per route.
#   bash bench/leads.sh            # DURATION=20s CONNECTIONS=32 THREADS=1 by default
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v wrk >/dev/null || { echo "error: wrk is required: apt-get install wrk" >&2; exit 1; }
DURATION=${DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}
export BENCH_DIR="$PWD/bench"

cargo build --release --locked -p brokeros
data=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
RUST_LOG=warn ./target/release/brokeros serve --port "$port" --data-dir "$data" 2>/dev/null &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$port/health" >/dev/null && break
  sleep 0.1
done

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem/{print $2}') GiB"
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION (server and wrk share the machine)"
wrk -t"$THREADS" -c"$CONNECTIONS" -d5s -s bench/health.lua "http://127.0.0.1:$port/health" >/dev/null # warm-up
printf 'GET /health  '; wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s bench/health.lua "http://127.0.0.1:$port/health" | grep RESULT
printf 'POST /leads  '; wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s bench/lead.lua "http://127.0.0.1:$port/leads" | grep RESULT
echo "leads stored: $(sqlite3 "$data/brokeros.db" 'select count(*) from items where tbl="main" and sk="LEAD"' 2>/dev/null || echo '(sqlite3 not installed)')"
