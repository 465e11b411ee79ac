//! The storage port. Engines (embedded SQLite, DynamoDB) implement [`Store`] with one and the
//! same behaviour, which the contract suite in `tests/` checks against both.
//!
//! The model is DynamoDB's: items addressed by a partition key and a sort key, a version number
//! for optimistic concurrency, up to four secondary indexes (each a partition and sort key),
//! and an opaque JSON payload. Engines keep data as they receive it and never interpret it.

mod cursor;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

use std::collections::BTreeMap;

use async_trait::async_trait;

pub use cursor::Cursor;

/// The two tables: brokerage entities, and audit events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    Main,
    Audit,
}

impl Table {
    pub const ALL: [Table; 2] = [Table::Main, Table::Audit];

    pub fn as_str(self) -> &'static str {
        match self {
            Table::Main => "main",
            Table::Audit => "audit",
        }
    }

    /// The secondary indexes the table has; items of a table carry keys of these only.
    pub fn indexes(self) -> &'static [Index] {
        match self {
            Table::Main => &Index::ALL,
            Table::Audit => &[Index::Gsi1],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Index {
    Gsi1,
    Gsi2,
    Gsi3,
    Gsi4,
}

impl Index {
    pub const ALL: [Index; 4] = [Index::Gsi1, Index::Gsi2, Index::Gsi3, Index::Gsi4];

    /// Also the DynamoDB index name; its key attributes are `<name>pk` and `<name>sk`.
    pub fn name(self) -> &'static str {
        match self {
            Index::Gsi1 => "gsi1",
            Index::Gsi2 => "gsi2",
            Index::Gsi3 => "gsi3",
            Index::Gsi4 => "gsi4",
        }
    }

    pub fn from_name(name: &str) -> Option<Index> {
        Index::ALL.into_iter().find(|i| i.name() == name)
    }
}

/// The largest payload an item may hold: DynamoDB's 400 KB item limit, less room for keys.
pub const MAX_ITEM_DATA_BYTES: usize = 350 * 1024;
/// The most operations one transaction may hold (DynamoDB's TransactWriteItems limit).
pub const MAX_TRANSACTION_OPS: usize = 100;
/// The most payload bytes one transaction may write (DynamoDB refuses more than 4 MB).
pub const MAX_TRANSACTION_BYTES: usize = 4 * 1024 * 1024 - 64 * 1024;
/// The most keys one `get_many` takes (DynamoDB's BatchGetItem limit).
pub const MAX_GET_MANY_KEYS: usize = 100;
/// DynamoDB's key size limits, for table and index keys alike.
pub const MAX_PARTITION_KEY_BYTES: usize = 2048;
pub const MAX_SORT_KEY_BYTES: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Key {
        Key {
            pk: pk.into(),
            sk: sk.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexKey {
    pub pk: String,
    pub sk: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub key: Key,
    /// 1 when created; each successful conditional update sets the caller's next version.
    pub version: u64,
    /// An opaque payload (JSON by convention).
    pub data: String,
    pub indexes: BTreeMap<Index, IndexKey>,
    /// Unix seconds after which the item is dead: engines hide it from reads, and DynamoDB's
    /// TTL deletes it later. A dead item does not block `Condition::NotExists`.
    pub expires_at: Option<i64>,
}

impl Item {
    pub fn new(key: Key, version: u64, data: impl Into<String>) -> Item {
        Item {
            key,
            version,
            data: data.into(),
            indexes: BTreeMap::new(),
            expires_at: None,
        }
    }

    pub fn with_index(
        mut self,
        index: Index,
        pk: impl Into<String>,
        sk: impl Into<String>,
    ) -> Item {
        self.indexes.insert(
            index,
            IndexKey {
                pk: pk.into(),
                sk: sk.into(),
            },
        );
        self
    }

    pub fn expiring_at(mut self, unix_seconds: i64) -> Item {
        self.expires_at = Some(unix_seconds);
        self
    }

    pub fn is_live(&self, now_unix: i64) -> bool {
        self.expires_at.is_none_or(|t| t > now_unix)
    }
}

/// What must hold for a write to happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// No condition.
    Always,
    /// No live item has this key (create-if-absent).
    NotExists,
    /// A live item has this key and this version (optimistic concurrency).
    VersionIs(u64),
    /// A live item has this key.
    Exists,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOp {
    Put {
        table: Table,
        item: Item,
        condition: Condition,
    },
    Delete {
        table: Table,
        key: Key,
        condition: Condition,
    },
    /// Writes nothing; the transaction fails unless the condition holds.
    Check {
        table: Table,
        key: Key,
        condition: Condition,
    },
}

impl WriteOp {
    pub fn table(&self) -> Table {
        match self {
            WriteOp::Put { table, .. }
            | WriteOp::Delete { table, .. }
            | WriteOp::Check { table, .. } => *table,
        }
    }

    pub fn key(&self) -> &Key {
        match self {
            WriteOp::Put { item, .. } => &item.key,
            WriteOp::Delete { key, .. } | WriteOp::Check { key, .. } => key,
        }
    }

    pub fn condition(&self) -> Condition {
        match self {
            WriteOp::Put { condition, .. }
            | WriteOp::Delete { condition, .. }
            | WriteOp::Check { condition, .. } => *condition,
        }
    }
}

/// Which sort keys a query returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortKeyRange {
    All,
    Prefix(String),
    /// Inclusive on both ends.
    Between(String, String),
}

impl SortKeyRange {
    pub fn contains(&self, sk: &str) -> bool {
        match self {
            SortKeyRange::All => true,
            SortKeyRange::Prefix(p) => sk.starts_with(p.as_str()),
            SortKeyRange::Between(a, b) => a.as_str() <= sk && sk <= b.as_str(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub table: Table,
    /// `None` queries the table's own keys.
    pub index: Option<Index>,
    pub pk: String,
    pub sk: SortKeyRange,
    /// 1..=1000 items per page.
    pub limit: u32,
    pub descending: bool,
    /// The `next` of a previous page of the very same query.
    pub cursor: Option<String>,
}

impl Query {
    pub fn new(table: Table, index: Option<Index>, pk: impl Into<String>) -> Query {
        Query {
            table,
            index,
            pk: pk.into(),
            sk: SortKeyRange::All,
            limit: 100,
            descending: false,
            cursor: None,
        }
    }

    pub fn sk(mut self, range: SortKeyRange) -> Query {
        self.sk = range;
        self
    }

    pub fn limit(mut self, limit: u32) -> Query {
        self.limit = limit;
        self
    }

    pub fn descending(mut self) -> Query {
        self.descending = true;
        self
    }

    pub fn after(mut self, cursor: Option<String>) -> Query {
        self.cursor = cursor;
        self
    }

    /// The sort key an item has in this query's index.
    pub fn sort_key_of<'a>(&self, item: &'a Item) -> Option<&'a str> {
        match self.index {
            None => Some(item.key.sk.as_str()),
            Some(i) => item.indexes.get(&i).map(|k| k.sk.as_str()),
        }
    }

    pub fn validate(&self) -> Result<(), StoreError> {
        if !(1..=1000).contains(&self.limit) {
            return Err(StoreError::Invalid("query limit must be 1 to 1000".into()));
        }
        if self.pk.is_empty() {
            return Err(StoreError::Invalid(
                "query partition key must not be empty".into(),
            ));
        }
        if let Some(index) = self.index
            && !self.table.indexes().contains(&index)
        {
            return Err(StoreError::Invalid(format!(
                "the {} table has no index {}",
                self.table.as_str(),
                index.name()
            )));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub items: Vec<Item>,
    /// Present when more items may follow; pass it back as [`Query::cursor`].
    pub next: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The condition of operation `index` of a transaction (0 for a single write) did not hold;
    /// nothing was written.
    #[error("condition failed on operation {index}")]
    ConditionFailed { index: usize },
    /// Another transaction touched the same items at the same moment; nothing was written and
    /// the caller may retry.
    #[error("transaction conflict")]
    TransactionConflict,
    #[error("invalid cursor")]
    InvalidCursor,
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("storage unavailable: {0}")]
    Unavailable(String),
}

/// Checks a transaction against the limits every engine enforces.
pub fn validate_transaction(ops: &[WriteOp]) -> Result<(), StoreError> {
    if ops.is_empty() || ops.len() > MAX_TRANSACTION_OPS {
        return Err(StoreError::Invalid(format!(
            "a transaction holds 1 to {MAX_TRANSACTION_OPS} operations"
        )));
    }
    let mut keys: Vec<(Table, &Key)> = ops.iter().map(|op| (op.table(), op.key())).collect();
    keys.sort();
    if keys.windows(2).any(|w| w[0] == w[1]) {
        return Err(StoreError::Invalid(
            "a transaction may touch each item once".into(),
        ));
    }
    let mut total_bytes = 0usize;
    for op in ops {
        check_key(&op.key().pk, &op.key().sk)?;
        if let WriteOp::Put { table, item, .. } = op {
            if item.data.len() > MAX_ITEM_DATA_BYTES {
                return Err(StoreError::Invalid(format!(
                    "item data exceeds {MAX_ITEM_DATA_BYTES} bytes"
                )));
            }
            total_bytes += item.data.len();
            for (index, key) in &item.indexes {
                if !table.indexes().contains(index) {
                    return Err(StoreError::Invalid(format!(
                        "the {} table has no index {}",
                        table.as_str(),
                        index.name()
                    )));
                }
                check_key(&key.pk, &key.sk)?;
            }
        }
    }
    if total_bytes > MAX_TRANSACTION_BYTES {
        return Err(StoreError::Invalid(format!(
            "a transaction writes at most {MAX_TRANSACTION_BYTES} bytes"
        )));
    }
    Ok(())
}

fn check_key(pk: &str, sk: &str) -> Result<(), StoreError> {
    if pk.is_empty() || sk.is_empty() {
        return Err(StoreError::Invalid("keys must not be empty".into()));
    }
    if pk.len() > MAX_PARTITION_KEY_BYTES || sk.len() > MAX_SORT_KEY_BYTES {
        return Err(StoreError::Invalid(format!(
            "keys are limited to {MAX_PARTITION_KEY_BYTES} bytes (partition) and {MAX_SORT_KEY_BYTES} bytes (sort)"
        )));
    }
    Ok(())
}

#[async_trait]
pub trait Store: Send + Sync {
    /// The live item with this key. Strongly consistent: it sees every transaction committed
    /// before the call (on DynamoDB a `GetItem` with `ConsistentRead`), so decisions read the
    /// items they rest on by key.
    async fn get(&self, table: Table, key: &Key) -> Result<Option<Item>, StoreError>;

    /// Several live items at once, in the order of `keys` (at most [`MAX_GET_MANY_KEYS`]);
    /// strongly consistent like [`Store::get`].
    async fn get_many(&self, table: Table, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError>;

    /// Applies every operation or none, as one request to the engine.
    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError>;

    /// One page of the live items with partition key `pk` in the table or one of its indexes,
    /// ordered by sort key (ties in an index broken by the table keys). A query of the table's
    /// own keys is strongly consistent; a query of a secondary index is not: on DynamoDB it may
    /// miss writes of the last moments (or show an item's previous version), so no decision
    /// may rest on it: an index serves listings and work queues, a keyed item answers "does it
    /// exist" and "which is the latest" (`testing::LaggingIndexes`, feature `testing`, makes tests
    /// see the lag).
    async fn query(&self, query: Query) -> Result<Page, StoreError>;

    /// How many live items `query` would return over all its pages (its limit, order and
    /// cursor are ignored), as consistent as [`Store::query`]. The engines count without
    /// returning the items: SQLite one `COUNT(*)` on the table's or the index's key columns,
    /// DynamoDB `Select=COUNT` page by page (each page still reads up to 1 MB of the index and
    /// is billed as such: the cost grows with the items counted, the answer does not). This
    /// default reads every page, for stores that wrap another.
    async fn count(&self, query: Query) -> Result<u64, StoreError> {
        let mut query = query.limit(1000).after(None);
        let mut total = 0u64;
        loop {
            let page = self.query(query.clone()).await?;
            total += page.items.len() as u64;
            match page.next {
                Some(next) => query = query.after(Some(next)),
                None => return Ok(total),
            }
        }
    }

    /// How many items a table holds, live or not. For tests and operators only: it reads the
    /// whole table, so no request path calls it.
    async fn count_items(&self, table: Table) -> Result<u64, StoreError>;
}

/// Seconds since the Unix epoch, as engines compare `expires_at`.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
