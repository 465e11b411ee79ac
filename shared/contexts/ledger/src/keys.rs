//! Where this context's items live in the single table (the key table is in
//! docs/ARCHITECTURE.md): Ledger entries, their closures, balances and postings.

use brokeros_store::Key;
use time::OffsetDateTime;

pub use brokeros_kernel::keys::*;

// The ledger (`brokeros_ledger`). Accounts appear by their names (`WALLET:<client>:<currency>`,
// `CLEARING:<provider>:<currency>`, …; see `brokeros_ledger::model::AccountId`). An entry's
// partition holds the entry and the marker of its one closure; a client's wallets share one
// partition (all balances of a client in one query); a house account's balance is split into
// shards that concurrent entries update independently; an account's postings are one
// partition sorted by time.

pub fn ledger_entry(transfer_id: &str) -> Key {
    Key::new(format!("LEDGER#ENTRY#{transfer_id}"), "ENTRY")
}

/// Created once, when the entry is reversed (a transfer) or released or settled (a
/// reservation).
pub fn ledger_closure(transfer_id: &str) -> Key {
    Key::new(format!("LEDGER#ENTRY#{transfer_id}"), "CLOSED")
}

/// The partition of a client's wallet balances.
pub fn ledger_wallets(client_id: &str) -> String {
    format!("LEDGER#CLIENT#{client_id}")
}

pub const LEDGER_WALLET_PREFIX: &str = "WALLET#";

pub fn ledger_wallet(client_id: &str, currency: &str) -> Key {
    Key::new(
        ledger_wallets(client_id),
        format!("{LEDGER_WALLET_PREFIX}{currency}"),
    )
}

/// The partition of a (non-wallet) account's balance item or shards.
pub fn ledger_balances(account: &str) -> String {
    format!("LEDGER#BAL#{account}")
}

pub fn ledger_balance(account: &str) -> Key {
    Key::new(ledger_balances(account), "BAL")
}

pub fn ledger_balance_shard(account: &str, shard: u32) -> Key {
    Key::new(ledger_balances(account), format!("SHARD#{shard:02}"))
}

/// The partition of an account's postings.
pub fn ledger_history(account: &str) -> String {
    format!("LEDGER#HIST#{account}")
}

/// The sort key of a posting: by time, then entry and leg. A time alone (see
/// [`sortable_time`]) sorts before every posting of that time.
pub fn ledger_posting(
    account: &str,
    posted_at: OffsetDateTime,
    transfer_id: &str,
    leg: usize,
) -> Key {
    Key::new(
        ledger_history(account),
        format!("{}#{transfer_id}#{leg:02}", sortable_time(posted_at)),
    )
}
