//! A lead's follow-up tasks: unaudited items in the lead's partition (their changes are on the
//! lead's timeline), written with the lead's change that adds or completes them.

use crate::model::Task;
use brokeros_kernel::Core;
use brokeros_kernel::changeset::store_error;
use brokeros_kernel::{Error, Result};
use brokeros_store::{Key, Query, SortKeyRange, Table, WriteOp};

use super::put_over;
use crate::keys;

/// A task as read, with where it is stored and the version read.
pub(crate) struct StoredTask {
    pub(crate) task: Task,
    key: Key,
    version: u64,
}

impl StoredTask {
    /// The write that replaces the task by `task`, refused if it changed since it was read.
    pub(crate) fn replaced_by(&self, task: &Task) -> Result<WriteOp> {
        Ok(put_over(
            self.key.clone(),
            Some(self.version),
            task_text(task)?,
        ))
    }
}

/// The task `task_id` of the lead `lead_id` ("task … not found" otherwise).
pub(crate) async fn task_of_lead(core: &Core, lead_id: &str, task_id: &str) -> Result<StoredTask> {
    let key = keys::task(lead_id, task_id);
    let item = core
        .store
        .get(Table::Main, &key)
        .await
        .map_err(store_error)?
        .ok_or_else(|| Error::NotFound {
            entity: "task",
            id: task_id.to_string(),
        })?;
    let task = serde_json::from_str(&item.data).map_err(|e| Error::Internal(e.to_string()))?;
    Ok(StoredTask {
        task,
        key,
        version: item.version,
    })
}

/// The write that stores a new task in its lead's partition.
pub(crate) fn task_created(task: &Task) -> Result<WriteOp> {
    Ok(put_over(
        keys::task(&task.lead_id, &task.id),
        None,
        task_text(task)?,
    ))
}

/// The lead's tasks (at most 500) in the order of their ids (time-ordered); an unreadable task
/// is left out.
pub(crate) async fn tasks_of_lead(core: &Core, lead_id: &str) -> Result<Vec<Task>> {
    let query = Query::new(Table::Main, None, keys::lead(lead_id).pk)
        .sk(SortKeyRange::Prefix(keys::TASK_PREFIX.into()))
        .limit(500);
    let page = core.store.query(query).await.map_err(store_error)?;
    Ok(page
        .items
        .iter()
        .filter_map(|i| serde_json::from_str(&i.data).ok())
        .collect())
}

fn task_text(task: &Task) -> Result<String> {
    serde_json::to_value(task)
        .map(|v| v.to_string())
        .map_err(|e| Error::Internal(e.to_string()))
}
