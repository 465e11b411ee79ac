//! A trading platform simulated over the storage port, for `brokeros serve`, demos and tests.
//!
//! It behaves as the port promises a real platform does (idempotent account creation and
//! balance operations, withdrawals limited to free money, closed deals in ticket order, one
//! trade server's deal history by cursor) and adds what scenarios need:
//! [`SimulatedPlatform::generate_deals`] books deterministic closed trades at once,
//! [`SimulatedPlatform::set_open_positions`] stands in for open positions in the account's
//! equity, and the outage switches
//! ([`SimulatedPlatform::fail_next_calls`], [`SimulatedPlatform::lose_next_replies`]) let
//! workflows prove their retries.
//!
//! The deal history of its one server ([`SIMULATED_SERVER`]) holds every balance operation as a
//! balance or credit deal and every trade made through [`SimulatedPlatform::generate_deals`],
//! [`SimulatedPlatform::open_position`],
//! [`SimulatedPlatform::close_position`], [`SimulatedPlatform::reverse_position`],
//! [`SimulatedPlatform::close_by`] and [`SimulatedPlatform::generate_trading`] (a seeded mix of
//! them), with dealers' corrections ([`SimulatedPlatform::correct_deal`]) and cancellations
//! ([`SimulatedPlatform::cancel_deal`]) as later revisions. Trades are priced on a deterministic
//! market (`market`): bid and ask a spread apart, profit = price move × contract size × lots ×
//! `rate_profit`, commission per side, swap per night held; their results move the balance.
//! Accounts are hedging accounts: every opening deal opens its own position.
//!
//! State lives in the main table under `TP#` keys ([`records`]), written only through
//! [`Store::transact`]: each change of an account is one transaction conditional on the
//! account's version, so concurrent operations cannot lose an update (the loser re-reads and
//! tries again), and it carries its idempotency record created on absence, so an operation id
//! takes effect at most once even when two requests with it race.
//!
//! Tickets (balance operations and deals alike) come from one counter item that every
//! ticket-issuing transaction advances on its version. That makes tickets increase in commit
//! order across all accounts, which is what lets a deal feed be read with a cursor "after
//! ticket T" without ever skipping a deal committed late. It also serializes those writes,
//! as a real platform's trade server does; the simulator is not meant for more than a
//! back office's test load.

mod book;
mod generator;
mod market;
mod records;
mod splitmix;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use brokeros_store::{
    Condition, Item, Key, MAX_TRANSACTION_OPS, Query, SortKeyRange, Store, StoreError, Table,
    WriteOp,
};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

pub use book::DealCorrection;
use book::{Book, msc};
use brokeros_trading::TradingError;
use brokeros_trading::{
    AccountState, BalanceOperation, BalanceOperationKind, Deal, DealChange, DealChangesPage,
    DealCursor, DealScope, DealSide, DealsPage, Fill, MAX_DEAL_CHANGES_PER_PAGE,
    MAX_DEALS_PER_PAGE, MarketOrder, NewAccount, OperationReceipt, PlatformDeal, SymbolSpec,
    TradingAccount, TradingPlatform,
};
use brokeros_trading::{checked_amount, checked_signed_amount, currency_scale};
use generator::{MAX_OPS_PER_STEP, TradingSession, next_deal, trade_step};
pub(crate) use market::{simulated_usd_rate, simulated_variation};
use records::{
    AccountRecord, AccountRequestRecord, CounterRecord, DealRecord, OperationRecord, put,
};
use splitmix::SplitMix64;

/// The first login the simulator hands out.
pub const FIRST_LOGIN: u64 = 100_001;
pub use records::FIRST_TICKET;
/// The name of the simulated platform's one trade server, whose deal history
/// [`TradingPlatform::deal_changes`] reads.
pub const SIMULATED_SERVER: &str = "sim-1";
/// The most deals one [`SimulatedPlatform::generate_deals`] call books.
pub const MAX_GENERATED_DEALS: u32 = 10_000;

/// How often a change that lost a race to a concurrent one is tried again on fresh reads
/// before the caller is told the platform is busy (a transient error it may retry).
const MAX_ATTEMPTS: u32 = 40;
/// Generated deals are booked in transactions of this many: each is six items (its opening
/// and closing deals' records and history entries, its account's closed-deal feed and its
/// group's), plus the account and two counters, within the store's 100 operations per
/// transaction.
const DEALS_PER_TRANSACTION: u32 = 15;

type Clock = Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

/// The simulated platform. Its state is in the store, so several instances over one store
/// (Lambdas, a CLI) see the same accounts; the outage switches belong to the instance.
pub struct SimulatedPlatform {
    store: Arc<dyn Store>,
    clock: Clock,
    outage: Outage,
}

impl SimulatedPlatform {
    pub fn new(store: Arc<dyn Store>) -> SimulatedPlatform {
        SimulatedPlatform {
            store,
            clock: Arc::new(OffsetDateTime::now_utc),
            outage: Outage::default(),
        }
    }

    /// Takes times (account creation, operations, deals) from `clock` instead of the system
    /// clock, e.g. the application's clock, or a fixed one in tests.
    pub fn with_clock(
        mut self,
        clock: impl Fn() -> OffsetDateTime + Send + Sync + 'static,
    ) -> SimulatedPlatform {
        self.clock = Arc::new(clock);
        self
    }

    /// The next `calls` calls of the port fail with `PlatformUnavailable` without doing
    /// anything: the platform is down. (Replaces an earlier setting.)
    pub fn fail_next_calls(&self, calls: u32) {
        self.outage.refuse_calls.store(calls, Ordering::SeqCst);
    }

    /// The next `calls` calls of the port that succeed do their work, then fail with
    /// `PlatformUnavailable` as if the reply were lost on the way back: the case where only a
    /// retry with the same id tells the caller what happened. (Replaces an earlier setting.)
    pub fn lose_next_replies(&self, calls: u32) {
        self.outage.lose_replies.store(calls, Ordering::SeqCst);
    }

    /// The operation booked under `operation_id`, as the platform's own back office shows it.
    /// Not a port call: outages do not affect it (the port's lookup is
    /// [`TradingPlatform::operation`]).
    pub async fn booked_operation(
        &self,
        operation_id: &str,
    ) -> Result<Option<OperationReceipt>, TradingError> {
        self.read_operation(operation_id).await
    }

    /// Archives the account, as a dealer does with a closed one: the platform no longer knows
    /// it, and operations on it fail with `AccountNotFound` (deals and receipts stay). Not a
    /// port call: outages do not affect it.
    pub async fn archive_account(&self, login: u64) -> Result<(), TradingError> {
        let delete = WriteOp::Delete {
            table: Table::Main,
            key: records::account(login),
            condition: Condition::Exists,
        };
        match self.store.transact(vec![delete]).await {
            Err(StoreError::ConditionFailed { .. }) => Err(TradingError::AccountNotFound { login }),
            other => other.map_err(storage_error),
        }
    }

    /// Books `count` closed deals on the account, their results applied to its balance, and
    /// returns them. The deals depend only on `seed` and the balance they start from (see
    /// `generator::next_deal`, which also keeps the balance from going negative); their tickets
    /// and times are the platform's. Not a port call: outages do not affect it.
    ///
    /// Each deal is also a trade in the server's deal history: its opening and its closing deal
    /// (the closed deal's `deal_id` is the closing deal's ticket). Deals are booked in batches
    /// of 15, each batch one transaction; if a later batch fails, the earlier ones stay booked.
    pub async fn generate_deals(
        &self,
        login: u64,
        count: u32,
        seed: u64,
    ) -> Result<Vec<Deal>, TradingError> {
        if !(1..=MAX_GENERATED_DEALS).contains(&count) {
            return Err(TradingError::InvalidRequest(format!(
                "count must be 1 to {MAX_GENERATED_DEALS}"
            )));
        }
        let mut rng = SplitMix64::new(seed);
        let mut deals = Vec::with_capacity(count as usize);
        while deals.len() < count as usize {
            let chunk = (count - deals.len() as u32).min(DEALS_PER_TRANSACTION);
            let (booked, rng_after) = self.book_generated_deals(login, chunk, &rng).await?;
            deals.extend(booked);
            rng = rng_after;
        }
        Ok(deals)
    }

    /// Sets what the account's open positions would make if closed now and the margin they
    /// hold (the simulator has no positions of its own), e.g. to see a withdrawal limited by
    /// free margin. Not a port call: outages do not affect it.
    pub async fn set_open_positions(
        &self,
        login: u64,
        floating_profit: Decimal,
        margin: Decimal,
    ) -> Result<AccountState, TradingError> {
        if margin < Decimal::ZERO {
            return Err(TradingError::InvalidAmount(format!(
                "margin cannot be negative: {margin}"
            )));
        }
        for attempt in 0..MAX_ATTEMPTS {
            back_off(attempt).await;
            let (version, account) = self.read_account(login).await?;
            let mut next = account.clone();
            next.floating_profit = checked_signed_amount(floating_profit, &account.currency)?;
            next.margin = checked_signed_amount(margin, &account.currency)?;
            let ops = vec![put(
                records::account(login),
                version + 1,
                &next,
                Condition::VersionIs(version),
            )?];
            match self.store.transact(ops).await {
                Ok(()) => return Ok(state_of(&next)),
                Err(e) if lost_race(&e) => continue,
                Err(e) => return Err(storage_error(e)),
            }
        }
        Err(busy())
    }

    /// Opens a position of `lots` on `side` at the market price of `at_msc` (milliseconds since
    /// the epoch) and returns its opening deal, whose ticket is the position id. The account is
    /// a hedging one: opposite positions of one symbol can be open at once. Not a port call
    /// (the port does not trade); outages do not affect it.
    ///
    /// Errors: `AccountNotFound`, `InvalidRequest` (unknown symbol, lots not 0.01 to 100 in
    /// steps of 0.01, a time before the epoch), `PlatformUnavailable`, `Storage`.
    pub async fn open_position(
        &self,
        login: u64,
        symbol: &str,
        side: DealSide,
        lots: Decimal,
        at_msc: i64,
    ) -> Result<PlatformDeal, TradingError> {
        let reads = BookReads::accounts([login]);
        self.transact_book(&reads, |book| book.open(login, symbol, side, lots, at_msc))
            .await
    }

    /// Closes `lots` of an open position at the market: all of it, or part of it (the rest
    /// stays open under the same position id). Returns the closing deal (entry `out`).
    ///
    /// Errors: as [`SimulatedPlatform::open_position`], and `InvalidRequest` when the position
    /// is not open or holds fewer lots.
    pub async fn close_position(
        &self,
        login: u64,
        position_id: u64,
        lots: Decimal,
        at_msc: i64,
    ) -> Result<PlatformDeal, TradingError> {
        let reads = BookReads::accounts([login]).positions([(login, position_id)]);
        self.transact_book(&reads, |book| book.close(login, position_id, lots, at_msc))
            .await
    }

    /// Reverses an open position with one deal of `lots` (entry `inout`), more than it holds:
    /// it closes and the rest opens on the other side under the same position id.
    ///
    /// Errors: as [`SimulatedPlatform::close_position`].
    pub async fn reverse_position(
        &self,
        login: u64,
        position_id: u64,
        lots: Decimal,
        at_msc: i64,
    ) -> Result<PlatformDeal, TradingError> {
        let reads = BookReads::accounts([login]).positions([(login, position_id)]);
        self.transact_book(&reads, |book| {
            book.reverse(login, position_id, lots, at_msc)
        })
        .await
    }

    /// Closes two opposite positions of one symbol by each other (entry `out_by`): both by the
    /// smaller volume, each at the other's open price. Returns the two deals.
    ///
    /// Errors: as [`SimulatedPlatform::close_position`], and `InvalidRequest` when the two are
    /// not opposite positions of one symbol.
    pub async fn close_by(
        &self,
        login: u64,
        position_id: u64,
        by_position_id: u64,
        at_msc: i64,
    ) -> Result<[PlatformDeal; 2], TradingError> {
        let reads =
            BookReads::accounts([login]).positions([(login, position_id), (login, by_position_id)]);
        self.transact_book(&reads, |book| {
            book.close_by(login, position_id, by_position_id, at_msc)
        })
        .await
    }

    /// A dealer corrects a trade's volume or price: the deal's next revision, its amounts
    /// recomputed and the balance moved by the difference, appended to the history as
    /// `Corrected` at `at_msc`.
    ///
    /// Errors: `InvalidRequest` (no such trade, a cancelled one, a price that is not
    /// positive), `PlatformUnavailable`, `Storage`.
    pub async fn correct_deal(
        &self,
        ticket: u64,
        correction: DealCorrection,
        at_msc: i64,
    ) -> Result<DealChange, TradingError> {
        let login = self.deal_login(ticket).await?;
        let reads = BookReads::accounts([login]).deals([ticket]);
        self.transact_book(&reads, |book| book.correct(ticket, correction, at_msc))
            .await
    }

    /// A dealer cancels a trade: its next revision, marked `Cancelled` in the history, and
    /// what it booked taken back from the balance.
    ///
    /// Errors: as [`SimulatedPlatform::correct_deal`].
    pub async fn cancel_deal(&self, ticket: u64, at_msc: i64) -> Result<DealChange, TradingError> {
        let login = self.deal_login(ticket).await?;
        let reads = BookReads::accounts([login]).deals([ticket]);
        self.transact_book(&reads, |book| book.cancel(ticket, at_msc))
            .await
    }

    /// Books a trade deal of `lots` unchecked (zero or negative volume included), without
    /// touching positions or the balance: what a faulty gateway or a dealer's slip leaves in a
    /// real platform's history, for proving that readers refuse it.
    ///
    /// Errors: `AccountNotFound`, `InvalidRequest` (unknown symbol).
    pub async fn book_malformed_deal(
        &self,
        login: u64,
        symbol: &str,
        lots: Decimal,
        at_msc: i64,
    ) -> Result<PlatformDeal, TradingError> {
        let reads = BookReads::accounts([login]);
        self.transact_book(&reads, |book| book.malformed(login, symbol, lots, at_msc))
            .await
    }

    /// Trades `steps` steps on the account from `start_msc` on, drawn from `seed`, and returns
    /// the history entries they made, in order. The mix (`generator::trade_step`) holds normal
    /// trades, partial closes, reversals, hedges and closes by, sub-minute scalps, and a share
    /// of corrections and cancellations; the same seed on the same open positions trades the
    /// same way. Steps are booked in transactions of up to about 15; if a later one fails,
    /// the earlier ones stay booked.
    ///
    /// Errors: `AccountNotFound`, `InvalidRequest` (steps not 1 to
    /// [`MAX_GENERATED_DEALS`]), `PlatformUnavailable`, `Storage`.
    pub async fn generate_trading(
        &self,
        login: u64,
        steps: u32,
        seed: u64,
        start_msc: i64,
    ) -> Result<Vec<DealChange>, TradingError> {
        if !(1..=MAX_GENERATED_DEALS).contains(&steps) {
            return Err(TradingError::InvalidRequest(format!(
                "steps must be 1 to {MAX_GENERATED_DEALS}"
            )));
        }
        let mut session = TradingSession {
            rng: SplitMix64::new(seed),
            at_msc: start_msc,
        };
        let reads = BookReads::accounts([login]).all_positions_of(login);
        let mut changes = Vec::new();
        let mut done = 0;
        while done < steps {
            let (booked, session_after, steps_done) = self
                .transact_book(&reads, |book| {
                    let mut drawing = session.clone();
                    let mut taken = 0;
                    while done + taken < steps
                        && book.pending_ops() + MAX_OPS_PER_STEP <= MAX_TRANSACTION_OPS
                    {
                        trade_step(&mut drawing, book, login)?;
                        taken += 1;
                    }
                    Ok((book.appended().cloned().collect::<Vec<_>>(), drawing, taken))
                })
                .await?;
            changes.extend(booked);
            session = session_after;
            done += steps_done;
        }
        Ok(changes)
    }

    /// The login of trade `ticket`, which a correction or cancellation changes.
    async fn deal_login(&self, ticket: u64) -> Result<u64, TradingError> {
        let [item] = self.read_many([&records::deal(ticket)]).await?;
        let item = item.ok_or_else(|| {
            TradingError::InvalidRequest(format!("deal {ticket} is not a trade of this server"))
        })?;
        Ok(decode::<DealRecord>(&item)?.deal.login)
    }

    /// Reads what `reads` names into a book, lets `act` change it and commits the outcome as
    /// one transaction, again on fresh reads when a concurrent change got there first.
    async fn transact_book<T>(
        &self,
        reads: &BookReads,
        mut act: impl FnMut(&mut Book) -> Result<T, TradingError>,
    ) -> Result<T, TradingError> {
        for attempt in 0..MAX_ATTEMPTS {
            back_off(attempt).await;
            let mut book = self.read_book(reads).await?;
            let outcome = act(&mut book)?;
            let ops = book.into_ops()?;
            // An answer from what was read (a repeated order id) writes nothing.
            if ops.is_empty() {
                return Ok(outcome);
            }
            match self.store.transact(ops).await {
                Ok(()) => return Ok(outcome),
                Err(e) if lost_race(&e) => continue,
                Err(e) => return Err(storage_error(e)),
            }
        }
        Err(busy())
    }

    async fn read_book(&self, reads: &BookReads) -> Result<Book, TradingError> {
        let mut keys = vec![records::ticket_counter(), records::history_counter()];
        keys.extend(reads.logins.iter().map(|login| records::account(*login)));
        keys.extend(
            reads
                .positions
                .iter()
                .map(|(login, position)| records::position(*login, *position)),
        );
        keys.extend(reads.deals.iter().map(|ticket| records::deal(*ticket)));
        keys.extend(reads.orders.iter().map(|id| records::order(id)));
        let items = self
            .store
            .get_many(Table::Main, &keys)
            .await
            .map_err(storage_error)?;
        let mut items = items.into_iter();
        let mut counter = || {
            items
                .next()
                .flatten()
                .map(|item| decode_counter(&item))
                .transpose()
        };
        let mut book = Book::new(SIMULATED_SERVER, counter()?, counter()?);
        let others = reads.logins.len() + reads.positions.len() + reads.deals.len();
        let mut items: Vec<Option<Item>> = items.collect();
        let orders = items.split_off(others);
        for (order_id, item) in reads.orders.iter().zip(orders) {
            let stored = item
                .map(|item| Ok::<_, TradingError>((item.version, decode(&item)?)))
                .transpose()?;
            book.read_order(order_id, stored);
        }
        for item in items.into_iter().flatten() {
            if item.key.pk.starts_with("TP#ACCOUNT#") {
                book.read_account(item.version, decode(&item)?);
            } else if item.key.pk.starts_with("TP#DEAL#") {
                book.read_deal(item.version, decode(&item)?);
            } else {
                book.read_position(item.version, decode(&item)?);
            }
        }
        if let Some(login) = reads.all_positions_of {
            let mut after = None;
            loop {
                let query = Query::new(Table::Main, None, records::positions(login))
                    .limit(MAX_DEALS_PER_PAGE)
                    .after(after);
                let page = self.store.query(query).await.map_err(storage_error)?;
                for item in &page.items {
                    book.read_position(item.version, decode(item)?);
                }
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
        Ok(book)
    }

    /// Up to `limit` entries of `server`'s deal history after `since`.
    async fn read_history(
        &self,
        server: &str,
        since: Option<DealCursor>,
        limit: u32,
    ) -> Result<DealChangesPage, TradingError> {
        if !(1..=MAX_DEAL_CHANGES_PER_PAGE).contains(&limit) {
            return Err(TradingError::InvalidRequest(format!(
                "limit must be 1 to {MAX_DEAL_CHANGES_PER_PAGE}"
            )));
        }
        if server != SIMULATED_SERVER {
            return Err(TradingError::InvalidRequest(format!(
                "{server} is not a server of this platform (it has {SIMULATED_SERVER})"
            )));
        }
        let scope = history_scope(server);
        let after = since
            .as_ref()
            .map(|cursor| decode_cursor(&scope, cursor))
            .transpose()?;
        let page = self
            .read_feed(records::history(server), after, limit)
            .await?;
        let changes: Vec<DealChange> = page.items.iter().map(decode).collect::<Result<_, _>>()?;
        let next_cursor = match page.items.last() {
            Some(last) => Some(encode_cursor(&scope, feed_position(last)?)),
            None => since,
        };
        Ok(DealChangesPage {
            changes,
            next_cursor,
            has_more: page.next.is_some(),
        })
    }

    /// Up to `limit` items of the feed partition `pk` whose number follows `after`.
    async fn read_feed(
        &self,
        pk: String,
        after: Option<u64>,
        limit: u32,
    ) -> Result<brokeros_store::Page, TradingError> {
        let range = match after {
            None => SortKeyRange::All,
            Some(number) => SortKeyRange::Between(
                records::deal_sort_key(number.checked_add(1).ok_or(TradingError::InvalidCursor)?),
                records::deal_sort_key(u64::MAX),
            ),
        };
        let query = Query::new(Table::Main, None, pk).sk(range).limit(limit);
        self.store.query(query).await.map_err(storage_error)
    }

    /// Runs a port call under the outage switches.
    async fn port_call<T>(
        &self,
        what: &str,
        call: impl Future<Output = Result<T, TradingError>>,
    ) -> Result<T, TradingError> {
        if Outage::take(&self.outage.refuse_calls) {
            return Err(TradingError::PlatformUnavailable(format!(
                "simulated outage: {what} was not executed"
            )));
        }
        let result = call.await;
        if result.is_ok() && Outage::take(&self.outage.lose_replies) {
            return Err(TradingError::PlatformUnavailable(format!(
                "simulated outage: {what} was executed but its reply was lost"
            )));
        }
        result
    }

    async fn open_account(&self, request: NewAccount) -> Result<TradingAccount, TradingError> {
        request.validate()?;
        let scale = currency_scale(&request.currency).expect("validate checked the currency");
        let request_key = records::account_request(&request.request_id);
        let counter_key = records::login_counter();
        for attempt in 0..MAX_ATTEMPTS {
            back_off(attempt).await;
            let [executed, counter] = self.read_many([&request_key, &counter_key]).await?;
            if let Some(executed) = executed {
                let executed: AccountRequestRecord = decode(&executed)?;
                if executed.request != request {
                    return Err(TradingError::Conflict(format!(
                        "request_id {} opened an account from different data",
                        request.request_id
                    )));
                }
                let (_, account) = self.read_account(executed.login).await?;
                return Ok(account.account());
            }
            let counter = counter.map(|item| decode_counter(&item)).transpose()?;
            let login = counter.map_or(FIRST_LOGIN, |(_, c)| c.next);
            let zero = Decimal::new(0, scale);
            let account = AccountRecord {
                login,
                client_id: request.client_id.clone(),
                name: request.name.clone(),
                group: request.group.clone(),
                leverage: request.leverage,
                currency: request.currency.clone(),
                created_at: (self.clock)(),
                balance: zero,
                credit: zero,
                floating_profit: zero,
                margin: zero,
            };
            let executed = AccountRequestRecord {
                request: request.clone(),
                login,
            };
            let ops = vec![
                counter_put(counter_key.clone(), counter, login + 1)?,
                put(records::account(login), 1, &account, Condition::NotExists)?,
                put(request_key.clone(), 1, &executed, Condition::NotExists)?,
            ];
            match self.store.transact(ops).await {
                Ok(()) => return Ok(account.account()),
                // Another account took the login, or another request with this id won: the
                // next attempt reads both again.
                Err(e) if lost_race(&e) => continue,
                Err(e) => return Err(storage_error(e)),
            }
        }
        Err(busy())
    }

    async fn execute_operation(
        &self,
        operation: BalanceOperation,
    ) -> Result<OperationReceipt, TradingError> {
        operation.validate()?;
        let operation_key = records::operation(&operation.operation_id);
        let account_key = records::account(operation.login);
        let counter_key = records::ticket_counter();
        let history_key = records::history_counter();
        for attempt in 0..MAX_ATTEMPTS {
            back_off(attempt).await;
            let [executed, account_item, counter, history] = self
                .read_many([&operation_key, &account_key, &counter_key, &history_key])
                .await?;
            if let Some(executed) = executed {
                let executed: OperationRecord = decode(&executed)?;
                // Amounts compare by value: 10 and 10.00 are the same request.
                if executed.request != operation {
                    return Err(TradingError::Conflict(format!(
                        "operation_id {} was executed with different data",
                        operation.operation_id
                    )));
                }
                return Ok(executed.receipt);
            }
            let Some(account_item) = account_item else {
                return Err(TradingError::AccountNotFound {
                    login: operation.login,
                });
            };
            let account: AccountRecord = decode(&account_item)?;
            let amount = checked_amount(operation.amount, &account.currency)?;
            let next = apply(&account, operation.kind, amount)?;
            let executed_at = (self.clock)();
            let mut book = Book::new(
                SIMULATED_SERVER,
                counter.map(|item| decode_counter(&item)).transpose()?,
                history.map(|item| decode_counter(&item)).transpose()?,
            );
            book.read_account(account_item.version, account);
            let ticket =
                book.balance_operation(next.clone(), operation.kind, amount, msc(executed_at));
            let receipt = OperationReceipt {
                operation_id: operation.operation_id.clone(),
                login: operation.login,
                kind: operation.kind,
                amount,
                deal_id: ticket,
                balance_after: next.balance,
                credit_after: next.credit,
                executed_at,
            };
            let executed = OperationRecord {
                request: operation.clone(),
                receipt: receipt.clone(),
            };
            let mut ops = book.into_ops()?;
            ops.push(put(
                operation_key.clone(),
                1,
                &executed,
                Condition::NotExists,
            )?);
            match self.store.transact(ops).await {
                Ok(()) => return Ok(receipt),
                // The account or the counter moved, or the same operation id just landed (the
                // next attempt answers from its record).
                Err(e) if lost_race(&e) => continue,
                Err(e) => return Err(storage_error(e)),
            }
        }
        Err(busy())
    }

    async fn execute_order(&self, order: MarketOrder) -> Result<Fill, TradingError> {
        order.validate()?;
        symbol_settings(&order.symbol)?.check_volume(order.volume)?;
        let reads = BookReads::accounts([order.login])
            .positions(order.closes_position.map(|p| (order.login, p)))
            .orders([order.order_id.clone()]);
        let at = (self.clock)();
        self.transact_book(&reads, |book| book.market_order(&order, at))
            .await
    }

    async fn read_operation(
        &self,
        operation_id: &str,
    ) -> Result<Option<OperationReceipt>, TradingError> {
        brokeros_trading::check_id("operation_id", operation_id)?;
        let [executed] = self.read_many([&records::operation(operation_id)]).await?;
        executed
            .map(|item| decode::<OperationRecord>(&item).map(|record| record.receipt))
            .transpose()
    }

    async fn read_state(&self, login: u64) -> Result<AccountState, TradingError> {
        let (_, account) = self.read_account(login).await?;
        Ok(state_of(&account))
    }

    async fn read_deals(
        &self,
        scope: DealScope,
        since: Option<DealCursor>,
        limit: u32,
    ) -> Result<DealsPage, TradingError> {
        if !(1..=MAX_DEALS_PER_PAGE).contains(&limit) {
            return Err(TradingError::InvalidRequest(format!(
                "limit must be 1 to {MAX_DEALS_PER_PAGE}"
            )));
        }
        match &scope {
            DealScope::Login(login) => {
                self.read_account(*login).await?;
            }
            DealScope::Group(group) if group.is_empty() => {
                return Err(TradingError::InvalidRequest(
                    "group must not be empty".into(),
                ));
            }
            DealScope::Group(_) => {}
        }
        let scope_name = cursor_scope(&scope);
        let after_ticket = since
            .as_ref()
            .map(|cursor| decode_cursor(&scope_name, cursor))
            .transpose()?;
        let page = self
            .read_feed(records::deal_feed(&scope), after_ticket, limit)
            .await?;
        let deals: Vec<Deal> = page.items.iter().map(decode).collect::<Result<_, _>>()?;
        let next_cursor = match deals.last() {
            Some(last) => Some(encode_cursor(&scope_name, last.deal_id)),
            None => since,
        };
        Ok(DealsPage {
            deals,
            next_cursor,
            has_more: page.next.is_some(),
        })
    }

    /// Books one transaction's worth of generated deals, drawing from a copy of `rng` so that
    /// a lost race draws the same deals again; returns them and the generator after them.
    async fn book_generated_deals(
        &self,
        login: u64,
        count: u32,
        rng: &SplitMix64,
    ) -> Result<(Vec<Deal>, SplitMix64), TradingError> {
        let closed_at = (self.clock)();
        let reads = BookReads::accounts([login]);
        self.transact_book(&reads, |book| {
            let account = book.account(login)?;
            let scale = currency_scale(&account.currency).ok_or_else(|| {
                TradingError::Storage(format!("account {login} has an unknown currency"))
            })?;
            let usd_rate = simulated_usd_rate(&account.currency).ok_or_else(|| {
                TradingError::Storage(format!("no simulated rate for {}", account.currency))
            })?;
            let mut drawing = rng.clone();
            let mut deals = Vec::with_capacity(count as usize);
            for _ in 0..count {
                let account = book.account(login)?;
                let generated = next_deal(&mut drawing, account.balance, scale, usd_rate);
                deals.push(book.round_trip(Deal {
                    deal_id: 0,
                    login,
                    symbol: generated.symbol.to_string(),
                    side: generated.side,
                    volume: generated.volume,
                    open_price: generated.open_price,
                    close_price: generated.close_price,
                    profit: generated.profit,
                    commission: generated.commission,
                    swap: generated.swap,
                    currency: account.currency.clone(),
                    opened_at: closed_at - Duration::from_secs(generated.hold_seconds),
                    closed_at,
                })?);
            }
            Ok((deals, drawing))
        })
        .await
    }

    async fn read_account(&self, login: u64) -> Result<(u64, AccountRecord), TradingError> {
        let item = self
            .store
            .get(Table::Main, &records::account(login))
            .await
            .map_err(storage_error)?
            .ok_or(TradingError::AccountNotFound { login })?;
        Ok((item.version, decode(&item)?))
    }

    async fn read_many<const N: usize>(
        &self,
        keys: [&Key; N],
    ) -> Result<[Option<Item>; N], TradingError> {
        let keys: Vec<Key> = keys.into_iter().cloned().collect();
        let items = self
            .store
            .get_many(Table::Main, &keys)
            .await
            .map_err(storage_error)?;
        items.try_into().map_err(|_| {
            TradingError::Storage("get_many answered a different number of items".into())
        })
    }
}

#[async_trait]
impl TradingPlatform for SimulatedPlatform {
    async fn create_account(&self, request: NewAccount) -> Result<TradingAccount, TradingError> {
        self.port_call("create_account", self.open_account(request))
            .await
    }

    async fn balance_operation(
        &self,
        operation: BalanceOperation,
    ) -> Result<OperationReceipt, TradingError> {
        self.port_call("balance_operation", self.execute_operation(operation))
            .await
    }

    async fn operation(
        &self,
        operation_id: &str,
    ) -> Result<Option<OperationReceipt>, TradingError> {
        self.port_call("operation", self.read_operation(operation_id))
            .await
    }

    async fn account_state(&self, login: u64) -> Result<AccountState, TradingError> {
        self.port_call("account_state", self.read_state(login))
            .await
    }

    async fn closed_deals(
        &self,
        scope: DealScope,
        since: Option<DealCursor>,
        limit: u32,
    ) -> Result<DealsPage, TradingError> {
        self.port_call("closed_deals", self.read_deals(scope, since, limit))
            .await
    }

    async fn deal_changes(
        &self,
        server: &str,
        since: Option<DealCursor>,
        limit: u32,
    ) -> Result<DealChangesPage, TradingError> {
        self.port_call("deal_changes", self.read_history(server, since, limit))
            .await
    }

    async fn symbol(&self, name: &str) -> Result<SymbolSpec, TradingError> {
        self.port_call("symbol", async { symbol_settings(name) })
            .await
    }

    async fn place_order(&self, order: MarketOrder) -> Result<Fill, TradingError> {
        self.port_call("place_order", self.execute_order(order))
            .await
    }
}

/// A simulated symbol's settings: every one trades 0.01 to 100 lots in steps of 0.01.
fn symbol_settings(name: &str) -> Result<SymbolSpec, TradingError> {
    let symbol = market::symbol(name).ok_or_else(|| {
        TradingError::InvalidRequest(format!("{name} is not a symbol of the simulated platform"))
    })?;
    Ok(SymbolSpec {
        name: symbol.name.to_string(),
        volume_min: book::MIN_LOTS,
        volume_max: book::MAX_LOTS,
        volume_step: book::MIN_LOTS,
        contract_size: Decimal::from(symbol.contract_size),
        digits: symbol.digits,
    })
}

/// What a book reads before it acts: accounts, positions and deals by key, and optionally
/// every open position of one account.
#[derive(Debug, Default)]
struct BookReads {
    logins: Vec<u64>,
    positions: Vec<(u64, u64)>,
    deals: Vec<u64>,
    orders: Vec<String>,
    all_positions_of: Option<u64>,
}

impl BookReads {
    fn accounts(logins: impl IntoIterator<Item = u64>) -> BookReads {
        BookReads {
            logins: logins.into_iter().collect(),
            ..BookReads::default()
        }
    }

    fn positions(mut self, positions: impl IntoIterator<Item = (u64, u64)>) -> BookReads {
        self.positions.extend(positions);
        self
    }

    fn deals(mut self, tickets: impl IntoIterator<Item = u64>) -> BookReads {
        self.deals.extend(tickets);
        self
    }

    fn orders(mut self, ids: impl IntoIterator<Item = String>) -> BookReads {
        self.orders.extend(ids);
        self
    }

    fn all_positions_of(mut self, login: u64) -> BookReads {
        self.all_positions_of = Some(login);
        self
    }
}

/// The outage switches: how many of the next calls to refuse, and how many replies to lose.
#[derive(Default)]
struct Outage {
    refuse_calls: AtomicU32,
    lose_replies: AtomicU32,
}

impl Outage {
    /// Uses up one of `counter`'s calls, if any are left.
    fn take(counter: &AtomicU32) -> bool {
        counter
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

/// The account after a balance operation, or why the operation is refused.
fn apply(
    account: &AccountRecord,
    kind: BalanceOperationKind,
    amount: Decimal,
) -> Result<AccountRecord, TradingError> {
    let too_large =
        || TradingError::InvalidAmount(format!("{amount} would overflow the account's balance"));
    let mut next = account.clone();
    match kind {
        BalanceOperationKind::Deposit => {
            next.balance = account.balance.checked_add(amount).ok_or_else(too_large)?;
        }
        BalanceOperationKind::Withdrawal => {
            let available = account.withdrawable();
            if amount > available {
                return Err(TradingError::InsufficientFunds {
                    login: account.login,
                    requested: amount,
                    available,
                });
            }
            next.balance = account.balance - amount;
        }
        BalanceOperationKind::CreditIn => {
            next.credit = account.credit.checked_add(amount).ok_or_else(too_large)?;
        }
        BalanceOperationKind::CreditOut => {
            if amount > account.credit {
                return Err(TradingError::InsufficientCredit {
                    login: account.login,
                    requested: amount,
                    available: account.credit,
                });
            }
            next.credit = account.credit - amount;
        }
    }
    Ok(next)
}

fn state_of(account: &AccountRecord) -> AccountState {
    AccountState {
        login: account.login,
        currency: account.currency.clone(),
        balance: account.balance,
        credit: account.credit,
        floating_profit: account.floating_profit,
        equity: account.equity(),
        margin: account.margin,
        free_margin: account.free_margin(),
    }
}

/// Cursors name their scope, so that one account's cursor cannot page through another feed
/// (it would skip or repeat deals there without anyone noticing).
fn cursor_scope(scope: &DealScope) -> String {
    match scope {
        DealScope::Login(login) => format!("login:{login}"),
        DealScope::Group(group) => format!("group:{group}"),
    }
}

/// The cursor scope of a server's deal history.
fn history_scope(server: &str) -> String {
    format!("history:{server}")
}

const CURSOR_PREFIX: &str = "sim1|";

fn encode_cursor(scope: &str, last: u64) -> DealCursor {
    DealCursor::from_token(format!("{CURSOR_PREFIX}{scope}|{last}"))
}

/// The feed position (ticket or history entry) a cursor of `scope` stopped after.
fn decode_cursor(scope: &str, cursor: &DealCursor) -> Result<u64, TradingError> {
    let (cursor_scope_text, position) = cursor
        .as_str()
        .strip_prefix(CURSOR_PREFIX)
        .and_then(|rest| rest.rsplit_once('|'))
        .ok_or(TradingError::InvalidCursor)?;
    if cursor_scope_text != scope {
        return Err(TradingError::InvalidCursor);
    }
    position.parse().map_err(|_| TradingError::InvalidCursor)
}

/// The number of a feed item, from its sort key.
fn feed_position(item: &Item) -> Result<u64, TradingError> {
    item.key.sk.parse().map_err(|_| {
        TradingError::Storage(format!(
            "feed item {}/{} has no number",
            item.key.pk, item.key.sk
        ))
    })
}

fn decode<T: DeserializeOwned>(item: &Item) -> Result<T, TradingError> {
    serde_json::from_str(&item.data).map_err(|e| {
        TradingError::Storage(format!(
            "unreadable item {}/{}: {e}",
            item.key.pk, item.key.sk
        ))
    })
}

fn decode_counter(item: &Item) -> Result<(u64, CounterRecord), TradingError> {
    Ok((item.version, decode(item)?))
}

/// Advances a counter read at `current` (absent: never used) to `next`.
fn counter_put(
    key: Key,
    current: Option<(u64, CounterRecord)>,
    next: u64,
) -> Result<WriteOp, TradingError> {
    let value = CounterRecord { next };
    match current {
        Some((version, _)) => put(key, version + 1, &value, Condition::VersionIs(version)),
        None => put(key, 1, &value, Condition::NotExists),
    }
}

/// A write that failed because another one got there first: worth doing again on fresh reads.
fn lost_race(error: &StoreError) -> bool {
    matches!(
        error,
        StoreError::ConditionFailed { .. } | StoreError::TransactionConflict
    )
}

fn storage_error(error: StoreError) -> TradingError {
    match error {
        // The simulator's storage is the platform: when it is down, so is the platform.
        StoreError::Unavailable(message) => {
            TradingError::PlatformUnavailable(format!("storage: {message}"))
        }
        StoreError::TransactionConflict => busy(),
        other => TradingError::Storage(other.to_string()),
    }
}

fn busy() -> TradingError {
    TradingError::PlatformUnavailable(
        "too many concurrent changes to the same account; retry".into(),
    )
}

/// Waits before attempt `attempt` (none before the first), with full jitter so contenders
/// spread out: up to 2 ms, 4 ms, ... capped at 128 ms.
async fn back_off(attempt: u32) {
    if attempt == 0 {
        return;
    }
    let cap_micros = 1000u64 << attempt.min(7);
    let wait = rand::random_range(0..cap_micros);
    tokio::time::sleep(Duration::from_micros(wait)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> AccountRecord {
        AccountRecord {
            login: FIRST_LOGIN,
            client_id: "client_1".into(),
            name: "Ann Lee".into(),
            group: "real\\retail-usd".into(),
            leverage: 100,
            currency: "USD".into(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            balance: Decimal::new(100_000, 2),
            credit: Decimal::new(20_000, 2),
            floating_profit: Decimal::ZERO,
            margin: Decimal::ZERO,
        }
    }

    fn usd(cents: i64) -> Decimal {
        Decimal::new(cents, 2)
    }

    #[test]
    fn withdrawals_take_balance_only_and_never_held_margin() {
        let mut account = account();
        assert_eq!(
            account.withdrawable(),
            usd(100_000),
            "credit is not withdrawable"
        );
        // Open positions losing 300 and holding 900 of margin: equity 900, free margin 0.
        account.floating_profit = usd(-30_000);
        account.margin = usd(90_000);
        assert_eq!(account.free_margin(), Decimal::ZERO);
        assert_eq!(account.withdrawable(), Decimal::ZERO);
        account.margin = usd(10_000);
        assert_eq!(account.withdrawable(), usd(80_000));
        let refused = apply(&account, BalanceOperationKind::Withdrawal, usd(80_001));
        assert_eq!(
            refused,
            Err(TradingError::InsufficientFunds {
                login: FIRST_LOGIN,
                requested: usd(80_001),
                available: usd(80_000),
            })
        );
        let done = apply(&account, BalanceOperationKind::Withdrawal, usd(80_000)).unwrap();
        assert_eq!(done.balance, usd(20_000));
    }

    #[test]
    fn operations_move_balance_or_credit() {
        let account = account();
        let deposit = apply(&account, BalanceOperationKind::Deposit, usd(50)).unwrap();
        assert_eq!(
            (deposit.balance, deposit.credit),
            (usd(100_050), usd(20_000))
        );
        let credit_in = apply(&account, BalanceOperationKind::CreditIn, usd(50)).unwrap();
        assert_eq!(
            (credit_in.balance, credit_in.credit),
            (usd(100_000), usd(20_050))
        );
        let credit_out = apply(&account, BalanceOperationKind::CreditOut, usd(20_000)).unwrap();
        assert_eq!(credit_out.credit, Decimal::ZERO);
        assert!(matches!(
            apply(&account, BalanceOperationKind::CreditOut, usd(20_001)),
            Err(TradingError::InsufficientCredit { .. })
        ));
        assert!(matches!(
            apply(&account, BalanceOperationKind::Deposit, Decimal::MAX),
            Err(TradingError::InvalidAmount(_))
        ));
    }

    #[test]
    fn cursors_resume_only_their_own_scope() {
        let login = cursor_scope(&DealScope::Login(7));
        let group = cursor_scope(&DealScope::Group("real\\a|b".into()));
        assert_eq!(decode_cursor(&login, &encode_cursor(&login, 42)), Ok(42));
        assert_eq!(decode_cursor(&group, &encode_cursor(&group, 43)), Ok(43));
        let foreign = [
            (
                cursor_scope(&DealScope::Login(8)),
                encode_cursor(&login, 42),
            ),
            (history_scope(SIMULATED_SERVER), encode_cursor(&login, 42)),
            (login.clone(), encode_cursor(&group, 42)),
            (login.clone(), DealCursor::from_token("42")),
            (login.clone(), DealCursor::from_token("sim1|login:7|x")),
        ];
        for (scope, cursor) in foreign {
            assert_eq!(
                decode_cursor(&scope, &cursor),
                Err(TradingError::InvalidCursor)
            );
        }
    }

    #[test]
    fn deal_sort_keys_order_as_tickets() {
        assert!(records::deal_sort_key(9) < records::deal_sort_key(10));
        assert!(records::deal_sort_key(FIRST_TICKET) < records::deal_sort_key(u64::MAX));
    }
}

#[cfg(test)]
mod order_tests {
    use super::*;
    use brokeros_store_sqlite::SqliteStore;
    use brokeros_trading::{DealAction, DealEntry};

    const NOON: OffsetDateTime = time::macros::datetime!(2026-03-02 12:00 UTC);

    async fn platform(dir: &tempfile::TempDir) -> (SimulatedPlatform, u64) {
        let store = SqliteStore::open(&dir.path().join("db.sqlite")).unwrap();
        let platform = SimulatedPlatform::new(Arc::new(store)).with_clock(|| NOON);
        let account = platform
            .create_account(NewAccount {
                request_id: "acc-1".into(),
                client_id: "client_1".into(),
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
                operation_id: "dep-1".into(),
                kind: BalanceOperationKind::Deposit,
                amount: Decimal::from(10_000),
                comment: String::new(),
            })
            .await
            .unwrap();
        (platform, account.login)
    }

    fn order(id: &str, login: u64, side: DealSide, lots: &str, closes: Option<u64>) -> MarketOrder {
        MarketOrder {
            order_id: id.into(),
            login,
            symbol: "EURUSD".into(),
            side,
            volume: lots.parse().unwrap(),
            closes_position: closes,
            comment: "copy".into(),
        }
    }

    #[tokio::test]
    async fn orders_fill_once_by_id_and_appear_in_the_deal_history() {
        let dir = tempfile::tempdir().unwrap();
        let (platform, login) = platform(&dir).await;
        let opened = platform
            .place_order(order("o-1", login, DealSide::Buy, "0.30", None))
            .await
            .unwrap();
        assert_eq!(opened.volume, Decimal::new(30, 2));
        assert_eq!(opened.executed_at, NOON);
        // The same id again: the first fill, nothing booked twice.
        let again = platform
            .place_order(order("o-1", login, DealSide::Buy, "0.3", None))
            .await
            .unwrap();
        assert_eq!(again, opened);
        let conflicting = platform
            .place_order(order("o-1", login, DealSide::Buy, "0.4", None))
            .await;
        assert!(matches!(conflicting, Err(TradingError::Conflict(_))));

        // A partial close, then the rest.
        let part = platform
            .place_order(order(
                "o-2",
                login,
                DealSide::Sell,
                "0.10",
                Some(opened.position_id),
            ))
            .await
            .unwrap();
        assert_eq!(part.position_id, opened.position_id);
        platform
            .place_order(order(
                "o-3",
                login,
                DealSide::Sell,
                "0.20",
                Some(opened.position_id),
            ))
            .await
            .unwrap();
        let history = platform
            .deal_changes(SIMULATED_SERVER, None, 100)
            .await
            .unwrap()
            .changes;
        let trades: Vec<(u64, DealAction, DealEntry, Decimal)> = history
            .iter()
            .filter(|c| c.deal.action.is_trade())
            .map(|c| (c.deal.deal, c.deal.action, c.deal.entry, c.deal.volume))
            .collect();
        assert_eq!(
            trades,
            [
                (
                    opened.deal,
                    DealAction::Buy,
                    DealEntry::In,
                    Decimal::new(30, 2)
                ),
                (
                    part.deal,
                    DealAction::Sell,
                    DealEntry::Out,
                    Decimal::new(10, 2)
                ),
                (
                    trades[2].0,
                    DealAction::Sell,
                    DealEntry::Out,
                    Decimal::new(20, 2)
                ),
            ]
        );
    }

    #[tokio::test]
    async fn orders_outside_the_symbol_or_the_position_are_refused_with_nothing_booked() {
        let dir = tempfile::tempdir().unwrap();
        let (platform, login) = platform(&dir).await;
        let spec = platform.symbol("EURUSD").await.unwrap();
        assert_eq!(
            (spec.volume_min, spec.volume_max, spec.volume_step),
            (Decimal::new(1, 2), Decimal::from(100), Decimal::new(1, 2))
        );
        assert!(platform.symbol("NOPE").await.is_err());
        let opened = platform
            .place_order(order("o-1", login, DealSide::Sell, "1", None))
            .await
            .unwrap();
        let before = platform
            .deal_changes(SIMULATED_SERVER, None, 100)
            .await
            .unwrap()
            .changes
            .len();
        for refused in [
            order("r-1", login, DealSide::Buy, "0.005", None),
            order("r-2", login, DealSide::Buy, "101", None),
            // Closing a sell with a sell, and more than it holds.
            order(
                "r-3",
                login,
                DealSide::Sell,
                "0.5",
                Some(opened.position_id),
            ),
            order("r-4", login, DealSide::Buy, "2", Some(opened.position_id)),
            order("r-5", login, DealSide::Buy, "1", Some(42)),
            order("r-6", 999, DealSide::Buy, "1", None),
        ] {
            let id = refused.order_id.clone();
            assert!(platform.place_order(refused).await.is_err(), "{id}");
        }
        let after = platform
            .deal_changes(SIMULATED_SERVER, None, 100)
            .await
            .unwrap()
            .changes
            .len();
        assert_eq!(before, after, "nothing booked");
        // A refused id is not used up.
        platform
            .place_order(order(
                "r-4",
                login,
                DealSide::Buy,
                "1",
                Some(opened.position_id),
            ))
            .await
            .unwrap();
    }
}
