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

/// A reply with what the run that produced it decided, for the use case to act on once its
/// transaction committed (tell a waiting workflow, say). Stored for idempotent replays as the
/// reply alone, in the reply's JSON, so a replayed record — one stored before this type
/// existed included — comes back with `decided: None`: the run that decided has acted on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    from = "Reply",
    into = "Reply",
    bound(serialize = "T: Clone", deserialize = "")
)]
pub struct Replied<T> {
    pub reply: Reply,
    pub decided: Option<T>,
}

impl<T> Replied<T> {
    /// `reply`, and `decided` for the caller to act on after the commit.
    pub fn new(reply: Reply, decided: T) -> Replied<T> {
        Replied {
            reply,
            decided: Some(decided),
        }
    }
}

impl<T> From<Reply> for Replied<T> {
    fn from(reply: Reply) -> Replied<T> {
        Replied {
            reply,
            decided: None,
        }
    }
}

impl<T> From<Replied<T>> for Reply {
    fn from(replied: Replied<T>) -> Reply {
        replied.reply
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_replied_outcome_stores_and_replays_as_its_reply() {
        let replied = Replied::new(Reply::new(200, json!({ "id": "rev_1" })), "decided");
        let stored = serde_json::to_value(&replied).unwrap();
        assert_eq!(stored, json!({ "status": 200, "body": { "id": "rev_1" } }));
        assert_eq!(stored, serde_json::to_value(&replied.reply).unwrap());
        let replayed: Replied<String> = serde_json::from_value(stored).unwrap();
        assert_eq!(replayed.reply, replied.reply);
        assert_eq!(replayed.decided, None);
    }
}
