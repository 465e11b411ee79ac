//! Deal ingestion: each platform server's deal history ([`TradingPlatform::deal_changes`]) read
//! by cursor and applied exactly once by `(server, deal, revision)`. A change older than or
//! equal to the revision already ingested changes nothing; a correction replaces the deal; a
//! cancellation marks it cancelled; a deal the platform booked malformed (a trade without a
//! positive volume) is recorded as rejected with the reason and never counts.
//!
//! A batch is one page of the feed applied in one [`Changeset`]: the ingested deals and the
//! feed's cursor (moved under the version it was read at, so two ingesters cannot both apply a
//! page) with its audit event. [`stage_next_batch`] leaves the changeset open so that the
//! accrual step adds its items before [`Core::commit`]; [`ingest_next_batch`] commits it alone.
//! Each [`AppliedChange`] says what to accrue and which earlier revision to reverse.

pub mod keys;
pub mod repo;

use std::collections::BTreeMap;

use brokeros_kernel::audit::Actor;
use brokeros_kernel::changeset::{Changeset, Committed};
use brokeros_kernel::{Core, Error, OpContext, Result};
use brokeros_trading::{
    DealChange, DealChangeKind, DealCursor, PlatformDeal, TradingPlatform, platform_error,
};
use serde::{Deserialize, Serialize};

/// The most changes one batch may take: each touches one deal item, and the feed adds its
/// own put and audit event, within the store's 100 operations per transaction.
pub const MAX_CHANGES_PER_BATCH: u32 = 90;

/// The batch size that leaves room in the transaction for the accrual step's items (about two
/// per deal).
pub const CHANGES_PER_BATCH: u32 = 30;

/// What has been read of one server's deal history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealFeed {
    pub server: String,
    /// Where the next batch reads from; `None` before the first change.
    pub cursor: Option<DealCursor>,
    /// Changes read, applied (the rest were revisions already ingested) and rejected.
    pub changes_read: u64,
    pub changes_applied: u64,
    pub changes_rejected: u64,
}

/// A deal as last ingested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestedDeal {
    pub server: String,
    pub revision: u32,
    pub cancelled: bool,
    /// Why the deal was refused, when it was: it does not count.
    pub rejected: Option<String>,
    pub deal: PlatformDeal,
    /// When the platform recorded the revision, milliseconds since the epoch.
    pub changed_at_msc: i64,
}

impl IngestedDeal {
    /// Whether the deal counts (accrues): neither cancelled nor rejected.
    pub fn counts(&self) -> bool {
        !self.cancelled && self.rejected.is_none()
    }
}

/// One change of the feed as applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedChange {
    pub change: DealChange,
    /// The revision this change supersedes, when it counted: what it accrued is reversed.
    pub reverses: Option<PlatformDeal>,
    /// The deal to accrue now: the change's deal when it counts.
    pub accrues: Option<PlatformDeal>,
    /// Why the change's deal was refused, if it was.
    pub rejected: Option<String>,
}

/// What `change` does to the deal as ingested so far (`current`): nothing when its revision is
/// not newer, else the deal's new state and the change as applied.
pub fn apply_change(
    server: &str,
    current: Option<&IngestedDeal>,
    change: &DealChange,
) -> Option<(IngestedDeal, AppliedChange)> {
    if current.is_some_and(|c| change.revision <= c.revision) {
        return None;
    }
    let reverses = current.filter(|c| c.counts()).map(|c| c.deal.clone());
    let cancelled = change.kind == DealChangeKind::Cancelled;
    let rejected = if cancelled {
        None
    } else {
        change.deal.validate().err().map(|e| e.to_string())
    };
    let ingested = IngestedDeal {
        server: server.to_string(),
        revision: change.revision,
        cancelled,
        rejected: rejected.clone(),
        deal: change.deal.clone(),
        changed_at_msc: change.changed_at_msc,
    };
    let accrues = ingested.counts().then(|| change.deal.clone());
    let applied = AppliedChange {
        change: change.clone(),
        reverses,
        accrues,
        rejected,
    };
    Some((ingested, applied))
}

/// A page of the feed applied, not yet committed.
pub struct StagedBatch {
    pub server: String,
    /// In feed order.
    pub applied: Vec<AppliedChange>,
    /// Changes read whose revision was already ingested.
    pub skipped: u32,
    /// More changes were waiting after this page.
    pub has_more: bool,
    /// The deal writes, the cursor's move and its audit event; the accrual step adds its own.
    pub changes: Changeset,
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
    if !(1..=MAX_CHANGES_PER_BATCH).contains(&limit) {
        return Err(Error::invalid(
            "invalid_batch_size",
            "limit",
            format!("a batch takes 1 to {MAX_CHANGES_PER_BATCH} changes"),
        ));
    }
    let feed = core.find::<DealFeed>(server).await?;
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
    let next = DealFeed {
        server: server.to_string(),
        cursor: page.next_cursor.clone(),
        changes_read: feed.as_ref().map_or(0, |f| f.entity.changes_read)
            + page.changes.len() as u64,
        changes_applied: feed.as_ref().map_or(0, |f| f.entity.changes_applied)
            + applied.len() as u64,
        changes_rejected: feed.as_ref().map_or(0, |f| f.entity.changes_rejected) + rejected,
    };
    let ctx = ingestion_ctx(core, server);
    match &feed {
        None => changes.create(&ctx, core.ids.as_ref(), &next, "deal_feed.started")?,
        Some(before) => changes.update(
            &ctx,
            core.ids.as_ref(),
            before,
            &next,
            "deal_feed.advanced",
            vec![],
        )?,
    }
    Ok(Some(StagedBatch {
        server: server.to_string(),
        applied,
        skipped,
        has_more: page.has_more,
        changes,
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
    match core.commit(batch.changes).await? {
        Committed::Applied => Ok(BatchOutcome::Applied(report)),
        Committed::Raced => Ok(BatchOutcome::Raced),
    }
}

impl StagedBatch {
    /// What the batch does, counted before it commits.
    pub fn report(&self) -> BatchReport {
        BatchReport {
            applied: self.applied.len() as u32,
            skipped: self.skipped,
            rejected: self.applied.iter().filter(|a| a.rejected.is_some()).count() as u32,
            has_more: self.has_more,
            writes: self.changes.len() as u32,
        }
    }
}

/// Ingestion is the system's own doing: its audit events name the server's ingester.
fn ingestion_ctx(core: &Core, server: &str) -> OpContext {
    let ingester = format!("ib-deal-ingestion:{server}");
    OpContext {
        actor: Actor::system(&ingester),
        correlation_id: ingester,
        now: core.clock.now(),
    }
}

#[cfg(test)]
mod tests {
    use brokeros_trading::{DealAction, DealEntry, Decimal};

    use super::*;

    fn deal(volume: i64) -> PlatformDeal {
        PlatformDeal {
            deal: 7,
            login: 100_001,
            order: 6,
            position_id: 7,
            symbol: "EURUSD".into(),
            action: DealAction::Buy,
            entry: DealEntry::In,
            volume: Decimal::new(volume, 2),
            price: Decimal::new(108_512, 5),
            profit: Decimal::ZERO,
            commission: Decimal::new(-35, 2),
            swap: Decimal::ZERO,
            currency: "USD".into(),
            group: "real".into(),
            contract_size: Decimal::from(100_000),
            digits: 5,
            market_bid: Decimal::new(108_500, 5),
            market_ask: Decimal::new(108_512, 5),
            rate_profit: Decimal::ONE,
            time_msc: 1_000,
        }
    }

    fn change(kind: DealChangeKind, revision: u32, volume: i64) -> DealChange {
        DealChange {
            kind,
            revision,
            deal: deal(volume),
            changed_at_msc: 2_000 + i64::from(revision),
        }
    }

    /// Applies `changes` in order; returns the deal as ingested and what each did.
    fn replay(changes: &[DealChange]) -> (Option<IngestedDeal>, Vec<Option<AppliedChange>>) {
        let mut current: Option<IngestedDeal> = None;
        let mut outcomes = Vec::new();
        for change in changes {
            let outcome = apply_change("sim-1", current.as_ref(), change);
            if let Some((ingested, applied)) = &outcome {
                current = Some(ingested.clone());
                outcomes.push(Some(applied.clone()));
            } else {
                outcomes.push(None);
            }
        }
        (current, outcomes)
    }

    #[test]
    fn a_repeated_or_older_revision_changes_nothing() {
        use DealChangeKind::*;
        let (current, outcomes) = replay(&[
            change(Added, 0, 10),
            change(Added, 0, 10),
            change(Corrected, 1, 20),
            change(Added, 0, 10),
            change(Corrected, 1, 20),
        ]);
        assert_eq!(outcomes.iter().filter(|o| o.is_some()).count(), 2);
        let current = current.unwrap();
        assert_eq!(
            (current.revision, current.deal.volume),
            (1, Decimal::new(20, 2))
        );
    }

    #[test]
    fn a_correction_reverses_the_revision_it_replaces_and_accrues_the_new_one() {
        use DealChangeKind::*;
        let (_, outcomes) = replay(&[change(Added, 0, 10), change(Corrected, 1, 20)]);
        let corrected = outcomes[1].clone().unwrap();
        assert_eq!(corrected.reverses, Some(deal(10)));
        assert_eq!(corrected.accrues, Some(deal(20)));
        let first = outcomes[0].clone().unwrap();
        assert_eq!((first.reverses, first.accrues), (None, Some(deal(10))));
    }

    #[test]
    fn a_cancellation_reverses_and_accrues_nothing() {
        use DealChangeKind::*;
        let (current, outcomes) = replay(&[change(Added, 0, 10), change(Cancelled, 1, 10)]);
        let cancelled = outcomes[1].clone().unwrap();
        assert_eq!(
            (cancelled.reverses, cancelled.accrues),
            (Some(deal(10)), None)
        );
        assert!(current.unwrap().cancelled);
        // A cancellation seen first (its deal was added before the reader started) counts
        // nothing and reverses nothing.
        let (current, outcomes) = replay(&[change(Cancelled, 3, 10)]);
        let alone = outcomes[0].clone().unwrap();
        assert_eq!((alone.reverses, alone.accrues), (None, None));
        assert!(!current.unwrap().counts());
    }

    #[test]
    fn an_invalid_deal_is_rejected_with_its_reason_and_never_counts() {
        use DealChangeKind::*;
        for volume in [0, -10] {
            let (current, outcomes) = replay(&[change(Added, 0, volume)]);
            let rejected = outcomes[0].clone().unwrap();
            assert_eq!(rejected.accrues, None);
            assert!(rejected.rejected.unwrap().contains("volume"));
            assert!(!current.unwrap().counts());
        }
        // Corrected into a valid deal, it counts from then on; a valid deal corrected into an
        // invalid one is reversed and rejected.
        let (_, outcomes) = replay(&[change(Added, 0, 0), change(Corrected, 1, 10)]);
        let fixed = outcomes[1].clone().unwrap();
        assert_eq!((fixed.reverses, fixed.accrues), (None, Some(deal(10))));
        let (_, outcomes) = replay(&[change(Added, 0, 10), change(Corrected, 1, 0)]);
        let broken = outcomes[1].clone().unwrap();
        assert_eq!((broken.reverses, broken.accrues), (Some(deal(10)), None));
        assert!(broken.rejected.is_some());
    }
}
