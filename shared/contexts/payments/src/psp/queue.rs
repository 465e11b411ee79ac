//! The event queue port: how a verified provider webhook travels from the endpoint that
//! acknowledged it to the consumer that applies it.
//!
//! Shaped like SQS FIFO, so the AWS adapter (`brokeros_aws::queue::SqsEventQueue`) is a thin
//! mapping and the local adapter ([`super::LocalEventQueue`]) behaves the same:
//!
//! - **message group** = the deposit id: messages of one group are delivered in the order they
//!   were sent, and while any message of a group is in flight (received, neither acknowledged
//!   nor failed, visibility timeout not over) no later message of that group is delivered;
//! - **deduplication id** = the provider's event id: a second send with the same id within the
//!   deduplication window (5 minutes) is accepted and dropped;
//! - **at-least-once**: a message is delivered again when its consumer fails it or its
//!   visibility timeout passes, so consumers are idempotent;
//! - **dead-letter queue**: a message received `max_receives` times without being acknowledged
//!   is moved to the dead-letter queue on the next receive instead of being delivered.

use std::collections::HashSet;
use std::future::Future;

use async_trait::async_trait;

/// The most messages one `receive` returns (SQS's limit).
pub const MAX_RECEIVE_BATCH: u32 = 10;
/// The largest message body (SQS's limit: 256 KiB).
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// The longest message group id and deduplication id (SQS's limit).
pub const MAX_ID_CHARS: usize = 128;
/// How long a deduplication id suppresses a second send (SQS's fixed window).
pub const DEDUP_WINDOW_SECONDS: i64 = 300;

/// One delivery of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    pub message_id: String,
    pub group_id: String,
    pub dedup_id: String,
    pub body: String,
    /// Names this delivery for [`EventQueue::ack`] / [`EventQueue::fail`]; a later delivery of
    /// the same message has another receipt, and the old one is then stale.
    pub receipt: String,
    /// 1 on the first delivery.
    pub receive_count: u32,
}

/// What `ack`/`fail` did not settle: receipts that no longer name an in-flight delivery (the
/// visibility timeout passed and the message was received again, or it is already gone).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settled {
    pub stale: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueError {
    /// The request itself is wrong (ids, body size, batch size); nothing was sent.
    Invalid(String),
    /// The queue could not be reached or refused for now; the same call may succeed later.
    Unavailable(String),
}

impl std::fmt::Display for QueueError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QueueError::Invalid(m) => write!(f, "invalid queue request: {m}"),
            QueueError::Unavailable(m) => write!(f, "queue unavailable: {m}"),
        }
    }
}

impl std::error::Error for QueueError {}

impl From<QueueError> for brokeros_kernel::Error {
    fn from(e: QueueError) -> Self {
        match e {
            QueueError::Invalid(m) => brokeros_kernel::Error::Internal(m),
            QueueError::Unavailable(m) => brokeros_kernel::Error::Unavailable(m),
        }
    }
}

#[async_trait]
pub trait EventQueue: Send + Sync {
    /// Enqueues `body` in group `group_id`. A second send with the same `dedup_id` within the
    /// deduplication window is accepted and dropped. Answers the message id (for a dropped
    /// duplicate, whatever id the queue gives; SQS and the local queue answer the original's).
    async fn send(&self, group_id: &str, dedup_id: &str, body: &str) -> Result<String, QueueError>;

    /// Up to `max` (1..=[`MAX_RECEIVE_BATCH`]) messages, in order within each group, each
    /// invisible to other receivers until acknowledged, failed, or its visibility timeout ends.
    /// An empty batch when nothing is deliverable.
    async fn receive(&self, max: u32) -> Result<Vec<QueueMessage>, QueueError>;

    /// Deletes the delivered messages: done with them.
    async fn ack(&self, receipts: &[String]) -> Result<Settled, QueueError>;

    /// Makes the delivered messages visible again now (their group is unblocked once no message
    /// of it is in flight), to be delivered again — or dead-lettered after `max_receives`.
    async fn fail(&self, receipts: &[String]) -> Result<Settled, QueueError>;
}

/// Checks a send against the limits both adapters enforce (SQS's own): ids of 1 to 128
/// printable ASCII characters, a body of at most 256 KiB.
pub fn validate_send(group_id: &str, dedup_id: &str, body: &str) -> Result<(), QueueError> {
    validate_id("message group id", group_id)?;
    validate_id("deduplication id", dedup_id)?;
    if body.is_empty() {
        return Err(QueueError::Invalid("the message body is empty".into()));
    }
    if body.len() > MAX_BODY_BYTES {
        return Err(QueueError::Invalid(format!(
            "the message body is larger than {MAX_BODY_BYTES} bytes"
        )));
    }
    Ok(())
}

/// SQS: alphanumerics and the punctuation ``!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~``, 1 to 128.
fn validate_id(what: &str, id: &str) -> Result<(), QueueError> {
    if id.is_empty() || id.len() > MAX_ID_CHARS {
        return Err(QueueError::Invalid(format!(
            "the {what} must be 1 to {MAX_ID_CHARS} characters"
        )));
    }
    if !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(QueueError::Invalid(format!(
            "the {what} may hold only printable ASCII characters without spaces"
        )));
    }
    Ok(())
}

pub fn validate_batch(max: u32) -> Result<(), QueueError> {
    if (1..=MAX_RECEIVE_BATCH).contains(&max) {
        Ok(())
    } else {
        Err(QueueError::Invalid(format!(
            "a receive takes 1 to {MAX_RECEIVE_BATCH} messages"
        )))
    }
}

/// What became of one delivered message in a consumer's batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Handled (or deliberately dropped): delete it.
    Done,
    /// The handler failed; deliver it again later.
    Failed(String),
    /// Not handled, because an earlier message of its group failed in this batch: handling it
    /// now would apply the group's events out of order. Delivered again after that one.
    Skipped,
}

impl Outcome {
    pub fn is_done(&self) -> bool {
        matches!(self, Outcome::Done)
    }
}

/// Runs `handler` over a batch in order, stopping each group at its first failure: later
/// messages of that group are [`Outcome::Skipped`], so the group's order holds when the failed
/// message comes back. Answers one outcome per message, in the batch's order.
pub async fn handle_in_order<F, Fut, E>(messages: &[QueueMessage], mut handler: F) -> Vec<Outcome>
where
    F: FnMut(&QueueMessage) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let mut stopped: HashSet<&str> = HashSet::new();
    let mut outcomes = Vec::with_capacity(messages.len());
    for message in messages {
        if stopped.contains(message.group_id.as_str()) {
            outcomes.push(Outcome::Skipped);
            continue;
        }
        match handler(message).await {
            Ok(()) => outcomes.push(Outcome::Done),
            Err(e) => {
                stopped.insert(message.group_id.as_str());
                outcomes.push(Outcome::Failed(e.to_string()));
            }
        }
    }
    outcomes
}

/// One receive → handle → settle round on a queue (what the Lambda event source mapping does
/// for SQS, done by hand for the local queue): acknowledges what was done, fails the rest.
/// Answers the messages with their outcomes.
pub async fn consume_once<F, Fut, E>(
    queue: &dyn EventQueue,
    max: u32,
    handler: F,
) -> Result<Vec<(QueueMessage, Outcome)>, QueueError>
where
    F: FnMut(&QueueMessage) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let messages = queue.receive(max).await?;
    if messages.is_empty() {
        return Ok(Vec::new());
    }
    let outcomes = handle_in_order(&messages, handler).await;
    let (done, undone): (Vec<_>, Vec<_>) = messages
        .iter()
        .zip(&outcomes)
        .partition(|(_, outcome)| outcome.is_done());
    let receipts = |list: Vec<(&QueueMessage, &Outcome)>| -> Vec<String> {
        list.into_iter().map(|(m, _)| m.receipt.clone()).collect()
    };
    let done = receipts(done);
    let undone = receipts(undone);
    if !done.is_empty() {
        queue.ack(&done).await?;
    }
    if !undone.is_empty() {
        queue.fail(&undone).await?;
    }
    Ok(messages.into_iter().zip(outcomes).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, group: &str) -> QueueMessage {
        QueueMessage {
            message_id: id.into(),
            group_id: group.into(),
            dedup_id: id.into(),
            body: "{}".into(),
            receipt: format!("r-{id}"),
            receive_count: 1,
        }
    }

    #[tokio::test]
    async fn a_failure_stops_its_group_only() {
        let batch = [
            message("a1", "a"),
            message("b1", "b"),
            message("a2", "a"),
            message("b2", "b"),
            message("a3", "a"),
        ];
        let mut seen = Vec::new();
        let outcomes = handle_in_order(&batch, |m| {
            seen.push(m.message_id.clone());
            let fail = m.message_id == "a2";
            async move { if fail { Err("boom") } else { Ok(()) } }
        })
        .await;
        assert_eq!(
            outcomes,
            vec![
                Outcome::Done,
                Outcome::Done,
                Outcome::Failed("boom".into()),
                Outcome::Done,
                Outcome::Skipped,
            ]
        );
        assert_eq!(seen, ["a1", "b1", "a2", "b2"], "a3 is not handled");
    }

    #[test]
    fn sends_are_checked_against_the_sqs_limits() {
        assert!(validate_send("dep_1", "card:evt_1", "{}").is_ok());
        assert!(validate_send("", "x", "{}").is_err());
        assert!(validate_send("g", "", "{}").is_err());
        assert!(validate_send("g", "has space", "{}").is_err());
        assert!(validate_send("g", "é", "{}").is_err());
        assert!(validate_send(&"g".repeat(129), "x", "{}").is_err());
        assert!(validate_send(&"g".repeat(128), "x", "{}").is_ok());
        assert!(validate_send("g", "x", "").is_err());
        assert!(validate_send("g", "x", &"b".repeat(MAX_BODY_BYTES + 1)).is_err());
        assert!(validate_batch(0).is_err());
        assert!(validate_batch(11).is_err());
        assert!(validate_batch(10).is_ok());
    }
}
