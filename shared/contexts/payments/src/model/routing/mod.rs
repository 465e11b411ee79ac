//! Deposit routing: which payment providers a deposit may go to, in which order, and why.
//!
//! The rules are one versioned document ([`RoutingDocument`], JSON): the providers with their
//! limits and costs, and ordered rules that ops write to steer traffic. [`RoutingRules::new`]
//! validates a document (every error names the rule or provider at fault) and compiles it;
//! [`RoutingRules::route`] then decides a [`DepositIntent`] against the providers' live
//! [`RoutingStats`](super::stats::RoutingStats), as a [`RoutingDecision`]: the eligible
//! candidates in order with what ranked each, and every excluded provider with every rule or
//! limit that excluded it. On a decline or an outage the workflow takes
//! [`RoutingDecision::next_after`] the attempts so far.
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
//!
//! The parts: `document` (the rules document as written), `validation` (its checks, before
//! it is compiled), `decision` (exclusion, ranking and the fallback cascade) and `in_force`
//! (which version of the document is in force).

// The index compiles the document types, and the decision uses the index.
pub(super) mod document;

mod decision;
mod in_force;
mod validation;

pub use super::stats::{AttemptOutcome, HealthPolicy};
pub use decision::{
    Attempt, Candidate, DepositIntent, Excluded, Exclusion, Fallback, FallbackStop, Preference,
    RankedBy, RoutingDecision, RoutingRules, Skipped,
};
pub use document::{
    AmountBounds, CurrencyLimits, DEFAULT_ROUTING_RULES_JSON, ProviderDescriptor, RankingPolicy,
    RoutingDocument, Rule, RuleAction, RuleMatch,
};
pub use in_force::RoutingRulesInForce;
