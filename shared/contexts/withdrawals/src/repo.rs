//! The withdrawals repository: the only code of the context that builds its store items, keys,
//! indexes and queries. Withdrawals are audited entities (read and committed through the
//! kernel's generic repository, listed by client and by status); a withdrawal's full
//! destination and a client's daily auto-approval counter are unaudited items that commit in
//! the withdrawal's changeset.

use brokeros_kernel::changeset::{Changeset, Entity, store_error};
use brokeros_kernel::{Core, Error, OpContext, QueueFilter, Result};
use brokeros_onboarding::ClientRecord;
use brokeros_store::{Condition, Index, Item, Key, Table, WriteOp};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::keys;
use crate::model::{Withdrawal, WithdrawalStatus};

impl ClientRecord for Withdrawal {
    fn by_client(client_id: &str) -> String {
        keys::withdrawals_by_client(client_id)
    }

    fn client_id(&self) -> &str {
        &self.client_id
    }

    fn view(&self) -> Value {
        crate::view(self)
    }
}

impl Entity for Withdrawal {
    const TYPE: &'static str = "withdrawal";
    const NOUN: &'static str = "withdrawal";

    fn id(&self) -> &str {
        &self.id
    }

    fn key_for(id: &str) -> Key {
        keys::withdrawal(id)
    }

    fn indexes(&self) -> Vec<(Index, String, String)> {
        vec![
            (
                Index::Gsi1,
                keys::withdrawals_by_client(&self.client_id),
                keys::by_time(self.requested_at, &self.id),
            ),
            (
                Index::Gsi2,
                keys::withdrawals_by_status(self.status.as_str()),
                keys::by_time(self.requested_at, &self.id),
            ),
        ]
    }
}

/// The newest `limit` withdrawals of a client, newest first.
pub(crate) async fn latest_of_client(
    core: &Core,
    client_id: &str,
    limit: u32,
) -> Result<Vec<Withdrawal>> {
    brokeros_kernel::paging::latest::<Withdrawal>(
        core,
        keys::withdrawals_by_client(client_id),
        limit,
    )
    .await
}

/// The page `filter` asks for of the withdrawals in `status`, oldest first, as the API shows
/// them.
pub(crate) async fn withdrawals_in_status(
    core: &Core,
    status: WithdrawalStatus,
    filter: QueueFilter,
) -> Result<Value> {
    filter
        .page(
            core.store.as_ref(),
            Index::Gsi2,
            keys::withdrawals_by_status(status.as_str()),
            crate::view,
        )
        .await
}

/// The full destination, kept out of the audited record (which shows it masked).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Destination {
    reference: String,
}

/// Stages the full destination of withdrawal `id` (created with the withdrawal).
pub(crate) fn stage_destination(changes: &mut Changeset, id: &str, reference: &str) -> Result<()> {
    let stored = Destination {
        reference: reference.to_string(),
    };
    changes.put(WriteOp::Put {
        table: Table::Main,
        item: Item::new(
            keys::withdrawal_destination(id),
            1,
            serde_json::to_string(&stored).map_err(|e| Error::Internal(e.to_string()))?,
        ),
        condition: Condition::NotExists,
    });
    Ok(())
}

/// The full destination of withdrawal `id`.
pub(crate) async fn destination(core: &Core, id: &str) -> Result<String> {
    let item = core
        .store
        .get(Table::Main, &keys::withdrawal_destination(id))
        .await
        .map_err(store_error)?
        .ok_or_else(|| Error::Internal(format!("withdrawal {id} has no destination")))?;
    let stored: Destination =
        serde_json::from_str(&item.data).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(stored.reference)
}

/// A client's auto-approvals on one UTC day, as stored.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct AutoApprovals {
    count: u32,
}

/// The auto-approval counter as read, to write back conditionally on its version.
pub(crate) struct Counter {
    key: Key,
    version: Option<u64>,
    count: u32,
}

impl Counter {
    /// How many withdrawals of the client were auto-approved that day.
    pub(crate) fn count(&self) -> u32 {
        self.count
    }

    pub(crate) fn incremented(&self, ctx: &OpContext) -> Result<WriteOp> {
        let data = serde_json::to_string(&AutoApprovals {
            count: self.count + 1,
        })
        .map_err(|e| Error::Internal(e.to_string()))?;
        let (version, condition) = match self.version {
            Some(v) => (v + 1, Condition::VersionIs(v)),
            None => (1, Condition::NotExists),
        };
        // Kept two days: long enough for the day it counts, then left to the store's TTL.
        let expires = ctx.now.unix_timestamp() + 2 * 86_400;
        Ok(WriteOp::Put {
            table: Table::Main,
            item: Item::new(self.key.clone(), version, data).expiring_at(expires),
            condition,
        })
    }
}

/// The auto-approvals of a client on UTC day `day` (none counted yet if there is no counter).
pub(crate) async fn auto_approvals(
    core: &Core,
    client_id: &str,
    day: time::Date,
) -> Result<Counter> {
    let key = keys::withdrawal_auto_approvals(client_id, day);
    Ok(
        match core
            .store
            .get(Table::Main, &key)
            .await
            .map_err(store_error)?
        {
            Some(item) => {
                let stored: AutoApprovals =
                    serde_json::from_str(&item.data).map_err(|e| Error::Internal(e.to_string()))?;
                Counter {
                    key,
                    version: Some(item.version),
                    count: stored.count,
                }
            }
            None => Counter {
                key,
                version: None,
                count: 0,
            },
        },
    )
}
