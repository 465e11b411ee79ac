//! The withdrawal workflow's task handlers, all in one function (`withdrawal-processing`)
//! dispatched by the payload's `action`. Each is idempotent: it reloads the withdrawal and,
//! when the step already happened (a retried task, a decision taken meanwhile), answers what
//! happened instead of doing it again. The actor of every event is the workflow execution.

use crate::model::{
    CheckDecision, CheckFacts, DepositSource, EarlierWithdrawal, VerificationLevel, Withdrawal,
    WithdrawalStatus, approval_id, check,
};
use brokeros_approvals::{AutoApproval, Ending, Refusal};
use brokeros_kernel::{Error, Result};
use brokeros_payments::deposits::model::{AttemptResult, DepositStatus};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Reservation, WITHDRAWAL_REJECTED, stage_step};
use crate::Services;
use crate::repo::{self, Counter};
use brokeros_kernel::OpContext;
use brokeros_kernel::changeset::{Audited, Changeset};
use brokeros_kernel::idempotency::execute;
use brokeros_kernel::workflow::parse;
use brokeros_ledger::in_turn;
use brokeros_onboarding::load_client;
use brokeros_payments::psp::{GatewayError, PayoutRequest, PayoutResult};

/// The Lambda function the withdrawal definition calls.
/// The one task function of the withdrawal definition.
pub const WITHDRAWAL_PROCESSING: &str = "withdrawal-processing";
/// The error a payout fails with while its provider cannot be reached; the definition retries
/// it.
pub const PAYOUT_PROVIDER_UNAVAILABLE: &str = "PayoutProviderUnavailable";
/// How many of a client's latest deposits and withdrawals the checks look at: far more than
/// the velocity rules count in a day.
const HISTORY_LIMIT: u32 = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Action {
    Check,
    AwaitApproval,
    Expire,
    Payout,
    PayoutFailed,
    Fail,
}

#[derive(Debug, Deserialize)]
struct Task {
    action: Action,
    withdrawal_id: String,
    /// `$$.Execution.Id`: the actor of the task's audit events and their correlation id.
    execution_id: String,
    #[serde(default)]
    task_token: Option<String>,
    /// The error a failure step records (its name only: causes can quote inputs).
    #[serde(default)]
    error: Option<String>,
}

/// Runs the task handler of `function` on `payload`.
pub async fn run(services: &Services, payload: Value) -> Result<Value> {
    let task: Task = parse(payload)?;
    let ctx = brokeros_kernel::workflow_ctx(services, &task.execution_id);
    let id = task.withdrawal_id.as_str();
    match task.action {
        Action::Check => run_checks(services, &ctx, id).await,
        Action::AwaitApproval => {
            let token = task.task_token.as_deref().ok_or_else(|| {
                Error::invalid("invalid_task_input", "task_token", "task_token is required")
            })?;
            await_approval(services, &ctx, id, token).await
        }
        Action::Expire => expire(services, &ctx, id).await,
        Action::Payout => payout(services, &ctx, id).await,
        Action::PayoutFailed => {
            let error = task.error.as_deref().unwrap_or(PAYOUT_PROVIDER_UNAVAILABLE);
            payout_unavailable(services, &ctx, id, error).await
        }
        Action::Fail => {
            let error = task.error.as_deref().unwrap_or("unknown");
            record_failure(services, &ctx, id, error).await
        }
    }
}

/// What the definition's choices branch on.
fn answer(status: WithdrawalStatus) -> Value {
    json!({ "outcome": status.as_str() })
}

/// A step's work on the withdrawal as stored: what it stages, and the status it leaves.
type StepFuture<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<(WithdrawalStatus, Changeset)>> + Send + 'a>,
>;

/// Runs one step of withdrawal `id` under the store's optimistic retries, holding this
/// process's turn on its wallet (a step may release or settle the reservation). `work` gets
/// the withdrawal as stored (afresh on every retry); the status it leaves is the answer.
async fn step<'a>(
    services: &'a Services,
    id: &'a str,
    work: impl Fn(Audited<Withdrawal>) -> StepFuture<'a> + Send + Sync + 'a,
) -> Result<Value> {
    // The wallet never changes, so it may be read before the turn on it is taken.
    let wallet = super::wallet(&services.get::<Withdrawal>(id).await?.entity)?;
    let work = &work;
    in_turn(
        std::slice::from_ref(&wallet),
        execute(services, None, move || {
            Box::pin(async move {
                let before = services.get::<Withdrawal>(id).await?;
                let (status, changes) = work(before).await?;
                Ok((answer(status), changes))
            })
        }),
    )
    .await
}

/// The checks: rejected (reservation released), or accepted and its approval process started
/// in the same transaction, which decides between auto-approved (counted against the client's
/// daily auto-approvals, exactly: the counter commits with the decision) and waiting for
/// finance.
async fn run_checks(services: &Services, ctx: &OpContext, id: &str) -> Result<Value> {
    step(services, id, move |before| {
        Box::pin(async move {
            let mut staged = Changeset::new();
            let (before, changes) = (&before, &mut staged);
            if before.entity.status != WithdrawalStatus::Requested {
                return Ok((before.entity.status, Changeset::new()));
            }
            let (facts, counter) = facts(services, &before.entity, ctx).await?;
            let decision = check(
                &before.entity,
                &facts,
                &services.config.withdrawals,
                ctx.now,
            );
            let mut withdrawal = before.entity.clone();
            let (action, reservation) = match decision {
                CheckDecision::Reject { reason } => {
                    withdrawal.reject(reason, ctx.now)?;
                    ("withdrawal.rejected", Reservation::Release)
                }
                CheckDecision::Accept {
                    provider,
                    held_for_review,
                } => {
                    let started = brokeros_approvals::start(
                        &services.approvals,
                        ctx,
                        withdrawal.approval_request(),
                        &facts.start_facts(held_for_review),
                        changes,
                    )
                    .await?;
                    withdrawal.checked(provider, &started.process, ctx.now)?;
                    match started.auto_approval {
                        AutoApproval::Approved { .. } => {
                            changes.put(counter.incremented(ctx)?);
                            ("withdrawal.auto_approved", Reservation::Keep)
                        }
                        AutoApproval::NotApproved { .. } => {
                            ("withdrawal.awaiting_approval", Reservation::Keep)
                        }
                    }
                }
            };
            stage_step(
                services,
                ctx,
                before,
                &withdrawal,
                action,
                reservation,
                changes,
            )
            .await?;
            Ok((withdrawal.status, staged))
        })
    })
    .await
}

/// What the checks look at: the client's verification and groups, the deposits money may go
/// back to, their other withdrawals, and today's auto-approvals.
async fn facts(
    services: &Services,
    withdrawal: &Withdrawal,
    ctx: &OpContext,
) -> Result<(CheckFacts, Counter)> {
    let client = load_client(services, &withdrawal.client_id).await?.entity;
    let deposits = brokeros_payments::deposits::latest_of_client(
        services,
        &withdrawal.client_id,
        HISTORY_LIMIT,
    )
    .await?;
    let mut sources = Vec::new();
    for deposit in deposits {
        if deposit.status != DepositStatus::Credited {
            continue;
        }
        let provider = deposit.attempts.iter().rev().find_map(|a| match a.result {
            Some(AttemptResult::Succeeded { .. }) => Some(a.provider.clone()),
            _ => None,
        });
        if let Some(provider) = provider {
            sources.push(DepositSource {
                method: deposit.method,
                provider,
                amount: deposit.amount,
                credited_at: deposit.updated_at,
            });
        }
    }
    let withdrawals =
        repo::latest_of_client(services, &withdrawal.client_id, HISTORY_LIMIT).await?;
    let mut earlier = Vec::new();
    for other in withdrawals {
        if other.id != withdrawal.id {
            earlier.push(EarlierWithdrawal {
                amount: other.amount,
                status: other.status,
                requested_at: other.requested_at,
            });
        }
    }
    let counter = repo::auto_approvals(services, &withdrawal.client_id, ctx.now.date()).await?;
    let facts = CheckFacts {
        verification: VerificationLevel::of(&client),
        client_groups: client
            .trading_accounts
            .iter()
            .map(|a| a.group.clone())
            .collect(),
        deposits: sources,
        earlier,
        auto_approved_today: counter.count(),
    };
    Ok((facts, counter))
}

/// Parks the approval task's token on the withdrawal; a decision taken before it was parked
/// is answered here at once.
async fn await_approval(
    services: &Services,
    ctx: &OpContext,
    id: &str,
    token: &str,
) -> Result<Value> {
    let reply = step(services, id, move |before| {
        Box::pin(async move {
            let mut staged = Changeset::new();
            let (before, changes) = (&before, &mut staged);
            let mut withdrawal = before.entity.clone();
            if withdrawal.status == WithdrawalStatus::AwaitingApproval {
                withdrawal.awaiting(token)?;
                if withdrawal != before.entity {
                    changes.update(
                        ctx,
                        services.ids.as_ref(),
                        before,
                        &withdrawal,
                        "withdrawal.approval_requested",
                        vec![],
                    )?;
                }
            }
            Ok((withdrawal.status, staged))
        })
    })
    .await?;
    let workflow = services.workflow()?;
    let answered = match reply["outcome"].as_str() {
        Some("awaiting_approval") => Ok(()),
        Some("rejected" | "expired") => {
            let cause = json!({ "withdrawal_id": id }).to_string();
            workflow
                .task_failure(token, WITHDRAWAL_REJECTED, &cause)
                .await
        }
        Some("requested") => Err(Error::conflict(
            "invalid_withdrawal_state",
            format!("withdrawal {id} has not been checked"),
        )),
        // Approved (and anything after it): the payout step answers what happened.
        _ => {
            workflow
                .task_success(token, json!({ "decision": "approved" }))
                .await
        }
    };
    match answered {
        Ok(())
        | Err(Error::Conflict {
            code: "task_not_waiting",
            ..
        }) => Ok(reply),
        Err(e) => Err(e),
    }
}

/// The approval deadline passed: a withdrawal still waiting expires and its reservation is
/// released; one decided meanwhile answers its decision.
async fn expire(services: &Services, ctx: &OpContext, id: &str) -> Result<Value> {
    let reply = step(services, id, move |before| {
        Box::pin(async move {
            let mut staged = Changeset::new();
            let (before, changes) = (&before, &mut staged);
            if before.entity.status != WithdrawalStatus::AwaitingApproval {
                return Ok((before.entity.status, Changeset::new()));
            }
            let mut withdrawal = before.entity.clone();
            withdrawal.expire(ctx.now)?;
            end_approval(services, ctx, id, None, changes).await?;
            stage_step(
                services,
                ctx,
                before,
                &withdrawal,
                "withdrawal.expired",
                Reservation::Release,
                changes,
            )
            .await?;
            Ok((withdrawal.status, staged))
        })
    })
    .await?;
    // The definition follows a decision taken in time; everything else ends as expired.
    let outcome = match reply["outcome"].as_str() {
        Some("approved" | "paid" | "payout_failed") => "approved",
        Some("rejected") => "rejected",
        _ => "expired",
    };
    Ok(json!({ "outcome": outcome }))
}

/// Ends the approval process of withdrawal `id` as the withdrawal stops waiting for it:
/// expired at its deadline (the workflow's deadline starts after the process's, so it has
/// come), else cancelled for `error`. Should this host's clock still be short of the process's
/// deadline, the withdrawal's deadline decides: the process is cancelled as expired by it.
async fn end_approval(
    services: &Services,
    ctx: &OpContext,
    id: &str,
    error: Option<&str>,
    changes: &mut Changeset,
) -> Result<()> {
    let approval = approval_id(id);
    let reason = match error {
        None => match brokeros_approvals::end(services, ctx, &approval, Ending::Expire, changes)
            .await?
        {
            Err(Refusal::NotDueYet { .. } | Refusal::NoDeadline { .. }) => {
                "withdrawal expired: its workflow's approval deadline passed".to_string()
            }
            done => return done.map(drop).map_err(Error::from),
        },
        Some(error) => format!("withdrawal rejected: workflow: {error}"),
    };
    let cancel = Ending::Cancel { reason: &reason };
    brokeros_approvals::end(services, ctx, &approval, cancel, changes).await??;
    Ok(())
}

/// Pays an approved withdrawal out through its provider, then settles the reservation (paid)
/// or releases it (refused). A provider that cannot be reached fails the task with
/// [`PAYOUT_PROVIDER_UNAVAILABLE`] and changes nothing.
async fn payout(services: &Services, ctx: &OpContext, id: &str) -> Result<Value> {
    let current = services.get::<Withdrawal>(id).await?.entity;
    match current.status {
        WithdrawalStatus::Approved => {}
        WithdrawalStatus::Paid | WithdrawalStatus::PayoutFailed => {
            return Ok(answer(current.status));
        }
        other => {
            return Err(Error::conflict(
                "invalid_withdrawal_state",
                format!(
                    "withdrawal {id} is {}; it cannot be paid out",
                    other.as_str()
                ),
            ));
        }
    }
    let provider = current
        .provider
        .clone()
        .ok_or_else(|| Error::Internal(format!("approved withdrawal {id} has no provider")))?;
    let request = PayoutRequest {
        withdrawal_id: current.id.clone(),
        client_id: current.client_id.clone(),
        amount: current.amount,
        method: current.method.as_str().to_string(),
        destination: repo::destination(services, id).await?,
    };
    let result = match services.gateway.payout(&provider, &request).await {
        Ok(result) => result,
        Err(GatewayError::Unavailable { reason, .. }) => {
            return Err(Error::ProviderUnavailable {
                error_type: PAYOUT_PROVIDER_UNAVAILABLE,
                message: format!("{provider}: {reason}"),
            });
        }
        Err(GatewayError::UnknownProvider(name)) => PayoutResult::Failed {
            reason: format!("no payment provider named '{name}' is configured"),
        },
    };
    let (result, provider) = (&result, &provider);
    step(services, id, move |before| {
        Box::pin(async move {
            let mut staged = Changeset::new();
            let (before, changes) = (&before, &mut staged);
            if before.entity.status != WithdrawalStatus::Approved {
                return Ok((before.entity.status, Changeset::new()));
            }
            let mut withdrawal = before.entity.clone();
            let (action, reservation) = match result {
                PayoutResult::Paid { reference } => {
                    withdrawal.paid(provider.clone(), reference.clone(), ctx.now)?;
                    (
                        "withdrawal.paid",
                        Reservation::Settle {
                            provider: provider.clone(),
                        },
                    )
                }
                PayoutResult::Failed { reason } => {
                    withdrawal.payout_failed(format!("payout: {reason}"), ctx.now)?;
                    ("withdrawal.payout_failed", Reservation::Release)
                }
            };
            stage_step(
                services,
                ctx,
                before,
                &withdrawal,
                action,
                reservation,
                changes,
            )
            .await?;
            Ok((withdrawal.status, staged))
        })
    })
    .await
}

/// The provider stayed unreachable through every retry: the payout failed and the
/// reservation is released.
async fn payout_unavailable(
    services: &Services,
    ctx: &OpContext,
    id: &str,
    error: &str,
) -> Result<Value> {
    step(services, id, move |before| {
        Box::pin(async move {
            let mut staged = Changeset::new();
            let (before, changes) = (&before, &mut staged);
            if before.entity.status != WithdrawalStatus::Approved {
                return Ok((before.entity.status, Changeset::new()));
            }
            let mut withdrawal = before.entity.clone();
            withdrawal.payout_failed(format!("payout: {error}, retries exhausted"), ctx.now)?;
            stage_step(
                services,
                ctx,
                before,
                &withdrawal,
                "withdrawal.payout_failed",
                Reservation::Release,
                changes,
            )
            .await?;
            Ok((withdrawal.status, staged))
        })
    })
    .await
}

/// Records an unexpected error on the withdrawal. One not approved yet is rejected and its
/// reservation released; an approved one keeps its reservation for finance to resolve, since
/// its payout may have happened.
pub(crate) async fn record_failure(
    services: &Services,
    ctx: &OpContext,
    id: &str,
    error: &str,
) -> Result<Value> {
    step(services, id, move |before| {
        Box::pin(async move {
            let mut staged = Changeset::new();
            let (before, changes) = (&before, &mut staged);
            let mut withdrawal = before.entity.clone();
            let reservation = match withdrawal.status {
                status @ (WithdrawalStatus::Requested | WithdrawalStatus::AwaitingApproval) => {
                    // Not checked yet, it has no approval process to end.
                    if status == WithdrawalStatus::AwaitingApproval {
                        end_approval(services, ctx, id, Some(error), changes).await?;
                    }
                    withdrawal.reject(format!("workflow: {error}"), ctx.now)?;
                    Reservation::Release
                }
                WithdrawalStatus::Approved => Reservation::Keep,
                _ => return Ok((withdrawal.status, Changeset::new())),
            };
            withdrawal.failure = Some(error.to_string());
            withdrawal.updated_at = ctx.now;
            stage_step(
                services,
                ctx,
                before,
                &withdrawal,
                "withdrawal.failed",
                reservation,
                changes,
            )
            .await?;
            Ok((withdrawal.status, staged))
        })
    })
    .await
}
