//! Withdrawals: a client's request to take money out, governed from request to payout.
//!
//! The funds are reserved when the request is accepted; checks decide between auto-approval,
//! manual approval and rejection; manual approval is maker-checker (never by the requester, and
//! above a threshold by two different people, the second of a senior role); the payout settles
//! the reservation; a rejection, an expiry or a failed payout releases it. Each transition is
//! refused from a state it does not belong to, so a retried or late step cannot move money twice.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::config::WithdrawalsConfig;
use brokeros_kernel::money::Money;
use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::{Error, Result};
use brokeros_onboarding::kyc::model::DocumentType;
use brokeros_onboarding::model::Client;
use brokeros_onboarding::model::KycStatus;
use brokeros_payments::model::PaymentMethod;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub by: String,
    pub role: Role,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// What the checks require before a payout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalRequirement {
    /// The auto-approval rules passed.
    None,
    /// One finance user (or admin), not the requester.
    One,
    /// Two different people, not the requester; the second one an admin (head of finance).
    Two,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    pub requirement: Option<ApprovalRequirement>,
    #[serde(default)]
    pub approvals: Vec<Approval>,
    /// Why the checks decided as they did, or why it was refused.
    #[serde(default)]
    pub reasons: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payout_reference: Option<String>,
    /// The workflow's task token while it waits for approval. A bearer credential: never
    /// shown, and cleared from the record once the wait ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
    /// Records what the checks decided: auto-approved, waiting for people, or rejected.
    pub fn checked(
        &mut self,
        requirement: ApprovalRequirement,
        reasons: Vec<String>,
        now: OffsetDateTime,
    ) -> Result<()> {
        if self.status != WithdrawalStatus::Requested {
            return Err(refused(self, "checked"));
        }
        self.requirement = Some(requirement);
        self.reasons = reasons;
        self.status = match requirement {
            ApprovalRequirement::None => WithdrawalStatus::Approved,
            _ => WithdrawalStatus::AwaitingApproval,
        };
        self.updated_at = now;
        Ok(())
    }

    /// Records what [`check`] decided: refused, or accepted with its approval requirement and
    /// the provider that will pay it out.
    pub fn decided(&mut self, decision: &CheckDecision, now: OffsetDateTime) -> Result<()> {
        match decision {
            CheckDecision::Reject { reason } => self.reject(reason.clone(), now),
            CheckDecision::Accept {
                requirement,
                provider,
                reasons,
            } => {
                self.checked(*requirement, reasons.clone(), now)?;
                self.provider = Some(provider.clone());
                Ok(())
            }
        }
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

    /// Adds `principal`'s approval. Answers whether the withdrawal is now fully approved.
    ///
    /// Maker-checker: the requester never approves their own withdrawal, nobody approves twice,
    /// approvers are finance or admin, and where two approvals are required the second one
    /// is an admin's.
    pub fn approve(&mut self, principal: &Principal, now: OffsetDateTime) -> Result<bool> {
        if self.status != WithdrawalStatus::AwaitingApproval {
            return Err(refused(self, "approved"));
        }
        if !principal.has_any(&[Role::Finance, Role::Admin]) {
            return Err(Error::forbidden("only finance approves withdrawals"));
        }
        if principal.sub == self.requested_by {
            return Err(Error::forbidden(
                "a withdrawal is never approved by the person who requested it",
            ));
        }
        if self.approvals.iter().any(|a| a.by == principal.sub) {
            return Err(Error::forbidden(
                "the second approval must come from another person",
            ));
        }
        let required = match self.requirement {
            Some(ApprovalRequirement::Two) => 2,
            _ => 1,
        };
        let second = self.approvals.len() + 1 == 2;
        if required == 2 && second && !principal.has(Role::Admin) {
            return Err(Error::forbidden(
                "above the threshold the second approval is an admin's (head of finance)",
            ));
        }
        let role = if principal.has(Role::Admin) && (second || !principal.has(Role::Finance)) {
            Role::Admin
        } else {
            Role::Finance
        };
        self.approvals.push(Approval {
            by: principal.sub.clone(),
            role,
            at: now,
        });
        self.updated_at = now;
        if self.approvals.len() >= required {
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

/// How far a client's identity is verified, as the withdrawal rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerificationLevel {
    /// KYC not approved (never, not yet, or no longer).
    None,
    /// KYC approved.
    Basic,
    /// KYC approved and proof of funds on file.
    Enhanced,
}

impl VerificationLevel {
    pub fn of(client: &Client) -> VerificationLevel {
        if client.kyc_status != KycStatus::Approved {
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

/// What the checks look at besides the withdrawal itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckFacts {
    pub verification: VerificationLevel,
    /// The trading groups of the client's accounts.
    pub client_groups: Vec<String>,
    pub deposits: Vec<DepositSource>,
    /// The client's other withdrawals (any age; the rules pick their window).
    pub earlier: Vec<EarlierWithdrawal>,
    /// How many of the client's withdrawals were auto-approved today (UTC).
    pub auto_approved_today: u32,
}

/// What the checks decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckDecision {
    /// Refused: the reservation is released.
    Reject { reason: String },
    /// Accepted, with what approval it needs, paid out through `provider` (the one the client
    /// deposited with by this method).
    Accept {
        requirement: ApprovalRequirement,
        provider: String,
        reasons: Vec<String>,
    },
}

fn limit(limits: &BTreeMap<String, Decimal>, amount: Money) -> Option<Decimal> {
    limits.get(amount.currency().code).copied()
}

fn above(limits: &BTreeMap<String, Decimal>, amount: Money) -> Option<Decimal> {
    limit(limits, amount).filter(|l| amount.amount() > *l)
}

/// The withdrawal checks, in the order a compliance officer would apply them: the KYC level,
/// the hard AML limit, the closed loop (money goes back the way it came in), then what decides
/// between auto-approval and finance (AML review threshold, missing enhanced verification,
/// velocity, the auto-approval rules), and how many approvers finance needs.
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

    let auto = &rules.auto_approval;
    let mut manual = review;
    if manual.is_empty() {
        if !facts
            .client_groups
            .iter()
            .any(|g| auto.client_groups.contains(g))
        {
            manual.push("auto_approval: the client's group is not auto-approved".into());
        }
        match limit(&auto.max_amount, amount) {
            None => manual.push(format!("auto_approval: no limit for {currency}")),
            Some(l) if amount.amount() > l => manual.push(format!(
                "auto_approval: {amount} is above the limit of {l} {currency}"
            )),
            Some(_) => {}
        }
        if facts.auto_approved_today >= auto.max_per_day {
            manual.push(format!(
                "auto_approval: {} auto-approved today already",
                facts.auto_approved_today
            ));
        }
    }
    let provider = source.provider.clone();
    if manual.is_empty() {
        return CheckDecision::Accept {
            requirement: ApprovalRequirement::None,
            provider,
            reasons: vec![format!(
                "auto_approved: {} of {} today",
                facts.auto_approved_today + 1,
                auto.max_per_day
            )],
        };
    }
    let two = match limit(&rules.second_approval_above, amount) {
        Some(l) => amount.amount() > l,
        None => true,
    };
    let requirement = if two {
        manual.push("approval: above the second-approver threshold".into());
        ApprovalRequirement::Two
    } else {
        ApprovalRequirement::One
    };
    CheckDecision::Accept {
        requirement,
        provider,
        reasons: manual,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use brokeros_kernel::money::{Currency, Money};
    use rust_decimal::Decimal;
    use std::collections::BTreeSet;

    fn person(sub: &str, roles: &[Role]) -> Principal {
        Principal {
            sub: sub.into(),
            roles: roles.iter().copied().collect::<BTreeSet<_>>(),
        }
    }

    fn withdrawal(requirement: ApprovalRequirement) -> Withdrawal {
        let now = OffsetDateTime::UNIX_EPOCH;
        let mut w = Withdrawal {
            id: "wd-1".into(),
            client_id: "client-1".into(),
            amount: Money::positive(
                "amount",
                Decimal::new(250_000, 2),
                Currency::from_code("USD").unwrap(),
            )
            .unwrap(),
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
        w.checked(requirement, vec!["above auto-approval limit".into()], now)
            .unwrap();
        w
    }

    #[test]
    fn the_requester_never_approves_their_own_withdrawal() {
        let mut w = withdrawal(ApprovalRequirement::One);
        let maker = person("finance-1", &[Role::Finance]);
        let err = w.approve(&maker, OffsetDateTime::UNIX_EPOCH).unwrap_err();
        assert_eq!(err.http_status(), 403);
        assert!(w.approvals.is_empty());
        assert_eq!(w.status, WithdrawalStatus::AwaitingApproval);
        let checker = person("finance-2", &[Role::Finance]);
        assert!(w.approve(&checker, OffsetDateTime::UNIX_EPOCH).unwrap());
        assert_eq!(w.status, WithdrawalStatus::Approved);
    }

    #[test]
    fn two_approvals_need_two_people_and_an_admin_second() {
        let mut w = withdrawal(ApprovalRequirement::Two);
        let now = OffsetDateTime::UNIX_EPOCH;
        let first = person("finance-2", &[Role::Finance]);
        assert!(!w.approve(&first, now).unwrap());
        assert!(w.approve(&first, now).is_err(), "the same person twice");
        let other_finance = person("finance-3", &[Role::Finance]);
        assert!(
            w.approve(&other_finance, now).is_err(),
            "second must be admin"
        );
        assert_eq!(w.approvals.len(), 1);
        let head = person("admin-1", &[Role::Admin]);
        assert!(w.approve(&head, now).unwrap());
        assert_eq!(w.status, WithdrawalStatus::Approved);
        assert_eq!(w.approvals[1].role, Role::Admin);
    }

    #[test]
    fn other_roles_cannot_approve_and_closed_withdrawals_stay_closed() {
        let mut w = withdrawal(ApprovalRequirement::One);
        let now = OffsetDateTime::UNIX_EPOCH;
        for role in [Role::Client, Role::Sales, Role::Compliance, Role::Ib] {
            assert!(w.approve(&person("x", &[role]), now).is_err());
        }
        w.reject("destination not verified".into(), now).unwrap();
        assert!(!w.status.holds_funds());
        assert!(
            w.approve(&person("finance-2", &[Role::Finance]), now)
                .is_err()
        );
        assert!(w.reject("again".into(), now).is_err());
        assert!(w.paid("psp".into(), "ref".into(), now).is_err());
    }

    #[test]
    fn payout_only_after_approval_and_once() {
        let mut w = withdrawal(ApprovalRequirement::None);
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
        let mut w = withdrawal(ApprovalRequirement::None);
        w.status = WithdrawalStatus::Requested;
        w.requirement = None;
        w.reasons.clear();
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

    fn accepted(decision: CheckDecision) -> (ApprovalRequirement, String, Vec<String>) {
        match decision {
            CheckDecision::Accept {
                requirement,
                provider,
                reasons,
            } => (requirement, provider, reasons),
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
        let (requirement, provider, _) = accepted(check(
            &requested(50_000, PaymentMethod::Card),
            &facts(),
            &rules(),
            now(),
        ));
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
        let (requirement, _, reasons) = accepted(check(
            &requested(100_001, PaymentMethod::Card),
            &facts(),
            &rules,
            now(),
        ));
        assert_eq!(requirement, ApprovalRequirement::One, "{reasons:?}");
        // Above the second-approver threshold (and the AML review one, and enhanced KYC): two.
        let (requirement, _, reasons) = accepted(check(
            &requested(1_000_001, PaymentMethod::Card),
            &facts(),
            &rules,
            now(),
        ));
        assert_eq!(requirement, ApprovalRequirement::Two);
        assert!(reasons.iter().any(|r| r.contains("review threshold")));
        assert!(reasons.iter().any(|r| r.contains("enhanced verification")));
        // The daily auto-approval count is used up.
        let mut used = facts();
        used.auto_approved_today = rules.auto_approval.max_per_day;
        let (requirement, _, _) = accepted(check(
            &requested(100, PaymentMethod::Card),
            &used,
            &rules,
            now(),
        ));
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
        let (requirement, _, _) = accepted(check(
            &requested(100, PaymentMethod::Card),
            &busy,
            &rules,
            now(),
        ));
        assert_eq!(requirement, ApprovalRequirement::None, "outside the window");
        busy.earlier = (0..5).map(|_| earlier(1, WithdrawalStatus::Paid)).collect();
        let (requirement, _, reasons) = accepted(check(
            &requested(100, PaymentMethod::Card),
            &busy,
            &rules,
            now(),
        ));
        assert_eq!(requirement, ApprovalRequirement::One);
        assert!(
            reasons.iter().any(|r| r.contains("velocity")),
            "{reasons:?}"
        );
        // A group that is not auto-approved.
        let mut vip = facts();
        vip.client_groups = vec!["real\\vip-usd".into()];
        let (requirement, _, _) = accepted(check(
            &requested(100, PaymentMethod::Card),
            &vip,
            &rules,
            now(),
        ));
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
        let (requirement, _, _) = accepted(check(
            &requested(100, PaymentMethod::Card),
            &f,
            &rules,
            now(),
        ));
        assert_eq!(requirement, ApprovalRequirement::None);
        f.earlier = vec![big(WithdrawalStatus::Paid), big(WithdrawalStatus::Approved)];
        let (requirement, _, reasons) = accepted(check(
            &requested(100, PaymentMethod::Card),
            &f,
            &rules,
            now(),
        ));
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
        let decision = CheckDecision::Accept {
            requirement: ApprovalRequirement::One,
            provider: "cardpay-eu".into(),
            reasons: vec![],
        };
        w.decided(&decision, now).unwrap();
        assert_eq!(w.provider.as_deref(), Some("cardpay-eu"));
        w.awaiting("token-1").unwrap();
        assert!(w.decided(&decision, now).is_err(), "checked twice");
        assert!(
            w.approve(&person("finance-2", &[Role::Finance]), now)
                .unwrap()
        );
        assert_eq!(w.approval_token, None);
        assert!(w.awaiting("token-2").is_err());
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
