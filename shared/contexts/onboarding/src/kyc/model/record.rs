//! The stored record of one KYC check: what was checked (document numbers redacted), under
//! which rules version, what screening found, what the provider said, and the decision.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::decision::{DocumentVerification, KycDecision, KycOutcome};
use super::profile::ProfileField;
use super::rules::JurisdictionRef;
use super::screening::ScreeningResult;
use super::{ClientType, KycSubject, requires_reverification};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// Waiting for the provider's verdict (its webhook, or the next poll).
    Pending,
    Completed,
}

/// Why the check runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum CheckTrigger {
    /// The client's first check, or a repeat of the same profile.
    Onboarding,
    /// The client changed between individual and corporate since their last completed check.
    ClientTypeChanged { from: ClientType, to: ClientType },
    /// An approved client changed these fields of their profile (material under their
    /// jurisdiction's rules, or making them ineligible).
    ProfileChanged { fields: Vec<ProfileField> },
}

/// How much a check looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckScope {
    /// Screening, risk and the provider's verification of the documents: what approves.
    #[default]
    Full,
    /// Screening and the rules only, of an approved client's changed profile: never approves
    /// by itself, it decides whether the approval may stand.
    Screening,
}

impl CheckScope {
    fn is_full(&self) -> bool {
        *self == CheckScope::Full
    }
}

impl CheckTrigger {
    /// The trigger of a new check of a `now_is` client whose last completed check was
    /// `previous`.
    pub fn for_check(previous: Option<&KycCheckRecord>, now_is: ClientType) -> CheckTrigger {
        match previous {
            Some(p) if requires_reverification(p.client_type, now_is) => {
                CheckTrigger::ClientTypeChanged {
                    from: p.client_type,
                    to: now_is,
                }
            }
            _ => CheckTrigger::Onboarding,
        }
    }
}

/// The provider's identifiers of the applicant and the check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProviderRefs {
    pub provider: String,
    pub applicant_id: String,
    pub check_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct KycCheckRecord {
    /// Chosen by the caller (the workflow execution), so a retried call finds the same check.
    pub id: String,
    pub client_id: String,
    pub client_type: ClientType,
    pub product: String,
    pub trigger: CheckTrigger,
    /// `screening` for a re-screening of a changed profile (absent: a full check).
    #[serde(default, skip_serializing_if = "CheckScope::is_full")]
    pub scope: CheckScope,
    pub status: CheckStatus,
    pub jurisdiction: JurisdictionRef,
    /// The subject as checked, document numbers redacted.
    pub subject: KycSubject,
    pub screening: ScreeningResult,
    /// Absent when a hard rule rejected before the provider was asked.
    #[schema(required)]
    pub provider: Option<ProviderRefs>,
    #[schema(required)]
    pub document_result: Option<DocumentVerification>,
    #[schema(required)]
    pub decision: Option<KycDecision>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl KycCheckRecord {
    pub fn outcome(&self) -> Option<KycOutcome> {
        self.decision.as_ref().map(|d| d.outcome)
    }

    pub fn is_completed(&self) -> bool {
        self.status == CheckStatus::Completed
    }

    /// A completed full check: one that verified the client (rather than re-screened them).
    pub fn verified(&self) -> bool {
        self.is_completed() && self.scope == CheckScope::Full
    }
}
