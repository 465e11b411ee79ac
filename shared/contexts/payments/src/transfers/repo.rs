//! Where transfers are stored: by id, and listed under their client newest first.

use brokeros_kernel::changeset::Entity;
use brokeros_kernel::paging::PageParams;
use brokeros_kernel::{Core, Result};
use brokeros_store::{Index, Key};
use serde_json::Value;

use crate::keys;
use crate::transfers::model::Transfer;

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
        vec![(
            Index::Gsi1,
            keys::transfers_by_client(&self.client_id),
            keys::by_time(self.created_at, &self.id),
        )]
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
