//! Where deal ingestion keeps its items in the single table:
//!
//! | item | pk | sk | indexes |
//! |---|---|---|---|
//! | a server's feed (cursor, counts; audited) | `IBFEED#<server>` | `FEED` | |
//! | a deal's latest revision as ingested | `IBDEAL#<server>#<deal>` | `DEAL` | gsi1 `IBDEAL#REJECTED#<server>` by time, while rejected |

use brokeros_store::Key;

pub use brokeros_kernel::keys::*;

pub fn deal_feed(server: &str) -> Key {
    Key::new(format!("IBFEED#{server}"), "FEED")
}

pub fn ingested_deal(server: &str, deal: u64) -> Key {
    Key::new(format!("IBDEAL#{server}#{deal}"), "DEAL")
}

/// The index partition listing a server's rejected deals, for operators.
pub fn rejected_deals(server: &str) -> String {
    format!("IBDEAL#REJECTED#{server}")
}
