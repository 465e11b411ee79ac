//! The onboarding settings of the broker's configuration document.

use brokeros_kernel::{Error, Result};
use serde::{Deserialize, Serialize};

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

impl OnboardingConfig {
    pub fn validate(&self) -> Result<()> {
        if self.products.is_empty()
            || self.default_leverage == 0
            || self.review_timeout_seconds == 0
            || self.escalation_timeout_seconds == 0
            || self.kyc_result_timeout_seconds == 0
        {
            return Err(Error::invalid(
                "invalid_config",
                "config",
                "onboarding needs products, a leverage of at least 1 and review timeouts above 0",
            ));
        }
        Ok(())
    }
}

impl OnboardingConfig {
    /// The section as the embedded default configuration document has it.
    pub fn embedded_default() -> OnboardingConfig {
        brokeros_kernel::config_document::default_section("onboarding")
    }
}
