//! The payout of accrued commissions: a period is closed, one statement is built per
//! beneficiary and currency (what accrued, rounded half to even, the remainder carried to the
//! next period), statements over the configured threshold wait for finance's maker-checker
//! approval (the approvals context's `commission_payout` process), and payable ones are
//! credited through the ledger.
//!
//! A statement's id is its ledger transfer id and commits with its new status, and each
//! beneficiary's carried balance moves under its version with the statement that used it, so
//! rerunning a period builds nothing twice and pays nothing twice.

mod repo;
pub mod sequence;

pub use sequence::next_due;
use utoipa::ToSchema;

use repo::StatementList;

use std::collections::BTreeSet;

use brokeros_approvals::{NewProcess, ProcessType, StartFacts, Subject, Vote};
use brokeros_kernel::changeset::{Audited, Changeset, Committed};
use brokeros_kernel::idempotency::execute;
use brokeros_kernel::money::Money;
use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::{Error, OpContext, QueueFilter, Result};
use brokeros_ledger::Staged;
use brokeros_ledger::model::{AccountId, Request, Transfer, TransferId};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::Services;
use crate::accruals::{self, StoredLeg};
use crate::model::payout::{
    CarriedBalance, IbStatement, PayoutRun, PayoutSequence, RunStatus, StatementStatus, run_id,
    statement_id,
};
use crate::model::{Beneficiary, Carry, Period, PeriodKind, PeriodSums};

/// Legs and beneficiaries read per page.
const PAGE: u32 = 200;

/// The approval process of statement `statement_id` (process ids take no ':', so the
/// statement id is hashed).
pub fn approval_id(statement_id: &str) -> String {
    let digest = brokeros_kernel::canonical::sha256_hex(statement_id.as_bytes());
    format!("ib-statement-{}", &digest[..40])
}

/// What closing a schedule's next period answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    /// The run of the period closed; none when no period was due.
    pub run: Option<PayoutRun>,
    /// Whether the period after it had ended too (a missed schedule being caught up).
    pub more_due: bool,
}

/// Closes the next period of kind `schedule` due, if it ended before `started_at`, and
/// records its run (see [`PayoutSequence`]: periods close in order, none skipped).
pub async fn close_period(
    services: &Services,
    ctx: &OpContext,
    schedule: PeriodKind,
    started_at: OffsetDateTime,
    requested_by: &str,
) -> Result<Closed> {
    let started = crate::millis(started_at);
    let due = next_due(services, schedule, started).await?;
    if due.end_msc() > started {
        return Ok(Closed {
            run: None,
            more_due: false,
        });
    }
    let run = start_run(services, ctx, due, requested_by).await?;
    Ok(Closed {
        run: Some(run),
        more_due: due.next().end_msc() <= started,
    })
}

/// Closes `period` (which must have ended by `ctx.now` and be the next of its kind to close,
/// see [`PayoutSequence`]) and records its run, once: a closed period answers its run.
pub async fn start_run(
    services: &Services,
    ctx: &OpContext,
    period: Period,
    requested_by: &str,
) -> Result<PayoutRun> {
    if period.end_msc() > crate::millis(ctx.now) {
        return Err(Error::invalid(
            "period_not_ended",
            "period",
            format!("period {} has not ended yet", period.label()),
        ));
    }
    let id = run_id(period);
    let (id, requested_by) = (&id, requested_by);
    execute(services, None, move || {
        Box::pin(async move {
            let mut changes = Changeset::new();
            if let Some(run) = services.find::<PayoutRun>(id).await? {
                return Ok((run.entity, changes));
            }
            let ids = services.ids.as_ref();
            let kind = crate::keys::period_kind_name(period.kind);
            match services.find::<PayoutSequence>(kind).await? {
                Some(before) => {
                    let mut sequence = before.entity.clone();
                    sequence.close(period)?;
                    changes.update(
                        ctx,
                        ids,
                        &before,
                        &sequence,
                        "ib.payout.sequence_advanced",
                        vec![],
                    )?;
                }
                None => {
                    let mut sequence = PayoutSequence::starting(period);
                    sequence.close(period)?;
                    changes.create(ctx, ids, &sequence, "ib.payout.sequence_started")?;
                }
            }
            let run = PayoutRun {
                id: id.clone(),
                period,
                label: period.label(),
                status: RunStatus::Building,
                requested_by: requested_by.to_string(),
                statements: 0,
                held: 0,
                paid: 0,
                flagged: 0,
                credit_failure: None,
                escalations: 0,
                approval_token: None,
                started_at: ctx.now,
                updated_at: ctx.now,
            };
            changes.create(ctx, ids, &run, "ib.payout.period_closed")?;
            changes.put(repo::period_closed_marker(period, id));
            Ok((run, changes))
        })
    })
    .await
}

/// A batch size of 1 to 1000.
fn check_limit(limit: u32) -> Result<()> {
    if (1..=1000).contains(&limit) {
        Ok(())
    } else {
        Err(Error::invalid(
            "invalid_limit",
            "limit",
            "limit must be 1 to 1000",
        ))
    }
}

/// What a call of [`build_statements`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildReport {
    pub built: u32,
    pub held: u32,
    /// More beneficiaries may be left: call again.
    pub more: bool,
}

/// Builds the statements of run `run_id`'s period, for up to `limit` beneficiaries not yet
/// built, each committed with its beneficiary's carried balance (and the approval process
/// when it is held) in one transaction.
pub async fn build_statements(
    services: &Services,
    ctx: &OpContext,
    run_id: &str,
    limit: u32,
) -> Result<BuildReport> {
    check_limit(limit)?;
    let run = services.get::<PayoutRun>(run_id).await?.entity;
    let mut report = BuildReport::default();
    let mut cursor = None;
    let mut beneficiaries_built = 0;
    loop {
        let (page, next) =
            accruals::period_beneficiaries(services, run.period, cursor, PAGE).await?;
        for beneficiary in &page {
            if beneficiaries_built == limit {
                report.more = true;
                return finish_building(services, ctx, run_id, report).await;
            }
            let (built, held) = build_for(services, ctx, &run, beneficiary).await?;
            if built > 0 {
                beneficiaries_built += 1;
            }
            report.built += built;
            report.held += held;
        }
        match next {
            Some(next) => cursor = Some(next),
            None => return finish_building(services, ctx, run_id, report).await,
        }
    }
}

/// Once every beneficiary is built, the run waits for approvals or goes on to pay.
async fn finish_building(
    services: &Services,
    ctx: &OpContext,
    run_id: &str,
    report: BuildReport,
) -> Result<BuildReport> {
    if !report.more {
        change_run(services, ctx, run_id, "ib.payout.statements_built", |run| {
            if run.status != RunStatus::Building {
                return false;
            }
            run.status = if run.held > 0 {
                RunStatus::AwaitingApprovals
            } else {
                RunStatus::Paying
            };
            true
        })
        .await?;
    }
    Ok(report)
}

/// Changes run `run_id` as `change` says (answering `false` when there is nothing to change),
/// with its audit event `action`; answers the run as it then stands.
async fn change_run(
    services: &Services,
    ctx: &OpContext,
    run_id: &str,
    action: &str,
    change: impl Fn(&mut PayoutRun) -> bool + Send + Sync,
) -> Result<PayoutRun> {
    let change = &change;
    execute(services, None, move || {
        Box::pin(async move {
            let mut changes = Changeset::new();
            let before = services.get::<PayoutRun>(run_id).await?;
            let mut run = before.entity.clone();
            if change(&mut run) {
                run.updated_at = ctx.now;
                changes.update(ctx, services.ids.as_ref(), &before, &run, action, vec![])?;
            }
            Ok((run, changes))
        })
    })
    .await
}

async fn all_legs(
    services: &Services,
    beneficiary: &Beneficiary,
    period: Period,
) -> Result<Vec<StoredLeg>> {
    let mut legs = Vec::new();
    let mut cursor = None;
    loop {
        let (page, next) =
            accruals::legs_in_period(services, beneficiary, period, cursor, PAGE).await?;
        legs.extend(page);
        match next {
            Some(next) => cursor = Some(next),
            None => return Ok(legs),
        }
    }
}

/// Builds `beneficiary`'s statements of the run's period not built yet: how many, and how
/// many of them wait for finance.
async fn build_for(
    services: &Services,
    ctx: &OpContext,
    run: &PayoutRun,
    beneficiary: &Beneficiary,
) -> Result<(u32, u32)> {
    let period = run.period;
    let legs = all_legs(services, beneficiary, period).await?;
    let mut sums = PeriodSums::default();
    legs.iter()
        .for_each(|stored| sums.add_in(&stored.leg, period));
    let plan_ids: BTreeSet<&str> = legs
        .iter()
        .map(|stored| stored.leg.explanation.basis.plan_id.as_str())
        .collect();
    let plans = crate::plans::plan_book(services, &services.config.symbol_groups, plan_ids).await?;
    let currencies: BTreeSet<&'static str> = legs.iter().map(|s| s.leg.currency.code).collect();
    let mut carry = Carry::default();
    let mut carried = Vec::new();
    for code in &currencies {
        let id = CarriedBalance::id_for(beneficiary, period.kind, code);
        let stored = services.find::<CarriedBalance>(&id).await?;
        let balance = stored
            .as_ref()
            .map(|s| s.entity.clone())
            .unwrap_or_else(|| CarriedBalance::empty(id));
        if let Some(currency) = brokeros_kernel::money::Currency::from_code(code) {
            balance.add_to(&mut carry, beneficiary, currency);
        }
        carried.push((*code, stored, balance));
    }
    let statements = sums.close(&plans, &mut carry);
    let (mut built, mut held) = (0, 0);
    for lines in statements {
        let code = lines.currency.code;
        let Some((_, stored, balance)) = carried.iter().find(|(c, _, _)| *c == code) else {
            continue;
        };
        if balance.last_period.is_some_and(|last| last >= period) {
            continue;
        }
        let after = balance.after(&carry, beneficiary, lines.currency, period);
        let id = statement_id(beneficiary, period, code);
        let late_legs = legs
            .iter()
            .filter(|s| s.leg.currency.code == code)
            .filter_map(|s| s.late_from.map(|from| (s.leg.id(), from.label())))
            .collect();
        let needs_approval = services.config.payout.needs_approval(code, lines.paid);
        let status = if lines.paid.is_zero() {
            StatementStatus::Closed
        } else if needs_approval {
            StatementStatus::AwaitingApproval
        } else {
            StatementStatus::Payable
        };
        let statement = IbStatement {
            id: id.clone(),
            run_id: run.id.clone(),
            ib_id: match beneficiary {
                Beneficiary::Ib(ib) => Some(ib.clone()),
                Beneficiary::Client(_) => None,
            },
            lines,
            late_legs,
            status,
            approval_id: (status == StatementStatus::AwaitingApproval).then(|| approval_id(&id)),
            credit_failures: Vec::new(),
            earlier_credit_failures: Vec::new(),
            next_attempt_at: None,
            created_at: ctx.now,
            updated_at: ctx.now,
        };
        let committed_now =
            commit_statement(services, ctx, &statement, stored.as_ref(), &after).await?;
        if committed_now {
            built += 1;
            if status == StatementStatus::AwaitingApproval {
                held += 1;
            }
        }
    }
    Ok((built, held))
}

/// Commits a statement with its beneficiary's carried balance, its approval process when
/// held, and the run's counts; `false` when another builder committed it first.
async fn commit_statement(
    services: &Services,
    ctx: &OpContext,
    statement: &IbStatement,
    carried_before: Option<&Audited<CarriedBalance>>,
    carried_after: &CarriedBalance,
) -> Result<bool> {
    let mut changes = Changeset::new();
    let run_before = services.get::<PayoutRun>(&statement.run_id).await?;
    let mut run = run_before.entity.clone();
    run.statements += 1;
    if statement.status == StatementStatus::AwaitingApproval {
        run.held += 1;
    }
    run.updated_at = ctx.now;
    let ids = services.ids.as_ref();
    changes.create(ctx, ids, statement, "ib.statement.built")?;
    match carried_before {
        Some(before) => {
            changes.update(ctx, ids, before, carried_after, "ib.carry.moved", vec![])?
        }
        None => changes.create(ctx, ids, carried_after, "ib.carry.moved")?,
    }
    changes.update(
        ctx,
        ids,
        &run_before,
        &run,
        "ib.payout.statement_added",
        vec![],
    )?;
    if let Some(process_id) = &statement.approval_id {
        let new = NewProcess {
            id: process_id.clone(),
            process_type: ProcessType::COMMISSION_PAYOUT,
            subject: Subject {
                kind: "ib_statement".into(),
                id: statement.id.clone(),
            },
            amount: Some(Money::positive(
                "paid",
                statement.lines.paid,
                statement.lines.currency,
            )?),
            requested_by: run.requested_by.clone(),
        };
        brokeros_approvals::start(
            &services.approvals,
            ctx,
            new,
            &StartFacts::default(),
            &mut changes,
        )
        .await?;
    }
    Ok(matches!(
        services.commit(changes).await?,
        Committed::Applied
    ))
}

/// What a call of [`pay_statements`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayReport {
    pub paid: u32,
    pub failed: u32,
    /// Statements whose credit failed for the last allowed time, for finance.
    pub flagged: Vec<String>,
    pub more: bool,
    /// When the earliest statement whose credit failed may be tried again.
    pub retry_at: Option<OffsetDateTime>,
}

/// Credits up to `limit` payable statements of run `run_id`: each a ledger transfer whose id
/// is the statement's, committed with the statement's new status. A credit that fails is
/// recorded on its statement, and flagged for finance after the last allowed attempt.
pub async fn pay_statements(
    services: &Services,
    ctx: &OpContext,
    run_id: &str,
    limit: u32,
) -> Result<PayReport> {
    check_limit(limit)?;
    let mut report = PayReport::default();
    let earliest =
        |r: Option<OffsetDateTime>, at: OffsetDateTime| Some(r.map_or(at, |r| r.min(at)));
    report.more = act_on_statements(
        services,
        run_id,
        limit,
        |id| async move { pay_one(services, ctx, &id).await },
        |id, credit| match credit {
            Credit::NotPayable => false,
            Credit::NotYet(at) => {
                report.retry_at = earliest(report.retry_at, at);
                false
            }
            Credit::Paid => {
                report.paid += 1;
                true
            }
            Credit::Failed { flagged, retry_at } => {
                report.failed += 1;
                if flagged {
                    report.flagged.push(id.to_string());
                }
                if let Some(at) = retry_at {
                    report.retry_at = earliest(report.retry_at, at);
                }
                true
            }
        },
    )
    .await?;
    Ok(report)
}

/// Walks run `run_id`'s statements page by page, acting on each (`act`) and telling from its
/// outcome whether it counts (`counts`), until `limit` counted: answers whether some may be
/// left for another call.
async fn act_on_statements<T, F>(
    services: &Services,
    run_id: &str,
    limit: u32,
    act: impl Fn(String) -> F,
    mut counts: impl FnMut(&str, T) -> bool,
) -> Result<bool>
where
    F: std::future::Future<Output = Result<T>>,
{
    let mut cursor = None;
    let mut counted = 0;
    loop {
        let (ids, next) = repo::statement_ids_of_run(services, run_id, cursor, PAGE).await?;
        for id in ids {
            if counted == limit {
                return Ok(true);
            }
            let outcome = act(id.clone()).await?;
            if counts(&id, outcome) {
                counted += 1;
            }
        }
        match next {
            Some(next) => cursor = Some(next),
            None => return Ok(false),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Credit {
    NotPayable,
    /// Its last credit failed: not before then.
    NotYet(#[serde(with = "time::serde::rfc3339")] OffsetDateTime),
    Paid,
    Failed {
        flagged: bool,
        #[serde(with = "time::serde::rfc3339::option")]
        retry_at: Option<OffsetDateTime>,
    },
}

/// The ledger transfer that pays a statement: out of the broker's revenue into the IB's
/// payable account (a rebate: into the client's wallet).
fn credit(statement: &IbStatement) -> Result<Request> {
    let lines = &statement.lines;
    let to = match &lines.beneficiary {
        Beneficiary::Ib(ib) => AccountId::ib_payable(ib, lines.currency)?,
        Beneficiary::Client(client) => AccountId::client_wallet(client, lines.currency)?,
    };
    Ok(Transfer::between(
        TransferId::new("statement_id", &statement.id)?,
        AccountId::broker_revenue(lines.currency),
        to,
        lines.paid,
        &format!("commission statement {}", statement.id),
    )
    .into())
}

async fn pay_one(services: &Services, ctx: &OpContext, id: &str) -> Result<Credit> {
    execute(services, None, move || {
        Box::pin(async move {
            let mut changes = Changeset::new();
            let before = services.get::<IbStatement>(id).await?;
            if before.entity.status != StatementStatus::Payable {
                return Ok((Credit::NotPayable, changes));
            }
            if !before.entity.due_for_credit(ctx.now) {
                let at = before.entity.next_attempt_at.unwrap_or(ctx.now);
                return Ok((Credit::NotYet(at), changes));
            }
            let mut statement = before.entity.clone();
            let staged = match credit(&statement) {
                Ok(request) => {
                    brokeros_ledger::stage(services, ctx, &request, &mut changes).await
                }
                Err(refused) => Err(refused),
            };
            let run_before = services.get::<PayoutRun>(&statement.run_id).await?;
            let mut run = run_before.entity.clone();
            let (answer, action) = match staged {
                Ok(Staged::New(_)) => {
                    statement.credited(ctx.now)?;
                    run.paid += 1;
                    (Credit::Paid, "ib.statement.paid")
                }
                Ok(Staged::Replayed(_)) => {
                    return Err(Error::Internal(format!(
                        "statement {id}: its credit was posted while the statement was still payable"
                    )));
                }
                // The store or the service failing is not the credit being refused: retried.
                Err(
                    e @ (Error::Internal(_)
                    | Error::Unavailable(_)
                    | Error::ProviderUnavailable { .. }),
                ) => return Err(e),
                Err(refused) => {
                    changes = Changeset::new();
                    let backoff = services.config.payout.credit_retry();
                    statement.credit_failed(refused.body().message, ctx.now, backoff)?;
                    let flagged = statement.status == StatementStatus::CreditFailed;
                    if flagged {
                        run.flagged += 1;
                    }
                    let action = if flagged {
                        "ib.statement.credit_flagged"
                    } else {
                        "ib.statement.credit_failed"
                    };
                    let retry_at = statement.next_attempt_at;
                    (Credit::Failed { flagged, retry_at }, action)
                }
            };
            run.updated_at = ctx.now;
            let ids = services.ids.as_ref();
            changes.update(ctx, ids, &before, &statement, action, vec![])?;
            if run != run_before.entity {
                changes.update(ctx, ids, &run_before, &run, "ib.payout.statement_paid", vec![])?;
            }
            Ok((answer, changes))
        })
    })
    .await
}

/// Finance's decision on a held statement, through its approval process (maker-checker: never
/// by who started the run). The statement follows the process's outcome; when it was the last
/// held statement of its run, the run's waiting workflow is told to go on.
pub async fn decide_statement(
    services: &Services,
    principal: &Principal,
    correlation_id: &str,
    statement_id: &str,
    approve: bool,
    reason: Option<&str>,
) -> Result<Value> {
    principal.require_any(
        &[Role::Finance, Role::Admin],
        "decide commission statements",
    )?;
    let reason = match (approve, reason.map(str::trim)) {
        (true, _) => "",
        (false, Some(reason)) if !reason.is_empty() && reason.len() <= 500 => reason,
        (false, _) => {
            return Err(Error::invalid(
                "reason_required",
                "reason",
                "a rejection gives a reason of 1 to 500 characters",
            ));
        }
    };
    let ctx = brokeros_kernel::user_ctx(services, principal, correlation_id);
    let ctx = &ctx;
    let (statement, run) = execute(services, None, move || {
        Box::pin(async move {
            let mut changes = Changeset::new();
            let before = services.get::<IbStatement>(statement_id).await?;
            let Some(process_id) = before.entity.approval_id.clone() else {
                return Err(Error::conflict(
                    "statement_state",
                    format!("statement {statement_id} needs no approval"),
                ));
            };
            if before.entity.status != StatementStatus::AwaitingApproval {
                return Err(Error::conflict(
                    "statement_state",
                    format!(
                        "statement {statement_id} is {} and cannot be decided",
                        before.entity.status.as_str()
                    ),
                ));
            }
            let vote = if approve {
                Vote::Approve
            } else {
                Vote::Reject { reason }
            };
            let decided = brokeros_approvals::decide(
                services,
                ctx,
                &process_id,
                principal,
                vote,
                &mut changes,
            )
            .await??;
            let mut statement = before.entity.clone();
            let run_before = services.get::<PayoutRun>(&statement.run_id).await?;
            let mut run = run_before.entity.clone();
            let ids = services.ids.as_ref();
            let action = match decided.outcome {
                brokeros_approvals::Outcome::Pending { .. } => None,
                brokeros_approvals::Outcome::Approved => Some((true, "ib.statement.approved")),
                brokeros_approvals::Outcome::Rejected => Some((false, "ib.statement.rejected")),
            };
            if let Some((approved, action)) = action {
                statement.decided(approved, ctx.now)?;
                changes.update(ctx, ids, &before, &statement, action, vec![])?;
                run.held = run.held.saturating_sub(1);
                run.updated_at = ctx.now;
                if run.held == 0 && run.status == RunStatus::AwaitingApprovals {
                    run.status = RunStatus::Paying;
                }
                changes.update(
                    ctx,
                    ids,
                    &run_before,
                    &run,
                    "ib.payout.statement_decided",
                    vec![],
                )?;
            }
            Ok(((statement, run), changes))
        })
    })
    .await?;
    if run.held == 0 {
        if let Some(token) = &run.approval_token {
            answer_waiting(services, token, &run).await?;
        } else if run.gave_up_waiting() && run.status == RunStatus::Paying {
            // The run's workflow stopped waiting long ago: a new one pays what was approved.
            start_execution(services, run.period, &run.requested_by).await?;
        }
    }
    Ok(statement_view(&statement))
}

/// Finance has a statement whose credit kept failing tried again, once what refused it is
/// mended: the statement is payable again (its failures kept) and a payout execution of its
/// period starts to credit it. Answers the statement and the execution.
pub async fn retry_statement(
    services: &Services,
    principal: &Principal,
    correlation_id: &str,
    statement_id: &str,
) -> Result<Value> {
    principal.require_any(&[Role::Finance, Role::Admin], "retry commission credits")?;
    let ctx = brokeros_kernel::user_ctx(services, principal, correlation_id);
    let ctx = &ctx;
    let (statement, run) = execute(services, None, move || {
        Box::pin(async move {
            let mut changes = Changeset::new();
            let before = services.get::<IbStatement>(statement_id).await?;
            let mut statement = before.entity.clone();
            statement.retry_credit(ctx.now)?;
            let run_before = services.get::<PayoutRun>(&statement.run_id).await?;
            let mut run = run_before.entity.clone();
            run.flagged = run.flagged.saturating_sub(1);
            if run.flagged == 0 {
                run.credit_failure = None;
            }
            run.updated_at = ctx.now;
            let ids = services.ids.as_ref();
            changes.update(
                ctx,
                ids,
                &before,
                &statement,
                "ib.statement.credit_retried",
                vec![],
            )?;
            changes.update(
                ctx,
                ids,
                &run_before,
                &run,
                "ib.payout.credit_retried",
                vec![],
            )?;
            Ok(((statement, run), changes))
        })
    })
    .await?;
    let arn = start_execution(services, run.period, &principal.sub).await?;
    Ok(json!({ "statement": statement_view(&statement), "execution_arn": arn }))
}

/// The workflow's wait for finance's decisions on run `run_id` ran out: recorded (the run stops
/// holding the expired token), and answered with whether the workflow should stop waiting (after
/// [`crate::model::payout::MAX_APPROVAL_WAITS`] waits; finance's last decision then starts a new execution to pay).
pub async fn escalate_approvals(
    services: &Services,
    ctx: &OpContext,
    run_id: &str,
) -> Result<Value> {
    let run = change_run(
        services,
        ctx,
        run_id,
        "ib.payout.approvals_overdue",
        |run| {
            run.escalations += 1;
            run.approval_token = None;
            true
        },
    )
    .await?;
    Ok(json!({
        "run_id": run.id,
        "held": run.held,
        "escalations": run.escalations,
        "give_up": run.gave_up_waiting(),
    }))
}

/// Tells the workflow waiting on run `run`'s approvals that none is held any more.
async fn answer_waiting(services: &Services, token: &str, run: &PayoutRun) -> Result<()> {
    services
        .workflow()?
        .task_success(token, json!({ "run_id": run.id, "held": 0 }))
        .await
}

/// Parks the workflow's `token` on the run while statements wait for finance; answers it at
/// once when none does.
pub async fn await_approvals(
    services: &Services,
    ctx: &OpContext,
    run_id: &str,
    token: &str,
) -> Result<Value> {
    let run = change_run(
        services,
        ctx,
        run_id,
        "ib.payout.awaiting_approvals",
        |run| {
            let parks = run.held > 0;
            if parks {
                run.approval_token = Some(token.to_string());
            }
            parks
        },
    )
    .await?;
    if run.held == 0 {
        answer_waiting(services, token, &run).await?;
    }
    Ok(json!({ "run_id": run.id, "held": run.held }))
}

/// A statement as the APIs show it.
pub fn statement_view(statement: &IbStatement) -> Value {
    serde_json::to_value(statement).expect("statements serialize")
}

/// A run as the APIs show it: never the workflow's token.
pub fn run_view(run: &PayoutRun) -> Value {
    let mut shown = run.clone();
    shown.approval_token = None;
    serde_json::to_value(&shown).expect("payout runs serialize")
}

/// A page of an IB's statements, for the IB portal or partner managers.
pub async fn statements_of_ib(
    services: &Services,
    ib_id: &str,
    filter: QueueFilter,
) -> Result<Value> {
    repo::statements_page(services, StatementList::OfIb(ib_id), filter, statement_view).await
}

/// A page of a run's statements.
pub async fn statements_of_run(
    services: &Services,
    run_id: &str,
    filter: QueueFilter,
) -> Result<Value> {
    repo::statements_page(
        services,
        StatementList::OfRun(run_id),
        filter,
        statement_view,
    )
    .await
}

/// Records on the run why the workflow gave up crediting (the statements keep their own
/// failures): finance's to look at.
pub async fn flag_credit_failure(
    services: &Services,
    ctx: &OpContext,
    run_id: &str,
    failure: &str,
) -> Result<PayoutRun> {
    let failure: String = failure.chars().take(500).collect();
    change_run(
        services,
        ctx,
        run_id,
        "ib.payout.credit_failure_flagged",
        |run| {
            let new = run.credit_failure.as_ref() != Some(&failure);
            if new {
                run.credit_failure = Some(failure.clone());
            }
            new
        },
    )
    .await
}

/// What a call of [`notify_paid`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifyReport {
    /// Notifications queued by this call.
    pub queued: u32,
    /// Paid statements of IBs that are not clients: they read them on the IB portal.
    pub portal_only: u32,
    /// More paid statements may wait: call again.
    pub more: bool,
}

/// Queues a notification for up to `limit` paid statements of run `run_id` not notified yet:
/// to the IB's client record (an IB that is not a client reads it on its portal) or, for a
/// rebate, to the client. A notification's id is its statement's, so each is queued once
/// however often this runs.
pub async fn notify_paid(
    services: &Services,
    ctx: &OpContext,
    run_id: &str,
    limit: u32,
) -> Result<NotifyReport> {
    check_limit(limit)?;
    let mut report = NotifyReport::default();
    report.more = act_on_statements(
        services,
        run_id,
        limit,
        |id| async move { notify_one(services, ctx, &id).await },
        |_, queued| match queued {
            Some(true) => {
                report.queued += 1;
                true
            }
            Some(false) => false,
            None => {
                report.portal_only += 1;
                false
            }
        },
    )
    .await?;
    Ok(report)
}

/// Queues statement `id`'s notification if it is paid: whether one was queued now, or none
/// when its IB has no client record to send it to.
async fn notify_one(services: &Services, ctx: &OpContext, id: &str) -> Result<Option<bool>> {
    execute(services, None, move || {
        Box::pin(async move {
            let mut changes = Changeset::new();
            let statement = services.get::<IbStatement>(id).await?.entity;
            if statement.status != StatementStatus::Paid {
                return Ok((Some(false), changes));
            }
            let (client, template) = match &statement.lines.beneficiary {
                Beneficiary::Ib(ib) => (
                    services
                        .find::<crate::model::Ib>(ib)
                        .await?
                        .and_then(|ib| ib.entity.client_id),
                    "ib_commission_paid",
                ),
                Beneficiary::Client(client) => (Some(client.clone()), "rebate_paid"),
            };
            let Some(client) = client else {
                return Ok((None, changes));
            };
            let lines = &statement.lines;
            let data = json!({
                "statement_id": statement.id,
                "period": statement.lines.period.label(),
                "amount": lines.paid,
                "currency": lines.currency.code,
            });
            let queued = brokeros_onboarding::stage_notification(
                services,
                ctx,
                &client,
                &format!("ntf_{}", statement.id),
                template,
                data,
                &mut changes,
            )
            .await?;
            Ok((Some(queued), changes))
        })
    })
    .await
}

/// Ends the run once its statements are paid or decided.
pub async fn finish_run(services: &Services, ctx: &OpContext, run_id: &str) -> Result<PayoutRun> {
    change_run(services, ctx, run_id, "ib.payout.done", |run| {
        let open = run.status != RunStatus::Done;
        if open {
            run.status = RunStatus::Done;
            run.approval_token = None;
        }
        open
    })
    .await
}

/// Who reads payouts and statements on the broker's side.
const STATEMENT_READERS: [Role; 3] = [Role::Partners, Role::Finance, Role::Admin];

/// A statement for partner managers and finance.
pub async fn statement(services: &Services, principal: &Principal, id: &str) -> Result<Value> {
    principal.require_any(&STATEMENT_READERS, "read commission statements")?;
    Ok(statement_view(
        &services.get::<IbStatement>(id).await?.entity,
    ))
}

/// A page of run `run_id`'s statements, for partner managers and finance.
pub async fn run_statements(
    services: &Services,
    principal: &Principal,
    run_id: &str,
    filter: QueueFilter,
) -> Result<Value> {
    principal.require_any(&STATEMENT_READERS, "read commission statements")?;
    services.get::<PayoutRun>(run_id).await?;
    statements_of_run(services, run_id, filter).await
}

/// A payout run, for partner managers and finance.
pub async fn run(services: &Services, principal: &Principal, id: &str) -> Result<Value> {
    principal.require_any(&STATEMENT_READERS, "read payout runs")?;
    Ok(run_view(&services.get::<PayoutRun>(id).await?.entity))
}

/// The calling IB's own statement `id`: another IB's (or a client's) is not found, so the portal
/// never says whether it exists.
async fn own_statement(
    services: &Services,
    principal: &Principal,
    id: &str,
) -> Result<IbStatement> {
    let own = crate::own_ib_id(services, principal).await?;
    match services.find::<IbStatement>(id).await? {
        Some(found) if found.entity.ib_id.as_deref() == Some(own.as_str()) => Ok(found.entity),
        _ => Err(Error::NotFound {
            entity: "statement",
            id: id.to_string(),
        }),
    }
}

/// The IB portal: a page of the caller's own statements.
pub async fn my_statements(
    services: &Services,
    principal: &Principal,
    filter: QueueFilter,
) -> Result<Value> {
    let own = crate::own_ib_id(services, principal).await?;
    statements_of_ib(services, &own, filter).await
}

/// The IB portal: one of the caller's own statements.
pub async fn my_statement(services: &Services, principal: &Principal, id: &str) -> Result<Value> {
    Ok(statement_view(
        &own_statement(services, principal, id).await?,
    ))
}

/// The IB portal: one of the caller's own statements as CSV (the preview's columns, then its
/// status).
pub async fn my_statement_csv(
    services: &Services,
    principal: &Principal,
    id: &str,
) -> Result<String> {
    let statement = own_statement(services, principal, id).await?;
    Ok(format!(
        "{},status\n{},{}\n",
        crate::preview::STATEMENT_CSV_HEADER,
        crate::preview::statement_csv(&statement.lines),
        statement.status.as_str()
    ))
}

/// What `POST /partners/payouts` asks for: a schedule's next period due, or one period
/// (`daily:2026-03-02`, `weekly:2026-W10`, `monthly:2026-03`) of that schedule: the next due,
/// or one already closed whose payout is resumed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PayoutRequest {
    pub schedule: PeriodKind,
    #[serde(default)]
    pub period: Option<String>,
}

/// Starts the payout workflow of a period of the schedule, with the caller as the requester
/// (who then may not approve its statements). Periods close in order: a period that has not
/// ended, or that is not the next due and was never closed, is refused. A closed period's run
/// goes on where it stood, paying nothing twice.
pub async fn start_payout(
    services: &Services,
    principal: &Principal,
    request: PayoutRequest,
) -> Result<Value> {
    principal.require_any(
        &[Role::Partners, Role::Finance, Role::Admin],
        "start a commission payout",
    )?;
    let now = crate::millis(services.clock.now());
    let due = next_due(services, request.schedule, now).await?;
    let period = match &request.period {
        None => due,
        Some(text) => {
            let period = accruals::parse_period("period", text)?;
            if period.kind != request.schedule {
                return Err(Error::invalid(
                    "invalid_period",
                    "period",
                    "the period is not one of the schedule's",
                ));
            }
            period
        }
    };
    let resumed = services.find::<PayoutRun>(&run_id(period)).await?.is_some();
    if !resumed {
        if request.period.is_none() && period.end_msc() > now {
            return Err(Error::conflict(
                "nothing_due",
                format!(
                    "no {} period is due: the next, {}, has not ended yet",
                    crate::keys::period_kind_name(period.kind),
                    period.label()
                ),
            ));
        }
        if period.end_msc() > now {
            return Err(Error::invalid(
                "period_not_ended",
                "period",
                format!(
                    "the {} period {} has not ended yet",
                    crate::keys::period_kind_name(period.kind),
                    period.label()
                ),
            ));
        }
        if period != due {
            return Err(Error::conflict(
                "period_out_of_order",
                format!(
                    "{} periods close in order: the next to close is {}",
                    crate::keys::period_kind_name(period.kind),
                    due.label()
                ),
            ));
        }
    }
    let arn = start_execution(services, period, &principal.sub).await?;
    Ok(json!({ "period_id": run_id(period), "resumed": resumed, "execution_arn": arn }))
}

/// What the schedules do in AWS (the template's `ScheduleV2` per kind), for `brokeros serve`:
/// starts the payout workflow of each kind whose payouts have begun (a plan of the kind was
/// stored, or one of its periods closed) and whose next period has ended without a run yet.
/// Answers the executions started.
pub async fn start_scheduled_payouts(services: &Services) -> Result<Vec<String>> {
    let now = crate::millis(services.clock.now());
    let mut started = Vec::new();
    for kind in [PeriodKind::Daily, PeriodKind::Weekly, PeriodKind::Monthly] {
        let name = crate::keys::period_kind_name(kind);
        let Some(sequence) = services.find::<PayoutSequence>(name).await? else {
            continue;
        };
        let due = sequence.entity.next_due();
        if due.end_msc() > now || services.find::<PayoutRun>(&run_id(due)).await?.is_some() {
            continue;
        }
        let input =
            json!({ "schedule": name, "requested_period": null, "requested_by": "schedule" });
        let execution = format!("{}-{}", run_id(due), services.ids.uuid().simple());
        started.push(
            services
                .workflow()?
                .start(
                    brokeros_kernel::workflow::Machine::CommissionPayout,
                    &execution,
                    input,
                )
                .await?,
        );
    }
    Ok(started)
}

/// Starts the payout workflow for `period`, requested by `requested_by`.
async fn start_execution(
    services: &Services,
    period: Period,
    requested_by: &str,
) -> Result<String> {
    let run_id = run_id(period);
    let name = format!("{run_id}-{}", services.ids.uuid().simple());
    let input = json!({
        "schedule": crate::keys::period_kind_name(period.kind),
        "requested_period": format!("{}:{}", crate::keys::period_kind_name(period.kind), period.label()),
        "requested_by": requested_by,
    });
    services
        .workflow()?
        .start(
            brokeros_kernel::workflow::Machine::CommissionPayout,
            &name,
            input,
        )
        .await
}
