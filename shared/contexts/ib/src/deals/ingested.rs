//! What ingestion keeps of a server's feed and of each deal, and the rule that applies a change
//! exactly once by `(server, deal, revision)`. Pure: no store, no platform.

use brokeros_trading::{DealChange, DealChangeKind, DealCursor, PlatformDeal};
use serde::{Deserialize, Serialize};

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
    /// Changes whose accrual the engine refused: each recorded as a quarantined deal
    /// (`accruals::QuarantinedDeal`) with the reason, and not accrued.
    #[serde(default)]
    pub changes_quarantined: u64,
    /// Clients whose replay (after a late, corrected or cancelled deal) needed more writes than
    /// one transaction holds: its first corrections committed with the change, and the next
    /// batches of the feed write the rest, in order, before reading new changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replaying: Vec<String>,
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

    /// A deal's revisions, each a correction (or the cancellation) of the one before, with
    /// volumes that are sometimes invalid.
    fn revisions() -> impl proptest::strategy::Strategy<Value = Vec<DealChange>> {
        use proptest::prelude::*;
        proptest::collection::vec((any::<bool>(), -5i64..60), 1..8).prop_map(|drawn| {
            let last = drawn.len() - 1;
            drawn
                .into_iter()
                .enumerate()
                .map(|(revision, (cancel, volume))| {
                    let kind = match revision {
                        0 => DealChangeKind::Added,
                        r if r == last && cancel => DealChangeKind::Cancelled,
                        _ => DealChangeKind::Corrected,
                    };
                    change(kind, revision as u32, volume)
                })
                .collect()
        })
    }

    proptest::proptest! {
        /// Whatever order the revisions arrive in, however often each: the deal ends at the
        /// newest revision delivered, each revision is applied at most once, and what was
        /// accrued less what was reversed is exactly what the final revision counts for (here,
        /// its volume), so accruals built on the applied changes never count a deal twice.
        #[test]
        fn deliveries_in_any_order_and_repeated_net_to_the_latest_revision(
            changes in revisions(),
            picks in proptest::collection::vec(0usize..64, 1..24),
        ) {
            let delivered: Vec<DealChange> =
                picks.iter().map(|p| changes[p % changes.len()].clone()).collect();
            let (current, outcomes) = replay(&delivered);
            let current = current.expect("something was delivered");
            let newest = delivered.iter().map(|c| c.revision).max().unwrap();
            proptest::prop_assert_eq!(current.revision, newest);
            let applied: Vec<&AppliedChange> = outcomes.iter().flatten().collect();
            let revisions: Vec<u32> = applied.iter().map(|a| a.change.revision).collect();
            proptest::prop_assert!(
                revisions.windows(2).all(|w| w[0] < w[1]),
                "each revision applied once, none after a newer one: {:?}",
                revisions
            );
            let volume = |deal: &Option<PlatformDeal>| deal.as_ref().map_or(Decimal::ZERO, |d| d.volume);
            let net: Decimal = applied.iter().map(|a| volume(&a.accrues) - volume(&a.reverses)).sum();
            let counted = if current.counts() { current.deal.volume } else { Decimal::ZERO };
            proptest::prop_assert_eq!(net, counted);
        }
    }
}
