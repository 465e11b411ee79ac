#!/usr/bin/env bash
# Benchmark (issue 13): contest scoring on one core with 100,000 entrants and 10,000,000 closed
# trades (plus their cash flows) held in memory: full scoring and ranking, five incremental passes
# of 1 % new deals each with the re-ranking, recompute(), the hedging review, peak RSS, the same
# incremental step over books that stay in the cache; then loading
# the deals from a generated deals.csv (parse + add), and `brokeros contest score` over the
# generated files (wall time and peak RSS). The files go to a temporary directory, removed at
# the end.
#   bash bench/contest-scoring.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
target=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p brokeros-contests --example contest_scoring_bench
cargo build --release -q -p brokeros
bench="$target/release/examples/contest_scoring_bench"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GB RAM, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "--- in memory (taskset -c 0: one core)"
taskset -c 0 "$bench" memory
dir=$(mktemp -d /tmp/contest-bench.XXXXXX)
trap 'rm -rf "$dir"' EXIT
"$bench" write "$dir"
echo "--- files: $(du -sh "$dir" | cut -f1) ($(wc -l <"$dir/deals.csv") deal lines, $(wc -l <"$dir/cashflows.csv") cash flow lines)"
echo "--- loading deals.csv (taskset -c 0)"
taskset -c 0 "$bench" load "$dir"
echo "--- brokeros contest score over the files (taskset -c 0)"
taskset -c 0 /usr/bin/time -v "$target/release/brokeros" contest score --contest "$dir/contest.json" \
  --deals "$dir/deals.csv" --cashflows "$dir/cashflows.csv" --entrants "$dir/entrants.csv" \
  >"$dir/ranking.csv" 2>"$dir/time.txt" || { cat "$dir/time.txt"; exit 1; }
grep -E "entrants \(|Maximum resident set size|Elapsed \(wall clock\)" "$dir/time.txt"
echo "ranking lines: $(($(wc -l <"$dir/ranking.csv") - 1)); top: $(sed -n 2p "$dir/ranking.csv")"
