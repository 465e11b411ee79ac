use std::path::Path;
use std::time::Duration;

use brokeros_store::{
    Condition, Cursor, Index, IndexKey, Item, Key, Page, Query, SortKeyRange, StoreError, Table,
    WriteOp,
};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use crate::Durability;

const COLUMNS: &str =
    "pk, sk, v, data, gsi1pk, gsi1sk, gsi2pk, gsi2sk, gsi3pk, gsi3sk, gsi4pk, gsi4sk, expires_at";

pub fn connect(path: &Path, durability: Durability) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    // WAL lets readers run beside the writer. `synchronous` is the durability asked for (see
    // `Durability`): FULL syncs the WAL at every commit, NORMAL only at checkpoints.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", durability.synchronous())?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// The writer keeps a larger page cache than readers (it is the only connection whose cache
/// survives other commits; larger still costs more, as SQLite walks the whole cache at every
/// commit) and checkpoints every 64 MB of WAL: pages rewritten between checkpoints reach the
/// database file once, and the WAL restarts from its beginning (a checkpoint run by another
/// connection under constant writes never lets it restart). Readers keep SQLite's small default
/// cache: a reader's cache is dropped whenever the database changed, and dropping a large one
/// costs more than it saves.
pub fn tune_writer(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "cache_size", -8_192)?;
    conn.pragma_update(None, "wal_autocheckpoint", 16_384)
}

pub fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let mut ddl = String::from(
        // A rowid table with a unique key index rather than WITHOUT ROWID: payloads are
        // kilobytes, and SQLite keeps large rows better out of the key B-tree.
        "CREATE TABLE IF NOT EXISTS items (
            id INTEGER PRIMARY KEY,
            tbl TEXT NOT NULL, pk TEXT NOT NULL, sk TEXT NOT NULL, v INTEGER NOT NULL, data TEXT NOT NULL,
            gsi1pk TEXT, gsi1sk TEXT, gsi2pk TEXT, gsi2sk TEXT, gsi3pk TEXT, gsi3sk TEXT, gsi4pk TEXT, gsi4sk TEXT,
            expires_at INTEGER
        );
        CREATE UNIQUE INDEX IF NOT EXISTS items_key ON items(tbl, pk, sk);",
    );
    for index in Index::ALL {
        let n = index.name();
        ddl.push_str(&format!(
            "CREATE INDEX IF NOT EXISTS items_{n} ON items(tbl, {n}pk, {n}sk, pk, sk) WHERE {n}pk IS NOT NULL;"
        ));
    }
    conn.execute_batch(&ddl)
}

fn row_to_item(row: &rusqlite::Row<'_>) -> rusqlite::Result<Item> {
    let mut item = Item::new(
        Key::new(row.get::<_, String>(0)?, row.get::<_, String>(1)?),
        row.get::<_, i64>(2)? as u64,
        row.get::<_, String>(3)?,
    );
    for (n, index) in Index::ALL.into_iter().enumerate() {
        let pk: Option<String> = row.get(4 + 2 * n)?;
        let sk: Option<String> = row.get(5 + 2 * n)?;
        if let (Some(pk), Some(sk)) = (pk, sk) {
            item.indexes.insert(index, IndexKey { pk, sk });
        }
    }
    item.expires_at = row.get(12)?;
    Ok(item)
}

pub fn get(conn: &Connection, table: Table, key: &Key, now: i64) -> rusqlite::Result<Option<Item>> {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let sql = SQL.get_or_init(|| {
        format!(
            "SELECT {COLUMNS} FROM items WHERE tbl = ?1 AND pk = ?2 AND sk = ?3 AND (expires_at IS NULL OR expires_at > ?4)"
        )
    });
    let mut stmt = conn.prepare_cached(sql)?;
    stmt.query_row(params![table.as_str(), key.pk, key.sk, now], row_to_item)
        .optional()
}

pub fn count(conn: &Connection, table: Table) -> rusqlite::Result<u64> {
    conn.query_row(
        "SELECT COUNT(*) FROM items WHERE tbl = ?1",
        [table.as_str()],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n as u64)
}

/// The partition and sort key columns `query` reads: the table's or its index's.
fn key_columns(query: &Query) -> (String, String) {
    match query.index {
        None => ("pk".to_string(), "sk".to_string()),
        Some(i) => (format!("{}pk", i.name()), format!("{}sk", i.name())),
    }
}

/// How many live items `query` selects (see `Store::count`): one `COUNT(*)` that seeks the
/// table's or the index's key columns, the sort-key range as bounds (a prefix's bounds made
/// exact by comparing the prefix itself).
pub fn count_query(conn: &Connection, query: &Query, now: i64) -> rusqlite::Result<u64> {
    let (pk_col, sk_col) = key_columns(query);
    let mut sql = format!(
        "SELECT COUNT(*) FROM items WHERE tbl = ? AND {pk_col} = ? AND (expires_at IS NULL OR expires_at > ?)"
    );
    let mut args: Vec<Value> = vec![
        query.table.as_str().to_string().into(),
        query.pk.clone().into(),
        now.into(),
    ];
    match &query.sk {
        SortKeyRange::All => {}
        SortKeyRange::Prefix(p) => {
            sql.push_str(&format!(
                " AND {sk_col} >= ? AND {sk_col} <= ? AND substr({sk_col}, 1, ?) = ?"
            ));
            args.push(p.clone().into());
            args.push(format!("{p}\u{10FFFF}").into());
            args.push((p.chars().count() as i64).into());
            args.push(p.clone().into());
        }
        SortKeyRange::Between(low, high) => {
            sql.push_str(&format!(" AND {sk_col} >= ? AND {sk_col} <= ?"));
            args.push(low.clone().into());
            args.push(high.clone().into());
        }
    }
    let mut stmt = conn.prepare_cached(&sql)?;
    stmt.query_row(params_from_iter(args), |r| r.get::<_, i64>(0))
        .map(|n| n as u64)
}

pub fn query(
    conn: &Connection,
    query: &Query,
    cursor: Option<&Cursor>,
    now: i64,
) -> rusqlite::Result<Page> {
    let (pk_col, sk_col) = key_columns(query);
    let mut sql = format!(
        "SELECT {COLUMNS} FROM items WHERE tbl = ? AND {pk_col} = ? AND (expires_at IS NULL OR expires_at > ?)"
    );
    let mut args: Vec<Value> = vec![
        query.table.as_str().to_string().into(),
        query.pk.clone().into(),
        now.into(),
    ];
    // The sort-key range, narrowed to where an index cursor stands: SQLite seeks in the index
    // on one plain bound per side, not on the row value below, so without this every page of a
    // long partition (an audit export of a busy day) scanned it from its start: quadratic.
    let (mut low, mut high) = match &query.sk {
        SortKeyRange::All => (None, None),
        // The upper bound is the prefix followed by the highest code point; `contains`
        // below keeps the result exact.
        SortKeyRange::Prefix(p) => (Some(p.clone()), Some(format!("{p}\u{10FFFF}"))),
        SortKeyRange::Between(a, b) => (Some(a.clone()), Some(b.clone())),
    };
    if let (Some(_), Some(isk)) = (&query.index, cursor.and_then(|c| c.index_sk.as_ref())) {
        let side = if query.descending {
            &mut high
        } else {
            &mut low
        };
        let narrower = match side.as_ref() {
            Some(bound) if query.descending => isk < bound,
            Some(bound) => isk > bound,
            None => true,
        };
        if narrower {
            *side = Some(isk.clone());
        }
    }
    if let Some(low) = low {
        sql.push_str(&format!(" AND {sk_col} >= ?"));
        args.push(low.into());
    }
    if let Some(high) = high {
        sql.push_str(&format!(" AND {sk_col} <= ?"));
        args.push(high.into());
    }
    let cmp = if query.descending { "<" } else { ">" };
    let dir = if query.descending { "DESC" } else { "ASC" };
    if let Some(c) = cursor {
        match (&query.index, &c.index_sk) {
            (Some(_), Some(isk)) => {
                sql.push_str(&format!(" AND ({sk_col}, pk, sk) {cmp} (?, ?, ?)"));
                args.extend([isk.clone().into(), c.pk.clone().into(), c.sk.clone().into()]);
            }
            _ => {
                sql.push_str(&format!(" AND sk {cmp} ?"));
                args.push(c.sk.clone().into());
            }
        }
    }
    match query.index {
        None => sql.push_str(&format!(" ORDER BY sk {dir}")),
        Some(_) => sql.push_str(&format!(" ORDER BY {sk_col} {dir}, pk {dir}, sk {dir}")),
    }
    sql.push_str(" LIMIT ?");
    args.push(i64::from(query.limit + 1).into());

    let mut stmt = conn.prepare_cached(&sql)?;
    let mut items = stmt
        .query_map(params_from_iter(args), row_to_item)?
        .collect::<rusqlite::Result<Vec<Item>>>()?;
    items.retain(|item| {
        query
            .sort_key_of(item)
            .is_some_and(|sk| query.sk.contains(sk))
    });
    let limit = query.limit as usize;
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|last| Cursor::after(query, last).encode())
    } else {
        None
    };
    Ok(Page { items, next })
}

/// Commits a group of transactions together, each in its own savepoint, and returns each one's
/// outcome in order.
pub fn commit_group<'a>(
    conn: &mut Connection,
    group: impl Iterator<Item = &'a [WriteOp]>,
) -> Vec<Result<(), StoreError>> {
    let now = brokeros_store::unix_now();
    let begun = conn.execute_batch("BEGIN IMMEDIATE");
    let group: Vec<&[WriteOp]> = group.collect();
    if let Err(e) = begun {
        return group.iter().map(|_| Err(super::unavailable(&e))).collect();
    }
    let mut results: Vec<Result<(), StoreError>> = Vec::with_capacity(group.len());
    for ops in group {
        let outcome = conn
            .execute_batch("SAVEPOINT tx")
            .map_err(super::unavailable)
            .and_then(|_| apply(conn, ops, now));
        let closed = match outcome {
            Ok(()) => conn.execute_batch("RELEASE tx"),
            Err(_) => conn.execute_batch("ROLLBACK TO tx; RELEASE tx"),
        };
        results.push(match closed {
            Ok(()) => outcome,
            Err(e) => Err(super::unavailable(e)),
        });
    }
    if let Err(e) = conn.execute_batch("COMMIT") {
        let _ = conn.execute_batch("ROLLBACK");
        return results
            .iter()
            .map(|_| Err(super::unavailable(&e)))
            .collect();
    }
    results
}

fn apply(conn: &Connection, ops: &[WriteOp], now: i64) -> Result<(), StoreError> {
    for (index, op) in ops.iter().enumerate() {
        let table = op.table().as_str();
        // Puts check their condition in the statement that writes (one statement per item);
        // deletes and checks read the current version first.
        let done = match op {
            WriteOp::Put {
                item, condition, ..
            } => put(conn, table, item, *condition, now),
            WriteOp::Delete { key, condition, .. } | WriteOp::Check { key, condition, .. } => {
                let current: Option<(i64, Option<i64>)> = conn
                    .prepare_cached(
                        "SELECT v, expires_at FROM items WHERE tbl = ?1 AND pk = ?2 AND sk = ?3",
                    )
                    .and_then(|mut s| {
                        s.query_row(params![table, key.pk, key.sk], |r| {
                            Ok((r.get(0)?, r.get(1)?))
                        })
                        .optional()
                    })
                    .map_err(super::unavailable)?;
                let live_version = current
                    .filter(|(_, expires)| expires.is_none_or(|t| t > now))
                    .map(|(v, _)| v as u64);
                let holds = match condition {
                    Condition::Always => true,
                    Condition::NotExists => live_version.is_none(),
                    Condition::Exists => live_version.is_some(),
                    Condition::VersionIs(v) => live_version == Some(*v),
                };
                if holds && matches!(op, WriteOp::Delete { .. }) {
                    conn.prepare_cached("DELETE FROM items WHERE tbl = ?1 AND pk = ?2 AND sk = ?3")
                        .and_then(|mut s| s.execute(params![table, key.pk, key.sk]))
                        .map(|_| true)
                } else {
                    Ok(holds)
                }
            }
        };
        if !done.map_err(super::unavailable)? {
            return Err(StoreError::ConditionFailed { index });
        }
    }
    Ok(())
}

/// The statements that write an item, each checking its condition as it writes: parameters
/// ?1..?3 the key, ?4 the version, ?5 the data, ?6..?13 the index keys, ?14 the expiry, ?15 now,
/// ?16 the expected version.
struct PutStatements {
    /// Inserts, or replaces a dead (expired) item.
    create: String,
    /// Inserts or replaces whatever is there.
    overwrite: String,
    /// Replaces a live item.
    replace_live: String,
    /// Replaces a live item of the expected version.
    replace_version: String,
}

fn put_statements() -> &'static PutStatements {
    static STATEMENTS: std::sync::OnceLock<PutStatements> = std::sync::OnceLock::new();
    STATEMENTS.get_or_init(|| {
        let columns = COLUMNS.strip_prefix("pk, sk, ").expect("COLUMNS starts with the key");
        let assignments: Vec<String> = columns
            .split(", ")
            .enumerate()
            .map(|(n, c)| format!("{c} = ?{}", n + 4))
            .collect();
        let upserted: Vec<String> = columns.split(", ").map(|c| format!("{c} = excluded.{c}")).collect();
        let insert = format!(
            "INSERT INTO items (tbl, pk, sk, {columns}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) \
             ON CONFLICT(tbl, pk, sk) DO UPDATE SET {}",
            upserted.join(", ")
        );
        let update = format!(
            "UPDATE items SET {} WHERE tbl = ?1 AND pk = ?2 AND sk = ?3 AND (expires_at IS NULL OR expires_at > ?15)",
            assignments.join(", ")
        );
        PutStatements {
            create: format!("{insert} WHERE items.expires_at IS NOT NULL AND items.expires_at <= ?15"),
            overwrite: insert,
            replace_version: format!("{update} AND v = ?16"),
            replace_live: update,
        }
    })
}

/// Writes `item` if `condition` holds; returns whether it did.
fn put(
    conn: &Connection,
    table: &str,
    item: &Item,
    condition: Condition,
    now: i64,
) -> rusqlite::Result<bool> {
    let statements = put_statements();
    let (sql, extra): (&str, &[i64]) = match condition {
        Condition::Always => (&statements.overwrite, &[]),
        Condition::NotExists => (&statements.create, &[now]),
        Condition::Exists => (&statements.replace_live, &[now]),
        Condition::VersionIs(v) => (&statements.replace_version, &[now, v as i64]),
    };
    let mut stmt = conn.prepare_cached(sql)?;
    let index = |i: Index| item.indexes.get(&i);
    let version = item.version as i64;
    let mut args: Vec<&dyn rusqlite::ToSql> =
        vec![&table, &item.key.pk, &item.key.sk, &version, &item.data];
    for i in Index::ALL {
        args.push(match index(i) {
            Some(k) => &k.pk,
            None => &rusqlite::types::Null,
        });
        args.push(match index(i) {
            Some(k) => &k.sk,
            None => &rusqlite::types::Null,
        });
    }
    args.push(&item.expires_at);
    args.extend(extra.iter().map(|x| x as &dyn rusqlite::ToSql));
    Ok(stmt.execute(params_from_iter(args))? == 1)
}
