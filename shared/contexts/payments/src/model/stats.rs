//! The providers' live statistics that routing takes as input: health, recent outcomes and
//! today's volume per currency. The application layer keeps them in the store; here they are
//! plain values.

use std::collections::BTreeMap;
use std::fmt;
use utoipa::ToSchema;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A provider's health. Ordered from best to worst: `Down` excludes a provider, `Degraded`
/// ranks it after healthy ones of the same rule preference.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    #[default]
    Up,
    Degraded,
    Down,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Up => "up",
            Health::Degraded => "degraded",
            Health::Down => "down",
        }
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who set a provider's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HealthSource {
    Ops,
    Detector,
}

/// A provider's health as set, with who set it and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProviderHealthRecord {
    pub provider_id: String,
    pub health: Health,
    pub source: HealthSource,
    pub note: String,
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
    /// The user (or the outage detector) who set it; absent on records set before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_by: Option<String>,
}

/// Outcomes of attempts at a provider over some window. A decline is the provider (or the
/// issuer) refusing the payment; a failure is the provider not answering properly (an error,
/// an outage, a timeout), which is what outage detection looks at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OutcomeCounts {
    pub succeeded: u64,
    pub declined: u64,
    pub failed: u64,
}

/// How one attempt at a provider ended, as its counters record it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Succeeded,
    Declined,
    /// An error, an outage or a timeout.
    Failed,
}

/// How an attempt at a provider ended, when the workflow moves on to the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptOutcome {
    Declined,
    /// An error or outage at the provider.
    Failed,
    TimedOut,
}

impl From<AttemptOutcome> for Outcome {
    fn from(outcome: AttemptOutcome) -> Outcome {
        match outcome {
            AttemptOutcome::Declined => Outcome::Declined,
            AttemptOutcome::Failed | AttemptOutcome::TimedOut => Outcome::Failed,
        }
    }
}

impl OutcomeCounts {
    pub fn record(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Succeeded => self.succeeded += 1,
            Outcome::Declined => self.declined += 1,
            Outcome::Failed => self.failed += 1,
        }
    }

    pub fn attempts(&self) -> u64 {
        self.succeeded + self.declined + self.failed
    }

    pub fn add(&mut self, other: &OutcomeCounts) {
        self.succeeded += other.succeeded;
        self.declined += other.declined;
        self.failed += other.failed;
    }
}

/// What routing knows about one provider right now. A provider without stats is up, has no
/// recent attempts and no volume today.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderStats {
    pub health: Health,
    /// Outcomes within the rules' success-rate window.
    pub recent: OutcomeCounts,
    /// Volume accepted today (UTC day of the deposit), per currency.
    pub volume_today: BTreeMap<String, Decimal>,
}

impl ProviderStats {
    pub fn volume_today(&self, currency: &str) -> Decimal {
        self.volume_today
            .get(currency)
            .copied()
            .unwrap_or(Decimal::ZERO)
    }
}

/// The statistics of every provider, by provider id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingStats {
    pub providers: BTreeMap<String, ProviderStats>,
}

impl RoutingStats {
    pub fn get(&self, provider_id: &str) -> Option<&ProviderStats> {
        self.providers.get(provider_id)
    }

    pub fn provider_mut(&mut self, provider_id: &str) -> &mut ProviderStats {
        self.providers.entry(provider_id.to_string()).or_default()
    }
}

/// A success rate as routing used it: in basis points (10,000 = 100 %), measured when the
/// window holds enough attempts, assumed otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuccessRate {
    pub basis_points: u32,
    pub attempts: u64,
    pub measured: bool,
}

impl fmt::Display for SuccessRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, frac) = (self.basis_points / 100, self.basis_points % 100);
        if self.measured {
            write!(f, "{whole}.{frac:02}% over {} attempts", self.attempts)
        } else {
            write!(
                f,
                "assumed {whole}.{frac:02}% ({} attempts, too few to measure)",
                self.attempts
            )
        }
    }
}

/// When outage detection marks a provider degraded or down: the share of failed attempts
/// (errors, timeouts; not declines) over the last `window_hours`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct HealthPolicy {
    pub window_hours: u32,
    pub min_attempts: u32,
    pub degraded_failure_rate_percent: u32,
    pub down_failure_rate_percent: u32,
}

impl Default for HealthPolicy {
    fn default() -> Self {
        HealthPolicy {
            window_hours: 1,
            min_attempts: 10,
            degraded_failure_rate_percent: 20,
            down_failure_rate_percent: 50,
        }
    }
}

/// The health outage detection assigns from recent outcomes: failures (not declines) as a share
/// of attempts, once the window holds `min_attempts`. Too few attempts say nothing: `None`.
pub fn assess_health(recent: &OutcomeCounts, policy: &HealthPolicy) -> Option<Health> {
    let attempts = recent.attempts();
    if attempts == 0 || attempts < u64::from(policy.min_attempts) {
        return None;
    }
    let failed_percent_x100 = recent.failed * 10_000 / attempts;
    Some(
        if failed_percent_x100 >= u64::from(policy.down_failure_rate_percent) * 100 {
            Health::Down
        } else if failed_percent_x100 >= u64::from(policy.degraded_failure_rate_percent) * 100 {
            Health::Degraded
        } else {
            Health::Up
        },
    )
}
