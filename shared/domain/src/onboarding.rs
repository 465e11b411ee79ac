//! Onboarding: one governed run of the onboarding workflow for a client, and the compliance
//! reviews it may wait on. The workflow decides the path; these types hold what it decided and
//! refuse transitions that would contradict an outcome already recorded.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::principal::{Principal, Role};
use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnboardingStatus {
    Running,
    Approved,
    Rejected,
    ReviewExpired,
    Failed,
}

impl OnboardingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OnboardingStatus::Running => "running",
            OnboardingStatus::Approved => "approved",
            OnboardingStatus::Rejected => "rejected",
            OnboardingStatus::ReviewExpired => "review_expired",
            OnboardingStatus::Failed => "failed",
        }
    }

    /// The outcome a workflow reports (`approved`, `rejected`, `review_expired`, `failed`).
    pub fn parse_outcome(s: &str) -> Result<OnboardingStatus> {
        match s {
            "approved" => Ok(OnboardingStatus::Approved),
            "rejected" => Ok(OnboardingStatus::Rejected),
            "review_expired" => Ok(OnboardingStatus::ReviewExpired),
            "failed" => Ok(OnboardingStatus::Failed),
            other => Err(Error::invalid(
                "invalid_outcome",
                "outcome",
                format!("'{other}' is not an onboarding outcome"),
            )),
        }
    }
}

/// Where a client stands with KYC, as the onboarding workflow last left it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KycStatus {
    #[default]
    NotStarted,
    Pending,
    InReview,
    Approved,
    Rejected,
    ReviewExpired,
    Failed,
    /// The client changed type (individual ↔ corporate): approval no longer holds until a new
    /// onboarding approves the new profile.
    ReverificationRequired,
}

impl KycStatus {
    /// Whether a new onboarding may start from here.
    pub fn may_start_onboarding(self) -> bool {
        !matches!(
            self,
            KycStatus::Pending | KycStatus::InReview | KycStatus::Approved
        )
    }

    pub fn after(outcome: OnboardingStatus) -> KycStatus {
        match outcome {
            OnboardingStatus::Running => KycStatus::Pending,
            OnboardingStatus::Approved => KycStatus::Approved,
            OnboardingStatus::Rejected => KycStatus::Rejected,
            OnboardingStatus::ReviewExpired => KycStatus::ReviewExpired,
            OnboardingStatus::Failed => KycStatus::Failed,
        }
    }
}

/// A trading account opened for a client on the trading platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRef {
    pub login: u64,
    pub group: String,
    pub leverage: u32,
    pub currency: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Onboarding {
    /// Also the workflow execution's name, so a retried start cannot run it twice.
    pub id: String,
    pub client_id: String,
    pub product: String,
    pub status: OnboardingStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kyc_check_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<AccountRef>,
    /// For a failed run, the error the workflow failed with (name and cause, no personal data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    pub started_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(
        with = "time::serde::rfc3339::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub finished_at: Option<OffsetDateTime>,
}

impl Onboarding {
    /// Records the workflow's outcome. Reporting the same outcome again is a no-op (workflow
    /// tasks are retried); a different outcome after one was recorded is refused.
    pub fn finish(
        &mut self,
        outcome: OnboardingStatus,
        failure: Option<String>,
        now: OffsetDateTime,
    ) -> Result<bool> {
        if outcome == OnboardingStatus::Running {
            return Err(Error::invalid(
                "invalid_outcome",
                "outcome",
                "running is not an outcome",
            ));
        }
        if self.status == outcome {
            return Ok(false);
        }
        if self.status != OnboardingStatus::Running {
            return Err(Error::Conflict {
                code: "onboarding_finished",
                message: format!(
                    "onboarding {} already ended as {}",
                    self.id,
                    self.status.as_str()
                ),
            });
        }
        self.status = outcome;
        self.failure = failure;
        self.finished_at = Some(now);
        Ok(true)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewLevel {
    /// A compliance officer's review.
    Compliance,
    /// The first review timed out: the head of compliance (an admin) or any compliance officer
    /// decides.
    Escalated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    Pending,
    Approved,
    Rejected,
    /// Superseded by an escalated review after its deadline passed.
    Escalated,
    /// The onboarding ended (failed or expired) before anyone decided.
    Cancelled,
}

impl ReviewStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Pending => "pending",
            ReviewStatus::Approved => "approved",
            ReviewStatus::Rejected => "rejected",
            ReviewStatus::Escalated => "escalated",
            ReviewStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Result<ReviewStatus> {
        [
            ReviewStatus::Pending,
            ReviewStatus::Approved,
            ReviewStatus::Rejected,
            ReviewStatus::Escalated,
            ReviewStatus::Cancelled,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
        .ok_or_else(|| {
            Error::invalid(
                "invalid_status",
                "status",
                format!("'{s}' is not a review status"),
            )
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject,
}

/// A manual compliance review the onboarding workflow waits on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Review {
    pub id: String,
    pub client_id: String,
    pub onboarding_id: String,
    pub check_id: String,
    pub level: ReviewLevel,
    pub status: ReviewStatus,
    /// The workflow's task token. It is a bearer credential for the waiting workflow: never
    /// shown by the API, never audited (the audit diff leaves out fields named like tokens).
    pub task_token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(
        with = "time::serde::rfc3339::option",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub decided_at: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Review {
    /// Who may decide: compliance officers; escalated reviews also admins (head of compliance).
    pub fn authorize_decision(&self, principal: &Principal) -> Result<()> {
        let allowed = match self.level {
            ReviewLevel::Compliance => principal.has(Role::Compliance),
            ReviewLevel::Escalated => principal.has_any(&[Role::Compliance, Role::Admin]),
        };
        if allowed {
            Ok(())
        } else {
            Err(Error::forbidden(
                "only compliance officers decide compliance reviews",
            ))
        }
    }

    pub fn decide(
        &mut self,
        decision: Decision,
        by: &str,
        reason: Option<String>,
        now: OffsetDateTime,
    ) -> Result<()> {
        if self.status != ReviewStatus::Pending {
            return Err(Error::Conflict {
                code: "review_closed",
                message: format!("review {} is already {}", self.id, self.status.as_str()),
            });
        }
        if decision == Decision::Reject && reason.is_none() {
            return Err(Error::invalid(
                "reason_required",
                "reason",
                "a rejection needs a reason",
            ));
        }
        self.status = match decision {
            Decision::Approve => ReviewStatus::Approved,
            Decision::Reject => ReviewStatus::Rejected,
        };
        self.decided_by = Some(by.to_string());
        self.decided_at = Some(now);
        self.reason = reason;
        Ok(())
    }

    /// Closes a pending review the workflow moved past: `Escalated` when its deadline passed,
    /// `Cancelled` when the onboarding ended. Answers whether anything changed.
    pub fn close(&mut self, status: ReviewStatus, now: OffsetDateTime) -> bool {
        if self.status != ReviewStatus::Pending || status == ReviewStatus::Pending {
            return false;
        }
        self.status = status;
        self.decided_at = Some(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn principal(role: Role) -> Principal {
        Principal {
            sub: "u-1".into(),
            roles: BTreeSet::from([role]),
        }
    }

    fn review(level: ReviewLevel) -> Review {
        Review {
            id: "rev-1".into(),
            client_id: "client-1".into(),
            onboarding_id: "onb-1".into(),
            check_id: "kyc-1".into(),
            level,
            status: ReviewStatus::Pending,
            task_token: "token".into(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            decided_by: None,
            decided_at: None,
            reason: None,
        }
    }

    #[test]
    fn only_compliance_decides_and_admins_only_escalated_reviews() {
        let first = review(ReviewLevel::Compliance);
        assert!(first.authorize_decision(&principal(Role::Compliance)).is_ok());
        assert!(first.authorize_decision(&principal(Role::Admin)).is_err());
        assert!(first.authorize_decision(&principal(Role::Sales)).is_err());
        let escalated = review(ReviewLevel::Escalated);
        assert!(escalated.authorize_decision(&principal(Role::Admin)).is_ok());
        assert!(escalated.authorize_decision(&principal(Role::Finance)).is_err());
    }

    #[test]
    fn a_review_is_decided_once_and_rejections_need_a_reason() {
        let mut r = review(ReviewLevel::Compliance);
        let now = OffsetDateTime::UNIX_EPOCH;
        assert!(r.decide(Decision::Reject, "c-1", None, now).is_err());
        assert_eq!(r.status, ReviewStatus::Pending);
        r.decide(Decision::Approve, "c-1", None, now).unwrap();
        assert_eq!(r.status, ReviewStatus::Approved);
        let again = r.decide(Decision::Reject, "c-2", Some("late".into()), now);
        assert!(matches!(again, Err(Error::Conflict { .. })));
        assert_eq!(r.decided_by.as_deref(), Some("c-1"));
    }

    #[test]
    fn a_superseded_review_cannot_be_decided() {
        let mut r = review(ReviewLevel::Compliance);
        assert!(r.close(ReviewStatus::Escalated, OffsetDateTime::UNIX_EPOCH));
        assert!(!r.close(ReviewStatus::Cancelled, OffsetDateTime::UNIX_EPOCH));
        assert_eq!(r.status, ReviewStatus::Escalated);
        assert!(
            r.decide(Decision::Approve, "c-1", None, OffsetDateTime::UNIX_EPOCH)
                .is_err()
        );
    }

    #[test]
    fn an_outcome_is_recorded_once_and_repeats_are_harmless() {
        let mut o = Onboarding {
            id: "onb-1".into(),
            client_id: "client-1".into(),
            product: "cfd".into(),
            status: OnboardingStatus::Running,
            execution_arn: None,
            kyc_check_id: None,
            account: None,
            failure: None,
            started_by: "u-1".into(),
            started_at: OffsetDateTime::UNIX_EPOCH,
            finished_at: None,
        };
        let now = OffsetDateTime::UNIX_EPOCH;
        assert!(o.finish(OnboardingStatus::Approved, None, now).unwrap());
        assert!(!o.finish(OnboardingStatus::Approved, None, now).unwrap());
        assert!(o.finish(OnboardingStatus::Failed, None, now).is_err());
        assert!(o.finish(OnboardingStatus::Running, None, now).is_err());
        assert_eq!(
            OnboardingStatus::parse_outcome("review_expired").unwrap(),
            OnboardingStatus::ReviewExpired
        );
        assert!(OnboardingStatus::parse_outcome("running").is_err());
    }
}
