//! The commission payout workflow's task handlers, all in one function (`commission-payout`)
//! dispatched by the payload's `action`. Each is idempotent: closing a closed period answers
//! its run, a built statement is not built again, a paid one not paid again. The actor of
//! every event is the workflow execution.

use brokeros_kernel::workflow::parse;
use brokeros_kernel::{Error, Result};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::Services;
use crate::model::PeriodKind;
use crate::payout;

/// The one task function of the commission payout definition.
pub const COMMISSION_PAYOUT: &str = "commission-payout";
/// Beneficiaries built, or statements credited, per task.
const BATCH: u32 = 25;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Action {
    ClosePeriod,
    BuildStatements,
    PayStatements,
    AwaitApprovals,
    EscalateApprovals,
    FlagCreditFailure,
    Notify,
}

#[derive(Debug, Deserialize)]
struct Task {
    action: Action,
    /// `$$.Execution.Id`: the actor of the task's audit events and their correlation id.
    execution_id: String,
    #[serde(default)]
    schedule: Option<PeriodKind>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    started_at: Option<OffsetDateTime>,
    /// Who started the run (absent: the scheduler).
    #[serde(default)]
    requested_by: Option<String>,
    /// A period to close instead of the schedule's next due (`daily:2026-03-02`).
    #[serde(default)]
    requested_period: Option<String>,
    #[serde(default)]
    period_id: Option<String>,
    #[serde(default)]
    task_token: Option<String>,
    #[serde(default)]
    failure: Option<Value>,
}

fn required<'a>(value: &'a Option<String>, field: &str) -> Result<&'a str> {
    value
        .as_deref()
        .ok_or_else(|| Error::invalid("invalid_task_input", field, format!("{field} is required")))
}

/// Runs the handler of the payload's action.
pub async fn run(services: &Services, payload: Value) -> Result<Value> {
    let task: Task = parse(payload)?;
    let ctx = brokeros_kernel::workflow_ctx(services, &task.execution_id);
    match task.action {
        Action::ClosePeriod => {
            let requested_by = task.requested_by.as_deref().unwrap_or("schedule");
            let closed = match &task.requested_period {
                Some(text) => {
                    let period = crate::accruals::parse_period("requested_period", text)?;
                    let run = payout::start_run(services, &ctx, period, requested_by).await?;
                    payout::Closed {
                        run: Some(run),
                        more_due: false,
                    }
                }
                None => {
                    let schedule = task.schedule.ok_or_else(|| {
                        Error::invalid("invalid_task_input", "schedule", "schedule is required")
                    })?;
                    let started_at = task.started_at.unwrap_or(ctx.now);
                    payout::close_period(services, &ctx, schedule, started_at, requested_by).await?
                }
            };
            Ok(json!({
                "period_id": closed.run.map(|run| run.id),
                "more_due": closed.more_due,
            }))
        }
        Action::BuildStatements => {
            let run_id = required(&task.period_id, "period_id")?;
            let report = payout::build_statements(services, &ctx, run_id, BATCH).await?;
            Ok(json!({ "remaining": u32::from(report.more), "held": report.held }))
        }
        Action::PayStatements => {
            let run_id = required(&task.period_id, "period_id")?;
            let report = payout::pay_statements(services, &ctx, run_id, BATCH).await?;
            let run = services
                .get::<crate::model::payout::PayoutRun>(run_id)
                .await?
                .entity;
            // A failed credit is tried again when its wait is over, not at once.
            let retry_in_seconds = report
                .retry_at
                .map_or(0, |at| (at - ctx.now).whole_seconds().max(1));
            Ok(json!({
                "payable": u32::from(report.more),
                "retry_in_seconds": retry_in_seconds,
                "awaiting_approval": run.held,
                "flagged": run.flagged,
            }))
        }
        Action::AwaitApprovals => {
            let run_id = required(&task.period_id, "period_id")?;
            let token = required(&task.task_token, "task_token")?;
            payout::await_approvals(services, &ctx, run_id, token).await
        }
        Action::EscalateApprovals => {
            let run_id = required(&task.period_id, "period_id")?;
            payout::escalate_approvals(services, &ctx, run_id).await
        }
        Action::FlagCreditFailure => {
            let run_id = required(&task.period_id, "period_id")?;
            let failure = task
                .failure
                .as_ref()
                .and_then(|f| f.get("Error").and_then(Value::as_str))
                .unwrap_or("statements whose credit kept failing");
            let run = payout::flag_credit_failure(services, &ctx, run_id, failure).await?;
            Ok(json!({ "period_id": run.id, "flagged": run.flagged }))
        }
        Action::Notify => {
            let run_id = required(&task.period_id, "period_id")?;
            let report = payout::notify_paid(services, &ctx, run_id, BATCH).await?;
            if !report.more {
                payout::finish_run(services, &ctx, run_id).await?;
            }
            Ok(json!({
                "notified": report.queued,
                "portal_only": report.portal_only,
                "remaining": u32::from(report.more),
            }))
        }
    }
}
