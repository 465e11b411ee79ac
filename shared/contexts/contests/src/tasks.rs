//! The contest scoring workflow's task handlers, all in one function (`contest-scoring`), and
//! the schedule that starts the workflow: a scoring run for each running contest, and once a
//! contest has ended (and `contests.freeze_after_seconds` have passed for late deals) its
//! final run — freeze, full recompute, prizes. The same handlers run under Step Functions and
//! on the local engine.

use brokeros_kernel::changeset::Changeset;
use brokeros_kernel::workflow::parse;
use brokeros_kernel::{Error, OpContext, Result, workflow_ctx};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::Services;
use crate::live;
use crate::model::contest::{ContestRecord, ContestStatus, Phase};
use crate::prizes::{self, RoundStatus};
use crate::roster::load_roster;
use crate::runs::start_run;

/// Batches of each server's feed one `score_new_deals` task reads at most.
const BATCHES_PER_TASK: u32 = 40;

/// The task function's name, as the definition's `Resource`s name it.
pub const CONTEST_SCORING: &str = "contest-scoring";

#[derive(Debug, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
enum Task {
    StartScheduled,
    ScoreNewDeals {
        contest_id: String,
        execution_id: String,
    },
    PublishLeaderboard {
        contest_id: String,
        execution_id: String,
        #[serde(rename = "final")]
        is_final: bool,
    },
    Freeze {
        contest_id: String,
        execution_id: String,
    },
    Recompute {
        contest_id: String,
        execution_id: String,
    },
    ProposePrizes {
        contest_id: String,
        execution_id: String,
    },
    AwaitApproval {
        contest_id: String,
        execution_id: String,
        task_token: String,
    },
    ApprovalOverdue {
        contest_id: String,
        execution_id: String,
    },
    PayPrizes {
        contest_id: String,
        execution_id: String,
    },
    NotifyWinners {
        contest_id: String,
        execution_id: String,
    },
}

/// Runs the task the payload's `action` names.
pub async fn run(services: &Services, payload: Value) -> Result<Value> {
    let task: Task = parse(payload)?;
    let ctx = |execution_id: &str| workflow_ctx(services, execution_id);
    match task {
        Task::StartScheduled => {
            let started = start_scheduled(services).await?;
            Ok(json!({ "started": started }))
        }
        Task::ScoreNewDeals {
            contest_id,
            execution_id,
        } => {
            let (record, roster) = load_roster(services, &contest_id).await?;
            if record.entity.status != ContestStatus::Published {
                return Ok(json!({ "more": false, "changes": 0, "entrants_rescored": 0 }));
            }
            let ctx = ctx(&execution_id);
            // Several batches per task, so that reading a long history does not fill the
            // execution's event history (Step Functions keeps 25,000 events).
            let (mut changes, mut rescored, mut more) = (0, 0, true);
            for _ in 0..BATCHES_PER_TASK {
                let report = live::score_new_deals(services, &ctx, &roster).await?;
                changes += report.changes;
                rescored += report.entrants_rescored;
                more = report.more;
                if !more {
                    break;
                }
            }
            Ok(json!({ "more": more, "changes": changes, "entrants_rescored": rescored }))
        }
        Task::PublishLeaderboard {
            contest_id,
            execution_id,
            is_final,
        } => {
            let ctx = ctx(&execution_id);
            let (record, roster) = load_roster(services, &contest_id).await?;
            let published = record.entity.status == ContestStatus::Published;
            let snapshot = if published {
                Some(
                    live::publish_leaderboard(services, &ctx, &roster, false)
                        .await?
                        .seq,
                )
            } else {
                None
            };
            let ended =
                is_final && (!published || final_run_due(services, &record.entity, ctx.now));
            Ok(json!({ "snapshot": snapshot, "ended": ended }))
        }
        Task::Freeze {
            contest_id,
            execution_id,
        } => {
            let ctx = ctx(&execution_id);
            move_status(
                services,
                &ctx,
                &contest_id,
                ContestStatus::Published,
                ContestStatus::Frozen,
                "contest.frozen",
            )
            .await?;
            Ok(json!({ "frozen": true }))
        }
        Task::Recompute {
            contest_id,
            execution_id,
        } => {
            let ctx = ctx(&execution_id);
            let (record, roster) = load_roster(services, &contest_id).await?;
            let recompute = live::recompute_in_full(services, &ctx, &roster).await?;
            if recompute.differences.is_empty() {
                live::publish_leaderboard(services, &ctx, &roster, true).await?;
            } else {
                // No prize is proposed from scores that do not recompute: the contest says why,
                // audited, and the workflow fails for an operator (its alarm).
                let entrants: Vec<&str> = recompute
                    .differences
                    .iter()
                    .map(|(entrant, _, _)| entrant.as_str())
                    .collect();
                let mut after = record.entity.clone();
                after.scoring_alert = Some(format!(
                    "the incremental scores of {} entrant(s) differ from a full recompute: {}",
                    entrants.len(),
                    entrants.join(", ")
                ));
                after.updated_at = ctx.now;
                let mut changes = Changeset::new();
                changes.update_if_changed(
                    &ctx,
                    services.ids.as_ref(),
                    &record,
                    &after,
                    "contest.scores_differ",
                )?;
                services.commit(changes).await?;
            }
            Ok(json!({
                "entrants": recompute.entrants,
                "differences": recompute.differences.len(),
                "flags": recompute.flags.len(),
            }))
        }
        Task::ProposePrizes {
            contest_id,
            execution_id,
        } => {
            let ctx = ctx(&execution_id);
            let (record, roster) = load_roster(services, &contest_id).await?;
            let standings = live::standings(services, &roster).await?;
            let requested_by = record
                .entity
                .published_by
                .clone()
                .unwrap_or_else(|| "schedule".to_string());
            let round =
                prizes::propose_round(services, &ctx, &roster, &standings, &requested_by).await?;
            let status = match round.status {
                RoundStatus::Proposed | RoundStatus::Rejected => ContestStatus::PrizesProposed,
                RoundStatus::Approved => ContestStatus::PrizesApproved,
                RoundStatus::Paid => ContestStatus::Paid,
            };
            set_status(
                services,
                &ctx,
                &contest_id,
                status,
                "contest.prizes_proposed",
            )
            .await?;
            Ok(json!({
                "pending": round.status == RoundStatus::Proposed,
                "awards": round.proposal.awards.len(),
            }))
        }
        Task::AwaitApproval {
            contest_id,
            execution_id,
            task_token,
        } => {
            prizes::await_decision(services, &ctx(&execution_id), &contest_id, &task_token).await?;
            Ok(json!({}))
        }
        Task::ApprovalOverdue {
            contest_id,
            execution_id,
        } => {
            prizes::approval_overdue(services, &ctx(&execution_id), &contest_id).await?;
            Ok(json!({}))
        }
        Task::PayPrizes {
            contest_id,
            execution_id,
        } => {
            let ctx = ctx(&execution_id);
            set_status(
                services,
                &ctx,
                &contest_id,
                ContestStatus::PrizesApproved,
                "contest.prizes_approved",
            )
            .await?;
            let report = prizes::pay_next(services, &ctx, &contest_id).await?;
            Ok(json!({ "paid": report.paid, "more": report.more }))
        }
        Task::NotifyWinners {
            contest_id,
            execution_id,
        } => {
            let ctx = ctx(&execution_id);
            let notified = prizes::notify_winners(services, &ctx, &contest_id).await?;
            set_status(
                services,
                &ctx,
                &contest_id,
                ContestStatus::Paid,
                "contest.paid",
            )
            .await?;
            Ok(json!({ "notified": notified }))
        }
    }
}

/// Whether the contest's final run may start: its period ended and the grace for late deals
/// passed.
fn final_run_due(services: &Services, record: &ContestRecord, now: OffsetDateTime) -> bool {
    now >= record.definition.period.until
        + time::Duration::seconds(i64::from(services.config.freeze_after_seconds))
}

/// Moves a contest from `from` to `to` (nothing when it is elsewhere already).
async fn move_status(
    services: &Services,
    ctx: &OpContext,
    contest: &str,
    from: ContestStatus,
    to: ContestStatus,
    action: &str,
) -> Result<()> {
    let before = services.get::<ContestRecord>(contest).await?;
    if before.entity.status != from {
        return Ok(());
    }
    let mut after = before.entity.clone();
    after.status = to;
    after.updated_at = ctx.now;
    let mut changes = Changeset::new();
    changes.update(ctx, services.ids.as_ref(), &before, &after, action, vec![])?;
    services.commit(changes).await?;
    Ok(())
}

/// Sets a frozen contest's prize status (a status already there changes nothing).
async fn set_status(
    services: &Services,
    ctx: &OpContext,
    contest: &str,
    to: ContestStatus,
    action: &str,
) -> Result<()> {
    let before = services.get::<ContestRecord>(contest).await?;
    if before.entity.status == to || before.entity.status == ContestStatus::Paid {
        return Ok(());
    }
    if matches!(
        before.entity.status,
        ContestStatus::Draft | ContestStatus::Cancelled | ContestStatus::Published
    ) {
        return Err(Error::Conflict {
            code: "contest_not_frozen",
            message: format!("contest {contest} is not frozen: its prizes wait"),
        });
    }
    move_status(services, ctx, contest, before.entity.status, to, action).await
}

/// The execution name of a contest's scoring run in the minute `now` (one per minute, so a
/// repeated schedule starts nothing twice).
fn scoring_run_name(contest: &str, now: OffsetDateTime) -> String {
    format!(
        "contest-{contest}-{:04}{:02}{:02}{:02}{:02}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute()
    )
}

/// Starts a scoring run of each running published contest, and the final run of each that
/// has ended (once: its name is the contest's). Answers the executions started.
pub async fn start_scheduled(services: &Services) -> Result<Vec<String>> {
    let now = services.clock.now();
    let mut started = Vec::new();
    for record in crate::roster::published_contests(services).await? {
        let definition = &record.definition;
        let (name, is_final) = match Phase::at(definition, now) {
            Phase::Running => (scoring_run_name(&record.id, now), false),
            Phase::Ended if final_run_due(services, &record, now) => {
                (format!("contest-{}-final", record.id), true)
            }
            Phase::Ended => (scoring_run_name(&record.id, now), false),
            Phase::Upcoming | Phase::RegistrationOpen => continue,
        };
        match start_run(services, &record.id, &name, is_final).await {
            Ok(arn) => started.push(arn),
            // The final run was started before (and may have stopped for an operator).
            Err(Error::Conflict {
                code: "execution_exists",
                ..
            }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(started)
}
