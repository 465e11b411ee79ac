#!/usr/bin/env bash
# Benchmark (issue 15): a PAMM rollover for an offer with 10,000 investors.
#  1. compute: the rollover engine in memory (release build of the `pamm_rollover_bench`
#     example of brokeros-pamm, one core): fees, stop levels, 2,101 requests, units and NAV;
#  2. end to end on the embedded store (release build of the `pamm_rollover_e2e` example of
#     brokeros-tests, SQLite in a temporary directory removed at the end): the rollover's every
#     step through the use cases (freeze, mark on the simulated platform, compute and record a
#     line per holder, execute holder by holder with the ledger, settle, notify).
#   bash bench/pamm-rollover.sh                    # 10,000 investors
#   INVESTORS=2000 bash bench/pamm-rollover.sh     # the end-to-end part with fewer
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
INVESTORS=${INVESTORS:-10000}
target=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p brokeros-pamm --example pamm_rollover_bench
cargo build --release -q -p brokeros-tests --example pamm_rollover_e2e
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GB RAM, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "--- compute (taskset -c 0: one core)"
taskset -c 0 "$target/release/examples/pamm_rollover_bench"
echo "--- end to end on the embedded store (SQLite), $INVESTORS investors"
/usr/bin/time -f "peak_rss_kb=%M wall_seconds=%e" "$target/release/examples/pamm_rollover_e2e" "$INVESTORS"
