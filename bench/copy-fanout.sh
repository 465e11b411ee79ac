#!/usr/bin/env bash
# Benchmark (issue 15): one provider deal sized for 10,000 followers by the copier (release
# build of the `copy_fanout_bench` example of brokeros-copy, one core): the open, then the
# close of half of it.
#   bash bench/copy-fanout.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
target=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p brokeros-copy --example copy_fanout_bench
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GB RAM, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "--- sizing (taskset -c 0: one core)"
taskset -c 0 "$target/release/examples/copy_fanout_bench"
