#!/usr/bin/env bash
# Measurement: IB deal ingestion + accrual into the embedded store, as the live path runs it
# (`brokeros_ib::accruals::accrue_servers`), against the store writing the same items directly,
# side by side in one run (release build of the `ib_ingestion` example of brokeros-local).
# Arguments, all optional: trading steps per client (600), clients (20), rounds (3). Each
# round's stores are in a temporary directory removed when the round ends.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo run --release --quiet -p brokeros-local --example ib_ingestion -- "$@"
