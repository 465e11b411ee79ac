#!/usr/bin/env bash
# Benchmark (issue 12): the IB commission engine alone on one core (a 200-rule plan, 100 chains
# of 10 IBs, 10,000 clients), accrual legs per second at 1M and 10M deals; then the peak RSS of
# `brokeros ib preview` streaming 10M generated deals (CSV piped on standard input, nothing
# stored on disk but the plan and tree files, removed at the end).
#   bash bench/ib-engine.sh                 # ENGINE_DEALS="1000000 10000000" PREVIEW_DEALS=10000000
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ENGINE_DEALS=${ENGINE_DEALS:-"1000000 10000000"}
PREVIEW_DEALS=${PREVIEW_DEALS:-10000000}
target=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p brokeros-ib --example ib_engine_bench
cargo build --release -q -p brokeros
bench="$target/release/examples/ib_engine_bench"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "--- engine alone (taskset -c 0: one core)"
for n in $ENGINE_DEALS; do
  taskset -c 0 "$bench" engine "$n"
done
echo "--- brokeros ib preview over $PREVIEW_DEALS deals (--totals-only), peak RSS"
dir=$(mktemp -d /tmp/ib-preview-bench.XXXXXX)
trap 'rm -rf "$dir"' EXIT
"$bench" files "$dir" 0 >/dev/null
"$bench" files "$dir" "$PREVIEW_DEALS" |
  /usr/bin/time -v "$target/release/brokeros" ib preview --plan "$dir/plan.json" --tree "$dir/tree.json" \
    --deals - --totals-only >"$dir/statements.csv" 2>"$dir/time.txt" || { cat "$dir/time.txt"; exit 1; }
grep -E "deals,|Maximum resident set size|Elapsed \(wall clock\)" "$dir/time.txt"
echo "statements: $(($(wc -l <"$dir/statements.csv") - 1))"
