//! The PAMM rollover workflow's task handlers, all in one function (`pamm-rollover`), and the
//! schedule that starts the workflow: for each approved offer, the rollover its schedule has
//! made due (one execution per rollover, named after it, so a second start is harmless), or
//! the one under way again when it stopped before its end. The same handlers run under Step
//! Functions and on the local engine.

use brokeros_kernel::workflow::{Machine, parse};
use brokeros_kernel::{Error, Result, workflow_ctx};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::Services;
use crate::model::OfferStatus;
use crate::model::cycle::Phase;
use crate::repo;
use crate::rollover;

/// The task function's name, as the definition's `Resource`s name it.
pub const PAMM_ROLLOVER: &str = "pamm-rollover";

#[derive(Debug, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
enum Task {
    StartScheduled,
    Freeze {
        offer_id: String,
        #[serde(with = "time::serde::rfc3339")]
        rollover_at: OffsetDateTime,
        execution_id: String,
    },
    Mark {
        rollover_id: String,
        execution_id: String,
    },
    Compute {
        rollover_id: String,
        execution_id: String,
    },
    Execute {
        rollover_id: String,
        execution_id: String,
    },
    Settle {
        rollover_id: String,
        execution_id: String,
    },
    Notify {
        rollover_id: String,
        execution_id: String,
    },
}

/// Runs the task the payload's `action` names.
pub async fn run(services: &Services, payload: Value) -> Result<Value> {
    let task: Task = parse(payload)?;
    let ctx = |execution_id: &str| workflow_ctx(services, execution_id);
    Ok(match task {
        Task::StartScheduled => json!({ "started": start_scheduled(services).await? }),
        Task::Freeze {
            offer_id,
            rollover_at,
            execution_id,
        } => {
            let id =
                rollover::freeze(services, &ctx(&execution_id), &offer_id, rollover_at).await?;
            json!({ "rollover_id": id })
        }
        Task::Mark {
            rollover_id,
            execution_id,
        } => {
            let equity = rollover::mark(services, &ctx(&execution_id), &rollover_id).await?;
            json!({ "equity": equity })
        }
        Task::Compute {
            rollover_id,
            execution_id,
        } => json!(rollover::compute(services, &ctx(&execution_id), &rollover_id).await?),
        Task::Execute {
            rollover_id,
            execution_id,
        } => json!(rollover::execute_requests(services, &ctx(&execution_id), &rollover_id).await?),
        Task::Settle {
            rollover_id,
            execution_id,
        } => {
            let record = rollover::settle(services, &ctx(&execution_id), &rollover_id).await?;
            json!({
                "nav": record.nav,
                "nav_after": record.nav_after,
                "equity_after": record.equity_after,
                "holders": record.holders,
            })
        }
        Task::Notify {
            rollover_id,
            execution_id,
        } => json!(rollover::notify(services, &ctx(&execution_id), &rollover_id).await?),
    })
}

/// The execution name of a rollover's run: `pamm-<offer>-<time of the rollover>`, and for a
/// run that resumes one that stopped, the time it was started again after it.
fn execution_name(offer_id: &str, at: OffsetDateTime, resumed: Option<OffsetDateTime>) -> String {
    let stamp = |t: OffsetDateTime| {
        let t = t.to_offset(time::UtcOffset::UTC);
        format!(
            "{:04}{:02}{:02}{:02}{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        )
    };
    match resumed {
        None => format!("pamm-{offer_id}-{}", stamp(at)),
        Some(now) => format!("pamm-{offer_id}-{}-r{}", stamp(at), stamp(now)),
    }
}

/// Starts the rollover each approved offer's schedule has made due (the first after the last
/// one, or after the offer's approval), and runs again a rollover that stopped under way
/// (its steps find what was done). Answers the executions started.
pub async fn start_scheduled(services: &Services) -> Result<Vec<String>> {
    let now = services.clock.now();
    let mut started = Vec::new();
    for status in [OfferStatus::Active, OfferStatus::Suspended] {
        for offer in repo::offers_in_status(services, status).await? {
            let fund = crate::requests::fund_state(services, &offer).await?;
            let (at, resumed) = match &fund.phase {
                Phase::Idle => {
                    // The latest rollover due: one missed while nothing ran is not run late.
                    let schedule = &offer.terms_at(now).terms.rollover;
                    let mut due = None;
                    let mut next =
                        schedule.next_after(fund.last_rollover_at.unwrap_or(offer.created_at))?;
                    while next <= now {
                        due = Some(next);
                        next = schedule.next_after(next)?;
                    }
                    let Some(at) = due else { continue };
                    (at, None)
                }
                Phase::Frozen { at, .. }
                | Phase::Marked { at, .. }
                | Phase::Recorded { at, .. } => (*at, Some(now)),
            };
            let name = execution_name(&offer.id, at, resumed);
            let at_text = at
                .format(&time::format_description::well_known::Rfc3339)
                .map_err(|e| Error::Internal(e.to_string()))?;
            let input = json!({ "offer_id": offer.id, "rollover_at": at_text });
            match services
                .workflow()?
                .start(Machine::PammRollover, &name, input)
                .await
            {
                Ok(arn) => started.push(arn),
                Err(Error::Conflict {
                    code: "execution_exists",
                    ..
                }) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(started)
}
