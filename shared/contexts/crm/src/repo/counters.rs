//! The round-robin counters of the assignment pools (see [`crate::rotation`]).

use brokeros_kernel::Core;
use brokeros_kernel::changeset::store_error;
use brokeros_kernel::{Error, Result};
use brokeros_store::{Key, Table, WriteOp};
use serde::{Deserialize, Serialize};

use super::put_over;

#[derive(Serialize, Deserialize)]
struct Counter {
    /// The first position not yet reserved.
    reserved: u64,
}

/// A pool's counter as read: the first position not yet reserved, and the version read (none
/// before the pool's first reservation).
pub(crate) struct AssignmentCounter {
    key: Key,
    pub(crate) reserved: u64,
    version: Option<u64>,
}

impl AssignmentCounter {
    pub(crate) async fn read(core: &Core, key: &Key) -> Result<AssignmentCounter> {
        let current = core
            .store
            .get(Table::Main, key)
            .await
            .map_err(store_error)?;
        let (reserved, version) = match &current {
            Some(item) => {
                let c: Counter =
                    serde_json::from_str(&item.data).map_err(|e| Error::Internal(e.to_string()))?;
                (c.reserved, Some(item.version))
            }
            None => (0, None),
        };
        Ok(AssignmentCounter {
            key: key.clone(),
            reserved,
            version,
        })
    }

    /// The write that reserves every position before `reserved`, refused if another process
    /// reserved some since the counter was read.
    pub(crate) fn reserve_until(&self, reserved: u64) -> WriteOp {
        let data = serde_json::to_string(&Counter { reserved }).expect("counters serialize");
        put_over(self.key.clone(), self.version, data)
    }
}
