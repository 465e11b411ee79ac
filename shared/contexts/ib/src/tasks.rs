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
            let schedule = task.schedule.ok_or_else(|| {
                Error::invalid("invalid_task_input", "schedule", "schedule is required")
            })?;
            let started_at = task.started_at.unwrap_or(ctx.now);
            let requested_by = task.requested_by.as_deref().unwrap_or("schedule");
            let run =
                payout::close_period(services, &ctx, schedule, started_at, requested_by).await?;
            Ok(json!({ "period_id": run.id }))
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
            let retrying = report.failed > report.flagged.len() as u32;
            Ok(json!({
                "payable": u32::from(report.more || retrying),
                "awaiting_approval": run.held,
                "flagged": run.flagged,
            }))
        }
        Action::AwaitApprovals => {
            let run_id = required(&task.period_id, "period_id")?;
            let token = required(&task.task_token, "task_token")?;
            payout::await_approvals(services, &ctx, run_id, token).await
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
            let run = payout::finish_run(services, &ctx, run_id).await?;
            Ok(json!({ "notified": 0, "paid": run.paid }))
        }
    }
}
