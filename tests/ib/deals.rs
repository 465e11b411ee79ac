//! Deal ingestion (`brokeros_ib::deals`) from the simulated platform's deal history: exactly
//! once by `(server, deal, revision)` across repeated and concurrent runs, a crash between
//! pages, corrections and cancellations, malformed deals recorded as rejected, and what a
//! batch writes.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use async_trait::async_trait;
use brokeros_ib::deals::{
    self, BatchOutcome, CHANGES_PER_BATCH, DealFeed, IngestedDeal, MAX_CHANGES_PER_BATCH,
};
use brokeros_kernel::Core;
use brokeros_kernel::changeset::Committed;
use brokeros_local::{DealCorrection, SIMULATED_SERVER, SimulatedPlatform};
use brokeros_store::{Item, Key, Page, Query, Store, StoreError, Table, WriteOp};
use brokeros_tests::RecordingStore;
use brokeros_trading::{
    AccountState, BalanceOperation, BalanceOperationKind, DealChange, DealChangeKind,
    DealChangesPage, DealCursor, DealScope, DealSide, DealsPage, Decimal, Fill, MarketOrder,
    NewAccount, OperationReceipt, SymbolSpec, TradingAccount, TradingError, TradingPlatform,
};

/// 2026-03-02 12:00:00 UTC.
const NOON: i64 = 1_772_452_800_000;
const MINUTE: i64 = 60_000;

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

/// An account with `deposit` on it.
async fn funded_account(platform: &SimulatedPlatform, name: &str, deposit: &str) -> u64 {
    let account = platform
        .create_account(NewAccount {
            request_id: format!("kyc-{name}"),
            client_id: format!("client_{name}"),
            group: "real\\retail-usd".into(),
            leverage: 100,
            currency: "USD".into(),
            name: "Ann Lee".into(),
        })
        .await
        .unwrap();
    platform
        .balance_operation(BalanceOperation {
            login: account.login,
            operation_id: format!("pay-{name}"),
            kind: BalanceOperationKind::Deposit,
            amount: dec(deposit),
            comment: String::new(),
        })
        .await
        .unwrap();
    account.login
}

/// Every change of the server's history, read straight from the platform.
async fn history(platform: &SimulatedPlatform) -> Vec<DealChange> {
    let mut changes = Vec::new();
    let mut cursor = None;
    loop {
        let page = platform
            .deal_changes(SIMULATED_SERVER, cursor, 1000)
            .await
            .unwrap();
        changes.extend(page.changes);
        cursor = page.next_cursor;
        if !page.has_more {
            return changes;
        }
    }
}

/// Each deal's latest change: what ingestion must end up holding.
fn latest(changes: &[DealChange]) -> BTreeMap<u64, &DealChange> {
    changes.iter().map(|c| (c.deal.deal, c)).collect()
}

/// Ingests until the feed is caught up; returns the batches applied.
async fn ingest_all(core: &Core, platform: &SimulatedPlatform, limit: u32) -> u32 {
    let mut batches = 0;
    for _ in 0..10_000 {
        match deals::ingest_next_batch(core, platform, SIMULATED_SERVER, limit)
            .await
            .unwrap()
        {
            BatchOutcome::CaughtUp => return batches,
            BatchOutcome::Applied(_) => batches += 1,
            BatchOutcome::Raced => continue,
        }
    }
    panic!("ingestion does not catch up");
}

async fn feed(core: &Core) -> DealFeed {
    core.get::<DealFeed>(SIMULATED_SERVER).await.unwrap().entity
}

async fn ingested(core: &Core, deal: u64) -> IngestedDeal {
    deals::repo::ingested_deal(core, SIMULATED_SERVER, deal)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("deal {deal} was not ingested"))
}

/// Ingestion holds each deal's latest revision, cancelled or not, and nothing else.
async fn assert_mirrors(core: &Core, platform: &SimulatedPlatform) {
    let changes = history(platform).await;
    let expected = latest(&changes);
    for (ticket, change) in &expected {
        let deal = ingested(core, *ticket).await;
        assert_eq!(deal.revision, change.revision, "deal {ticket}");
        assert_eq!(deal.deal, change.deal, "deal {ticket}");
        assert_eq!(
            deal.cancelled,
            change.kind == DealChangeKind::Cancelled,
            "deal {ticket}"
        );
    }
    let feed = feed(core).await;
    assert_eq!(feed.changes_read, changes.len() as u64);
    assert_mirrors_changes(core, platform, changes.len() as u64).await;
}

/// Ingestion applied `applied` changes in all: every change of the history exactly once.
async fn assert_mirrors_changes(core: &Core, platform: &SimulatedPlatform, applied: u64) {
    assert_eq!(history(platform).await.len() as u64, applied);
    assert_eq!(
        feed(core).await.changes_applied,
        applied,
        "every change applied once"
    );
}

async fn count(store: &dyn Store, table: Table) -> u64 {
    store.count_items(table).await.unwrap()
}

pub async fn deals_are_ingested_once_across_repeated_runs(store: Arc<dyn Store>) {
    let platform = SimulatedPlatform::new(store.clone());
    let core = Core::new(store.clone());
    let a = funded_account(&platform, "a", "50000").await;
    let b = funded_account(&platform, "b", "50000").await;
    platform.generate_trading(a, 120, 1, NOON).await.unwrap();
    platform.generate_trading(b, 80, 2, NOON).await.unwrap();

    let batches = ingest_all(&core, &platform, CHANGES_PER_BATCH).await;
    let changes = history(&platform).await;
    assert_eq!(
        batches as usize,
        changes.len().div_ceil(CHANGES_PER_BATCH as usize)
    );
    assert_mirrors(&core, &platform).await;
    let kinds: Vec<DealChangeKind> = changes.iter().map(|c| c.kind).collect();
    assert!(
        kinds.contains(&DealChangeKind::Corrected) && kinds.contains(&DealChangeKind::Cancelled),
        "the mix holds corrections and cancellations"
    );

    // Running again finds nothing new and writes nothing.
    let (main, audit) = (
        count(&*store, Table::Main).await,
        count(&*store, Table::Audit).await,
    );
    assert_eq!(ingest_all(&core, &platform, CHANGES_PER_BATCH).await, 0);
    assert_eq!(count(&*store, Table::Main).await, main);
    assert_eq!(count(&*store, Table::Audit).await, audit);

    // New trading later: only the new changes are read.
    platform
        .generate_trading(a, 40, 3, NOON + 30 * 24 * 60 * MINUTE)
        .await
        .unwrap();
    let before = feed(&core).await.changes_read;
    ingest_all(&core, &platform, 7).await;
    let after = history(&platform).await.len() as u64;
    assert!(after > before);
    assert_eq!(feed(&core).await.changes_read, after);
    assert_mirrors(&core, &platform).await;
}

pub async fn concurrent_ingesters_apply_each_change_once(store: Arc<dyn Store>) {
    let platform = Arc::new(SimulatedPlatform::new(store.clone()));
    let core = Core::new(store.clone());
    let login = funded_account(&platform, "a", "50000").await;
    platform
        .generate_trading(login, 150, 4, NOON)
        .await
        .unwrap();

    let ingesters: Vec<_> = (0..3)
        .map(|_| {
            let (core, platform) = (core.clone(), platform.clone());
            tokio::spawn(async move { ingest_all(&core, &platform, 11).await })
        })
        .collect();
    let mut batches = 0;
    for ingester in ingesters {
        batches += ingester.await.unwrap();
    }
    let changes = history(&platform).await.len();
    assert_eq!(
        batches as usize,
        changes.div_ceil(11),
        "each page was applied by exactly one ingester"
    );
    assert_mirrors(&core, &platform).await;
}

/// Fails the next `failures` transactions, as a store that is down would.
struct FailingStore {
    inner: Arc<dyn Store>,
    failures: AtomicU32,
}

#[async_trait]
impl Store for FailingStore {
    async fn get(&self, table: Table, key: &Key) -> Result<Option<Item>, StoreError> {
        self.inner.get(table, key).await
    }

    async fn get_many(&self, table: Table, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        self.inner.get_many(table, keys).await
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> Result<(), StoreError> {
        let fail = self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if fail {
            return Err(StoreError::Unavailable("the store is down".into()));
        }
        self.inner.transact(ops).await
    }

    async fn query(&self, query: Query) -> Result<Page, StoreError> {
        self.inner.query(query).await
    }

    async fn count_items(&self, table: Table) -> Result<u64, StoreError> {
        self.inner.count_items(table).await
    }
}

pub async fn a_crash_between_pages_resumes_where_the_last_commit_left(store: Arc<dyn Store>) {
    let platform = SimulatedPlatform::new(store.clone());
    let core = Core::new(store.clone());
    let login = funded_account(&platform, "a", "50000").await;
    platform.generate_trading(login, 60, 5, NOON).await.unwrap();

    // One page in, the process dies after staging the next one and before committing it.
    let first = deals::ingest_next_batch(&core, &platform, SIMULATED_SERVER, 10)
        .await
        .unwrap();
    assert!(matches!(first, BatchOutcome::Applied(r) if r.applied == 10));
    let items = (
        count(&*store, Table::Main).await,
        count(&*store, Table::Audit).await,
    );
    let lost = deals::stage_next_batch(&core, &platform, SIMULATED_SERVER, 10)
        .await
        .unwrap()
        .expect("more changes");
    drop(lost);
    // The next run's commit fails (the store is down): nothing of it lands.
    let failing = FailingStore {
        inner: store.clone(),
        failures: AtomicU32::new(1),
    };
    let failing_core = Core::new(Arc::new(failing));
    assert!(
        deals::ingest_next_batch(&failing_core, &platform, SIMULATED_SERVER, 10)
            .await
            .is_err()
    );
    assert_eq!(
        (
            count(&*store, Table::Main).await,
            count(&*store, Table::Audit).await
        ),
        items,
        "neither the dropped nor the failed batch wrote anything"
    );
    assert_eq!(feed(&core).await.changes_read, 10);

    // The next run starts after the last committed page: nothing skipped, nothing twice.
    ingest_all(&failing_core, &platform, 10).await;
    assert_mirrors(&core, &platform).await;
}

pub async fn corrections_and_cancellations_replace_and_cancel(store: Arc<dyn Store>) {
    let platform = SimulatedPlatform::new(store.clone());
    let core = Core::new(store.clone());
    let login = funded_account(&platform, "a", "10000").await;
    let opened = platform
        .open_position(login, "EURUSD", DealSide::Buy, dec("0.50"), NOON)
        .await
        .unwrap();
    let closed = platform
        .close_position(login, opened.position_id, dec("0.50"), NOON + 30_000)
        .await
        .unwrap();
    ingest_all(&core, &platform, CHANGES_PER_BATCH).await;
    assert_eq!(ingested(&core, closed.deal).await.deal, closed);

    let corrected = platform
        .correct_deal(
            closed.deal,
            DealCorrection {
                volume: Some(dec("0.40")),
                price: None,
            },
            NOON + 10 * MINUTE,
        )
        .await
        .unwrap();
    let batch = deals::stage_next_batch(&core, &platform, SIMULATED_SERVER, CHANGES_PER_BATCH)
        .await
        .unwrap()
        .expect("the correction");
    assert_eq!(batch.applied.len(), 1);
    let applied = &batch.applied[0];
    assert_eq!(applied.reverses.as_ref(), Some(&closed), "what to reverse");
    assert_eq!(
        applied.accrues.as_ref(),
        Some(&corrected.deal),
        "what to accrue"
    );
    assert_eq!(
        core.commit(batch.seal(&core).unwrap()).await.unwrap(),
        Committed::Applied
    );
    let now = ingested(&core, closed.deal).await;
    assert_eq!((now.revision, now.deal.volume), (1, dec("0.40")));
    assert!(now.counts());

    platform
        .cancel_deal(closed.deal, NOON + 20 * MINUTE)
        .await
        .unwrap();
    let batch = deals::stage_next_batch(&core, &platform, SIMULATED_SERVER, CHANGES_PER_BATCH)
        .await
        .unwrap()
        .expect("the cancellation");
    let applied = &batch.applied[0];
    assert_eq!(applied.reverses.as_ref(), Some(&corrected.deal));
    assert_eq!(applied.accrues, None);
    core.commit(batch.seal(&core).unwrap()).await.unwrap();
    let now = ingested(&core, closed.deal).await;
    assert!(now.cancelled && !now.counts());
    assert_eq!(now.revision, 2);
    // The opening deal is untouched.
    assert_eq!(ingested(&core, opened.deal).await.revision, 0);
    assert_mirrors(&core, &platform).await;
}

pub async fn invalid_deals_are_recorded_rejected_and_not_counted(store: Arc<dyn Store>) {
    let platform = SimulatedPlatform::new(store.clone());
    let core = Core::new(store.clone());
    let login = funded_account(&platform, "a", "10000").await;
    ingest_all(&core, &platform, CHANGES_PER_BATCH).await;
    let (main, audit) = (
        count(&*store, Table::Main).await,
        count(&*store, Table::Audit).await,
    );

    let zero = platform
        .book_malformed_deal(login, "EURUSD", dec("0"), NOON)
        .await
        .unwrap();
    let negative = platform
        .book_malformed_deal(login, "XAUUSD", dec("-0.10"), NOON + MINUTE)
        .await
        .unwrap();
    let valid = platform
        .open_position(
            login,
            "GBPUSD",
            DealSide::Sell,
            dec("0.10"),
            NOON + 2 * MINUTE,
        )
        .await
        .unwrap();
    // The platform's own items for the three deals (deal, history entry; the position).
    let platform_items = count(&*store, Table::Main).await - main;

    let batch = deals::stage_next_batch(&core, &platform, SIMULATED_SERVER, CHANGES_PER_BATCH)
        .await
        .unwrap()
        .unwrap();
    let rejected: Vec<(u64, bool)> = batch
        .applied
        .iter()
        .map(|a| (a.change.deal.deal, a.accrues.is_none()))
        .collect();
    assert_eq!(
        rejected,
        [
            (zero.deal, true),
            (negative.deal, true),
            (valid.deal, false)
        ]
    );
    assert!(
        batch.applied[..2]
            .iter()
            .all(|a| a.rejected.as_deref().is_some_and(|r| r.contains("volume")))
    );
    core.commit(batch.seal(&core).unwrap()).await.unwrap();

    // One item per deal (the rejected ones recorded, for operators) and one feed event: no
    // more.
    assert_eq!(count(&*store, Table::Main).await, main + platform_items + 3);
    assert_eq!(count(&*store, Table::Audit).await, audit + 1);
    for deal in [zero.deal, negative.deal] {
        let recorded = ingested(&core, deal).await;
        assert!(!recorded.counts());
        assert!(recorded.rejected.unwrap().contains("is not positive"));
    }
    assert!(ingested(&core, valid.deal).await.counts());
    let listed = deals::repo::rejected_deals(&core, SIMULATED_SERVER, 10)
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|d| d.deal.deal).collect::<Vec<_>>(),
        [zero.deal, negative.deal]
    );
    assert_eq!(feed(&core).await.changes_rejected, 2);
}

/// A platform that forgets cursors and delivers its whole history again, as an adapter that
/// catches up after a reconnection may.
struct Redelivering(SimulatedPlatform);

#[async_trait]
impl TradingPlatform for Redelivering {
    async fn create_account(&self, r: NewAccount) -> Result<TradingAccount, TradingError> {
        self.0.create_account(r).await
    }

    async fn balance_operation(
        &self,
        o: BalanceOperation,
    ) -> Result<OperationReceipt, TradingError> {
        self.0.balance_operation(o).await
    }

    async fn operation(&self, id: &str) -> Result<Option<OperationReceipt>, TradingError> {
        self.0.operation(id).await
    }

    async fn account_state(&self, login: u64) -> Result<AccountState, TradingError> {
        self.0.account_state(login).await
    }

    async fn closed_deals(
        &self,
        scope: DealScope,
        since: Option<DealCursor>,
        limit: u32,
    ) -> Result<DealsPage, TradingError> {
        self.0.closed_deals(scope, since, limit).await
    }

    async fn deal_changes(
        &self,
        server: &str,
        _: Option<DealCursor>,
        limit: u32,
    ) -> Result<DealChangesPage, TradingError> {
        self.0.deal_changes(server, None, limit).await
    }
    async fn symbol(&self, name: &str) -> Result<SymbolSpec, TradingError> {
        self.0.symbol(name).await
    }

    async fn place_order(&self, order: MarketOrder) -> Result<Fill, TradingError> {
        self.0.place_order(order).await
    }
}

pub async fn a_feed_that_delivers_again_changes_nothing(store: Arc<dyn Store>) {
    let platform = Redelivering(SimulatedPlatform::new(store.clone()));
    let core = Core::new(store.clone());
    let login = funded_account(&platform.0, "a", "50000").await;
    platform
        .0
        .generate_trading(login, 25, 8, NOON)
        .await
        .unwrap();
    let changes = history(&platform.0).await.len() as u32;
    assert!(changes < MAX_CHANGES_PER_BATCH, "one page holds them all");

    let first = deals::ingest_next_batch(&core, &platform, SIMULATED_SERVER, MAX_CHANGES_PER_BATCH)
        .await
        .unwrap();
    assert!(matches!(first, BatchOutcome::Applied(r) if r.applied == changes && r.skipped == 0));
    let main = count(&*store, Table::Main).await;
    for _ in 0..2 {
        let again =
            deals::ingest_next_batch(&core, &platform, SIMULATED_SERVER, MAX_CHANGES_PER_BATCH)
                .await
                .unwrap();
        assert!(
            matches!(again, BatchOutcome::Applied(r) if r.applied == 0 && r.skipped == changes),
            "{again:?}"
        );
    }
    assert_eq!(count(&*store, Table::Main).await, main, "no deal rewritten");
    assert_mirrors_changes(&core, &platform.0, u64::from(changes)).await;
}

pub async fn a_bad_batch_size_writes_nothing(store: Arc<dyn Store>) {
    let platform = SimulatedPlatform::new(store.clone());
    let core = Core::new(store.clone());
    let login = funded_account(&platform, "a", "10000").await;
    platform.generate_trading(login, 5, 6, NOON).await.unwrap();
    let (main, audit) = (
        count(&*store, Table::Main).await,
        count(&*store, Table::Audit).await,
    );
    for limit in [0, MAX_CHANGES_PER_BATCH + 1] {
        let error = deals::ingest_next_batch(&core, &platform, SIMULATED_SERVER, limit)
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                brokeros_kernel::Error::Validation {
                    code: "invalid_batch_size",
                    ..
                }
            ),
            "{error:?}"
        );
    }
    // A server the platform does not have is the platform's refusal.
    assert!(
        deals::ingest_next_batch(&core, &platform, "mt5-live-9", 10)
            .await
            .is_err()
    );
    assert_eq!(count(&*store, Table::Main).await, main);
    assert_eq!(count(&*store, Table::Audit).await, audit);
}

pub async fn each_batch_is_one_transaction(store: Arc<dyn Store>) {
    let recording = RecordingStore::new(store.clone());
    let platform = SimulatedPlatform::new(store.clone());
    let core = Core::new(recording.clone());
    let login = funded_account(&platform, "a", "50000").await;
    platform
        .generate_trading(login, 100, 7, NOON)
        .await
        .unwrap();

    let batches = ingest_all(&core, &platform, MAX_CHANGES_PER_BATCH).await;
    let committed = recording.committed();
    assert_eq!(
        committed.len(),
        batches as usize,
        "one transaction per batch"
    );
    let changes = history(&platform).await;
    let mut read = 0;
    for ops in &committed {
        assert!(ops.len() <= brokeros_store::MAX_TRANSACTION_OPS);
        // Each distinct deal of the page once, the feed and its audit event.
        let deal_writes = ops
            .iter()
            .filter(|op| op.key().pk.starts_with("IBDEAL#"))
            .count();
        assert_eq!(ops.len(), deal_writes + 2);
        let page = &changes[read..(read + MAX_CHANGES_PER_BATCH as usize).min(changes.len())];
        assert_eq!(deal_writes, latest(page).len());
        read += page.len();
    }
    assert_eq!(read, changes.len());
}
