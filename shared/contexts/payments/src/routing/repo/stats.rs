//! Where the payment providers' statistics are stored: each provider's health (audited), and
//! the counters of volume and outcomes.
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

use std::collections::BTreeMap;

use crate::model::{Decimal, Outcome, OutcomeCounts, ProviderHealthRecord};
use brokeros_kernel::changeset::{Audited, Entity, store_error};
use brokeros_kernel::money::Money;
use brokeros_kernel::{Core, Error, Result};
use brokeros_store::{Condition, Item, Key, Query, SortKeyRange, Table, WriteOp};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime, UtcOffset};

use crate::keys;

/// Shards per counter.
pub const COUNTER_SHARDS: u32 = 4;

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

/// Every item `query` matches, page after page.
pub(crate) async fn query_all(services: &Core, query: Query) -> Result<Vec<Item>> {
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

/// Volume per provider and currency over the UTC day of `at`.
pub(crate) async fn day_volumes(
    services: &Core,
    at: OffsetDateTime,
) -> Result<BTreeMap<String, BTreeMap<String, Decimal>>> {
    let mut volumes: BTreeMap<String, BTreeMap<String, Decimal>> = BTreeMap::new();
    let query = Query::new(Table::Main, None, keys::psp_volume_day(utc(at).date()));
    for item in query_all(services, query).await? {
        let (Some(provider), Some(currency)) =
            (provider_of(&item.key.sk, 0), provider_of(&item.key.sk, 1))
        else {
            continue;
        };
        let counter: VolumeCounter = parse(&item)?;
        *volumes
            .entry(provider.to_string())
            .or_default()
            .entry(currency.to_string())
            .or_default() += counter.amount;
    }
    Ok(volumes)
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
}

/// The health set for each of `providers` (those never set are not in it), read by key: routing
/// and outage detection decide on it, so it must not lag behind a change.
pub(crate) async fn health_records<'a>(
    services: &Core,
    providers: impl IntoIterator<Item = &'a str>,
) -> Result<BTreeMap<String, ProviderHealthRecord>> {
    let stored = services
        .find_many::<ProviderHealthRecord>(providers)
        .await?;
    Ok(stored
        .into_iter()
        .map(|s| (s.entity.provider_id.clone(), s.entity))
        .collect())
}

/// The check, for a change that writes nothing, that the provider's health is still as read
/// when the change commits.
pub(crate) fn health_unchanged(read: &Audited<ProviderHealthRecord>) -> WriteOp {
    WriteOp::Check {
        table: Table::Main,
        key: read.entity.key(),
        condition: Condition::VersionIs(read.version),
    }
}
