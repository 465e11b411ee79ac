//! The withdrawal rules of the broker's configuration document.

use std::collections::BTreeMap;

use brokeros_kernel::{Error, Result};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

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
    pub required_level: crate::model::VerificationLevel,
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
    pub fn validate(&self) -> Result<()> {
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
                brokeros_kernel::money::Money::positive(
                    name,
                    *amount,
                    brokeros_kernel::money::Currency::parse(name, code)?,
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

impl WithdrawalsConfig {
    /// The section as the embedded default configuration document has it.
    pub fn embedded_default() -> WithdrawalsConfig {
        brokeros_kernel::config_document::default_section("withdrawals")
    }
}
