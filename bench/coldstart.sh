#!/usr/bin/env bash
# Cold start of every Lambda function: release build on this machine, then each binary started
# RUNS times against a local stub of the Lambda Runtime API (bench/coldstart.py), timing process
# start → first `GET /2018-06-01/runtime/invocation/next`, with the environment the template
# gives the function (tables, queue URL, state machine ARNs, secrets ARN) and SDK clients built.
# Results: docs/PERFORMANCE.md "Lambda cold start". Usage:
#   bash bench/coldstart.sh                 # every crate in functions/, RUNS=30
#   RUNS=50 bash bench/coldstart.sh crm-api lead-capture
#   NO_BUILD=1 bash bench/coldstart.sh      # the binaries already in target/release
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=${RUNS:-30}

if [ $# -gt 0 ]; then
  functions=("$@")
else
  functions=()
  for dir in functions/*/; do
    [ -f "$dir/Cargo.toml" ] && functions+=("$(basename "$dir")")
  done
fi

venv=$(bash tools/python-venv.sh deploy) ||
  { echo "error: tools/python-venv.sh deploy failed (it brings cfn-lint, whose decoder reads the template)" >&2; exit 1; }
mkdir -p bench/out
"$venv/bin/python" tools/template-json.py infra/template.yaml > bench/out/template.json

if [ -z "${NO_BUILD:-}" ]; then   # NO_BUILD=1: measure the binaries target/release has
  packages=()
  for f in "${functions[@]}"; do packages+=(-p "$f"); done
  echo "building ${#functions[@]} functions (release) ..." >&2
  cargo build --release --locked "${packages[@]}" >&2
fi

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(uname -sr)"
python3 bench/coldstart.py --bin-dir target/release --template-json bench/out/template.json \
  --runs "$runs" --json-out bench/out/coldstart.json "${functions[@]}"
