//! Where transfers are stored: by id, listed under their client newest first, and by status
//! oldest first (the pending ones the sweep resumes).

use brokeros_kernel::changeset::Entity;
use brokeros_kernel::paging::PageParams;
use brokeros_kernel::{Core, Result};
use brokeros_store::{Index, Key, Query, Table};
use serde_json::Value;
use time::OffsetDateTime;

use crate::keys;
use crate::transfers::model::{Transfer, TransferStatus};

impl Entity for Transfer {
    const TYPE: &'static str = "transfer";
    const NOUN: &'static str = "transfer";

    fn id(&self) -> &str {
        &self.id
    }

    fn key_for(id: &str) -> Key {
        keys::transfer(id)
    }

    fn indexes(&self) -> Vec<(Index, String, String)> {
        vec![
            (
                Index::Gsi1,
                keys::transfers_by_client(&self.client_id),
                keys::by_time(self.created_at, &self.id),
            ),
            (
                Index::Gsi2,
                keys::transfers_by_status(self.status.as_str()),
                keys::by_time(self.created_at, &self.id),
            ),
        ]
    }
}

/// A page of the client's transfers, newest first, each as `view` shows it.
pub(super) async fn page_of_client(
    services: &Core,
    client_id: &str,
    page: PageParams,
    view: impl Fn(&Transfer) -> Value,
) -> Result<Value> {
    page.newest_first(
        services.store.as_ref(),
        keys::transfers_by_client(client_id),
        view,
    )
    .await
}

/// The oldest `limit` transfers pending since before `before` (by when they were requested).
pub(super) async fn pending(
    services: &Core,
    before: OffsetDateTime,
    limit: u32,
) -> Result<Vec<Transfer>> {
    let query = Query::new(
        Table::Main,
        Some(Index::Gsi2),
        keys::transfers_by_status(TransferStatus::Pending.as_str()),
    )
    .limit(limit);
    let page = services
        .store
        .query(query)
        .await
        .map_err(brokeros_kernel::changeset::store_error)?;
    let mut due = Vec::new();
    for item in &page.items {
        let transfer = brokeros_kernel::changeset::decode::<Transfer>(item)?.entity;
        // Oldest first: the first one requested since `before` ends the list.
        if transfer.created_at >= before {
            break;
        }
        due.push(transfer);
    }
    Ok(due)
}
