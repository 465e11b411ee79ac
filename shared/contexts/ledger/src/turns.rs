//! Turns on hot balance items within one process. Entries race optimistically: when two
//! change one client wallet at once, one commits and the other reads again and retries.
//! Across processes (Lambda instances) that is the only way; within one process (`brokeros
//! serve`, a burst of workflow tasks in one instance) a wallet under a burst of entries would
//! waste most attempts on collisions. So an entry that lost a race waits for its turn on the
//! items it touches, and retries holding it: the entries of one process that collided then
//! commit one after the other.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use tokio::sync::OwnedMutexGuard;

type Slot = Arc<tokio::sync::Mutex<()>>;

static SLOTS: LazyLock<Mutex<HashMap<String, Slot>>> = LazyLock::new(Default::default);

/// The turns of one entry; released when dropped.
pub(super) struct Turns {
    names: Vec<String>,
    guards: Vec<OwnedMutexGuard<()>>,
}

/// Waits for the turn on each named item, in name order (so two entries never wait for each
/// other).
pub(super) async fn take(mut names: Vec<String>) -> Turns {
    names.sort();
    names.dedup();
    let mut guards = Vec::with_capacity(names.len());
    for name in &names {
        let slot = SLOTS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(name.clone())
            .or_default()
            .clone();
        guards.push(slot.lock_owned().await);
    }
    Turns { names, guards }
}

impl Drop for Turns {
    fn drop(&mut self) {
        self.guards.clear();
        let mut slots = SLOTS.lock().unwrap_or_else(|e| e.into_inner());
        for name in &self.names {
            // Only the table holds it: nobody holds or waits for the turn.
            if slots
                .get(name)
                .is_some_and(|slot| Arc::strong_count(slot) == 1)
            {
                slots.remove(name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn turns_are_taken_one_at_a_time_and_forgotten_when_free() {
        let first = take(vec!["b".into(), "a".into()]).await;
        let waiting = tokio::spawn(take(vec!["a".into()]));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "a is taken");
        drop(first);
        let second = waiting.await.unwrap();
        assert!(SLOTS.lock().unwrap().contains_key("a"));
        assert!(!SLOTS.lock().unwrap().contains_key("b"));
        drop(second);
        assert!(!SLOTS.lock().unwrap().contains_key("a"));
    }
}
