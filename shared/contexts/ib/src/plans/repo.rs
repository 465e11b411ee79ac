//! The commission plans as stored: the audited record of each plan (its versions, their
//! effective times and digests) and the immutable text of each version.

use brokeros_kernel::changeset::{Entity, store_error};
use brokeros_kernel::{Core, Error, QueueFilter, Result};
use brokeros_store::{Condition, Index, Item, Key, Table, WriteOp};
use serde_json::Value;

use super::CommissionPlanRecord;
use super::keys;

impl Entity for CommissionPlanRecord {
    const TYPE: &'static str = "commission_plan";
    const NOUN: &'static str = "commission plan";

    fn id(&self) -> &str {
        &self.id
    }

    fn key_for(id: &str) -> Key {
        keys::plan_record(id)
    }

    fn indexes(&self) -> Vec<(Index, String, String)> {
        vec![(
            Index::Gsi1,
            keys::PLANS_LISTING.to_string(),
            self.id.clone(),
        )]
    }
}

/// The write that stores `text` as `version` of plan `id`, refused if that version is stored.
pub(crate) fn version_put(id: &str, version: u32, text: &str) -> WriteOp {
    WriteOp::Put {
        table: Table::Main,
        item: Item::new(keys::plan_version(id, version), 1, text),
        condition: Condition::NotExists,
    }
}

/// The stored texts of the given versions, in the order asked; a version that is not stored
/// is an error (a record names only versions written with it).
pub(crate) async fn version_texts(core: &Core, wanted: &[(&str, u32)]) -> Result<Vec<String>> {
    let keys: Vec<Key> = wanted
        .iter()
        .map(|(id, version)| keys::plan_version(id, *version))
        .collect();
    let items = core
        .store
        .get_many(Table::Main, &keys)
        .await
        .map_err(store_error)?;
    items
        .into_iter()
        .zip(wanted)
        .map(|(item, (id, version))| {
            item.map(|i| i.data).ok_or_else(|| {
                Error::Internal(format!(
                    "commission plan {id} version {version} is not stored"
                ))
            })
        })
        .collect()
}

/// A page of plan records in id order (the listing index), each as `view` shows it.
pub(crate) async fn plans_page(
    core: &Core,
    limit: Option<u32>,
    cursor: Option<String>,
    view: impl Fn(&CommissionPlanRecord) -> Value,
) -> Result<Value> {
    let filter = QueueFilter {
        status: None,
        limit,
        cursor,
    };
    filter
        .page(
            core.store.as_ref(),
            Index::Gsi1,
            keys::PLANS_LISTING.to_string(),
            view,
        )
        .await
}
