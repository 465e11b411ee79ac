//! The payment providers' statistics that routing reads: health, outcomes per hour and volume
//! per UTC day, kept in the store.
//!
//! **Counters** of volume (per provider, currency and UTC day) and outcomes (per provider and
//! UTC hour) are sharded items that a deposit's state change increments in its own
//! transaction: [`volume_increment`](super::volume_increment) and
//! [`outcome_increment`](super::outcome_increment) (the repository tells how).
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
    Decimal, Health, HealthSource, OutcomeCounts, PaymentMethod, ProviderHealthRecord,
    RoutingRules, RoutingStats, assess_health,
};
use brokeros_kernel::audit::Actor;
use brokeros_kernel::principal::Principal;
use brokeros_kernel::{Error, Result, normalize};
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use super::RULES_EDITORS;
use super::repo::stats::{day_volumes, health_records, health_unchanged, window_outcomes};
use super::rules::active_routing_rules;
use brokeros_kernel::Core;
use brokeros_kernel::OpContext;
use brokeros_kernel::changeset::Changeset;
use brokeros_kernel::idempotency::execute;

/// The system actor of outage detection in audit events.
pub const OUTAGE_DETECTOR: &str = "payments-outage-detector";

/// Who is setting a provider's health.
#[derive(Debug, Clone, Copy)]
pub enum HealthSetter<'a> {
    /// A finance user or an admin.
    Ops(&'a Principal),
    /// Outage detection.
    Detector,
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
            let stored = services.find::<ProviderHealthRecord>(provider_id).await?;
            let mut changes = Changeset::new();
            if let Some(current) = &stored {
                let c = &current.entity;
                let unchanged = c.health == health && c.source == source;
                let ops_is_better_informed = source == HealthSource::Detector
                    && c.source == HealthSource::Ops
                    && health < c.health;
                if unchanged || ops_is_better_informed {
                    // Nothing to write; the check keeps the answer true as of commit.
                    changes.put(health_unchanged(current));
                    return Ok((c.clone(), changes));
                }
            }
            let record = ProviderHealthRecord {
                provider_id: provider_id.to_string(),
                health,
                source,
                note: note.clone(),
                since: ctx.now,
                set_by: Some(ctx.actor.id.clone()),
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
    let providers = rules.document().providers.iter().map(|p| p.id.as_str());
    let current = health_records(services, providers).await?;
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
    let providers = rules.document().providers.iter().map(|p| p.id.as_str());
    for (id, record) in health_records(services, providers).await? {
        stats.provider_mut(&id).health = record.health;
    }
    let hours = rules.document().ranking.success_rate_window_hours;
    for (id, counts) in window_outcomes(services, at, hours).await? {
        stats.provider_mut(&id).recent = counts;
    }
    for (id, volumes) in day_volumes(services, at).await? {
        stats.provider_mut(&id).volume_today = volumes;
    }
    Ok(stats)
}

/// One provider of the rules in force as finance watches it: its health (and who set it), and
/// the statistics routing ranks it by.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ProviderOverview {
    pub id: String,
    pub name: String,
    /// Whether the rules in force let routing choose it at all.
    pub enabled: bool,
    pub methods: Vec<PaymentMethod>,
    /// The health routing reads: `up` for a provider whose health was never set.
    pub health: Health,
    /// The last setting of its health (by finance, an admin or outage detection); absent when
    /// it was never set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_set: Option<ProviderHealthRecord>,
    /// Attempts' outcomes over the rules' success-rate window (`window_hours`).
    pub recent: OutcomeCounts,
    /// Volume accepted on the UTC day of `as_of`, per currency (what daily caps measure).
    pub volume_today: BTreeMap<String, Decimal>,
}

/// The providers of the routing rules in force with their health and routing statistics.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ProvidersOverview {
    /// The version of the routing rules in force.
    pub rules_version: u32,
    /// The success-rate window of the rules' ranking policy, in hours.
    pub window_hours: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub as_of: OffsetDateTime,
    pub items: Vec<ProviderOverview>,
}

/// The providers of the rules in force with their health and the statistics routing reads
/// now (the same reads as [`load_routing_stats`]): for finance and admins, who set the health.
pub async fn providers_overview(
    services: &Core,
    principal: &Principal,
) -> Result<ProvidersOverview> {
    principal.require_any(&RULES_EDITORS, "read the payment providers' health")?;
    let as_of = services.clock.now();
    let rules = active_routing_rules(services).await?;
    let document = rules.document();
    let window_hours = document.ranking.success_rate_window_hours;
    let mut records =
        health_records(services, document.providers.iter().map(|p| p.id.as_str())).await?;
    let mut outcomes = window_outcomes(services, as_of, window_hours).await?;
    let mut volumes = day_volumes(services, as_of).await?;
    let items = document
        .providers
        .iter()
        .map(|provider| {
            let health_set = records.remove(&provider.id);
            ProviderOverview {
                id: provider.id.clone(),
                name: provider.name.clone(),
                enabled: provider.enabled,
                methods: provider.methods.iter().copied().collect(),
                health: health_set.as_ref().map_or(Health::Up, |r| r.health),
                health_set,
                recent: outcomes.remove(&provider.id).unwrap_or_default(),
                volume_today: volumes.remove(&provider.id).unwrap_or_default(),
            }
        })
        .collect();
    Ok(ProvidersOverview {
        rules_version: rules.version(),
        window_hours,
        as_of,
        items,
    })
}
