//! Contest definitions: versioned JSON documents that say who may enter, what is scored and how,
//! and what the winners get. A definition is data, read and checked here; the scoring engine
//! ([`super::scoring`]) applies it.
//!
//! # The document
//!
//! ```json
//! {
//!   "id": "summer-cup", "version": 1, "name": "Summer FX Cup", "mode": "live", "currency": "USD",
//!   "registration": { "from": "2026-06-01T00:00:00Z", "until": "2026-06-30T00:00:00Z" },
//!   "period":       { "from": "2026-06-15T00:00:00Z", "until": "2026-07-15T00:00:00Z" },
//!   "eligibility": { "accounts": "any", "groups": [], "countries": ["DE", "AT"],
//!                    "kyc": "approved", "min_deposit": "100.00", "one_entry_per_person": true },
//!   "contest_account": { "group": "contest\\usd", "leverage": 100 },
//!   "enrollment": { "campaign": "summer-cup" },
//!   "metric": { "kind": "return_over_drawdown", "min_drawdown": "0.02" },
//!   "rules": { "min_trades": 5, "min_hold_seconds": 60, "max_counted_trades": 200,
//!              "max_lots_per_trade": "5", "disqualify_drawdown": "0.5",
//!              "min_return_for_prize": "0.02" },
//!   "hedging": { "window_seconds": 60, "volume_tolerance": "0.2", "min_pairs": 2 },
//!   "tie_breaks": ["higher_profit", "fewer_trades"],
//!   "prizes": { "pool": "10000.00", "payment": { "kind": "credit", "volume_lots": "5" },
//!               "tiers": [ { "from_rank": 1, "to_rank": 1, "share": "0.5" },
//!                          { "from_rank": 2, "to_rank": 3, "share": "0.25" } ] }
//! }
//! ```
//!
//! * `mode`: `live` or `demo` accounts. `currency`: the currency of every amount of the
//!   document and of the entry accounts.
//! * `registration` and `period`: UTC times, `from` before `until`. Registration opens before
//!   the contest ends and closes by then; late registration during the period is allowed.
//! * `eligibility.accounts`: `new` (opened after registration opened), `existing` (before), or
//!   `any`; `groups` and `countries` (ISO 3166 alpha-2) limit who enters when not empty;
//!   `kyc`: `none` or `approved`; `min_deposit`: what the entry account must hold when it
//!   registers (0 by default); `one_entry_per_person` (default true): the same person — by
//!   verified identity document, phone or email, across clients — enters once.
//! * `contest_account`: opens a dedicated account in this platform group for each entry;
//!   without it, an entrant enters with an account they hold. `enrollment.campaign`: clients
//!   who came through this campaign are entered by rule when they open an account.
//! * `metric.kind`: `return` (time-weighted: a cash flow neither raises nor lowers it), `profit`
//!   (the counted trades' net result), `volume` (counted lots), `return_over_drawdown` (the
//!   return divided by the maximum drawdown, at least `min_drawdown`, which it requires).
//! * `rules`: `min_trades` (counted trades an entrant needs to be ranked, default 1),
//!   `min_hold_seconds` (a trade closed sooner does not count), `max_counted_trades` (the first
//!   N that count, later ones do not), `max_lots_per_trade` (a larger trade does not count),
//!   `disqualify_drawdown` (a fraction: a deeper drawdown disqualifies), `min_return_for_prize`
//!   (a fraction: a ranked entrant below it gets no prize).
//! * `hedging`: entrants whose opposite positions of one symbol were opened within
//!   `window_seconds` of each other with volumes within `volume_tolerance` (a fraction of the
//!   larger) at least `min_pairs` times are flagged for review.
//! * `tie_breaks`: applied in order when metrics are equal (`higher_profit`, `higher_volume`,
//!   `lower_drawdown`, `more_trades`, `fewer_trades`); earlier registration decides last.
//! * `prizes`: tiers of leaderboard ranks, each with a fixed `amount` per rank or a `share` of
//!   the `pool` per rank (a share needs a pool; fixed amounts with a pool stay within it).
//!   `payment.kind`: `cash` (to the winner's wallet) or `credit` (trading credit on the entry
//!   account, with the `volume_lots` the winner must trade before it may be withdrawn).

use std::collections::BTreeSet;
use utoipa::ToSchema;

use brokeros_kernel::money::Currency;
use brokeros_kernel::money::amount;
use brokeros_kernel::{Error, Result};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::Millis;

/// The longest contest, so a definition cannot make a ranking that never ends.
pub const MAX_PERIOD_DAYS: i64 = 366;
/// The lowest rank a prize may go to.
pub const MAX_PRIZE_RANK: u32 = 10_000;
/// The most tiers a prize table may have.
pub const MAX_TIERS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountMode {
    Live,
    Demo,
}

/// A span of UTC time, `from` included, `until` excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Window {
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
}

impl Window {
    pub fn from_msc(&self) -> Millis {
        millis(self.from)
    }

    pub fn until_msc(&self) -> Millis {
        millis(self.until)
    }

    pub fn contains(&self, at: OffsetDateTime) -> bool {
        self.from <= at && at < self.until
    }

    pub fn overlaps(&self, other: &Window) -> bool {
        self.from < other.until && other.from < self.until
    }
}

pub(crate) fn millis(at: OffsetDateTime) -> Millis {
    (at.unix_timestamp_nanos() / 1_000_000) as Millis
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountAge {
    New,
    Existing,
    #[default]
    Any,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KycRequirement {
    #[default]
    None,
    Approved,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Eligibility {
    #[serde(default)]
    pub accounts: AccountAge,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub countries: Vec<String>,
    #[serde(default)]
    pub kyc: KycRequirement,
    #[serde(default, deserialize_with = "amount::deserialize_option")]
    pub min_deposit: Option<Decimal>,
    #[serde(default = "yes")]
    pub one_entry_per_person: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContestAccount {
    pub group: String,
    pub leverage: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = EnrollmentCampaign)]
#[serde(deny_unknown_fields)]
pub struct Enrollment {
    pub campaign: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    Return,
    Profit,
    Volume,
    ReturnOverDrawdown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Metric {
    pub kind: MetricKind,
    /// The least drawdown `return_over_drawdown` divides by (so a contest without losses does
    /// not divide by zero); required by that metric, refused by the others.
    #[serde(default, deserialize_with = "amount::deserialize_option")]
    pub min_drawdown: Option<Decimal>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    #[serde(default = "one")]
    pub min_trades: u32,
    #[serde(default)]
    pub min_hold_seconds: u32,
    #[serde(default)]
    pub max_counted_trades: Option<u32>,
    #[serde(default, deserialize_with = "amount::deserialize_option")]
    pub max_lots_per_trade: Option<Decimal>,
    #[serde(default, deserialize_with = "amount::deserialize_option")]
    pub disqualify_drawdown: Option<Decimal>,
    #[serde(default, deserialize_with = "amount::deserialize_option")]
    pub min_return_for_prize: Option<Decimal>,
}

impl Default for Rules {
    fn default() -> Rules {
        Rules {
            min_trades: 1,
            min_hold_seconds: 0,
            max_counted_trades: None,
            max_lots_per_trade: None,
            disqualify_drawdown: None,
            min_return_for_prize: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HedgeReview {
    #[serde(default = "sixty")]
    pub window_seconds: u32,
    #[serde(
        default = "default_tolerance",
        deserialize_with = "amount::deserialize"
    )]
    pub volume_tolerance: Decimal,
    #[serde(default = "two")]
    pub min_pairs: u32,
}

fn sixty() -> u32 {
    60
}
fn two() -> u32 {
    2
}
fn default_tolerance() -> Decimal {
    Decimal::new(2, 1)
}

impl Default for HedgeReview {
    fn default() -> HedgeReview {
        HedgeReview {
            window_seconds: sixty(),
            volume_tolerance: default_tolerance(),
            min_pairs: two(),
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TieBreak {
    HigherProfit,
    HigherVolume,
    LowerDrawdown,
    MoreTrades,
    FewerTrades,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrizeTier {
    pub from_rank: u32,
    pub to_rank: u32,
    /// Per rank, in the contest currency.
    #[serde(
        default,
        deserialize_with = "amount::deserialize_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub amount: Option<Decimal>,
    /// Per rank, a fraction of the pool.
    #[serde(
        default,
        deserialize_with = "amount::deserialize_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub share: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PrizePayment {
    /// To the winner's wallet, through the ledger.
    Cash,
    /// Trading credit on the entry account; withdrawable once `volume_lots` are traded.
    Credit {
        #[serde(deserialize_with = "amount::deserialize")]
        volume_lots: Decimal,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Prizes {
    #[serde(
        default,
        deserialize_with = "amount::deserialize_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub pool: Option<Decimal>,
    pub payment: PrizePayment,
    pub tiers: Vec<PrizeTier>,
}

impl Prizes {
    /// What leaderboard rank `rank` wins, at the currency's scale (zero beyond the tiers). A
    /// share of the pool is rounded down to the currency's unit, so the prizes never exceed it.
    pub fn for_rank(&self, rank: u32, currency: Currency) -> Decimal {
        let Some(tier) = self
            .tiers
            .iter()
            .find(|t| t.from_rank <= rank && rank <= t.to_rank)
        else {
            return Decimal::ZERO;
        };
        let value = match (tier.amount, tier.share, self.pool) {
            (Some(amount), _, _) => amount,
            (None, Some(share), Some(pool)) => pool * share,
            _ => Decimal::ZERO,
        };
        value.round_dp_with_strategy(currency.scale, rust_decimal::RoundingStrategy::ToZero)
    }

    /// The last rank that wins anything.
    pub fn last_rank(&self) -> u32 {
        self.tiers.iter().map(|t| t.to_rank).max().unwrap_or(0)
    }

    /// The sum of every rank's prize.
    pub fn total(&self, currency: Currency) -> Decimal {
        (1..=self.last_rank())
            .map(|rank| self.for_rank(rank, currency))
            .sum()
    }
}

/// A contest definition as written (see the module documentation), checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContestDefinition {
    pub id: String,
    pub version: u32,
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub mode: AccountMode,
    pub currency: String,
    pub registration: Window,
    pub period: Window,
    #[serde(default = "any_eligible")]
    pub eligibility: Eligibility,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contest_account: Option<ContestAccount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrollment: Option<Enrollment>,
    pub metric: Metric,
    #[serde(default)]
    pub rules: Rules,
    #[serde(default)]
    pub hedging: HedgeReview,
    #[serde(default)]
    pub tie_breaks: Vec<TieBreak>,
    pub prizes: Prizes,
}

fn any_eligible() -> Eligibility {
    Eligibility {
        accounts: AccountAge::Any,
        groups: Vec::new(),
        countries: Vec::new(),
        kyc: KycRequirement::None,
        min_deposit: None,
        one_entry_per_person: true,
    }
}

fn invalid(code: &'static str, field: &str, message: impl Into<String>) -> Error {
    Error::invalid(code, field.to_string(), message)
}

fn is_contest_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    (1..=48).contains(&bytes.len())
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

fn plain_text(field: &str, value: &str, max_chars: usize) -> Result<()> {
    let chars = value.chars().count();
    if chars == 0 || chars > max_chars || value.chars().any(char::is_control) {
        return Err(invalid(
            "invalid_contest",
            field,
            format!("{field} must be 1 to {max_chars} characters without control characters"),
        ));
    }
    Ok(())
}

fn fraction(field: &str, value: Option<Decimal>, allow_zero: bool) -> Result<()> {
    if let Some(v) = value {
        let low_ok = if allow_zero {
            v >= Decimal::ZERO
        } else {
            v > Decimal::ZERO
        };
        if !low_ok || v > Decimal::ONE {
            return Err(invalid(
                "invalid_contest",
                field,
                format!(
                    "{field} is a fraction {} 0 and at most 1, not {v}",
                    if allow_zero { "from" } else { "above" }
                ),
            ));
        }
    }
    Ok(())
}

impl ContestDefinition {
    /// Reads and checks a contest document; every error names the JSON path of its field.
    pub fn from_json(text: &str) -> Result<ContestDefinition> {
        let mut de = serde_json::Deserializer::from_str(text);
        let document: ContestDefinition = serde_path_to_error::deserialize(&mut de)
            .map_err(|e| Error::from_serde("invalid_contest", e))?;
        document.check()?;
        Ok(document)
    }

    /// Like [`ContestDefinition::from_json`], from a parsed value.
    pub fn from_value(value: &serde_json::Value) -> Result<ContestDefinition> {
        ContestDefinition::from_json(&value.to_string())
    }

    pub fn currency(&self) -> Currency {
        Currency::from_code(&self.currency).expect("checked when read")
    }

    /// The checks serde's types do not make.
    fn check(&self) -> Result<()> {
        if !is_contest_id(&self.id) {
            return Err(invalid(
                "invalid_contest",
                "id",
                "id is 1 to 48 lower-case letters, digits or '-', starting with a letter or digit",
            ));
        }
        if self.version == 0 {
            return Err(invalid(
                "invalid_contest",
                "version",
                "versions count from 1",
            ));
        }
        plain_text("name", &self.name, 100)?;
        if !self.description.is_empty() {
            plain_text("description", &self.description, 2000)?;
        }
        let currency = Currency::parse("currency", &self.currency)?;
        self.check_times()?;
        self.check_eligibility(currency)?;
        self.check_metric_and_rules()?;
        self.check_prizes(currency)
    }

    fn check_times(&self) -> Result<()> {
        for (field, window) in [
            ("registration", &self.registration),
            ("period", &self.period),
        ] {
            for (end, at) in [("from", window.from), ("until", window.until)] {
                if !at.offset().is_utc() {
                    return Err(invalid(
                        "invalid_contest",
                        &format!("{field}.{end}"),
                        format!("{field}.{end} is a UTC time, ending in Z"),
                    ));
                }
            }
            if window.from >= window.until {
                return Err(invalid(
                    "inverted_window",
                    &format!("{field}.until"),
                    format!("{field}.until must be after {field}.from"),
                ));
            }
        }
        if self.period.until - self.period.from > time::Duration::days(MAX_PERIOD_DAYS) {
            return Err(invalid(
                "period_too_long",
                "period.until",
                format!("a contest lasts at most {MAX_PERIOD_DAYS} days"),
            ));
        }
        if self.registration.until > self.period.until {
            return Err(invalid(
                "registration_after_period",
                "registration.until",
                "registration must close by the end of the contest period",
            ));
        }
        Ok(())
    }

    fn check_eligibility(&self, currency: Currency) -> Result<()> {
        let e = &self.eligibility;
        for (i, group) in e.groups.iter().enumerate() {
            plain_text(&format!("eligibility.groups[{i}]"), group, 64)?;
        }
        for (i, country) in e.countries.iter().enumerate() {
            if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(invalid(
                    "invalid_contest",
                    &format!("eligibility.countries[{i}]"),
                    "countries are ISO 3166 alpha-2 codes, like \"DE\"",
                ));
            }
        }
        if let Some(min) = e.min_deposit {
            let min = currency.exact("eligibility.min_deposit", min)?;
            if min < Decimal::ZERO {
                return Err(invalid(
                    "amount_negative",
                    "eligibility.min_deposit",
                    "eligibility.min_deposit may not be negative",
                ));
            }
        }
        if let Some(account) = &self.contest_account {
            plain_text("contest_account.group", &account.group, 64)?;
            if !(1..=10_000).contains(&account.leverage) {
                return Err(invalid(
                    "invalid_contest",
                    "contest_account.leverage",
                    "contest_account.leverage is N of 1:N, from 1 to 10000",
                ));
            }
        }
        if let Some(enrollment) = &self.enrollment {
            plain_text("enrollment.campaign", &enrollment.campaign, 64)?;
        }
        Ok(())
    }

    fn check_metric_and_rules(&self) -> Result<()> {
        match (self.metric.kind, self.metric.min_drawdown) {
            (MetricKind::ReturnOverDrawdown, None) => {
                return Err(invalid(
                    "metric_parameter_missing",
                    "metric.min_drawdown",
                    "return_over_drawdown divides by the drawdown: metric.min_drawdown says the least it divides by",
                ));
            }
            (MetricKind::ReturnOverDrawdown, min) => fraction("metric.min_drawdown", min, false)?,
            (_, Some(_)) => {
                return Err(invalid(
                    "invalid_contest",
                    "metric.min_drawdown",
                    "only return_over_drawdown takes metric.min_drawdown",
                ));
            }
            _ => {}
        }
        let r = &self.rules;
        if r.max_counted_trades == Some(0) {
            return Err(invalid(
                "invalid_contest",
                "rules.max_counted_trades",
                "rules.max_counted_trades counts at least 1 trade",
            ));
        }
        if let Some(cap) = r.max_counted_trades
            && cap < r.min_trades
        {
            return Err(invalid(
                "invalid_contest",
                "rules.max_counted_trades",
                "rules.max_counted_trades may not be below rules.min_trades: nobody could be ranked",
            ));
        }
        if let Some(lots) = r.max_lots_per_trade
            && lots <= Decimal::ZERO
        {
            return Err(invalid(
                "invalid_contest",
                "rules.max_lots_per_trade",
                "rules.max_lots_per_trade must be positive",
            ));
        }
        fraction("rules.disqualify_drawdown", r.disqualify_drawdown, false)?;
        if let Some(min) = r.min_return_for_prize
            && (min < Decimal::NEGATIVE_ONE || min > Decimal::from(1000))
        {
            return Err(invalid(
                "invalid_contest",
                "rules.min_return_for_prize",
                "rules.min_return_for_prize is a fraction from -1 to 1000",
            ));
        }
        let h = &self.hedging;
        if h.window_seconds == 0 || h.window_seconds > 86_400 {
            return Err(invalid(
                "invalid_contest",
                "hedging.window_seconds",
                "hedging.window_seconds is 1 to 86400",
            ));
        }
        fraction("hedging.volume_tolerance", Some(h.volume_tolerance), true)?;
        if h.min_pairs == 0 {
            return Err(invalid(
                "invalid_contest",
                "hedging.min_pairs",
                "hedging.min_pairs is at least 1",
            ));
        }
        let mut seen = BTreeSet::new();
        for (i, tie) in self.tie_breaks.iter().enumerate() {
            if !seen.insert(*tie) {
                return Err(invalid(
                    "invalid_contest",
                    &format!("tie_breaks[{i}]"),
                    "a tie-break is named once",
                ));
            }
        }
        Ok(())
    }

    fn check_prizes(&self, currency: Currency) -> Result<()> {
        let p = &self.prizes;
        if let PrizePayment::Credit { volume_lots } = p.payment
            && volume_lots < Decimal::ZERO
        {
            return Err(invalid(
                "invalid_contest",
                "prizes.payment.volume_lots",
                "prizes.payment.volume_lots may not be negative",
            ));
        }
        if let Some(pool) = p.pool {
            let pool = currency.exact("prizes.pool", pool)?;
            if pool <= Decimal::ZERO {
                return Err(invalid(
                    "amount_not_positive",
                    "prizes.pool",
                    "prizes.pool must be positive",
                ));
            }
        }
        if p.tiers.is_empty() || p.tiers.len() > MAX_TIERS {
            return Err(invalid(
                "invalid_contest",
                "prizes.tiers",
                format!("prizes.tiers has 1 to {MAX_TIERS} tiers"),
            ));
        }
        let mut next_rank = 1;
        let mut shares = Decimal::ZERO;
        let mut fixed = Decimal::ZERO;
        for (i, tier) in p.tiers.iter().enumerate() {
            let field = |name: &str| format!("prizes.tiers[{i}].{name}");
            if tier.from_rank < next_rank || tier.from_rank > tier.to_rank {
                return Err(invalid(
                    "invalid_contest",
                    &field("from_rank"),
                    "tiers list ranks in order, each from_rank at most its to_rank and after the tier before",
                ));
            }
            if tier.to_rank > MAX_PRIZE_RANK {
                return Err(invalid(
                    "invalid_contest",
                    &field("to_rank"),
                    format!("prizes go to rank {MAX_PRIZE_RANK} at most"),
                ));
            }
            next_rank = tier.to_rank + 1;
            let ranks = Decimal::from(tier.to_rank - tier.from_rank + 1);
            match (tier.amount, tier.share) {
                (Some(amount), None) => {
                    let amount = currency.exact(&field("amount"), amount)?;
                    if amount <= Decimal::ZERO {
                        return Err(invalid(
                            "amount_not_positive",
                            &field("amount"),
                            "a prize amount must be positive",
                        ));
                    }
                    fixed += amount * ranks;
                }
                (None, Some(share)) => {
                    if p.pool.is_none() {
                        return Err(invalid(
                            "metric_parameter_missing",
                            "prizes.pool",
                            "a share of the pool needs prizes.pool",
                        ));
                    }
                    fraction(&field("share"), Some(share), false)?;
                    shares += share * ranks;
                }
                _ => {
                    return Err(invalid(
                        "invalid_contest",
                        &field("amount"),
                        "a tier has either an amount or a share of the pool",
                    ));
                }
            }
        }
        if let Some(pool) = p.pool
            && (fixed + pool * shares > pool)
        {
            return Err(invalid(
                "prizes_exceed_pool",
                "prizes.tiers",
                format!(
                    "the tiers pay {} {} in all, more than the pool of {pool}",
                    fixed + pool * shares,
                    self.currency
                ),
            ));
        }
        Ok(())
    }

    /// Whether `next` may replace this version at `now`. Before the contest starts anything
    /// may change; once it has started, only what cannot alter a ranking already published
    /// (the name, the description, prizes that do not fall for any rank, a registration
    /// that closes later but by the end); after it ends, nothing.
    ///
    /// Errors: `Validation` `version_not_next` (on `version`), `Conflict`-like refusals
    /// `contest_ended`, `started_contest_rules_locked` naming the first changed field.
    pub fn check_change(&self, next: &ContestDefinition, now: OffsetDateTime) -> Result<()> {
        if next.id != self.id {
            return Err(invalid(
                "invalid_contest",
                "id",
                "a new version keeps the contest's id",
            ));
        }
        if next.version != self.version + 1 {
            return Err(invalid(
                "version_not_next",
                "version",
                format!("the next version of {} is {}", self.id, self.version + 1),
            ));
        }
        if now < self.period.from {
            return Ok(());
        }
        if now >= self.period.until {
            return Err(Error::Conflict {
                code: "contest_ended",
                message: format!(
                    "contest {} has ended: its definition no longer changes",
                    self.id
                ),
            });
        }
        let locked = |field: &str| Error::Conflict {
            code: "started_contest_rules_locked",
            message: format!(
                "contest {} has started: {field} may not change (only the name, the description, a later registration close and higher prizes)",
                self.id
            ),
        };
        let same = |field: &str, equal: bool| if equal { Ok(()) } else { Err(locked(field)) };
        same("mode", self.mode == next.mode)?;
        same("currency", self.currency == next.currency)?;
        same(
            "registration.from",
            self.registration.from == next.registration.from,
        )?;
        same(
            "registration.until",
            next.registration.until >= self.registration.until,
        )?;
        same("period", self.period == next.period)?;
        same("eligibility", self.eligibility == next.eligibility)?;
        same(
            "contest_account",
            self.contest_account == next.contest_account,
        )?;
        same("enrollment", self.enrollment == next.enrollment)?;
        same("metric", self.metric == next.metric)?;
        same("rules", self.rules == next.rules)?;
        same("hedging", self.hedging == next.hedging)?;
        same("tie_breaks", self.tie_breaks == next.tie_breaks)?;
        same("prizes.payment", self.prizes.payment == next.prizes.payment)?;
        let currency = self.currency();
        let last = self.prizes.last_rank().max(next.prizes.last_rank());
        if let Some(rank) = (1..=last).find(|rank| {
            next.prizes.for_rank(*rank, currency) < self.prizes.for_rank(*rank, currency)
        }) {
            return Err(locked(&format!(
                "the prize of rank {rank} (prizes may only rise)"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn document() -> serde_json::Value {
        json!({
            "id": "summer-cup", "version": 1, "name": "Summer FX Cup", "mode": "live",
            "currency": "USD",
            "registration": { "from": "2026-06-01T00:00:00Z", "until": "2026-06-30T00:00:00Z" },
            "period": { "from": "2026-06-15T00:00:00Z", "until": "2026-07-15T00:00:00Z" },
            "metric": { "kind": "return" },
            "rules": { "min_trades": 3, "min_hold_seconds": 60 },
            "prizes": { "pool": "1000.00", "payment": { "kind": "cash" },
                        "tiers": [ { "from_rank": 1, "to_rank": 1, "share": "0.5" },
                                   { "from_rank": 2, "to_rank": 3, "amount": "100.00" } ] }
        })
    }

    fn refused(change: impl Fn(&mut serde_json::Value)) -> (String, String) {
        let mut doc = document();
        change(&mut doc);
        match ContestDefinition::from_value(&doc) {
            Err(Error::Validation { code, field, .. }) => {
                (code.to_string(), field.unwrap_or_default())
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_sound_document_reads_with_its_defaults() {
        let d = ContestDefinition::from_value(&document()).unwrap();
        assert_eq!(d.rules.min_trades, 3);
        assert!(d.eligibility.one_entry_per_person);
        assert_eq!(d.hedging.window_seconds, 60);
        let usd = d.currency();
        assert_eq!(d.prizes.for_rank(1, usd), Decimal::new(50000, 2));
        assert_eq!(d.prizes.for_rank(3, usd), Decimal::new(10000, 2));
        assert_eq!(d.prizes.for_rank(4, usd), Decimal::ZERO);
        assert_eq!(d.prizes.total(usd), Decimal::new(70000, 2));
    }

    #[test]
    fn bad_documents_name_their_field() {
        assert_eq!(
            refused(|d| d["period"]["until"] = json!("2026-06-01T00:00:00Z")),
            ("inverted_window".into(), "period.until".into())
        );
        assert_eq!(
            refused(|d| d["registration"]["until"] = json!("2026-08-01T00:00:00Z")),
            (
                "registration_after_period".into(),
                "registration.until".into()
            )
        );
        assert_eq!(
            refused(|d| d["metric"] = json!({ "kind": "return_over_drawdown" })),
            (
                "metric_parameter_missing".into(),
                "metric.min_drawdown".into()
            )
        );
        assert_eq!(
            refused(|d| d["prizes"]["tiers"][0]["share"] = json!("0.9")),
            ("prizes_exceed_pool".into(), "prizes.tiers".into())
        );
        assert_eq!(
            refused(|d| d["prizes"]["tiers"][1]["amount"] = json!("100.001")),
            ("amount_too_precise".into(), "prizes.tiers[1].amount".into())
        );
        assert_eq!(
            refused(|d| d["prizes"]["tiers"][1]["amount"] = json!(100)),
            ("invalid_amount".into(), "prizes.tiers[1].amount".into())
        );
        assert_eq!(
            refused(|d| d["prizes"]["tiers"][1]["from_rank"] = json!(1)),
            ("invalid_contest".into(), "prizes.tiers[1].from_rank".into())
        );
        assert_eq!(
            refused(|d| d["period"]["from"] = json!("2026-06-15T00:00:00+02:00")),
            ("invalid_contest".into(), "period.from".into())
        );
        assert_eq!(
            refused(|d| d["rules"]["surprise"] = json!(1)),
            ("invalid_contest".into(), "rules.surprise".into())
        );
        assert_eq!(
            refused(|d| d["id"] = json!("Summer Cup")),
            ("invalid_contest".into(), "id".into())
        );
    }

    fn at(text: &str) -> OffsetDateTime {
        OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap()
    }

    #[test]
    fn a_started_contest_takes_higher_prizes_but_no_rule_change() {
        let v1 = ContestDefinition::from_value(&document()).unwrap();
        let mut doc = document();
        doc["version"] = json!(2);
        doc["prizes"]["tiers"][1]["amount"] = json!("150.00");
        doc["name"] = json!("Summer FX Cup 2026");
        let higher = ContestDefinition::from_value(&doc).unwrap();
        let running = at("2026-06-20T00:00:00Z");
        assert_eq!(v1.check_change(&higher, running), Ok(()));

        doc["prizes"]["tiers"][1]["amount"] = json!("50.00");
        let lower = ContestDefinition::from_value(&doc).unwrap();
        assert!(matches!(
            v1.check_change(&lower, running),
            Err(Error::Conflict {
                code: "started_contest_rules_locked",
                ..
            })
        ));
        assert_eq!(
            v1.check_change(&lower, at("2026-06-10T00:00:00Z")),
            Ok(()),
            "before the start anything may change"
        );

        let mut doc = document();
        doc["version"] = json!(2);
        doc["rules"]["min_hold_seconds"] = json!(0);
        let looser = ContestDefinition::from_value(&doc).unwrap();
        assert!(matches!(
            v1.check_change(&looser, running),
            Err(Error::Conflict {
                code: "started_contest_rules_locked",
                ..
            })
        ));
        assert!(matches!(
            v1.check_change(&higher, at("2026-07-15T00:00:00Z")),
            Err(Error::Conflict {
                code: "contest_ended",
                ..
            })
        ));
        let mut skipped = higher.clone();
        skipped.version = 3;
        assert!(matches!(
            v1.check_change(&skipped, running),
            Err(Error::Validation {
                code: "version_not_next",
                ..
            })
        ));
    }
}
