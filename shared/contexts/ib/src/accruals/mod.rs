//! The live accrual path: each batch of ingested deals ([`crate::deals::stage_next_batch`])
//! becomes explained legs in the store, in the batch's own transaction, so a deal is ingested
//! and accrued exactly once or not at all.
//!
//! The Lambda is stateless, so the engine's memory of a client lives in the store: every deal
//! of a client that counts is kept under the client (`IBCLIENTDEAL#<client>`, by time) with
//! its revision, its legs' generation and its legs as they stand. A batch reads the books of
//! the clients its deals belong to, restores them into a live [`EngineState`], applies the
//! batch's changes (a late, corrected or cancelled deal replays the client's deals and answers
//! with reversal and recomputed legs), and writes the new legs and the deals whose legs
//! changed. A leg counts in its plan's period at the deal's time unless that period is closed:
//! then in the next open period of the same kind, saying where it came from (`late_from`).
//! Every period written into is checked open in the same transaction.

pub mod repo;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use brokeros_kernel::changeset::Committed;
use brokeros_kernel::{Core, Error, Result};
use brokeros_store::MAX_TRANSACTION_OPS;
use brokeros_trading::{DealChange, DealChangeKind, TradingPlatform};
use serde::{Deserialize, Serialize};

use crate::deals::{self, AppliedChange, BatchReport, CHANGES_PER_BATCH};
use crate::fx::{FxRates, PreloadedRates};
use crate::model::{
    Accrual, Beneficiary, BookedDeal, Engine, EngineState, FxRate, Hierarchy, Millis, Period,
    PeriodKind, PlanBook, RateSource,
};
use crate::{Services, load_hierarchy, plans};

/// A leg as stored: the engine's leg, the period it counts in, and the period it belonged to
/// when that one had closed before the leg was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredLeg {
    pub leg: Accrual,
    /// The period the leg counts in (its statement's).
    pub period: Period,
    /// The plan's period at the deal's time, when it was closed and the leg moved to `period`.
    pub late_from: Option<Period>,
}

/// One deal of a client's book as stored: the server it came from and the engine's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientDeal {
    pub server: String,
    pub booked: BookedDeal,
}

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
    /// The ingestion side of the batch (its `writes` are the ingestion's share).
    pub ingestion: BatchReport,
    /// Legs written (reversals included).
    pub legs: u32,
    /// Store operations the batch committed, ingestion and accrual together, in one
    /// transaction.
    pub writes: u32,
}

/// How many times a batch is read again after losing a race before the run gives up.
const MAX_RACES: u32 = 5;

/// Ingests and accrues the next batch of `server`'s deal changes in one transaction. A batch
/// whose legs would not fit the store's transaction is read again with fewer changes.
///
/// Errors: the platform's and the FX port's, storage, `Internal` when the legs of a single
/// deal change do not fit in one transaction.
pub async fn accrue_next_batch(
    services: &Services,
    platform: &dyn TradingPlatform,
    fx: &dyn FxRates,
    server: &str,
) -> Result<AccrualOutcome> {
    accrue_batch_of(services, platform, fx, server, CHANGES_PER_BATCH).await
}

/// [`accrue_next_batch`] reading at most `limit` changes (1 to
/// [`deals::MAX_CHANGES_PER_BATCH`]).
///
/// Errors: as [`accrue_next_batch`], and `Validation` (`limit`).
pub async fn accrue_batch_of(
    services: &Services,
    platform: &dyn TradingPlatform,
    fx: &dyn FxRates,
    server: &str,
    mut limit: u32,
) -> Result<AccrualOutcome> {
    let core = &services.core;
    let mut races = 0;
    loop {
        let Some(mut batch) = deals::stage_next_batch(core, platform, server, limit).await? else {
            return Ok(AccrualOutcome::CaughtUp);
        };
        let (ops, legs) = accrual_writes(services, fx, server, &batch.applied).await?;
        if batch.changes.len() + ops.len() > MAX_TRANSACTION_OPS {
            if limit == 1 {
                return Err(Error::Internal(format!(
                    "the legs of one deal change of {server} need {} writes, more than one transaction holds",
                    ops.len()
                )));
            }
            limit = (limit / 2).max(1);
            continue;
        }
        let ingestion = batch.report();
        for op in ops {
            batch.changes.put(op);
        }
        let writes = batch.changes.len() as u32;
        match core.commit(batch.changes).await? {
            Committed::Applied => {
                return Ok(AccrualOutcome::Accrued(AccrualReport {
                    ingestion,
                    legs,
                    writes,
                }));
            }
            Committed::Raced if races < MAX_RACES => races += 1,
            Committed::Raced => return Ok(AccrualOutcome::Raced),
        }
    }
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

/// The accrual's writes for `batch` (legs, period beneficiaries and checks, the clients'
/// books) and how many legs they hold.
async fn accrual_writes(
    services: &Services,
    fx: &dyn FxRates,
    server: &str,
    applied: &[AppliedChange],
) -> Result<(Vec<brokeros_store::WriteOp>, u32)> {
    let core = &services.core;
    let changes: Vec<DealChange> = applied.iter().filter_map(engine_change).collect();
    if changes.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let logins: Vec<u64> = changes
        .iter()
        .map(|c| c.deal.login)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let tree = load_hierarchy(services, &logins).await?;
    let clients: BTreeSet<String> = logins
        .iter()
        .filter_map(|login| tree.client_of_login(*login))
        .map(|c| c.id.clone())
        .collect();
    if clients.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let mut books: BTreeMap<String, Vec<(u64, ClientDeal)>> = BTreeMap::new();
    for client in &clients {
        books.insert(client.clone(), repo::client_deals(core, client).await?);
    }
    let plan_ids: BTreeSet<&str> = tree
        .ibs()
        .flat_map(|ib| ib.plans.entries())
        .flat_map(|d| d.value.iter().map(String::as_str))
        .collect();
    let book = plans::plan_book(core, &services.config.symbol_groups, plan_ids).await?;
    let (state, legs) = run_engine(&book, &tree, fx, server, &books, &changes).await?;

    let mut ops = Vec::new();
    for (client, before) in &books {
        client_book_writes(client, server, before, state.booked_deals(client), &mut ops)?;
    }
    let placed = place_in_open_periods(core, &legs).await?;
    let mut periods = BTreeSet::new();
    let mut beneficiaries = BTreeSet::new();
    for leg in &placed {
        periods.insert(leg.period);
        beneficiaries.insert((leg.period, leg.leg.beneficiary.clone()));
        ops.push(repo::leg_put(leg)?);
    }
    for (period, beneficiary) in &beneficiaries {
        ops.push(repo::period_beneficiary_put(*period, beneficiary)?);
    }
    ops.extend(periods.into_iter().map(repo::period_open_check));
    Ok((ops, placed.len() as u32))
}

/// Runs the batch's changes over the restored books. The engine reads rates without I/O: a
/// run that misses a quote records it, the quotes are fetched, and the run starts again.
async fn run_engine(
    plans: &PlanBook,
    tree: &Hierarchy,
    fx: &dyn FxRates,
    server: &str,
    books: &BTreeMap<String, Vec<(u64, ClientDeal)>>,
    changes: &[DealChange],
) -> Result<(EngineState, Vec<Accrual>)> {
    let mut rates = PreloadedRates::new();
    let mut asked = BTreeSet::new();
    let server: Arc<str> = Arc::from(server);
    loop {
        let (outcome, missing) = engine_attempt(plans, tree, &rates, &server, books, changes);
        match outcome {
            Ok(done) => return Ok(done),
            // Each run fetches what it missed; a quote the port gives but that is too old to
            // use would be missed again.
            Err(_) if !missing.is_subset(&asked) => {
                for (from, to, at) in missing.difference(&asked) {
                    rates.insert(fx.rate(from, to, *at).await?);
                }
                asked.extend(missing);
            }
            Err(error) => return Err(error),
        }
    }
}

type Missing = BTreeSet<(String, String, Millis)>;

/// One run of the engine over the restored books with the rates at hand, and the quotes it
/// missed.
fn engine_attempt(
    plans: &PlanBook,
    tree: &Hierarchy,
    rates: &PreloadedRates,
    server: &Arc<str>,
    books: &BTreeMap<String, Vec<(u64, ClientDeal)>>,
    changes: &[DealChange],
) -> (Result<(EngineState, Vec<Accrual>)>, Missing) {
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
    let mut state = EngineState::live();
    for (client, deals) in books {
        state.restore_client(
            client,
            deals.iter().map(|(_, d)| d.booked.clone()).collect(),
        );
    }
    let mut legs = Vec::new();
    let outcome = changes
        .iter()
        .try_for_each(|change| state.apply(&engine, change, &mut legs));
    let missing = recording.missing.into_inner().unwrap_or_default();
    (outcome.map(|()| (state, legs)), missing)
}

/// The rates known so far, noting every quote asked for and not known.
struct RecordingRates<'a> {
    known: &'a PreloadedRates,
    missing: Mutex<BTreeSet<(String, String, Millis)>>,
}

impl RateSource for RecordingRates<'_> {
    fn rate(&self, from: &str, to: &str, at: Millis) -> Option<FxRate> {
        let rate = self.known.rate(from, to, at);
        if rate.is_none() {
            self.missing
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert((from.to_string(), to.to_string(), at));
        }
        rate
    }
}

/// The writes that bring `client`'s stored book (`before`, as read) to `after`: deals added
/// or whose legs changed are put over the version read, deals gone (cancelled, or moved in
/// time by a correction) deleted.
fn client_book_writes(
    client: &str,
    server: &str,
    before: &[(u64, ClientDeal)],
    after: Vec<BookedDeal>,
    ops: &mut Vec<brokeros_store::WriteOp>,
) -> Result<()> {
    let key = |d: &BookedDeal| (d.deal.time_msc, d.deal.deal);
    let stored: BTreeMap<(Millis, u64), &(u64, ClientDeal)> = before
        .iter()
        .map(|entry| (key(&entry.1.booked), entry))
        .collect();
    let mut kept = BTreeSet::new();
    for booked in after {
        let at = key(&booked);
        kept.insert(at);
        match stored.get(&at) {
            Some((_, current)) if current.booked == booked => {}
            Some((version, current)) => {
                let deal = ClientDeal {
                    server: current.server.clone(),
                    booked,
                };
                ops.push(repo::client_deal_put(client, &deal, Some(*version))?);
            }
            None => {
                let deal = ClientDeal {
                    server: server.to_string(),
                    booked,
                };
                ops.push(repo::client_deal_put(client, &deal, None)?);
            }
        }
    }
    for (at, (version, deal)) in &stored {
        if !kept.contains(at) {
            ops.push(repo::client_deal_delete(client, deal, *version));
        }
    }
    Ok(())
}

/// Each leg in the period it counts in: its plan's period at the deal's time, or the next open
/// one of the same kind when that one is closed (the closed markers read by key).
async fn place_in_open_periods(core: &Core, legs: &[Accrual]) -> Result<Vec<StoredLeg>> {
    let mut target: BTreeMap<Period, Period> =
        legs.iter().map(|l| (l.period(), l.period())).collect();
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
    Ok(legs
        .iter()
        .map(|leg| {
            let own = leg.period();
            let period = target[&own];
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

/// What one [`accrue_servers`] pass did, over every server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccrualPass {
    pub batches: u32,
    pub changes: u32,
    pub legs: u32,
    /// Store operations committed (one transaction per batch).
    pub writes: u32,
    /// Batches given up after losing races (read again on the next pass).
    pub raced: u32,
}

/// Accrues every configured server's new deals (`ib.platform_servers`), each until its feed is
/// caught up or `max_batches` batches were written, so one pass (a scheduled Lambda's, or a
/// tick of `brokeros serve`) ends in bounded time; the next one continues.
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
        for _ in 0..max_batches {
            match accrue_next_batch(services, platform, fx, server).await? {
                AccrualOutcome::CaughtUp => break,
                AccrualOutcome::Accrued(report) => {
                    pass.batches += 1;
                    pass.changes += report.ingestion.applied;
                    pass.legs += report.legs;
                    pass.writes += report.writes;
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
