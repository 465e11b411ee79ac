#!/usr/bin/env bash
# Benchmark: audit export and verify against raw SHA-256 of the same bytes, in one run.
#   bench/audit.sh [EVENTS] [STREAMS]      (default 1000000 events in 100000 streams)
# Writes EVENTS synthetic lead-sized audit events (`brokeros audit synth`, hidden) into a fresh
# embedded store under $BENCH_DIR (default /tmp/brokeros-audit-bench), then measures with
# /usr/bin/time -v (wall time, peak RSS):
#   1. brokeros audit export --from today   (streams NDJSON + CSV + heads, signs the manifest)
#   2. brokeros audit verify --public-key … --timing   (prints where the time went)
#   3. openssl dgst -sha256 over the exported NDJSON
# and prints throughputs and the ratios to openssl's. Deletes $BENCH_DIR unless KEEP=1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
events=${1:-1000000}
streams=${2:-100000}
dir=${BENCH_DIR:-/tmp/brokeros-audit-bench}
target=${CARGO_TARGET_DIR:-target}
cargo build -q --release -p brokeros
bin="$target/release/brokeros"
rm -rf "$dir"
mkdir -p "$dir"
trap '[ "${KEEP:-0}" = 1 ] || rm -rf "$dir"' EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(df -h "$dir" | awk 'NR==2 {print $1}') ($(findmnt -n -o FSTYPE -T "$dir"))"
echo "events: $events in $streams streams"
start=$(date +%s.%N)
"$bin" audit synth --data-dir "$dir/data" --events "$events" --streams "$streams" >/dev/null
echo "synth: $(echo "$(date +%s.%N) - $start" | bc) s"
"$bin" audit public-key --data-dir "$dir/data" >"$dir/key.pem"
sync

measure() { # name, command...: prints wall seconds and peak RSS (MB) from /usr/bin/time -v
  local name=$1
  shift
  /usr/bin/time -v "$@" >"$dir/$name.out" 2>"$dir/$name.time"
  local wall rss
  wall=$(grep 'Elapsed (wall clock)' "$dir/$name.time" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  rss=$(grep 'Maximum resident set size' "$dir/$name.time" | awk '{printf "%.1f", $NF/1024}')
  echo "$wall $rss"
}

from=$(date -u +%Y-%m-%dT00:00:00Z)
read -r export_s export_mb < <(measure export "$bin" audit export --data-dir "$dir/data" --from "$from" --out "$dir/exp" --timing)
bytes=$(stat -c %s "$dir/exp.ndjson")
read -r verify_s verify_mb < <(measure verify "$bin" audit verify "$dir/exp.ndjson" --public-key "$dir/key.pem" --timing)
read -r sha_s sha_mb < <(measure sha openssl dgst -sha256 "$dir/exp.ndjson")
mb=$(echo "scale=1; $bytes / 1000000" | bc)
rate() { echo "scale=1; $bytes / 1000000 / $1" | bc; }
pct() { echo "scale=1; 100 * $sha_s / $1" | bc; }
echo "NDJSON: $mb MB; manifest $(stat -c %s "$dir/exp.manifest.json") bytes; heads $(stat -c %s "$dir/exp.heads.ndjson") bytes; CSV $(stat -c %s "$dir/exp.csv") bytes"
printf '%-28s %8s s %9s MB/s %8s MB peak RSS %7s %% of openssl\n' \
  "audit export" "$export_s" "$(rate "$export_s")" "$export_mb" "$(pct "$export_s")" \
  "audit verify" "$verify_s" "$(rate "$verify_s")" "$verify_mb" "$(pct "$verify_s")" \
  "openssl dgst -sha256" "$sha_s" "$(rate "$sha_s")" "$sha_mb" "100"
grep -E "time:" "$dir/export.out" | sed "s/^ */export /"
grep -E "^OK|time:" "$dir/verify.out" | sed "s/^ *time/verify time/"
