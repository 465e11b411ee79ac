//! Deposits: the intent a client creates, the provider attempts the deposit workflow records,
//! and the consumer of provider events that credits a wallet exactly once.
//!
//! Exactly once holds by construction, not by luck: the credit's ledger transfer id is the
//! deposit id (a second credit is a replay that writes nothing), the deposit's own state
//! refuses a second success ([`Deposit::apply`]), and the credit, the deposit's new state, the
//! provider's volume counter and the audit events commit in one transaction.

use crate::deposits::model::{Deposit, DepositStatus, Effect};
use crate::model::PaymentMethod;
use crate::model::events::PaymentEvent;
use brokeros_kernel::audit::Actor;
use brokeros_kernel::money::Money;
use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::{Error, Result, normalize};
use brokeros_ledger::model::{AccountId, Request, Transfer, TransferId};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::model::stats::Outcome;
use brokeros_kernel::Answer;
use brokeros_kernel::changeset::Changeset;
use brokeros_kernel::idempotency::{IdempotencyKey, execute};
use brokeros_onboarding::kyc::model::DepositRule;
use brokeros_onboarding::{ClientRecord, authorize_client_read, load_client};

use crate::psp::{EventQueue, Outcome as Handled, consume_once};
use crate::{Services, keys};
use brokeros_kernel::OpContext;
use brokeros_kernel::outbox;
use brokeros_kernel::workflow::Machine;

pub mod model;
pub mod per_day;
mod repo;
pub mod tasks;

pub use repo::latest_of_client;
use repo::unmatched_payment;

impl ClientRecord for Deposit {
    fn by_client(client_id: &str) -> String {
        keys::deposits_by_client(client_id)
    }

    fn client_id(&self) -> &str {
        &self.client_id
    }

    fn view(&self) -> Value {
        view(self)
    }
}

/// A deposit as the API shows it: never the workflow's task token.
pub fn view(deposit: &Deposit) -> Value {
    let mut shown = deposit.clone();
    shown.provider_result_token = None;
    serde_json::to_value(&shown).expect("deposits serialize")
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDeposit {
    /// Chosen by the caller (the payment page), so a retried request creates one deposit.
    pub deposit_id: String,
    /// A decimal string (`brokeros_kernel::money::amount`).
    #[serde(deserialize_with = "brokeros_kernel::money::amount::deserialize")]
    pub amount: Decimal,
    pub currency: String,
    pub method: PaymentMethod,
}

/// Creates a deposit intent for a client whose KYC is approved (or being re-verified under
/// rules that let deposits in): the client themself, their account manager, finance or an
/// admin.
pub async fn create(
    services: &Services,
    principal: &Principal,
    client_id: &str,
    body: NewDeposit,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    principal.require_any(
        &[Role::Client, Role::Sales, Role::Finance, Role::Admin],
        "create deposits",
    )?;
    let deposit_id = normalize::code("deposit_id", &body.deposit_id, 80)?;
    let amount = Money::positive_in(body.amount, &body.currency)?;
    let client_id = normalize::code("client_id", client_id, 80)?;
    let answer = execute(services, key, || {
        let (deposit_id, client_id) = (deposit_id.clone(), client_id.clone());
        Box::pin(async move {
            let client = load_client(services, &client_id).await?;
            authorize_client_read(principal, &client.entity)?;
            match client.entity.deposit_rule() {
                // Held: received and credited, but kept in the wallet (see `tasks::fund`).
                DepositRule::Allowed | DepositRule::Held => {}
                DepositRule::Blocked if client.entity.reverification.is_some() => {
                    return Err(Error::conflict(
                        "deposits_blocked",
                        "deposits are blocked while the client's KYC is re-verified after a profile change",
                    ));
                }
                DepositRule::Blocked => {
                    return Err(Error::conflict(
                        "kyc_not_approved",
                        "deposits are open to clients whose KYC is approved",
                    ));
                }
            }
            if let Some(existing) = services.find::<Deposit>(&deposit_id).await? {
                let same = existing.entity.client_id == client_id
                    && existing.entity.amount == amount
                    && existing.entity.method == body.method;
                if !same {
                    return Err(Error::conflict(
                        "deposit_id_reused",
                        "a deposit with this id exists with other content",
                    ));
                }
                return Ok((Answer::created(view(&existing.entity)), Changeset::new()));
            }
            let ctx = brokeros_kernel::user_ctx(services, principal, correlation_id);
            let deposit = Deposit {
                id: deposit_id,
                client_id: client_id.clone(),
                amount,
                method: body.method,
                country: client.entity.country.clone(),
                status: DepositStatus::Created,
                attempts: Vec::new(),
                routing_version: None,
                payment_url: None,
                funding: None,
                declined_because: None,
                flags: Vec::new(),
                provider_result_token: None,
                created_at: ctx.now,
                updated_at: ctx.now,
            };
            let mut changes = Changeset::new();
            changes.create(&ctx, services.ids.as_ref(), &deposit, "deposit.created")?;
            let start = workflow_start(services, &deposit.id, &client_id);
            outbox::stage(&mut changes, start, ctx.now)?;
            Ok((Answer::created(view(&deposit)), changes))
        })
    })
    .await?;
    // Also for a replayed request: a start its first attempt committed and did not carry out
    // (a crash in between) is carried out now, if the relay has not done it yet.
    outbox::carry_out(
        services,
        &outbox::workflow_start_id(Machine::Deposit, &deposit_id),
    )
    .await?;
    Ok(answer)
}

/// The deposit's workflow start, named by the deposit id, staged in the deposit's commit: a
/// repeated start (a retried request, the outbox relay after a crash) finds the execution
/// already there.
fn workflow_start(services: &Services, deposit_id: &str, client_id: &str) -> outbox::Effect {
    let input = json!({
        "deposit_id": deposit_id,
        "client_id": client_id,
        "payment_timeout_seconds": services.config.deposits.payment_timeout_seconds,
    });
    outbox::Effect::start_workflow(Machine::Deposit, deposit_id, input)
}

/// A client's latest deposits with their status, for the wallet view.
pub async fn summaries(
    services: &brokeros_kernel::Core,
    client_id: &str,
    limit: u32,
) -> Result<Vec<Value>> {
    let deposits = latest_of_client(services, client_id, limit).await?;
    Ok(deposits
        .iter()
        .map(|d| {
            json!({
                "deposit_id": d.id,
                "amount": d.amount.amount(),
                "currency": d.amount.currency().code,
                "status": d.status.as_str(),
                "created_at": d
                    .created_at
                    .format(&time::format_description::well_known::Rfc3339)
                    .ok(),
            })
        })
        .collect())
}

/// What applying one provider event did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Applied {
    Credited,
    Declined {
        reason: String,
    },
    Flagged {
        why: String,
    },
    Nothing {
        why: String,
    },
    /// No such deposit: recorded for review.
    Unmatched,
}

impl Applied {
    /// The outcome as the `deposits_total` metric counts it (`brokeros_kernel::metrics::DEPOSITS`);
    /// `None` for an event that changed nothing (a repeated delivery, an interim status).
    pub fn metric_outcome(&self) -> Option<&'static str> {
        match self {
            Applied::Credited => Some("credited"),
            Applied::Declined { .. } => Some("declined"),
            Applied::Flagged { .. } => Some("flagged"),
            Applied::Unmatched => Some("unmatched"),
            Applied::Nothing { .. } => None,
        }
    }
}

/// Counts an applied provider event in `deposits_total`, by provider and outcome: what the
/// consumers (the SQS event source in AWS, [`consume`] locally) call with what
/// [`apply_event`] answered.
pub fn count_applied(event: &PaymentEvent, applied: &Applied) {
    if let Some(outcome) = applied.metric_outcome() {
        brokeros_kernel::metrics::DEPOSITS.inc(&[&event.provider, outcome]);
    }
}

/// Applies a provider event to its deposit: credits the wallet (clearing → wallet, transfer id
/// = deposit id) with the deposit's new state and the provider's volume in one transaction, or
/// records the decline or the flag. Safe to run any number of times, concurrently included.
pub async fn apply_event(services: &Services, event: &PaymentEvent) -> Result<Applied> {
    let ctx = OpContext {
        actor: Actor::system(&format!("psp:{}", event.provider)),
        correlation_id: event.dedup_id(),
        now: services.clock.now(),
    };
    let ctx = &ctx;
    // What the attempt that committed decided, and the deposit as it committed it.
    let (applied, deposit) = execute(services, None, || {
        Box::pin(async move {
            let mut changes = Changeset::new();
            let Some(before) = services.find::<Deposit>(&event.deposit_id).await? else {
                changes.put(unmatched_payment(event, ctx.now)?);
                return Ok(((Applied::Unmatched, None), changes));
            };
            let mut deposit = before.entity.clone();
            let effect = deposit.apply(event, ctx.now);
            let applied = match &effect {
                Effect::Credit => {
                    let currency = deposit.amount.currency();
                    let transfer = Transfer::between(
                        TransferId::new("deposit_id", &deposit.id)?,
                        AccountId::provider_clearing(&event.provider, currency)?,
                        AccountId::client_wallet(&deposit.client_id, currency)?,
                        deposit.amount.amount(),
                        &format!("deposit via {}", event.provider),
                    );
                    brokeros_ledger::stage(services, ctx, &Request::from(transfer), &mut changes)
                        .await?;
                    changes.put(
                        crate::routing::volume_increment(
                            services,
                            &event.provider,
                            deposit.amount,
                            ctx.now,
                            &deposit.id,
                        )
                        .await?,
                    );
                    changes.put(
                        crate::routing::outcome_increment(
                            services,
                            &event.provider,
                            Outcome::Succeeded,
                            ctx.now,
                            &deposit.id,
                        )
                        .await?,
                    );
                    Applied::Credited
                }
                Effect::Declined { reason } => {
                    changes.put(
                        crate::routing::outcome_increment(
                            services,
                            &event.provider,
                            Outcome::Declined,
                            ctx.now,
                            &deposit.id,
                        )
                        .await?,
                    );
                    Applied::Declined {
                        reason: reason.clone(),
                    }
                }
                Effect::Flag { why } => Applied::Flagged { why: why.clone() },
                Effect::Nothing { why } => Applied::Nothing { why: why.clone() },
            };
            if deposit != before.entity {
                let action = match &effect {
                    Effect::Credit => "deposit.credited",
                    Effect::Declined { .. } => "deposit.declined_by_provider",
                    Effect::Flag { .. } => "deposit.flagged",
                    Effect::Nothing { .. } => "deposit.event_noted",
                };
                changes.update(
                    ctx,
                    services.ids.as_ref(),
                    &before,
                    &deposit,
                    action,
                    vec![],
                )?;
            }
            Ok(((applied, Some(deposit)), changes))
        })
    })
    .await?;
    if let (Some(deposit), Some(token)) = (
        deposit.as_ref(),
        deposit
            .as_ref()
            .and_then(|d| d.provider_result_token.as_deref()),
    ) && !matches!(applied, Applied::Nothing { .. })
    {
        answer_waiting(services, deposit, token).await?;
    }
    Ok(applied)
}

/// Answers the workflow task waiting on `token` if the deposit's state decides it: success
/// once credited (or flagged: held for finance, the workflow ends), `PaymentDeclined` when the
/// provider asked last declined, so the definition routes to the next one. A token no longer
/// waiting (answered by the other path, or timed out) is not an error.
pub(crate) async fn answer_waiting(
    services: &Services,
    deposit: &Deposit,
    token: &str,
) -> Result<()> {
    let workflow = services.workflow()?;
    let answered = match (deposit.status, deposit.last_decline()) {
        (DepositStatus::Credited | DepositStatus::Flagged, _) => {
            workflow
                .task_success(token, json!({ "status": deposit.status.as_str() }))
                .await
        }
        (_, Some(reason)) => {
            workflow
                .task_failure(
                    token,
                    "PaymentDeclined",
                    &json!({ "reason": reason }).to_string(),
                )
                .await
        }
        _ => Ok(()),
    };
    brokeros_kernel::workflow::unless_not_waiting(answered)
}

/// One round of the consumer: receives up to `max` provider events, applies each in order per
/// deposit, acknowledges the applied ones and lets failed ones come back. Answers how many were
/// applied.
pub async fn consume(services: &Services, queue: &dyn EventQueue, max: u32) -> Result<usize> {
    let handled = consume_once(queue, max, |message| {
        let body = message.body.clone();
        async move {
            let event = PaymentEvent::from_message(&body).map_err(Error::Internal)?;
            let applied = apply_event(services, &event).await?;
            count_applied(&event, &applied);
            Ok::<(), Error>(())
        }
    })
    .await
    .map_err(|e| Error::Unavailable(e.to_string()))?;
    Ok(handled
        .iter()
        .filter(|(_, outcome)| matches!(outcome, Handled::Done))
        .count())
}

/// The local event consumer (an SQS event source mapping in AWS): applies queued provider
/// events as they come, polling every `interval` while the queue is empty. Runs until the
/// process ends; a failing round is logged and tried again.
pub async fn run_consumer(services: Services, interval: std::time::Duration) {
    loop {
        match consume(&services, services.psp_events.as_ref(), 10).await {
            Ok(0) => tokio::time::sleep(interval).await,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "payment event consumer round failed");
                tokio::time::sleep(interval).await;
            }
        }
    }
}
