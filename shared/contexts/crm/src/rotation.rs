//! Round-robin positions without a hot item. A process reserves a block of consecutive
//! positions of a pool's counter with one conditional write, committed inside the transaction
//! of the lead that needs it, then hands out the rest of the block from memory. One process
//! rotates exactly; several processes rotate block by block, so every agent still gets an equal
//! share. Positions of a block a process never uses (it stopped) are skipped, never repeated.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use brokeros_kernel::changeset::Changeset;
use brokeros_kernel::{Core, Result};
use brokeros_store::Key;

use crate::repo::AssignmentCounter;

/// Positions reserved per write of the counter.
pub const BLOCK: u64 = 64;

#[derive(Default)]
pub struct Rotation {
    blocks: Arc<Mutex<HashMap<Key, Range<u64>>>>,
}

impl Rotation {
    /// The next position of the pool counted at `counter`. When this process has none left, the
    /// reservation of a new block joins `changes`, and the block becomes usable once they commit.
    pub async fn next(&self, core: &Core, counter: &Key, changes: &mut Changeset) -> Result<u64> {
        if let Some(position) = self.take(counter) {
            return Ok(position);
        }
        let stored = AssignmentCounter::read(core, counter).await?;
        let start = stored.reserved;
        changes.put(stored.reserve_until(start + BLOCK));
        let blocks = self.blocks.clone();
        let key = counter.clone();
        changes.after_commit(move || {
            blocks
                .lock()
                .expect("rotation lock")
                .insert(key, start + 1..start + BLOCK);
        });
        Ok(start)
    }

    fn take(&self, counter: &Key) -> Option<u64> {
        let mut blocks = self.blocks.lock().expect("rotation lock");
        let range = blocks.get_mut(counter)?;
        let position = range.next();
        if range.is_empty() {
            blocks.remove(counter);
        }
        position
    }
}
