//! The copy trading context's queue port over the queues the hosts run: the payments
//! context's `EventQueue` (SQS FIFO in AWS, the table-backed local queue in `serve`), whose
//! groups, deduplication and at-least-once delivery are the copy queue's contract too. One
//! adapter for both hosts: only the queue behind it differs.

use std::sync::Arc;

use async_trait::async_trait;
use brokeros_payments::psp::EventQueue;

pub struct CopyQueueOver(pub Arc<dyn EventQueue>);

#[async_trait]
impl brokeros_copy::CopyQueue for CopyQueueOver {
    async fn send(&self, group: &str, dedup_id: &str, body: &str) -> brokeros_kernel::Result<()> {
        self.0.send(group, dedup_id, body).await?;
        Ok(())
    }
}
