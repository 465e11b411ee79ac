//! How far a client's identity is verified, as the withdrawal rules and their configuration
//! name it.

use brokeros_onboarding::kyc::model::DocumentType;
use brokeros_onboarding::kyc::model::WithdrawalRule;
use brokeros_onboarding::model::Client;
use serde::{Deserialize, Serialize};

/// How far a client's identity is verified, as the withdrawal rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerificationLevel {
    /// KYC not approved (never, not yet, or no longer: a profile change voided the approval
    /// and the re-verification's rules block withdrawals).
    None,
    /// KYC approved.
    Basic,
    /// KYC approved and proof of funds on file.
    Enhanced,
}

impl VerificationLevel {
    pub fn of(client: &Client) -> VerificationLevel {
        if client.withdrawal_rule() != WithdrawalRule::Allowed {
            return VerificationLevel::None;
        }
        let funds_proven = client
            .documents
            .iter()
            .any(|d| d.document.doc_type == DocumentType::ProofOfFunds);
        if funds_proven {
            VerificationLevel::Enhanced
        } else {
            VerificationLevel::Basic
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            VerificationLevel::None => "none",
            VerificationLevel::Basic => "basic",
            VerificationLevel::Enhanced => "enhanced",
        }
    }
}
