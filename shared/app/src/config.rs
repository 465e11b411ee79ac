//! Brokerage rules kept as configuration: brands, lead scoring and sales assignment.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The embedded default configuration, used when no file is given.
pub const DEFAULT_CONFIG_JSON: &str = include_str!("../config/default.json");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerConfig {
    /// Bumped by whoever edits the file; recorded in audit events of decisions taken under it.
    pub version: String,
    pub brands: Vec<String>,
    pub default_brand: String,
    pub lead_scoring: ScoringConfig,
    pub lead_assignment: AssignmentConfig,
    pub onboarding: OnboardingConfig,
    pub deposits: DepositsConfig,
    pub withdrawals: WithdrawalsConfig,
}

/// The rules withdrawals are checked and approved by. Amounts are per currency (code →
/// amount) because no exchange rate is applied to a decision that moves client money.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithdrawalsConfig {
    /// How long a withdrawal waits for finance before it expires and its funds are released.
    pub approval_timeout_seconds: u64,
    pub kyc: WithdrawalKycConfig,
    pub auto_approval: AutoApprovalConfig,
    /// Above this amount a second approver (an admin) is needed. A currency missing here
    /// always needs two: a rule nobody wrote for it must not make it easier.
    pub second_approval_above: BTreeMap<String, Decimal>,
    pub aml: WithdrawalAmlConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithdrawalKycConfig {
    /// Below this level a withdrawal is rejected.
    pub required_level: crate::withdrawal::VerificationLevel,
    /// Above this amount a client without enhanced verification (proof of funds on file) is
    /// reviewed by finance rather than auto-approved.
    pub enhanced_above: BTreeMap<String, Decimal>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoApprovalConfig {
    /// Trading groups whose clients may be auto-approved (a client with none is not).
    pub client_groups: Vec<String>,
    /// Up to this amount, per currency; a currency missing here is never auto-approved.
    pub max_amount: BTreeMap<String, Decimal>,
    /// Auto-approvals per client per UTC day; the rest go to finance.
    pub max_per_day: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithdrawalAmlConfig {
    /// Above this amount a withdrawal is reviewed by finance.
    pub review_above: BTreeMap<String, Decimal>,
    /// Above this amount a withdrawal is refused outright.
    pub reject_above: BTreeMap<String, Decimal>,
    /// The window the velocity rules look back over.
    pub velocity_window_seconds: u64,
    /// This many earlier withdrawals in the window send the next one to finance.
    pub velocity_max_count: u32,
    /// Earlier withdrawals in the window (not refused) plus this one above this amount send it
    /// to finance.
    pub velocity_max_amount: BTreeMap<String, Decimal>,
}

impl WithdrawalsConfig {
    fn validate(&self) -> Result<()> {
        let bad = |msg: String| Error::invalid("invalid_config", "config", msg);
        if self.approval_timeout_seconds == 0
            || self.aml.velocity_window_seconds == 0
            || self.aml.velocity_max_count == 0
        {
            return Err(bad(
                "withdrawals needs an approval timeout, a velocity window and a velocity count above 0"
                    .into(),
            ));
        }
        let limits = [
            ("withdrawals.kyc.enhanced_above", &self.kyc.enhanced_above),
            (
                "withdrawals.auto_approval.max_amount",
                &self.auto_approval.max_amount,
            ),
            (
                "withdrawals.second_approval_above",
                &self.second_approval_above,
            ),
            ("withdrawals.aml.review_above", &self.aml.review_above),
            ("withdrawals.aml.reject_above", &self.aml.reject_above),
            (
                "withdrawals.aml.velocity_max_amount",
                &self.aml.velocity_max_amount,
            ),
        ];
        for (name, limits) in limits {
            for (code, amount) in limits {
                crate::money::Money::positive(
                    name,
                    *amount,
                    crate::money::Currency::parse(name, code)?,
                )
                .map_err(|_| {
                    bad(format!(
                        "{name}.{code} must be a positive amount at the currency's scale"
                    ))
                })?;
            }
        }
        Ok(())
    }
}

/// How deposits run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepositsConfig {
    /// How long a deposit waits for the provider's result before it expires.
    pub payment_timeout_seconds: u64,
}

/// How onboarding runs: review deadlines and where approved clients' trading accounts go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnboardingConfig {
    /// How long a compliance review may wait before it escalates.
    pub review_timeout_seconds: u64,
    /// How long an escalated review may wait before the onboarding expires.
    pub escalation_timeout_seconds: u64,
    /// How long onboarding waits for the KYC provider's asynchronous result (its webhook).
    pub kyc_result_timeout_seconds: u64,
    /// The products a client may onboard for.
    pub products: Vec<String>,
    /// Trading platform group per product, `{currency}` replaced by the account currency.
    pub account_group: String,
    pub account_currency: String,
    /// The leverage given when the jurisdiction's cap allows it.
    pub default_leverage: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoringConfig {
    pub rules: Vec<ScoringRule>,
}

/// Adds `points` (may be negative) when `when` holds. The total is clamped to 0..=100.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoringRule {
    pub id: String,
    pub points: i32,
    pub when: Condition,
}

/// A field of a lead that rules can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadField {
    Country,
    Language,
    Source,
    UtmSource,
    UtmMedium,
    UtmCampaign,
    ReferralCode,
    AffiliateId,
    Email,
    Phone,
    MarketingConsent,
    TouchCount,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// The field's text value is one of `values` (case-insensitive).
    In {
        field: LeadField,
        values: Vec<String>,
    },
    /// The field has a value (a non-empty text, `true`, or a count above zero).
    Present { field: LeadField },
    /// The field's number is at least `value`.
    AtLeast { field: LeadField, value: u32 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignmentConfig {
    /// Tried in order; the first rule whose filters match picks an agent from its pool by round robin.
    pub rules: Vec<AssignmentRule>,
    /// The pool used when no rule matches.
    pub default_agents: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignmentRule {
    pub id: String,
    /// Empty means any country.
    #[serde(default)]
    pub countries: Vec<String>,
    /// Empty means any language; matched on the language part (`pt` matches `pt-BR`).
    #[serde(default)]
    pub languages: Vec<String>,
    pub agents: Vec<String>,
}

impl BrokerConfig {
    pub fn embedded_default() -> BrokerConfig {
        BrokerConfig::from_json(DEFAULT_CONFIG_JSON)
            .expect("the embedded default configuration is valid")
    }

    pub fn from_json(text: &str) -> Result<BrokerConfig> {
        let config: BrokerConfig = serde_json::from_str(text).map_err(|e| {
            Error::invalid(
                "invalid_config",
                "config",
                format!("configuration is not valid: {e}"),
            )
        })?;
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<()> {
        let bad = |msg: String| Error::invalid("invalid_config", "config", msg);
        if !self.brands.contains(&self.default_brand) {
            return Err(bad(format!(
                "default_brand '{}' is not among brands",
                self.default_brand
            )));
        }
        if self.lead_assignment.default_agents.is_empty() {
            return Err(bad(
                "lead_assignment.default_agents must not be empty".into()
            ));
        }
        for rule in &self.lead_assignment.rules {
            if rule.agents.is_empty() {
                return Err(bad(format!("assignment rule '{}' has no agents", rule.id)));
            }
        }
        let mut ids: Vec<&str> = self
            .lead_assignment
            .rules
            .iter()
            .map(|r| r.id.as_str())
            .collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) || ids.contains(&DEFAULT_POOL) {
            return Err(bad(
                "assignment rule ids must be unique and not 'default'".into()
            ));
        }
        let onboarding = &self.onboarding;
        if onboarding.products.is_empty()
            || onboarding.default_leverage == 0
            || onboarding.review_timeout_seconds == 0
            || onboarding.escalation_timeout_seconds == 0
            || onboarding.kyc_result_timeout_seconds == 0
        {
            return Err(bad(
                "onboarding needs products, a leverage of at least 1 and review timeouts above 0"
                    .into(),
            ));
        }
        self.withdrawals.validate()?;
        Ok(())
    }

    /// The brand a request names, or the default one.
    pub fn brand(&self, requested: Option<&str>) -> Result<String> {
        match requested {
            None => Ok(self.default_brand.clone()),
            Some(b) if self.brands.iter().any(|x| x == b) => Ok(b.to_string()),
            Some(_) => Err(Error::invalid(
                "unknown_brand",
                "brand",
                "brand is not one of this broker's brands",
            )),
        }
    }
}

/// The id of the pool used when no assignment rule matches.
pub const DEFAULT_POOL: &str = "default";
