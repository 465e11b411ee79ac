//! Shared harness of the Broker OS cross-engine tests: fresh, isolated stores of each engine,
//! and the local AWS emulators they run against (DynamoDB Local, moto).

pub mod app;
pub mod audit_scan;
pub mod dynamodb_local;
pub mod moto;
pub mod people;
mod supervisor;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use brokeros_store::{Item, Key, Page, Query, Store, StoreError, Table, WriteOp};
use brokeros_store_dynamodb::{DynamoStore, TableNames, create_tables};
use brokeros_store_sqlite::SqliteStore;
use tempfile::TempDir;

/// A DynamoDB store on new, uniquely named tables of this process's DynamoDB Local
/// (started on first use; see [`dynamodb_local`]).
pub async fn fresh_dynamo_store() -> Arc<dyn Store> {
    let client = dynamodb_local::client().await;
    let id = uuid::Uuid::new_v4().simple();
    let tables = TableNames {
        main: format!("t{id}-main"),
        audit: format!("t{id}-audit"),
    };
    create_tables(&client, &tables)
        .await
        .unwrap_or_else(|e| panic!("cannot create tables {tables:?} in DynamoDB Local: {e}"));
    Arc::new(DynamoStore::new(client, tables))
}

/// A SQLite store on a new database file in a temporary directory, removed when the store is
/// dropped.
pub fn fresh_sqlite_store() -> Arc<dyn Store> {
    fresh_sqlite(SqliteStore::open)
}

/// Like [`fresh_sqlite_store`], committing on the calling thread
/// ([`SqliteStore::open_inline`]): for the deterministic simulation.
pub fn fresh_inline_sqlite_store() -> Arc<dyn Store> {
    fresh_sqlite(|path| SqliteStore::open_inline(path, brokeros_store_sqlite::Durability::Full))
}

fn fresh_sqlite(open: impl Fn(&Path) -> Result<SqliteStore, StoreError>) -> Arc<dyn Store> {
    let dir = tempfile::Builder::new()
        .prefix("brokeros-store-")
        .tempdir()
        .expect("cannot create a temporary directory");
    let path = dir.path().join("brokeros.sqlite3");
    let store = open(&path)
        .unwrap_or_else(|e| panic!("cannot open a SQLite store at {}: {e}", path.display()));
    Arc::new(TempSqliteStore { store, _dir: dir })
}

/// A SQLite store and the directory of its file (fields drop in order: the database closes
/// before its directory goes).
struct TempSqliteStore {
    store: SqliteStore,
    _dir: TempDir,
}

#[async_trait]
impl Store for TempSqliteStore {
    async fn get(&self, table: Table, key: &Key) -> Result<Option<Item>, StoreError> {
        self.store.get(table, key).await
    }

    async fn get_many(&self, table: Table, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        self.store.get_many(table, keys).await
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        self.store.transact(ops).await
    }

    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        self.store.query(query).await
    }

    async fn count(&self, query: Query) -> Result<u64, StoreError> {
        self.store.count(query).await
    }

    async fn count_items(&self, table: Table) -> Result<u64, StoreError> {
        self.store.count_items(table).await
    }
}

/// A store that records every transaction it committed (one request to the engine each), for
/// tests that count what a use case writes, and counts every transaction attempted.
pub struct RecordingStore {
    inner: Arc<dyn Store>,
    committed: std::sync::Mutex<Vec<Vec<WriteOp>>>,
    attempted: std::sync::atomic::AtomicU64,
    queried: std::sync::Mutex<Vec<(String, usize)>>,
}

impl RecordingStore {
    pub fn new(inner: Arc<dyn Store>) -> Arc<RecordingStore> {
        Arc::new(RecordingStore {
            inner,
            committed: std::sync::Mutex::new(Vec::new()),
            attempted: std::sync::atomic::AtomicU64::new(0),
            queried: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// Every query page read so far, in order: its partition and how many items it returned.
    pub fn queried(&self) -> Vec<(String, usize)> {
        self.queried.lock().expect("recording lock").clone()
    }

    /// How many transactions were sent to the engine so far, committed or refused.
    pub fn attempted(&self) -> u64 {
        self.attempted.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The committed transactions so far, in commit order.
    pub fn committed(&self) -> Vec<Vec<WriteOp>> {
        self.committed.lock().expect("recording lock").clone()
    }
}

#[async_trait]
impl Store for RecordingStore {
    async fn get(&self, table: Table, key: &Key) -> Result<Option<Item>, StoreError> {
        self.inner.get(table, key).await
    }

    async fn get_many(&self, table: Table, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        self.inner.get_many(table, keys).await
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        self.attempted
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.transact(ops.clone()).await?;
        self.committed.lock().expect("recording lock").push(ops);
        Ok(())
    }

    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        let partition = query.pk.clone();
        let page = self.inner.query(query).await?;
        self.queried
            .lock()
            .expect("recording lock")
            .push((partition, page.items.len()));
        Ok(page)
    }

    async fn count(&self, query: Query) -> Result<u64, StoreError> {
        self.inner.count(query).await
    }

    async fn count_items(&self, table: Table) -> Result<u64, StoreError> {
        self.inner.count_items(table).await
    }
}

/// The scenario tests of a suite, each once on a fresh SQLite store and once on a fresh
/// DynamoDB Local table pair: `scenario => App constructor (its argument)`, where the scenario is
/// an `async fn(App)` at the test binary's root. When the scenario has ended, every audit event
/// it wrote is checked against the rule of what audit events may hold of a person's data
/// ([`audit_scan`]).
// The scenarios are functions of the suite that calls the macro, hence `crate::`.
#[allow(clippy::crate_in_macro_def)]
#[macro_export]
macro_rules! scenarios {
    ($($scenario:ident => $app:ident $(($seconds:expr))?),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    let store = $crate::fresh_sqlite_store();
                    let app = $crate::app::App::$app(store $(, $seconds)?).await;
                    let scan = app.audit_scan();
                    crate::$scenario(app).await;
                    scan.assert_clean().await;
                }
            )*
        }

        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    let store = $crate::fresh_dynamo_store().await;
                    let app = $crate::app::App::$app(store $(, $seconds)?).await;
                    let scan = app.audit_scan();
                    crate::$scenario(app).await;
                    scan.assert_clean().await;
                }
            )*
        }
    };
}

/// Store-level scenario tests (no HTTP): each `module::scenario`, an
/// `async fn(Arc<dyn Store>)` of the calling suite, once on a fresh SQLite store
/// (`sqlite::<scenario>`) and once on a fresh DynamoDB Local table pair (`dynamodb::<scenario>`).
// The scenarios are functions of the suite that calls the macro, hence `crate::`.
#[allow(clippy::crate_in_macro_def)]
#[macro_export]
macro_rules! store_scenarios {
    ($($module:ident :: $scenario:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    crate::$module::$scenario($crate::fresh_sqlite_store()).await;
                }
            )*
        }

        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    crate::$module::$scenario($crate::fresh_dynamo_store().await).await;
                }
            )*
        }
    };
}
