#!/usr/bin/env bash
# Benchmark (issue 3): state transitions per second of the local Step Functions engine next to
# moto's executor (moto_server with execute_state_machine on) on the same definition
# (bench/pass-choice.asl.json), in one run; then the onboarding machine on the local engine with
# the project's handlers (moto cannot run our Lambda handlers, so it has no figure there).
#   bash bench/sfn.sh        # EXECUTIONS=100 (moto) LOCAL_EXECUTIONS=10000 (local engine) by default
# Both runners print one JSON line {"engine","executions","transitions","seconds",
# "transitions_per_second"}; anything else on their stdout fails the benchmark. The local engine
# gets more executions because it needs more work than moto to be timed meaningfully; the rates
# (transitions per second) are compared, and both must count the same transitions per execution.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
EXECUTIONS=${EXECUTIONS:-100}
LOCAL_EXECUTIONS=${LOCAL_EXECUTIONS:-10000}
ONBOARDING_EXECUTIONS=${ONBOARDING_EXECUTIONS:-$LOCAL_EXECUTIONS}
DEFINITION=bench/pass-choice.asl.json
ONBOARDING=statemachines/onboarding.asl.json

cargo build --release --locked -p brokeros
venv=$(bash tools/python-venv.sh)
py="$venv/bin/python"

# check ENGINE EXECUTIONS OUTPUT: OUTPUT must be exactly the one JSON line of that engine and run.
check() {
  "$py" - "$@" <<'PY'
import json, math, sys
engine, executions, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def fail(why):
    sys.exit(f"error: the {engine} runner printed {out!r}: {why}")
lines = out.split("\n")
if len(lines) != 1:
    fail("expected exactly one line on stdout")
try:
    r = json.loads(lines[0])
except ValueError as e:
    fail(f"not JSON ({e})")
keys = ["engine", "executions", "transitions", "seconds", "transitions_per_second"]
if not isinstance(r, dict) or sorted(r) != sorted(keys):
    fail(f"expected an object with exactly the keys {keys}")
num = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
if r["engine"] != engine:
    fail(f'expected "engine":"{engine}"')
if r["executions"] != executions or not isinstance(r["executions"], int):
    fail(f"expected executions = {executions}")
if not isinstance(r["transitions"], int) or r["transitions"] < executions:
    fail("transitions must be an integer, at least one per execution")
if not (num(r["seconds"]) and r["seconds"] > 0 and num(r["transitions_per_second"])):
    fail("seconds must be > 0 and transitions_per_second a number")
if abs(r["transitions_per_second"] - r["transitions"] / r["seconds"]) > 0.01 * r["transitions_per_second"] + 0.1:
    fail("transitions_per_second is not transitions / seconds")
PY
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem/{print $2}') GiB"
echo "definition: $DEFINITION; local engine: $LOCAL_EXECUTIONS executions; moto $("$py" -c 'import moto; print(moto.__version__)'): $EXECUTIONS executions"

local_line=$(RUST_LOG=warn ./target/release/brokeros sfn bench --definition "$DEFINITION" --executions "$LOCAL_EXECUTIONS") ||
  { echo "error: brokeros sfn bench failed on $DEFINITION (see above)" >&2; exit 1; }
check local "$LOCAL_EXECUTIONS" "$local_line"
echo "$local_line"
moto_line=$("$py" bench/sfn_moto.py --definition "$DEFINITION" --executions "$EXECUTIONS") ||
  { echo "error: bench/sfn_moto.py failed (see above)" >&2; exit 1; }
check moto "$EXECUTIONS" "$moto_line"
echo "$moto_line"

"$py" - "$local_line" "$moto_line" <<'PY'
import json, sys
local, moto = (json.loads(a) for a in sys.argv[1:3])
per = [r["transitions"] / r["executions"] for r in (local, moto)]
if per[0] != per[1]:
    sys.exit(f"error: the engines disagree on the transitions per execution: local {per[0]:g}, moto {per[1]:g}")
ratio = local["transitions_per_second"] / moto["transitions_per_second"]
print(f"ratio: local {local['transitions_per_second']:,.0f} / moto {moto['transitions_per_second']:,.1f} transitions/s"
      f" = {ratio:,.1f}x ({per[0]:g} transitions per execution; target >= 100x: {'met' if ratio >= 100 else 'not met'})")
PY

if [ -f "$ONBOARDING" ]; then
  echo "onboarding: $ONBOARDING on the local engine with the local handlers, $ONBOARDING_EXECUTIONS executions (no moto figure: it cannot run our handlers)"
  onboarding_line=$(RUST_LOG=warn ./target/release/brokeros sfn bench --definition "$ONBOARDING" --executions "$ONBOARDING_EXECUTIONS" --local-handlers) ||
    { echo "error: brokeros sfn bench --local-handlers failed on $ONBOARDING (see above)" >&2; exit 1; }
  check local "$ONBOARDING_EXECUTIONS" "$onboarding_line"
  echo "$onboarding_line"
else
  echo "onboarding: skipped, $ONBOARDING does not exist yet"
fi
