//! Test support for the storage port (feature `testing`).
//!
//! [`LaggingIndexes`] wraps a store and makes its secondary indexes lag behind its writes, as
//! DynamoDB's global secondary indexes do: an index query does not see an item written in the
//! last operations (or since the last [`LaggingIndexes::catch_up`]), while `get`, `get_many`
//! and queries of the table's own keys see every committed write at once (they are strongly
//! consistent on both engines). DynamoDB Local and SQLite update indexes in the same
//! transaction, so without it a decision that rests on an index read passes every test and
//! fails in AWS now and then.
//!
//! A lagging index in AWS still shows an updated item's previous version; this decorator hides
//! the item instead. Either way a reader of the index does not see the write, which is what a
//! decision made on an index read gets wrong.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::{Item, Key, Page, Query, Store, StoreError, Table, WriteOp};

/// How long an index lags behind a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lag {
    /// Until [`LaggingIndexes::catch_up`] is called.
    UntilCaughtUp,
    /// For this many further operations of any kind on the store (gets, queries,
    /// transactions), then until [`LaggingIndexes::catch_up`] if that comes first.
    Operations(u64),
}

/// A store whose secondary indexes lag behind its writes (see the module documentation).
pub struct LaggingIndexes<S: Store + ?Sized> {
    inner: Arc<S>,
    lag: Lag,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Operations so far.
    clock: u64,
    /// The items written and not yet visible in indexes, with the operation that wrote them.
    written: HashMap<(Table, Key), u64>,
}

impl State {
    fn tick(&mut self, lag: Lag) -> u64 {
        self.clock += 1;
        if let Lag::Operations(n) = lag {
            let now = self.clock;
            self.written.retain(|_, at| now.saturating_sub(*at) < n);
        }
        self.clock
    }
}

impl<S: Store + ?Sized> LaggingIndexes<S> {
    /// Indexes that see nothing written from now on until [`LaggingIndexes::catch_up`].
    pub fn new(inner: Arc<S>) -> LaggingIndexes<S> {
        LaggingIndexes::with_lag(inner, Lag::UntilCaughtUp)
    }

    pub fn with_lag(inner: Arc<S>, lag: Lag) -> LaggingIndexes<S> {
        LaggingIndexes {
            inner,
            lag,
            state: Mutex::new(State::default()),
        }
    }

    /// Makes every write so far visible in the indexes.
    pub fn catch_up(&self) {
        self.state().written.clear();
    }

    /// How many written items the indexes do not show yet.
    pub fn lagging(&self) -> usize {
        self.state().written.len()
    }

    pub fn inner(&self) -> &Arc<S> {
        &self.inner
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panicking test thread must not hide the state from the others.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn tick(&self) -> u64 {
        self.state().tick(self.lag)
    }
}

#[async_trait]
impl<S: Store + ?Sized> Store for LaggingIndexes<S> {
    async fn get(&self, table: Table, key: &Key) -> Result<Option<Item>, StoreError> {
        self.tick();
        self.inner.get(table, key).await
    }

    async fn get_many(&self, table: Table, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        self.tick();
        self.inner.get_many(table, keys).await
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        let written: Vec<(Table, Key)> = ops
            .iter()
            .filter(|op| !matches!(op, WriteOp::Check { .. }))
            .map(|op| (op.table(), op.key().clone()))
            .collect();
        let outcome = self.inner.transact(ops).await;
        let mut state = self.state();
        let at = state.tick(self.lag);
        if outcome.is_ok() {
            state
                .written
                .extend(written.into_iter().map(|key| (key, at)));
        }
        outcome
    }

    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        self.tick();
        let table = query.table;
        let lags = query.index.is_some();
        let mut page = self.inner.query(query).await?;
        if lags {
            let state = self.state();
            page.items
                .retain(|item| !state.written.contains_key(&(table, item.key.clone())));
        }
        Ok(page)
    }

    async fn count_items(&self, table: Table) -> Result<u64, StoreError> {
        self.inner.count_items(table).await
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::{Condition, Index, SortKeyRange};

    /// Just enough of an engine to wrap: conditions, table and index queries (no cursors).
    #[derive(Default)]
    struct MemoryStore {
        items: Mutex<BTreeMap<(Table, Key), Item>>,
    }

    #[async_trait]
    impl Store for MemoryStore {
        async fn get(&self, table: Table, key: &Key) -> Result<Option<Item>, StoreError> {
            Ok(self
                .items
                .lock()
                .unwrap()
                .get(&(table, key.clone()))
                .cloned())
        }

        async fn get_many(
            &self,
            table: Table,
            keys: &[Key],
        ) -> Result<Vec<Option<Item>>, StoreError> {
            let items = self.items.lock().unwrap();
            Ok(keys
                .iter()
                .map(|k| items.get(&(table, k.clone())).cloned())
                .collect())
        }

        async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
            let mut items = self.items.lock().unwrap();
            for (index, op) in ops.iter().enumerate() {
                let found = items.get(&(op.table(), op.key().clone()));
                let holds = match op.condition() {
                    Condition::Always => true,
                    Condition::NotExists => found.is_none(),
                    Condition::Exists => found.is_some(),
                    Condition::VersionIs(v) => found.is_some_and(|i| i.version == v),
                };
                if !holds {
                    return Err(StoreError::ConditionFailed { index });
                }
            }
            for op in ops {
                match op {
                    WriteOp::Put { table, item, .. } => {
                        items.insert((table, item.key.clone()), item);
                    }
                    WriteOp::Delete { table, key, .. } => {
                        items.remove(&(table, key));
                    }
                    WriteOp::Check { .. } => {}
                }
            }
            Ok(())
        }

        async fn query(&self, query: Query) -> Result<Page, StoreError> {
            let items = self.items.lock().unwrap();
            let mut found: Vec<Item> = items
                .iter()
                .filter(|((table, _), _)| *table == query.table)
                .map(|(_, item)| item)
                .filter(|item| match query.index {
                    None => item.key.pk == query.pk,
                    Some(i) => item.indexes.get(&i).is_some_and(|k| k.pk == query.pk),
                })
                .filter(|item| {
                    query
                        .sort_key_of(item)
                        .is_some_and(|sk| query.sk.contains(sk))
                })
                .cloned()
                .collect();
            found.sort_by(|a, b| query.sort_key_of(a).cmp(&query.sort_key_of(b)));
            if query.descending {
                found.reverse();
            }
            found.truncate(query.limit as usize);
            Ok(Page {
                items: found,
                next: None,
            })
        }

        async fn count_items(&self, table: Table) -> Result<u64, StoreError> {
            let items = self.items.lock().unwrap();
            Ok(items.keys().filter(|(t, _)| *t == table).count() as u64)
        }
    }

    fn item(id: &str, status: &str) -> Item {
        Item::new(Key::new(format!("THING#{id}"), "THING"), 1, id).with_index(
            Index::Gsi1,
            format!("THINGS#{status}"),
            id,
        )
    }

    fn put(item: Item, condition: Condition) -> Vec<WriteOp> {
        vec![WriteOp::Put {
            table: Table::Main,
            item,
            condition,
        }]
    }

    fn by_status(status: &str) -> Query {
        Query::new(Table::Main, Some(Index::Gsi1), format!("THINGS#{status}"))
    }

    async fn ids(store: &(impl Store + ?Sized), query: Query) -> Vec<String> {
        let page = store.query(query).await.unwrap();
        page.items.into_iter().map(|i| i.data).collect()
    }

    #[tokio::test]
    async fn an_index_does_not_see_a_write_until_it_catches_up_and_keys_see_it_at_once() {
        let store = LaggingIndexes::new(Arc::new(MemoryStore::default()));
        store
            .transact(put(item("a", "new"), Condition::NotExists))
            .await
            .unwrap();
        assert!(ids(&store, by_status("new")).await.is_empty());
        assert_eq!(store.lagging(), 1);
        let key = Key::new("THING#a", "THING");
        assert_eq!(
            store.get(Table::Main, &key).await.unwrap().unwrap().data,
            "a"
        );
        let many = store
            .get_many(Table::Main, std::slice::from_ref(&key))
            .await
            .unwrap();
        assert!(many[0].is_some());
        let table_query = Query::new(Table::Main, None, "THING#a").sk(SortKeyRange::All);
        assert_eq!(ids(&store, table_query).await, ["a"]);

        store.catch_up();
        assert_eq!(ids(&store, by_status("new")).await, ["a"]);
        assert_eq!(store.lagging(), 0);
    }

    #[tokio::test]
    async fn an_update_hides_the_item_from_indexes_again_and_older_items_stay_visible() {
        let store = LaggingIndexes::new(Arc::new(MemoryStore::default()));
        for id in ["a", "b"] {
            store
                .transact(put(item(id, "new"), Condition::NotExists))
                .await
                .unwrap();
        }
        store.catch_up();
        let mut moved = item("a", "done");
        moved.version = 2;
        store
            .transact(put(moved, Condition::VersionIs(1)))
            .await
            .unwrap();
        assert_eq!(ids(&store, by_status("new")).await, ["b"]);
        assert!(ids(&store, by_status("done")).await.is_empty());
        store.catch_up();
        assert_eq!(ids(&store, by_status("done")).await, ["a"]);
    }

    #[tokio::test]
    async fn a_failed_or_checking_transaction_makes_nothing_lag() {
        let store = LaggingIndexes::new(Arc::new(MemoryStore::default()));
        store
            .transact(put(item("a", "new"), Condition::NotExists))
            .await
            .unwrap();
        store.catch_up();
        let refused = store
            .transact(put(item("a", "new"), Condition::NotExists))
            .await;
        assert_eq!(refused, Err(StoreError::ConditionFailed { index: 0 }));
        store
            .transact(vec![WriteOp::Check {
                table: Table::Main,
                key: Key::new("THING#a", "THING"),
                condition: Condition::Exists,
            }])
            .await
            .unwrap();
        assert_eq!(store.lagging(), 0);
        assert_eq!(ids(&store, by_status("new")).await, ["a"]);
    }

    #[tokio::test]
    async fn a_lag_of_n_operations_shows_the_write_after_n_more_operations_of_any_kind() {
        let store = LaggingIndexes::with_lag(Arc::new(MemoryStore::default()), Lag::Operations(3));
        store
            .transact(put(item("a", "new"), Condition::NotExists))
            .await
            .unwrap();
        // Operations 2 and 3 (a query each) do not see it; the fourth does.
        assert!(ids(&store, by_status("new")).await.is_empty());
        assert!(ids(&store, by_status("new")).await.is_empty());
        assert_eq!(ids(&store, by_status("new")).await, ["a"]);
        // A get counts as an operation too.
        store
            .transact(put(item("b", "new"), Condition::NotExists))
            .await
            .unwrap();
        let key = Key::new("THING#b", "THING");
        store.get(Table::Main, &key).await.unwrap();
        store.get(Table::Main, &key).await.unwrap();
        assert_eq!(ids(&store, by_status("new")).await, ["a", "b"]);
    }

    #[tokio::test]
    async fn it_wraps_a_shared_store_of_any_engine() {
        let inner: Arc<dyn Store> = Arc::new(MemoryStore::default());
        let store = LaggingIndexes::new(inner.clone());
        store
            .transact(put(item("a", "new"), Condition::NotExists))
            .await
            .unwrap();
        assert_eq!(ids(inner.as_ref(), by_status("new")).await, ["a"]);
        assert!(ids(&store, by_status("new")).await.is_empty());
        assert_eq!(store.count_items(Table::Main).await.unwrap(), 1);
    }
}
