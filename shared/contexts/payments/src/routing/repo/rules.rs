//! Where the routing rules are stored: the audited pointer `PAYROUTING/ACTIVE` to the version
//! in force, and the versions `PAYROUTING/V#<version>` (immutable: written once, never
//! updated).

use crate::model::{RoutingDocument, RoutingRulesInForce};
use brokeros_kernel::changeset::{Entity, store_error};
use brokeros_kernel::{Core, Error, Result};
use brokeros_store::{Condition, Item, Key, Query, SortKeyRange, Table, WriteOp};

use crate::keys;

impl Entity for RoutingRulesInForce {
    const TYPE: &'static str = "payment_routing";
    const NOUN: &'static str = "routing rules";

    fn id(&self) -> &str {
        &self.id
    }

    fn key_for(_id: &str) -> Key {
        keys::payment_routing()
    }
}

/// The write that stores `text` as `version` of the rules, refused if that version is stored.
pub(crate) fn version_put(version: u32, text: &str) -> WriteOp {
    WriteOp::Put {
        table: Table::Main,
        item: Item::new(keys::payment_routing_version(version), 1, text),
        condition: Condition::NotExists,
    }
}

/// The stored text of `version`, if it is stored.
pub(crate) async fn version_text(core: &Core, version: u32) -> Result<Option<String>> {
    let item = core
        .store
        .get(Table::Main, &keys::payment_routing_version(version))
        .await
        .map_err(store_error)?;
    Ok(item.map(|i| i.data))
}

/// Every stored version, oldest first.
pub(crate) async fn stored_versions(core: &Core) -> Result<Vec<RoutingDocument>> {
    let mut versions = Vec::new();
    let mut cursor = None;
    loop {
        let query = Query::new(Table::Main, None, keys::payment_routing_version(1).pk)
            .sk(SortKeyRange::Prefix("V#".into()))
            .limit(100)
            .after(cursor);
        let page = core.store.query(query).await.map_err(store_error)?;
        for item in &page.items {
            versions.push(serde_json::from_str(&item.data).map_err(|e| {
                Error::Internal(format!("stored routing rules are unreadable: {e}"))
            })?);
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(versions),
        }
    }
}
