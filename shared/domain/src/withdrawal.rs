//! Withdrawals: a client's request to take money out, governed from request to payout.
//!
//! The funds are reserved when the request is accepted; checks decide between auto-approval,
//! manual approval and rejection; manual approval is maker-checker (never by the requester, and
//! above a threshold by two different people, the second of a senior role); the payout settles
//! the reservation; a rejection, an expiry or a failed payout releases it. Each transition is
//! refused from a state it does not belong to, so a retried or late step cannot move money twice.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::money::Money;
use crate::principal::{Principal, Role};
use crate::{Error, Result};

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
    /// How the money leaves (`card`, `bank_transfer`, `crypto`, ...).
    pub method: String,
    /// Where it goes (masked card, IBAN, wallet address reference).
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
        self.updated_at = now;
        Ok(())
    }

    /// Nobody decided in time.
    pub fn expire(&mut self, now: OffsetDateTime) -> Result<()> {
        if self.status != WithdrawalStatus::AwaitingApproval {
            return Err(refused(self, "expired"));
        }
        self.status = WithdrawalStatus::Expired;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::{Currency, Money};
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
            method: "bank_transfer".into(),
            destination: "DE89****3000".into(),
            status: WithdrawalStatus::Requested,
            requested_by: "finance-1".into(),
            requirement: None,
            approvals: vec![],
            reasons: vec![],
            provider: None,
            payout_reference: None,
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
}
