//! Approvals: the governance context of Broker OS. Maker-checker (four-eyes) approval as its
//! own business context, for every process that moves money or changes rules: withdrawals,
//! commission payouts, contest prizes, PAMM offers, rule changes.
//!
//! - [`policy`]: an [`ApprovalPolicy`] per [`ProcessType`] (who approves and rejects, how many
//!   distinct people, amount tiers, auto-approval, four-eyes), in a versioned [`PolicySet`]
//!   validated on load.
//! - [`process`]: the [`ApprovalProcess`] aggregate, started under its type's policy and
//!   decided by [`ApprovalProcess::approve`] / [`ApprovalProcess::reject`]; the caller follows
//!   its [`Outcome`]. Every refusal is a typed [`Refusal`] that says why.
//! - `repo`: the processes as stored (audited entities, keyed in [`keys`], indexed by status
//!   for work queues).
//! - this module: the use cases a caller runs inside its own transaction.
//!
//! The model is pure: no I/O, no clock (every method takes `now`), no store. A context that
//! governs its own process by approvals (withdrawals: `WithdrawalsConfig::approval_policy`)
//! depends on this crate, never the other way round.
//!
//! # Using approvals from another context
//!
//! Approvals never commit on their own: every use case here adds its writes (the process and
//! its audit event) to the caller's [`Changeset`], which the caller commits with its own
//! change of the subject, so the subject and its approval never disagree.
//!
//! 1. **Start** the process where the subject comes to need approval, with an id derived from
//!    the subject (so a retry cannot start two) and the facts the auto-approval rule looks at:
//!    [`start`] answers the process and whether it was auto-approved; the caller records the
//!    outcome on its subject (approved at once, or waiting for people) in the same changeset.
//! 2. **Decide** through [`decide`] (a [`Vote`] to approve or reject): it answers the process
//!    as decided and its [`Outcome`] (still pending with what is missing, approved, rejected), or the
//!    [`Refusal`] that stopped it, in which case nothing was added to the changeset. The caller
//!    follows the outcome on its subject in the same changeset. The caller's own door (who may
//!    reach its API) and its subject's state are checked first; approvals check the rest.
//! 3. **End** a pending process the subject no longer needs with [`end`]: expired (its
//!    deadline passed) or cancelled (the subject was voided in its own context).
//!
//! A process is read by id through the kernel's generic repository
//! (`services.get::<ApprovalProcess>(id)`); [`queue`] pages through the processes of a status.

pub mod keys;
pub mod policy;
pub mod process;
mod repo;
mod services;
#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;

pub use policy::{
    AmountTier, ApprovalPolicy, AutoApprovalConfig, PolicySet, ProcessType, Requirement,
    TierApplied,
};
pub use process::{
    Action, ApprovalProcess, AutoApproval, Decision, DecisionRules, Missing, NewProcess,
    NotAutoApproved, Outcome, ProcessStatus, Refusal, StartFacts, Started, Subject, Verdict,
};
pub use services::{ApprovalsSettings, Services};

use brokeros_kernel::changeset::Changeset;
use brokeros_kernel::principal::Principal;
use brokeros_kernel::{Core, Error, OpContext, QueueFilter, Result};
use serde_json::Value;

/// Starts the approval of `new` under its type's policy (see [`ApprovalProcess::start`]) and
/// adds the process with its first audit event (`approval.auto_approved` or
/// `approval.requested`) to `changes`. Refused when a process with the same id exists.
pub async fn start(
    services: &Services,
    ctx: &OpContext,
    new: NewProcess,
    facts: &StartFacts,
    changes: &mut Changeset,
) -> Result<Started> {
    let started = ApprovalProcess::start(new, &services.config.policies, facts, ctx.now)?;
    let id = &started.process.id;
    if services.find::<ApprovalProcess>(id).await?.is_some() {
        return Err(Error::conflict(
            "approval_exists",
            format!("approval process {id} exists already"),
        ));
    }
    let action = match started.auto_approval {
        AutoApproval::Approved { .. } => "approval.auto_approved",
        AutoApproval::NotApproved { .. } => "approval.requested",
    };
    changes.create(ctx, services.ids.as_ref(), &started.process, action)?;
    Ok(started)
}

/// What a person decides on a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vote<'a> {
    Approve,
    Reject { reason: &'a str },
}

/// How a pending process ends without people deciding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending<'a> {
    /// Its deadline has come.
    Expire,
    /// Its subject was voided in its own context.
    Cancel { reason: &'a str },
}

/// A decision taken on a process: the process as it now is, and where that leaves it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decided {
    pub process: ApprovalProcess,
    pub outcome: Outcome,
}

/// What a use case that may be refused answers: `Err` when approvals could not decide
/// (no such process, storage), `Ok(Err(refusal))` when the process refused (nothing was added
/// to the changeset). `??` turns a refusal into the kernel's [`Error`].
pub type Refusable<T> = Result<std::result::Result<T, Refusal>>;

/// Reads process `id`, applies `change` and, unless refused, adds the process with its audit
/// event (`action` of what `change` answered) to `changes`.
async fn change<T>(
    services: &Core,
    ctx: &OpContext,
    id: &str,
    changes: &mut Changeset,
    change: impl FnOnce(&mut ApprovalProcess) -> std::result::Result<T, Refusal>,
    action: impl FnOnce(&T) -> &'static str,
) -> Refusable<(ApprovalProcess, T)> {
    let before = services.get::<ApprovalProcess>(id).await?;
    let mut process = before.entity.clone();
    let answer = match change(&mut process) {
        Ok(answer) => answer,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let action = action(&answer);
    changes.update(
        ctx,
        services.ids.as_ref(),
        &before,
        &process,
        action,
        vec![],
    )?;
    Ok(Ok((process, answer)))
}

/// Records `principal`'s `vote` on process `id` (see [`ApprovalProcess::approve`] and
/// [`ApprovalProcess::reject`]): `approval.approved` when it was the last approval required,
/// `approval.approval_added` when more are, `approval.rejected`.
pub async fn decide(
    services: &Core,
    ctx: &OpContext,
    id: &str,
    principal: &Principal,
    vote: Vote<'_>,
    changes: &mut Changeset,
) -> Refusable<Decided> {
    let apply = |p: &mut ApprovalProcess| match vote {
        Vote::Approve => p.approve(principal, ctx.now),
        Vote::Reject { reason } => p.reject(principal, reason, ctx.now),
    };
    let action = |outcome: &Outcome| match outcome {
        Outcome::Approved => "approval.approved",
        Outcome::Pending { .. } => "approval.approval_added",
        Outcome::Rejected => "approval.rejected",
    };
    let done = change(services, ctx, id, changes, apply, action).await?;
    Ok(done.map(|(process, outcome)| Decided { process, outcome }))
}

/// Ends pending process `id` without people (see [`ApprovalProcess::expire`] and
/// [`ApprovalProcess::cancel`]): `approval.expired` or `approval.cancelled`.
pub async fn end(
    services: &Core,
    ctx: &OpContext,
    id: &str,
    ending: Ending<'_>,
    changes: &mut Changeset,
) -> Refusable<ApprovalProcess> {
    let apply = |p: &mut ApprovalProcess| match ending {
        Ending::Expire => p.expire(ctx.now).map(|()| "approval.expired"),
        Ending::Cancel { reason } => p.cancel(reason, ctx.now).map(|()| "approval.cancelled"),
    };
    let done = change(services, ctx, id, changes, apply, |action| *action).await?;
    Ok(done.map(|(process, _)| process))
}

/// The processes of a status (pending unless asked), oldest first, for a caller that has
/// already been allowed to read them.
pub async fn queue(services: &Core, filter: QueueFilter) -> Result<Value> {
    let status = filter.status.as_deref().unwrap_or("pending");
    let status: ProcessStatus =
        serde_json::from_value(Value::String(status.to_string())).map_err(|_| {
            Error::invalid(
                "invalid_status",
                "status",
                "status must be pending, approved, auto_approved, rejected, expired or cancelled",
            )
        })?;
    repo::processes_in_status(services, status, filter).await
}
