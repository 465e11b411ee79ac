//! The deposit workflow's task handlers (`statemachines/deposit.asl.json`).
//!
//! `deposit-routing` routes a deposit to the next eligible provider and asks it for a payment
//! (`route`), parks the workflow's token while the provider's result is awaited (`await`),
//! expires it (`expire`) and records an unexpected failure (`fail`); `deposit-funding` moves the
//! credited amount on to the client's trading account (`fund`) or back to the wallet when the
//! platform refuses it (`return`). Each commits its state change with its audit event in one
//! transaction and may run any number of times: a retried task finds its own earlier work.

use crate::deposits::model::{AttemptResult, Deposit, DepositStatus, Funding};
use crate::funding::{self, Booking, Place};
use crate::model::RiskLevel;
use crate::model::routing::{Attempt, AttemptOutcome, DepositIntent, FallbackStop};
use crate::model::stats::Outcome;
use brokeros_kernel::{Error, Result};
use brokeros_ledger::model::{Request, Reverse, TransferId};
use brokeros_trading::BalanceOperationKind;
use std::future::Future;
use std::pin::Pin;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::Services;
use crate::psp::{GatewayError, PaymentRequest};
use crate::routing::{
    active_routing_rules, load_routing_stats, outcome_increment, routing_rules_version,
};
use brokeros_kernel::OpContext;
use brokeros_kernel::changeset::Changeset;
use brokeros_kernel::idempotency::execute;
use brokeros_kernel::workflow::parse;
use brokeros_onboarding::kyc::model::DepositRule;
use brokeros_onboarding::load_client;
use brokeros_trading::platform_error;

/// The Lambda functions the deposit definition calls, by function name.
/// The task functions the deposit definition calls: one Lambda function each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DepositFunction {
    Routing,
    Funding,
}

impl DepositFunction {
    pub const ALL: [DepositFunction; 2] = [DepositFunction::Routing, DepositFunction::Funding];

    pub const fn name(self) -> &'static str {
        match self {
            DepositFunction::Routing => "deposit-routing",
            DepositFunction::Funding => "deposit-funding",
        }
    }
}

/// The longest error text kept on a deposit from a workflow failure.
const MAX_FAILURE_CHARS: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Action {
    Route,
    Await,
    Expire,
    Fail,
    Fund,
    Return,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DepositTask {
    action: Action,
    deposit_id: String,
    /// `$$.Execution.Id`: the actor of the task's audit events and their correlation id.
    execution_id: String,
    /// `await` only.
    #[serde(default)]
    task_token: Option<String>,
    /// `fail` and `return`: the error the workflow caught.
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    cause: Option<String>,
}

impl DepositTask {
    fn ctx(&self, services: &Services) -> OpContext {
        brokeros_kernel::workflow_ctx(services, &self.execution_id)
    }

    fn failure(&self) -> String {
        let text = format!(
            "{}: {}",
            self.error.as_deref().unwrap_or("unknown error"),
            self.cause.as_deref().unwrap_or("")
        );
        text.chars().take(MAX_FAILURE_CHARS).collect()
    }
}

pub async fn run(services: &Services, function: DepositFunction, payload: Value) -> Result<Value> {
    let task: DepositTask = parse(payload)?;
    let allowed = match function {
        DepositFunction::Routing => matches!(
            task.action,
            Action::Route | Action::Await | Action::Expire | Action::Fail
        ),
        DepositFunction::Funding => matches!(task.action, Action::Fund | Action::Return),
    };
    if !allowed {
        return Err(Error::invalid(
            "invalid_task_input",
            "action",
            format!("{} does not run {:?}", function.name(), task.action),
        ));
    }
    match task.action {
        Action::Route => route(services, &task).await,
        Action::Await => await_result(services, &task).await,
        Action::Expire => expire(services, &task).await,
        Action::Fail => fail(services, &task).await,
        Action::Fund => fund(services, &task).await,
        Action::Return => return_to_wallet(services, &task).await,
    }
}

/// What an edit of a deposit answers: the deposit as it should be, and the writes to commit
/// with it.
type Edited<'e> = Pin<Box<dyn Future<Output = Result<(Deposit, Changeset)>> + Send + 'e>>;

/// Loads the deposit, lets `edit` change it and stage more writes, and commits the deposit with
/// its audit event `action` — nothing when the edit changed nothing. Retried on a concurrent
/// change, so `edit` always sees the deposit as it is. Answers the deposit as committed.
async fn update_deposit<'e, F>(
    services: &'e Services,
    task: &'e DepositTask,
    action: &'e str,
    edit: F,
) -> Result<Deposit>
where
    F: Fn(Deposit, OpContext) -> Edited<'e> + Send + Sync + 'e,
{
    let edit = &edit;
    execute(services, None, || {
        Box::pin(async move {
            let ctx = task.ctx(services);
            let before = services.get::<Deposit>(&task.deposit_id).await?;
            let (deposit, mut changes) = edit(before.entity.clone(), ctx.clone()).await?;
            if deposit != before.entity {
                changes.update(
                    &ctx,
                    services.ids.as_ref(),
                    &before,
                    &deposit,
                    action,
                    vec![],
                )?;
            }
            Ok((deposit, changes))
        })
    })
    .await
}

fn route_output(outcome: &str, deposit: &Deposit) -> Value {
    let open = deposit.current_attempt();
    json!({
        "outcome": outcome,
        "attempt": open.map(|a| a.number),
        "provider": open.map(|a| a.provider.clone()),
    })
}

/// How a closed attempt counts for the fallback.
fn fallback_attempts(deposit: &Deposit) -> Vec<Attempt> {
    deposit
        .attempts
        .iter()
        .filter_map(|a| {
            let outcome = match a.result.as_ref()? {
                AttemptResult::Declined { .. } => AttemptOutcome::Declined,
                AttemptResult::Unavailable { .. } => AttemptOutcome::Failed,
                AttemptResult::TimedOut => AttemptOutcome::TimedOut,
                AttemptResult::Succeeded { .. } => return None,
            };
            Some(Attempt {
                provider_id: a.provider.clone(),
                outcome,
            })
        })
        .collect()
}

/// The client's routing risk level, from the KYC decision of their onboarding.
async fn risk_level(services: &Services, client_id: &str) -> Result<RiskLevel> {
    let client = load_client(services, client_id).await?;
    let decision = brokeros_onboarding::kyc::latest_decision(services, &client.entity).await?;
    Ok(RiskLevel::of_kyc(decision.as_ref()))
}

/// The next provider to ask under the rules version the deposit was first routed with:
/// `Ok((provider, why it was chosen, rules version))`, or `Err(why nobody is left)`.
async fn next_provider(
    services: &Services,
    deposit: &Deposit,
    risk_level: RiskLevel,
    now: time::OffsetDateTime,
) -> Result<std::result::Result<(String, String, u32), String>> {
    let rules = match deposit.routing_version {
        Some(version) => routing_rules_version(services, version).await?,
        None => active_routing_rules(services).await?,
    };
    let stats = load_routing_stats(services, &rules, now).await?;
    let intent = DepositIntent {
        client_id: deposit.client_id.clone(),
        amount: deposit.amount,
        method: deposit.method,
        country: deposit.country.clone(),
        risk_level,
        requested_at: deposit.created_at,
    };
    let decision = rules.route(&intent, &stats);
    let fallback = decision.next_after(&fallback_attempts(deposit));
    match fallback.next {
        Some(candidate) => Ok(Ok((
            candidate.provider_id.clone(),
            format!("rules v{}: {candidate}", rules.version()),
            rules.version(),
        ))),
        None => {
            let why = match fallback.stop {
                Some(FallbackStop::MaxAttemptsReached { max_attempts }) => {
                    format!("{max_attempts} providers tried, the most the rules allow")
                }
                _ if deposit.attempts.is_empty() => format!(
                    "no provider takes this deposit under rules v{} ({} excluded)",
                    rules.version(),
                    decision.excluded.len()
                ),
                _ => "every eligible provider was tried".to_string(),
            };
            Ok(Err(why))
        }
    }
}

/// Asks providers in the rules' order until one takes the deposit; an unreachable provider is
/// recorded as a failed attempt and the next one asked. An attempt is recorded only with the
/// provider's answer, so an open attempt always has its payment.
async fn route(services: &Services, task: &DepositTask) -> Result<Value> {
    let mut deposit = services.get::<Deposit>(&task.deposit_id).await?.entity;
    let mut risk = None;
    loop {
        match deposit.status {
            DepositStatus::Created | DepositStatus::AwaitingProvider => {}
            status => return Ok(route_output(status.as_str(), &deposit)),
        }
        if deposit.current_attempt().is_some() {
            return Ok(route_output("awaiting_payment", &deposit));
        }
        let risk_level = match risk {
            Some(level) => level,
            None => *risk.insert(risk_level(services, &deposit.client_id).await?),
        };
        let now = services.clock.now();
        let (provider, why, version) =
            match next_provider(services, &deposit, risk_level, now).await? {
                Ok(next) => next,
                Err(why) => {
                    deposit = decline(services, task, why).await?;
                    continue;
                }
            };
        let number = deposit.next_attempt_number();
        let request = PaymentRequest {
            deposit_id: deposit.id.clone(),
            attempt: number,
            client_id: deposit.client_id.clone(),
            amount: deposit.amount,
            method: deposit.method,
            country: deposit.country.clone(),
        };
        let asked = services.gateway.create_payment(&provider, &request).await;
        if let Err(GatewayError::UnknownProvider(name)) = &asked {
            tracing::error!(provider = %name, "routing chose a provider with no adapter configured");
        }
        let action = if asked.is_ok() {
            "deposit.routed"
        } else {
            "deposit.provider_unavailable"
        };
        let (provider, why, asked) = (&provider, &why, &asked);
        deposit = update_deposit(services, task, action, move |mut deposit, ctx| {
            Box::pin(async move {
                let mut changes = Changeset::new();
                if deposit.next_attempt_number() != number
                    || deposit.current_attempt().is_some()
                    || deposit.status.is_final()
                {
                    // Another run of this task got there first.
                    return Ok((deposit, changes));
                }
                deposit.start_attempt(provider, why, version, ctx.now)?;
                match asked {
                    Ok(session) => deposit.payment_created(
                        session.provider_reference.clone(),
                        session.payment_url.clone(),
                        ctx.now,
                    )?,
                    Err(e) => {
                        deposit.close_attempt(
                            AttemptResult::Unavailable {
                                reason: e.to_string(),
                            },
                            ctx.now,
                        )?;
                        changes.put(
                            outcome_increment(
                                services,
                                provider,
                                Outcome::Failed,
                                ctx.now,
                                &deposit.id,
                            )
                            .await?,
                        );
                    }
                }
                Ok((deposit, changes))
            })
        })
        .await?;
    }
}

/// No provider left: the deposit ends as declined.
async fn decline(services: &Services, task: &DepositTask, why: String) -> Result<Deposit> {
    let why = &why;
    update_deposit(
        services,
        task,
        "deposit.declined",
        move |mut deposit, ctx| {
            Box::pin(async move {
                if !deposit.status.is_final() {
                    deposit.end(DepositStatus::Declined, ctx.now)?;
                    deposit.provider_result_token = None;
                    deposit.payment_url = None;
                    deposit.declined_because = Some(why.clone());
                }
                Ok((deposit, Changeset::new()))
            })
        },
    )
    .await
}

/// Parks the workflow's token on the deposit; answers it at once when the provider's result
/// was applied before the token was parked.
async fn await_result(services: &Services, task: &DepositTask) -> Result<Value> {
    let token = task.task_token.clone().ok_or_else(|| {
        Error::invalid("invalid_task_input", "task_token", "task_token is required")
    })?;
    let parked = &token;
    let deposit = update_deposit(
        services,
        task,
        "deposit.awaiting_payment",
        move |mut deposit, ctx| {
            Box::pin(async move {
                deposit.await_result(parked.clone(), ctx.now);
                Ok((deposit, Changeset::new()))
            })
        },
    )
    .await?;
    super::answer_waiting(services, &deposit, &token).await?;
    Ok(json!({ "deposit_id": deposit.id, "status": deposit.status.as_str() }))
}

/// No result in time: the deposit expires, unless the result was applied meanwhile.
async fn expire(services: &Services, task: &DepositTask) -> Result<Value> {
    let deposit = update_deposit(services, task, "deposit.expired", |mut deposit, ctx| {
        Box::pin(async move {
            let mut changes = Changeset::new();
            if deposit.status.is_final() {
                return Ok((deposit, changes));
            }
            if let Some(open) = deposit.current_attempt() {
                let provider = open.provider.clone();
                changes.put(
                    outcome_increment(services, &provider, Outcome::Failed, ctx.now, &deposit.id)
                        .await?,
                );
            }
            deposit.end(DepositStatus::Expired, ctx.now)?;
            deposit.provider_result_token = None;
            deposit.payment_url = None;
            Ok((deposit, changes))
        })
    })
    .await?;
    Ok(json!({ "outcome": deposit.status.as_str() }))
}

/// An unexpected error: the deposit is held for finance with it.
async fn fail(services: &Services, task: &DepositTask) -> Result<Value> {
    let why = &format!("the deposit workflow failed: {}", task.failure());
    update_deposit(
        services,
        task,
        "deposit.workflow_failed",
        move |mut deposit, ctx| {
            Box::pin(async move {
                if deposit.flags.last() != Some(why) {
                    deposit.workflow_failed(why.clone(), ctx.now);
                }
                Ok((deposit, Changeset::new()))
            })
        },
    )
    .await?;
    Ok(Value::Null)
}

/// The ledger transfer that moves a credited deposit from the wallet to the trading account.
fn funding_transfer_id(deposit_id: &str) -> Result<TransferId> {
    TransferId::new("deposit_id", &format!("{deposit_id}:funding"))
}

fn funding_output(deposit: &Deposit) -> Value {
    let (funding, login) = match &deposit.funding {
        Some(Funding::Pending { login }) => ("pending", Some(*login)),
        Some(Funding::Funded { login, .. }) => ("funded", Some(*login)),
        Some(Funding::Returned { login, .. }) => ("returned", Some(*login)),
        Some(Funding::Skipped { .. }) => ("skipped", None),
        None => ("none", None),
    };
    json!({ "funding": funding, "login": login })
}

/// Moves the credited amount to the client's trading account in the deposit's currency: the
/// ledger first (wallet → trading account, in the deposit's transaction), then the platform's
/// balance operation with the deposit id as operation id, so a retry books it once.
async fn fund(services: &Services, task: &DepositTask) -> Result<Value> {
    let mut deposit = services.get::<Deposit>(&task.deposit_id).await?.entity;
    if deposit.funding.is_none() {
        let client = load_client(services, &deposit.client_id).await?.entity;
        if client.deposit_rule() != DepositRule::Allowed {
            // Received while the client's KYC approval does not hold (re-verified after a
            // profile change): the money stays in the wallet, which withdrawals cannot empty
            // meanwhile, and the deposit records why.
            let why = format!(
                "held in the wallet: the client's KYC is {} (re-verification after a profile change)",
                client.kyc_status.as_str()
            );
            let held = update_deposit(
                services,
                task,
                "deposit.funding_held",
                move |mut deposit, ctx| {
                    let why = why.clone();
                    Box::pin(async move {
                        if deposit.funding.is_none() {
                            deposit.skip_funding(why, ctx.now)?;
                        }
                        Ok((deposit, Changeset::new()))
                    })
                },
            )
            .await?;
            return Ok(funding_output(&held));
        }
        let currency = deposit.amount.currency();
        let account = client
            .trading_accounts
            .iter()
            .find(|a| a.currency == currency.code)
            .map(|a| a.login);
        deposit = update_deposit(
            services,
            task,
            "deposit.funding_started",
            move |mut deposit, ctx| {
                Box::pin(async move {
                    let mut changes = Changeset::new();
                    if deposit.funding.is_some() {
                        return Ok((deposit, changes));
                    }
                    let Some(login) = account else {
                        deposit.skip_funding(
                            format!("the client has no trading account in {}", currency.code),
                            ctx.now,
                        )?;
                        return Ok((deposit, changes));
                    };
                    let transfer = funding::ledger_move(
                        funding_transfer_id(&deposit.id)?,
                        &deposit.client_id,
                        Place::Wallet,
                        Place::Account(login),
                        deposit.amount,
                        &format!("deposit {} to trading account {login}", deposit.id),
                    )?;
                    let staged = brokeros_ledger::stage(
                        services,
                        &ctx,
                        &Request::from(transfer),
                        &mut changes,
                    )
                    .await;
                    match staged {
                        Ok(_) => deposit.start_funding(login, ctx.now)?,
                        Err(Error::Conflict {
                            code: "insufficient_funds",
                            ..
                        }) => {
                            changes = Changeset::new();
                            deposit.skip_funding(
                                "the wallet no longer holds the amount (withdrawn or reserved)"
                                    .into(),
                                ctx.now,
                            )?;
                        }
                        Err(e) => return Err(e),
                    }
                    Ok((deposit, changes))
                })
            },
        )
        .await?;
    }
    let Some(Funding::Pending { login }) = deposit.funding else {
        return Ok(funding_output(&deposit));
    };
    let booking = funding::book(
        services,
        login,
        &deposit.id,
        BalanceOperationKind::Deposit,
        deposit.amount,
        &brokeros_trading::fitted_comment(&format!("Deposit {}", deposit.id)),
    )
    .await?;
    match booking {
        Booking::Booked(receipt) => record_funded(services, task, receipt.deal_id).await,
        // Failing the task by the platform's error name: the definition returns the money.
        Booking::Refused(e) => Err(platform_error(e)),
    }
}

/// Records the platform's deal on a deposit whose funding is pending.
async fn record_funded(services: &Services, task: &DepositTask, deal_id: u64) -> Result<Value> {
    let deposit = update_deposit(services, task, "deposit.funded", move |mut deposit, ctx| {
        Box::pin(async move {
            if matches!(deposit.funding, Some(Funding::Pending { .. })) {
                deposit.funded(deal_id, ctx.now)?;
            }
            Ok((deposit, Changeset::new()))
        })
    })
    .await?;
    Ok(funding_output(&deposit))
}

/// The platform did not confirm the funding after every retry. It may have booked it all the
/// same (each reply lost), so it is asked by the deposit's operation id first: a booked
/// funding is recorded as funded, and only one it never booked goes back to the wallet (the
/// wallet-to-account transfer reversed). A platform that cannot answer fails the task, to be
/// retried: money is never returned while the platform may hold it.
async fn return_to_wallet(services: &Services, task: &DepositTask) -> Result<Value> {
    let pending = services.get::<Deposit>(&task.deposit_id).await?.entity;
    if matches!(pending.funding, Some(Funding::Pending { .. }))
        && let Some(receipt) = funding::booked(services, &pending.id).await?
    {
        return record_funded(services, task, receipt.deal_id).await;
    }
    let why = &task.failure();
    let deposit = update_deposit(
        services,
        task,
        "deposit.funding_returned",
        move |mut deposit, ctx| {
            Box::pin(async move {
                let mut changes = Changeset::new();
                if !matches!(deposit.funding, Some(Funding::Pending { .. })) {
                    return Ok((deposit, changes));
                }
                let reverse = Reverse {
                    transfer_id: TransferId::new(
                        "deposit_id",
                        &format!("{}:funding-returned", deposit.id),
                    )?,
                    reverses: funding_transfer_id(&deposit.id)?,
                    memo: "the trading platform did not take the deposit".into(),
                };
                brokeros_ledger::stage(services, &ctx, &Request::from(reverse), &mut changes)
                    .await?;
                deposit.funding_returned(why.clone(), ctx.now)?;
                Ok((deposit, changes))
            })
        },
    )
    .await?;
    Ok(funding_output(&deposit))
}
