//! Internal transfers between a client's wallet and trading accounts (the rules are
//! [`model`]'s): the request, which checks the places and, out of the wallet, moves the money
//! in the ledger in the same commit as the pending transfer; then each platform step and the
//! ledger entries that follow it, one commit each with the transfer's audit event.
//!
//! Ids derive from the transfer's id, so nothing moves twice: the ledger move is
//! `xfer:<id>` (its reversal `xfer:<id>:reversed`), the platform's operations
//! `transfer:<id>:out`, `transfer:<id>:in` and `transfer:<id>:back` (prefixed: a deposit's
//! platform operation is its bare id). A platform that does not answer leaves the transfer
//! pending (202); the same request again resumes it, and so does [`resume_pending`] (the
//! payment-health schedule in AWS, a timer in `serve`) for a request nobody repeats — each
//! first asking the platform whether it booked the step before it is asked again.

pub mod model;
mod repo;

use std::sync::atomic::{AtomicBool, Ordering};
use utoipa::ToSchema;

use brokeros_kernel::audit::Actor;
use brokeros_kernel::changeset::{Audited, Changeset};
use brokeros_kernel::idempotency::{IdempotencyKey, chosen_id, execute};
use brokeros_kernel::money::Money;
use brokeros_kernel::paging::PageParams;
use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::{Answer, Error, OpContext, Result, normalize};
use brokeros_ledger::model::{AccountId, Request as LedgerRequest, Reverse, TransferId};
use brokeros_ledger::{Staged, in_turn};
use brokeros_onboarding::kyc::model::DepositRule;
use brokeros_onboarding::model::Client;
use brokeros_onboarding::{authorize_client_read, load_client};
use brokeros_trading::{BalanceOperationKind, TradingError};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use crate::Services;
use crate::funding::{self, Booking};
use model::{Endpoint, Failure, Request, Step, Transfer, TransferStatus};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTransfer {
    /// Chosen by the caller; without it, the request's `Idempotency-Key` is the transfer's id.
    #[serde(default)]
    pub transfer_id: Option<String>,
    pub from: Endpoint,
    pub to: Endpoint,
    /// A decimal string (`brokeros_kernel::money::amount`).
    #[serde(deserialize_with = "brokeros_kernel::money::amount::deserialize")]
    pub amount: Decimal,
    pub currency: String,
}

/// A transfer as the API shows it.
pub fn view(transfer: &Transfer) -> Value {
    serde_json::to_value(transfer).expect("transfers serialize")
}

fn move_id(id: &str) -> Result<TransferId> {
    TransferId::new("transfer_id", &format!("xfer:{id}"))
}

fn reversal_id(id: &str) -> Result<TransferId> {
    TransferId::new("transfer_id", &format!("xfer:{id}:reversed"))
}

/// The platform's operation id of a transfer's step (`out`, `in`, `back`).
fn operation_id(id: &str, step: &str) -> String {
    format!("transfer:{id}:{step}")
}

/// The client, for a caller who may move their money: the client themself (another client is
/// forbidden, as on every client route), finance or an admin.
async fn client_for(
    services: &Services,
    principal: &Principal,
    client_id: &str,
) -> Result<Audited<Client>> {
    principal.require_any(
        &[Role::Client, Role::Finance, Role::Admin],
        "transfer money",
    )?;
    let client = load_client(services, client_id).await?;
    authorize_client_read(principal, &client.entity)?;
    Ok(client)
}

/// Checks the request against the client's accounts: each login must be theirs, in the
/// transfer's currency; money goes onto an account only while deposits could fund it.
fn check_against(request: &Request, client: &Client) -> Result<()> {
    for (field, end) in [("from", &request.from), ("to", &request.to)] {
        if let Some(login) = end.login() {
            let held = client
                .trading_accounts
                .iter()
                .find(|a| a.login == login)
                .map(|a| a.currency.as_str());
            request.check_account(field, login, held)?;
        }
    }
    if request.to.login().is_some() && client.deposit_rule() != DepositRule::Allowed {
        return Err(Error::conflict(
            "funding_held",
            format!(
                "money stays in the wallet while the client's KYC is {}",
                client.kyc_status.as_str()
            ),
        ));
    }
    Ok(())
}

/// The ledger move of the whole transfer, staged into `changes` (it must be new: the transfer
/// and its move commit together).
async fn stage_move(
    services: &Services,
    ctx: &OpContext,
    transfer: &Transfer,
    changes: &mut Changeset,
) -> Result<()> {
    let request = funding::ledger_move(
        move_id(&transfer.id)?,
        &transfer.client_id,
        transfer.from.place(),
        transfer.to.place(),
        transfer.amount,
        &format!("transfer {}", transfer.id),
    )?;
    match brokeros_ledger::stage(services, ctx, &LedgerRequest::from(request), changes).await? {
        Staged::New(_) => Ok(()),
        Staged::Replayed(_) => Err(Error::Internal(format!(
            "transfer {}: its ledger move was posted while the transfer did not record it",
            transfer.id
        ))),
    }
}

/// Requests a transfer for a client and carries it as far as the platform lets it: 201 with
/// the transfer completed or failed (with the platform's reason), 202 while it is pending.
/// The same transfer id again with the same content answers the transfer (resumed if
/// pending); with other content it is refused. Bad input, another client's account and an
/// overdrawn wallet are refused with nothing written.
pub async fn create(
    services: &Services,
    principal: &Principal,
    client_id: &str,
    body: NewTransfer,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    let client_id = normalize::code("client_id", client_id, 80)?;
    let id = chosen_id(
        "transfer_id",
        body.transfer_id.as_deref(),
        key,
        "transfer_id_required",
    )?;
    let request = Request {
        id: id.clone(),
        client_id: client_id.clone(),
        from: body.from,
        to: body.to,
        amount: Money::positive_in(body.amount, &body.currency)?,
    };
    request.check()?;
    let wallet = AccountId::client_wallet(&client_id, request.amount.currency())?;
    let created = AtomicBool::new(false);
    let (request, created_ref) = (&request, &created);
    in_turn(
        std::slice::from_ref(&wallet),
        execute(services, key, || {
            Box::pin(async move {
                created_ref.store(false, Ordering::SeqCst);
                let client = client_for(services, principal, &request.client_id).await?;
                if let Some(existing) = services.find::<Transfer>(&request.id).await? {
                    if !request.matches(&existing.entity) {
                        return Err(Error::conflict(
                            "transfer_id_reused",
                            format!(
                                "transfer {} exists with other content; choose a new transfer_id",
                                request.id
                            ),
                        ));
                    }
                    return Ok((Answer::accepted(view(&existing.entity)), Changeset::new()));
                }
                check_against(request, &client.entity)?;
                let ctx = brokeros_kernel::user_ctx(services, principal, correlation_id);
                let mut transfer = Transfer::requested(request.clone(), &principal.sub, ctx.now);
                let mut changes = Changeset::new();
                if transfer.posts_first() {
                    // Out of the wallet: an overdraft is refused here, with nothing written.
                    stage_move(services, &ctx, &transfer, &mut changes).await?;
                    transfer.moved(ctx.now)?;
                }
                changes.create(&ctx, services.ids.as_ref(), &transfer, "transfer.requested")?;
                created_ref.store(true, Ordering::SeqCst);
                Ok((Answer::accepted(view(&transfer)), changes))
            })
        }),
    )
    .await?;
    let resumed = !created.load(Ordering::SeqCst);
    let by = Actor::user(principal);
    let transfer = match proceed(services, &by, correlation_id, &id, resumed).await {
        Ok(transfer) => transfer,
        // Recorded and due to move: the platform's silence leaves it pending (202), for the
        // same request or the sweep to resume.
        Err(Error::ProviderUnavailable { .. }) => services.get::<Transfer>(&id).await?.entity,
        Err(e) => return Err(e),
    };
    Ok(match transfer.status {
        TransferStatus::Pending => Answer::accepted(view(&transfer)),
        TransferStatus::Completed | TransferStatus::Failed => Answer::created(view(&transfer)),
    })
}

/// What the platform did with a step, as the transfer records it.
enum Outcome {
    Booked(u64),
    Refused {
        failure: Failure,
        returned_deal: Option<u64>,
    },
}

/// The platform's refusal as the transfer's failure.
fn failure(e: &TradingError) -> Failure {
    let code = match e {
        TradingError::AccountNotFound { .. } => "trading_account_not_found",
        TradingError::InsufficientFunds { .. } => "insufficient_free_margin",
        TradingError::InsufficientCredit { .. } => "insufficient_credit",
        TradingError::InvalidAmount(_) => "amount_refused",
        _ => "platform_refused",
    };
    Failure {
        code: code.to_string(),
        reason: e.to_string(),
    }
}

/// Books a step on the platform; a resumed transfer first asks whether the platform booked
/// it before (the reply lost in a crash).
async fn book_step(
    services: &Services,
    resumed: bool,
    login: u64,
    operation_id: &str,
    kind: BalanceOperationKind,
    transfer: &Transfer,
    comment: &str,
) -> Result<Booking> {
    if resumed && let Some(receipt) = funding::booked(services, operation_id).await? {
        return Ok(Booking::Booked(receipt));
    }
    funding::book(
        services,
        login,
        operation_id,
        kind,
        transfer.amount,
        comment,
    )
    .await
}

/// Carries the transfer's due steps out, one commit each, until none is due or the platform
/// does not answer (its error is returned; the transfer stays pending, to be resumed).
async fn proceed(
    services: &Services,
    by: &Actor,
    correlation_id: &str,
    id: &str,
    resumed: bool,
) -> Result<Transfer> {
    loop {
        let transfer = services.get::<Transfer>(id).await?.entity;
        let Some(step) = transfer.next_step() else {
            return Ok(transfer);
        };
        let (login, leg, kind, comment) = match step {
            Step::Withdraw { login } => (
                login,
                "out",
                BalanceOperationKind::Withdrawal,
                "Internal transfer out",
            ),
            Step::Deposit { login } => (
                login,
                "in",
                BalanceOperationKind::Deposit,
                "Internal transfer in",
            ),
            Step::Post => {
                return Err(Error::Internal(format!(
                    "transfer {id}: its ledger move commits with the step before it"
                )));
            }
        };
        let operation = operation_id(id, leg);
        let booking = book_step(
            services, resumed, login, &operation, kind, &transfer, comment,
        )
        .await?;
        let outcome = match booking {
            Booking::Booked(receipt) => Outcome::Booked(receipt.deal_id),
            Booking::Refused(e) => Outcome::Refused {
                failure: failure(&e),
                returned_deal: give_back(services, resumed, &transfer).await?,
            },
        };
        record(services, by, correlation_id, id, step, &outcome).await?;
    }
}

/// Between two accounts, the money the platform withdrew from the source goes back onto it
/// before the transfer may fail: the deal that did so.
async fn give_back(services: &Services, resumed: bool, transfer: &Transfer) -> Result<Option<u64>> {
    let Some(source) = transfer.undo().give_back_to else {
        return Ok(None);
    };
    let operation = operation_id(&transfer.id, "back");
    let kind = BalanceOperationKind::Deposit;
    let comment = "Internal transfer returned";
    match book_step(
        services, resumed, source, &operation, kind, transfer, comment,
    )
    .await?
    {
        Booking::Booked(receipt) => Ok(Some(receipt.deal_id)),
        Booking::Refused(e) => Err(Error::conflict(
            "transfer_not_returned",
            format!(
                "transfer {}: the target account refused the money and the source account {source} refused it back ({e}); finance must settle it",
                transfer.id
            ),
        )),
    }
}

/// Records what the platform did with `step`, with the ledger entries that follow it (the
/// move after a withdrawal; its reversal after a refusal) and the audit event, in one commit.
/// A step another run recorded meanwhile is left as it is.
async fn record(
    services: &Services,
    by: &Actor,
    correlation_id: &str,
    id: &str,
    step: Step,
    outcome: &Outcome,
) -> Result<Transfer> {
    execute(services, None, || {
        Box::pin(async move {
            let ctx = OpContext {
                actor: by.clone(),
                correlation_id: correlation_id.to_string(),
                now: services.clock.now(),
            };
            let before = services.get::<Transfer>(id).await?;
            let mut transfer = before.entity.clone();
            let mut changes = Changeset::new();
            if transfer.next_step() != Some(step) {
                return Ok((transfer, changes));
            }
            match outcome {
                Outcome::Booked(deal) => {
                    match step {
                        Step::Withdraw { .. } => transfer.withdrawn(*deal, ctx.now)?,
                        Step::Deposit { .. } => transfer.deposited(*deal, ctx.now)?,
                        Step::Post => {}
                    }
                    if transfer.next_step() == Some(Step::Post) {
                        stage_move(services, &ctx, &transfer, &mut changes).await?;
                        transfer.moved(ctx.now)?;
                    }
                }
                Outcome::Refused {
                    failure,
                    returned_deal,
                } => {
                    if transfer.undo().reverse_move {
                        let reverse = Reverse {
                            transfer_id: reversal_id(id)?,
                            reverses: move_id(id)?,
                            memo: format!("transfer {id} refused by the trading platform"),
                        };
                        brokeros_ledger::stage(
                            services,
                            &ctx,
                            &LedgerRequest::from(reverse),
                            &mut changes,
                        )
                        .await?;
                    }
                    transfer.refused(failure.clone(), *returned_deal, ctx.now)?;
                }
            }
            let action = match transfer.status {
                TransferStatus::Pending => "transfer.withdrawn",
                TransferStatus::Completed => "transfer.completed",
                TransferStatus::Failed => "transfer.failed",
            };
            changes.update(
                &ctx,
                services.ids.as_ref(),
                &before,
                &transfer,
                action,
                vec![],
            )?;
            Ok((transfer, changes))
        })
    })
    .await
}

/// Who resumes the transfers nobody repeated, in their audit events.
pub const TRANSFER_SWEEP: &str = "transfer-sweep";

/// How long a pending transfer is left to the request that started it before the sweep
/// resumes it: past any request's time, so the sweep does not race a request in flight (it
/// would be harmless — the platform books an operation id once — but noisy).
pub const RESUME_AFTER: Duration = Duration::minutes(2);

/// What one sweep of pending transfers did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Resumed {
    /// Ended now: completed or failed.
    pub ended: Vec<String>,
    /// Still pending: the platform did not answer again.
    pub pending: Vec<String>,
    /// Pending with money between two accounts that both refused it: finance must settle them.
    pub unsettled: Vec<String>,
}

/// Resumes every transfer pending since before `now - RESUME_AFTER` (at most `limit`, the
/// oldest first), as a request repeated by its client would, under the sweep's actor. A
/// transfer the platform still does not answer stays pending for the next sweep.
pub async fn resume_pending(
    services: &Services,
    now: OffsetDateTime,
    limit: u32,
) -> Result<Resumed> {
    let mut report = Resumed::default();
    let by = Actor::system(TRANSFER_SWEEP);
    for transfer in repo::pending(services, now - RESUME_AFTER, limit).await? {
        let correlation_id = format!("{TRANSFER_SWEEP}:{}", transfer.id);
        match proceed(services, &by, &correlation_id, &transfer.id, true).await {
            Ok(done) if done.status == TransferStatus::Pending => report.pending.push(done.id),
            Ok(done) => report.ended.push(done.id),
            Err(Error::Conflict {
                code: "transfer_not_returned",
                ..
            }) => report.unsettled.push(transfer.id),
            Err(Error::ProviderUnavailable { .. }) => report.pending.push(transfer.id),
            Err(e) => return Err(e),
        }
    }
    Ok(report)
}

/// A page of the client's transfers, newest first.
pub async fn list(
    services: &Services,
    principal: &Principal,
    client_id: &str,
    page: PageParams,
) -> Result<Value> {
    let client_id = normalize::code("client_id", client_id, 80)?;
    client_for(services, principal, &client_id).await?;
    repo::page_of_client(services, &client_id, page, view).await
}

/// One of the client's transfers (another client's is not found).
pub async fn get(
    services: &Services,
    principal: &Principal,
    client_id: &str,
    transfer_id: &str,
) -> Result<Value> {
    let client_id = normalize::code("client_id", client_id, 80)?;
    let transfer_id = normalize::code("transfer_id", transfer_id, 80)?;
    client_for(services, principal, &client_id).await?;
    match services.find::<Transfer>(&transfer_id).await? {
        Some(found) if found.entity.client_id == client_id => Ok(view(&found.entity)),
        _ => Err(Error::NotFound {
            entity: "transfer",
            id: transfer_id,
        }),
    }
}
