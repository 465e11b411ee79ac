//! The reconciliation repository: the only code of the context that builds its store items
//! and queries. A run's summary is an audited entity (read and committed through the kernel's
//! generic repository); its items are stored in chunks beside it, written once with it.

use brokeros_kernel::changeset::{Changeset, Entity, store_error};
use brokeros_kernel::{Core, Error, Result};
use brokeros_store::{Condition, Item, Key, Query, SortKeyRange, Table, WriteOp};

use crate::model::MatchItem;
use crate::{ReconRun, ReconSummary, keys};

impl Entity for ReconSummary {
    const TYPE: &'static str = "recon_run";
    const NOUN: &'static str = "reconciliation run";

    fn id(&self) -> &str {
        &self.id
    }

    fn key_for(id: &str) -> Key {
        keys::recon_run(id)
    }
}

/// Stages the items of run `id`, one item per chunk (created once).
pub(crate) fn stage_item_chunks(
    changes: &mut Changeset,
    id: &str,
    chunks: &[&[MatchItem]],
) -> Result<()> {
    for (n, chunk) in chunks.iter().enumerate() {
        let data = serde_json::to_string(chunk).map_err(|e| Error::Internal(e.to_string()))?;
        changes.put(WriteOp::Put {
            table: Table::Main,
            item: Item::new(keys::recon_items(id, n), 1, data),
            condition: Condition::NotExists,
        });
    }
    Ok(())
}

/// A stored run with its items, if there is one with this id.
pub(crate) async fn run(core: &Core, id: &str) -> Result<Option<ReconRun>> {
    let Some(stored) = core.find::<ReconSummary>(id).await? else {
        return Ok(None);
    };
    let run = stored.entity;
    let query = Query::new(Table::Main, None, keys::recon_run(id).pk)
        .sk(SortKeyRange::Prefix(keys::RECON_ITEMS_PREFIX.into()))
        .limit(1000);
    let page = core.store.query(query).await.map_err(store_error)?;
    if page.items.len() != run.chunks as usize {
        return Err(Error::Internal(format!(
            "reconciliation run {id} has {} of its {} item chunks",
            page.items.len(),
            run.chunks
        )));
    }
    let mut items = Vec::with_capacity(run.items as usize);
    for item in &page.items {
        let chunk: Vec<MatchItem> = serde_json::from_str(&item.data).map_err(|e| {
            Error::Internal(format!("stored reconciliation items are unreadable: {e}"))
        })?;
        items.extend(chunk);
    }
    Ok(Some(ReconRun { run, items }))
}
