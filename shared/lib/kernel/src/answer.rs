//! What a use case answers: what happened (its [`AnswerKind`]) and a JSON body, stored verbatim
//! for idempotent replays. Which protocol status a kind is belongs to the adapter that speaks
//! the protocol (`brokeros-http`), not here.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What happened to a request that succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerKind {
    /// The request's effect happened, or what it asked for was read.
    Done,
    /// A new record exists; the body is that record.
    Created,
    /// The request was taken in; its effect comes later (a workflow, a queue).
    Accepted,
}

/// What a use case answers: what happened and the body that goes with it. Stored verbatim in
/// idempotency records for replays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "StoredAnswer", try_from = "StoredAnswer")]
pub struct Answer {
    pub kind: AnswerKind,
    pub body: Value,
}

impl Answer {
    pub fn new(kind: AnswerKind, body: impl Serialize) -> Answer {
        Answer {
            kind,
            body: serde_json::to_value(body).expect("answers serialize"),
        }
    }

    /// The request's effect happened, or what it asked for was read.
    pub fn done(body: impl Serialize) -> Answer {
        Answer::new(AnswerKind::Done, body)
    }

    /// A new record exists: `body`.
    pub fn created(body: impl Serialize) -> Answer {
        Answer::new(AnswerKind::Created, body)
    }

    /// The request was taken in; its effect comes later.
    pub fn accepted(body: impl Serialize) -> Answer {
        Answer::new(AnswerKind::Accepted, body)
    }
}

/// An answer as idempotency records store it: `{"status": <number>, "body": …}`.
///
/// This is the storage format of the record, not an HTTP concern: records written before
/// answers had kinds hold a numeric status, and every record must replay after a deploy, so the
/// kinds keep these numbers in storage. The one place they are mapped; an unknown number is an
/// error (an internal one on replay), never a panic.
#[derive(Serialize, Deserialize)]
struct StoredAnswer {
    status: u16,
    body: Value,
}

impl From<Answer> for StoredAnswer {
    fn from(answer: Answer) -> StoredAnswer {
        let status = match answer.kind {
            AnswerKind::Done => 200,
            AnswerKind::Created => 201,
            AnswerKind::Accepted => 202,
        };
        StoredAnswer {
            status,
            body: answer.body,
        }
    }
}

impl TryFrom<StoredAnswer> for Answer {
    type Error = String;

    fn try_from(stored: StoredAnswer) -> Result<Answer, String> {
        let kind = match stored.status {
            200 => AnswerKind::Done,
            201 => AnswerKind::Created,
            202 => AnswerKind::Accepted,
            other => return Err(format!("a stored answer has unknown status {other}")),
        };
        Ok(Answer {
            kind,
            body: stored.body,
        })
    }
}

/// An answer with what the run that produced it decided, for the use case to act on once its
/// transaction committed (tell a waiting workflow, say). Stored for idempotent replays as the
/// answer alone, in the answer's JSON, so a replayed record — one stored before this type
/// existed included — comes back with `decided: None`: the run that decided has acted on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    from = "Answer",
    into = "Answer",
    bound(serialize = "T: Clone", deserialize = "")
)]
pub struct Replied<T> {
    pub answer: Answer,
    pub decided: Option<T>,
}

impl<T> Replied<T> {
    /// `answer`, and `decided` for the caller to act on after the commit.
    pub fn new(answer: Answer, decided: T) -> Replied<T> {
        Replied {
            answer,
            decided: Some(decided),
        }
    }
}

impl<T> From<Answer> for Replied<T> {
    fn from(answer: Answer) -> Replied<T> {
        Replied {
            answer,
            decided: None,
        }
    }
}

impl<T> From<Replied<T>> for Answer {
    fn from(replied: Replied<T>) -> Answer {
        replied.answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_replied_outcome_stores_and_replays_as_its_answer() {
        let replied = Replied::new(Answer::done(json!({ "id": "rev_1" })), "decided");
        let stored = serde_json::to_value(&replied).unwrap();
        assert_eq!(stored, json!({ "status": 200, "body": { "id": "rev_1" } }));
        assert_eq!(stored, serde_json::to_value(&replied.answer).unwrap());
        let replayed: Replied<String> = serde_json::from_value(stored).unwrap();
        assert_eq!(replayed.answer, replied.answer);
        assert_eq!(replayed.decided, None);
    }

    #[test]
    fn an_unknown_stored_status_is_an_error_not_a_panic() {
        let stored = json!({ "status": 204, "body": null });
        let err = serde_json::from_value::<Answer>(stored).unwrap_err();
        assert!(err.to_string().contains("unknown status 204"), "{err}");
    }
}
