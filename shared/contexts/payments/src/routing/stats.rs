//! The payment providers' statistics that routing reads: health, outcomes per hour and volume
//! per UTC day, kept in the store.
//!
//! **Counters.** Volume (per provider, currency and UTC day) and outcomes (per provider and UTC
//! hour: succeeded, declined, failed) are counter items split in [`COUNTER_SHARDS`] shards; a
//! deposit always updates the shard its id hashes to ([`counter_shard`]). The store has no
//! atomic add, so an increment is a put of the new total conditional on the version read
//! ([`volume_put`], [`outcome_put`]): the caller adds that write to the transaction of the
//! deposit's state change, so the counter moves exactly when the state does — once, because
//! the state change itself is conditional — and a concurrent increment of the same shard makes
//! one transaction fail and re-run on fresh reads (no lost update). [`volume_increment`] and
//! [`outcome_increment`] read the shard and return that write.
//!
//! Which state change counts is the workflow's choice: volume when the provider accepts the
//! money (it is what provider caps measure), an outcome when an attempt ends.
//!
//! **Health** is an audited item per provider (stream `psp_health/<provider>`): set by finance
//! or admins, or by outage detection ([`detect_outages`]), which never makes a health set by
//! ops better (it may make it worse).
//!
//! **Reading.** [`load_routing_stats`] reads every provider's health (one index query), today's
//! volume (one partition) and the outcomes of the rules' success-rate window (one partition
//! per UTC day the window touches): a handful of queries whatever the number of providers.

use std::collections::BTreeMap;

use crate::model::{
    Decimal, Health, Outcome, OutcomeCounts, RoutingRules, RoutingStats, assess_health,
};
use brokeros_kernel::audit::Actor;
use brokeros_kernel::money::Money;
use brokeros_kernel::principal::Principal;
use brokeros_kernel::{Error, Result, normalize};
use brokeros_store::{Condition, Index, Item, Key, Query, SortKeyRange, Table, WriteOp};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime, UtcOffset};

use super::RULES_EDITORS;
use super::rules::active_routing_rules;
use crate::keys;
use brokeros_kernel::Core;
use brokeros_kernel::OpContext;
use brokeros_kernel::changeset::{Changeset, Entity, decode, load, store_error};
use brokeros_kernel::idempotency::execute;

/// Shards per counter.
pub const COUNTER_SHARDS: u32 = 4;

/// The system actor of outage detection in audit events.
pub const OUTAGE_DETECTOR: &str = "payments-outage-detector";

/// The counter shard a deposit updates (FNV-1a of its id): stable across processes.
pub fn counter_shard(deposit_id: &str) -> u32 {
    let hash = deposit_id.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    hash % COUNTER_SHARDS
}

fn utc(at: OffsetDateTime) -> OffsetDateTime {
    at.to_offset(UtcOffset::UTC)
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct VolumeCounter {
    amount: Decimal,
}

fn parse<T: DeserializeOwned>(item: &Item) -> Result<T> {
    serde_json::from_str(&item.data)
        .map_err(|e| Error::Internal(format!("stored provider counter is unreadable: {e}")))
}

/// The put that moves a counter item from `current` (as read; absent if never written) to
/// `next`, conditional on the version read.
fn counter_put<T: Serialize>(key: Key, current: Option<&Item>, next: &T) -> Result<WriteOp> {
    let data = serde_json::to_string(next).map_err(|e| Error::Internal(e.to_string()))?;
    let (version, condition) = match current {
        Some(item) => (item.version + 1, Condition::VersionIs(item.version)),
        None => (1, Condition::NotExists),
    };
    Ok(WriteOp::Put {
        table: Table::Main,
        item: Item::new(key, version, data),
        condition,
    })
}

/// The write that adds `amount` (negative for a reversal) to the volume counter item at
/// `key` whose current state is `current`.
pub fn volume_put(key: Key, current: Option<&Item>, amount: Decimal) -> Result<WriteOp> {
    let before: VolumeCounter = current.map(parse).transpose()?.unwrap_or_default();
    counter_put(
        key,
        current,
        &VolumeCounter {
            amount: before.amount + amount,
        },
    )
}

/// The write that counts one `outcome` in the outcome counter item at `key`.
pub fn outcome_put(key: Key, current: Option<&Item>, outcome: Outcome) -> Result<WriteOp> {
    let mut counts: OutcomeCounts = current.map(parse).transpose()?.unwrap_or_default();
    counts.record(outcome);
    counter_put(key, current, &counts)
}

/// Reads the shard of `deposit_id` of the provider's volume counter for the UTC day of `at` and
/// returns the write adding `amount` to it, for the transaction of the deposit's state change.
pub async fn volume_increment(
    services: &Core,
    provider_id: &str,
    amount: Money,
    at: OffsetDateTime,
    deposit_id: &str,
) -> Result<WriteOp> {
    let key = keys::psp_volume(
        utc(at).date(),
        provider_id,
        amount.currency().code,
        counter_shard(deposit_id),
    );
    let current = services
        .store
        .get(Table::Main, &key)
        .await
        .map_err(store_error)?;
    volume_put(key, current.as_ref(), amount.amount())
}

/// Reads the shard of `deposit_id` of the provider's outcome counter for the UTC hour of `at`
/// and returns the write counting `outcome`, for the transaction of the attempt's end.
pub async fn outcome_increment(
    services: &Core,
    provider_id: &str,
    outcome: Outcome,
    at: OffsetDateTime,
    deposit_id: &str,
) -> Result<WriteOp> {
    let at = utc(at);
    let key = keys::psp_outcomes(at.date(), at.hour(), provider_id, counter_shard(deposit_id));
    let current = services
        .store
        .get(Table::Main, &key)
        .await
        .map_err(store_error)?;
    outcome_put(key, current.as_ref(), outcome)
}

async fn query_all(services: &Core, query: Query) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    let mut cursor = None;
    loop {
        let page = services
            .store
            .query(query.clone().limit(1000).after(cursor))
            .await
            .map_err(store_error)?;
        items.extend(page.items);
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(items),
        }
    }
}

/// The provider a counter's sort key names (`<provider>#…` or `<hh>#<provider>#…`).
fn provider_of(sk: &str, skip: usize) -> Option<&str> {
    sk.split('#').nth(skip)
}

/// Outcomes per provider over the last `hours` UTC hours: the hour of `at` and the `hours - 1`
/// before it.
pub async fn window_outcomes(
    services: &Core,
    at: OffsetDateTime,
    hours: u32,
) -> Result<BTreeMap<String, OutcomeCounts>> {
    let end = utc(at);
    let start = end - Duration::hours(i64::from(hours.max(1)) - 1);
    let mut totals: BTreeMap<String, OutcomeCounts> = BTreeMap::new();
    let mut day = start.date();
    while day <= end.date() {
        let from = if day == start.date() { start.hour() } else { 0 };
        let to = if day == end.date() { end.hour() } else { 23 };
        // '~' sorts after every character of a provider id.
        let query = Query::new(Table::Main, None, keys::psp_outcomes_day(day)).sk(
            SortKeyRange::Between(format!("{from:02}#"), format!("{to:02}#~")),
        );
        for item in query_all(services, query).await? {
            let Some(provider) = provider_of(&item.key.sk, 1) else {
                continue;
            };
            let counts: OutcomeCounts = parse(&item)?;
            totals.entry(provider.to_string()).or_default().add(&counts);
        }
        day = match day.next_day() {
            Some(d) => d,
            None => break,
        };
    }
    Ok(totals)
}

/// Who set a provider's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthSource {
    Ops,
    Detector,
}

/// A provider's health as set, with who set it and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderHealthRecord {
    pub provider_id: String,
    pub health: Health,
    pub source: HealthSource,
    pub note: String,
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
}

impl Entity for ProviderHealthRecord {
    const TYPE: &'static str = "psp_health";
    const NOUN: &'static str = "payment provider";

    fn id(&self) -> &str {
        &self.provider_id
    }

    fn key_for(id: &str) -> Key {
        keys::psp_health(id)
    }

    fn indexes(&self) -> Vec<(Index, String, String)> {
        vec![(
            Index::Gsi1,
            keys::PSP_HEALTH_ALL.to_string(),
            self.provider_id.clone(),
        )]
    }
}

/// Who is setting a provider's health.
#[derive(Debug, Clone, Copy)]
pub enum HealthSetter<'a> {
    /// A finance user or an admin.
    Ops(&'a Principal),
    /// Outage detection.
    Detector,
}

async fn health_records(services: &Core) -> Result<BTreeMap<String, ProviderHealthRecord>> {
    let query = Query::new(Table::Main, Some(Index::Gsi1), keys::PSP_HEALTH_ALL);
    query_all(services, query)
        .await?
        .iter()
        .map(|item| {
            let record = decode::<ProviderHealthRecord>(item)?.entity;
            Ok((record.provider_id.clone(), record))
        })
        .collect()
}

/// Sets a provider's health (audited; the provider must be in the rules in force) and answers
/// the health in force afterwards. Ops (finance, admins) may set any health. Outage detection
/// may not make a health set by ops better: such a change is ignored. Setting the health in
/// force again by the same source writes nothing.
pub async fn set_provider_health(
    services: &Core,
    by: HealthSetter<'_>,
    provider_id: &str,
    health: Health,
    note: &str,
    correlation_id: &str,
) -> Result<ProviderHealthRecord> {
    let (actor, source) = match by {
        HealthSetter::Ops(principal) => {
            principal.require_any(&RULES_EDITORS, "set a payment provider's health")?;
            (Actor::user(principal), HealthSource::Ops)
        }
        HealthSetter::Detector => (Actor::system(OUTAGE_DETECTOR), HealthSource::Detector),
    };
    let ctx = OpContext {
        actor,
        correlation_id: correlation_id.to_string(),
        now: services.clock.now(),
    };
    set_health(services, &ctx, source, provider_id, health, note).await
}

async fn set_health(
    services: &Core,
    ctx: &OpContext,
    source: HealthSource,
    provider_id: &str,
    health: Health,
    note: &str,
) -> Result<ProviderHealthRecord> {
    let note = normalize::text("note", note, 500)?;
    if active_routing_rules(services)
        .await?
        .provider(provider_id)
        .is_none()
    {
        return Err(Error::NotFound {
            entity: "payment provider",
            id: provider_id.to_string(),
        });
    }
    let note = &note;
    execute(services, None, move || {
        Box::pin(async move {
            let key = keys::psp_health(provider_id);
            let stored = load::<ProviderHealthRecord>(services.store.as_ref(), &key).await?;
            let mut changes = Changeset::new();
            if let Some(current) = &stored {
                let c = &current.entity;
                let unchanged = c.health == health && c.source == source;
                let ops_is_better_informed = source == HealthSource::Detector
                    && c.source == HealthSource::Ops
                    && health < c.health;
                if unchanged || ops_is_better_informed {
                    // Nothing to write; the check keeps the answer true as of commit.
                    changes.put(WriteOp::Check {
                        table: Table::Main,
                        key,
                        condition: Condition::VersionIs(current.version),
                    });
                    return Ok((c.clone(), changes));
                }
            }
            let record = ProviderHealthRecord {
                provider_id: provider_id.to_string(),
                health,
                source,
                note: note.clone(),
                since: ctx.now,
            };
            match &stored {
                Some(before) => changes.update(
                    ctx,
                    services.ids.as_ref(),
                    before,
                    &record,
                    "psp_health.set",
                    vec![],
                )?,
                None => changes.create(ctx, services.ids.as_ref(), &record, "psp_health.set")?,
            }
            Ok((record, changes))
        })
    })
    .await
}

/// Grades every provider of the rules in force from its failures over the rules' health
/// window (`health` policy) and records the health that changed, as outage detection; answers
/// the providers whose health changed (recorded as of `at`). A provider without enough attempts in the window keeps
/// its health, except that a health outage detection lowered improves one step (down →
/// degraded → up) once it is a window old, so that a provider no longer receiving traffic
/// because it was marked down gets traffic again. Meant to run on a schedule (every few
/// minutes) and after a failed attempt.
pub async fn detect_outages(
    services: &Core,
    at: OffsetDateTime,
    correlation_id: &str,
) -> Result<Vec<ProviderHealthRecord>> {
    let rules = active_routing_rules(services).await?;
    let policy = &rules.document().health;
    let outcomes = window_outcomes(services, at, policy.window_hours).await?;
    let current = health_records(services).await?;
    let window = Duration::hours(i64::from(policy.window_hours));
    let ctx = OpContext {
        actor: Actor::system(OUTAGE_DETECTOR),
        correlation_id: correlation_id.to_string(),
        now: at,
    };
    let mut changed = Vec::new();
    for provider in &rules.document().providers {
        let recent = outcomes.get(&provider.id).copied().unwrap_or_default();
        let now = current.get(&provider.id);
        let in_force = now.map_or(Health::Up, |r| r.health);
        let (next, note) = match assess_health(&recent, policy) {
            Some(h) => (
                h,
                format!(
                    "{} of {} attempts failed in the last {} h",
                    recent.failed,
                    recent.attempts(),
                    policy.window_hours
                ),
            ),
            None => match now {
                Some(r)
                    if r.source == HealthSource::Detector
                        && r.health != Health::Up
                        && at - r.since >= window =>
                {
                    let better = if r.health == Health::Down {
                        Health::Degraded
                    } else {
                        Health::Up
                    };
                    (
                        better,
                        format!(
                            "too few attempts to grade ({}) since {}: probation",
                            recent.attempts(),
                            r.health
                        ),
                    )
                }
                _ => continue,
            },
        };
        if next == in_force {
            continue;
        }
        let record = set_health(
            services,
            &ctx,
            HealthSource::Detector,
            &provider.id,
            next,
            &note,
        )
        .await?;
        if Some(&record) != now {
            changed.push(record);
        }
    }
    Ok(changed)
}

/// Outage detection on a schedule, for `brokeros serve` (a scheduled Lambda in AWS): runs every
/// `interval` until the process ends; a failing round is logged and tried at the next.
pub async fn run_outage_detection(services: Core, interval: std::time::Duration) {
    loop {
        tokio::time::sleep(interval).await;
        let now = services.clock.now();
        match detect_outages(&services, now, "outage-detection-schedule").await {
            Ok(changed) => {
                for record in changed {
                    tracing::info!(provider = %record.provider_id, health = record.health.as_str(), "provider health changed");
                }
            }
            Err(e) => tracing::warn!(error = %e, "outage detection failed"),
        }
    }
}

/// What routing needs to know about every provider at `at`: health, outcomes over the rules'
/// success-rate window, and volume of the UTC day of `at`.
pub async fn load_routing_stats(
    services: &Core,
    rules: &RoutingRules,
    at: OffsetDateTime,
) -> Result<RoutingStats> {
    let mut stats = RoutingStats::default();
    for (id, record) in health_records(services).await? {
        stats.provider_mut(&id).health = record.health;
    }
    let hours = rules.document().ranking.success_rate_window_hours;
    for (id, counts) in window_outcomes(services, at, hours).await? {
        stats.provider_mut(&id).recent = counts;
    }
    let query = Query::new(Table::Main, None, keys::psp_volume_day(utc(at).date()));
    for item in query_all(services, query).await? {
        let (Some(provider), Some(currency)) =
            (provider_of(&item.key.sk, 0), provider_of(&item.key.sk, 1))
        else {
            continue;
        };
        let counter: VolumeCounter = parse(&item)?;
        *stats
            .provider_mut(provider)
            .volume_today
            .entry(currency.to_string())
            .or_default() += counter.amount;
    }
    Ok(stats)
}
