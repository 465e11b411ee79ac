//! The approval process: one request for approval of one subject (a withdrawal, a payout…),
//! started inside the caller's transaction under the policy of its type, then decided by people
//! (or at once by the auto-approval rule). Every refusal says why; the decision rules are copied
//! in at the start, so a policy changed later never changes a process already running.

use std::collections::BTreeSet;
use std::fmt;

use brokeros_kernel::money::Money;
use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::{Error, Result, normalize};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::policy::{ApprovalPolicy, AutoApprovalConfig, PolicySet, ProcessType, Requirement};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcessStatus {
    /// Waiting for people.
    Pending,
    /// Approved by as many distinct people as required.
    Approved,
    /// Approved at the start by the policy's auto-approval rule.
    AutoApproved,
    Rejected,
    /// Nobody decided before the deadline.
    Expired,
    /// The caller withdrew the request (its subject went away).
    Cancelled,
}

impl ProcessStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProcessStatus::Pending => "pending",
            ProcessStatus::Approved => "approved",
            ProcessStatus::AutoApproved => "auto_approved",
            ProcessStatus::Rejected => "rejected",
            ProcessStatus::Expired => "expired",
            ProcessStatus::Cancelled => "cancelled",
        }
    }

    /// Whether the governed action may go ahead.
    pub fn is_approved(self) -> bool {
        matches!(self, ProcessStatus::Approved | ProcessStatus::AutoApproved)
    }
}

impl fmt::Display for ProcessStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the process governs: the entity's type and id in its own context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    pub kind: String,
    pub id: String,
}

/// The part of the policy a started process is decided by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionRules {
    pub approver_roles: BTreeSet<Role>,
    pub required: Requirement,
    pub requester_may_approve: bool,
    pub rejecter_roles: BTreeSet<Role>,
    pub requester_may_reject: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Approve,
    Reject,
}

/// One person's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    pub by: String,
    /// The role the decision counted as.
    pub role: Role,
    pub verdict: Verdict,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalProcess {
    /// Chosen by the caller (e.g. derived from the subject), so a retry starts one process.
    pub id: String,
    pub process_type: ProcessType,
    pub subject: Subject,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    pub requested_by: String,
    /// The version of the policy set the process was started under.
    pub policy_version: u64,
    pub rules: DecisionRules,
    pub status: ProcessStatus,
    /// Why it was auto-approved, or why it needs people (and how many), as the start decided.
    pub reasons: Vec<String>,
    #[serde(default)]
    pub decisions: Vec<Decision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// When a pending process may expire; `None`: no deadline.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires_at: Option<OffsetDateTime>,
}

/// What the caller asks approval for.
#[derive(Debug, Clone, PartialEq)]
pub struct NewProcess {
    pub id: String,
    pub process_type: ProcessType,
    pub subject: Subject,
    pub amount: Option<Money>,
    /// Who asked (a client or a staff member): never an approver under four-eyes.
    pub requested_by: String,
}

/// What the auto-approval rule looks at besides the request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartFacts {
    pub client_groups: Vec<String>,
    /// Auto-approvals already counted in the rule's window (e.g. the client's today, UTC).
    pub auto_approved_today: u32,
    /// The caller's own checks (AML review, missing verification, velocity…) that send the
    /// request to people whatever the auto-approval rule says; each a readable reason.
    pub held_for_review: Vec<String>,
}

/// Whether the start approved the request without people, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AutoApproval {
    /// `count` is this approval's number in the window, of `max_per_day`.
    Approved {
        count: u32,
        max_per_day: u32,
    },
    NotApproved {
        why: Vec<NotAutoApproved>,
    },
}

/// Why a request was not auto-approved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotAutoApproved {
    /// The caller's check, as it said it.
    HeldForReview(String),
    /// The policy has no auto-approval rule.
    NoRule,
    GroupNotAutoApproved,
    /// The rule limits amounts and the request has none.
    NoAmount,
    NoLimitForCurrency {
        currency: String,
    },
    AboveLimit {
        amount: Money,
        limit: Decimal,
    },
    DailyCountUsedUp {
        count: u32,
    },
}

impl fmt::Display for AutoApproval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AutoApproval::Approved { count, max_per_day } => {
                write!(f, "auto_approved: {count} of {max_per_day} today")
            }
            AutoApproval::NotApproved { why } => {
                let why: Vec<String> = why.iter().map(ToString::to_string).collect();
                f.write_str(&why.join("; "))
            }
        }
    }
}

impl fmt::Display for NotAutoApproved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotAutoApproved::HeldForReview(reason) => f.write_str(reason),
            NotAutoApproved::NoRule => {
                f.write_str("auto_approval: the policy auto-approves nothing")
            }
            NotAutoApproved::GroupNotAutoApproved => {
                f.write_str("auto_approval: the client's group is not auto-approved")
            }
            NotAutoApproved::NoAmount => {
                f.write_str("auto_approval: the request has no amount to hold against the limit")
            }
            NotAutoApproved::NoLimitForCurrency { currency } => {
                write!(f, "auto_approval: no limit for {currency}")
            }
            NotAutoApproved::AboveLimit { amount, limit } => write!(
                f,
                "auto_approval: {amount} is above the limit of {limit} {}",
                amount.currency().code
            ),
            NotAutoApproved::DailyCountUsedUp { count } => {
                write!(f, "auto_approval: {count} auto-approved today already")
            }
        }
    }
}

/// The rule, held against a request: every failed condition is named.
fn auto_approval(
    rule: Option<&AutoApprovalConfig>,
    amount: Option<Money>,
    facts: &StartFacts,
) -> AutoApproval {
    if !facts.held_for_review.is_empty() {
        let why = facts
            .held_for_review
            .iter()
            .cloned()
            .map(NotAutoApproved::HeldForReview)
            .collect();
        return AutoApproval::NotApproved { why };
    }
    let Some(rule) = rule else {
        return AutoApproval::NotApproved {
            why: vec![NotAutoApproved::NoRule],
        };
    };
    let mut why = Vec::new();
    if !facts
        .client_groups
        .iter()
        .any(|g| rule.client_groups.contains(g))
    {
        why.push(NotAutoApproved::GroupNotAutoApproved);
    }
    match amount {
        None if rule.max_amount.is_empty() => {}
        None => why.push(NotAutoApproved::NoAmount),
        Some(amount) => match rule.max_amount.get(amount.currency().code) {
            None => why.push(NotAutoApproved::NoLimitForCurrency {
                currency: amount.currency().code.to_string(),
            }),
            Some(&limit) if amount.amount() > limit => {
                why.push(NotAutoApproved::AboveLimit { amount, limit })
            }
            Some(_) => {}
        },
    }
    if facts.auto_approved_today >= rule.max_per_day {
        why.push(NotAutoApproved::DailyCountUsedUp {
            count: facts.auto_approved_today,
        });
    }
    if why.is_empty() {
        AutoApproval::Approved {
            count: facts.auto_approved_today + 1,
            max_per_day: rule.max_per_day,
        }
    } else {
        AutoApproval::NotApproved { why }
    }
}

/// A started process, and whether the start approved it.
#[derive(Debug, Clone, PartialEq)]
pub struct Started {
    pub process: ApprovalProcess,
    pub auto_approval: AutoApproval,
}

/// What a decision left the process at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pending { missing: Missing },
    Approved,
    Rejected,
}

/// What a pending process still needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Missing {
    /// Approvals from people who have not approved yet (nor requested it, under four-eyes).
    pub approvals: u32,
    /// The role the last of them must hold.
    pub last_approver_role: Option<Role>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Approve,
    Reject,
    Expire,
    Cancel,
}

impl Action {
    fn verb(self) -> &'static str {
        match self {
            Action::Approve => "approve",
            Action::Reject => "reject",
            Action::Expire => "expire",
            Action::Cancel => "cancel",
        }
    }

    fn done(self) -> &'static str {
        match self {
            Action::Approve => "approved",
            Action::Reject => "rejected",
            Action::Expire => "expired",
            Action::Cancel => "cancelled",
        }
    }
}

fn roles(roles: &BTreeSet<Role>) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a decision was refused. Nothing changes on a refusal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("your role may not {} a {process_type} (only {})", .action.verb(), roles(.allowed))]
    RoleNotAllowed {
        action: Action,
        process_type: ProcessType,
        allowed: BTreeSet<Role>,
    },
    #[error("a reason is needed to {} a {process_type}", .action.verb())]
    ReasonRequired {
        action: Action,
        process_type: ProcessType,
    },
    #[error("approval process {id} is {status}; it cannot be {}", .action.done())]
    NotPending {
        id: String,
        status: ProcessStatus,
        action: Action,
    },
    #[error("a {process_type} is never {} by the person who requested it", .action.done())]
    Requester {
        action: Action,
        process_type: ProcessType,
    },
    #[error("{by} approved already; the next approval must come from another person")]
    AlreadyApproved { by: String },
    #[error("approval {position} of {required} must come from someone with the {role} role")]
    LastApproverRole {
        role: Role,
        position: u32,
        required: u32,
    },
    #[error("approval process {id} has no deadline; it does not expire")]
    NoDeadline { id: String },
    #[error("approval process {id} may expire from {expires_at}, not before")]
    NotDueYet {
        id: String,
        expires_at: OffsetDateTime,
    },
}

impl From<Refusal> for Error {
    fn from(refusal: Refusal) -> Error {
        let message = refusal.to_string();
        match refusal {
            Refusal::NotPending { .. } => Error::conflict("approval_not_pending", message),
            Refusal::NoDeadline { .. } | Refusal::NotDueYet { .. } => {
                Error::conflict("approval_not_due", message)
            }
            Refusal::ReasonRequired { .. } => Error::invalid("required", "reason", message),
            Refusal::RoleNotAllowed { .. }
            | Refusal::Requester { .. }
            | Refusal::AlreadyApproved { .. }
            | Refusal::LastApproverRole { .. } => Error::forbidden(message),
        }
    }
}

impl ApprovalProcess {
    /// Starts the approval of `new` under its type's policy in `policies`: auto-approved when
    /// the policy's rule allows (and nothing was held for review), else pending until the
    /// required number of distinct people approve.
    pub fn start(
        new: NewProcess,
        policies: &PolicySet,
        facts: &StartFacts,
        now: OffsetDateTime,
    ) -> Result<Started> {
        let policy: &ApprovalPolicy = policies.policy(&new.process_type)?;
        let id = normalize::code("id", &new.id, 120)?;
        let subject = Subject {
            kind: normalize::code("subject.kind", &new.subject.kind, 60)?,
            id: normalize::code("subject.id", &new.subject.id, 120)?,
        };
        let requested_by = normalize::required_text("requested_by", &new.requested_by, 128)?;
        let (required, tier) = policy.requirement_for(new.amount);
        let auto = auto_approval(policy.auto_approval.as_ref(), new.amount, facts);
        let (status, reasons, expires_at) = match &auto {
            AutoApproval::Approved { .. } => {
                (ProcessStatus::AutoApproved, vec![auto.to_string()], None)
            }
            AutoApproval::NotApproved { why } => {
                let mut reasons: Vec<String> = why.iter().map(ToString::to_string).collect();
                reasons.extend(tier.map(|t| t.to_string()));
                let expires_at = policy
                    .decision_timeout_seconds
                    .map(|s| now + time::Duration::seconds(s as i64));
                (ProcessStatus::Pending, reasons, expires_at)
            }
        };
        let process = ApprovalProcess {
            id,
            process_type: new.process_type,
            subject,
            amount: new.amount,
            requested_by,
            policy_version: policies.version(),
            rules: DecisionRules {
                approver_roles: policy.approver_roles.clone(),
                required,
                requester_may_approve: policy.requester_may_approve,
                rejecter_roles: policy.rejecter_roles.clone(),
                requester_may_reject: policy.requester_may_reject,
            },
            status,
            reasons,
            decisions: Vec::new(),
            cancel_reason: None,
            started_at: now,
            updated_at: now,
            expires_at,
        };
        Ok(Started {
            process,
            auto_approval: auto,
        })
    }

    /// The people who approved, in order.
    pub fn approvers(&self) -> impl Iterator<Item = &Decision> {
        self.decisions
            .iter()
            .filter(|d| d.verdict == Verdict::Approve)
    }

    /// What a pending process still needs (nothing once decided).
    pub fn missing(&self) -> Missing {
        let given = self.approvers().count() as u32;
        Missing {
            approvals: self.rules.required.approvers.saturating_sub(given),
            last_approver_role: self.rules.required.last_approver_role,
        }
    }

    fn allowed(
        &self,
        principal: &Principal,
        action: Action,
        allowed: &BTreeSet<Role>,
    ) -> Result<(), Refusal> {
        if allowed.iter().any(|r| principal.has(*r)) {
            Ok(())
        } else {
            Err(Refusal::RoleNotAllowed {
                action,
                process_type: self.process_type.clone(),
                allowed: allowed.clone(),
            })
        }
    }

    fn reason<'r>(&self, action: Action, reason: &'r str) -> Result<&'r str, Refusal> {
        match reason.trim() {
            "" => Err(Refusal::ReasonRequired {
                action,
                process_type: self.process_type.clone(),
            }),
            reason => Ok(reason),
        }
    }

    fn pending(&self, action: Action) -> Result<(), Refusal> {
        if self.status == ProcessStatus::Pending {
            Ok(())
        } else {
            Err(Refusal::NotPending {
                id: self.id.clone(),
                status: self.status,
                action,
            })
        }
    }

    /// Adds `principal`'s approval, checked in this order: an approver role, still pending,
    /// not the requester (under four-eyes), not someone who approved already, and the role
    /// the last required approval must hold. The approval counts as that role when it is the
    /// last one, else as the least senior approver role the principal holds.
    pub fn approve(
        &mut self,
        principal: &Principal,
        now: OffsetDateTime,
    ) -> Result<Outcome, Refusal> {
        let rules = &self.rules;
        self.allowed(principal, Action::Approve, &rules.approver_roles)?;
        self.pending(Action::Approve)?;
        if !rules.requester_may_approve && principal.sub == self.requested_by {
            return Err(Refusal::Requester {
                action: Action::Approve,
                process_type: self.process_type.clone(),
            });
        }
        if let Some(earlier) = self.approvers().find(|d| d.by == principal.sub) {
            return Err(Refusal::AlreadyApproved {
                by: earlier.by.clone(),
            });
        }
        let required = rules.required;
        let position = self.approvers().count() as u32 + 1;
        let last_role = required
            .last_approver_role
            .filter(|_| position == required.approvers);
        let role = match last_role {
            Some(role) if !principal.has(role) => {
                return Err(Refusal::LastApproverRole {
                    role,
                    position,
                    required: required.approvers,
                });
            }
            Some(role) => role,
            None => *rules
                .approver_roles
                .iter()
                .find(|r| principal.has(**r))
                .expect("the role was checked"),
        };
        self.decisions.push(Decision {
            by: principal.sub.clone(),
            role,
            verdict: Verdict::Approve,
            reason: None,
            at: now,
        });
        self.updated_at = now;
        if position >= required.approvers {
            self.status = ProcessStatus::Approved;
            self.expires_at = None;
            return Ok(Outcome::Approved);
        }
        Ok(Outcome::Pending {
            missing: self.missing(),
        })
    }

    /// Rejects the process, checked in this order: a rejecter role, a reason, still pending,
    /// and not the requester unless the policy lets them. Someone who approved earlier may
    /// still reject while it is pending.
    pub fn reject(
        &mut self,
        principal: &Principal,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<Outcome, Refusal> {
        self.allowed(principal, Action::Reject, &self.rules.rejecter_roles)?;
        let reason = self.reason(Action::Reject, reason)?;
        self.pending(Action::Reject)?;
        if !self.rules.requester_may_reject && principal.sub == self.requested_by {
            return Err(Refusal::Requester {
                action: Action::Reject,
                process_type: self.process_type.clone(),
            });
        }
        let role = *self
            .rules
            .rejecter_roles
            .iter()
            .find(|r| principal.has(**r))
            .expect("the role was checked");
        self.decisions.push(Decision {
            by: principal.sub.clone(),
            role,
            verdict: Verdict::Reject,
            reason: Some(reason.to_string()),
            at: now,
        });
        self.status = ProcessStatus::Rejected;
        self.expires_at = None;
        self.updated_at = now;
        Ok(Outcome::Rejected)
    }

    /// Nobody decided in time: a pending process expires once its deadline has come.
    pub fn expire(&mut self, now: OffsetDateTime) -> Result<(), Refusal> {
        self.pending(Action::Expire)?;
        let Some(expires_at) = self.expires_at else {
            return Err(Refusal::NoDeadline {
                id: self.id.clone(),
            });
        };
        if now < expires_at {
            return Err(Refusal::NotDueYet {
                id: self.id.clone(),
                expires_at,
            });
        }
        self.status = ProcessStatus::Expired;
        self.updated_at = now;
        Ok(())
    }

    /// The caller withdrew the request (its subject was voided in its own context, under that
    /// context's authorization).
    pub fn cancel(&mut self, reason: &str, now: OffsetDateTime) -> Result<(), Refusal> {
        let reason = self.reason(Action::Cancel, reason)?;
        self.pending(Action::Cancel)?;
        self.status = ProcessStatus::Cancelled;
        self.cancel_reason = Some(reason.to_string());
        self.expires_at = None;
        self.updated_at = now;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
