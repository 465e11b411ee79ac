//! What a use case answers over the API today: a status and a JSON body, stored verbatim for
//! idempotent replays.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What an HTTP use case answers; stored verbatim for idempotent replays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    pub fn new(status: u16, body: impl Serialize) -> Reply {
        Reply {
            status,
            body: serde_json::to_value(body).expect("replies serialize"),
        }
    }
}
