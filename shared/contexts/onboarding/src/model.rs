//! Onboarding: one governed run of the onboarding workflow for a client, and the compliance
//! reviews it may wait on. The workflow decides the path; these types hold what it decided and
//! refuse transitions that would contradict an outcome already recorded.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use std::collections::{BTreeMap, BTreeSet};

use crate::kyc::model::{
    CheckTrigger, ClientType, DepositRule, DocumentRef, KycSubject, MoneyRules, ProfileField,
    SourceOfFunds, SubjectName, WithdrawalRule,
};
use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
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
    /// onboarding approves the new profile. (Other material changes of an approved client's
    /// profile start that onboarding themselves: the client is `pending` meanwhile.)
    ReverificationRequired,
}

impl KycStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KycStatus::NotStarted => "not_started",
            KycStatus::Pending => "pending",
            KycStatus::InReview => "in_review",
            KycStatus::Approved => "approved",
            KycStatus::Rejected => "rejected",
            KycStatus::ReviewExpired => "review_expired",
            KycStatus::Failed => "failed",
            KycStatus::ReverificationRequired => "reverification_required",
        }
    }

    /// Whether a new onboarding may start from here.
    pub fn may_start_onboarding(self) -> bool {
        !matches!(
            self,
            KycStatus::Pending | KycStatus::InReview | KycStatus::Approved
        )
    }

    /// Whether a verification is under way or awaited (a check running, a review open, a new
    /// onboarding required).
    pub fn is_verifying(self) -> bool {
        matches!(
            self,
            KycStatus::Pending | KycStatus::InReview | KycStatus::ReverificationRequired
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccountRef {
    pub login: u64,
    pub group: String,
    pub leverage: u32,
    pub currency: String,
    /// When the platform opened it; absent on accounts recorded before it was kept (contest
    /// eligibility counts those as opened before any contest's registration).
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub opened_at: Option<OffsetDateTime>,
}

impl AccountRef {
    /// The reference a client's record keeps of `account`, as the platform opened it.
    pub fn of(account: &brokeros_trading::TradingAccount) -> AccountRef {
        AccountRef {
            login: account.login,
            group: account.group.clone(),
            leverage: account.leverage,
            currency: account.currency.clone(),
            opened_at: Some(account.created_at),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Onboarding {
    /// Also the workflow execution's name, so a retried start cannot run it twice.
    pub id: String,
    pub client_id: String,
    pub product: String,
    pub status: OnboardingStatus,
    /// Why it runs when not a first onboarding: a re-verification after a change of the
    /// approved client's profile (its check records the same trigger).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<CheckTrigger>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kyc_check_id: Option<String>,
    /// The workflow's token while it waits for the KYC provider's asynchronous result: the
    /// provider's webhook answers it. A bearer credential: never shown, never audited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub kyc_result_token: Option<String>,
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
    /// A run of the onboarding workflow `id` for `client_id`, started now by `started_by`.
    pub fn running(
        id: String,
        client_id: String,
        product: String,
        trigger: Option<CheckTrigger>,
        started_by: String,
        started_at: OffsetDateTime,
    ) -> Onboarding {
        Onboarding {
            id,
            client_id,
            product,
            status: OnboardingStatus::Running,
            trigger,
            execution_arn: None,
            kyc_check_id: None,
            kyc_result_token: None,
            account: None,
            failure: None,
            started_by,
            started_at,
            finished_at: None,
        }
    }

    /// Whether it re-verifies an approved client whose profile changed (their trading account
    /// stays the one they have).
    pub fn is_reverification(&self) -> bool {
        matches!(self.trigger, Some(CheckTrigger::ProfileChanged { .. }))
    }

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewLevel {
    /// A compliance officer's review.
    Compliance,
    /// The first review timed out: the head of compliance (an admin) or any compliance officer
    /// decides.
    Escalated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    Pending,
    Approved,
    Rejected,
    /// Superseded by an escalated review after its deadline passed.
    Escalated,
    /// The escalated review's deadline passed before anyone decided.
    Expired,
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
            ReviewStatus::Expired => "expired",
            ReviewStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Result<ReviewStatus> {
        [
            ReviewStatus::Pending,
            ReviewStatus::Approved,
            ReviewStatus::Rejected,
            ReviewStatus::Escalated,
            ReviewStatus::Expired,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject,
}

/// A manual compliance review the onboarding workflow waits on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Review {
    pub id: String,
    pub client_id: String,
    pub onboarding_id: String,
    pub check_id: String,
    pub level: ReviewLevel,
    pub status: ReviewStatus,
    /// The workflow's task token. It is a bearer credential for the waiting workflow: never
    /// shown by the API, never audited (the audit diff leaves out fields named like tokens).
    #[schema(ignore)]
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

    /// Whether a reviewer approved or rejected it (the workflow follows that decision).
    pub fn is_decided(&self) -> bool {
        matches!(self.status, ReviewStatus::Approved | ReviewStatus::Rejected)
    }

    /// Closes a pending review the workflow moved past: `Escalated` when its deadline passed,
    /// `Expired` when the escalated one's did, `Cancelled` when the onboarding ended. Answers
    /// whether anything changed.
    pub fn close(&mut self, status: ReviewStatus, now: OffsetDateTime) -> bool {
        if self.status != ReviewStatus::Pending || status == ReviewStatus::Pending {
            return false;
        }
        self.status = status;
        self.decided_at = Some(now);
        true
    }
}

/// A message waiting in the outbox for the mailer. It names the client, never their address:
/// the mailer resolves it when it sends, so addresses stay out of the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub id: String,
    pub client_id: String,
    pub template: String,
    pub channel: String,
    pub data: serde_json::Value,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// What KYC needs to know about a client beyond their contact details.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KycProfile {
    pub client_type: ClientType,
    /// Corporate clients only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_names: Option<String>,
    /// Individuals only.
    #[serde(
        default,
        with = "crate::kyc::model::subject::iso_date::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub date_of_birth: Option<time::Date>,
    pub nationality: String,
    pub residence_country: String,
    /// Where the client lives (for a company: its registered address), in `residence_country`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    pub source_of_funds: SourceOfFunds,
    pub pep_declared: bool,
}

/// A postal address in the profile's residence country.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Address {
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
}

/// Metadata of an identity or company document the client supplied. The image itself lives
/// with the KYC provider. The client record (and so its audit events) keeps the number masked
/// ([`mask_number`]); the full number, which only the KYC provider is sent, is kept apart from
/// every audited record (`repo::stage_document_number`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ClientDocument {
    pub id: String,
    #[serde(flatten)]
    pub document: DocumentRef,
    /// Where the file is kept (e.g. the provider's file id or an object key), never the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_ref: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub added_at: OffsetDateTime,
}

/// A document number as logs, audit events, the stored client and the API show it: the last
/// three characters (the kernel's rule of what audit events may hold).
pub use brokeros_kernel::audit::personal_data::mask as mask_number;

/// The KYC subject for a client applying for `product`: their profile, names and documents,
/// with each document's full number from `numbers` (by document id; a document stored before
/// numbers were kept apart has its number on the record).
pub fn kyc_subject(
    client: &Client,
    product: &str,
    numbers: &BTreeMap<String, String>,
) -> Result<KycSubject> {
    let profile = client.profile.as_ref().ok_or_else(|| {
        Error::conflict(
            "profile_incomplete",
            "the client has no KYC profile yet (PUT /clients/{id}/profile)",
        )
    })?;
    let name = match profile.client_type {
        ClientType::Individual => SubjectName::Person {
            first_name: client.first_name.clone(),
            middle_names: profile.middle_names.clone(),
            last_name: client.last_name.clone().unwrap_or_default(),
        },
        ClientType::Corporate => SubjectName::Company {
            company_name: profile.company_name.clone().unwrap_or_default(),
        },
    };
    Ok(KycSubject {
        client_id: client.id.clone(),
        client_type: profile.client_type,
        name,
        date_of_birth: profile.date_of_birth,
        nationality: profile.nationality.clone(),
        residence_country: profile.residence_country.clone(),
        source_of_funds: profile.source_of_funds,
        pep_declared: profile.pep_declared,
        product: product.to_string(),
        documents: client
            .documents
            .iter()
            .map(|d| DocumentRef {
                number: numbers
                    .get(&d.id)
                    .cloned()
                    .unwrap_or_else(|| d.document.number.clone()),
                ..d.document.clone()
            })
            .collect(),
    })
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
        assert!(
            first
                .authorize_decision(&principal(Role::Compliance))
                .is_ok()
        );
        assert!(first.authorize_decision(&principal(Role::Admin)).is_err());
        assert!(first.authorize_decision(&principal(Role::Sales)).is_err());
        let escalated = review(ReviewLevel::Escalated);
        assert!(
            escalated
                .authorize_decision(&principal(Role::Admin))
                .is_ok()
        );
        assert!(
            escalated
                .authorize_decision(&principal(Role::Finance))
                .is_err()
        );
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
            trigger: None,
            execution_arn: None,
            kyc_check_id: None,
            kyc_result_token: None,
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

    fn client() -> Client {
        let contact = Contact {
            first_name: "Ann".into(),
            last_name: Some("Lee".into()),
            email: None,
            phone: None,
            country: "DE".into(),
            language: None,
            referral_code: None,
        };
        Client::registered(
            "client_1".into(),
            "brand".into(),
            contact,
            "sales-1".into(),
            OffsetDateTime::UNIX_EPOCH,
        )
    }

    #[test]
    fn money_follows_the_kyc_standing_and_a_voided_approval() {
        let mut c = client();
        // Never approved: refused by the withdrawal's own checks, not at the request.
        assert_eq!(c.withdrawal_rule(), WithdrawalRule::Blocked);
        assert!(c.check_withdrawal_request().is_ok());
        assert_eq!(c.deposit_rule(), DepositRule::Blocked);
        c.kyc_status = KycStatus::Approved;
        assert_eq!(c.withdrawal_rule(), WithdrawalRule::Allowed);
        assert_eq!(c.deposit_rule(), DepositRule::Allowed);
        c.kyc_status = KycStatus::Pending;
        c.reverification = Some(Reverification {
            fields: BTreeSet::from([ProfileField::Address]),
            onboarding_id: Some("onb_2".into()),
            while_reverifying: MoneyRules::HOLD,
            since: OffsetDateTime::UNIX_EPOCH,
        });
        assert_eq!(c.withdrawal_rule(), WithdrawalRule::Blocked);
        let refused = c.check_withdrawal_request().unwrap_err();
        assert_eq!(refused.code(), "withdrawals_blocked");
        assert!(refused.to_string().contains("address"), "{refused}");
        assert_eq!(c.deposit_rule(), DepositRule::Held);
        c.reverification.as_mut().unwrap().while_reverifying = MoneyRules::OPEN;
        assert!(c.check_withdrawal_request().is_ok());
        assert_eq!(c.deposit_rule(), DepositRule::Allowed);
        // The re-verification did not approve: nothing moves, whatever its rules said.
        c.kyc_status = KycStatus::Rejected;
        assert!(c.check_withdrawal_request().is_err());
        assert_eq!(c.deposit_rule(), DepositRule::Blocked);
    }

    #[test]
    fn the_kyc_fields_a_change_touches_are_named() {
        let mut before = client();
        before.profile = Some(KycProfile {
            client_type: ClientType::Individual,
            company_name: None,
            middle_names: Some(String::new()),
            date_of_birth: Some(time::macros::date!(1990 - 01 - 15)),
            nationality: "DE".into(),
            residence_country: "DE".into(),
            address: None,
            source_of_funds: SourceOfFunds::Salary,
            pep_declared: false,
        });
        let mut after = before.clone();
        assert!(before.kyc_fields_changed(&after).is_empty());
        let profile = after.profile.as_mut().unwrap();
        profile.middle_names = None;
        profile.pep_declared = true;
        profile.residence_country = "AT".into();
        after.last_name = Some("Berg".into());
        assert_eq!(
            before.kyc_fields_changed(&after),
            BTreeSet::from([
                ProfileField::LastName,
                ProfileField::ResidenceCountry,
                ProfileField::PepDeclared
            ])
        );
    }

    #[test]
    fn contact_data_is_normalized_under_each_requests_rules() {
        let lead = ContactRules {
            referral_code_max: 32,
            reachable: true,
        };
        let registration = ContactRules {
            referral_code_max: 40,
            reachable: false,
        };
        let contact = Contact {
            first_name: " Ann ".into(),
            last_name: Some("  ".into()),
            email: None,
            phone: Some("020 7946 0958".into()),
            country: "gb".into(),
            language: Some("PT_br".into()),
            referral_code: Some("IB-7".into()),
        };
        let normalized = contact.clone().normalized(lead).unwrap();
        assert_eq!(normalized.first_name, "Ann");
        assert_eq!(normalized.last_name, None);
        assert_eq!(normalized.phone.as_deref(), Some("+442079460958"));
        assert_eq!(normalized.country, "GB");
        assert_eq!(normalized.language.as_deref(), Some("pt-BR"));
        let unreachable = Contact {
            phone: None,
            ..contact.clone()
        };
        let e = unreachable.clone().normalized(lead).unwrap_err();
        assert_eq!(
            (e.code(), e.body().field.as_deref()),
            ("required", Some("email"))
        );
        assert!(unreachable.normalized(registration).is_ok());
        let long_code = Contact {
            referral_code: Some("R".repeat(40)),
            ..contact
        };
        let e = long_code.clone().normalized(lead).unwrap_err();
        assert_eq!(e.body().field.as_deref(), Some("referral_code"));
        assert!(long_code.normalized(registration).is_ok());
    }
}

/// A client: who they are, how to reach them, their KYC standing and profile, documents and
/// trading accounts. Created by registration or from a converted lead (CRM).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Client {
    pub id: String,
    pub brand: String,
    /// The portal identity (token `sub`) that may read this client's records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub first_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    pub country: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referral_code: Option<String>,
    /// The lead the client was converted from; none for a direct registration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead_id: Option<String>,
    pub account_manager: String,
    pub status: String,
    #[serde(default)]
    #[schema(required)]
    pub kyc_status: KycStatus,
    /// The onboarding running or last run for this client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onboarding_id: Option<String>,
    /// Set when a profile change voided the client's approval; cleared when KYC approves them
    /// again. Money follows its rules meanwhile ([`Client::withdrawal_rule`],
    /// [`Client::deposit_rule`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverification: Option<Reverification>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trading_accounts: Vec<AccountRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<KycProfile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<ClientDocument>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl Client {
    /// A new client, registered with `contact` and KYC not started: by registration, or from a
    /// converted lead (which then links the lead).
    pub fn registered(
        id: String,
        brand: String,
        contact: Contact,
        account_manager: String,
        now: OffsetDateTime,
    ) -> Client {
        Client {
            id,
            brand,
            user_id: None,
            first_name: contact.first_name,
            last_name: contact.last_name,
            email: contact.email,
            phone: contact.phone,
            country: contact.country,
            language: contact.language,
            referral_code: contact.referral_code,
            lead_id: None,
            account_manager,
            status: "registered".to_string(),
            kyc_status: KycStatus::NotStarted,
            onboarding_id: None,
            reverification: None,
            trading_accounts: Vec::new(),
            profile: None,
            documents: Vec::new(),
            created_at: now,
        }
    }

    /// The fields KYC relies on that differ between this client and `after` (the same client
    /// with a changed profile or names).
    pub fn kyc_fields_changed(&self, after: &Client) -> BTreeSet<ProfileField> {
        let mut changed = BTreeSet::new();
        let mut differs = |field: ProfileField, differ: bool| {
            if differ {
                changed.insert(field);
            }
        };
        differs(ProfileField::FirstName, self.first_name != after.first_name);
        differs(ProfileField::LastName, self.last_name != after.last_name);
        let (b, a) = (self.profile.as_ref(), after.profile.as_ref());
        let field = |p: Option<&KycProfile>, f: ProfileField| -> serde_json::Value {
            let Some(p) = p else {
                return serde_json::Value::Null;
            };
            match f {
                ProfileField::MiddleNames => {
                    serde_json::json!(p.middle_names.as_deref().filter(|m| !m.is_empty()))
                }
                ProfileField::CompanyName => serde_json::json!(p.company_name),
                ProfileField::DateOfBirth => {
                    serde_json::json!(p.date_of_birth.map(|d| d.to_string()))
                }
                ProfileField::Nationality => serde_json::json!(p.nationality),
                ProfileField::ResidenceCountry => serde_json::json!(p.residence_country),
                ProfileField::Address => serde_json::json!(p.address),
                ProfileField::PepDeclared => serde_json::json!(p.pep_declared),
                ProfileField::ClientType => serde_json::json!(p.client_type),
                ProfileField::SourceOfFunds => serde_json::json!(p.source_of_funds),
                ProfileField::FirstName | ProfileField::LastName => serde_json::Value::Null,
            }
        };
        for f in ProfileField::ALL {
            differs(f, field(b, f) != field(a, f));
        }
        changed
    }

    /// Whether the client may withdraw: approved, or being re-verified under rules that let
    /// withdrawals continue. A client whose approval a profile change voided and who was not
    /// approved again may not.
    pub fn withdrawal_rule(&self) -> WithdrawalRule {
        self.money_rules().withdrawals
    }

    /// What becomes of the client's deposits: allowed when approved, as the re-verification's
    /// rules say while one runs, refused otherwise.
    pub fn deposit_rule(&self) -> DepositRule {
        self.money_rules().deposits
    }

    fn money_rules(&self) -> MoneyRules {
        match (&self.reverification, self.kyc_status) {
            (_, KycStatus::Approved) => MoneyRules::OPEN,
            (Some(r), status) if status.is_verifying() => r.while_reverifying,
            _ => MoneyRules::FROZEN,
        }
    }

    /// Refuses a withdrawal request outright while a voided approval blocks withdrawals (a
    /// re-verification under way, or one that did not approve). A client never approved is
    /// left to the withdrawal's own checks, which refuse an unverified client.
    pub fn check_withdrawal_request(&self) -> Result<()> {
        match &self.reverification {
            Some(r) if self.withdrawal_rule() == WithdrawalRule::Blocked => {
                let fields: Vec<&str> = r.fields.iter().map(|f| f.as_str()).collect();
                Err(Error::conflict(
                    "withdrawals_blocked",
                    format!(
                        "withdrawals are blocked: the client's KYC approval no longer holds since a change of {} and is being re-verified (kyc status {})",
                        fields.join(", "),
                        self.kyc_status.as_str()
                    ),
                ))
            }
            _ => Ok(()),
        }
    }

    /// Records a trading account opened for the client, once.
    pub fn add_trading_account(&mut self, account: &AccountRef) {
        if !self
            .trading_accounts
            .iter()
            .any(|a| a.login == account.login)
        {
            self.trading_accounts.push(account.clone());
        }
    }
}

/// A client whose approval a profile change voided, until KYC approves them again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Reverification {
    /// The material fields whose change voided the approval.
    pub fields: BTreeSet<ProfileField>,
    /// The onboarding that re-verifies the client; none while the client must start one (a
    /// change of client type needs the new type's documents first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onboarding_id: Option<String>,
    /// What money may do meanwhile (the jurisdiction's rules when the change was made).
    pub while_reverifying: MoneyRules,
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
}

/// Who a person is and how to reach them, as a lead's submission (CRM) and a client's
/// registration both carry it: [`Contact::normalized`] checks and normalizes it for both.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    pub first_name: String,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// ISO 3166-1 alpha-2; phone numbers without a country code are read as of this country.
    pub country: String,
    pub language: Option<String>,
    /// An introducing broker's referral code.
    pub referral_code: Option<String>,
}

/// Where the requests that carry contact data differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContactRules {
    /// The longest referral code taken.
    pub referral_code_max: usize,
    /// Whether an email or a phone number is required.
    pub reachable: bool,
}

impl Contact {
    /// The contact data trimmed and normalized (country and phone in their codes, email in
    /// lower case; blank optional fields dropped), or the first field that is not valid.
    pub fn normalized(self, rules: ContactRules) -> Result<Contact> {
        use brokeros_kernel::normalize::{self, optional};
        let first_name = normalize::required_text("first_name", &self.first_name, 100)?;
        let last_name = optional(self.last_name, |v| normalize::text("last_name", v, 100))?;
        let country = normalize::country("country", &self.country)?;
        let email = optional(self.email, |v| normalize::email("email", v))?;
        let phone = optional(self.phone, |v| normalize::phone_e164("phone", v, &country))?;
        if rules.reachable && email.is_none() && phone.is_none() {
            return Err(Error::invalid(
                "required",
                "email",
                "an email or a phone number is required",
            ));
        }
        let language = optional(self.language, |v| normalize::language("language", v))?;
        let referral_code = optional(self.referral_code, |v| {
            normalize::code("referral_code", v, rules.referral_code_max)
        })?;
        Ok(Contact {
            first_name,
            last_name,
            email,
            phone,
            country,
            language,
            referral_code,
        })
    }
}
