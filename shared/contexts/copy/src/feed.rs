//! The copy reader's record of one platform server's deal history: where it stopped and what
//! it sent (an audited entity; the repository stores it, the reader moves it).

use brokeros_trading::DealCursor;
use serde::{Deserialize, Serialize};

/// What the copy reader has made of one platform server's deal history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyFeed {
    pub server: String,
    /// Where the next read starts; `None` before the first change.
    pub cursor: Option<DealCursor>,
    pub changes_read: u64,
    /// Provider deals of copied strategies, and the messages sent for them (one per follower).
    pub deals_copied: u64,
    pub messages_sent: u64,
}
