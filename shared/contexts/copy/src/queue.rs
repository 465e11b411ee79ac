//! The copy queue port: how one provider deal fanned out to its followers travels, one message
//! per (deal, follower), from the reader to the consumer that places the follower's order.
//!
//! Its contract is SQS FIFO's: messages of one group (one follower account) are delivered in
//! the order they were sent and one at a time, so a follower's copies keep the provider's
//! order; a send repeated with the same deduplication id within five minutes is dropped; a
//! message is delivered at least once, so the consumer ([`crate::copying::copy_one`]) is
//! idempotent by (provider deal, subscription). The context only sends: the consumer side is
//! the host's (the Lambda's SQS event source, `serve`'s loop over the local queue), which
//! hands each message's body to [`crate::copying::copy_one`]. Adapters wrap the queues the
//! hosts already run (`brokeros_app::CopyQueueOver` over the payments context's
//! `EventQueue`: SQS FIFO in AWS, the table-backed local queue in `serve`).

use async_trait::async_trait;

use brokeros_kernel::Result;

/// The local queue's name (`serve`), its dead-letter queue's, and how many deliveries a
/// message gets before it is dead-lettered (the template's SQS FIFO queue has the same).
pub const COPY_QUEUE: &str = "copy-orders";
pub const COPY_DEAD_LETTER_QUEUE: &str = "copy-orders-dlq";
pub const COPY_MAX_RECEIVES: u32 = 5;

#[async_trait]
pub trait CopyQueue: Send + Sync {
    /// Enqueues `body` in `group`, dropped if `dedup_id` was sent within the window.
    ///
    /// Errors: `Unavailable` (the queue could not take it; the send may be repeated),
    /// `Internal` (an id or body the queue refuses).
    async fn send(&self, group: &str, dedup_id: &str, body: &str) -> Result<()>;
}
