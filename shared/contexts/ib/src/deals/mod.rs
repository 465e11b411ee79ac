//! Deal ingestion: each platform server's deal history ([`TradingPlatform::deal_changes`]) read
//! by cursor and applied exactly once by `(server, deal, revision)`. A change older than or
//! equal to the revision already ingested changes nothing; a correction replaces the deal; a
//! cancellation marks it cancelled; a deal the platform booked malformed (a trade without a
//! positive volume) is recorded as rejected with the reason and never counts.
//!
//! A batch is one page of the feed applied in one [`Changeset`]: the ingested deals and the
//! feed's cursor (moved under the version it was read at, so two ingesters cannot both apply a
//! page) with its audit event. [`stage_next_batch`] leaves the batch open so that the accrual
//! step adds its items and its counts on the feed before [`StagedBatch::seal`] stages the
//! feed's move and [`Core::commit`] commits; [`ingest_next_batch`] commits it alone. Each
//! [`AppliedChange`] says what to accrue and which earlier revision to reverse.

mod ingested;
pub mod keys;
pub mod repo;

use std::collections::BTreeMap;

use brokeros_kernel::audit::Actor;
use brokeros_kernel::changeset::{Audited, Changeset, Committed};
use brokeros_kernel::{Core, Error, OpContext, Result};
use brokeros_trading::{TradingPlatform, platform_error};

pub use ingested::{AppliedChange, DealFeed, IngestedDeal, apply_change};

/// The most changes one batch may take: each touches one deal item, and the feed adds its
/// own put and audit event, within the store's 100 operations per transaction.
pub const MAX_CHANGES_PER_BATCH: u32 = 90;

/// The batch size that leaves room in the transaction for the accrual step's items (about two
/// per deal): the first batch of an accrual pass reads this many, the next ones as many as the
/// writes per change of the one before leave room for (`accruals::accrue_servers`).
pub const CHANGES_PER_BATCH: u32 = 30;

/// A page of the feed applied, not yet committed.
pub struct StagedBatch {
    pub server: String,
    /// In feed order.
    pub applied: Vec<AppliedChange>,
    /// Changes read whose revision was already ingested.
    pub skipped: u32,
    /// More changes were waiting after this page.
    pub has_more: bool,
    /// The deal writes; the accrual step adds its own, [`StagedBatch::seal`] the feed's move.
    pub changes: Changeset,
    /// The feed as the batch leaves it (the accrual step adds its counts).
    pub next: DealFeed,
    feed: Option<Audited<DealFeed>>,
    ctx: OpContext,
}

/// Refuses a batch size outside 1 to [`MAX_CHANGES_PER_BATCH`].
///
/// Errors: `Validation` (`invalid_batch_size` on `limit`).
pub fn check_batch_size(limit: u32) -> Result<()> {
    if !(1..=MAX_CHANGES_PER_BATCH).contains(&limit) {
        return Err(Error::invalid(
            "invalid_batch_size",
            "limit",
            format!("a batch takes 1 to {MAX_CHANGES_PER_BATCH} changes"),
        ));
    }
    Ok(())
}

/// What one call of [`ingest_next_batch`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchOutcome {
    /// Nothing new on the feed.
    CaughtUp,
    Applied(BatchReport),
    /// Another ingester moved the cursor first: nothing was written; read again.
    Raced,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchReport {
    pub applied: u32,
    pub skipped: u32,
    pub rejected: u32,
    pub has_more: bool,
    /// The store operations the batch committed (one transaction).
    pub writes: u32,
}

/// Reads the next page (up to `limit` changes, 1 to [`MAX_CHANGES_PER_BATCH`]) of `server`'s
/// deal history after the stored cursor and stages what it changes; `None` when nothing new.
///
/// Errors: `Validation` (`limit`), the platform's errors (`platform_error`), storage.
pub async fn stage_next_batch(
    core: &Core,
    platform: &dyn TradingPlatform,
    server: &str,
    limit: u32,
) -> Result<Option<StagedBatch>> {
    check_batch_size(limit)?;
    let feed = core.find::<DealFeed>(server).await?;
    stage_batch_after(core, platform, server, feed, limit).await
}

/// [`stage_next_batch`] from `feed` as the caller read it (`None`: never read before).
///
/// Errors: as [`stage_next_batch`].
pub async fn stage_batch_after(
    core: &Core,
    platform: &dyn TradingPlatform,
    server: &str,
    feed: Option<Audited<DealFeed>>,
    limit: u32,
) -> Result<Option<StagedBatch>> {
    check_batch_size(limit)?;
    let since = feed.as_ref().and_then(|f| f.entity.cursor.clone());
    let page = platform
        .deal_changes(server, since, limit)
        .await
        .map_err(platform_error)?;
    if page.changes.is_empty() {
        return Ok(None);
    }
    let tickets: Vec<u64> = page
        .changes
        .iter()
        .map(|c| c.deal.deal)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut deals: BTreeMap<u64, (Option<u64>, Option<IngestedDeal>, bool)> = tickets
        .iter()
        .map(|ticket| (*ticket, (None, None, false)))
        .collect();
    for (version, deal) in repo::ingested_deals(core, server, &tickets).await? {
        deals.insert(deal.deal.deal, (Some(version), Some(deal), false));
    }
    let mut applied = Vec::new();
    let mut skipped = 0;
    for change in &page.changes {
        let (_, current, touched) = deals
            .get_mut(&change.deal.deal)
            .expect("every ticket of the page was looked up");
        match apply_change(server, current.as_ref(), change) {
            Some((ingested, change_applied)) => {
                *current = Some(ingested);
                *touched = true;
                applied.push(change_applied);
            }
            None => skipped += 1,
        }
    }

    let mut changes = Changeset::new();
    for (version, deal, touched) in deals.values() {
        if let (Some(deal), true) = (deal, touched) {
            repo::stage_deal(&mut changes, deal, *version)?;
        }
    }
    let rejected = applied.iter().filter(|a| a.rejected.is_some()).count() as u64;
    let before = feed.as_ref().map(|f| f.entity.clone());
    let next = DealFeed {
        server: server.to_string(),
        cursor: page.next_cursor.clone(),
        changes_read: before.as_ref().map_or(0, |f| f.changes_read) + page.changes.len() as u64,
        changes_applied: before.as_ref().map_or(0, |f| f.changes_applied) + applied.len() as u64,
        changes_rejected: before.as_ref().map_or(0, |f| f.changes_rejected) + rejected,
        changes_quarantined: before.as_ref().map_or(0, |f| f.changes_quarantined),
        replaying: before.map(|f| f.replaying).unwrap_or_default(),
    };
    Ok(Some(StagedBatch {
        server: server.to_string(),
        applied,
        skipped,
        has_more: page.has_more,
        changes,
        next,
        feed,
        ctx: ingestion_ctx(core, server),
    }))
}

/// Ingests the next page of `server`'s deal history on its own (no accrual) in one commit.
///
/// Errors: as [`stage_next_batch`].
pub async fn ingest_next_batch(
    core: &Core,
    platform: &dyn TradingPlatform,
    server: &str,
    limit: u32,
) -> Result<BatchOutcome> {
    let Some(batch) = stage_next_batch(core, platform, server, limit).await? else {
        return Ok(BatchOutcome::CaughtUp);
    };
    let report = batch.report();
    match core.commit(batch.seal(core)?).await? {
        Committed::Applied => Ok(BatchOutcome::Applied(report)),
        Committed::Raced => Ok(BatchOutcome::Raced),
    }
}

/// The store operations of a feed's move: the feed and its audit event.
pub const FEED_WRITES: usize = 2;

impl StagedBatch {
    /// What the batch does, counted before it commits (its writes: the deals and the feed's
    /// move).
    pub fn report(&self) -> BatchReport {
        BatchReport {
            applied: self.applied.len() as u32,
            skipped: self.skipped,
            rejected: self.applied.iter().filter(|a| a.rejected.is_some()).count() as u32,
            has_more: self.has_more,
            writes: (self.changes.len() + FEED_WRITES) as u32,
        }
    }

    /// The audit context of the batch's writes (the server's ingester).
    pub fn ctx(&self) -> &OpContext {
        &self.ctx
    }

    /// Stages the feed's move (under the version read, with its audit event) and answers the
    /// changeset to commit.
    ///
    /// Errors: `Internal` (encoding).
    pub fn seal(mut self, core: &Core) -> Result<Changeset> {
        stage_feed(
            &mut self.changes,
            core,
            &self.ctx,
            self.feed.as_ref(),
            &self.next,
        )?;
        Ok(self.changes)
    }
}

/// Stages `next` over the feed as read (`None`: its first batch) with its audit event.
///
/// Errors: `Internal` (encoding).
pub fn stage_feed(
    changes: &mut Changeset,
    core: &Core,
    ctx: &OpContext,
    feed: Option<&Audited<DealFeed>>,
    next: &DealFeed,
) -> Result<()> {
    match feed {
        None => changes.create(ctx, core.ids.as_ref(), next, "deal_feed.started"),
        Some(before) => changes.update(
            ctx,
            core.ids.as_ref(),
            before,
            next,
            "deal_feed.advanced",
            vec![],
        ),
    }
}

/// Ingestion is the system's own doing: its audit events name the server's ingester.
pub fn ingestion_ctx(core: &Core, server: &str) -> OpContext {
    let ingester = format!("ib-deal-ingestion:{server}");
    OpContext {
        actor: Actor::system(&ingester),
        correlation_id: ingester,
        now: core.clock.now(),
    }
}
