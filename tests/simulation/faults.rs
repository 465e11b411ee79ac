//! The storage faults the simulation injects: a store decorator that fails the transactions the
//! plan chooses, either before they apply (the request sees `503` and nothing was written) or
//! after (a timeout whose write landed: the caller cannot tell, and retries).
//!
//! Only Broker OS's own items are faulted. The local engine's executions (`SFNEXEC#`), the event
//! queue (`Q…`), the simulated providers and trading platform stand for AWS Step Functions, SQS
//! and external systems, whose storage is not ours to fail.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use brokeros_store::{Item, Key, Page, Query, Store, StoreError, Table, WriteOp};

/// What the next faulted transaction suffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Refused before it applies.
    Fail,
    /// Applied, then reported as a timeout.
    TimeoutAfterCommit,
}

/// Prefixes of the partition keys that stand for other systems' storage.
const NOT_OURS: [&str; 6] = [
    "SFNEXEC#",
    "QGROUP#",
    "QMSG#",
    "QDEDUP#",
    "SIMULATED_PSP#",
    "TP#",
];

#[derive(Default)]
pub struct FaultyStore {
    inner: Option<Arc<dyn Store>>,
    /// Faults armed for the next transactions of ours, in order.
    armed: Mutex<Vec<Fault>>,
    pub injected: AtomicU64,
}

impl FaultyStore {
    pub fn new(inner: Arc<dyn Store>) -> FaultyStore {
        FaultyStore {
            inner: Some(inner),
            ..FaultyStore::default()
        }
    }

    fn inner(&self) -> &dyn Store {
        self.inner.as_deref().expect("a wrapped store")
    }

    /// The next transactions of ours suffer `faults`, one each.
    pub fn arm(&self, faults: &[Fault]) {
        let mut armed = self.armed.lock().expect("faults lock");
        armed.clear();
        armed.extend(faults.iter().rev());
    }

    pub fn disarm(&self) {
        self.armed.lock().expect("faults lock").clear();
    }

    fn next_fault(&self, ops: &[WriteOp]) -> Option<Fault> {
        let ours = ops
            .iter()
            .any(|op| !NOT_OURS.iter().any(|p| op.key().pk.starts_with(p)));
        if !ours {
            return None;
        }
        let fault = self.armed.lock().expect("faults lock").pop();
        if fault.is_some() {
            self.injected.fetch_add(1, Ordering::Relaxed);
        }
        fault
    }
}

#[async_trait]
impl Store for FaultyStore {
    async fn get(&self, table: Table, key: &Key) -> Result<Option<Item>, StoreError> {
        self.inner().get(table, key).await
    }

    async fn get_many(&self, table: Table, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        self.inner().get_many(table, keys).await
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        match self.next_fault(&ops) {
            None => self.inner().transact(ops).await,
            Some(Fault::Fail) => Err(StoreError::Unavailable(
                "injected fault: the transaction was refused".into(),
            )),
            Some(Fault::TimeoutAfterCommit) => {
                self.inner().transact(ops).await?;
                Err(StoreError::Unavailable(
                    "injected fault: timed out after the transaction applied".into(),
                ))
            }
        }
    }

    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        self.inner().query(query).await
    }

    async fn count_items(&self, table: Table) -> Result<u64, StoreError> {
        self.inner().count_items(table).await
    }
}
