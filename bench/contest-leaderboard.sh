#!/usr/bin/env bash
# Benchmark (issue 13): a contest's leaderboard page, GET /contests/{id}/leaderboard?limit=50,
# next to GET /health on the same `brokeros serve` (release build, embedded store, full
# durability), in one run, under wrk on loopback; then the same page with If-None-Match (304s).
# The contest is set up through the API first (bench/contest_leaderboard_setup.py): published,
# ENTRANTS clients registered, onboarded and entered, a scoring run's snapshot published.
#   bash bench/contest-leaderboard.sh   # ENTRANTS=1000 DURATION=20s CONNECTIONS=32 THREADS=1 by default
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v wrk >/dev/null || { echo "error: wrk is required: apt-get install wrk" >&2; exit 1; }
ENTRANTS=${ENTRANTS:-1000}
DURATION=${DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}
export BENCH_DIR="$PWD/bench"

source bench/server.sh
start_server full
contest=bench-cup
python3 bench/contest_leaderboard_setup.py "http://127.0.0.1:$port" "$bin" "$data" "$ENTRANTS" "$contest" | tee "$data/setup.txt"
etag=$(sed -n 's/^ETAG=//p' "$data/setup.txt")
board="http://127.0.0.1:$port/contests/$contest/leaderboard?limit=50"
echo "304 check: $(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$board") with If-None-Match, $(curl -s -o /dev/null -w '%{http_code} %{size_download} bytes' "$board") without"
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION (server and wrk share the machine)"
wrk -t"$THREADS" -c"$CONNECTIONS" -d5s -s bench/health.lua "http://127.0.0.1:$port/health" >/dev/null # warm-up
wrk -t"$THREADS" -c"$CONNECTIONS" -d5s -s bench/contest-leaderboard.lua "$board" >/dev/null
printf 'GET /health                    '; wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s bench/health.lua "http://127.0.0.1:$port/health" | grep RESULT
printf 'GET leaderboard?limit=50       '; wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s bench/contest-leaderboard.lua "$board" | grep RESULT
printf 'GET leaderboard, If-None-Match '; IF_NONE_MATCH="$etag" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s bench/contest-leaderboard.lua "$board" | grep RESULT
stop_server
