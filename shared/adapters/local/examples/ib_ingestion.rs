//! Benchmark: IB deal ingestion and accrual into the embedded store, as the live path runs it,
//! against the store writing the very same items directly, side by side in one run
//! (`bash bench/ib-ingestion.sh`, numbers in docs/PERFORMANCE.md).
//!
//! Each round, on a fresh SQLite store (full durability, as `brokeros serve` runs), an untimed
//! set-up through the use cases: a commission plan (rules per symbol group, four levels, a
//! minimum hold time, hedges excluded, a rebate and a CPA), a tree of IBs four levels deep paid
//! in USD, EUR and GBP, and clients onboarded through the onboarding workflow on the local
//! engine (their trading accounts opened on the simulated platform), each assigned to an IB,
//! funded and trading with `generate_trading` in interleaved stretches, so that the feed mixes
//! the clients as a real server's does. Deals come after the plan's effective time (a plan is
//! never backdated).
//!
//! Timed: `accrue_servers` — the entry point of the `commission-accrual` Lambda and of
//! `brokeros serve` — until the feed has caught up: each batch of deal changes ingested and
//! accrued (legs explained, priced with the simulated FX feed, the clients' books kept) in one
//! transaction, through a store decorator that counts the requests (a few additions each).
//! The transactions themselves are recorded from a second, untimed run over a copy of the store
//! as set up (the same feed, tree and books: the same writes), so that the timed run copies
//! nothing; then a fresh store commits the recorded transactions one after the other (the
//! ceiling: the same items in the same transactions, with no reads and no decisions).
//!
//! Reported: deals and legs per second for both and their ratio, and per batch the
//! transactions (DynamoDB `TransactWriteItems` requests), their items, the write capacity
//! units DynamoDB would charge (2 per started KB of each item, transactional), and the reads
//! (`GetItem`, `BatchGetItem` and `Query` requests, and the items the queries returned).
//!
//! Usage: `ib_ingestion [trading steps per client] [clients] [rounds]`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use brokeros_app::Services;
use brokeros_app::config::BrokerConfig;
use brokeros_ib::accruals;
use brokeros_kernel::principal::{Principal, Role};
use brokeros_local::{SimulatedFxRates, SimulatedPlatform, local_engine};
use brokeros_sfn::Engine;
use brokeros_store::{Item, Key, Page, Query, Store, StoreError, Table, WriteOp};
use brokeros_store_sqlite::SqliteStore;
use brokeros_trading::{BalanceOperation, BalanceOperationKind, Decimal, TradingPlatform};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Steps each account trades before the next account's turn: the feed interleaves clients.
const STEPS_PER_STRETCH: u32 = 25;
/// IBs under each IB, level by level from the masters down: 2 masters, 4, 8, 8 (four levels,
/// as many as the plan pays).
const TREE_FANOUT: [usize; 4] = [2, 2, 2, 1];
/// The batches one `accrue_servers` pass writes, as the Lambda and `brokeros serve` run it.
const BATCHES_PER_PASS: u32 = 20;

/// What the decorated store did while counting.
#[derive(Default)]
struct Counts {
    gets: AtomicU64,
    batch_gets: AtomicU64,
    batch_get_keys: AtomicU64,
    queries: AtomicU64,
    queried_items: AtomicU64,
    transactions: AtomicU64,
    items: AtomicU64,
    write_units: AtomicU64,
}

/// Counts the requests it serves while `on` (reads, transactions, their items and write
/// units, at the cost of a few additions); also records the transactions it commits when
/// `recording` (a copy of each: kept out of the timed run).
struct Counting {
    inner: Arc<dyn Store>,
    on: AtomicBool,
    recording: bool,
    committed: Mutex<Vec<Vec<WriteOp>>>,
    counts: Counts,
}

impl Counting {
    fn new(inner: Arc<dyn Store>, recording: bool) -> Arc<Counting> {
        Arc::new(Counting {
            inner,
            on: AtomicBool::new(false),
            recording,
            committed: Mutex::new(Vec::new()),
            counts: Counts::default(),
        })
    }

    fn counting(&self) -> bool {
        self.on.load(Ordering::Relaxed)
    }
}

#[async_trait]
impl Store for Counting {
    async fn get(&self, table: Table, key: &Key) -> Result<Option<Item>, StoreError> {
        if self.counting() {
            self.counts.gets.fetch_add(1, Ordering::Relaxed);
        }
        self.inner.get(table, key).await
    }

    async fn get_many(&self, table: Table, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        if self.counting() {
            self.counts.batch_gets.fetch_add(1, Ordering::Relaxed);
            let keys = keys.len() as u64;
            self.counts
                .batch_get_keys
                .fetch_add(keys, Ordering::Relaxed);
        }
        self.inner.get_many(table, keys).await
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        if !self.counting() {
            return self.inner.transact(ops).await;
        }
        let (items, units) = (ops.len() as u64, ops.iter().map(write_units).sum::<u64>());
        if self.recording {
            self.inner.transact(ops.clone()).await?;
            self.committed.lock().unwrap().push(ops);
        } else {
            self.inner.transact(ops).await?;
        }
        self.counts.transactions.fetch_add(1, Ordering::Relaxed);
        self.counts.items.fetch_add(items, Ordering::Relaxed);
        self.counts.write_units.fetch_add(units, Ordering::Relaxed);
        Ok(())
    }

    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        let page = self.inner.query(query).await?;
        if self.counting() {
            self.counts.queries.fetch_add(1, Ordering::Relaxed);
            let items = page.items.len() as u64;
            self.counts
                .queried_items
                .fetch_add(items, Ordering::Relaxed);
        }
        Ok(page)
    }

    async fn count_items(&self, table: Table) -> Result<u64, StoreError> {
        self.inner.count_items(table).await
    }
}

fn fresh_store(dir: &tempfile::TempDir, name: &str) -> Arc<dyn Store> {
    Arc::new(SqliteStore::open(&dir.path().join(name)).expect("opening the store"))
}

fn person(sub: &str, role: Role) -> Principal {
    Principal {
        sub: sub.into(),
        roles: [role].into(),
    }
}

fn body<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("a well-formed request")
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).expect("formats")
}

/// The plan every IB's agreement names: stored through the use case, in force from `from`.
async fn store_plan(services: &Services, from: OffsetDateTime) {
    let document = json!({
        "id": "bench", "version": 1, "effective_from": rfc3339(from),
        "currency": "USD", "period": "daily", "earn_on": "close",
        "min_lots": "0.02", "min_hold_seconds": 60, "exclude_hedged": true,
        "rules": [
            { "id": "majors", "priority": 10, "match": { "symbol_groups": ["majors"] },
              "earns": { "per_lot": "8.00" } },
            { "id": "metals", "priority": 10, "match": { "symbol_groups": ["metals"] },
              "earns": { "spread_share": "30" } },
            { "id": "other", "priority": 0, "match": {}, "earns": { "commission_share": "25" } }
        ],
        "levels": { "mode": "fixed", "percents": ["50", "25", "15", "10"], "cap_per_deal": "40.00" },
        "rebate": { "percent": "10" },
        "cpa": { "min_first_deposit": "200", "min_lots": "5", "within_days": 30, "amount": "150" }
    });
    brokeros_ib::plans::put_plan_version(
        &services.ib,
        &person("pm-bench", Role::Partners),
        document,
        None,
        "bench",
    )
    .await
    .expect("the plan");
}

/// The IB tree, through applications and their approval; returns the IBs, masters first.
async fn build_tree(services: &Services) -> Vec<String> {
    let pm = person("pm-bench", Role::Partners);
    let mut ibs = Vec::new();
    let mut parents: Vec<Option<String>> = vec![None];
    for (depth, fanout) in TREE_FANOUT.iter().enumerate() {
        let mut level = Vec::new();
        for parent in &parents {
            for _ in 0..*fanout {
                let n = ibs.len() + level.len();
                let currency = ["USD", "EUR", "GBP"][n % 3];
                let application = brokeros_ib::partners::apply(
                    &services.ib,
                    &pm,
                    body(json!({
                        "name": format!("IB {n} (level {depth})"),
                        "payout_currency": currency,
                        "parent_ib_id": parent,
                    })),
                    None,
                    "bench",
                )
                .await
                .expect("an application");
                let id = application.body["id"].as_str().unwrap().to_string();
                let ib = brokeros_ib::partners::approve(
                    &services.ib,
                    &pm,
                    &id,
                    body(json!({ "plans": ["bench"], "referral_codes": [] })),
                    None,
                    "bench",
                )
                .await
                .expect("an approval");
                level.push(ib.body["id"].as_str().unwrap().to_string());
            }
        }
        ibs.extend(level.iter().cloned());
        parents = level.into_iter().map(Some).collect();
    }
    ibs
}

/// A client registered, onboarded through the workflow (KYC clear, account opened) and
/// assigned to `ib`; returns its login.
async fn onboarded_client(services: &Services, engine: &Engine, n: usize, ib: &str) -> u64 {
    let sales = person("sales-1", Role::Sales);
    let client = brokeros_onboarding::clients::register(
        &services.onboarding,
        &sales,
        body(json!({
            "first_name": "Bench",
            "last_name": format!("Trader{n}"),
            "email": format!("trader{n}@example.com"),
            "country": "DE",
            "profile": {
                "client_type": "individual",
                "date_of_birth": "1990-01-15",
                "nationality": "DE",
                "residence_country": "DE",
                "source_of_funds": "salary",
                "pep_declared": false
            }
        })),
        None,
        "bench",
    )
    .await
    .expect("a registration");
    let id = client.body["id"].as_str().unwrap().to_string();
    for document in [
        json!({ "type": "passport", "issuing_country": "DE", "number": format!("C01X{n:05}") }),
        json!({ "type": "proof_of_address", "issuing_country": "DE", "number": "POA-2026-0001" }),
    ] {
        brokeros_onboarding::clients::add_document(
            &services.onboarding,
            &sales,
            &id,
            body(document),
            None,
            "bench",
        )
        .await
        .expect("a document");
    }
    let started = brokeros_onboarding::start(
        &services.onboarding,
        &sales,
        &id,
        body(json!({ "product": "forex" })),
        None,
        "bench",
    )
    .await
    .expect("onboarding started");
    let arn = started.body["execution_arn"].as_str().unwrap();
    let done = tokio::time::timeout(Duration::from_secs(60), engine.wait_for_completion(arn))
        .await
        .expect("onboarding finishes within a minute")
        .expect("the execution");
    let login = done
        .output
        .as_ref()
        .and_then(|o| o["account"]["login"].as_u64());
    let login = login.unwrap_or_else(|| panic!("onboarding opened no account: {done:?}"));
    brokeros_ib::attribution::assign(
        &services.ib,
        &person("pm-bench", Role::Partners),
        &id,
        body(json!({ "ib_id": ib })),
        None,
        "bench",
    )
    .await
    .expect("the client assigned");
    login
}

/// The logins trade from `start_msc` on, `steps` steps each, in stretches taken in turn;
/// returns how many changes the history holds.
async fn trade(platform: &SimulatedPlatform, logins: &[u64], steps: u32, start_msc: i64) -> usize {
    let mut changes = 0;
    let mut clock: Vec<i64> = vec![start_msc; logins.len()];
    for (n, login) in logins.iter().enumerate() {
        platform
            .balance_operation(BalanceOperation {
                login: *login,
                operation_id: format!("bench-deposit-{n}"),
                kind: BalanceOperationKind::Deposit,
                amount: Decimal::from(100_000),
                comment: String::new(),
            })
            .await
            .expect("deposit");
        changes += 1;
    }
    let mut done = 0;
    while done < steps {
        let stretch = STEPS_PER_STRETCH.min(steps - done);
        for (n, login) in logins.iter().enumerate() {
            let seed = (n as u64) << 32 | u64::from(done);
            let booked = platform
                .generate_trading(*login, stretch, seed, clock[n])
                .await
                .expect("trading");
            let last = booked.iter().map(|c| c.deal.time_msc).max();
            clock[n] = last.unwrap_or(clock[n]) + 60_000;
            changes += booked.len();
        }
        done += stretch;
    }
    changes
}

/// The write capacity units DynamoDB charges for a transactional write of `op`: 2 per started
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
    legs: u64,
    batches: u64,
    transactions: usize,
    items: usize,
    write_units: u64,
    gets: u64,
    batch_gets: u64,
    batch_get_keys: u64,
    queries: u64,
    queried_items: u64,
    accrual: Duration,
    direct: Duration,
}

/// Copies the SQLite database `from` (its file and its write-ahead log, every commit of which
/// is synced) to `to`, while nothing writes: the copy opens as the same store.
fn copy_store(dir: &tempfile::TempDir, from: &str, to: &str) {
    for suffix in ["", "-wal"] {
        let source = dir.path().join(format!("{from}{suffix}"));
        if source.exists() {
            std::fs::copy(&source, dir.path().join(format!("{to}{suffix}"))).expect("a copy");
        }
    }
}

/// What an accrual run did.
struct Run {
    batches: u64,
    legs: u64,
    changes: usize,
    quarantined: u64,
    took: Duration,
}

/// Ingests and accrues `platform`'s feed as the live path does (`accrue_servers` passes) until
/// it has caught up, `store` counting.
async fn accrue_all(
    services: &brokeros_ib::Services,
    platform: &SimulatedPlatform,
    store: &Counting,
) -> Run {
    let fx = SimulatedFxRates::new();
    store.on.store(true, Ordering::SeqCst);
    let started = Instant::now();
    let mut run = Run {
        batches: 0,
        legs: 0,
        changes: 0,
        quarantined: 0,
        took: Duration::ZERO,
    };
    loop {
        let pass = accruals::accrue_servers(services, platform, &fx, BATCHES_PER_PASS)
            .await
            .expect("an accrual pass");
        assert_eq!(pass.raced, 0, "a lone run cannot lose a race");
        if pass.batches == 0 {
            break;
        }
        run.batches += u64::from(pass.batches);
        run.legs += u64::from(pass.legs);
        run.changes += pass.changes as usize;
        run.quarantined += u64::from(pass.quarantined);
    }
    run.took = started.elapsed();
    store.on.store(false, Ordering::SeqCst);
    run
}

async fn round(steps: u32, accounts: u32) -> Round {
    let dir = tempfile::Builder::new()
        .prefix("brokeros-ib-bench-")
        .tempdir()
        .expect("temporary directory");
    let store = fresh_store(&dir, "accrual.sqlite3");
    let counting = Counting::new(store.clone(), false);
    // The platform keeps its own records in the same file, not through the counter: its
    // reads and writes are the platform's, not Broker OS's.
    let platform = Arc::new(SimulatedPlatform::new(store.clone()));
    let base = brokeros_local::services(counting.clone(), BrokerConfig::embedded_default())
        .with_trading(platform.clone());
    let (engine, services) = local_engine(base).expect("the workflow definitions load");
    engine.resume().await.expect("the engine resumes");

    let plan_from = OffsetDateTime::now_utc() + time::Duration::seconds(5);
    store_plan(&services, plan_from).await;
    let ibs = build_tree(&services).await;
    let mut logins = Vec::new();
    for n in 0..accounts as usize {
        // Every IB has clients, the deepest ones (whose deals pay all four levels) most.
        let ib = &ibs[ibs.len() - 1 - n % ibs.len()];
        logins.push(onboarded_client(&services, &engine, n, ib).await);
    }
    let first_deal = brokeros_ib::millis(plan_from) + 60_000;
    let changes = trade(&platform, &logins, steps, first_deal).await;

    // The transactions the ceiling commits are recorded from a second, identical run on a copy
    // of the store as set up (the same feed, books and tree), so that the timed run copies
    // nothing.
    copy_store(&dir, "accrual.sqlite3", "recorded.sqlite3");
    let timed = accrue_all(&services.ib, &platform, &counting).await;
    assert_eq!(
        timed.changes, changes,
        "every change of the history applied once"
    );
    assert!(timed.legs > 0, "the deals earned");
    assert_eq!(timed.quarantined, 0, "no deal of the simulator is refused");

    let copy = fresh_store(&dir, "recorded.sqlite3");
    let recording = Counting::new(copy.clone(), true);
    let copy_platform = SimulatedPlatform::new(copy);
    let copy_services =
        brokeros_local::services(recording.clone(), BrokerConfig::embedded_default());
    let recorded = accrue_all(&copy_services.ib, &copy_platform, &recording).await;
    let committed = recording.committed.lock().unwrap().clone();
    assert_eq!(
        (recorded.legs, committed.len() as u64),
        (
            timed.legs,
            counting.counts.transactions.load(Ordering::SeqCst)
        ),
        "the recorded run wrote what the timed one did"
    );

    let direct_store = fresh_store(&dir, "direct.sqlite3");
    let started = Instant::now();
    for ops in committed.into_iter() {
        direct_store.transact(ops).await.expect("direct write");
    }
    let direct = started.elapsed();

    let counts = &counting.counts;
    let count = |c: &AtomicU64| c.load(Ordering::SeqCst);
    Round {
        changes,
        legs: timed.legs,
        batches: timed.batches,
        transactions: count(&counts.transactions) as usize,
        items: count(&counts.items) as usize,
        write_units: count(&counts.write_units),
        gets: count(&counts.gets),
        batch_gets: count(&counts.batch_gets),
        batch_get_keys: count(&counts.batch_get_keys),
        queries: count(&counts.queries),
        queried_items: count(&counts.queried_items),
        accrual: timed.took,
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
    let steps = arg(1, 600);
    let accounts = arg(2, 20);
    let rounds = arg(3, 3);
    println!(
        "IB deal ingestion + accrual vs direct store writes: {accounts} clients x {steps} trading steps, SQLite full durability"
    );
    println!(
        "round | changes | legs | batches | tx/batch | items/batch | WCU/batch | GetItem/batch | BatchGetItem (keys)/batch | Query (items)/batch | accrual deals/s, legs/s | direct deals/s, legs/s | ratio"
    );
    for n in 1..=rounds {
        let r = round(steps, accounts).await;
        // Integer arithmetic throughout: tenths, and whole deals per second.
        let tenths =
            |total: u128, per: u128| format!("{}.{}", total * 10 / per / 10, total * 10 / per % 10);
        let per_batch = |total: u64| tenths(u128::from(total), u128::from(r.batches.max(1)));
        let rate = |count: u128, d: Duration| count * 1_000_000 / d.as_micros().max(1);
        println!(
            "{n} | {} | {} | {} | {} | {} | {} | {} | {} ({}) | {} ({}) | {}, {} | {}, {} | {} %",
            r.changes,
            r.legs,
            r.batches,
            per_batch(r.transactions as u64),
            per_batch(r.items as u64),
            per_batch(r.write_units),
            per_batch(r.gets),
            per_batch(r.batch_gets),
            per_batch(r.batch_get_keys),
            per_batch(r.queries),
            per_batch(r.queried_items),
            rate(r.changes as u128, r.accrual),
            rate(u128::from(r.legs), r.accrual),
            rate(r.changes as u128, r.direct),
            rate(u128::from(r.legs), r.direct),
            tenths(100 * r.direct.as_micros(), r.accrual.as_micros().max(1)),
        );
    }
}
