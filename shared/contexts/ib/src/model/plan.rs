//! Commission plans: versioned, effective-dated JSON documents that say what a deal earns and
//! who in the chain gets it. A plan is data, read and checked here; the engine
//! ([`super::engine`]) applies it.
//!
//! # The document
//!
//! ```json
//! {
//!   "id": "standard", "version": 3, "effective_from": "2026-01-01T00:00:00Z",
//!   "currency": "USD", "period": "monthly", "earn_on": "close",
//!   "min_lots": "0.5", "min_hold_seconds": 60, "exclude_hedged": true,
//!   "volume_modifiers": { "real\\cent": "0.01" },
//!   "rules": [
//!     { "id": "fx-majors", "priority": 10,
//!       "match": { "symbol_groups": ["majors"], "symbols": [], "account_groups": [] },
//!       "earns": { "per_lot": "7.00" } },
//!     { "id": "metals", "priority": 10, "match": { "symbols": ["XAUUSD"] },
//!       "earns": { "spread_share": "40" } },
//!     { "id": "everything-else", "priority": 0, "match": {},
//!       "earns": { "commission_share": "25" } }
//!   ],
//!   "tiers": [ { "min_lots": "0", "multiplier": "1" }, { "min_lots": "1000", "multiplier": "1.2" } ],
//!   "levels": { "mode": "fixed", "percents": ["70", "20", "10"], "cap_per_deal": "12.00" },
//!   "rebate": { "percent": "10" },
//!   "cpa": { "min_first_deposit": "200", "min_lots": "5", "within_days": 30, "amount": "150" },
//!   "revenue_share": { "percent": "25" }
//! }
//! ```
//!
//! * `effective_from`: milliseconds since the epoch or RFC 3339. The version of a plan that
//!   governs a deal is the last one effective at the deal's time.
//! * `currency`: the currency of the plan's fixed amounts (`per_lot`, `cap_per_deal`, `cpa`).
//!   An IB paid in another currency gets its legs converted at the deal's time (the rate named
//!   in the leg's explanation), so a plan suits an IB of any payout currency.
//! * `period`: `daily`, `weekly` (ISO weeks, Monday 00:00 UTC) or `monthly` (the default): the
//!   payout period statements are closed by, and the period volume tiers and revenue share are
//!   measured over. Fixed for the plan's life: every version names the same period
//!   ([`crate::plans::put_plan_version`]), since what a beneficiary carries from one statement
//!   to the next is kept per kind of period.
//! * `earn_on`: which entries earn: `open` (in), `close` (out, out_by), or `both`; a reversal
//!   (inout) earns its closing part on `close` and its opening part on `open`.
//! * `min_lots`: a deal of fewer lots earns nothing. `min_hold_seconds`: the closing part of a
//!   deal whose position was open for less earns nothing (the opening part is not held yet).
//!   `exclude_hedged`: volume opened against an open opposite position of the same account
//!   and symbol earns nothing while the opposite position stays open.
//! * `volume_modifiers`: lots counted per lot traded, per account group (cent accounts count
//!   0.01); groups not named count 1.
//! * `rules`: what a deal of a symbol in an account group earns. `match` names symbols and
//!   symbol groups (of the configuration's [`SymbolGroups`]) and account groups; an empty or
//!   absent list matches any. The matching rule of highest `priority` wins; two rules that can
//!   match one deal with the same priority are refused. `earns`: `per_lot` (plan currency per
//!   counted lot), `commission_share` (percent of the broker's commission on the deal) or
//!   `spread_share` (percent of the spread: (ask − bid) × contract size × counted lots, in the
//!   account currency).
//! * `tiers`: volume thresholds per period and beneficiary. The tier reached at period close
//!   applies to the whole period: the statement adds `(multiplier − 1) ×` the period's rule
//!   amounts as its own line. Thresholds strictly increase.
//! * `levels`: how the amount of a deal is shared along the chain (level 0 = the client's IB).
//!   `fixed`: level n gets `percents[n]` % of the amount; `share_of_above`: level 0 gets
//!   `percents[0]` % of the amount and level n `percents[n]` % of level n − 1's leg. What the
//!   levels get together never exceeds 100 % of the amount, nor `cap_per_deal` (plan currency)
//!   for one deal: legs are filled from level 0 up until the cap is reached. An IB not active at
//!   the deal's time forfeits its leg; it is not redistributed. Absent: level 0 gets 100 %.
//! * `rebate`: client cashback, `percent` of level 0's leg, taken from it.
//! * `cpa`: a one-time amount per client whose first deposit is at least `min_first_deposit`
//!   (plan currency) and who closes `min_lots` (round turns, any symbol) within `within_days` of
//!   it; paid on the deal that qualifies the client and shared along the chain like any amount.
//! * `revenue_share`: `percent` of the client's net trading loss (−(profit + swap +
//!   commission) of its deals), shared along the chain; a period where the client gains is
//!   carried forward against the next periods, never charged to the IB.
//!
//! Rates and amounts are JSON strings (`"7.00"`), never numbers, like every amount of Broker OS.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use utoipa::ToSchema;

use brokeros_kernel::money::{Currency, amount};
use brokeros_kernel::{Error, Result};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, OffsetDateTime, Weekday};

use super::SymbolGroups;
use super::timeline::Millis;

/// How often statements close and tiers and revenue share are measured (monthly when a plan
/// names none).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    Daily,
    Weekly,
    #[default]
    Monthly,
}

/// One payout period: its kind and when it starts (UTC).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
pub struct Period {
    pub start_msc: Millis,
    pub kind: PeriodKind,
}

const DAY_MS: i64 = 86_400_000;

impl PeriodKind {
    /// The period that contains `at`.
    pub fn period_of(self, at: Millis) -> Period {
        let day = at.div_euclid(DAY_MS);
        let start_day = match self {
            PeriodKind::Daily => day,
            // 1970-01-01 was a Thursday: day 4 is the first Monday.
            PeriodKind::Weekly => day - (day - 4).rem_euclid(7),
            PeriodKind::Monthly => {
                let date = date_of_day(day);
                day - i64::from(date.day()) + 1
            }
        };
        Period {
            start_msc: start_day * DAY_MS,
            kind: self,
        }
    }
}

fn date_of_day(day: i64) -> Date {
    (OffsetDateTime::UNIX_EPOCH + Duration::days(day)).date()
}

impl Period {
    /// The period of the same kind that starts when this one ends.
    pub fn next(self) -> Period {
        self.kind.period_of(self.end_msc())
    }

    /// When the next period starts.
    pub fn end_msc(self) -> Millis {
        let day = self.start_msc.div_euclid(DAY_MS);
        let days = match self.kind {
            PeriodKind::Daily => 1,
            PeriodKind::Weekly => 7,
            PeriodKind::Monthly => {
                i64::from(date_of_day(day).month().length(date_of_day(day).year()))
            }
        };
        self.start_msc + days * DAY_MS
    }

    /// `2026-01-05`, `2026-W02` or `2026-01`.
    pub fn label(self) -> String {
        let date = date_of_day(self.start_msc.div_euclid(DAY_MS));
        match self.kind {
            PeriodKind::Daily => format!(
                "{:04}-{:02}-{:02}",
                date.year(),
                u8::from(date.month()),
                date.day()
            ),
            PeriodKind::Weekly => {
                let (year, week, _) = date.to_iso_week_date();
                debug_assert_eq!(date.weekday(), Weekday::Monday);
                format!("{year:04}-W{week:02}")
            }
            PeriodKind::Monthly => format!("{:04}-{:02}", date.year(), u8::from(date.month())),
        }
    }
}

/// Which entries of a position earn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EarnOn {
    Open,
    #[default]
    Close,
    Both,
}

/// What a matching deal earns, before it is shared along the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Earns {
    /// Plan currency per counted lot.
    PerLot(#[serde(deserialize_with = "amount::deserialize")] Decimal),
    /// Percent of the broker's commission on the deal.
    CommissionShare(#[serde(deserialize_with = "amount::deserialize")] Decimal),
    /// Percent of the spread on the counted lots.
    SpreadShare(#[serde(deserialize_with = "amount::deserialize")] Decimal),
}

impl Earns {
    pub fn rate(self) -> Decimal {
        match self {
            Earns::PerLot(r) | Earns::CommissionShare(r) | Earns::SpreadShare(r) => r,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Earns::PerLot(_) => "per_lot",
            Earns::CommissionShare(_) => "commission_share",
            Earns::SpreadShare(_) => "spread_share",
        }
    }
}

/// Which deals a rule applies to; an empty list matches anything.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PlanRuleMatch)]
pub struct RuleMatch {
    #[serde(default)]
    pub symbols: BTreeSet<String>,
    #[serde(default)]
    pub symbol_groups: BTreeSet<String>,
    #[serde(default)]
    pub account_groups: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PlanRule)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    #[serde(default)]
    pub priority: i32,
    #[serde(rename = "match", default)]
    pub matches: RuleMatch,
    pub earns: Earns,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PlanTier)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    #[serde(deserialize_with = "amount::deserialize")]
    pub min_lots: Decimal,
    #[serde(deserialize_with = "amount::deserialize")]
    pub multiplier: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LevelMode {
    #[default]
    Fixed,
    ShareOfAbove,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PlanLevels)]
#[serde(deny_unknown_fields)]
pub struct Levels {
    #[serde(default)]
    pub mode: LevelMode,
    #[serde(with = "decimal_strings")]
    pub percents: Vec<Decimal>,
    #[serde(default, deserialize_with = "amount::deserialize_option")]
    pub cap_per_deal: Option<Decimal>,
}

impl Default for Levels {
    fn default() -> Self {
        Levels {
            mode: LevelMode::Fixed,
            percents: vec![Decimal::ONE_HUNDRED],
            cap_per_deal: None,
        }
    }
}

impl Levels {
    /// The fraction of the amount each level gets, before the cap.
    pub fn fractions(&self) -> Vec<Decimal> {
        let mut above = Decimal::ONE;
        self.percents
            .iter()
            .map(|p| {
                let fraction = p / Decimal::ONE_HUNDRED;
                match self.mode {
                    LevelMode::Fixed => fraction,
                    LevelMode::ShareOfAbove => {
                        above *= fraction;
                        above
                    }
                }
            })
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PlanRebate)]
#[serde(deny_unknown_fields)]
pub struct Rebate {
    #[serde(deserialize_with = "amount::deserialize")]
    pub percent: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PlanCpa)]
#[serde(deny_unknown_fields)]
pub struct Cpa {
    #[serde(deserialize_with = "amount::deserialize")]
    pub min_first_deposit: Decimal,
    #[serde(deserialize_with = "amount::deserialize")]
    pub min_lots: Decimal,
    pub within_days: u32,
    #[serde(deserialize_with = "amount::deserialize")]
    pub amount: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PlanRevenueShare)]
#[serde(deny_unknown_fields)]
pub struct RevenueShare {
    #[serde(deserialize_with = "amount::deserialize")]
    pub percent: Decimal,
}

/// `effective_from`: milliseconds or RFC 3339.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum EffectiveFrom {
    /// Milliseconds since the Unix epoch.
    Millis(i64),
    /// RFC 3339.
    Text(String),
}

/// A commission plan version as submitted and stored (`POST /partners/plans`): what
/// [`CommissionPlan::from_json`] reads and checks.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CommissionPlanDocument)]
pub struct PlanDocument {
    id: String,
    version: u32,
    effective_from: EffectiveFrom,
    currency: String,
    #[serde(default)]
    period: PeriodKind,
    #[serde(default)]
    earn_on: EarnOn,
    #[serde(default, deserialize_with = "amount::deserialize_option")]
    min_lots: Option<Decimal>,
    #[serde(default)]
    min_hold_seconds: u32,
    #[serde(default)]
    exclude_hedged: bool,
    #[serde(default, deserialize_with = "amount::deserialize_map")]
    volume_modifiers: BTreeMap<String, Decimal>,
    #[serde(default)]
    rules: Vec<Rule>,
    #[serde(default)]
    tiers: Vec<Tier>,
    #[serde(default)]
    levels: Option<Levels>,
    #[serde(default)]
    rebate: Option<Rebate>,
    #[serde(default)]
    cpa: Option<Cpa>,
    #[serde(default)]
    revenue_share: Option<RevenueShare>,
}

/// A checked plan version, with its rules indexed by symbol for the engine.
#[derive(Debug, Clone, Serialize)]
pub struct CommissionPlan {
    pub id: String,
    pub version: u32,
    pub effective_from_msc: Millis,
    pub currency: Currency,
    pub period: PeriodKind,
    pub earn_on: EarnOn,
    pub min_lots: Decimal,
    pub min_hold_ms: i64,
    pub exclude_hedged: bool,
    pub volume_modifiers: BTreeMap<String, Decimal>,
    pub rules: Vec<Rule>,
    pub tiers: Vec<Tier>,
    pub levels: Levels,
    pub rebate: Option<Rebate>,
    pub cpa: Option<Cpa>,
    pub revenue_share: Option<RevenueShare>,
    /// Each level's fraction of a deal's amount, from `levels`.
    #[serde(skip)]
    pub level_fractions: Vec<Decimal>,
    #[serde(skip)]
    index: RuleIndex,
}

/// Rules by symbol, highest priority first, so matching a deal reads a few rules of 200.
#[derive(Debug, Clone, Default)]
struct RuleIndex {
    by_symbol: HashMap<String, Vec<usize>>,
    any_symbol: Vec<usize>,
}

impl CommissionPlan {
    /// Reads and checks a plan document; every error names the JSON path of its field.
    pub fn from_json(text: &str, groups: &SymbolGroups) -> Result<CommissionPlan> {
        let mut de = serde_json::Deserializer::from_str(text);
        let document: PlanDocument = serde_path_to_error::deserialize(&mut de)
            .map_err(|e| Error::from_serde("invalid_plan", e))?;
        CommissionPlan::checked(document, groups)
    }

    /// Like [`CommissionPlan::from_json`], from a parsed value.
    pub fn from_value(value: &serde_json::Value, groups: &SymbolGroups) -> Result<CommissionPlan> {
        CommissionPlan::from_json(&value.to_string(), groups)
    }

    fn checked(doc: PlanDocument, groups: &SymbolGroups) -> Result<CommissionPlan> {
        if doc.id.trim().is_empty() {
            return Err(Error::invalid("invalid_plan", "id", "id must not be empty"));
        }
        let effective_from_msc = match doc.effective_from {
            EffectiveFrom::Millis(ms) => ms,
            EffectiveFrom::Text(text) => {
                let at = OffsetDateTime::parse(&text, &Rfc3339).map_err(|e| {
                    Error::invalid(
                        "invalid_plan",
                        "effective_from",
                        format!("effective_from is neither milliseconds nor RFC 3339: {e}"),
                    )
                })?;
                (at.unix_timestamp_nanos() / 1_000_000) as Millis
            }
        };
        let currency = Currency::parse("currency", &doc.currency)?;
        let min_lots = doc.min_lots.unwrap_or(Decimal::ZERO);
        not_negative("min_lots", min_lots)?;
        for (group, factor) in &doc.volume_modifiers {
            not_negative(&format!("volume_modifiers.{group}"), *factor)?;
        }
        for (i, rule) in doc.rules.iter().enumerate() {
            check_rule(i, rule, groups)?;
        }
        for (i, rule) in doc.rules.iter().enumerate() {
            for (j, other) in doc.rules.iter().enumerate().take(i) {
                if rule.id == other.id {
                    return Err(Error::invalid(
                        "duplicate_rule",
                        format!("rules[{i}].id"),
                        format!("rules[{j}] and rules[{i}] are both named {}", rule.id),
                    ));
                }
                if rule.priority == other.priority && can_both_match(rule, other, groups) {
                    return Err(Error::invalid(
                        "overlapping_rules",
                        format!("rules[{i}].priority"),
                        format!(
                            "rules[{j}] ({}) and rules[{i}] ({}) can match the same deal with the same priority {}: give one precedence",
                            other.id, rule.id, rule.priority
                        ),
                    ));
                }
            }
        }
        for (i, tier) in doc.tiers.iter().enumerate() {
            not_negative(&format!("tiers[{i}].min_lots"), tier.min_lots)?;
            not_negative(&format!("tiers[{i}].multiplier"), tier.multiplier)?;
            if i > 0 && tier.min_lots <= doc.tiers[i - 1].min_lots {
                return Err(Error::invalid(
                    "tiers_out_of_order",
                    format!("tiers[{i}].min_lots"),
                    "tier thresholds must strictly increase",
                ));
            }
        }
        let levels = doc.levels.unwrap_or_default();
        check_levels(&levels)?;
        if let Some(rebate) = &doc.rebate {
            percent("rebate.percent", rebate.percent)?;
        }
        if let Some(cpa) = &doc.cpa {
            not_negative("cpa.min_first_deposit", cpa.min_first_deposit)?;
            not_negative("cpa.min_lots", cpa.min_lots)?;
            not_negative("cpa.amount", cpa.amount)?;
            if cpa.within_days == 0 {
                return Err(Error::invalid(
                    "invalid_plan",
                    "cpa.within_days",
                    "cpa.within_days must be at least 1",
                ));
            }
        }
        if let Some(share) = &doc.revenue_share {
            percent("revenue_share.percent", share.percent)?;
        }
        let index = RuleIndex::build(&doc.rules, groups);
        Ok(CommissionPlan {
            id: doc.id,
            version: doc.version,
            effective_from_msc,
            currency,
            period: doc.period,
            earn_on: doc.earn_on,
            min_lots,
            min_hold_ms: i64::from(doc.min_hold_seconds) * 1000,
            exclude_hedged: doc.exclude_hedged,
            volume_modifiers: doc.volume_modifiers,
            rules: doc.rules,
            tiers: doc.tiers,
            level_fractions: levels.fractions(),
            levels,
            rebate: doc.rebate,
            cpa: doc.cpa,
            revenue_share: doc.revenue_share,
            index,
        })
    }

    /// The rule that governs a deal of `symbol` in account group `group`: the matching one of
    /// highest priority (validation made it unique).
    pub fn rule_for(&self, symbol: &str, group: &str) -> Option<&Rule> {
        let by_symbol = self.index.by_symbol.get(symbol).map(Vec::as_slice);
        let first = |list: &[usize]| {
            list.iter()
                .map(|&i| &self.rules[i])
                .find(|r| matches_group(&r.matches, group))
        };
        match (by_symbol.and_then(first), first(&self.index.any_symbol)) {
            (Some(a), Some(b)) => Some(if b.priority > a.priority { b } else { a }),
            (a, b) => a.or(b),
        }
    }

    /// Lots counted per lot traded in account group `group`.
    pub fn volume_modifier(&self, group: &str) -> Decimal {
        self.volume_modifiers
            .get(group)
            .copied()
            .unwrap_or(Decimal::ONE)
    }

    /// The tier reached with `lots` in a period: the last whose threshold it meets.
    pub fn tier_for(&self, lots: Decimal) -> Option<&Tier> {
        self.tiers.iter().rev().find(|t| lots >= t.min_lots)
    }
}

fn matches_group(m: &RuleMatch, group: &str) -> bool {
    m.account_groups.is_empty() || m.account_groups.contains(group)
}

impl RuleIndex {
    fn build(rules: &[Rule], groups: &SymbolGroups) -> RuleIndex {
        let mut index = RuleIndex::default();
        for (i, rule) in rules.iter().enumerate() {
            let symbols = symbols_of(&rule.matches, groups);
            if symbols.is_empty() {
                index.any_symbol.push(i);
            }
            for symbol in symbols {
                index
                    .by_symbol
                    .entry(symbol.to_string())
                    .or_default()
                    .push(i);
            }
        }
        let by_priority =
            |list: &mut Vec<usize>| list.sort_by_key(|&i| -i64::from(rules[i].priority));
        by_priority(&mut index.any_symbol);
        index.by_symbol.values_mut().for_each(by_priority);
        index
    }
}

/// Every symbol a rule names, directly or by group; empty when it matches any symbol.
fn symbols_of<'a>(m: &'a RuleMatch, groups: &'a SymbolGroups) -> BTreeSet<&'a str> {
    m.symbols
        .iter()
        .map(String::as_str)
        .chain(
            m.symbol_groups
                .iter()
                .filter_map(|g| groups.get(g))
                .flatten()
                .map(String::as_str),
        )
        .collect()
}

fn can_both_match(a: &Rule, b: &Rule, groups: &SymbolGroups) -> bool {
    let intersect = |x: &BTreeSet<&str>, y: &BTreeSet<&str>| {
        x.is_empty() || y.is_empty() || x.intersection(y).next().is_some()
    };
    intersect(
        &symbols_of(&a.matches, groups),
        &symbols_of(&b.matches, groups),
    ) && intersect(&account_groups(a), &account_groups(b))
}

fn account_groups(rule: &Rule) -> BTreeSet<&str> {
    rule.matches
        .account_groups
        .iter()
        .map(String::as_str)
        .collect()
}

fn check_rule(i: usize, rule: &Rule, groups: &SymbolGroups) -> Result<()> {
    if rule.id.trim().is_empty() {
        return Err(Error::invalid(
            "invalid_plan",
            format!("rules[{i}].id"),
            "a rule needs an id",
        ));
    }
    for (g, group) in rule.matches.symbol_groups.iter().enumerate() {
        if !groups.contains_key(group) {
            return Err(Error::invalid(
                "unknown_symbol_group",
                format!("rules[{i}].match.symbol_groups[{g}]"),
                format!(
                    "symbol group '{group}' is not in the configuration (known: {})",
                    groups.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    }
    let field = format!("rules[{i}].earns.{}", rule.earns.name());
    match rule.earns {
        Earns::PerLot(rate) => not_negative(&field, rate),
        Earns::CommissionShare(p) | Earns::SpreadShare(p) => percent(&field, p),
    }
}

fn check_levels(levels: &Levels) -> Result<()> {
    if levels.percents.is_empty() {
        return Err(Error::invalid(
            "invalid_plan",
            "levels.percents",
            "levels.percents needs at least level 0",
        ));
    }
    for (i, p) in levels.percents.iter().enumerate() {
        percent(&format!("levels.percents[{i}]"), *p)?;
    }
    if let Some(cap) = levels.cap_per_deal {
        not_negative("levels.cap_per_deal", cap)?;
    }
    let total: Decimal = levels.fractions().iter().sum();
    if total > Decimal::ONE {
        return Err(Error::invalid(
            "level_shares_over_100",
            "levels.percents",
            format!(
                "the levels together get {}% of a deal's amount; at most 100%",
                (total * Decimal::ONE_HUNDRED).normalize()
            ),
        ));
    }
    Ok(())
}

fn not_negative(field: &str, value: Decimal) -> Result<()> {
    if value < Decimal::ZERO {
        return Err(Error::invalid(
            "negative_rate",
            field,
            format!("{field} must not be negative, not {value}"),
        ));
    }
    Ok(())
}

fn percent(field: &str, value: Decimal) -> Result<()> {
    not_negative(field, value)?;
    if value > Decimal::ONE_HUNDRED {
        return Err(Error::invalid(
            "percent_over_100",
            field,
            format!("{field} is a percent: at most 100, not {value}"),
        ));
    }
    Ok(())
}

/// Decimals written as JSON strings in a list, with the house amount grammar.
mod decimal_strings {
    use brokeros_kernel::money::amount;
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Deserialize)]
    struct One(#[serde(deserialize_with = "amount::deserialize")] Decimal);

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Decimal>, D::Error> {
        Ok(Vec::<One>::deserialize(d)?
            .into_iter()
            .map(|o| o.0)
            .collect())
    }

    pub fn serialize<S: Serializer>(values: &[Decimal], s: S) -> Result<S::Ok, S::Error> {
        values.serialize(s)
    }
}

/// Every version of every plan, checked as a whole: versions of one plan strictly increase with
/// their effective times.
#[derive(Debug, Clone, Default)]
pub struct PlanBook {
    plans: HashMap<String, Vec<Arc<CommissionPlan>>>,
}

impl PlanBook {
    pub fn new(plans: impl IntoIterator<Item = CommissionPlan>) -> Result<PlanBook> {
        let mut book = PlanBook::default();
        for plan in plans {
            book.insert(plan)?;
        }
        Ok(book)
    }

    /// Adds a version; one that does not follow the plan's versions in number and time is
    /// refused.
    pub fn insert(&mut self, plan: CommissionPlan) -> Result<()> {
        self.insert_shared(Arc::new(plan))
    }

    /// Like [`PlanBook::insert`], for a version already compiled and shared (a process's cache
    /// of plans), so building a book does not copy the plans' rules.
    pub fn insert_shared(&mut self, plan: Arc<CommissionPlan>) -> Result<()> {
        let versions = self.plans.entry(plan.id.clone()).or_default();
        let at = versions.partition_point(|p| p.effective_from_msc < plan.effective_from_msc);
        let before_ok = at == 0 || versions[at - 1].version < plan.version;
        let after_ok = versions.get(at).is_none_or(|next| {
            next.version > plan.version && next.effective_from_msc > plan.effective_from_msc
        });
        if !before_ok || !after_ok {
            return Err(Error::invalid(
                "plan_version_out_of_order",
                "version",
                format!(
                    "plan {} version {}: versions must increase with their effective times",
                    plan.id, plan.version
                ),
            ));
        }
        versions.insert(at, plan);
        Ok(())
    }

    /// The version of plan `id` in force at `at`.
    pub fn in_force(&self, id: &str, at: Millis) -> Option<&Arc<CommissionPlan>> {
        let versions = self.plans.get(id)?;
        let after = versions.partition_point(|p| p.effective_from_msc <= at);
        after.checked_sub(1).map(|i| &versions[i])
    }

    pub fn contains(&self, id: &str) -> bool {
        self.plans.contains_key(id)
    }

    pub fn versions(&self) -> impl Iterator<Item = &Arc<CommissionPlan>> {
        self.plans.values().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups() -> SymbolGroups {
        SymbolGroups::from([(
            "majors".to_string(),
            BTreeSet::from(["EURUSD".to_string(), "GBPUSD".to_string()]),
        )])
    }

    fn plan(rules: &str, extra: &str) -> Result<CommissionPlan> {
        CommissionPlan::from_json(
            &format!(
                r#"{{"id":"p","version":1,"effective_from":"2026-01-01T00:00:00Z","currency":"USD",
                "rules":[{rules}]{extra}}}"#
            ),
            &groups(),
        )
    }

    fn field(err: Error) -> (String, String) {
        let body = err.body();
        (body.code, body.field.unwrap_or_default())
    }

    #[test]
    fn the_highest_priority_matching_rule_governs() {
        let p = plan(
            r#"{"id":"majors","priority":10,"match":{"symbol_groups":["majors"]},"earns":{"per_lot":"7"}},
               {"id":"pro","priority":20,"match":{"symbols":["EURUSD"],"account_groups":["pro"]},"earns":{"per_lot":"3"}},
               {"id":"rest","priority":0,"match":{},"earns":{"commission_share":"25"}}"#,
            "",
        )
        .unwrap();
        assert_eq!(p.effective_from_msc, 1_767_225_600_000);
        assert_eq!(p.rule_for("EURUSD", "std").unwrap().id, "majors");
        assert_eq!(p.rule_for("EURUSD", "pro").unwrap().id, "pro");
        assert_eq!(p.rule_for("GBPUSD", "pro").unwrap().id, "majors");
        assert_eq!(p.rule_for("XAUUSD", "pro").unwrap().id, "rest");
    }

    #[test]
    fn bad_plans_name_the_field() {
        let overlapping = plan(
            r#"{"id":"a","priority":1,"match":{"symbol_groups":["majors"]},"earns":{"per_lot":"7"}},
               {"id":"b","priority":1,"match":{"symbols":["GBPUSD"]},"earns":{"per_lot":"5"}}"#,
            "",
        );
        assert_eq!(
            field(overlapping.unwrap_err()),
            ("overlapping_rules".into(), "rules[1].priority".into())
        );
        let disjoint = plan(
            r#"{"id":"a","priority":1,"match":{"symbol_groups":["majors"]},"earns":{"per_lot":"7"}},
               {"id":"b","priority":1,"match":{"symbols":["XAUUSD"]},"earns":{"per_lot":"5"}}"#,
            "",
        );
        assert!(disjoint.is_ok());
        let negative = plan(r#"{"id":"a","match":{},"earns":{"per_lot":"-1"}}"#, "");
        assert_eq!(
            field(negative.unwrap_err()),
            ("negative_rate".into(), "rules[0].earns.per_lot".into())
        );
        let unknown_group = plan(
            r#"{"id":"a","match":{"symbol_groups":["exotics"]},"earns":{"per_lot":"1"}}"#,
            "",
        );
        assert_eq!(
            field(unknown_group.unwrap_err()),
            (
                "unknown_symbol_group".into(),
                "rules[0].match.symbol_groups[0]".into()
            )
        );
        let over = plan("", r#","levels":{"percents":["60","30","20"]}"#);
        assert_eq!(
            field(over.unwrap_err()),
            ("level_shares_over_100".into(), "levels.percents".into())
        );
        let cascade = plan(
            "",
            r#","levels":{"mode":"share_of_above","percents":["100","50","50"]}"#,
        );
        assert_eq!(field(cascade.unwrap_err()).0, "level_shares_over_100");
        let fine = plan(
            "",
            r#","levels":{"mode":"share_of_above","percents":["50","50","50"]}"#,
        );
        assert_eq!(
            fine.unwrap().level_fractions,
            ["0.5", "0.25", "0.125"].map(|s| s.parse::<Decimal>().unwrap())
        );
        let unknown_field = plan("", r#","bonus":"1""#);
        assert_eq!(field(unknown_field.unwrap_err()).0, "invalid_plan");
        let number = plan(r#"{"id":"a","match":{},"earns":{"per_lot":7}}"#, "");
        assert_eq!(
            field(number.unwrap_err()),
            ("invalid_amount".into(), "rules[0].earns.per_lot".into())
        );
    }

    #[test]
    fn versions_follow_each_other() {
        let v = |version: u32, from: i64| {
            CommissionPlan::from_json(
                &format!(
                    r#"{{"id":"p","version":{version},"effective_from":{from},"currency":"EUR"}}"#
                ),
                &SymbolGroups::new(),
            )
            .unwrap()
        };
        let mut book = PlanBook::new([v(1, 100), v(2, 200)]).unwrap();
        assert!(book.in_force("p", 99).is_none());
        assert_eq!(book.in_force("p", 199).unwrap().version, 1);
        assert_eq!(book.in_force("p", 200).unwrap().version, 2);
        assert!(book.insert(v(1, 300)).is_err());
        assert!(book.insert(v(3, 150)).is_err());
        book.insert(v(3, 300)).unwrap();
    }

    #[test]
    fn periods_start_and_end_on_calendar_boundaries() {
        let at = 1_767_225_600_000 + 17 * DAY_MS + 5; // 2026-01-18 (a Sunday)
        let month = PeriodKind::Monthly.period_of(at);
        assert_eq!(month.label(), "2026-01");
        assert_eq!(month.end_msc(), 1_767_225_600_000 + 31 * DAY_MS);
        let week = PeriodKind::Weekly.period_of(at);
        assert_eq!(week.label(), "2026-W03");
        assert_eq!(week.end_msc() - week.start_msc, 7 * DAY_MS);
        assert!(week.start_msc <= at && at < week.end_msc());
        assert_eq!(PeriodKind::Daily.period_of(at).label(), "2026-01-18");
    }
}
