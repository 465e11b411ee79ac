//! Withdrawals: the request that reserves the funds at once, the finance queue and its
//! maker-checker decisions, and (in [`tasks`]) the workflow steps that check, pay out and
//! settle or release.
//!
//! Approval is the approvals context's: the checks that accept a withdrawal start its approval
//! process ([`model::approval_id`]) under the withdrawal policy in the same transaction, and
//! finance's approvals and rejections are decided by that process; the withdrawal follows its
//! outcome (its statuses, answers and audit actions are the withdrawal's own).
//!
//! Every change of a withdrawal commits with its ledger entry (reservation, release or
//! settlement) and its audit event in one transaction, so the record and the money never
//! disagree. The ledger transfer ids derive from the withdrawal id (`wd:<id>`,
//! `wd:<id>:released`, `wd:<id>:paid`), and a reservation closes once, so no retry moves
//! money twice.

pub mod config;
pub mod keys;
pub mod model;
mod repo;
mod services;
pub mod tasks;

pub use services::{Services, WithdrawalsSettings};
use utoipa::ToSchema;

use crate::model::{Withdrawal, WithdrawalStatus, approval_id, refused_decision};
use brokeros_approvals::Vote;
use brokeros_kernel::money::Money;
use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::{Error, Result, normalize};
use brokeros_ledger::model::{AccountId, Release, Request, Reserve, Settle, TransferId};
use brokeros_onboarding::model::mask_number;
use brokeros_payments::model::PaymentMethod;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use brokeros_kernel::Answer;
use brokeros_kernel::OpContext;
use brokeros_kernel::changeset::{Audited, Changeset};
use brokeros_kernel::idempotency::{IdempotencyKey, execute};
use brokeros_kernel::outbox;
use brokeros_kernel::workflow::Machine;
use brokeros_ledger::{Staged, in_turn};
use brokeros_onboarding::{authorize_client_read, load_client};

/// The error name a rejection fails the waiting approval task with.
pub const WITHDRAWAL_REJECTED: &str = "WithdrawalRejected";

/// A withdrawal as the API shows it: never the workflow's task token.
pub fn view(withdrawal: &Withdrawal) -> Value {
    let mut shown = withdrawal.clone();
    shown.approval_token = None;
    serde_json::to_value(&shown).expect("withdrawals serialize")
}

/// The ledger transfer that reserves the withdrawal's funds. Prefixed, so a withdrawal id can
/// never collide with a deposit's credit (whose transfer id is the bare deposit id).
pub fn reservation_id(withdrawal_id: &str) -> Result<TransferId> {
    TransferId::new("withdrawal_id", &format!("wd:{withdrawal_id}"))
}

fn release_id(withdrawal_id: &str) -> Result<TransferId> {
    TransferId::new("withdrawal_id", &format!("wd:{withdrawal_id}:released"))
}

fn settlement_id(withdrawal_id: &str) -> Result<TransferId> {
    TransferId::new("withdrawal_id", &format!("wd:{withdrawal_id}:paid"))
}

/// The wallet a withdrawal's money is reserved in.
pub fn wallet(withdrawal: &Withdrawal) -> Result<AccountId> {
    AccountId::client_wallet(&withdrawal.client_id, withdrawal.amount.currency())
}

/// What a step does to the withdrawal's reservation, committed with its new state.
pub(crate) enum Reservation {
    Keep,
    Release,
    /// Pays it out to the provider's clearing account.
    Settle {
        provider: String,
    },
}

/// Stages `after` over `before` with its audit event `action`, and the ledger entry that closes
/// the reservation when the step does.
pub(crate) async fn stage_step(
    services: &Services,
    ctx: &OpContext,
    before: &Audited<Withdrawal>,
    after: &Withdrawal,
    action: &str,
    reservation: Reservation,
    changes: &mut Changeset,
) -> Result<()> {
    changes.update(ctx, services.ids.as_ref(), before, after, action, vec![])?;
    let id = &after.id;
    let request: Request = match reservation {
        Reservation::Keep => return Ok(()),
        Reservation::Release => Release {
            transfer_id: release_id(id)?,
            reservation: reservation_id(id)?,
            memo: format!("withdrawal {id} {}", after.status.as_str()),
        }
        .into(),
        Reservation::Settle { provider } => Settle {
            transfer_id: settlement_id(id)?,
            reservation: reservation_id(id)?,
            to: AccountId::provider_clearing(&provider, after.amount.currency())?,
            fee: None,
            memo: format!("withdrawal {id} paid via {provider}"),
        }
        .into(),
    };
    match brokeros_ledger::stage(services, ctx, &request, changes).await? {
        Staged::New(_) => Ok(()),
        // The withdrawal's state decides whether its reservation is closed, and both commit
        // together: a closing entry already posted for a withdrawal still holding funds means
        // the two disagree.
        Staged::Replayed(_) => Err(Error::Internal(format!(
            "withdrawal {id}: the reservation was closed while the withdrawal still held it"
        ))),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWithdrawal {
    /// Chosen by the caller (the portal), so a retried request withdraws once.
    pub withdrawal_id: String,
    /// A decimal string (`brokeros_kernel::money::amount`).
    #[serde(deserialize_with = "brokeros_kernel::money::amount::deserialize")]
    pub amount: Decimal,
    pub currency: String,
    pub method: PaymentMethod,
    /// The card, account or address reference the money goes to.
    pub destination: String,
}

/// Requests a withdrawal for a client (the client themself, or finance or an admin on their
/// behalf): the withdrawal, the reservation of its funds and the start of its workflow (an
/// outbox entry, carried out at once and by the relay should this process stop first) commit
/// together; the execution is named after the withdrawal, so a retry cannot start two. The
/// same withdrawal id again with the same content answers the withdrawal as it is now; with
/// other content it is refused.
pub async fn create(
    services: &Services,
    principal: &Principal,
    client_id: &str,
    body: NewWithdrawal,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    principal.require_any(
        &[Role::Client, Role::Finance, Role::Admin],
        "request withdrawals",
    )?;
    let client_id = normalize::code("client_id", client_id, 80)?;
    let id = normalize::code("withdrawal_id", &body.withdrawal_id, 80)?;
    let amount = Money::positive_in(body.amount, &body.currency)?;
    let destination = normalize::required_text("destination", &body.destination, 200)?;
    let workflow = services.workflow()?;
    let wallet = AccountId::client_wallet(&client_id, amount.currency())?;
    let request = Reserve {
        transfer_id: reservation_id(&id)?,
        wallet: wallet.clone(),
        amount: amount.amount(),
        memo: format!("withdrawal {id}"),
    };
    let (id, client_id, destination, request) = (&id, &client_id, &destination, &request);
    let method = body.method;
    let mut answer = in_turn(
        std::slice::from_ref(&wallet),
        execute(services, key, || {
            Box::pin(async move {
                let ctx = brokeros_kernel::user_ctx(services, principal, correlation_id);
                let client = load_client(services, client_id).await?;
                authorize_client_read(principal, &client.entity)?;
                let mut changes = Changeset::new();
                if let Some(existing) = services.find::<Withdrawal>(id).await? {
                    let w = &existing.entity;
                    let same = w.client_id == *client_id
                        && w.amount == amount
                        && w.method == method
                        && repo::destination(services, id).await? == *destination;
                    if !same {
                        return Err(Error::conflict(
                            "withdrawal_id_reused",
                            format!("withdrawal {id} exists with other content; choose a new withdrawal_id"),
                        ));
                    }
                    return Ok((Answer::accepted(view(w)), changes));
                }
                // A client whose approval a profile change voided withdraws nothing until KYC
                // approves them again (unless the re-verification's rules allow it).
                client.entity.check_withdrawal_request()?;
                let wallets = brokeros_ledger::balances_of_client(services, client_id).await?;
                if !wallets.iter().any(|b| b.account == request.wallet) {
                    return Err(Error::invalid(
                        "currency_mismatch",
                        "currency",
                        format!(
                            "client {client_id} has no {} wallet to withdraw from",
                            amount.currency().code
                        ),
                    ));
                }
                let withdrawal = Withdrawal {
                    id: id.clone(),
                    client_id: client_id.clone(),
                    amount,
                    method,
                    destination: mask_number(destination),
                    status: WithdrawalStatus::Requested,
                    requested_by: principal.sub.clone(),
                    requirement: None,
                    approvals: Vec::new(),
                    reasons: Vec::new(),
                    provider: None,
                    payout_reference: None,
                    approval_token: None,
                    failure: None,
                    requested_at: ctx.now,
                    updated_at: ctx.now,
                };
                changes.create(
                    &ctx,
                    services.ids.as_ref(),
                    &withdrawal,
                    "withdrawal.requested",
                )?;
                repo::stage_destination(&mut changes, id, destination)?;
                let input = json!({
                    "withdrawal_id": id,
                    "client_id": client_id,
                    "approval_timeout_seconds": services.config.withdrawals.approval_timeout_seconds,
                });
                let start = outbox::Effect::start_workflow(Machine::Withdrawal, id, input);
                outbox::stage(&mut changes, start, ctx.now)?;
                // Refused (insufficient funds) before anything is written.
                let reserve = Request::from(request.clone());
                if let Staged::Replayed(_) =
                    brokeros_ledger::stage(services, &ctx, &reserve, &mut changes).await?
                {
                    return Err(Error::Internal(format!(
                        "withdrawal {id}: its reservation exists without the withdrawal"
                    )));
                }
                Ok((Answer::accepted(view(&withdrawal)), changes))
            })
        }),
    )
    .await?;
    // Also for a replayed request: a start its first attempt committed and did not carry out
    // (a crash in between) is carried out now, if the relay has not done it yet.
    outbox::carry_out(
        services,
        &outbox::workflow_start_id(Machine::Withdrawal, id),
    )
    .await?;
    if answer.body["status"] == WithdrawalStatus::Requested.as_str() {
        answer.body["execution_arn"] = json!(workflow.execution_arn(Machine::Withdrawal, id)?);
    }
    Ok(answer)
}

/// The newest `limit` withdrawals of a client as the wallet shows them (amount and status),
/// for a caller that has already been allowed to read the client.
pub async fn summaries(
    services: &brokeros_kernel::Core,
    client_id: &str,
    limit: u32,
) -> Result<Vec<Value>> {
    let latest = repo::latest_of_client(services, client_id, limit).await?;
    Ok(latest
        .iter()
        .map(|w| {
            json!({
                "withdrawal_id": w.id,
                "amount": w.amount.amount(),
                "currency": w.amount.currency().code,
                "status": w.status.as_str(),
                "requested_at": w
                    .requested_at
                    .format(&time::format_description::well_known::Rfc3339)
                    .ok(),
            })
        })
        .collect())
}

pub use brokeros_kernel::QueueFilter;

/// The finance queue: withdrawals in a status (awaiting approval unless asked), oldest first.
pub async fn queue(
    services: &Services,
    principal: &Principal,
    filter: QueueFilter,
) -> Result<Value> {
    principal.require_any(&[Role::Finance, Role::Admin], "read the withdrawal queue")?;
    let status = filter.status.as_deref().unwrap_or("awaiting_approval");
    let status: WithdrawalStatus = serde_json::from_value(json!(status)).map_err(|_| {
        Error::invalid(
            "invalid_status",
            "status",
            "status must be requested, awaiting_approval, approved, paid, rejected, expired or payout_failed",
        )
    })?;
    repo::withdrawals_in_status(services, status, filter).await
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[schema(as = WithdrawalApprovalRequest)]
#[serde(deny_unknown_fields)]
pub struct Approval {}

/// What a decision answers over the API, and the task token of the workflow waiting for it.
/// The token is never stored with the answer: an idempotent replay has no workflow to tell.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
struct Decided {
    answer: Answer,
    #[serde(skip)]
    token: Option<String>,
}

/// Adds the caller's approval, as the withdrawal's approval process decides it (maker-checker:
/// never the requester, never twice by one person, the second of two an admin's). The last
/// required approval commits the withdrawal as approved and then answers the waiting workflow,
/// which pays it out; should that answer not arrive, the workflow's deadline finds the
/// withdrawal approved and pays it out all the same.
pub async fn approve(
    services: &Services,
    principal: &Principal,
    id: &str,
    _body: Approval,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    principal.require_any(&[Role::Finance, Role::Admin], "approve withdrawals")?;
    let id = normalize::code("withdrawal_id", id, 80)?;
    let workflow = services.workflow()?;
    let id = &id;
    let decided = execute(services, key, || {
        Box::pin(async move {
            let ctx = brokeros_kernel::user_ctx(services, principal, correlation_id);
            let before = services.get::<Withdrawal>(id).await?;
            let mut withdrawal = before.entity.clone();
            withdrawal.approvable()?;
            let mut changes = Changeset::new();
            let approval = brokeros_approvals::decide(
                services,
                &ctx,
                &approval_id(id),
                principal,
                Vote::Approve,
                &mut changes,
            )
            .await?
            .map_err(refused_decision)?;
            let done = withdrawal.follow_approval(&approval.process, ctx.now)?;
            let (action, token) = if done {
                ("withdrawal.approved", before.entity.approval_token.clone())
            } else {
                ("withdrawal.approval_added", None)
            };
            changes.update(
                &ctx,
                services.ids.as_ref(),
                &before,
                &withdrawal,
                action,
                vec![],
            )?;
            let answer = Answer::done(view(&withdrawal));
            Ok((Decided { answer, token }, changes))
        })
    })
    .await?;
    if let Some(token) = decided.token {
        answer(
            workflow
                .task_success(&token, json!({ "decision": "approved" }))
                .await,
            id,
        );
    }
    Ok(decided.answer)
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rejection {
    pub reason: String,
}

/// Rejects a withdrawal that is not approved yet, its approval process rejected by the caller
/// when it has one: its reservation is released in the same transaction, then the waiting
/// workflow is told.
pub async fn reject(
    services: &Services,
    principal: &Principal,
    id: &str,
    body: Rejection,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    principal.require_any(&[Role::Finance, Role::Admin], "reject withdrawals")?;
    let id = normalize::code("withdrawal_id", id, 80)?;
    let reason = normalize::required_text("reason", &body.reason, 500)?;
    let workflow = services.workflow()?;
    // The wallet never changes, so it may be read before the turn on it is taken.
    let wallet = wallet(&services.get::<Withdrawal>(&id).await?.entity)?;
    let (id, reason) = (&id, &reason);
    let decided = in_turn(
        std::slice::from_ref(&wallet),
        execute(services, key, || {
            Box::pin(async move {
                let ctx = brokeros_kernel::user_ctx(services, principal, correlation_id);
                let before = services.get::<Withdrawal>(id).await?;
                let mut withdrawal = before.entity.clone();
                withdrawal.reject(format!("finance: {reason}"), ctx.now)?;
                let mut changes = Changeset::new();
                // Not checked yet, it has no approval process to decide.
                if before.entity.status == WithdrawalStatus::AwaitingApproval {
                    brokeros_approvals::decide(
                        services,
                        &ctx,
                        &approval_id(id),
                        principal,
                        Vote::Reject { reason },
                        &mut changes,
                    )
                    .await?
                    .map_err(refused_decision)?;
                }
                stage_step(
                    services,
                    &ctx,
                    &before,
                    &withdrawal,
                    "withdrawal.rejected",
                    Reservation::Release,
                    &mut changes,
                )
                .await?;
                let answer = Answer::done(view(&withdrawal));
                let token = before.entity.approval_token.clone();
                Ok((Decided { answer, token }, changes))
            })
        }),
    )
    .await?;
    if let Some(token) = decided.token {
        let cause = json!({ "withdrawal_id": id }).to_string();
        answer(
            workflow
                .task_failure(&token, WITHDRAWAL_REJECTED, &cause)
                .await,
            id,
        );
    }
    Ok(decided.answer)
}

/// A decision is committed before the workflow is told, so a failed answer loses nothing: the
/// approval deadline finds the decision on the withdrawal and follows it.
fn answer(result: Result<()>, id: &str) {
    if let Err(e) = brokeros_kernel::workflow::unless_not_waiting(result) {
        tracing::warn!(
            withdrawal_id = %id,
            error = %e,
            "the workflow was not told of the decision; its deadline will pick it up"
        );
    }
}
