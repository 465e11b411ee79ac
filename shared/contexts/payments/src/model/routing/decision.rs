//! The routing decision: which providers a deposit may go to (every exclusion with its
//! reasons), in which order (and what ranked each), and the next one after failed attempts.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::document::{DEFAULT_ROUTING_RULES_JSON, ProviderDescriptor, RoutingDocument};
use super::validation::{bad, validate};
use crate::model::index::{Compiled, CompiledAction, country_slot, currency_id};
use crate::model::stats::{AttemptOutcome, Health, RoutingStats, SuccessRate};
use crate::model::{PaymentMethod, RiskLevel};
use brokeros_kernel::Result;
use brokeros_kernel::money::{Currency, Money};

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
