//! The embedded engine: one SQLite database file in WAL mode.
//!
//! Writes go to a single writer thread that commits transactions in groups: it takes every
//! transaction waiting in its queue, applies each inside its own savepoint (so a failed
//! condition undoes only that transaction) and commits the group at once. Callers are answered
//! after the commit, so an acknowledged transaction is durable and later ones see its effects
//! in order. Reads use a small pool of connections that never block the writer.
//!
//! How durable is the store's [`Durability`]: by default ([`Durability::Full`], SQLite's
//! `synchronous=FULL`) every group commit syncs the WAL to the disk before any of its callers is
//! answered — one `fsync` per group, however many transactions it holds — so an acknowledged
//! write survives a power failure. [`Durability::Relaxed`] (`synchronous=NORMAL`) syncs only at
//! checkpoints: faster, but acknowledged writes may be lost on power failure (not on a process
//! crash). Only an explicit choice gets it.

mod sql;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use brokeros_store::{
    Item, Key, Page, Query, Store, StoreError, Table, WriteOp, validate_transaction,
};
use rusqlite::Connection;
use tokio::sync::oneshot;

/// Read connections opened up front, and the most kept open when idle.
const READERS: usize = 4;
const MAX_IDLE_READERS: usize = 16;
/// The most transactions one group commit takes.
const MAX_GROUP: usize = 512;

struct WriteJob {
    ops: Vec<WriteOp>,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// How far a commit has reached before its callers are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// On the disk: the WAL is synced (`fsync`) at every group commit (`synchronous=FULL`). An
    /// acknowledged write survives a process crash and a power failure.
    #[default]
    Full,
    /// In the operating system's page cache: the WAL is synced only at checkpoints
    /// (`synchronous=NORMAL`). Acknowledged writes may be lost on power failure (not on a
    /// process crash). For benchmarks and throwaway data.
    Relaxed,
}

impl Durability {
    /// The value of SQLite's `PRAGMA synchronous` for this durability.
    fn synchronous(self) -> &'static str {
        match self {
            Durability::Full => "FULL",
            Durability::Relaxed => "NORMAL",
        }
    }

    /// The durability a connection's `PRAGMA synchronous` level gives (2 FULL, 1 NORMAL).
    fn of_level(level: i64) -> Option<Durability> {
        match level {
            2 => Some(Durability::Full),
            1 => Some(Durability::Relaxed),
            _ => None,
        }
    }
}

pub struct SqliteStore {
    writer: Writer,
    readers: Arc<ReaderPool>,
    durability: Durability,
}

/// Who commits: the writer thread, which groups the commits of concurrent callers under one
/// sync, or the calling thread itself ([`SqliteStore::open_inline`]).
enum Writer {
    Thread(Mutex<mpsc::Sender<WriteJob>>),
    Inline(Mutex<Connection>),
}

/// Idle read connections; a reader that finds none opens another, so reads never wait on
/// each other (SQLite in WAL mode serves any number of readers beside the writer).
struct ReaderPool {
    path: PathBuf,
    durability: Durability,
    idle: Mutex<Vec<Connection>>,
}

impl ReaderPool {
    fn checkout(&self) -> Result<Connection, StoreError> {
        let idle = self.idle.lock().expect("reader pool lock").pop();
        match idle {
            Some(conn) => Ok(conn),
            None => sql::connect(&self.path, self.durability).map_err(unavailable),
        }
    }

    fn give_back(&self, conn: Connection) {
        let mut idle = self.idle.lock().expect("reader pool lock");
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
    }
}

fn unavailable(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("sqlite: {e}"))
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`, with [`Durability::Full`].
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with(path, Durability::Full)
    }

    /// Opens (creating if needed) the database file at `path` with `durability`.
    pub fn open_with(path: &Path, durability: Durability) -> Result<SqliteStore, StoreError> {
        let (writer_conn, readers) = SqliteStore::connections(path, durability)?;
        let (tx, rx) = mpsc::channel::<WriteJob>();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(writer_conn, rx))
            .map_err(unavailable)?;
        Ok(SqliteStore::with_writer(
            Writer::Thread(Mutex::new(tx)),
            readers,
            path,
            durability,
        ))
    }

    /// Opens the database file at `path` with commits made on the calling thread, one at a
    /// time: a commit blocks the async runtime's thread for its sync, so nothing else runs
    /// meanwhile. For deterministic simulations on a single-threaded runtime, where what runs
    /// next must not depend on when another thread's sync returns; not for serving.
    pub fn open_inline(path: &Path, durability: Durability) -> Result<SqliteStore, StoreError> {
        let (writer_conn, readers) = SqliteStore::connections(path, durability)?;
        Ok(SqliteStore::with_writer(
            Writer::Inline(Mutex::new(writer_conn)),
            readers,
            path,
            durability,
        ))
    }

    fn connections(
        path: &Path,
        durability: Durability,
    ) -> Result<(Connection, Vec<Connection>), StoreError> {
        let writer_conn = sql::connect(path, durability).map_err(unavailable)?;
        sql::migrate(&writer_conn).map_err(unavailable)?;
        sql::tune_writer(&writer_conn).map_err(unavailable)?;
        // What SQLite reports for the connection that commits, not what was asked of it.
        let level: i64 = writer_conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .map_err(unavailable)?;
        let reported = Durability::of_level(level);
        if reported != Some(durability) {
            return Err(unavailable(format!(
                "asked for {durability:?} durability, the writer reports synchronous={level}"
            )));
        }
        let readers = (0..READERS)
            .map(|_| sql::connect(path, durability))
            .collect::<Result<Vec<_>, _>>()
            .map_err(unavailable)?;
        Ok((writer_conn, readers))
    }

    fn with_writer(
        writer: Writer,
        readers: Vec<Connection>,
        path: &Path,
        durability: Durability,
    ) -> SqliteStore {
        SqliteStore {
            writer,
            readers: Arc::new(ReaderPool {
                path: path.to_path_buf(),
                durability,
                idle: Mutex::new(readers),
            }),
            durability,
        }
    }

    /// The durability of commits, as the writer's connection reported it when opened.
    pub fn durability(&self) -> Durability {
        self.durability
    }

    /// Runs a key or index read on a pooled connection, on the calling thread: such reads take
    /// microseconds (WAL readers never wait for the writer), less than handing them to another
    /// thread would.
    fn read<T>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        let conn = self.readers.checkout()?;
        let result = read(&conn).map_err(unavailable);
        self.readers.give_back(conn);
        result
    }

    /// Runs a long read (a scan) off the async runtime's threads.
    async fn read_blocking<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StoreError> {
        let pool = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let conn = pool.checkout()?;
            let result = read(&conn).map_err(unavailable);
            pool.give_back(conn);
            result
        })
        .await
        .map_err(unavailable)?
    }
}

fn writer_loop(mut conn: Connection, jobs: mpsc::Receiver<WriteJob>) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let results = sql::commit_group(&mut conn, group.iter().map(|j| j.ops.as_slice()));
        for (job, result) in group.into_iter().zip(results) {
            // The caller may have gone away (a cancelled request); its transaction stands.
            let _ = job.done.send(result);
        }
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn get(&self, table: Table, key: &Key) -> Result<Option<Item>, StoreError> {
        self.read(|c| sql::get(c, table, key, brokeros_store::unix_now()))
    }

    async fn get_many(&self, table: Table, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        if keys.len() > brokeros_store::MAX_GET_MANY_KEYS {
            return Err(StoreError::Invalid(format!(
                "get_many takes at most {} keys",
                brokeros_store::MAX_GET_MANY_KEYS
            )));
        }
        self.read(|c| {
            let now = brokeros_store::unix_now();
            keys.iter().map(|k| sql::get(c, table, k, now)).collect()
        })
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        validate_transaction(&ops)?;
        let sender = match &self.writer {
            Writer::Thread(sender) => sender,
            Writer::Inline(conn) => {
                let mut conn = conn.lock().expect("writer connection lock");
                let mut results = sql::commit_group(&mut conn, std::iter::once(ops.as_slice()));
                return results
                    .pop()
                    .unwrap_or_else(|| Err(unavailable("no commit result")));
            }
        };
        let (done, answer) = oneshot::channel();
        sender
            .lock()
            .expect("writer sender lock")
            .send(WriteJob { ops, done })
            .map_err(|_| unavailable("the writer thread has stopped"))?;
        answer
            .await
            .map_err(|_| unavailable("the writer thread has stopped"))?
    }

    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        query.validate()?;
        let cursor = brokeros_store::Cursor::decode_for(&query)?;
        self.read(|c| sql::query(c, &query, cursor.as_ref(), brokeros_store::unix_now()))
    }

    async fn count(&self, query: Query) -> Result<u64, StoreError> {
        query.clone().limit(1).validate()?;
        self.read(|c| sql::count_query(c, &query, brokeros_store::unix_now()))
    }

    async fn count_items(&self, table: Table) -> Result<u64, StoreError> {
        self.read_blocking(move |c| sql::count(c, table)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn synchronous(conn: &Connection) -> rusqlite::Result<i64> {
        conn.pragma_query_value(None, "synchronous", |r| r.get(0))
    }

    /// `PRAGMA synchronous`: 2 is FULL (the WAL is synced at every commit), 1 NORMAL.
    #[test]
    fn commits_are_synced_by_default() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("db")).unwrap();
        assert_eq!(store.read(synchronous).unwrap(), 2, "FULL by default");
        assert_eq!(store.durability(), Durability::Full);
        assert_eq!(Durability::default(), Durability::Full);
    }

    #[test]
    fn relaxed_durability_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let relaxed = SqliteStore::open_with(&path, Durability::Relaxed).unwrap();
        assert_eq!(relaxed.read(synchronous).unwrap(), 1, "NORMAL");
        assert_eq!(relaxed.durability(), Durability::Relaxed);
        drop(relaxed);
        // The setting belongs to the connections, not the file: reopened, it is FULL again.
        let full = SqliteStore::open(&path).unwrap();
        assert_eq!(full.read(synchronous).unwrap(), 2);
        assert_eq!(full.durability(), Durability::Full);
    }
}
