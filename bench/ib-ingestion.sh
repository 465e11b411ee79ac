#!/usr/bin/env bash
# Measurement: IB deal ingestion into the embedded store against the store writing the same
# items directly, side by side in one run (release build of the `ib_ingestion` example of
# brokeros-local). Arguments, all optional: trading steps per account (2000), accounts (5),
# changes per batch (30, brokeros_ib::deals::CHANGES_PER_BATCH), rounds (3). Each round's stores
# are in a temporary directory removed when the round ends.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo run --release --quiet -p brokeros-local --example ib_ingestion -- "$@"
