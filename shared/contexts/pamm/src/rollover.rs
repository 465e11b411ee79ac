//! The live rollover, step by step (the workflow's tasks and `run` for a host without one):
//! freeze, mark the equity on the trading platform, compute (the engine of [`crate::model`]
//! on the holdings as the last rollover left them; its record and one line per holder are
//! stored before anything moves), execute (holder by holder: the holding, the requests'
//! outcomes and their money in one commit), settle (the fees paid to the manager and IBs, the
//! pooled account's cash on the platform, the fund's new NAV) and notify. Every step may be
//! run again: it finds what it did and does not do it twice (ledger entries and platform
//! operations carry ids made from the rollover's and the requests' ids).
//!
//! Money: an investment was reserved in the investor's wallet when it was requested; at its
//! rollover the reservation settles into the pooled account's ledger account
//! (`TRADING:<login>`) or is released if refused; a withdrawal or exit moves money from there
//! to the wallet; the fees go from there to the manager's wallet and the IBs' payables. On
//! the platform, what leaves the account (fees, withdrawals, exits) is one withdrawal taken
//! before any wallet is credited, and what the investments bring is one deposit after.

use std::collections::BTreeMap;

use brokeros_kernel::changeset::{Audited, Changeset};
use brokeros_kernel::idempotency::execute;
use brokeros_kernel::money::Currency;
use brokeros_kernel::{Error, OpContext, Result};
use brokeros_ledger::model::{AccountId, TransferId};
use brokeros_ledger::{Leg, Settle, Transfer};
use brokeros_trading::{BalanceOperation, BalanceOperationKind, TradingError, fitted_comment};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;

use crate::Services;
use crate::model::cycle::{
    FundState, LineRequest, Phase, RolloverLine, RolloverRecord, RolloverStatus, apply_stop,
    record_of,
};
use crate::model::fund::{Execution, Flow, Mark, Outcome, Payee};
use crate::model::request::{Ask, InvestorRequest};
use crate::model::{Offer, OfferStatus};
use crate::repo;
use crate::requests::release_reservation;

/// Lines written per commit when a rollover is recorded.
const LINES_PER_COMMIT: usize = 40;
/// Lines one execution or notification task handles at most (the workflow loops for more).
const LINES_PER_TASK: usize = 2_000;
/// Payees per fee transfer (a ledger entry writes at most 43 items).
const PAYEES_PER_TRANSFER: usize = 15;

/// The id of offer `offer_id`'s rollover at `at`: `<offer>.<UTC time, to the second>`.
pub fn rollover_id(offer_id: &str, at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{offer_id}.{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

fn offer_of(rollover_id: &str) -> Result<&str> {
    rollover_id
        .rsplit_once('.')
        .map(|(offer, _)| offer)
        .ok_or_else(|| {
            Error::invalid(
                "invalid_rollover_id",
                "rollover_id",
                "a rollover id is <offer>.<time>",
            )
        })
}

/// Commits `changes` for the fund stored as `before` now being `after`, with `event`.
fn stage_fund(
    services: &Services,
    ctx: &OpContext,
    before: Option<&Audited<FundState>>,
    after: &FundState,
    event: &str,
    changes: &mut Changeset,
) -> Result<()> {
    match before {
        Some(before) => {
            changes.update(ctx, services.ids.as_ref(), before, after, event, vec![])?;
        }
        None => changes.create(ctx, services.ids.as_ref(), after, event)?,
    }
    Ok(())
}

/// Freeze: begins the rollover of `offer_id` at `at` (which must have come), fixing the
/// requests due at it. Answers the rollover's id.
pub async fn freeze(
    services: &Services,
    ctx: &OpContext,
    offer_id: &str,
    at: OffsetDateTime,
) -> Result<String> {
    let offer = services.get::<Offer>(offer_id).await?.entity;
    if offer.status == OfferStatus::PendingApproval {
        return Err(Error::conflict(
            "offer_status",
            format!("offer {offer_id} is not approved: it has no rollovers"),
        ));
    }
    let id = rollover_id(offer_id, at);
    let (offer, id_ref) = (&offer, &id);
    execute(services, None, move || {
        Box::pin(async move {
            let stored = services.find::<FundState>(&offer.id).await?;
            let mut fund = match &stored {
                Some(s) => s.entity.clone(),
                None => crate::requests::fund_state(services, offer).await?,
            };
            let mut changes = Changeset::new();
            if fund.freeze(id_ref, at, ctx.now)? {
                stage_fund(
                    services,
                    ctx,
                    stored.as_ref(),
                    &fund,
                    "pamm.rollover_frozen",
                    &mut changes,
                )?;
            }
            Ok(((), changes))
        })
    })
    .await?;
    Ok(id)
}

/// Mark: reads the pooled account's equity on the platform, once per rollover (a rerun keeps
/// the first mark). Answers the equity marked.
pub async fn mark(services: &Services, ctx: &OpContext, rollover_id: &str) -> Result<Decimal> {
    let offer_id = offer_of(rollover_id)?;
    let stored = services.get::<FundState>(offer_id).await?;
    if let Some(equity) = marked_equity(&stored.entity, rollover_id) {
        return Ok(equity);
    }
    if stored.entity.is_past(rollover_id, 1) {
        let record = services.get::<RolloverRecord>(rollover_id).await?.entity;
        return Ok(record.equity_before);
    }
    let state = services
        .trading
        .account_state(stored.entity.login)
        .await
        .map_err(brokeros_trading::platform_error)?;
    // Fees leave the account as a withdrawal, which the platform allows from free margin only.
    let fees_payable = state.free_margin > Decimal::ZERO;
    let equity = state.equity.max(Decimal::ZERO);
    execute(services, None, move || {
        Box::pin(async move {
            let stored = services.get::<FundState>(offer_id).await?;
            let mut fund = stored.entity.clone();
            let mut changes = Changeset::new();
            if fund.mark(rollover_id, equity, fees_payable, ctx.now)? {
                stage_fund(
                    services,
                    ctx,
                    Some(&stored),
                    &fund,
                    "pamm.rollover_marked",
                    &mut changes,
                )?;
            }
            Ok(((), changes))
        })
    })
    .await?;
    let fund = services.get::<FundState>(offer_id).await?.entity;
    marked_equity(&fund, rollover_id)
        .ok_or_else(|| Error::Internal(format!("rollover {rollover_id} was not marked")))
}

fn marked_equity(fund: &FundState, rollover_id: &str) -> Option<Decimal> {
    match &fund.phase {
        Phase::Marked {
            rollover_id: id,
            equity,
            ..
        } if id == rollover_id => Some(*equity),
        _ => None,
    }
}

/// What a computed rollover shows of itself.
#[derive(Debug, Clone, Serialize)]
pub struct Computed {
    pub rollover_id: String,
    pub nav: Decimal,
    pub nav_after: Decimal,
    pub lines: u32,
    pub requests_executed: u32,
    pub requests_refused: u32,
}

impl From<&RolloverRecord> for Computed {
    fn from(record: &RolloverRecord) -> Computed {
        Computed {
            rollover_id: record.id.clone(),
            nav: record.nav,
            nav_after: record.nav_after,
            lines: record.lines,
            requests_executed: record.requests_executed,
            requests_refused: record.requests_refused,
        }
    }
}

/// Compute: fees, requests, units and NAV by the engine, on the marked equity and the
/// holdings and requests as they were at the freeze; records the rollover and its lines.
/// Nothing else changes here, so a rerun before the record is stored computes the same.
pub async fn compute(services: &Services, ctx: &OpContext, rollover_id: &str) -> Result<Computed> {
    let offer_id = offer_of(rollover_id)?;
    let stored = services.get::<FundState>(offer_id).await?;
    if stored.entity.is_past(rollover_id, 2) {
        let record = services.get::<RolloverRecord>(rollover_id).await?.entity;
        return Ok(Computed::from(&record));
    }
    let Phase::Marked {
        at,
        equity,
        fees_payable,
        ..
    } = stored.entity.phase.clone()
    else {
        return Err(Error::conflict(
            "rollover_phase",
            format!("rollover {rollover_id} is not marked"),
        ));
    };
    let state = stored.entity.clone();
    let offer = services.get::<Offer>(offer_id).await?.entity;
    let terms = &offer.terms_at(at).terms;
    let mut fund = state.engine_fund(repo::holdings(services, offer_id).await?);
    let due = repo::requests_due(services, offer_id, at).await?;
    let mut concluded: Vec<(&InvestorRequest, Outcome)> = Vec::new();
    let mut engine_requests = Vec::new();
    for request in &due {
        match &request.entity.ask {
            Ask::Stop { stop_equity } => {
                let outcome = apply_stop(&mut fund, &request.entity.client_id, *stop_equity);
                concluded.push((&request.entity, outcome));
            }
            _ => engine_requests.extend(request.entity.engine_request()),
        }
    }
    // Whose IBs share each investor's fees, as the tree stood at the rollover.
    let investors: Vec<String> = fund
        .holdings
        .keys()
        .chain(engine_requests.iter().map(|r| &r.investor))
        .filter(|id| **id != state.manager_client_id)
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let chains = brokeros_ib::hierarchy::chains_of_clients(&services.ib, &investors, at).await?;
    let rollover = fund.roll_over(
        terms,
        &Mark {
            at,
            equity,
            requests: &engine_requests,
            ib_chains: &chains,
            fees_payable,
        },
    )?;
    let outcomes: BTreeMap<&str, &Outcome> = rollover
        .executions
        .iter()
        .map(|e| (e.request.as_str(), &e.outcome))
        .collect();
    for request in &due {
        if let Some(outcome) = outcomes.get(request.entity.id.as_str()) {
            concluded.push((&request.entity, (*outcome).clone()));
        }
    }
    let (record, lines) = record_of(rollover_id, &state, &rollover, &fund, &concluded, ctx.now);
    for chunk in lines.chunks(LINES_PER_COMMIT) {
        let mut changes = Changeset::new();
        for line in chunk {
            changes.put(repo::line_put(line)?);
        }
        services.commit(changes).await?;
    }
    let (record_ref, state_ref) = (&record, &state);
    execute(services, None, move || {
        Box::pin(async move {
            let stored = services.get::<FundState>(offer_id).await?;
            let mut changes = Changeset::new();
            if stored.entity.is_past(rollover_id, 2) {
                return Ok(((), changes));
            }
            if stored.entity != *state_ref {
                return Err(Error::conflict(
                    "rollover_phase",
                    format!(
                        "offer {offer_id}'s fund changed while rollover {rollover_id} was computed"
                    ),
                ));
            }
            let mut fund = stored.entity.clone();
            fund.record(rollover_id, ctx.now)?;
            changes.create(
                ctx,
                services.ids.as_ref(),
                record_ref,
                "pamm.rollover_recorded",
            )?;
            stage_fund(
                services,
                ctx,
                Some(&stored),
                &fund,
                "pamm.rollover_computed",
                &mut changes,
            )?;
            Ok(((), changes))
        })
    })
    .await?;
    Ok(Computed::from(&record))
}

/// What an execution or notification task did.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Progress {
    /// Lines handled by this task.
    pub lines: u32,
    /// Lines remain: run the step again.
    pub more: bool,
}

/// Execute: what leaves the pooled account is taken on the platform first (one withdrawal;
/// refused while the account's free margin is short, which holds the rollover until the
/// manager frees it), then each holder's requests' outcomes with their money, one commit per
/// movement, and then their holding and line, a few holders per commit. A line is marked
/// applied only once its money has moved, so a rerun resumes where the last one stopped.
pub async fn execute_requests(
    services: &Services,
    ctx: &OpContext,
    rollover_id: &str,
) -> Result<Progress> {
    let offer_id = offer_of(rollover_id)?;
    let fund = services.get::<FundState>(offer_id).await?.entity;
    if fund.is_past(rollover_id, 3) || !fund.is_past(rollover_id, 2) {
        return recorded_or_done(&fund, rollover_id);
    }
    let record = services.get::<RolloverRecord>(rollover_id).await?.entity;
    let currency = Currency::parse("currency", &record.currency)?;
    platform_operation(
        services,
        &record,
        BalanceOperationKind::Withdrawal,
        record.paid_out,
        "out",
    )
    .await?;
    let (mut handled, mut cursor) = (0usize, None);
    loop {
        let (lines, next) = repo::lines_page(services, rollover_id, 100, cursor).await?;
        let pending: Vec<RolloverLine> = lines.into_iter().filter(|l| !l.applied).collect();
        for line in &pending {
            move_money(services, ctx, &record, currency, line).await?;
        }
        for batch in pending.chunks(LINES_PER_COMMIT) {
            let mut changes = Changeset::new();
            for line in batch {
                changes.put(repo::holding_write(
                    &record.offer_id,
                    &line.holder,
                    line.holding.as_ref(),
                    &record.id,
                )?);
                let mut applied = line.clone();
                applied.applied = true;
                changes.put(repo::line_put(&applied)?);
            }
            services.commit(changes).await?;
            handled += batch.len();
        }
        match next {
            Some(next) if handled < LINES_PER_TASK => cursor = Some(next),
            Some(_) => {
                return Ok(Progress {
                    lines: handled as u32,
                    more: true,
                });
            }
            None => {
                return Ok(Progress {
                    lines: handled as u32,
                    more: false,
                });
            }
        }
    }
}

fn recorded_or_done(fund: &FundState, rollover_id: &str) -> Result<Progress> {
    if fund.is_past(rollover_id, 3) {
        Ok(Progress {
            lines: 0,
            more: false,
        })
    } else {
        Err(Error::conflict(
            "rollover_phase",
            format!("rollover {rollover_id} is not recorded"),
        ))
    }
}

/// Books one platform operation of the rollover (`tag`: `out` or `in`), once.
async fn platform_operation(
    services: &Services,
    record: &RolloverRecord,
    kind: BalanceOperationKind,
    amount: Decimal,
    tag: &str,
) -> Result<()> {
    if amount <= Decimal::ZERO {
        return Ok(());
    }
    let operation = BalanceOperation {
        login: record.login,
        operation_id: format!("pamm-{}-{tag}", record.id),
        kind,
        amount,
        comment: fitted_comment(&format!("PAMM rollover {tag}")),
    };
    match services.trading.balance_operation(operation).await {
        Ok(_) => Ok(()),
        Err(TradingError::InsufficientFunds { available, .. }) => Err(Error::conflict(
            "pooled_account_short",
            format!(
                "PAMM account {} cannot give {amount} {} at rollover {} ({available} is free): the manager must free margin, then the rollover is run again",
                record.login, record.currency, record.id
            ),
        )),
        Err(e) => Err(brokeros_trading::platform_error(e)),
    }
}

/// A holder's money at the rollover, one commit per movement (every ledger entry touches the
/// pooled account's balance, which a transaction writes once): each request's outcome with
/// its money (an investment's reservation settled into the pooled account or released), then
/// each payout from the pooled account to the wallet. A request already concluded and an
/// entry already posted (a rerun) are skipped.
async fn move_money(
    services: &Services,
    ctx: &OpContext,
    record: &RolloverRecord,
    currency: Currency,
    line: &RolloverLine,
) -> Result<()> {
    let pool = AccountId::trading_account(record.login, currency)?;
    for LineRequest {
        request_id,
        outcome,
        ..
    } in &line.requests
    {
        let pool = &pool;
        execute(services, None, move || {
            Box::pin(async move {
                let mut changes = Changeset::new();
                let stored = services.get::<InvestorRequest>(request_id).await?;
                if stored.entity.rollover_id.as_deref() == Some(record.id.as_str()) {
                    return Ok(((), changes));
                }
                let mut request = stored.entity.clone();
                request.conclude(&record.id, outcome.clone(), ctx.now);
                let event = match outcome {
                    Outcome::Executed { .. } => "pamm.request_executed",
                    Outcome::Refused { .. } => "pamm.request_refused",
                };
                changes.update(ctx, services.ids.as_ref(), &stored, &request, event, vec![])?;
                match (&request.ask, outcome) {
                    (Ask::Invest { .. }, Outcome::Executed { .. }) => {
                        let reservation = request.reservation.as_deref().unwrap_or_default();
                        let settle = Settle {
                            transfer_id: TransferId::new(
                                "request_id",
                                &format!("{reservation}-settle"),
                            )?,
                            reservation: TransferId::new("request_id", reservation)?,
                            to: pool.clone(),
                            fee: None,
                            memo: format!(
                                "PAMM {} investment {} at {}",
                                record.offer_id, request.id, record.id
                            ),
                        };
                        brokeros_ledger::stage(services, ctx, &settle.into(), &mut changes).await?;
                    }
                    (Ask::Invest { .. }, Outcome::Refused { .. }) => {
                        release_reservation(services, ctx, &request, "refused", &mut changes)
                            .await?;
                    }
                    _ => {}
                }
                Ok(((), changes))
            })
        })
        .await?;
    }
    for execution in &line.executions {
        let Execution {
            request,
            investor,
            flow,
            outcome,
        } = execution;
        let (Flow::Withdrawal { .. } | Flow::Exit, Outcome::Executed { amount, .. }) =
            (flow, outcome)
        else {
            continue;
        };
        if amount.is_zero() {
            continue;
        }
        let transfer_id = if request.starts_with("stop:") {
            format!("pamm-{}-stop-{investor}", record.id)
        } else {
            format!("pamm-{request}-paid")
        };
        let transfer = Transfer::between(
            TransferId::new("request_id", &transfer_id)?,
            pool.clone(),
            AccountId::client_wallet(investor, currency)?,
            *amount,
            &format!(
                "PAMM {} payout of {request} at {}",
                record.offer_id, record.id
            ),
        );
        brokeros_ledger::post(services, ctx, transfer).await?;
    }
    Ok(())
}

/// Settle: the fees to the manager's wallet and the IBs' payables, the investments' cash into
/// the account on the platform, and the rollover's end: its record settled and the fund at
/// its new NAV, in one commit.
pub async fn settle(
    services: &Services,
    ctx: &OpContext,
    rollover_id: &str,
) -> Result<RolloverRecord> {
    let offer_id = offer_of(rollover_id)?;
    let fund = services.get::<FundState>(offer_id).await?.entity;
    let record = services.get::<RolloverRecord>(rollover_id).await?.entity;
    if fund.is_past(rollover_id, 3) {
        return Ok(record);
    }
    if !fund.is_past(rollover_id, 2) {
        return Err(Error::conflict(
            "rollover_phase",
            format!("rollover {rollover_id} is not recorded"),
        ));
    }
    let mut cursor = None;
    loop {
        let (lines, next) = repo::lines_page(services, rollover_id, 200, cursor).await?;
        if let Some(line) = lines.iter().find(|l| !l.applied) {
            return Err(Error::conflict(
                "rollover_phase",
                format!(
                    "rollover {rollover_id}: {}'s line is not executed yet",
                    line.holder
                ),
            ));
        }
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    pay_fees(services, ctx, &record, &fund.manager_client_id).await?;
    platform_operation(
        services,
        &record,
        BalanceOperationKind::Deposit,
        record.invested,
        "in",
    )
    .await?;
    let record_ref = &record;
    execute(services, None, move || {
        Box::pin(async move {
            let stored_fund = services.get::<FundState>(offer_id).await?;
            let stored_record = services.get::<RolloverRecord>(rollover_id).await?;
            let mut changes = Changeset::new();
            if stored_fund.entity.is_past(rollover_id, 3) {
                return Ok(((), changes));
            }
            let mut settled = stored_record.entity.clone();
            settled.status = RolloverStatus::Settled;
            settled.updated_at = ctx.now;
            let mut fund = stored_fund.entity.clone();
            fund.settle(record_ref, ctx.now)?;
            changes.update(
                ctx,
                services.ids.as_ref(),
                &stored_record,
                &settled,
                "pamm.rollover_settled",
                vec![],
            )?;
            stage_fund(
                services,
                ctx,
                Some(&stored_fund),
                &fund,
                "pamm.fund_rolled_over",
                &mut changes,
            )?;
            Ok(((), changes))
        })
    })
    .await?;
    Ok(services.get::<RolloverRecord>(rollover_id).await?.entity)
}

/// The fees of a rollover from the pooled account to their payees, a transfer per few payees.
async fn pay_fees(
    services: &Services,
    ctx: &OpContext,
    record: &RolloverRecord,
    manager: &str,
) -> Result<()> {
    let currency = Currency::parse("currency", &record.currency)?;
    let pool = AccountId::trading_account(record.login, currency)?;
    let payouts: Vec<_> = record
        .payouts
        .iter()
        .filter(|p| !p.amount.is_zero())
        .collect();
    for (n, chunk) in payouts.chunks(PAYEES_PER_TRANSFER).enumerate() {
        let mut legs = Vec::new();
        let mut total = Decimal::ZERO;
        for payout in chunk {
            let account = match &payout.payee {
                Payee::Manager => AccountId::client_wallet(manager, currency)?,
                Payee::Ib(ib) => AccountId::ib_payable(ib, currency)?,
            };
            total += payout.amount;
            legs.push(Leg {
                account,
                amount: payout.amount,
            });
        }
        legs.insert(
            0,
            Leg {
                account: pool.clone(),
                amount: -total,
            },
        );
        let transfer = Transfer {
            transfer_id: TransferId::new("rollover_id", &format!("pamm-{}-fees-{n}", record.id))?,
            legs,
            memo: format!("PAMM {} fees at {}", record.offer_id, record.id),
        };
        brokeros_ledger::post(services, ctx, transfer).await?;
    }
    Ok(())
}

/// Notify: each holder of the rollover is sent their statement (once).
pub async fn notify(services: &Services, ctx: &OpContext, rollover_id: &str) -> Result<Progress> {
    let (mut handled, mut cursor) = (0usize, None);
    loop {
        let (lines, next) = repo::lines_page(services, rollover_id, 100, cursor).await?;
        for chunk in lines
            .into_iter()
            .filter(|l| !l.notified)
            .collect::<Vec<_>>()
            .chunks(20)
        {
            execute(services, None, move || {
                Box::pin(async move {
                    let mut changes = Changeset::new();
                    for line in chunk {
                        brokeros_onboarding::stage_notification(
                            services,
                            ctx,
                            &line.holder,
                            &format!("ntf_pamm-{}-{}", rollover_id, line.holder),
                            "pamm_statement",
                            json!({
                                "offer_id": line.offer_id,
                                "rollover_id": rollover_id,
                                "at": line.at,
                                "nav": line.nav_after,
                                "statement": line.statement,
                                "fees": line.fees,
                                "requests": line.requests,
                            }),
                            &mut changes,
                        )
                        .await?;
                        let mut notified = line.clone();
                        notified.notified = true;
                        changes.put(repo::line_put(&notified)?);
                    }
                    Ok(((), changes))
                })
            })
            .await?;
            handled += chunk.len();
        }
        match next {
            Some(next) if handled < LINES_PER_TASK => cursor = Some(next),
            next => {
                return Ok(Progress {
                    lines: handled as u32,
                    more: next.is_some(),
                });
            }
        }
    }
}

/// Runs every step of the rollover of `offer_id` at `at` in order (a host without the
/// workflow; the tests): answers the settled record.
pub async fn run(
    services: &Services,
    ctx: &OpContext,
    offer_id: &str,
    at: OffsetDateTime,
) -> Result<RolloverRecord> {
    let id = freeze(services, ctx, offer_id, at).await?;
    mark(services, ctx, &id).await?;
    compute(services, ctx, &id).await?;
    while execute_requests(services, ctx, &id).await?.more {}
    let record = settle(services, ctx, &id).await?;
    while notify(services, ctx, &id).await?.more {}
    Ok(record)
}
