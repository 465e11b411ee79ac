//! The broker's configuration document: brands and each context's rules (lead scoring and
//! assignment, onboarding, deposits, withdrawals, IBs, contests), validated as a whole when
//! loaded.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use brokeros_approvals::{PolicySet, ProcessType};
use brokeros_contests::config::ContestsConfig;
use brokeros_crm::config::{AssignmentConfig, ScoringConfig};
use brokeros_ib::config::IbConfig;
use brokeros_kernel::{Brands, Error, Result};
use brokeros_onboarding::config::OnboardingConfig;
use brokeros_payments::config::DepositsConfig;
use brokeros_withdrawals::config::WithdrawalsConfig;

/// The embedded default configuration, used when no file is given.
pub use brokeros_kernel::config_document::DEFAULT_CONFIG_JSON;

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
    pub ib: IbConfig,
    pub contests: ContestsConfig,
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
        self.lead_assignment.validate()?;
        self.onboarding.validate()?;
        self.withdrawals.validate()?;
        self.ib.validate()?;
        self.contests.validate()?;
        self.approval_policies()?;
        Ok(())
    }

    /// The approval policy of every process type approvals govern, as this document's rules
    /// make them: a withdrawal's from the withdrawal rules, a commission payout's from the IB section. One set per document, at version 1
    /// (the document's own `version` names the file it came from).
    pub fn approval_policies(&self) -> Result<PolicySet> {
        PolicySet::new(
            1,
            BTreeMap::from([
                (ProcessType::WITHDRAWAL, self.withdrawals.approval_policy()),
                (ProcessType::COMMISSION_PAYOUT, self.ib.approval_policy()),
                (ProcessType::CONTEST_PRIZE, self.contests.approval_policy()),
            ]),
        )
    }

    /// The brands this broker runs, for the contexts that take a brand.
    pub fn brands(&self) -> Brands {
        Brands {
            names: self.brands.clone(),
            default: self.default_brand.clone(),
        }
    }
}
