//! The live accrual path: each batch of ingested deals ([`crate::deals::stage_next_batch`])
//! becomes explained legs in the store, in the batch's own transaction, so a deal is ingested
//! and accrued exactly once or not at all.
//!
//! **The client's book.** The Lambda is stateless, so the engine's memory of a client lives in
//! the store, one book per client and platform server (tickets and position ids are each
//! server's own): every counted deal of the client on the server
//! (`IBCLIENTDEAL#<client>#<server>`, by time and ticket: [`ClientDeal`]) with its revision,
//! its legs' generation and its legs as they stand, and the book's head
//! (`IBCLIENTBOOK#<client>#<server>`: [`BookHead`]): the engine's state after those deals in
//! time order (open positions, CPA progress, last deal: [`ClientState`]) and the deals after
//! which the book keeps a checkpoint of that state (an item beside the deals, one every
//! [`CHECKPOINT_EVERY`] deals). A batch reads the heads of its clients by key; a client whose
//! changes in the batch are all new deals after its last one (the usual case) is restored from
//! its head alone and its new deals computed in order; any other client (a late, corrected or
//! cancelled deal) has its book read from the last checkpoint before the earliest deal the
//! batch touches, and the change replays the deals from there, answering with reversal and
//! recomputed legs. The batch writes the new legs, the deals added or whose legs changed (over
//! the versions read), a checkpoint when one is due, and the heads (over the versions read, so
//! two runs cannot both move a book; a replay drops the checkpoints from its start on). A leg
//! counts in its plan's period at the deal's time unless that period is closed: then in the
//! next open period of the same kind, saying where it came from (`late_from`). Every period
//! written into is checked open in the same transaction. A leg's JSON is written once and
//! shared by its item and its deal's book entry.
//!
//! **Rates.** Each deal converts at the FX port's quote for its own time, never at one fetched
//! for another deal of the batch (so a leg is the same whichever deals share its batch). The
//! engine reads rates without I/O: the quotes the batch's deals will likely need are fetched
//! first, a run notes any it still lacks, they are fetched and the run starts again. A quote
//! the port cannot give (or gives too old to pay with) holds the batch: nothing is written and
//! the next run tries again.
//!
//! **A deal the engine refuses** (its currency is not one Broker OS books, say) does not stop
//! the feed: the change is quarantined — recorded as an audited [`QuarantinedDeal`] with the
//! change and the engine's error, counted on the feed, listed for partner managers
//! ([`quarantined_deals`], `GET /partners/quarantined-deals`) — and the batch is computed again
//! without it, the client's book as if the change had not come. A later correction of the deal
//! accrues as usual.
//!
//! **Writes beyond one transaction.** A batch whose writes would pass the store's 100
//! operations is read again with as many changes as would have fitted (over the same reads).
//! A single change whose replay corrects more deals than one transaction holds is split by
//! deal, in time order: the change with the corrections that fit commits first (the changed
//! deal's own writes always among them), the head noting where the rest starts
//! (`replay_from`) and the feed naming the client (`replaying`); the next batches of the server
//! finish each such replay — recomputing the client's deals from that point and writing what
//! still differs, each step one transaction under the feed's and the book's versions — before
//! they read new changes. A change whose own deal's writes do not fit a transaction is
//! quarantined ([`REPLAY_TOO_LARGE`]).
//!
//! **Known limits.** A change older than the oldest checkpoint a head lists
//! ([`MAX_CHECKPOINTS`]) reads the book from the client's first deal. The CPA is measured per
//! server's book: a client trading on two servers may qualify on each. Books written before
//! they were kept per server (`IBCLIENTDEAL#<client>`) are not read: no deployment has gone
//! live; recreate such local data.

pub mod repo;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use utoipa::IntoParams;

use brokeros_kernel::changeset::{Audited, Changeset, Committed};
use brokeros_kernel::principal::Principal;
use brokeros_kernel::{Core, Error, QueueFilter, Result, normalize};
use brokeros_store::{MAX_TRANSACTION_OPS, WriteOp};
use brokeros_trading::{DealChange, DealChangeKind, TradingPlatform};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::deals::{
    self, AppliedChange, BatchReport, CHANGES_PER_BATCH, DealFeed, FEED_WRITES, StagedBatch,
};
use crate::fx::{FxRates, MAX_QUOTE_AGE_MSC};
use crate::model::engine::Basis;
use crate::model::{
    Accrual, Beneficiary, BookedDeal, ClientState, Engine, EngineState, FxRate, Hierarchy, Millis,
    Period, PeriodKind, PlanBook, RateSource,
};
use crate::{Services, load_hierarchy, plans, require_partner_manager};

/// A leg as stored: the engine's leg, the period it counts in, and the period it belonged to
/// when that one had closed before the leg was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoredLeg {
    pub leg: Accrual,
    /// The period the leg counts in (its statement's).
    pub period: Period,
    /// The plan's period at the deal's time, when it was closed and the leg moved to `period`.
    #[schema(required)]
    pub late_from: Option<Period>,
}

/// One deal of a client's book as stored: the server it came from and the engine's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientDeal {
    pub server: String,
    pub booked: BookedDeal,
}

/// The head of a client's book on one server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookHead {
    /// The engine's state after the book's deals, in time order.
    pub state: ClientState,
    /// Set while a replay's corrections are written in several transactions: the book's deals
    /// from this (time, ticket) on may still hold the legs they had before the replay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_from: Option<(Millis, u64)>,
    /// The deals (time, ticket) after which the book keeps the engine's state, oldest first: a
    /// late, corrected or cancelled deal reads the book from the last one before it, not from
    /// the client's first deal. A replay drops those from its start on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checkpoints: Vec<(Millis, u64)>,
    /// Deals added since the last checkpoint.
    #[serde(default)]
    pub since_checkpoint: u32,
}

/// A checkpoint is taken once this many deals were added to a book after the last one: a
/// change reads about half as many deals before it, on average.
pub const CHECKPOINT_EVERY: u32 = 16;
/// The checkpoints a head keeps (the latest): a change older than the oldest reads the book
/// from its first deal.
pub const MAX_CHECKPOINTS: usize = 16;

/// A deal change whose accrual was refused: ingested (its revision recorded), not accrued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QuarantinedDeal {
    /// `<server>:<deal>:<revision>`.
    pub id: String,
    pub server: String,
    pub deal: u64,
    pub revision: u32,
    pub login: u64,
    /// The client the deal's login belongs to.
    #[schema(required)]
    pub client: Option<String>,
    /// Why: the engine's error code (`unknown_currency`, …), or [`REPLAY_TOO_LARGE`].
    pub code: String,
    pub message: String,
    /// The change as the platform delivered it.
    pub change: DealChange,
    #[serde(with = "time::serde::rfc3339")]
    pub quarantined_at: OffsetDateTime,
}

/// The quarantine code of a change whose own deal's writes do not fit one transaction.
pub const REPLAY_TOO_LARGE: &str = "replay_too_large";

/// The code of the engine's error for a rate it does not have: the batch waits for the rate.
const FX_RATE_MISSING: &str = "fx_rate_missing";

/// The store operations a quarantined change adds: its record and its audit event.
const QUARANTINE_WRITES: usize = 2;

/// What one call of [`accrue_next_batch`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccrualOutcome {
    /// Nothing new on the feed.
    CaughtUp,
    Accrued(AccrualReport),
    /// Other runs kept winning the race for the feed or a client's book: nothing was written.
    Raced,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccrualReport {
    /// The ingestion side of the batch (its `writes` are the ingestion's share; no changes
    /// when the batch continued a replay).
    pub ingestion: BatchReport,
    /// Legs written (reversals included).
    pub legs: u32,
    /// Store operations the batch committed, ingestion and accrual together, in one
    /// transaction.
    pub writes: u32,
    /// Changes quarantined.
    pub quarantined: u32,
}

/// How many times a batch is read again after losing a race before the run gives up.
const MAX_RACES: u32 = 5;

/// Ingests and accrues the next batch of `server`'s deal changes in one transaction (or
/// continues a replay the feed names, before reading new changes).
///
/// Errors: the platform's and the FX port's (a missing rate: the batch waits for it), storage,
/// `Internal` when one deal's corrections of a replay to finish do not fit one transaction.
pub async fn accrue_next_batch(
    services: &Services,
    platform: &dyn TradingPlatform,
    fx: &dyn FxRates,
    server: &str,
) -> Result<AccrualOutcome> {
    accrue_batch_of(services, platform, fx, server, CHANGES_PER_BATCH).await
}

/// [`accrue_next_batch`] reading at most `limit` changes (1 to
/// [`deals::MAX_CHANGES_PER_BATCH`]); fewer when their writes would not fit one transaction.
///
/// Errors: as [`accrue_next_batch`], and `Validation` (`limit`).
pub async fn accrue_batch_of(
    services: &Services,
    platform: &dyn TradingPlatform,
    fx: &dyn FxRates,
    server: &str,
    limit: u32,
) -> Result<AccrualOutcome> {
    deals::check_batch_size(limit)?;
    let core = &services.core;
    let mut limit = limit;
    let mut races = 0;
    // What the last reading of the batch read besides its changes: a batch read again with
    // fewer changes (their writes did not fit) computes them over the same reads.
    let mut reads = None;
    loop {
        let feed = core.find::<DealFeed>(server).await?;
        let (changes, report) = match feed {
            Some(feed) if !feed.entity.replaying.is_empty() => {
                continue_replay(services, fx, feed).await?
            }
            feed => {
                let Some(batch) =
                    deals::stage_batch_after(core, platform, server, feed, limit).await?
                else {
                    return Ok(AccrualOutcome::CaughtUp);
                };
                match accrue_batch(services, fx, batch, &mut reads).await? {
                    Planned::Commit(changes, report) => (changes, report),
                    Planned::Fewer(fewer) => {
                        limit = fewer;
                        continue;
                    }
                }
            }
        };
        match core.commit(changes).await? {
            Committed::Applied => return Ok(AccrualOutcome::Accrued(report)),
            Committed::Raced if races < MAX_RACES => {
                races += 1;
                reads = None;
            }
            Committed::Raced => return Ok(AccrualOutcome::Raced),
        }
    }
}

/// What a staged batch comes to.
enum Planned {
    Commit(Changeset, AccrualReport),
    /// Its writes do not fit one transaction: read again with this many changes.
    Fewer(u32),
}

/// What the engine does with an applied change: the change itself when the deal counts, a
/// cancellation of what it accrued when it no longer does (a correction the platform booked
/// malformed), nothing otherwise.
fn engine_change(applied: &AppliedChange) -> Option<DealChange> {
    if applied.accrues.is_some() {
        return Some(applied.change.clone());
    }
    applied.reverses.as_ref().map(|before| DealChange {
        kind: DealChangeKind::Cancelled,
        revision: applied.change.revision,
        deal: before.clone(),
        changed_at_msc: applied.change.changed_at_msc,
    })
}

/// A client's book on the batch's server, as read.
struct BookRead {
    /// The head with the version read; `None` before the client's first deal on the server.
    head: Option<(u64, BookHead)>,
    /// The earliest deal (time, ticket) the batch changes or replays from, when it is not a
    /// new deal after every deal of the book: then the book is read from a checkpoint before it.
    earliest: Option<(Millis, u64)>,
    /// The engine's state before the first deal kept: the checkpoint's moved past the deals
    /// between it and `earliest` (`None`: the book is kept from its first deal).
    base: Option<ClientState>,
    /// How many deals the book holds after its last checkpoint kept (the base's and the kept).
    since_checkpoint: usize,
    /// The deals from `earliest` on, with the versions read, when `earliest` is set.
    deals: Option<Vec<(u64, ClientDeal)>>,
}

/// An engine change, and the time and ticket of the revision it replaces (when that one
/// counted).
type ChangeOf<'a> = (&'a DealChange, Option<(Millis, u64)>);

fn key_of(change: &DealChange) -> (Millis, u64) {
    (change.deal.time_msc, change.deal.deal)
}

/// The earliest deal (time, ticket) a client's `changes` (in batch order) touch, unless they
/// are all new deals after every deal its book holds, each after the one before: then the
/// head alone restores what the engine needs (`None`).
fn earliest_touched(head: Option<&BookHead>, changes: &[ChangeOf<'_>]) -> Option<(Millis, u64)> {
    let touched = changes
        .iter()
        .flat_map(|(change, replaced)| [Some(key_of(change)), *replaced])
        .flatten()
        .chain(head.and_then(|h| h.replay_from))
        .min();
    if head.is_some_and(|h| h.replay_from.is_some()) {
        return touched;
    }
    let mut last = head.and_then(|h| h.state.last());
    for (change, _) in changes {
        let key = key_of(change);
        if change.kind != DealChangeKind::Added || last.is_some_and(|l| key <= l) {
            return touched;
        }
        last = Some(key);
    }
    None
}

/// A client's book from the last checkpoint before `earliest` (from its first deal without
/// one).
async fn read_book(
    core: &Core,
    client: &str,
    server: &str,
    head: Option<(u64, BookHead)>,
    earliest: (Millis, u64),
) -> Result<BookRead> {
    let checkpoint = head
        .as_ref()
        .and_then(|(_, h)| h.checkpoints.iter().rev().find(|k| **k < earliest))
        .copied();
    let book = repo::client_book(core, client, server, checkpoint, earliest).await?;
    // The deals before `earliest` keep their legs whatever the batch does: the engine starts
    // after them.
    let passed = book.passed.len();
    let base = match (book.state, passed) {
        (None, 0) => None,
        (state, _) => Some(state.unwrap_or_default().passing(book.passed)),
    };
    Ok(BookRead {
        head,
        earliest: Some(earliest),
        base,
        since_checkpoint: passed + book.deals.len(),
        deals: Some(book.deals),
    })
}

/// The books of `clients` on `server`: every head by key, and the deals the clients' changes
/// need.
async fn read_books(
    core: &Core,
    server: &str,
    clients: &BTreeMap<String, Vec<ChangeOf<'_>>>,
) -> Result<BTreeMap<String, BookRead>> {
    let ids: Vec<&str> = clients.keys().map(String::as_str).collect();
    let heads = repo::book_heads(core, &ids, server).await?;
    let mut books = BTreeMap::new();
    for ((client, changes), head) in clients.iter().zip(heads) {
        let read = match earliest_touched(head.as_ref().map(|(_, h)| h), changes) {
            None => BookRead {
                head,
                earliest: None,
                base: None,
                since_checkpoint: 0,
                deals: None,
            },
            Some(earliest) => read_book(core, client, server, head, earliest).await?,
        };
        books.insert(client.clone(), read);
    }
    Ok(books)
}

/// Every version of the plans the tree's IBs name.
async fn plans_of(services: &Services, tree: &Hierarchy) -> Result<PlanBook> {
    let plan_ids: BTreeSet<&str> = tree
        .ibs()
        .flat_map(|ib| ib.plans.entries())
        .flat_map(|d| d.value.iter().map(String::as_str))
        .collect();
    plans::plan_book(&services.core, &services.config.symbol_groups, plan_ids).await
}

/// What a batch reads besides its changes: the tree of its logins, its clients' books, the
/// plans, the quotes fetched and where each period's legs land.
struct Reads {
    logins: BTreeSet<u64>,
    tree: Hierarchy,
    books: BTreeMap<String, BookRead>,
    plans: PlanBook,
    quotes: QuotesAsked,
    placements: BTreeMap<Period, Period>,
}

impl Reads {
    /// Whether these reads hold everything a batch of `logins` and `clients` needs (a batch
    /// read again with fewer changes: its first ones).
    fn cover(&self, logins: &BTreeSet<u64>, clients: &BTreeMap<String, Vec<ChangeOf<'_>>>) -> bool {
        logins.is_subset(&self.logins) && clients.keys().all(|c| self.books.contains_key(c))
    }
}

/// Ingests and accrues `batch`: one transaction when its writes fit, else fewer changes, and a
/// single change's replay split (or the change quarantined when its own writes do not fit).
/// `reads` are those of the same batch read with more changes, if any; they are kept for a
/// reading with fewer.
async fn accrue_batch(
    services: &Services,
    fx: &dyn FxRates,
    mut batch: StagedBatch,
    reads: &mut Option<Reads>,
) -> Result<Planned> {
    let core = &services.core;
    let server = batch.server.clone();
    let (applied_at, changes): (Vec<usize>, Vec<DealChange>) = batch
        .applied
        .iter()
        .enumerate()
        .filter_map(|(i, a)| engine_change(a).map(|c| (i, c)))
        .unzip();
    let replaced: Vec<Option<(Millis, u64)>> = applied_at
        .iter()
        .map(|i| {
            let before = batch.applied[*i].reverses.as_ref();
            before.map(|d| (d.time_msc, d.deal))
        })
        .collect();
    let logins: BTreeSet<u64> = changes.iter().map(|c| c.deal.login).collect();
    if reads.as_ref().is_none_or(|r| !logins.is_subset(&r.logins)) {
        *reads = None;
    }
    let tree = match reads.take() {
        Some(cached) => {
            let tree = cached.tree.clone();
            *reads = Some(cached);
            tree
        }
        None if logins.is_empty() => Hierarchy::default(),
        None => load_hierarchy(services, &logins.iter().copied().collect::<Vec<_>>()).await?,
    };
    let mut of_client: BTreeMap<String, Vec<ChangeOf<'_>>> = BTreeMap::new();
    for (change, replaced) in changes.iter().zip(&replaced) {
        if let Some(client) = tree.client_of_login(change.deal.login) {
            let entry = of_client.entry(client.id.clone()).or_default();
            entry.push((change, *replaced));
        }
    }
    let ingestion = batch.report();
    if of_client.is_empty() {
        return seal(batch, core, ingestion, AccrualWrites::default(), 0);
    }
    let mut cached = match reads.take() {
        Some(cached) if cached.cover(&logins, &of_client) => cached,
        _ => Reads {
            books: read_books(core, &server, &of_client).await?,
            plans: plans_of(services, &tree).await?,
            logins,
            tree,
            quotes: QuotesAsked::default(),
            placements: BTreeMap::new(),
        },
    };
    let books: BTreeMap<&str, &BookRead> = cached
        .books
        .iter()
        .filter(|(client, _)| of_client.contains_key(*client))
        .map(|(client, read)| (client.as_str(), read))
        .collect();
    let run = run_engine(
        &cached.plans,
        &cached.tree,
        fx,
        &server,
        &books,
        &changes,
        &mut cached.quotes,
    )
    .await?;
    let placed = place_in_open_periods(core, &run.legs, &mut cached.placements).await?;
    let mut clients = client_writes(&server, &books, &run.state, placed)?;

    let refused: Vec<(usize, Error)> = run
        .refused
        .into_iter()
        .map(|(i, e)| (applied_at[i], e))
        .collect();
    let fixed = ingestion.writes as usize + QUARANTINE_WRITES * refused.len();
    let mut all = AccrualWrites::counting();
    for client in &mut clients {
        all.add_head_of(client, &server)?;
        for group in &client.groups {
            all.add(group)?;
        }
    }
    if fixed + all.len() <= MAX_TRANSACTION_OPS {
        let mut writes = AccrualWrites::default();
        for client in &mut clients {
            writes.add_head_of(client, &server)?;
            for group in &client.groups {
                writes.add(group)?;
            }
        }
        for (index, error) in &refused {
            quarantine(&mut batch, core, &cached.tree, *index, error)?;
        }
        return seal(batch, core, ingestion, writes, refused.len() as u32);
    }
    let read = batch.applied.len() + batch.skipped as usize;
    if read > 1 {
        let refused: BTreeSet<usize> = refused.iter().map(|(i, _)| *i).collect();
        let fitting = fitting_prefix(&batch, &clients, &cached.tree, &refused);
        *reads = Some(cached);
        return Ok(Planned::Fewer(fitting.clamp(1, read - 1) as u32));
    }
    // One change, one client: its replay's corrections split, in time order.
    let [client] = &mut clients[..] else {
        return Err(Error::Internal(format!(
            "a single change of {server} touches {} clients' books",
            clients.len()
        )));
    };
    let mut first = AccrualWrites::default();
    let mut written = 0;
    for group in &client.groups {
        if fixed + 1 + first.len() + first.cost(group) > MAX_TRANSACTION_OPS {
            break;
        }
        first.add(group)?;
        written += 1;
    }
    if written == 0 {
        let refusal = Error::invalid(
            REPLAY_TOO_LARGE,
            "deals",
            format!(
                "the change's own corrections need more than the {MAX_TRANSACTION_OPS} writes of one transaction"
            ),
        );
        quarantine(&mut batch, core, &cached.tree, 0, &refusal)?;
        return seal(batch, core, ingestion, AccrualWrites::default(), 1);
    }
    client.head.replay_from = client.groups.get(written).map(|g| g.key);
    if client.head.replay_from.is_some() && !batch.next.replaying.contains(&client.client) {
        batch.next.replaying.push(client.client.clone());
    }
    first.add_head_of(client, &server)?;
    seal(batch, core, ingestion, first, 0)
}

/// How many of `batch`'s first changes would fit one transaction: their writes counted in feed
/// order, each deal's ingestion and book entries and legs once, each client's head once (with
/// the corrections of its other deals a replay makes), each period's beneficiary entry and
/// check once. An estimate: a replay's corrections depend on the changes taken.
fn fitting_prefix(
    batch: &StagedBatch,
    clients: &[ClientWrites],
    tree: &Hierarchy,
    refused: &BTreeSet<usize>,
) -> usize {
    let in_batch: BTreeSet<u64> = batch.applied.iter().map(|a| a.change.deal.deal).collect();
    let mut ops = FEED_WRITES;
    let mut tally = AccrualWrites::counting();
    let mut seen_deals = BTreeSet::new();
    let mut seen_clients = BTreeSet::new();
    for (i, applied) in batch.applied.iter().enumerate() {
        let deal = &applied.change.deal;
        let mut own = 0;
        let mut groups: Vec<&Group> = Vec::new();
        if seen_deals.insert(deal.deal) {
            own += 1;
            if refused.contains(&i) {
                own += QUARANTINE_WRITES;
            }
            let client = tree
                .client_of_login(deal.login)
                .and_then(|c| clients.iter().find(|w| w.client == c.id));
            if let Some(client) = client {
                if seen_clients.insert(&client.client) {
                    own += 1;
                    groups.extend(client.groups.iter().filter(|g| !in_batch.contains(&g.deal)));
                }
                groups.extend(client.groups.iter().filter(|g| g.deal == deal.deal));
            }
        }
        let cost: usize = groups.iter().map(|g| tally.cost(g)).sum();
        if ops + own + tally.len() + cost > MAX_TRANSACTION_OPS {
            return i;
        }
        ops += own;
        for group in groups {
            // Counting only: nothing is encoded, nothing fails.
            let _ = tally.add(group);
        }
    }
    batch.applied.len()
}

/// The batch's changeset: its ingestion (with `quarantined` changes recorded), the accrual's
/// `writes` and the feed's move.
fn seal(
    mut batch: StagedBatch,
    core: &Core,
    ingestion: BatchReport,
    writes: AccrualWrites,
    quarantined: u32,
) -> Result<Planned> {
    let legs = writes.legs;
    for op in writes.ops {
        batch.changes.put(op);
    }
    let changes = batch.seal(core)?;
    let writes = changes.len() as u32;
    Ok(Planned::Commit(
        changes,
        AccrualReport {
            ingestion,
            legs,
            writes,
            quarantined,
        },
    ))
}

/// Records applied change `index` of `batch` as quarantined with `error`, audited, and
/// counts it on the feed.
fn quarantine(
    batch: &mut StagedBatch,
    core: &Core,
    tree: &Hierarchy,
    index: usize,
    error: &Error,
) -> Result<()> {
    let applied = &batch.applied[index].change;
    let ctx = batch.ctx().clone();
    let record = QuarantinedDeal {
        id: format!(
            "{}:{}:{}",
            batch.server, applied.deal.deal, applied.revision
        ),
        server: batch.server.clone(),
        deal: applied.deal.deal,
        revision: applied.revision,
        login: applied.deal.login,
        client: tree
            .client_of_login(applied.deal.login)
            .map(|c| c.id.clone()),
        code: error.code().to_string(),
        message: error.to_string(),
        change: applied.clone(),
        quarantined_at: ctx.now,
    };
    batch
        .changes
        .create(&ctx, core.ids.as_ref(), &record, "ib_deal.quarantined")?;
    batch.next.changes_quarantined += 1;
    Ok(())
}

/// Finishes the first replay `feed` names (see the module's doc): recomputes the client's deals
/// from where the last step stopped and writes the corrections that fit one transaction, with
/// the feed's move (the client leaves its list once done).
async fn continue_replay(
    services: &Services,
    fx: &dyn FxRates,
    feed: Audited<DealFeed>,
) -> Result<(Changeset, AccrualReport)> {
    let core = &services.core;
    let server = feed.entity.server.clone();
    let client = feed.entity.replaying[0].clone();
    let mut next = feed.entity.clone();
    let head = repo::book_heads(core, &[client.as_str()], &server)
        .await?
        .pop()
        .flatten();
    let mut writes = AccrualWrites::default();
    let mut done = true;
    if let Some((version, head)) = head
        && head.replay_from.is_some()
    {
        let from = head.replay_from.unwrap_or((Millis::MIN, 0));
        let read = read_book(core, &client, &server, Some((version, head)), from).await?;
        let logins: Vec<u64> = read
            .deals
            .iter()
            .flatten()
            .map(|(_, d)| d.booked.deal.login)
            .chain(read.base.iter().flat_map(ClientState::logins))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let tree = load_hierarchy(services, &logins).await?;
        let plans = plans_of(services, &tree).await?;
        let books = BTreeMap::from([(client.as_str(), &read)]);
        let mut quotes = QuotesAsked::default();
        let run = run_engine(&plans, &tree, fx, &server, &books, &[], &mut quotes).await?;
        let placed = place_in_open_periods(core, &run.legs, &mut BTreeMap::new()).await?;
        let mut clients = client_writes(&server, &books, &run.state, placed)?;
        let Some(mut book) = clients.pop() else {
            return Err(Error::Internal(format!(
                "the replay of client {client} on {server} has no book"
            )));
        };
        let mut written = 0;
        for group in &book.groups {
            if FEED_WRITES + 1 + writes.len() + writes.cost(group) > MAX_TRANSACTION_OPS {
                break;
            }
            writes.add(group)?;
            written += 1;
        }
        if written == 0 && !book.groups.is_empty() {
            return Err(Error::Internal(format!(
                "the corrections of one deal of client {client} on {server} need more writes than one transaction holds"
            )));
        }
        book.head.replay_from = book.groups.get(written).map(|g| g.key);
        done = book.head.replay_from.is_none();
        writes.add_head_of(&book, &server)?;
    }
    if done {
        next.replaying.retain(|c| c != &client);
    }
    let mut changes = Changeset::new();
    let ctx = deals::ingestion_ctx(core, &server);
    changes.update(
        &ctx,
        core.ids.as_ref(),
        &feed,
        &next,
        "deal_feed.replay_continued",
        vec![],
    )?;
    let legs = writes.legs;
    for op in writes.ops {
        changes.put(op);
    }
    let writes = changes.len() as u32;
    let ingestion = BatchReport {
        applied: 0,
        skipped: 0,
        rejected: 0,
        has_more: true,
        writes: FEED_WRITES as u32,
    };
    Ok((
        changes,
        AccrualReport {
            ingestion,
            legs,
            writes,
            quarantined: 0,
        },
    ))
}

/// What one deal of a client's book changes: its stored entry and its legs. The unit a
/// replay's corrections are split by: written whole or not at all.
struct Group {
    /// The deal's ticket.
    deal: u64,
    /// The earlier of the deal's time and ticket as stored and as it now stands.
    key: (Millis, u64),
    /// The entry's put or delete (both when a correction moved the deal in time).
    entries: Vec<Entry>,
    legs: Vec<StoredLeg>,
}

/// A write of a deal of a client's book (encoded when the transaction is assembled).
enum Entry {
    /// Of the client, over the version read (`None`: new).
    Put(String, ClientDeal, Option<u64>),
    /// Of the client, as read, at this version.
    Delete(String, ClientDeal, u64),
}

/// What a batch writes of one client's book.
struct ClientWrites {
    client: String,
    /// The head's version as read (`None`: the book's first).
    head_read: Option<u64>,
    head: BookHead,
    head_before: Option<BookHead>,
    /// In time order.
    groups: Vec<Group>,
}

/// The writes that bring each client's stored book (as read) to the engine's `state`, with
/// the client's `placed` legs, deal by deal: deals added or whose legs changed put over the
/// version read, deals gone (cancelled, or moved in time by a correction) deleted.
fn client_writes(
    server: &str,
    books: &BTreeMap<&str, &BookRead>,
    state: &EngineState,
    placed: Vec<StoredLeg>,
) -> Result<Vec<ClientWrites>> {
    let mut legs_of: BTreeMap<(&str, u64), Vec<StoredLeg>> = BTreeMap::new();
    let clients: BTreeSet<&str> = books.keys().copied().collect();
    for leg in placed {
        let client = clients.get(&*leg.leg.client).copied().ok_or_else(|| {
            Error::Internal(format!(
                "a leg names client {} outside the batch",
                leg.leg.client
            ))
        })?;
        legs_of.entry((client, leg.leg.deal)).or_default().push(leg);
    }
    let key = |d: &BookedDeal| (d.deal.time_msc, d.deal.deal);
    let mut out = Vec::new();
    for (client, read) in books {
        let mut stored: BTreeMap<u64, &(u64, ClientDeal)> = read
            .deals
            .iter()
            .flatten()
            .map(|entry| (entry.1.booked.deal.deal, entry))
            .collect();
        let mut groups: BTreeMap<u64, Group> = BTreeMap::new();
        let after = state.booked_deals(client);
        // The deals the batch read from the checkpoint, less those it replays, plus those it
        // now holds.
        let read_deals = read.deals.as_ref().map_or(0, Vec::len);
        let held = (read.since_checkpoint - read_deals + after.len()) as u32;
        for booked in after {
            let ticket = booked.deal.deal;
            let at = key(&booked);
            let deal = ClientDeal {
                server: server.to_string(),
                booked,
            };
            match stored.remove(&ticket) {
                Some((_, current)) if current.booked == deal.booked => {}
                Some((version, current)) if key(&current.booked) == at => {
                    let put = Entry::Put(client.to_string(), deal, Some(*version));
                    group_of(&mut groups, ticket, at).entries.push(put);
                }
                Some((version, current)) => {
                    let delete = Entry::Delete(client.to_string(), current.clone(), *version);
                    let put = Entry::Put(client.to_string(), deal, None);
                    let g = group_of(&mut groups, ticket, at.min(key(&current.booked)));
                    g.entries.extend([delete, put]);
                }
                None => {
                    let put = Entry::Put(client.to_string(), deal, None);
                    group_of(&mut groups, ticket, at).entries.push(put);
                }
            }
        }
        for (ticket, (version, current)) in stored {
            let delete = Entry::Delete(client.to_string(), current.clone(), *version);
            group_of(&mut groups, ticket, key(&current.booked))
                .entries
                .push(delete);
        }
        for ((_, ticket), legs) in legs_of.range((*client, 0)..=(*client, u64::MAX)) {
            let at = legs
                .iter()
                .map(|l| (l.leg.time_msc, *ticket))
                .min()
                .expect("a group of legs is not empty");
            group_of(&mut groups, *ticket, at)
                .legs
                .extend(legs.iter().cloned());
        }
        let mut groups: Vec<Group> = groups.into_values().collect();
        groups.sort_by_key(|g| g.key);
        let head_before = read.head.as_ref().map(|(_, h)| h.clone());
        let before = head_before.clone().unwrap_or_default();
        let head = BookHead {
            state: state.client_state(client).unwrap_or_default(),
            replay_from: None,
            // A checkpoint from the replay's start on no longer holds.
            checkpoints: (before.checkpoints.into_iter())
                .filter(|k| read.earliest.is_none_or(|e| *k < e))
                .collect(),
            // Deals after the last checkpoint kept: those the batch restored when it read the
            // book from one (all of them after it), else those before plus the new ones.
            since_checkpoint: match &read.deals {
                Some(_) => held,
                None => before.since_checkpoint + groups.len() as u32,
            },
        };
        out.push(ClientWrites {
            client: client.to_string(),
            head_read: read.head.as_ref().map(|(v, _)| *v),
            head,
            head_before,
            groups,
        });
    }
    Ok(out)
}

/// Deal `ticket`'s group, whose key is at most `at`.
fn group_of(groups: &mut BTreeMap<u64, Group>, ticket: u64, at: (Millis, u64)) -> &mut Group {
    let group = groups.entry(ticket).or_insert_with(|| Group {
        deal: ticket,
        key: at,
        entries: Vec::new(),
        legs: Vec::new(),
    });
    group.key = group.key.min(at);
    group
}

/// What tells a deal's legs apart (the parts of its id), without building the id.
#[derive(PartialEq, Eq, Hash)]
struct LegIdentity<'a> {
    beneficiary: &'a Beneficiary,
    level: u32,
    kind: crate::model::LegKind,
    revision: u32,
    generation: u32,
    reversal: bool,
}

impl<'a> LegIdentity<'a> {
    fn of(leg: &'a Accrual) -> LegIdentity<'a> {
        LegIdentity {
            beneficiary: &leg.beneficiary,
            level: leg.level,
            kind: leg.kind,
            revision: leg.revision,
            generation: leg.generation,
            reversal: leg.reversal,
        }
    }
}

fn encode_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Internal(e.to_string()))
}

/// The accrual's writes for one transaction, as groups are added: each leg with its period's
/// beneficiary entry and open check, each of those once.
#[derive(Default)]
struct AccrualWrites {
    ops: Vec<WriteOp>,
    /// Counts the writes without building them (a batch that may not fit is not encoded).
    counting: bool,
    count: usize,
    listed: BTreeSet<(Period, Beneficiary)>,
    checked: BTreeSet<Period>,
    legs: u32,
}

impl AccrualWrites {
    fn counting() -> AccrualWrites {
        AccrualWrites {
            counting: true,
            ..AccrualWrites::default()
        }
    }

    fn len(&self) -> usize {
        self.count
    }

    fn push(&mut self, op: impl FnOnce() -> Result<WriteOp>) -> Result<()> {
        self.count += 1;
        if !self.counting {
            self.ops.push(op()?);
        }
        Ok(())
    }

    /// The operations `group` would add.
    fn cost(&self, group: &Group) -> usize {
        let listed: BTreeSet<(Period, &Beneficiary)> = group
            .legs
            .iter()
            .map(|l| (l.period, &l.leg.beneficiary))
            .filter(|(p, b)| !self.listed.contains(&(*p, (*b).clone())))
            .collect();
        let checked: BTreeSet<Period> = group
            .legs
            .iter()
            .map(|l| l.period)
            .filter(|p| !self.checked.contains(p))
            .collect();
        group.entries.len() + group.legs.len() + listed.len() + checked.len()
    }

    fn add(&mut self, group: &Group) -> Result<()> {
        // Each leg is encoded once: its item and its deal's book entry share the JSON; and the
        // legs of one basis share its JSON.
        let mut encoded: HashMap<LegIdentity<'_>, String> = HashMap::new();
        let mut bases: HashMap<*const Basis, String> = HashMap::new();
        for leg in &group.legs {
            self.push(|| {
                let basis = &leg.leg.explanation.basis;
                let basis = match bases.entry(Arc::as_ptr(basis)) {
                    std::collections::hash_map::Entry::Occupied(known) => known.into_mut(),
                    std::collections::hash_map::Entry::Vacant(new) => {
                        new.insert(repo::basis_json(basis)?)
                    }
                };
                let accrual = repo::accrual_json(&leg.leg, basis)?;
                let put = repo::encoded_leg_put(leg, &leg.leg.id(), &accrual)?;
                encoded.insert(LegIdentity::of(&leg.leg), accrual);
                Ok(put)
            })?;
            if self
                .listed
                .insert((leg.period, leg.leg.beneficiary.clone()))
            {
                self.push(|| repo::period_beneficiary_put(leg.period, &leg.leg.beneficiary))?;
            }
            if self.checked.insert(leg.period) {
                self.push(|| Ok(repo::period_open_check(leg.period)))?;
            }
            self.legs += 1;
        }
        for entry in &group.entries {
            self.push(|| match entry {
                Entry::Put(client, deal, version) => {
                    // A leg of the entry not written with it (none, as the engine answers a
                    // changed deal with all its legs) is encoded here.
                    let missing: Vec<String> = (deal.booked.legs.iter())
                        .filter(|leg| !encoded.contains_key(&LegIdentity::of(leg)))
                        .map(encode_json)
                        .collect::<Result<_>>()?;
                    let mut missing = missing.iter();
                    let legs: Vec<&str> = (deal.booked.legs.iter())
                        .map(|leg| match encoded.get(&LegIdentity::of(leg)) {
                            Some(json) => json.as_str(),
                            None => missing.next().map_or("", String::as_str),
                        })
                        .collect();
                    repo::client_deal_put_with(client, deal, *version, &legs)
                }
                Entry::Delete(client, deal, version) => {
                    Ok(repo::client_deal_delete(client, deal, *version))
                }
            })?;
        }
        Ok(())
    }

    /// The client's head, when it changed, and a new checkpoint when one is due (never while
    /// a replay is unfinished: the state is not the book's yet).
    fn add_head_of(&mut self, client: &ClientWrites, server: &str) -> Result<()> {
        let mut head = client.head.clone();
        if let (None, Some(last)) = (head.replay_from, head.state.last())
            && head.since_checkpoint >= CHECKPOINT_EVERY
            && !head.checkpoints.contains(&last)
        {
            self.push(|| repo::checkpoint_put(&client.client, server, last, &head.state))?;
            head.checkpoints.push(last);
            let excess = head.checkpoints.len().saturating_sub(MAX_CHECKPOINTS);
            head.checkpoints.drain(..excess);
            head.since_checkpoint = 0;
        }
        if client.head_before.as_ref() != Some(&head) {
            self.push(|| repo::book_head_put(&client.client, server, &head, client.head_read))?;
        }
        Ok(())
    }
}

/// The engine's run over a batch: the state it leaves, the legs, and the changes it refused
/// (by index) with why.
struct EngineRun {
    state: EngineState,
    legs: Vec<Accrual>,
    refused: Vec<(usize, Error)>,
}

/// Runs the batch's changes over the restored books (finishing any replay a head names first).
/// The engine reads rates without I/O: a run notes the quotes it lacks (computing on with a
/// stand-in), they are fetched, and the run starts again; a change the engine refuses is left
/// out and the run starts again without it.
///
/// Errors: the FX port's, `fx_rate_missing` when the port's quote is too old to pay with, and
/// the engine's other than a refusal of a deal.
async fn run_engine(
    plans: &PlanBook,
    tree: &Hierarchy,
    fx: &dyn FxRates,
    server: &str,
    books: &BTreeMap<&str, &BookRead>,
    changes: &[DealChange],
    rates: &mut QuotesAsked,
) -> Result<EngineRun> {
    let server: Arc<str> = Arc::from(server);
    let mut refused: Vec<(usize, Error)> = Vec::new();
    // The quotes the changes' own legs will likely ask for, fetched up front: a run then
    // seldom misses one (those of replayed deals, say) and has to start again. A guess the
    // feed cannot answer is not an error: only what a run asks for is.
    for (from, to, at) in likely_quotes(plans, tree, changes) {
        if !rates.answers.contains_key(&(from.clone(), to.clone(), at))
            && let Ok(quote) = fx.rate(&from, &to, at).await
        {
            rates.answers.insert((from, to, at), quote);
        }
    }
    loop {
        let left_out: BTreeSet<usize> = refused.iter().map(|(i, _)| *i).collect();
        match engine_attempt(plans, tree, rates, &server, books, changes, &left_out) {
            Attempt::Done(state, legs) => {
                return Ok(EngineRun {
                    state,
                    legs,
                    refused,
                });
            }
            Attempt::Missing(missing) => {
                let unasked: Vec<_> = missing
                    .iter()
                    .filter(|quote| !rates.answers.contains_key(*quote))
                    .collect();
                if unasked.is_empty() {
                    let (from, to, at) = missing.first().expect("something was missing");
                    return Err(Error::invalid(
                        FX_RATE_MISSING,
                        "rates",
                        format!("the {from}/{to} quote in force at {at} ms is too old to pay with"),
                    ));
                }
                for (from, to, at) in unasked {
                    let quote = fx.rate(from, to, *at).await?;
                    rates.answers.insert((from.clone(), to.clone(), *at), quote);
                }
            }
            Attempt::Refused(index, error) => refused.push((index, error)),
            Attempt::Failed(error) => return Err(error),
        }
    }
}

type Missing = BTreeSet<(String, String, Millis)>;

/// The conversions the legs of `changes` will likely ask for, at each deal's time: from the
/// deal's currency and its plans' into each IB's of its chain, and between the deal's and the
/// plans' (caps, CPA). A guess, never relied on: the run still notes what it lacks.
fn likely_quotes(plans: &PlanBook, tree: &Hierarchy, changes: &[DealChange]) -> Missing {
    let mut quotes = Missing::new();
    for change in changes {
        let deal = &change.deal;
        if !deal.action.is_trade() {
            continue;
        }
        let at = deal.time_msc;
        let chain: Vec<_> = tree.chain_at(deal.login, at).collect();
        let Some(level0) = chain.first() else {
            continue;
        };
        let mut sources = BTreeSet::from([deal.currency.clone()]);
        for id in level0.ib.plans.at(at).into_iter().flatten() {
            if let Some(plan) = plans.in_force(id, at) {
                sources.insert(plan.currency.code.to_string());
            }
        }
        let targets = chain.iter().map(|link| link.ib.currency.clone());
        for to in targets
            .chain(sources.iter().cloned())
            .collect::<BTreeSet<_>>()
        {
            for from in &sources {
                if *from != to {
                    quotes.insert((from.clone(), to.clone(), at));
                }
            }
        }
    }
    quotes
}

/// Whether the engine refused a change for the deal's own sake (quarantined), rather than for
/// a rate it lacks (the batch waits) or a fault of the system.
fn refuses_the_deal(error: &Error) -> bool {
    matches!(error, Error::Validation { .. }) && error.code() != FX_RATE_MISSING
}

/// How one run of the engine over a batch ended.
enum Attempt {
    Done(EngineState, Vec<Accrual>),
    /// Quotes it lacked (its legs used stand-ins: discarded).
    Missing(Missing),
    /// The engine refused the change at this index for the deal's sake (the run stopped
    /// there: discarded).
    Refused(usize, Error),
    Failed(Error),
}

/// One run of the engine over the restored books with the rates at hand, leaving out the
/// changes `left_out`.
fn engine_attempt(
    plans: &PlanBook,
    tree: &Hierarchy,
    rates: &QuotesAsked,
    server: &Arc<str>,
    books: &BTreeMap<&str, &BookRead>,
    changes: &[DealChange],
    left_out: &BTreeSet<usize>,
) -> Attempt {
    let recording = RecordingRates {
        known: rates,
        missing: Mutex::default(),
    };
    let engine = Engine {
        plans,
        tree,
        rates: &recording,
        server: server.clone(),
    };
    // A failed run is discarded and the next starts from the books again.
    let mut state = EngineState::live_discarded_on_failure();
    for (client, read) in books {
        match (&read.deals, &read.head) {
            (Some(deals), _) => state.restore_client_after(
                client,
                read.base.clone(),
                deals.iter().map(|(_, d)| d.booked.clone()).collect(),
            ),
            (None, Some((_, head))) => state.restore_client_state(client, head.state.clone()),
            (None, None) => {}
        }
    }
    let mut legs = Vec::new();
    for (client, read) in books {
        if let (Some(_), Some((_, head))) = (&read.deals, &read.head)
            && let Some(from) = head.replay_from
            && let Err(error) = state.recompute_from(&engine, client, from, &mut legs)
        {
            return Attempt::Failed(error);
        }
    }
    for (i, change) in changes.iter().enumerate() {
        if left_out.contains(&i) {
            continue;
        }
        match state.apply(&engine, change, &mut legs) {
            Ok(()) => {}
            Err(error) if refuses_the_deal(&error) => return Attempt::Refused(i, error),
            Err(error) => return Attempt::Failed(error),
        }
    }
    let missing = recording.missing.into_inner().unwrap_or_default();
    if missing.is_empty() {
        Attempt::Done(state, legs)
    } else {
        Attempt::Missing(missing)
    }
}

/// The FX port's answers, each for the very pair and time it was asked: a deal converts at the
/// quote in force at its own time, whichever deals share its batch (a quote fetched for an
/// earlier deal of the batch is not taken for a later one).
#[derive(Default)]
struct QuotesAsked {
    answers: BTreeMap<(String, String, Millis), FxRate>,
}

/// The rates known so far, noting every quote asked for and not known.
struct RecordingRates<'a> {
    known: &'a QuotesAsked,
    missing: Mutex<BTreeSet<(String, String, Millis)>>,
}

impl RateSource for RecordingRates<'_> {
    /// The port's answer for this very pair and time when it is fresh enough to pay with; else
    /// noted as missing, and a stand-in of 1 so that the run goes on finding what else it
    /// lacks (a run that missed a quote is discarded).
    fn rate(&self, from: &str, to: &str, at: Millis) -> Option<FxRate> {
        if from == to {
            return Some(FxRate::identity(from, at));
        }
        let key = (from.to_string(), to.to_string(), at);
        let known = (self.known.answers.get(&key))
            .filter(|quote| at - quote.as_of_msc <= MAX_QUOTE_AGE_MSC)
            .cloned();
        Some(known.unwrap_or_else(|| {
            self.missing
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(key);
            FxRate {
                from: from.to_string(),
                to: to.to_string(),
                rate: rust_decimal::Decimal::ONE,
                source: "missing".to_string(),
                as_of_msc: at,
            }
        }))
    }
}

/// Each leg in the period it counts in: its plan's period at the deal's time, or the next open
/// one of the same kind when that one is closed (the closed markers read by key). `placements`
/// holds where earlier legs' periods landed (read once per batch).
async fn place_in_open_periods(
    core: &Core,
    legs: &[Accrual],
    placements: &mut BTreeMap<Period, Period>,
) -> Result<Vec<StoredLeg>> {
    let mut target: BTreeMap<Period, Period> = legs
        .iter()
        .map(|l| l.period())
        .filter(|p| !placements.contains_key(p))
        .map(|p| (p, p))
        .collect();
    let mut read: BTreeSet<Period> = BTreeSet::new();
    loop {
        let to_read: Vec<Period> = target
            .values()
            .filter(|p| !read.contains(p))
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if to_read.is_empty() {
            break;
        }
        let closed = repo::closed_periods(core, &to_read).await?;
        read.extend(to_read);
        for placed in target.values_mut() {
            if closed.contains(placed) {
                *placed = placed.kind.period_of(placed.end_msc());
            }
        }
    }
    placements.extend(target);
    Ok(legs
        .iter()
        .map(|leg| {
            let own = leg.period();
            let period = placements[&own];
            StoredLeg {
                leg: leg.clone(),
                period,
                late_from: (period != own).then_some(own),
            }
        })
        .collect())
}

/// A page (up to `limit`, 1 to 1000) of `beneficiary`'s legs counted in `period`, in leg id
/// order, from a keyed read (consistent: a statement may rest on it); `cursor` continues a
/// page's `next`.
///
/// Errors: storage.
pub async fn legs_in_period(
    core: &Core,
    beneficiary: &Beneficiary,
    period: Period,
    cursor: Option<String>,
    limit: u32,
) -> Result<(Vec<StoredLeg>, Option<String>)> {
    repo::legs_page(core, beneficiary, period, cursor, limit).await
}

/// A page (up to `limit`, 1 to 1000) of the beneficiaries with legs in `period`, from a keyed
/// read; `cursor` continues a page's `next`.
///
/// Errors: storage.
pub async fn period_beneficiaries(
    core: &Core,
    period: Period,
    cursor: Option<String>,
    limit: u32,
) -> Result<(Vec<Beneficiary>, Option<String>)> {
    repo::period_beneficiaries_page(core, period, cursor, limit).await
}

/// The quarantined deals listing's query string.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct QuarantineFilter {
    /// A configured platform server (the first one unless given).
    pub server: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// A page of a server's quarantined deal changes, oldest first, for partner managers: each
/// with the change as delivered and why the engine refused it. A listing, from an index.
///
/// Errors: `Forbidden`, `Validation` (`unknown_server`, `invalid_limit`).
pub async fn quarantined_deals(
    services: &Services,
    principal: &Principal,
    filter: QuarantineFilter,
) -> Result<Value> {
    require_partner_manager(principal, "read quarantined deals")?;
    let servers = &services.config.platform_servers;
    let server = match filter.server {
        Some(server) => normalize::code("server", &server, 64)?,
        None => servers.first().cloned().unwrap_or_default(),
    };
    if !servers.contains(&server) {
        return Err(Error::invalid(
            "unknown_server",
            "server",
            format!("'{server}' is not a configured platform server"),
        ));
    }
    let page = QueueFilter {
        status: None,
        limit: filter.limit,
        cursor: filter.cursor,
    };
    repo::quarantined_page(&services.core, &server, page, |q| {
        serde_json::to_value(q).expect("quarantined deals serialize")
    })
    .await
}

/// What one [`accrue_servers`] pass did, over every server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccrualPass {
    pub batches: u32,
    pub changes: u32,
    pub legs: u32,
    /// Store operations committed (one transaction per batch).
    pub writes: u32,
    /// Changes quarantined (see [`QuarantinedDeal`]).
    pub quarantined: u32,
    /// Batches given up after losing races (read again on the next pass).
    pub raced: u32,
}

/// Accrues every configured server's new deals (`ib.platform_servers`), each until its feed is
/// caught up or `max_batches` batches were written, so one pass (a scheduled Lambda's, or a
/// tick of `brokeros serve`) ends in bounded time; the next one continues. Each batch reads as
/// many changes as would fill nine tenths of a transaction at the writes per change of the one
/// before, so that batches are seldom read twice.
///
/// Errors: as [`accrue_next_batch`] (a failing server stops the pass).
pub async fn accrue_servers(
    services: &Services,
    platform: &dyn TradingPlatform,
    fx: &dyn FxRates,
    max_batches: u32,
) -> Result<AccrualPass> {
    let mut pass = AccrualPass::default();
    for server in &services.config.platform_servers {
        let mut limit = CHANGES_PER_BATCH;
        for _ in 0..max_batches {
            match accrue_batch_of(services, platform, fx, server, limit).await? {
                AccrualOutcome::CaughtUp => break,
                AccrualOutcome::Accrued(report) => {
                    let read = report.ingestion.applied + report.ingestion.skipped;
                    if read > 0 {
                        let target = (MAX_TRANSACTION_OPS * 8 / 10) as u32;
                        let next = read * target / report.writes.max(1);
                        limit = next.clamp(1, deals::MAX_CHANGES_PER_BATCH);
                    }
                    pass.batches += 1;
                    pass.changes += report.ingestion.applied;
                    pass.legs += report.legs;
                    pass.writes += report.writes;
                    pass.quarantined += report.quarantined;
                }
                AccrualOutcome::Raced => {
                    pass.raced += 1;
                    break;
                }
            }
        }
    }
    Ok(pass)
}

/// The period `text` names, as `<kind>:<label>` ([`Period::label`]): `daily:2026-03-02`,
/// `weekly:2026-W10` (ISO weeks) or `monthly:2026-03`.
///
/// Errors: `Validation` (`invalid_period` on `field`).
pub fn parse_period(field: &str, text: &str) -> Result<Period> {
    use time::{Date, Month, Weekday};
    let invalid = || {
        Error::invalid(
            "invalid_period",
            field,
            format!("'{text}' is not daily:YYYY-MM-DD, weekly:YYYY-Www or monthly:YYYY-MM"),
        )
    };
    let number = |part: Option<&str>| -> Result<i32> {
        part.filter(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
            .and_then(|p| p.parse().ok())
            .ok_or_else(invalid)
    };
    let (kind, label) = text.split_once(':').ok_or_else(invalid)?;
    let mut parts = label.split('-');
    let year = number(parts.next())?;
    let (kind, first_day) = match kind {
        "daily" => {
            let month = Month::try_from(number(parts.next())? as u8).map_err(|_| invalid())?;
            let day = number(parts.next())? as u8;
            (
                PeriodKind::Daily,
                Date::from_calendar_date(year, month, day),
            )
        }
        "weekly" => {
            let week = parts.next().and_then(|w| w.strip_prefix('W'));
            let week = number(week)? as u8;
            (
                PeriodKind::Weekly,
                Date::from_iso_week_date(year, week, Weekday::Monday),
            )
        }
        "monthly" => {
            let month = Month::try_from(number(parts.next())? as u8).map_err(|_| invalid())?;
            (
                PeriodKind::Monthly,
                Date::from_calendar_date(year, month, 1),
            )
        }
        _ => return Err(invalid()),
    };
    let first_day = first_day.map_err(|_| invalid())?;
    if parts.next().is_some() {
        return Err(invalid());
    }
    let start = crate::millis(first_day.midnight().assume_utc());
    let period = kind.period_of(start);
    // A label names exactly one period: the canonical form must read back the same.
    if format!("{}:{}", crate::keys::period_kind_name(kind), period.label()) != text {
        return Err(invalid());
    }
    Ok(period)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_period_reads_back_from_its_kind_and_label() {
        let at = 1_772_452_800_000; // 2026-03-02 12:00 UTC, a Monday
        for kind in [PeriodKind::Daily, PeriodKind::Weekly, PeriodKind::Monthly] {
            let period = kind.period_of(at);
            let text = format!("{}:{}", crate::keys::period_kind_name(kind), period.label());
            assert_eq!(parse_period("period", &text).unwrap(), period, "{text}");
        }
        for bad in [
            "daily:2026-02-30",
            "daily:2026-3-02",
            "weekly:2026-W54",
            "monthly:2026",
            "yearly:2026",
            "2026-03",
            "monthly:2026-03-01",
        ] {
            assert_eq!(
                parse_period("period", bad).unwrap_err().code(),
                "invalid_period",
                "{bad}"
            );
        }
    }
}
