//! Withdrawals: a client's request to take money out, governed from request to payout.
//!
//! The funds are reserved when the request is accepted; checks reject it or send it to its
//! approval process (the approvals context), which decides between auto-approval and people
//! under the withdrawal policy (`WithdrawalsConfig::approval_policy`: maker-checker, never by
//! the requester, and above a threshold by two different people, the second of a senior role);
//! the withdrawal follows the process's outcome. The payout settles the reservation; a
//! rejection, an expiry or a failed payout releases it. Each transition is refused from a state
//! it does not belong to, so a retried or late step cannot move money twice.

use std::collections::BTreeMap;
use utoipa::ToSchema;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::config::WithdrawalsConfig;
use brokeros_approvals::{
    Action, ApprovalProcess, NewProcess, ProcessStatus, ProcessType, Refusal, StartFacts, Subject,
};
use brokeros_kernel::money::Money;
use brokeros_kernel::principal::Role;
use brokeros_kernel::{Error, Result};
use brokeros_payments::model::PaymentMethod;

mod level;

pub use level::VerificationLevel;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WithdrawalStatus {
    /// Funds reserved; checks not run yet.
    Requested,
    /// Waiting for finance approval(s).
    AwaitingApproval,
    /// Approved (automatically or by people); payout not confirmed yet.
    Approved,
    /// Paid out and settled in the ledger.
    Paid,
    /// Refused by a check or an approver; reservation released.
    Rejected,
    /// No decision in time; reservation released.
    Expired,
    /// The provider refused or failed the payout; reservation released.
    PayoutFailed,
}

impl WithdrawalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            WithdrawalStatus::Requested => "requested",
            WithdrawalStatus::AwaitingApproval => "awaiting_approval",
            WithdrawalStatus::Approved => "approved",
            WithdrawalStatus::Paid => "paid",
            WithdrawalStatus::Rejected => "rejected",
            WithdrawalStatus::Expired => "expired",
            WithdrawalStatus::PayoutFailed => "payout_failed",
        }
    }

    /// Whether the reservation is still held.
    pub fn holds_funds(self) -> bool {
        matches!(
            self,
            WithdrawalStatus::Requested
                | WithdrawalStatus::AwaitingApproval
                | WithdrawalStatus::Approved
        )
    }
}

/// One approval of a withdrawal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = WithdrawalApproval)]
pub struct Approval {
    pub by: String,
    pub role: Role,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// What the approval process requires before a payout, as the withdrawal shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalRequirement {
    /// The auto-approval rules passed.
    None,
    /// One finance user (or admin), not the requester.
    One,
    /// Two different people, not the requester; the second one an admin (head of finance).
    Two,
}

impl ApprovalRequirement {
    /// What `process` requires, as it was started.
    pub fn of(process: &ApprovalProcess) -> ApprovalRequirement {
        match (process.status, process.rules.required.approvers) {
            (ProcessStatus::AutoApproved, _) => ApprovalRequirement::None,
            (_, 0 | 1) => ApprovalRequirement::One,
            _ => ApprovalRequirement::Two,
        }
    }
}

/// The id of withdrawal `withdrawal_id`'s approval process: derived, so a retried check can
/// never start two.
pub fn approval_id(withdrawal_id: &str) -> String {
    format!("withdrawal-{withdrawal_id}")
}

/// A refusal of a withdrawal's approval process, answered as withdrawals always have.
pub fn refused_decision(refusal: Refusal) -> Error {
    match refusal {
        Refusal::RoleNotAllowed {
            action: Action::Approve,
            ..
        } => Error::forbidden("only finance approves withdrawals"),
        Refusal::AlreadyApproved { .. } => {
            Error::forbidden("the second approval must come from another person")
        }
        Refusal::LastApproverRole { .. } => Error::forbidden(
            "above the threshold the second approval is an admin's (head of finance)",
        ),
        // The requester's refusal already reads "a withdrawal is never approved by the person
        // who requested it".
        other => other.into(),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Withdrawal {
    /// Chosen by the caller, so a retried request cannot withdraw twice.
    pub id: String,
    pub client_id: String,
    pub amount: Money,
    /// How the money leaves: one of the methods the client deposited with.
    pub method: PaymentMethod,
    /// Where it goes, masked (the full reference is kept apart from the audited record).
    pub destination: String,
    pub status: WithdrawalStatus,
    /// Who asked: the client themself or a staff member on their behalf.
    pub requested_by: String,
    #[schema(required)]
    pub requirement: Option<ApprovalRequirement>,
    #[serde(default)]
    #[schema(required)]
    pub approvals: Vec<Approval>,
    /// Why the checks decided as they did, or why it was refused.
    #[serde(default)]
    #[schema(required)]
    pub reasons: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payout_reference: Option<String>,
    /// The workflow's task token while it waits for approval. A bearer credential: never
    /// shown, and cleared from the record once the wait ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub approval_token: Option<String>,
    /// An unexpected workflow error recorded for finance (the error name only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub requested_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

fn refused(withdrawal: &Withdrawal, action: &str) -> Error {
    Error::conflict(
        "invalid_withdrawal_state",
        format!(
            "withdrawal {} is {}; it cannot be {action}",
            withdrawal.id,
            withdrawal.status.as_str()
        ),
    )
}

impl Withdrawal {
    /// What its approval process is asked for once the checks accepted it.
    pub fn approval_request(&self) -> NewProcess {
        NewProcess {
            id: approval_id(&self.id),
            process_type: ProcessType::WITHDRAWAL,
            subject: Subject {
                kind: "withdrawal".into(),
                id: self.id.clone(),
            },
            amount: Some(self.amount),
            requested_by: self.requested_by.clone(),
        }
    }

    /// Records what the checks and the approval process they started decided: paid out
    /// through `provider`, auto-approved or waiting for people, for the process's reasons.
    pub fn checked(
        &mut self,
        provider: String,
        process: &ApprovalProcess,
        now: OffsetDateTime,
    ) -> Result<()> {
        if self.status != WithdrawalStatus::Requested {
            return Err(refused(self, "checked"));
        }
        self.status = match process.status {
            ProcessStatus::AutoApproved => WithdrawalStatus::Approved,
            ProcessStatus::Pending => WithdrawalStatus::AwaitingApproval,
            other => {
                return Err(Error::Internal(format!(
                    "withdrawal {}: a new approval process is {other}",
                    self.id
                )));
            }
        };
        self.requirement = Some(ApprovalRequirement::of(process));
        self.reasons = process.reasons.clone();
        self.provider = Some(provider);
        self.updated_at = now;
        Ok(())
    }

    /// Parks the workflow's task token while the withdrawal waits for approval; a retried wait
    /// brings a new token, which replaces the old one.
    pub fn awaiting(&mut self, token: &str) -> Result<()> {
        if self.status != WithdrawalStatus::AwaitingApproval {
            return Err(refused(self, "waiting for approval"));
        }
        self.approval_token = Some(token.to_string());
        Ok(())
    }

    /// Refused unless the withdrawal waits for approval: what is checked before its approval
    /// process is asked.
    pub fn approvable(&self) -> Result<()> {
        if self.status != WithdrawalStatus::AwaitingApproval {
            return Err(refused(self, "approved"));
        }
        Ok(())
    }

    /// Follows its approval process once someone approved: the approvals as the process
    /// recorded them, and approved once the process is. Answers whether it now is.
    pub fn follow_approval(
        &mut self,
        process: &ApprovalProcess,
        now: OffsetDateTime,
    ) -> Result<bool> {
        self.approvable()?;
        self.approvals = process
            .approvers()
            .map(|d| Approval {
                by: d.by.clone(),
                role: d.role,
                at: d.at,
            })
            .collect();
        self.updated_at = now;
        if process.status.is_approved() {
            self.status = WithdrawalStatus::Approved;
            self.approval_token = None;
            return Ok(true);
        }
        Ok(false)
    }

    /// Refuses the withdrawal (a check, or an approver with a reason); the reservation is to be
    /// released in the same transaction.
    pub fn reject(&mut self, reason: String, now: OffsetDateTime) -> Result<()> {
        if !matches!(
            self.status,
            WithdrawalStatus::Requested | WithdrawalStatus::AwaitingApproval
        ) {
            return Err(refused(self, "rejected"));
        }
        self.status = WithdrawalStatus::Rejected;
        self.reasons.push(reason);
        self.approval_token = None;
        self.updated_at = now;
        Ok(())
    }

    /// Nobody decided in time.
    pub fn expire(&mut self, now: OffsetDateTime) -> Result<()> {
        if self.status != WithdrawalStatus::AwaitingApproval {
            return Err(refused(self, "expired"));
        }
        self.status = WithdrawalStatus::Expired;
        self.approval_token = None;
        self.updated_at = now;
        Ok(())
    }

    /// The provider paid out; the reservation is to be settled in the same transaction.
    pub fn paid(&mut self, provider: String, reference: String, now: OffsetDateTime) -> Result<()> {
        if self.status != WithdrawalStatus::Approved {
            return Err(refused(self, "paid"));
        }
        self.status = WithdrawalStatus::Paid;
        self.provider = Some(provider);
        self.payout_reference = Some(reference);
        self.updated_at = now;
        Ok(())
    }

    /// The payout failed for good; the reservation is to be released.
    pub fn payout_failed(&mut self, reason: String, now: OffsetDateTime) -> Result<()> {
        if self.status != WithdrawalStatus::Approved {
            return Err(refused(self, "marked failed"));
        }
        self.status = WithdrawalStatus::PayoutFailed;
        self.reasons.push(reason);
        self.updated_at = now;
        Ok(())
    }
}

/// A deposit the client made that was credited: where money may go back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositSource {
    pub method: PaymentMethod,
    pub provider: String,
    pub amount: Money,
    pub credited_at: OffsetDateTime,
}

/// An earlier withdrawal of the client, for the velocity rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarlierWithdrawal {
    pub amount: Money,
    pub status: WithdrawalStatus,
    pub requested_at: OffsetDateTime,
}

/// What the checks, and the auto-approval rule of the approval process they start, look at
/// besides the withdrawal itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckFacts {
    pub verification: VerificationLevel,
    /// The trading groups of the client's accounts (for the auto-approval rule).
    pub client_groups: Vec<String>,
    pub deposits: Vec<DepositSource>,
    /// The client's other withdrawals (any age; the rules pick their window).
    pub earlier: Vec<EarlierWithdrawal>,
    /// How many of the client's withdrawals were auto-approved today (UTC; for the
    /// auto-approval rule).
    pub auto_approved_today: u32,
}

impl CheckFacts {
    /// What the approval process starts with: these facts, and the checks that held the
    /// withdrawal for review.
    pub fn start_facts(&self, held_for_review: Vec<String>) -> StartFacts {
        StartFacts {
            client_groups: self.client_groups.clone(),
            auto_approved_today: self.auto_approved_today,
            held_for_review,
        }
    }
}

/// What the checks decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckDecision {
    /// Refused: the reservation is released.
    Reject { reason: String },
    /// Accepted, to be paid out through `provider` (the one the client deposited with by this
    /// method) once its approval process approves it; `held_for_review` names the checks that
    /// send it to finance whatever the auto-approval rule says.
    Accept {
        provider: String,
        held_for_review: Vec<String>,
    },
}

fn limit(limits: &BTreeMap<String, Decimal>, amount: Money) -> Option<Decimal> {
    limits.get(amount.currency().code).copied()
}

fn above(limits: &BTreeMap<String, Decimal>, amount: Money) -> Option<Decimal> {
    limit(limits, amount).filter(|l| amount.amount() > *l)
}

/// The withdrawal checks, in the order a compliance officer would apply them: the KYC level,
/// the hard AML limit, the closed loop (money goes back the way it came in), then what sends
/// it to finance whatever the auto-approval rule says (AML review threshold, missing enhanced
/// verification, velocity). The approval process decides the rest (the auto-approval rule, how
/// many approvers finance needs).
pub fn check(
    withdrawal: &Withdrawal,
    facts: &CheckFacts,
    rules: &WithdrawalsConfig,
    now: OffsetDateTime,
) -> CheckDecision {
    let amount = withdrawal.amount;
    let currency = amount.currency().code;
    if facts.verification < rules.kyc.required_level {
        return CheckDecision::Reject {
            reason: format!(
                "kyc: verification level {} is below the required {}",
                facts.verification.as_str(),
                rules.kyc.required_level.as_str()
            ),
        };
    }
    if let Some(l) = above(&rules.aml.reject_above, amount) {
        return CheckDecision::Reject {
            reason: format!("aml: {amount} is above the limit of {l} {currency}"),
        };
    }
    // The newest credited deposit by this method and currency decides the provider, so the
    // payout goes back through the channel the money came in by.
    let source = facts
        .deposits
        .iter()
        .filter(|d| d.method == withdrawal.method && d.amount.currency() == amount.currency())
        .max_by_key(|d| d.credited_at);
    let Some(source) = source else {
        return CheckDecision::Reject {
            reason: format!(
                "deposit_method: the client has no credited {} deposit in {currency}; withdrawals go back the way money came in",
                withdrawal.method.as_str()
            ),
        };
    };

    let mut review = Vec::new();
    if let Some(l) = above(&rules.aml.review_above, amount) {
        review.push(format!(
            "aml: {amount} is above the review threshold of {l} {currency}"
        ));
    }
    if facts.verification < VerificationLevel::Enhanced
        && let Some(l) = above(&rules.kyc.enhanced_above, amount)
    {
        review.push(format!(
            "kyc: above {l} {currency} enhanced verification (proof of funds) is needed"
        ));
    }
    let window_start = now
        - time::Duration::seconds(rules.aml.velocity_window_seconds.min(i64::MAX as u64) as i64);
    let recent: Vec<&EarlierWithdrawal> = facts
        .earlier
        .iter()
        .filter(|w| w.requested_at >= window_start)
        .collect();
    if recent.len() >= rules.aml.velocity_max_count as usize {
        review.push(format!(
            "aml: velocity, {} withdrawals in the last {} s",
            recent.len(),
            rules.aml.velocity_window_seconds
        ));
    }
    let recent_total: Decimal = recent
        .iter()
        .filter(|w| {
            w.amount.currency() == amount.currency()
                && !matches!(
                    w.status,
                    WithdrawalStatus::Rejected | WithdrawalStatus::Expired
                )
        })
        .map(|w| w.amount.amount())
        .sum::<Decimal>()
        + amount.amount();
    if let Some(l) = limit(&rules.aml.velocity_max_amount, amount)
        && recent_total > l
    {
        review.push(format!(
            "aml: velocity, {recent_total} {currency} withdrawn in the window is above {l} {currency}"
        ));
    }

    CheckDecision::Accept {
        provider: source.provider.clone(),
        held_for_review: review,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use brokeros_approvals::PolicySet;
    use brokeros_kernel::money::Money;
    use brokeros_kernel::principal::Principal;
    use rust_decimal::Decimal;
    use std::collections::BTreeSet;

    fn person(sub: &str, roles: &[Role]) -> Principal {
        Principal {
            sub: sub.into(),
            roles: roles.iter().copied().collect::<BTreeSet<_>>(),
        }
    }

    /// The approval policies as the composition builds them from `rules`.
    fn policies(rules: &WithdrawalsConfig) -> PolicySet {
        PolicySet::new(
            1,
            BTreeMap::from([(ProcessType::WITHDRAWAL, rules.approval_policy())]),
        )
        .unwrap()
    }

    /// `w` checked as the check step does once the checks accepted it: its approval process
    /// started with `facts` and what held it for review.
    fn start(
        w: &mut Withdrawal,
        facts: &CheckFacts,
        held_for_review: Vec<String>,
        rules: &WithdrawalsConfig,
        now: OffsetDateTime,
    ) -> ApprovalProcess {
        let started = ApprovalProcess::start(
            w.approval_request(),
            &policies(rules),
            &facts.start_facts(held_for_review),
            now,
        )
        .unwrap();
        w.checked("bank-sim".into(), &started.process, now).unwrap();
        started.process
    }

    /// A withdrawal of the default rules' client, checked and needing `requirement`, with its
    /// approval process.
    fn withdrawal(requirement: ApprovalRequirement) -> (Withdrawal, ApprovalProcess) {
        let now = OffsetDateTime::UNIX_EPOCH;
        let (cents, held) = match requirement {
            ApprovalRequirement::None => (50_000, vec![]),
            ApprovalRequirement::One => (250_000, vec!["above auto-approval limit".into()]),
            ApprovalRequirement::Two => (2_500_000, vec!["above auto-approval limit".into()]),
        };
        let mut w = Withdrawal {
            id: "wd-1".into(),
            client_id: "client-1".into(),
            amount: usd(cents),
            method: PaymentMethod::BankTransfer,
            destination: "DE89****3000".into(),
            status: WithdrawalStatus::Requested,
            requested_by: "finance-1".into(),
            requirement: None,
            approvals: vec![],
            reasons: vec![],
            provider: None,
            payout_reference: None,
            approval_token: None,
            failure: None,
            requested_at: now,
            updated_at: now,
        };
        let p = start(&mut w, &facts(), held, &rules(), now);
        assert_eq!(w.requirement, Some(requirement));
        (w, p)
    }

    /// An approval as the API decides it: the withdrawal's state, its approval process, then
    /// the withdrawal follows the process.
    fn approve(
        w: &mut Withdrawal,
        p: &mut ApprovalProcess,
        who: &Principal,
        now: OffsetDateTime,
    ) -> Result<bool> {
        w.approvable()?;
        p.approve(who, now).map_err(refused_decision)?;
        w.follow_approval(p, now)
    }

    #[test]
    fn the_requester_never_approves_their_own_withdrawal() {
        let (mut w, mut p) = withdrawal(ApprovalRequirement::One);
        let now = OffsetDateTime::UNIX_EPOCH;
        let maker = person("finance-1", &[Role::Finance]);
        let err = approve(&mut w, &mut p, &maker, now).unwrap_err();
        assert!(matches!(err, Error::Forbidden { .. }));
        assert_eq!(
            err.to_string(),
            "a withdrawal is never approved by the person who requested it"
        );
        assert!(w.approvals.is_empty());
        assert_eq!(w.status, WithdrawalStatus::AwaitingApproval);
        let checker = person("finance-2", &[Role::Finance]);
        assert!(approve(&mut w, &mut p, &checker, now).unwrap());
        assert_eq!(w.status, WithdrawalStatus::Approved);
    }

    #[test]
    fn two_approvals_need_two_people_and_an_admin_second() {
        let (mut w, mut p) = withdrawal(ApprovalRequirement::Two);
        let now = OffsetDateTime::UNIX_EPOCH;
        let first = person("finance-2", &[Role::Finance]);
        assert!(!approve(&mut w, &mut p, &first, now).unwrap());
        let err = approve(&mut w, &mut p, &first, now).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the second approval must come from another person",
            "the same person twice"
        );
        let other_finance = person("finance-3", &[Role::Finance]);
        let err = approve(&mut w, &mut p, &other_finance, now).unwrap_err();
        assert_eq!(
            err.to_string(),
            "above the threshold the second approval is an admin's (head of finance)",
            "second must be admin"
        );
        assert_eq!(w.approvals.len(), 1);
        let head = person("admin-1", &[Role::Admin]);
        assert!(approve(&mut w, &mut p, &head, now).unwrap());
        assert_eq!(w.status, WithdrawalStatus::Approved);
        assert_eq!(w.approvals[1].role, Role::Admin);
        assert_eq!(w.approvals[0].by, "finance-2");
    }

    #[test]
    fn other_roles_cannot_approve_and_closed_withdrawals_stay_closed() {
        let (mut w, mut p) = withdrawal(ApprovalRequirement::One);
        let now = OffsetDateTime::UNIX_EPOCH;
        for role in [Role::Client, Role::Sales, Role::Compliance, Role::Ib] {
            let err = approve(&mut w, &mut p, &person("x", &[role]), now).unwrap_err();
            assert_eq!(err.to_string(), "only finance approves withdrawals");
        }
        w.reject("destination not verified".into(), now).unwrap();
        assert!(!w.status.holds_funds());
        let err = approve(&mut w, &mut p, &person("finance-2", &[Role::Finance]), now);
        assert_eq!(err.unwrap_err().code(), "invalid_withdrawal_state");
        assert!(w.reject("again".into(), now).is_err());
        assert!(w.paid("psp".into(), "ref".into(), now).is_err());
    }

    #[test]
    fn payout_only_after_approval_and_once() {
        let (mut w, _) = withdrawal(ApprovalRequirement::None);
        let now = OffsetDateTime::UNIX_EPOCH;
        assert_eq!(w.status, WithdrawalStatus::Approved);
        assert!(w.status.holds_funds());
        w.paid("bank-sim".into(), "PAY-1".into(), now).unwrap();
        assert_eq!(w.status, WithdrawalStatus::Paid);
        assert!(!w.status.holds_funds());
        assert!(w.paid("bank-sim".into(), "PAY-2".into(), now).is_err());
        assert!(w.payout_failed("late".into(), now).is_err());
        assert_eq!(w.payout_reference.as_deref(), Some("PAY-1"));
    }

    fn usd(cents: i64) -> Money {
        Money::positive(
            "amount",
            Decimal::new(cents, 2),
            brokeros_kernel::money::USD,
        )
        .unwrap()
    }

    fn requested(cents: i64, method: PaymentMethod) -> Withdrawal {
        let (mut w, _) = withdrawal(ApprovalRequirement::None);
        w.status = WithdrawalStatus::Requested;
        w.requirement = None;
        w.reasons.clear();
        w.provider = None;
        w.amount = usd(cents);
        w.method = method;
        w
    }

    fn facts() -> CheckFacts {
        CheckFacts {
            verification: VerificationLevel::Basic,
            client_groups: vec!["real\\retail-usd".into()],
            deposits: vec![
                DepositSource {
                    method: PaymentMethod::Card,
                    provider: "old-acquirer".into(),
                    amount: usd(50_000),
                    credited_at: OffsetDateTime::UNIX_EPOCH,
                },
                DepositSource {
                    method: PaymentMethod::Card,
                    provider: "cardpay-eu".into(),
                    amount: usd(50_000),
                    credited_at: OffsetDateTime::UNIX_EPOCH + time::Duration::hours(1),
                },
            ],
            earlier: vec![],
            auto_approved_today: 0,
        }
    }

    fn rules() -> WithdrawalsConfig {
        WithdrawalsConfig::embedded_default()
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + time::Duration::days(2)
    }

    /// `w` checked under `rules`: accepted, and what its approval process started with
    /// requires, paid out through which provider, for which reasons.
    fn accepted(
        w: &Withdrawal,
        facts: &CheckFacts,
        rules: &WithdrawalsConfig,
        now: OffsetDateTime,
    ) -> (ApprovalRequirement, String, Vec<String>) {
        match check(w, facts, rules, now) {
            CheckDecision::Accept {
                provider,
                held_for_review,
            } => {
                let mut w = w.clone();
                start(&mut w, facts, held_for_review, rules, now);
                (w.requirement.unwrap(), provider, w.reasons)
            }
            other => panic!("expected acceptance, got {other:?}"),
        }
    }

    fn rejection(decision: CheckDecision) -> String {
        match decision {
            CheckDecision::Reject { reason } => reason,
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    #[test]
    fn a_small_withdrawal_of_a_verified_retail_client_is_auto_approved_to_the_newest_provider() {
        let (requirement, provider, _) = accepted(
            &requested(50_000, PaymentMethod::Card),
            &facts(),
            &rules(),
            now(),
        );
        assert_eq!(requirement, ApprovalRequirement::None);
        assert_eq!(provider, "cardpay-eu");
    }

    #[test]
    fn kyc_below_the_required_level_or_another_method_is_rejected() {
        let mut unverified = facts();
        unverified.verification = VerificationLevel::None;
        let reason = rejection(check(
            &requested(100, PaymentMethod::Card),
            &unverified,
            &rules(),
            now(),
        ));
        assert!(reason.starts_with("kyc:"), "{reason}");
        let reason = rejection(check(
            &requested(100, PaymentMethod::Crypto),
            &facts(),
            &rules(),
            now(),
        ));
        assert!(reason.starts_with("deposit_method:"), "{reason}");
        let reason = rejection(check(
            &requested(30_000_000, PaymentMethod::Card),
            &facts(),
            &rules(),
            now(),
        ));
        assert!(reason.starts_with("aml:"), "{reason}");
    }

    #[test]
    fn thresholds_velocity_and_the_daily_count_route_to_finance() {
        let rules = rules();
        // Above the auto-approval limit: one approver.
        let (requirement, _, reasons) = accepted(
            &requested(100_001, PaymentMethod::Card),
            &facts(),
            &rules,
            now(),
        );
        assert_eq!(requirement, ApprovalRequirement::One, "{reasons:?}");
        // Above the second-approver threshold (and the AML review one, and enhanced KYC): two.
        let (requirement, _, reasons) = accepted(
            &requested(1_000_001, PaymentMethod::Card),
            &facts(),
            &rules,
            now(),
        );
        assert_eq!(requirement, ApprovalRequirement::Two);
        assert!(reasons.iter().any(|r| r.contains("review threshold")));
        assert!(reasons.iter().any(|r| r.contains("enhanced verification")));
        // The daily auto-approval count is used up.
        let mut used = facts();
        used.auto_approved_today = rules.auto_approval.max_per_day;
        let (requirement, _, _) =
            accepted(&requested(100, PaymentMethod::Card), &used, &rules, now());
        assert_eq!(requirement, ApprovalRequirement::One);
        // Velocity by count: only withdrawals inside the window count.
        let mut busy = facts();
        let earlier = |hours_ago: i64, status| EarlierWithdrawal {
            amount: usd(100),
            status,
            requested_at: now() - time::Duration::hours(hours_ago),
        };
        busy.earlier = (0..5)
            .map(|_| earlier(30, WithdrawalStatus::Paid))
            .collect();
        let (requirement, _, _) =
            accepted(&requested(100, PaymentMethod::Card), &busy, &rules, now());
        assert_eq!(requirement, ApprovalRequirement::None, "outside the window");
        busy.earlier = (0..5).map(|_| earlier(1, WithdrawalStatus::Paid)).collect();
        let (requirement, _, reasons) =
            accepted(&requested(100, PaymentMethod::Card), &busy, &rules, now());
        assert_eq!(requirement, ApprovalRequirement::One);
        assert!(
            reasons.iter().any(|r| r.contains("velocity")),
            "{reasons:?}"
        );
        // A group that is not auto-approved.
        let mut vip = facts();
        vip.client_groups = vec!["real\\vip-usd".into()];
        let (requirement, _, _) =
            accepted(&requested(100, PaymentMethod::Card), &vip, &rules, now());
        assert_eq!(requirement, ApprovalRequirement::One);
    }

    #[test]
    fn velocity_by_amount_counts_only_money_that_left_or_is_leaving() {
        let rules = rules();
        let mut f = facts();
        let big = |status| EarlierWithdrawal {
            amount: usd(1_000_000),
            status,
            requested_at: now() - time::Duration::hours(1),
        };
        f.earlier = vec![
            big(WithdrawalStatus::Rejected),
            big(WithdrawalStatus::Expired),
        ];
        let (requirement, _, _) = accepted(&requested(100, PaymentMethod::Card), &f, &rules, now());
        assert_eq!(requirement, ApprovalRequirement::None);
        f.earlier = vec![big(WithdrawalStatus::Paid), big(WithdrawalStatus::Approved)];
        let (requirement, _, reasons) =
            accepted(&requested(100, PaymentMethod::Card), &f, &rules, now());
        assert_eq!(requirement, ApprovalRequirement::One);
        assert!(
            reasons
                .iter()
                .any(|r| r.contains("withdrawn in the window"))
        );
    }

    #[test]
    fn a_decision_sets_the_provider_and_the_token_leaves_with_the_wait() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let mut w = requested(100, PaymentMethod::Card);
        let held = vec!["aml: velocity".to_string()];
        let mut p = start(&mut w, &facts(), held, &rules(), now);
        assert_eq!(w.provider.as_deref(), Some("bank-sim"));
        assert_eq!(w.requirement, Some(ApprovalRequirement::One));
        assert_eq!(w.reasons, p.reasons);
        w.awaiting("token-1").unwrap();
        assert!(
            w.checked("bank-sim".into(), &p, now).is_err(),
            "checked twice"
        );
        let checker = person("finance-2", &[Role::Finance]);
        assert!(approve(&mut w, &mut p, &checker, now).unwrap());
        assert_eq!(w.approval_token, None);
        assert!(w.awaiting("token-2").is_err());
    }

    #[test]
    fn the_default_withdrawal_rules_make_a_valid_policy() {
        let config = rules();
        let policy = config.approval_policy();
        policy.validate("policies.withdrawal").unwrap();
        assert_eq!(policy.approvers, 1);
        assert_eq!(policy.tiers[0].above, config.second_approval_above);
        assert_eq!(policy.tiers[0].last_approver_role, Some(Role::Admin));
        assert!(!policy.requester_may_approve && policy.requester_may_reject);
        assert_eq!(policy.decision_timeout_seconds, Some(172_800));
        let mut blank = rules();
        blank.auto_approval.client_groups.push(" ".into());
        assert!(
            blank.validate().is_err(),
            "not a policy approvals can follow"
        );
    }

    #[test]
    fn withdrawal_rules_with_unknown_currencies_or_odd_amounts_are_refused() {
        let mut config = WithdrawalsConfig::embedded_default();
        assert!(config.validate().is_ok());
        config
            .second_approval_above
            .insert("XYZ".into(), Decimal::new(100, 0));
        assert!(config.validate().is_err(), "unknown currency");
        let mut config = WithdrawalsConfig::embedded_default();
        config
            .aml
            .review_above
            .insert("USD".into(), Decimal::new(1_001, 3));
        assert!(config.validate().is_err(), "more decimals than USD has");
        let mut config = WithdrawalsConfig::embedded_default();
        config.approval_timeout_seconds = 0;
        assert!(config.validate().is_err());
    }
}
