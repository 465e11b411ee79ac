//! The routing rules document, as ops write it and as it is stored: the providers with their
//! limits and costs, the policies, and the rules.

use std::collections::{BTreeMap, BTreeSet};
use utoipa::ToSchema;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::model::stats::HealthPolicy;
use crate::model::{PaymentMethod, RiskLevel};

/// The embedded default rules document (version 1).
pub const DEFAULT_ROUTING_RULES_JSON: &str = include_str!("../../../config/payment-routing.json");

/// The routing rules, as ops write them and as they are stored (one immutable copy per
/// version).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutingDocument {
    /// 1 for the embedded default; each change adds one.
    pub version: u32,
    /// The most providers one deposit is tried at (the first plus the fallbacks).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    #[serde(default)]
    pub ranking: RankingPolicy,
    #[serde(default)]
    pub health: HealthPolicy,
    /// Named sets of countries (`eu`) that providers and rules refer to.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub country_groups: BTreeMap<String, BTreeSet<String>>,
    pub providers: Vec<ProviderDescriptor>,
    #[serde(default)]
    pub rules: Vec<Rule>,
}

fn default_max_attempts() -> u32 {
    3
}

/// How recent outcomes rank providers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RankingPolicy {
    /// The success rate counts the attempts of the last this many hours (hourly buckets).
    pub success_rate_window_hours: u32,
    /// Fewer attempts than this in the window: the rate is not measured but assumed.
    pub min_attempts: u32,
    pub assumed_success_rate_percent: u32,
    /// Rates are compared in steps this wide (percentage points).
    pub success_rate_step_percent: u32,
}

impl Default for RankingPolicy {
    fn default() -> Self {
        RankingPolicy {
            success_rate_window_hours: 6,
            min_attempts: 20,
            assumed_success_rate_percent: 90,
            success_rate_step_percent: 2,
        }
    }
}

/// A payment provider (PSP) and what it accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderDescriptor {
    /// Letters, digits, `-`, `_` (at most 40).
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    pub methods: BTreeSet<PaymentMethod>,
    /// With `allowed_country_groups`, the only countries served; both empty: every country.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub allowed_countries: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub allowed_country_groups: BTreeSet<String>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub blocked_countries: BTreeSet<String>,
    /// The client risk levels served (default: all).
    #[serde(default = "all_risk_levels")]
    pub risk_levels: BTreeSet<RiskLevel>,
    /// The currencies accepted, with their limits.
    pub currencies: BTreeMap<String, CurrencyLimits>,
    /// Percent of the amount (`"1.9"` for 1.9 %), on top of the currency's `fixed_fee`.
    #[serde(deserialize_with = "brokeros_kernel::money::amount::deserialize")]
    pub percent_fee: Decimal,
    /// Breaks ties after cost: lower first.
    #[serde(default)]
    pub priority: u32,
}

fn yes() -> bool {
    true
}

fn all_risk_levels() -> BTreeSet<RiskLevel> {
    RiskLevel::ALL.into_iter().collect()
}

/// A provider's limits and fixed fee in one currency. Amounts are decimal strings (`"10.00"`,
/// `brokeros_kernel::money::amount`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CurrencyLimits {
    /// Inclusive.
    #[serde(deserialize_with = "brokeros_kernel::money::amount::deserialize")]
    pub min_amount: Decimal,
    /// Inclusive.
    #[serde(deserialize_with = "brokeros_kernel::money::amount::deserialize")]
    pub max_amount: Decimal,
    /// The most volume a UTC day may bring to this provider in this currency.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "brokeros_kernel::money::amount::deserialize_option"
    )]
    pub daily_cap: Option<Decimal>,
    #[serde(
        default,
        deserialize_with = "brokeros_kernel::money::amount::deserialize"
    )]
    pub fixed_fee: Decimal,
}

/// A routing rule: when it matches, what it does to the providers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawRule", into = "RawRule")]
pub struct Rule {
    /// Letters, digits, `-`, `_` (at most 64); named in decisions and errors.
    pub id: String,
    pub description: String,
    pub when: RuleMatch,
    pub action: RuleAction,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleAction {
    AllowOnly(Vec<String>),
    Exclude(Vec<String>),
    Prefer(Vec<String>),
    Pin(String),
}

impl RuleAction {
    pub fn kind(&self) -> &'static str {
        match self {
            RuleAction::AllowOnly(_) => "allow_only",
            RuleAction::Exclude(_) => "exclude",
            RuleAction::Prefer(_) => "prefer",
            RuleAction::Pin(_) => "pin",
        }
    }

    pub fn providers(&self) -> &[String] {
        match self {
            RuleAction::AllowOnly(p) | RuleAction::Exclude(p) | RuleAction::Prefer(p) => p,
            RuleAction::Pin(p) => std::slice::from_ref(p),
        }
    }
}

/// The conditions of a rule; absent means "any".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleMatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub countries: Option<BTreeSet<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_groups: Option<BTreeSet<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currencies: Option<BTreeSet<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub methods: Option<BTreeSet<PaymentMethod>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_levels: Option<BTreeSet<RiskLevel>>,
    /// Amount bounds per currency; a deposit in another currency does not match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<BTreeMap<String, AmountBounds>>,
}

/// `from <= amount < below`; either end may be left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmountBounds {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "brokeros_kernel::money::amount::deserialize_option"
    )]
    pub from: Option<Decimal>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "brokeros_kernel::money::amount::deserialize_option"
    )]
    pub below: Option<Decimal>,
}

/// A rule as written: its action is one of four optional fields.
#[derive(Serialize, Deserialize, ToSchema)]
#[schema(as = Rule)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    description: String,
    #[serde(default)]
    when: RuleMatch,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    allow_only: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exclude: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    prefer: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pin: Option<String>,
}

/// A rule in the API's contract: as written ([`RawRule`]).
impl utoipa::PartialSchema for Rule {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <RawRule as utoipa::PartialSchema>::schema()
    }
}

impl utoipa::ToSchema for Rule {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        <RawRule as utoipa::ToSchema>::schemas(schemas)
    }
}

impl TryFrom<RawRule> for Rule {
    type Error = String;

    fn try_from(raw: RawRule) -> std::result::Result<Rule, String> {
        let action = match (raw.allow_only, raw.exclude, raw.prefer, raw.pin) {
            (Some(p), None, None, None) => RuleAction::AllowOnly(p),
            (None, Some(p), None, None) => RuleAction::Exclude(p),
            (None, None, Some(p), None) => RuleAction::Prefer(p),
            (None, None, None, Some(p)) => RuleAction::Pin(p),
            _ => {
                return Err(format!(
                    "rule '{}': give exactly one action of allow_only, exclude, prefer, pin",
                    raw.id
                ));
            }
        };
        Ok(Rule {
            id: raw.id,
            description: raw.description,
            when: raw.when,
            action,
        })
    }
}

impl From<Rule> for RawRule {
    fn from(rule: Rule) -> RawRule {
        let mut raw = RawRule {
            id: rule.id,
            description: rule.description,
            when: rule.when,
            allow_only: None,
            exclude: None,
            prefer: None,
            pin: None,
        };
        match rule.action {
            RuleAction::AllowOnly(p) => raw.allow_only = Some(p),
            RuleAction::Exclude(p) => raw.exclude = Some(p),
            RuleAction::Prefer(p) => raw.prefer = Some(p),
            RuleAction::Pin(p) => raw.pin = Some(p),
        }
        raw
    }
}
