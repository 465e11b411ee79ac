//! Payments as pure rules: deposit routing ([`routing`]), which picks the payment providers
//! (PSPs) a deposit may go to, in order, under a versioned rules document and the providers'
//! live statistics ([`stats`]); and the providers' events and webhooks ([`events`],
//! [`webhook`]).
//!
//! Amounts are [`Decimal`] (never floats): a deposit's amount is a [`brokeros_kernel::money::Money`],
//! and every amount of the rules (limits, caps, fees, bounds) is checked against the scale of
//! its currency in [`brokeros_kernel::money`]'s table.

pub mod routing;
pub mod stats;

mod index;

use std::fmt;
use utoipa::ToSchema;

use serde::{Deserialize, Serialize};

pub use routing::{
    AmountBounds, Attempt, Candidate, CurrencyLimits, DEFAULT_ROUTING_RULES_JSON, DepositIntent,
    Excluded, Exclusion, Fallback, FallbackStop, Preference, ProviderDescriptor, RankedBy,
    RankingPolicy, RoutingDecision, RoutingDocument, RoutingRules, RoutingRulesInForce, Rule,
    RuleAction, RuleMatch, Skipped,
};
pub use rust_decimal::Decimal;
pub use stats::{
    AttemptOutcome, Health, HealthPolicy, HealthSource, Outcome, OutcomeCounts,
    ProviderHealthRecord, ProviderStats, RoutingStats, SuccessRate, assess_health,
};

/// How the client pays.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Card,
    BankTransfer,
    Crypto,
    EWallet,
}

impl PaymentMethod {
    pub const ALL: [PaymentMethod; 4] = [
        PaymentMethod::Card,
        PaymentMethod::BankTransfer,
        PaymentMethod::Crypto,
        PaymentMethod::EWallet,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Card => "card",
            PaymentMethod::BankTransfer => "bank_transfer",
            PaymentMethod::Crypto => "crypto",
            PaymentMethod::EWallet => "e_wallet",
        }
    }

    pub(crate) fn bit(self) -> u8 {
        1 << (self as u8)
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for PaymentMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The client's risk level as compliance rated it (from the KYC risk score).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    Low,
    Medium,
    High,
}

impl RiskLevel {
    /// The risk score below which an approved client routes as low risk (half the lowest
    /// review threshold of the jurisdiction rules); a client who needed a compliance review, or
    /// has no KYC decision, routes as high risk.
    pub const LOW_RISK_BELOW_SCORE: u32 = 20;

    /// The routing risk level of a client by their KYC decision.
    pub fn of_kyc(decision: Option<&brokeros_onboarding::kyc::model::KycDecision>) -> RiskLevel {
        match decision {
            Some(d) if d.outcome == brokeros_onboarding::kyc::model::KycOutcome::Approve => {
                if d.risk_score < RiskLevel::LOW_RISK_BELOW_SCORE {
                    RiskLevel::Low
                } else {
                    RiskLevel::Medium
                }
            }
            _ => RiskLevel::High,
        }
    }

    pub const ALL: [RiskLevel; 3] = [RiskLevel::Low, RiskLevel::Medium, RiskLevel::High];

    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Low => "low",
            RiskLevel::Medium => "medium",
            RiskLevel::High => "high",
        }
    }

    pub(crate) fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl fmt::Display for RiskLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// Provider webhooks: signature verification, provider payload adapters, the common event.
pub mod events;
pub mod webhook;
