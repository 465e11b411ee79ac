//! Deposit routing: which payment providers a deposit may go to, in which order, and why.
//!
//! The rules are one versioned document ([`RoutingDocument`], JSON): the providers with their
//! limits and costs, and ordered rules that ops write to steer traffic. [`RoutingRules::new`]
//! validates a document (every error names the rule or provider at fault) and compiles it;
//! [`RoutingRules::route`] then decides a [`DepositIntent`] against the providers' live
//! [`RoutingStats`], as a [`RoutingDecision`]: the eligible candidates in order with what
//! ranked each, and every excluded provider with every rule or limit that excluded it. On a
//! decline or an outage the workflow takes [`RoutingDecision::next_after`] the attempts so far.
//!
//! # Providers
//!
//! A provider is eligible for a deposit when it is `enabled`, supports the method, the
//! currency (with `min_amount <= amount <= max_amount`, both inclusive), the client's country
//! (`allowed_countries` / `allowed_country_groups`, if any are given, minus
//! `blocked_countries`) and risk level, when today's volume in that currency plus the amount
//! stays within its `daily_cap`, and when its health is not `down`. Its cost for the deposit is
//! `fixed_fee` (per currency) + `amount × percent_fee / 100`.
//!
//! # Rules
//!
//! Every rule whose `when` matches the deposit applies, in document order. A `when` condition
//! left out matches anything; the conditions given must all hold: `countries` and
//! `country_groups` (the client's country is in either), `currencies`, `methods`,
//! `risk_levels`, and `amount`: per currency, `from` (inclusive) and `below` (exclusive), so
//! that tiers `{"below": "5000"}` and `{"from": "5000"}` meet without overlapping; a deposit in
//! a currency that `amount` does not list does not match. A rule has exactly one action:
//!
//! - `"allow_only": [ids]` excludes every other provider;
//! - `"exclude": [ids]` excludes these;
//! - `"prefer": [ids]` ranks these first, in this order, ahead of providers no rule prefers.
//!   Preferences of several matching rules chain in rule order: an earlier rule's list comes
//!   first, and a provider keeps the first position it is given;
//! - `"pin": id` sends the deposit to this provider only (every other one is excluded). Two
//!   pins to different providers must not be able to match the same deposit.
//!
//! "EU cards from 5,000 EUR go to provider X first, never Y for high-risk clients" is two
//! rules: `when {country_groups: [eu], methods: [card], amount: {EUR: {from: 5000}}}` with
//! `prefer: [X]`, and the same `when` plus `risk_levels: [high]` with `exclude: [Y]`.
//!
//! # Ranking
//!
//! Candidates are ordered by: rule preference (preferred first, in preference order), then
//! health (`up` before `degraded`), then recent success rate (higher first, compared in steps
//! of `ranking.success_rate_step_percent` so that noise does not outweigh cost; a provider with
//! fewer than `ranking.min_attempts` attempts in the window is assumed to succeed at
//! `ranking.assumed_success_rate_percent`), then cost for this amount (lower first), then the
//! provider's `priority` (lower first), then the provider id. The same document, intent and
//! stats always give the same decision.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::index::{Compiled, CompiledAction, country_slot, currency_id};
use super::stats::{Health, RoutingStats, SuccessRate};
use super::{PaymentMethod, RiskLevel};
use brokeros_kernel::money::{Currency, Money};
use brokeros_kernel::{Error, Result, normalize};

/// The embedded default rules document (version 1).
pub const DEFAULT_ROUTING_RULES_JSON: &str = include_str!("../../config/payment-routing.json");

/// A deposit to route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositIntent {
    pub client_id: String,
    /// Positive, at its currency's scale.
    pub amount: Money,
    pub method: PaymentMethod,
    /// The client's country of residence, ISO 3166-1 alpha-2 (`DE`).
    pub country: String,
    pub risk_level: RiskLevel,
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
}

// ---------------------------------------------------------------------------------------------
// The document
// ---------------------------------------------------------------------------------------------

/// The routing rules, as ops write them and as they are stored (one immutable copy per
/// version).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// When outage detection marks a provider degraded or down: the share of failed attempts
/// (errors, timeouts; not declines) over the last `window_hours`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// A payment provider (PSP) and what it accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// A provider's limits and fixed fee in one currency. Amounts are decimal strings (`"10.00"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CurrencyLimits {
    /// Inclusive.
    pub min_amount: Decimal,
    /// Inclusive.
    pub max_amount: Decimal,
    /// The most volume a UTC day may bring to this provider in this currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_cap: Option<Decimal>,
    #[serde(default)]
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmountBounds {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub below: Option<Decimal>,
}

/// A rule as written: its action is one of four optional fields.
#[derive(Serialize, Deserialize)]
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

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

fn bad(field: &str, message: impl Into<String>) -> Error {
    Error::invalid("invalid_routing_rules", field, message)
}

fn check_countries<'a>(
    field: &str,
    owner: &str,
    countries: impl IntoIterator<Item = &'a String>,
) -> Result<()> {
    for c in countries {
        if normalize::country("country", c).ok().as_ref() != Some(c) {
            return Err(bad(
                field,
                format!("{owner}: '{c}' is not an upper-case ISO 3166-1 alpha-2 country code"),
            ));
        }
    }
    Ok(())
}

fn check_groups(
    field: &str,
    owner: &str,
    groups: &BTreeSet<String>,
    doc: &RoutingDocument,
) -> Result<()> {
    match groups.iter().find(|g| !doc.country_groups.contains_key(*g)) {
        Some(g) => Err(bad(field, format!("{owner}: unknown country group '{g}'"))),
        None => Ok(()),
    }
}

fn check_currency(field: &str, owner: &str, code: &str) -> Result<Currency> {
    Currency::parse("currency", code).map_err(|e| bad(field, format!("{owner}: {e}")))
}

/// `amount` has no more decimals than `currency` books.
fn check_scale(
    field: &str,
    owner: &str,
    what: &str,
    currency: Currency,
    amount: Decimal,
) -> Result<()> {
    currency
        .exact(what, amount)
        .map(|_| ())
        .map_err(|e| bad(field, format!("{owner}: {what}: {e}")))
}

fn check_not_empty<T>(
    field: &str,
    owner: &str,
    what: &str,
    set: &Option<BTreeSet<T>>,
) -> Result<()> {
    if set.as_ref().is_some_and(BTreeSet::is_empty) {
        return Err(bad(
            field,
            format!(
                "{owner}: when.{what} is empty and would match nothing; leave it out to match any"
            ),
        ));
    }
    Ok(())
}

fn validate_policies(doc: &RoutingDocument) -> Result<()> {
    if doc.version == 0 {
        return Err(bad("version", "version starts at 1"));
    }
    if !(1..=10).contains(&doc.max_attempts) {
        return Err(bad("max_attempts", "max_attempts must be 1 to 10"));
    }
    let r = &doc.ranking;
    if !(1..=168).contains(&r.success_rate_window_hours) {
        return Err(bad(
            "ranking",
            "ranking.success_rate_window_hours must be 1 to 168",
        ));
    }
    if r.min_attempts == 0 {
        return Err(bad("ranking", "ranking.min_attempts must be at least 1"));
    }
    if r.assumed_success_rate_percent > 100 {
        return Err(bad(
            "ranking",
            "ranking.assumed_success_rate_percent must be 0 to 100",
        ));
    }
    if !(1..=100).contains(&r.success_rate_step_percent) {
        return Err(bad(
            "ranking",
            "ranking.success_rate_step_percent must be 1 to 100",
        ));
    }
    let h = &doc.health;
    if !(1..=24).contains(&h.window_hours) || h.min_attempts == 0 {
        return Err(bad(
            "health",
            "health.window_hours must be 1 to 24 and health.min_attempts at least 1",
        ));
    }
    if !(0 < h.degraded_failure_rate_percent
        && h.degraded_failure_rate_percent < h.down_failure_rate_percent
        && h.down_failure_rate_percent <= 100)
    {
        return Err(bad(
            "health",
            "health thresholds must satisfy 0 < degraded_failure_rate_percent < down_failure_rate_percent <= 100",
        ));
    }
    for (name, countries) in &doc.country_groups {
        let owner = format!("country group '{name}'");
        if normalize::code("group", name, 32).is_err() {
            return Err(bad(
                "country_groups",
                format!("{owner}: a group name is 1 to 32 letters, digits, '-' or '_'"),
            ));
        }
        if countries.is_empty() {
            return Err(bad("country_groups", format!("{owner} is empty")));
        }
        check_countries("country_groups", &owner, countries)?;
    }
    Ok(())
}

fn validate_provider(p: &ProviderDescriptor, doc: &RoutingDocument) -> Result<()> {
    let field = "providers";
    let owner = format!("provider '{}'", p.id);
    let owner = owner.as_str();
    if normalize::code("id", &p.id, 40).ok().as_deref() != Some(p.id.as_str()) {
        return Err(bad(
            field,
            format!("{owner}: a provider id is 1 to 40 letters, digits, '-' or '_'"),
        ));
    }
    if p.methods.is_empty() {
        return Err(bad(field, format!("{owner}: no payment methods")));
    }
    if p.risk_levels.is_empty() {
        return Err(bad(field, format!("{owner}: no risk levels")));
    }
    check_countries(field, owner, &p.allowed_countries)?;
    check_countries(field, owner, &p.blocked_countries)?;
    check_groups(field, owner, &p.allowed_country_groups, doc)?;
    if let Some(c) = p
        .allowed_countries
        .intersection(&p.blocked_countries)
        .next()
    {
        return Err(bad(
            field,
            format!("{owner}: {c} is both allowed and blocked"),
        ));
    }
    if p.currencies.is_empty() {
        return Err(bad(field, format!("{owner}: no currencies")));
    }
    if p.percent_fee < Decimal::ZERO || p.percent_fee >= Decimal::ONE_HUNDRED {
        return Err(bad(
            field,
            format!("{owner}: percent_fee must be at least 0 and below 100"),
        ));
    }
    for (code, l) in &p.currencies {
        let currency = check_currency(field, owner, code)?;
        for (what, amount) in [
            ("min_amount", Some(l.min_amount)),
            ("max_amount", Some(l.max_amount)),
            ("daily_cap", l.daily_cap),
            ("fixed_fee", Some(l.fixed_fee)),
        ] {
            if let Some(amount) = amount {
                check_scale(field, owner, &format!("{code} {what}"), currency, amount)?;
            }
        }
        let problem = if l.min_amount <= Decimal::ZERO {
            Some("min_amount must be positive".to_string())
        } else if l.max_amount < l.min_amount {
            Some(format!(
                "max_amount {} is below min_amount {}",
                l.max_amount, l.min_amount
            ))
        } else if l.daily_cap.is_some_and(|cap| cap < l.min_amount) {
            Some("daily_cap is below min_amount: the provider could take nothing".to_string())
        } else if l.fixed_fee < Decimal::ZERO {
            Some("fixed_fee must not be negative".to_string())
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(bad(field, format!("{owner}: {code}: {problem}")));
        }
    }
    Ok(())
}

fn validate_rule(rule: &Rule, doc: &RoutingDocument) -> Result<()> {
    let field = "rules";
    let owner = format!("rule '{}'", rule.id);
    let owner = owner.as_str();
    if normalize::code("id", &rule.id, 64).ok().as_deref() != Some(rule.id.as_str()) {
        return Err(bad(
            field,
            format!("{owner}: a rule id is 1 to 64 letters, digits, '-' or '_'"),
        ));
    }
    let w = &rule.when;
    check_not_empty(field, owner, "countries", &w.countries)?;
    check_not_empty(field, owner, "country_groups", &w.country_groups)?;
    check_not_empty(field, owner, "currencies", &w.currencies)?;
    check_not_empty(field, owner, "methods", &w.methods)?;
    check_not_empty(field, owner, "risk_levels", &w.risk_levels)?;
    if let Some(countries) = &w.countries {
        check_countries(field, owner, countries)?;
    }
    if let Some(groups) = &w.country_groups {
        check_groups(field, owner, groups, doc)?;
    }
    for code in w.currencies.iter().flatten() {
        check_currency(field, owner, code)?;
    }
    if let Some(amounts) = &w.amount {
        if amounts.is_empty() {
            return Err(bad(
                field,
                format!("{owner}: when.amount is empty and would match nothing"),
            ));
        }
        if let Some(currencies) = &w.currencies
            && !currencies.iter().eq(amounts.keys())
        {
            return Err(bad(
                field,
                format!(
                    "{owner}: when.currencies and the currencies of when.amount differ; a currency without amount bounds would never match (leave currencies out)"
                ),
            ));
        }
        for (code, b) in amounts {
            let currency = check_currency(field, owner, code)?;
            for (what, amount) in [("from", b.from), ("below", b.below)] {
                if let Some(amount) = amount {
                    check_scale(
                        field,
                        owner,
                        &format!("amount {code} {what}"),
                        currency,
                        amount,
                    )?;
                }
            }
            let problem = match (b.from, b.below) {
                (None, None) => Some("give from, below or both".to_string()),
                (Some(f), _) if f < Decimal::ZERO => Some("from must not be negative".into()),
                (_, Some(b)) if b <= Decimal::ZERO => Some("below must be positive".into()),
                (Some(f), Some(b)) if f >= b => Some(format!(
                    "from {f} is not below {b}: the bounds match no amount"
                )),
                _ => None,
            };
            if let Some(problem) = problem {
                return Err(bad(
                    field,
                    format!("{owner}: amount bounds in {code}: {problem}"),
                ));
            }
        }
    }
    let providers = rule.action.providers();
    if providers.is_empty() {
        return Err(bad(
            field,
            format!("{owner}: {} names no provider", rule.action.kind()),
        ));
    }
    let mut seen = BTreeSet::new();
    for id in providers {
        if !doc.providers.iter().any(|p| &p.id == id) {
            return Err(bad(field, format!("{owner}: unknown provider '{id}'")));
        }
        if !seen.insert(id) {
            return Err(bad(
                field,
                format!("{owner}: provider '{id}' is listed twice"),
            ));
        }
    }
    Ok(())
}

/// Checks a document: its policies, every provider and rule on its own, unique ids, and that
/// no two pins to different providers can match the same deposit.
fn validate(doc: &RoutingDocument) -> Result<Compiled> {
    validate_policies(doc)?;
    if doc.providers.is_empty() {
        return Err(bad("providers", "at least one provider is required"));
    }
    if doc.providers.len() > usize::from(u16::MAX) {
        return Err(bad("providers", "too many providers"));
    }
    let mut ids = BTreeSet::new();
    for p in &doc.providers {
        validate_provider(p, doc)?;
        if !ids.insert(&p.id) {
            return Err(bad(
                "providers",
                format!("provider '{}' is defined twice", p.id),
            ));
        }
    }
    let mut ids = BTreeSet::new();
    for rule in &doc.rules {
        validate_rule(rule, doc)?;
        if !ids.insert(&rule.id) {
            return Err(bad("rules", format!("rule '{}' is defined twice", rule.id)));
        }
    }
    let compiled = Compiled::new(doc);
    let pins: Vec<usize> = doc
        .rules
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(r.action, RuleAction::Pin(_)))
        .map(|(i, _)| i)
        .collect();
    for (n, &a) in pins.iter().enumerate() {
        for &b in &pins[n + 1..] {
            let (ra, rb) = (&doc.rules[a], &doc.rules[b]);
            if ra.action != rb.action && compiled.rules[a].overlaps(&compiled.rules[b]) {
                return Err(bad(
                    "rules",
                    format!(
                        "rules '{}' and '{}' pin different providers ('{}', '{}') and can match the same deposit",
                        ra.id,
                        rb.id,
                        ra.action.providers()[0],
                        rb.action.providers()[0]
                    ),
                ));
            }
        }
    }
    Ok(compiled)
}

// ---------------------------------------------------------------------------------------------
// The decision
// ---------------------------------------------------------------------------------------------

/// A validated, compiled rules document, ready to route deposits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingRules {
    document: RoutingDocument,
    compiled: Compiled,
}

/// Why a provider is not a candidate for a deposit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Exclusion {
    /// A `pin` rule sent the deposit to another provider.
    PinnedElsewhere {
        rule: String,
        provider: String,
    },
    /// An `allow_only` rule does not list this provider.
    NotAllowedByRule {
        rule: String,
    },
    ExcludedByRule {
        rule: String,
    },
    Disabled,
    MethodNotSupported {
        method: PaymentMethod,
    },
    CurrencyNotSupported {
        currency: Currency,
    },
    CountryNotAllowed {
        country: String,
    },
    CountryBlocked {
        country: String,
    },
    RiskLevelNotAllowed {
        risk_level: RiskLevel,
    },
    BelowMinimum {
        min_amount: Decimal,
        currency: Currency,
    },
    AboveMaximum {
        max_amount: Decimal,
        currency: Currency,
    },
    DailyCapReached {
        daily_cap: Decimal,
        volume_today: Decimal,
        currency: Currency,
    },
    HealthDown,
}

impl fmt::Display for Exclusion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exclusion::PinnedElsewhere { rule, provider } => {
                write!(f, "rule '{rule}' pins the deposit to provider '{provider}'")
            }
            Exclusion::NotAllowedByRule { rule } => {
                write!(f, "rule '{rule}' allows only other providers")
            }
            Exclusion::ExcludedByRule { rule } => write!(f, "excluded by rule '{rule}'"),
            Exclusion::Disabled => f.write_str("the provider is disabled"),
            Exclusion::MethodNotSupported { method } => write!(f, "does not take {method}"),
            Exclusion::CurrencyNotSupported { currency } => write!(f, "does not take {currency}"),
            Exclusion::CountryNotAllowed { country } => {
                write!(f, "does not serve clients in '{country}'")
            }
            Exclusion::CountryBlocked { country } => write!(f, "blocks clients in {country}"),
            Exclusion::RiskLevelNotAllowed { risk_level } => {
                write!(f, "does not serve {risk_level}-risk clients")
            }
            Exclusion::BelowMinimum {
                min_amount,
                currency,
            } => write!(f, "amount below its minimum of {min_amount} {currency}"),
            Exclusion::AboveMaximum {
                max_amount,
                currency,
            } => write!(f, "amount above its maximum of {max_amount} {currency}"),
            Exclusion::DailyCapReached {
                daily_cap,
                volume_today,
                currency,
            } => write!(
                f,
                "daily cap of {daily_cap} {currency} reached ({volume_today} {currency} today, plus this deposit)"
            ),
            Exclusion::HealthDown => f.write_str("health is down"),
        }
    }
}

/// A provider that is not a candidate, with every reason (rules first, then limits, then
/// health).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Excluded {
    pub provider_id: String,
    pub reasons: Vec<Exclusion>,
}

/// A provider's place in a rule preference: `position` 1 is the most preferred provider of
/// this deposit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preference {
    pub rule: String,
    pub position: u32,
}

/// What placed a candidate after the one ranked just before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RankedBy {
    /// The first candidate.
    Top,
    Preference,
    Health,
    SuccessRate,
    Cost,
    Priority,
    ProviderId,
}

/// An eligible provider, with what ranked it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub provider_id: String,
    /// 1 for the first provider to try.
    pub rank: u32,
    pub ranked_by: RankedBy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preference: Option<Preference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned_by: Option<String>,
    pub health: Health,
    pub success_rate: SuccessRate,
    /// The provider's fee for this deposit, in its currency.
    pub cost: Decimal,
    pub priority: u32,
}

impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{} {}", self.rank, self.provider_id)?;
        let why = match self.ranked_by {
            RankedBy::Top => "first",
            RankedBy::Preference => "after the previous by rule preference",
            RankedBy::Health => "after the previous by health",
            RankedBy::SuccessRate => "after the previous by success rate",
            RankedBy::Cost => "after the previous by cost",
            RankedBy::Priority => "after the previous by priority",
            RankedBy::ProviderId => "after the previous by provider id (a tie)",
        };
        write!(f, " ({why}):")?;
        if let Some(rule) = &self.pinned_by {
            write!(f, " pinned by rule '{rule}';")?;
        }
        match &self.preference {
            Some(p) => write!(
                f,
                " preferred by rule '{}' (position {});",
                p.rule, p.position
            )?,
            None => f.write_str(" no rule preference;")?,
        }
        write!(
            f,
            " health {}; success {}; cost {}; priority {}",
            self.health, self.success_rate, self.cost, self.priority
        )
    }
}

/// Where a deposit may go: candidates in the order to try them and every excluded provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingDecision {
    /// The rules version the decision was taken under.
    pub rules_version: u32,
    /// The rules that matched, in document order.
    pub matched_rules: Vec<String>,
    pub candidates: Vec<Candidate>,
    pub excluded: Vec<Excluded>,
    /// The most providers the deposit may be tried at.
    pub max_attempts: u32,
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub provider_id: String,
    pub outcome: AttemptOutcome,
}

/// A candidate passed over because the deposit was already tried there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub provider_id: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub outcome: AttemptOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FallbackStop {
    MaxAttemptsReached { max_attempts: u32 },
    NoCandidateLeft,
}

/// The next provider to try, with the candidates skipped on the way, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fallback {
    pub next: Option<Candidate>,
    pub skipped: Vec<Skipped>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<FallbackStop>,
}

impl RoutingDecision {
    /// The first provider to try, if any.
    pub fn first(&self) -> Option<&Candidate> {
        self.candidates.first()
    }

    /// The next candidate after `attempts` (in the order they were made): the best-ranked one
    /// not tried yet, with every better-ranked candidate skipped because it was tried. Nothing
    /// once `max_attempts` attempts were made or no candidate is left. For a view on fresh
    /// stats (a provider went down meanwhile), route again under the same rules version and
    /// ask the new decision with the same attempts.
    pub fn next_after(&self, attempts: &[Attempt]) -> Fallback {
        let tried = |id: &str| {
            attempts
                .iter()
                .enumerate()
                .rev()
                .find(|(_, a)| a.provider_id == id)
                .map(|(n, a)| (n as u32 + 1, a.outcome))
        };
        let mut skipped = Vec::new();
        if attempts.len() >= self.max_attempts as usize {
            skipped.extend(self.candidates.iter().filter_map(|c| {
                tried(&c.provider_id).map(|(attempt, outcome)| Skipped {
                    provider_id: c.provider_id.clone(),
                    attempt,
                    outcome,
                })
            }));
            return Fallback {
                next: None,
                skipped,
                stop: Some(FallbackStop::MaxAttemptsReached {
                    max_attempts: self.max_attempts,
                }),
            };
        }
        for c in &self.candidates {
            match tried(&c.provider_id) {
                Some((attempt, outcome)) => skipped.push(Skipped {
                    provider_id: c.provider_id.clone(),
                    attempt,
                    outcome,
                }),
                None => {
                    return Fallback {
                        next: Some(c.clone()),
                        skipped,
                        stop: None,
                    };
                }
            }
        }
        Fallback {
            next: None,
            skipped,
            stop: Some(FallbackStop::NoCandidateLeft),
        }
    }

    pub fn excluded(&self, provider_id: &str) -> Option<&Excluded> {
        self.excluded.iter().find(|e| e.provider_id == provider_id)
    }

    pub fn candidate(&self, provider_id: &str) -> Option<&Candidate> {
        self.candidates
            .iter()
            .find(|c| c.provider_id == provider_id)
    }

    /// The provider ids of the candidates, in order.
    pub fn order(&self) -> Vec<&str> {
        self.candidates
            .iter()
            .map(|c| c.provider_id.as_str())
            .collect()
    }
}

/// A candidate under construction, with its sort key.
struct Ranked {
    provider: usize,
    preference: u32,
    preferred_by: Option<(usize, u32)>,
    health: Health,
    rate: SuccessRate,
    rate_step: u32,
    cost: Decimal,
}

impl RoutingRules {
    /// Validates and compiles a document.
    pub fn new(document: RoutingDocument) -> Result<RoutingRules> {
        let compiled = validate(&document)?;
        Ok(RoutingRules { document, compiled })
    }

    pub fn from_json(text: &str) -> Result<RoutingRules> {
        let document: RoutingDocument = serde_json::from_str(text)
            .map_err(|e| bad("rules", format!("the routing rules are not valid: {e}")))?;
        RoutingRules::new(document)
    }

    pub fn embedded_default() -> RoutingRules {
        RoutingRules::from_json(DEFAULT_ROUTING_RULES_JSON)
            .expect("the embedded routing rules are valid")
    }

    pub fn document(&self) -> &RoutingDocument {
        &self.document
    }

    pub fn version(&self) -> u32 {
        self.document.version
    }

    pub fn provider(&self, id: &str) -> Option<&ProviderDescriptor> {
        self.document.providers.iter().find(|p| p.id == id)
    }

    fn success_rate(&self, attempts: u64, succeeded: u64) -> SuccessRate {
        let r = &self.document.ranking;
        if attempts >= u64::from(r.min_attempts) {
            SuccessRate {
                basis_points: (succeeded.min(attempts) * 10_000 / attempts) as u32,
                attempts,
                measured: true,
            }
        } else {
            SuccessRate {
                basis_points: r.assumed_success_rate_percent * 100,
                attempts,
                measured: false,
            }
        }
    }

    /// Decides where `intent` may go, given the providers' `stats` (a provider missing from
    /// them is up, with no recent attempts and no volume today). Pure and deterministic.
    pub fn route(&self, intent: &DepositIntent, stats: &RoutingStats) -> RoutingDecision {
        let doc = &self.document;
        let c = &self.compiled;
        let amount = intent.amount.amount();
        let currency_code = intent.amount.currency();
        let currency = currency_id(currency_code);
        let country = country_slot(&intent.country);
        let n = doc.providers.len();

        // Rules, in document order.
        let mut rule_reasons: Vec<Vec<Exclusion>> = vec![Vec::new(); n];
        let mut preference: Vec<Option<(u32, usize)>> = vec![None; n];
        let mut pinned: Option<(usize, usize)> = None;
        let mut next_position = 1u32;
        let mut matched_rules = Vec::new();
        for &r in c.candidates(intent.method, currency) {
            let r = r as usize;
            let rule = &c.rules[r];
            if !rule.matches(country, intent.risk_level, currency, amount) {
                continue;
            }
            let id = &doc.rules[r].id;
            matched_rules.push(id.clone());
            match &rule.action {
                CompiledAction::AllowOnly(allowed) => {
                    for (p, reasons) in rule_reasons.iter_mut().enumerate() {
                        if !allowed[p] {
                            reasons.push(Exclusion::NotAllowedByRule { rule: id.clone() });
                        }
                    }
                }
                CompiledAction::Exclude(ps) => {
                    for &p in ps {
                        rule_reasons[usize::from(p)]
                            .push(Exclusion::ExcludedByRule { rule: id.clone() });
                    }
                }
                CompiledAction::Prefer(ps) => {
                    for &p in ps {
                        let slot = &mut preference[usize::from(p)];
                        if slot.is_none() {
                            *slot = Some((next_position, r));
                            next_position += 1;
                        }
                    }
                }
                CompiledAction::Pin(p) => {
                    let p = usize::from(*p);
                    // Overlapping pins name the same provider (checked at validation).
                    if pinned.is_none() {
                        pinned = Some((p, r));
                        for (other, reasons) in rule_reasons.iter_mut().enumerate() {
                            if other != p {
                                reasons.push(Exclusion::PinnedElsewhere {
                                    rule: id.clone(),
                                    provider: doc.providers[p].id.clone(),
                                });
                            }
                        }
                    }
                }
            }
        }

        // Limits and health, provider by provider.
        let ranking = &doc.ranking;
        let rate_step = ranking.success_rate_step_percent * 100;
        let mut ranked: Vec<Ranked> = Vec::with_capacity(n);
        let mut excluded = Vec::new();
        for (p, mut reasons) in rule_reasons.into_iter().enumerate() {
            let descriptor = &doc.providers[p];
            let compiled = &c.providers[p];
            let provider_stats = stats.get(&descriptor.id);
            if !descriptor.enabled {
                reasons.push(Exclusion::Disabled);
            }
            if compiled.methods & intent.method.bit() == 0 {
                reasons.push(Exclusion::MethodNotSupported {
                    method: intent.method,
                });
            }
            let limits = compiled.limits[usize::from(currency)].as_ref();
            if limits.is_none() {
                reasons.push(Exclusion::CurrencyNotSupported {
                    currency: currency_code,
                });
            }
            let allowed = match (&compiled.allowed, country) {
                (_, None) => false,
                (None, Some(_)) => true,
                (Some(set), Some(slot)) => set.contains(slot),
            };
            if !allowed {
                reasons.push(Exclusion::CountryNotAllowed {
                    country: intent.country.clone(),
                });
            } else if let (Some(blocked), Some(slot)) = (&compiled.blocked, country)
                && blocked.contains(slot)
            {
                reasons.push(Exclusion::CountryBlocked {
                    country: intent.country.clone(),
                });
            }
            if compiled.risks & intent.risk_level.bit() == 0 {
                reasons.push(Exclusion::RiskLevelNotAllowed {
                    risk_level: intent.risk_level,
                });
            }
            if let Some(l) = limits {
                if amount < l.min_amount {
                    reasons.push(Exclusion::BelowMinimum {
                        min_amount: l.min_amount,
                        currency: currency_code,
                    });
                }
                if amount > l.max_amount {
                    reasons.push(Exclusion::AboveMaximum {
                        max_amount: l.max_amount,
                        currency: currency_code,
                    });
                }
                if let Some(cap) = l.daily_cap {
                    let today = provider_stats
                        .map_or(Decimal::ZERO, |s| s.volume_today(currency_code.code));
                    if today + amount > cap {
                        reasons.push(Exclusion::DailyCapReached {
                            daily_cap: cap,
                            volume_today: today,
                            currency: currency_code,
                        });
                    }
                }
            }
            let health = provider_stats.map_or(Health::Up, |s| s.health);
            if health == Health::Down {
                reasons.push(Exclusion::HealthDown);
            }
            match (reasons.is_empty(), limits) {
                (true, Some(l)) => {
                    let recent = provider_stats.map(|s| s.recent).unwrap_or_default();
                    let rate = self.success_rate(recent.attempts(), recent.succeeded);
                    ranked.push(Ranked {
                        provider: p,
                        preference: preference[p].map_or(u32::MAX, |(pos, _)| pos),
                        preferred_by: preference[p].map(|(pos, r)| (r, pos)),
                        health,
                        rate_step: rate.basis_points / rate_step,
                        rate,
                        cost: l.fixed_fee + amount * descriptor.percent_fee / Decimal::ONE_HUNDRED,
                    });
                }
                _ => excluded.push(Excluded {
                    provider_id: descriptor.id.clone(),
                    reasons,
                }),
            }
        }

        let key = |r: &Ranked| {
            (
                r.preference,
                r.health,
                std::cmp::Reverse(r.rate_step),
                r.cost,
                doc.providers[r.provider].priority,
            )
        };
        ranked.sort_unstable_by(|a, b| {
            key(a).cmp(&key(b)).then_with(|| {
                doc.providers[a.provider]
                    .id
                    .cmp(&doc.providers[b.provider].id)
            })
        });
        let mut candidates = Vec::with_capacity(ranked.len());
        for (i, r) in ranked.iter().enumerate() {
            let ranked_by = match i.checked_sub(1).map(|prev| &ranked[prev]) {
                None => RankedBy::Top,
                Some(prev) if prev.preference != r.preference => RankedBy::Preference,
                Some(prev) if prev.health != r.health => RankedBy::Health,
                Some(prev) if prev.rate_step != r.rate_step => RankedBy::SuccessRate,
                Some(prev) if prev.cost != r.cost => RankedBy::Cost,
                Some(prev)
                    if doc.providers[prev.provider].priority
                        != doc.providers[r.provider].priority =>
                {
                    RankedBy::Priority
                }
                Some(_) => RankedBy::ProviderId,
            };
            let descriptor = &doc.providers[r.provider];
            candidates.push(Candidate {
                provider_id: descriptor.id.clone(),
                rank: i as u32 + 1,
                ranked_by,
                preference: r.preferred_by.map(|(rule, position)| Preference {
                    rule: doc.rules[rule].id.clone(),
                    position,
                }),
                pinned_by: pinned
                    .filter(|(p, _)| *p == r.provider)
                    .map(|(_, rule)| doc.rules[rule].id.clone()),
                health: r.health,
                success_rate: r.rate,
                cost: r.cost.normalize(),
                priority: descriptor.priority,
            });
        }
        RoutingDecision {
            rules_version: doc.version,
            matched_rules,
            candidates,
            excluded,
            max_attempts: doc.max_attempts,
        }
    }
}
