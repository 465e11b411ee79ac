//! The withdrawal rules of the broker's configuration document.

use std::collections::{BTreeMap, BTreeSet};

use brokeros_approvals::{AmountTier, ApprovalPolicy};
use brokeros_kernel::principal::Role;
use brokeros_kernel::{Error, Result};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The auto-approval rule is the approvals context's, embedded here as it is.
pub use brokeros_approvals::AutoApprovalConfig;

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
    #[serde(deserialize_with = "brokeros_kernel::money::amount::deserialize_map")]
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
    #[serde(deserialize_with = "brokeros_kernel::money::amount::deserialize_map")]
    pub enhanced_above: BTreeMap<String, Decimal>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WithdrawalAmlConfig {
    /// Above this amount a withdrawal is reviewed by finance.
    #[serde(deserialize_with = "brokeros_kernel::money::amount::deserialize_map")]
    pub review_above: BTreeMap<String, Decimal>,
    /// Above this amount a withdrawal is refused outright.
    #[serde(deserialize_with = "brokeros_kernel::money::amount::deserialize_map")]
    pub reject_above: BTreeMap<String, Decimal>,
    /// The window the velocity rules look back over.
    pub velocity_window_seconds: u64,
    /// This many earlier withdrawals in the window send the next one to finance.
    pub velocity_max_count: u32,
    /// Earlier withdrawals in the window (not refused) plus this one above this amount send it
    /// to finance.
    #[serde(deserialize_with = "brokeros_kernel::money::amount::deserialize_map")]
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
        // What the rules add up to must be a policy approvals can follow.
        self.approval_policy()
            .validate("withdrawals.approval_policy")
            .map_err(|e| bad(e.to_string()))
    }
}

impl WithdrawalsConfig {
    /// The withdrawals' maker-checker rules as an approval policy: finance or an admin
    /// approves, never the requester, nobody twice; above `second_approval_above` (or in a
    /// currency it has no limit for) two people, the second an admin; auto-approval by client
    /// group, amount and daily count; finance or an admin rejects (the requester too: rejecting
    /// is the safe direction); a pending one expires after `approval_timeout_seconds`.
    ///
    /// What stays with withdrawals: the checks that reject outright (KYC level, the AML hard
    /// limit, the closed loop) run before a process starts, and the checks that send a
    /// withdrawal to finance whatever the auto-approval rule says (AML review threshold,
    /// missing enhanced verification, velocity) reach the process as its
    /// `StartFacts::held_for_review`.
    pub fn approval_policy(&self) -> ApprovalPolicy {
        let finance = BTreeSet::from([Role::Finance, Role::Admin]);
        ApprovalPolicy {
            approver_roles: finance.clone(),
            approvers: 1,
            last_approver_role: None,
            tiers: vec![AmountTier {
                above: self.second_approval_above.clone(),
                approvers: 2,
                last_approver_role: Some(Role::Admin),
            }],
            auto_approval: Some(self.auto_approval.clone()),
            requester_may_approve: false,
            rejecter_roles: finance,
            requester_may_reject: true,
            decision_timeout_seconds: Some(self.approval_timeout_seconds),
        }
    }

    /// The section as the embedded default configuration document has it.
    pub fn embedded_default() -> WithdrawalsConfig {
        brokeros_kernel::config_document::default_section("withdrawals")
    }
}
