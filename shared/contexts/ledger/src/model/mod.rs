//! The double-entry ledger, as pure rules: accounts and their balance rules, journal entries
//! whose postings balance per currency, idempotency by the caller's transfer id, reversals, and
//! reservations (available → reserved → released or settled).
//!
//! The application layer (`crate`) stores entries and balances through the
//! storage port; everything it decides, it decides here.

mod account;
mod balance;
mod entry;
#[cfg(test)]
mod tests;

pub use account::{AccountId, AccountKind, Bucket, MAX_OWNER_ID_CHARS, check_owner_id};
pub use balance::{Balance, apply_postings};
pub use entry::{
    ClosedHow, Closure, Entry, EntryKind, Fee, Leg, MAX_LEGS, MAX_MEMO_CHARS,
    MAX_TRANSFER_ID_CHARS, Plan, Posting, Referenced, Release, Request, Reserve, Reverse, Settle,
    Transfer, TransferId, plan, sums,
};

use brokeros_kernel::{Error, Result};

/// What a transfer id already stored means for a new request with that id: the same request
/// (by its canonical hash) is answered with the stored entry, another one is refused
/// (`transfer_id_reused`).
pub fn replay(stored: &Entry, request: &Request) -> Result<Entry> {
    if stored.request_hash == request.hash() {
        Ok(stored.clone())
    } else {
        Err(Error::conflict(
            "transfer_id_reused",
            format!(
                "transfer id {} was already used for a different request",
                stored.transfer_id
            ),
        ))
    }
}
