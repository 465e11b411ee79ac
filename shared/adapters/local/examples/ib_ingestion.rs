//! Benchmark: IB deal ingestion into the embedded store against the store writing the very same
//! items directly, side by side in one run (`bash bench/ib-ingestion.sh`, numbers in
//! docs/PERFORMANCE.md).
//!
//! Each round: a fresh SQLite store (full durability, as `brokeros serve` runs) gets a
//! simulated platform's deal history (untimed set-up: accounts trading with
//! `generate_trading`); then ingestion runs batch after batch until it has caught up, a store
//! decorator recording every transaction it commits; then a second fresh store commits the
//! recorded transactions one after the other (the ceiling: the same items in the same
//! transactions, with no reads and no decisions). Deals per second for both, their ratio, and
//! what one batch writes: one transaction (one DynamoDB `TransactWriteItems`), its items, and
//! the write capacity units DynamoDB would charge for them (2 per KB of each item,
//! transactional).
//!
//! The accrual step will add its items to each batch's changeset where marked below; the
//! ceiling replays whatever the batches committed, so it follows without change.
//!
//! Usage: `ib_ingestion [steps per account] [accounts] [batch size] [rounds]`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use brokeros_ib::deals::{self, CHANGES_PER_BATCH};
use brokeros_kernel::Core;
use brokeros_kernel::changeset::Committed;
use brokeros_local::{SIMULATED_SERVER, SimulatedPlatform};
use brokeros_store::{Item, Key, Page, Query, Store, StoreError, Table, WriteOp};
use brokeros_store_sqlite::SqliteStore;
use brokeros_trading::{
    BalanceOperation, BalanceOperationKind, Decimal, NewAccount, TradingPlatform,
};

/// 2026-03-02 12:00:00 UTC.
const START_MSC: i64 = 1_772_452_800_000;

/// Records the transactions it commits.
struct Recording {
    inner: Arc<dyn Store>,
    committed: Mutex<Vec<Vec<WriteOp>>>,
}

#[async_trait]
impl Store for Recording {
    async fn get(&self, table: Table, key: &Key) -> Result<Option<Item>, StoreError> {
        self.inner.get(table, key).await
    }

    async fn get_many(&self, table: Table, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        self.inner.get_many(table, keys).await
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        self.inner.transact(ops.clone()).await?;
        self.committed.lock().unwrap().push(ops);
        Ok(())
    }

    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        self.inner.query(query).await
    }

    async fn count_items(&self, table: Table) -> Result<u64, StoreError> {
        self.inner.count_items(table).await
    }
}

fn fresh_store(dir: &tempfile::TempDir, name: &str) -> Arc<dyn Store> {
    Arc::new(SqliteStore::open(&dir.path().join(name)).expect("opening the store"))
}

/// Accounts trading on the platform; returns how many changes the history holds.
async fn trade(platform: &SimulatedPlatform, accounts: u32, steps: u32) -> usize {
    let mut changes = 0;
    for n in 0..accounts {
        let account = platform
            .create_account(NewAccount {
                request_id: format!("bench-{n}"),
                client_id: format!("client_{n}"),
                group: "real\\retail-usd".into(),
                leverage: 100,
                currency: ["USD", "EUR", "GBP"][n as usize % 3].into(),
                name: "Bench Trader".into(),
            })
            .await
            .expect("account");
        platform
            .balance_operation(BalanceOperation {
                login: account.login,
                operation_id: format!("bench-deposit-{n}"),
                kind: BalanceOperationKind::Deposit,
                amount: Decimal::from(100_000),
                comment: String::new(),
            })
            .await
            .expect("deposit");
        changes += 1 + platform
            .generate_trading(account.login, steps, u64::from(n), START_MSC)
            .await
            .expect("trading")
            .len();
    }
    changes
}

/// The write capacity units DynamoDB charges for a transactional put of `op`: 2 per started
/// KB of the item (its keys, index keys and payload, approximately).
fn write_units(op: &WriteOp) -> u64 {
    let bytes = match op {
        WriteOp::Put { item, .. } => {
            item.key.pk.len()
                + item.key.sk.len()
                + item.data.len()
                + item
                    .indexes
                    .values()
                    .map(|i| i.pk.len() + i.sk.len())
                    .sum::<usize>()
                + 40
        }
        other => other.key().pk.len() + other.key().sk.len(),
    };
    2 * (bytes as u64).div_ceil(1024)
}

struct Round {
    changes: usize,
    batches: usize,
    items: usize,
    write_units: u64,
    ingestion: Duration,
    direct: Duration,
}

async fn round(steps: u32, accounts: u32, batch: u32) -> Round {
    let dir = tempfile::Builder::new()
        .prefix("brokeros-ib-bench-")
        .tempdir()
        .expect("temporary directory");
    let store = fresh_store(&dir, "ingestion.sqlite3");
    let platform = SimulatedPlatform::new(store.clone());
    let changes = trade(&platform, accounts, steps).await;

    let recording = Arc::new(Recording {
        inner: store.clone(),
        committed: Mutex::new(Vec::new()),
    });
    let core = Core::new(recording.clone());
    let started = Instant::now();
    loop {
        let Some(staged) = deals::stage_next_batch(&core, &platform, SIMULATED_SERVER, batch)
            .await
            .expect("staging a batch")
        else {
            break;
        };
        // The accrual step adds its items to `staged.changes` here.
        match core.commit(staged.changes).await.expect("committing") {
            Committed::Applied => {}
            Committed::Raced => panic!("a lone ingester cannot lose a race"),
        }
    }
    let ingestion = started.elapsed();
    let committed = recording.committed.lock().unwrap().clone();

    let direct_store = fresh_store(&dir, "direct.sqlite3");
    let started = Instant::now();
    for ops in committed.iter().cloned() {
        direct_store.transact(ops).await.expect("direct write");
    }
    let direct = started.elapsed();

    Round {
        changes,
        batches: committed.len(),
        items: committed.iter().map(Vec::len).sum(),
        write_units: committed.iter().flatten().map(write_units).sum(),
        ingestion,
        direct,
    }
}

fn arg(n: usize, default: u32) -> u32 {
    std::env::args()
        .nth(n)
        .map(|a| a.parse().expect("a number"))
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let steps = arg(1, 2_000);
    let accounts = arg(2, 5);
    let batch = arg(3, CHANGES_PER_BATCH);
    let rounds = arg(4, 3);
    println!(
        "IB deal ingestion vs direct store writes: {accounts} accounts x {steps} trading steps, batches of {batch} changes, SQLite full durability"
    );
    println!(
        "round | changes | batches | items/batch | WCU/batch | ingestion deals/s | direct deals/s | ratio"
    );
    for n in 1..=rounds {
        let r = round(steps, accounts, batch).await;
        // Integer arithmetic throughout: tenths, and whole deals per second.
        let tenths =
            |total: u128, per: u128| format!("{}.{}", total * 10 / per / 10, total * 10 / per % 10);
        let per_second = |d: Duration| r.changes as u128 * 1_000_000 / d.as_micros().max(1);
        println!(
            "{n} | {} | {} | {} | {} | {} | {} | {} %",
            r.changes,
            r.batches,
            tenths(r.items as u128, r.batches as u128),
            tenths(u128::from(r.write_units), r.batches as u128),
            per_second(r.ingestion),
            per_second(r.direct),
            tenths(100 * r.direct.as_micros(), r.ingestion.as_micros().max(1)),
        );
    }
}
