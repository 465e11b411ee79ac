//! The approvals repository: the only code of the context that builds its store keys, indexes
//! and queries. Processes are audited entities, read and committed through the kernel's
//! generic repository and found by status through the index of work queues.

use brokeros_kernel::changeset::Entity;
use brokeros_kernel::{Core, QueueFilter, Result};
use brokeros_store::{Index, Key};
use serde_json::Value;

use crate::{ApprovalProcess, ProcessStatus, keys};

impl Entity for ApprovalProcess {
    const TYPE: &'static str = "approval";
    const NOUN: &'static str = "approval process";

    fn id(&self) -> &str {
        &self.id
    }

    fn key_for(id: &str) -> Key {
        keys::approval(id)
    }

    fn indexes(&self) -> Vec<(Index, String, String)> {
        vec![(
            Index::Gsi2,
            keys::approvals_by_status(self.status.as_str()),
            keys::by_time(self.started_at, &self.id),
        )]
    }
}

/// The page `filter` asks for of the processes in `status`, oldest first.
pub(crate) async fn processes_in_status(
    core: &Core,
    status: ProcessStatus,
    filter: QueueFilter,
) -> Result<Value> {
    filter
        .page(
            core.store.as_ref(),
            Index::Gsi2,
            keys::approvals_by_status(status.as_str()),
            |p: &ApprovalProcess| serde_json::to_value(p).expect("approval processes serialize"),
        )
        .await
}
