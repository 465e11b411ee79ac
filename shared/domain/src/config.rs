//! Brokerage rules kept as configuration: brands, lead scoring and sales assignment.

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
