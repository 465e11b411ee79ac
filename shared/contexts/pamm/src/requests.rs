//! Investors' requests: money in (reserved in the investor's wallet at once), money out, a
//! full exit or a stop level, each executed at the first rollover at least the offer's cut-off
//! away; cancelled by the investor until that cut-off. What can be refused now is refused now,
//! with nothing written (below the minimum investment, above the holding, a locked-up holding,
//! a manager below the minimum capital, a wallet short of the amount); what depends on the
//! rollover's NAV is decided there.

use brokeros_kernel::changeset::{Audited, Changeset};
use brokeros_kernel::idempotency::{IdempotencyKey, chosen_id, execute};
use brokeros_kernel::money::Currency;
use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::{Answer, Error, OpContext, PageParams, Result, normalize, user_ctx};
use brokeros_ledger::model::{AccountId, TransferId};
use brokeros_ledger::{Release, Reserve, Staged, in_turn};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::Services;
use crate::model::cycle::FundState;
use crate::model::fund::{Flow, Request, worth};
use crate::model::request::{Ask, InvestorRequest, RequestStatus, cancellable_until};
use crate::model::{Offer, OfferStatus};
use crate::repo;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[schema(as = PammAskKind)]
#[serde(rename_all = "snake_case")]
pub enum AskKind {
    Invest,
    Withdraw,
    Exit,
    Stop,
}

/// A request: `{"request_id"?, "kind", "amount"?, "stop_equity"?}` — an amount to invest or
/// withdraw, a stop level with an investment or alone (`stop`; none clears it).
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = PammNewRequest)]
#[serde(deny_unknown_fields)]
pub struct NewRequest {
    #[serde(default)]
    pub request_id: Option<String>,
    pub kind: AskKind,
    #[serde(default)]
    pub amount: Option<Decimal>,
    #[serde(default)]
    pub stop_equity: Option<Decimal>,
}

impl NewRequest {
    /// What is asked, each field where its kind wants it.
    fn ask(&self) -> Result<Ask> {
        let amount = || {
            self.amount
                .ok_or_else(|| Error::invalid("required", "amount", "this request needs an amount"))
        };
        let no_amount = || match self.amount {
            Some(_) => Err(Error::invalid(
                "not_allowed",
                "amount",
                "this request takes no amount",
            )),
            None => Ok(()),
        };
        let no_stop = || match self.stop_equity {
            Some(_) => Err(Error::invalid(
                "not_allowed",
                "stop_equity",
                "a stop level comes with an investment or on its own (kind stop)",
            )),
            None => Ok(()),
        };
        Ok(match self.kind {
            AskKind::Invest => Ask::Invest {
                amount: amount()?,
                stop_equity: self.stop_equity,
            },
            AskKind::Withdraw => {
                no_stop()?;
                Ask::Withdraw { amount: amount()? }
            }
            AskKind::Exit => {
                no_stop()?;
                no_amount()?;
                Ask::Exit
            }
            AskKind::Stop => {
                no_amount()?;
                Ask::Stop {
                    stop_equity: self.stop_equity,
                }
            }
        })
    }
}

/// Checks an ask's amounts against the offer's currency: positive, at its scale.
fn check_amounts(ask: &Ask, currency: Currency) -> Result<()> {
    let flow = match ask {
        Ask::Invest { amount, .. } => Flow::Deposit { amount: *amount },
        Ask::Withdraw { amount } => Flow::Withdrawal { amount: *amount },
        Ask::Exit | Ask::Stop { .. } => Flow::Exit,
    };
    let stop_equity = match ask {
        Ask::Invest { stop_equity, .. } | Ask::Stop { stop_equity } => *stop_equity,
        _ => None,
    };
    Request {
        id: String::new(),
        investor: String::new(),
        flow,
        stop_equity,
    }
    .validate(currency)
}

/// The calling client's id (investors and managers are clients).
pub(crate) async fn calling_client(services: &Services, principal: &Principal) -> Result<String> {
    principal.require_any(&[Role::Client], "invest in PAMM offers")?;
    brokeros_onboarding::client_id_of_user(services, &principal.sub)
        .await?
        .ok_or_else(|| Error::NotFound {
            entity: "client",
            id: principal.sub.clone(),
        })
}

/// An offer investors may see: approved (active or suspended); others are not found.
pub(crate) async fn visible_offer(services: &Services, offer_id: &str) -> Result<Offer> {
    let offer_id = normalize::code("offer_id", offer_id, 80)?;
    match services.find::<Offer>(&offer_id).await? {
        Some(stored) if stored.entity.status != OfferStatus::PendingApproval => Ok(stored.entity),
        _ => Err(Error::NotFound {
            entity: "PAMM offer",
            id: offer_id,
        }),
    }
}

/// The fund's state, or the state of a fund that has had no rollover.
pub(crate) async fn fund_state(services: &Services, offer: &Offer) -> Result<FundState> {
    Ok(match services.find::<FundState>(&offer.id).await? {
        Some(stored) => stored.entity,
        None => FundState::new(
            &offer.id,
            &offer.manager_client_id,
            offer.login,
            &offer.latest().terms.currency,
            offer.created_at,
        ),
    })
}

/// What the holder's units are worth at the fund's last NAV.
fn worth_now(units: Decimal, fund: &FundState, currency: Currency) -> Decimal {
    worth(units, fund.nav_after, currency.minor_unit().scale())
}

/// Refuses now what the rollover would refuse for certain.
async fn check_now(
    services: &Services,
    offer: &Offer,
    client_id: &str,
    ask: &Ask,
    due_at: time::OffsetDateTime,
) -> Result<()> {
    let terms = &offer.terms_at(due_at).terms;
    let currency = terms.currency()?;
    let fund = fund_state(services, offer).await?;
    let holding = repo::holding(services, &offer.id, client_id).await?;
    let is_manager = client_id == offer.manager_client_id;
    let pending_out: Decimal = pending_of(services, &offer.id, client_id)
        .await?
        .iter()
        .filter_map(|r| match r.ask {
            Ask::Withdraw { amount } => Some(amount),
            _ => None,
        })
        .sum();
    match ask {
        Ask::Invest { amount, .. } => {
            if !offer.takes_investments() {
                return Err(Error::conflict(
                    "offer_suspended",
                    format!("offer {} takes no investments now", offer.id),
                ));
            }
            if !is_manager {
                if holding.is_none() && *amount < terms.min_investment {
                    return Err(Error::invalid(
                        "below_minimum_investment",
                        "amount",
                        format!(
                            "the first investment is at least {} {}",
                            terms.min_investment, terms.currency
                        ),
                    ));
                }
                let capital = repo::holding(services, &offer.id, &offer.manager_client_id)
                    .await?
                    .map_or(Decimal::ZERO, |h| {
                        worth_now(h.holding.units, &fund, currency)
                    });
                if capital < terms.min_manager_capital {
                    return Err(Error::conflict(
                        "manager_below_minimum_capital",
                        format!(
                            "the manager's capital is below the offer's minimum of {} {}: no new investments",
                            terms.min_manager_capital, terms.currency
                        ),
                    ));
                }
            }
        }
        Ask::Withdraw { .. } | Ask::Exit | Ask::Stop { .. } => {
            let Some(stored) = &holding else {
                return Err(Error::conflict(
                    "no_holding",
                    format!("client {client_id} holds nothing in offer {}", offer.id),
                ));
            };
            let h = &stored.holding;
            if !is_manager
                && !matches!(ask, Ask::Stop { .. })
                && due_at < h.first_invested_at + terms.lockup()
            {
                return Err(Error::conflict(
                    "locked_up",
                    format!(
                        "the holding is locked up until {}",
                        h.first_invested_at + terms.lockup()
                    ),
                ));
            }
            if let Ask::Withdraw { amount } = ask {
                let available = worth_now(h.units, &fund, currency) - pending_out;
                if *amount > available {
                    return Err(Error::invalid(
                        "exceeds_holding",
                        "amount",
                        format!(
                            "the holding is worth {available} {} at the last NAV (less pending withdrawals)",
                            terms.currency
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// A client's pending requests to an offer.
async fn pending_of(
    services: &Services,
    offer_id: &str,
    client_id: &str,
) -> Result<Vec<InvestorRequest>> {
    Ok(repo::requests_of_client(services, offer_id, client_id)
        .await?
        .into_iter()
        .filter(|r| r.status == RequestStatus::Pending)
        .collect())
}

/// Makes a request (202 with it, pending). Refused with nothing written: a malformed body
/// (400, the field), an offer not found, a check above, an id taken by another request (409).
pub async fn submit(
    services: &Services,
    principal: &Principal,
    offer_id: &str,
    body: NewRequest,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    let client_id = calling_client(services, principal).await?;
    let id = chosen_id(
        "request_id",
        body.request_id.as_deref(),
        key,
        "request_id_required",
    )?;
    let ask = body.ask()?;
    let offer = visible_offer(services, offer_id).await?;
    let now = services.clock.now();
    let terms = &offer.terms_at(now).terms;
    let currency = terms.currency()?;
    check_amounts(&ask, currency)?;
    let due_at = terms.rollover.executes_at(now, terms.cutoff())?;
    let until = cancellable_until(due_at, terms.cutoff());
    let wallet = AccountId::client_wallet(&client_id, currency)?;
    let reservation = match ask.reserved() {
        Some(amount) => Some(Reserve {
            transfer_id: TransferId::new("request_id", &InvestorRequest::reservation_id(&id))?,
            wallet: wallet.clone(),
            amount,
            memo: format!("PAMM {} investment {id}", offer.id),
        }),
        None => None,
    };
    let (id, client_id, ask, offer) = (&id, &client_id, &ask, &offer);
    let reservation = &reservation;
    in_turn(
        std::slice::from_ref(&wallet),
        execute(services, key, move || {
            Box::pin(async move {
                let ctx = user_ctx(services, principal, correlation_id);
                let mut changes = Changeset::new();
                if let Some(existing) = services.find::<InvestorRequest>(id).await? {
                    let r = &existing.entity;
                    if r.client_id != *client_id || r.offer_id != offer.id || r.ask != *ask {
                        return Err(Error::conflict(
                            "request_id_reused",
                            format!(
                                "request {id} exists with other content; choose a new request_id"
                            ),
                        ));
                    }
                    return Ok((Answer::accepted(json!(r)), changes));
                }
                check_now(services, offer, client_id, ask, due_at).await?;
                let request = InvestorRequest {
                    id: id.clone(),
                    offer_id: offer.id.clone(),
                    client_id: client_id.clone(),
                    ask: ask.clone(),
                    status: RequestStatus::Pending,
                    due_at,
                    cancellable_until: until,
                    reservation: reservation
                        .as_ref()
                        .map(|r| r.transfer_id.as_str().to_string()),
                    rollover_id: None,
                    outcome: None,
                    created_by: principal.sub.clone(),
                    created_at: ctx.now,
                    updated_at: ctx.now,
                };
                changes.create(
                    &ctx,
                    services.ids.as_ref(),
                    &request,
                    &format!("pamm.{}_requested", ask.name()),
                )?;
                if let Some(reserve) = reservation {
                    // Refused (a wallet short of the amount) before anything is written.
                    let staged = brokeros_ledger::stage(
                        services,
                        &ctx,
                        &reserve.clone().into(),
                        &mut changes,
                    )
                    .await?;
                    if let Staged::Replayed(_) = staged {
                        return Err(Error::Internal(format!(
                            "PAMM request {id}: its reservation exists without the request"
                        )));
                    }
                }
                Ok((Answer::accepted(json!(request)), changes))
            })
        }),
    )
    .await
}

/// Cancels one's own pending request before its cut-off (an investment's reservation goes
/// back to the wallet in the same commit).
pub async fn cancel(
    services: &Services,
    principal: &Principal,
    request_id: &str,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    let client_id = calling_client(services, principal).await?;
    let id = normalize::code("request_id", request_id, 80)?;
    let stored = own_request(services, &client_id, &id).await?;
    let wallet = AccountId::client_wallet(
        &client_id,
        Currency::parse(
            "currency",
            &fund_currency(services, &stored.entity.offer_id).await?,
        )?,
    )?;
    let id = &id;
    in_turn(
        std::slice::from_ref(&wallet),
        execute(services, key, move || {
            Box::pin(async move {
                let stored = services.get::<InvestorRequest>(id).await?;
                let ctx = user_ctx(services, principal, correlation_id);
                let mut request = stored.entity.clone();
                request.cancel(ctx.now)?;
                let mut changes = Changeset::new();
                changes.update(
                    &ctx,
                    services.ids.as_ref(),
                    &stored,
                    &request,
                    "pamm.request_cancelled",
                    vec![],
                )?;
                release_reservation(services, &ctx, &request, "cancelled", &mut changes).await?;
                Ok((Answer::done(json!(request)), changes))
            })
        }),
    )
    .await
}

async fn fund_currency(services: &Services, offer_id: &str) -> Result<String> {
    Ok(services
        .get::<Offer>(offer_id)
        .await?
        .entity
        .latest()
        .terms
        .currency
        .clone())
}

/// Gives an investment's reservation back to the wallet (a request cancelled or refused).
pub(crate) async fn release_reservation(
    services: &Services,
    ctx: &OpContext,
    request: &InvestorRequest,
    why: &str,
    changes: &mut Changeset,
) -> Result<()> {
    let Some(reservation) = &request.reservation else {
        return Ok(());
    };
    let release = Release {
        transfer_id: TransferId::new("request_id", &format!("{reservation}-release"))?,
        reservation: TransferId::new("request_id", reservation)?,
        memo: format!("PAMM {} investment {} {why}", request.offer_id, request.id),
    };
    brokeros_ledger::stage(services, ctx, &release.into(), changes).await?;
    Ok(())
}

/// One of the client's own requests (another's is not found).
async fn own_request(
    services: &Services,
    client_id: &str,
    id: &str,
) -> Result<Audited<InvestorRequest>> {
    match services.find::<InvestorRequest>(id).await? {
        Some(stored) if stored.entity.client_id == client_id => Ok(stored),
        _ => Err(Error::NotFound {
            entity: "PAMM request",
            id: id.to_string(),
        }),
    }
}

/// One of the caller's own requests.
pub async fn request(services: &Services, principal: &Principal, id: &str) -> Result<Value> {
    let client_id = calling_client(services, principal).await?;
    let id = normalize::code("request_id", id, 80)?;
    Ok(json!(own_request(services, &client_id, &id).await?.entity))
}

/// A page of the caller's requests to an offer, newest first.
pub async fn my_requests(
    services: &Services,
    principal: &Principal,
    offer_id: &str,
    page: PageParams,
) -> Result<Value> {
    let client_id = calling_client(services, principal).await?;
    let offer = visible_offer(services, offer_id).await?;
    let limit = brokeros_kernel::paging::page_limit(page.limit)?;
    repo::requests_of_client_page(services, &offer.id, &client_id, limit, page.cursor, |r| {
        json!(r)
    })
    .await
}
