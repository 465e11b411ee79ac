//! The offline tools over files, each run as a user runs it: `brokeros contest score`,
//! `brokeros pamm simulate` and `brokeros copy size`, over the README's worked examples and
//! over bad files.

mod contest;
mod copy;
mod pamm;

use std::process::Output;

/// A run's standard output, after it succeeded (its standard error otherwise).
pub(crate) fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}
