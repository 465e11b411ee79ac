//! Where deposits are stored (found by client, newest first), and the provider events that
//! name no deposit we know, kept for review.

use crate::deposits::model::Deposit;
use crate::model::events::PaymentEvent;
use crate::routing::repo::stats::query_all;
use brokeros_kernel::changeset::{Entity, decode};
use brokeros_kernel::{Core, Error, Result};
use brokeros_store::{Condition, Index, Item, Key, Query, Table, WriteOp};
use serde::{Deserialize, Serialize};
use time::{Date, UtcOffset};

use crate::keys;

impl Entity for Deposit {
    const TYPE: &'static str = "deposit";
    const NOUN: &'static str = "deposit";

    fn id(&self) -> &str {
        &self.id
    }

    fn key_for(id: &str) -> Key {
        keys::deposit(id)
    }

    fn indexes(&self) -> Vec<(Index, String, String)> {
        let by_time = keys::by_time(self.created_at, &self.id);
        vec![
            (
                Index::Gsi1,
                keys::deposits_by_client(&self.client_id),
                by_time.clone(),
            ),
            (
                Index::Gsi2,
                keys::deposits_by_day(self.created_at.to_offset(UtcOffset::UTC).date()),
                by_time,
            ),
        ]
    }
}

/// Every deposit created on the UTC day `day` (an index read: a deposit shows a moment after
/// it is written, with the state it had then).
pub(crate) async fn deposits_of_day(services: &Core, day: Date) -> Result<Vec<Deposit>> {
    let query = Query::new(Table::Main, Some(Index::Gsi2), keys::deposits_by_day(day));
    query_all(services, query)
        .await?
        .iter()
        .map(|item| decode::<Deposit>(item).map(|stored| stored.entity))
        .collect()
}

/// The client's latest deposits, newest first (at most `limit`): where withdrawals may send
/// money back to.
pub async fn latest_of_client(
    services: &Core,
    client_id: &str,
    limit: u32,
) -> Result<Vec<Deposit>> {
    brokeros_kernel::paging::latest::<Deposit>(services, keys::deposits_by_client(client_id), limit)
        .await
}

/// A provider event that names no deposit we know: kept for review, never credited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct UnmatchedPayment {
    event: PaymentEvent,
    #[serde(with = "time::serde::rfc3339")]
    received_at: time::OffsetDateTime,
}

/// The write that keeps `event`, received at `received_at`, for review (listed by time).
pub(super) fn unmatched_payment(
    event: &PaymentEvent,
    received_at: time::OffsetDateTime,
) -> Result<WriteOp> {
    let unmatched = UnmatchedPayment {
        event: event.clone(),
        received_at,
    };
    let data = serde_json::to_string(&unmatched).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(WriteOp::Put {
        table: Table::Main,
        item: Item::new(
            keys::unmatched_payment(&event.provider, &event.event_id),
            1,
            data,
        )
        .with_index(
            Index::Gsi1,
            keys::UNMATCHED_PAYMENTS.to_string(),
            keys::by_time(received_at, &event.dedup_id()),
        ),
        condition: Condition::Always,
    })
}
