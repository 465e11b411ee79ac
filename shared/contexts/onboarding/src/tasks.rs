//! The onboarding workflow's task handlers. Each takes the task's JSON payload and answers JSON,
//! is idempotent (Step Functions retries tasks, and a Lambda may run twice), and commits its
//! state change with the audit events in one transaction. The actor of every event is the
//! workflow execution.

use crate::model::{AccountRef, KycStatus, OnboardingStatus, Review, ReviewLevel, ReviewStatus};
use brokeros_kernel::{Error, Result, normalize};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Services;
use crate::task_scope::TaskScope;
use brokeros_kernel::OpContext;
use brokeros_kernel::changeset::{Audited, Changeset};
use brokeros_kernel::idempotency::execute;
use brokeros_kernel::workflow::parse;

/// The task functions the onboarding definition calls: one Lambda function each, named as the
/// definition's resources name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OnboardingTask {
    KycCheck,
    ComplianceReview,
    TradingAccount,
    Notify,
    OnboardingOutcome,
}

impl OnboardingTask {
    pub const ALL: [OnboardingTask; 5] = [
        OnboardingTask::KycCheck,
        OnboardingTask::ComplianceReview,
        OnboardingTask::TradingAccount,
        OnboardingTask::Notify,
        OnboardingTask::OnboardingOutcome,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            OnboardingTask::KycCheck => "kyc-check",
            OnboardingTask::ComplianceReview => "compliance-review",
            OnboardingTask::TradingAccount => "trading-account",
            OnboardingTask::Notify => "notify",
            OnboardingTask::OnboardingOutcome => "onboarding-outcome",
        }
    }
}

/// Runs the handler of `task` on `payload`.
pub async fn run(services: &Services, task: OnboardingTask, payload: Value) -> Result<Value> {
    match task {
        OnboardingTask::KycCheck => super::kyc_task::run(services, parse(payload)?).await,
        OnboardingTask::ComplianceReview => review_task(services, parse(payload)?).await,
        OnboardingTask::TradingAccount => {
            super::account_task::open_account(services, parse(payload)?).await
        }
        OnboardingTask::Notify => notify(services, parse(payload)?).await,
        OnboardingTask::OnboardingOutcome => {
            let task: OutcomeTask = parse(payload)?;
            let ctx = task.scope.ctx(services);
            record_outcome(services, task, ctx).await
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ReviewAction {
    /// Opens the compliance review the workflow waits on.
    Request,
    /// The compliance review's deadline passed: it closes as escalated, the escalated review
    /// opens.
    Escalate,
    /// The escalated review's deadline passed: it closes as expired.
    Expire,
}

/// The error the `expire` action fails its task with when nobody decided in time.
pub const REVIEW_EXPIRED: &str = "ReviewExpired";

#[derive(Debug, Deserialize)]
struct ReviewTask {
    #[serde(flatten)]
    scope: TaskScope,
    action: ReviewAction,
    check_id: String,
    task_token: String,
}

fn review_id(onboarding_id: &str, level: ReviewLevel) -> String {
    let level = match level {
        ReviewLevel::Compliance => "compliance",
        ReviewLevel::Escalated => "escalated",
    };
    format!("rev_{}_{level}", onboarding_id.trim_start_matches("onb_"))
}

/// How a review task answers its workflow task once its transaction committed.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum ReviewAnswer {
    /// Not yet: a reviewer's decision will.
    Wait,
    /// With the decision a reviewer took before this task ran (their own answer to the
    /// workflow may have been lost).
    Follow(Box<Review>),
    /// With `ReviewExpired`: nobody decided in time.
    Expired,
}

/// The compliance review task (`compliance-review`): opens the review the workflow waits on
/// (`request`), escalates it when its deadline passed (`escalate`), expires the escalated one
/// when its own did (`expire`). A decision already taken on the review the workflow waited on
/// is followed whatever the action, so a decision whose answer to the workflow was lost still
/// takes effect. Closing a review and a reviewer's decision both write the review, so one of
/// them wins and the other is refused or follows it. A retried invocation carries a new task
/// token: a still-pending review takes it.
async fn review_task(services: &Services, task: ReviewTask) -> Result<Value> {
    let task = &task;
    let (review, answer) = execute(services, None, move || {
        Box::pin(async move {
            let ctx = task.scope.ctx(services);
            let onboarding_id = &task.scope.onboarding_id;
            let mut changes = Changeset::new();
            let compliance =
                load_review_at(services, onboarding_id, ReviewLevel::Compliance).await?;
            let escalated = load_review_at(services, onboarding_id, ReviewLevel::Escalated).await?;
            let waited_on = match task.action {
                ReviewAction::Request => compliance.as_ref(),
                ReviewAction::Escalate | ReviewAction::Expire => escalated.as_ref(),
            };
            let decided = [compliance.as_ref(), escalated.as_ref()]
                .into_iter()
                .flatten()
                .find(|r| r.entity.is_decided());
            let (review, next) = match (decided, task.action, waited_on) {
                (Some(decided), _, _) => (
                    decided.entity.clone(),
                    ReviewAnswer::Follow(Box::new(decided.entity.clone())),
                ),
                (None, ReviewAction::Expire, Some(before)) => {
                    let mut review = before.entity.clone();
                    review.close(ReviewStatus::Expired, ctx.now);
                    changes.update_if_changed(
                        &ctx,
                        services.ids.as_ref(),
                        before,
                        &review,
                        "review.expired",
                    )?;
                    (review, ReviewAnswer::Expired)
                }
                (None, ReviewAction::Expire, None) => {
                    return Err(Error::Internal(format!(
                        "onboarding {onboarding_id}: no escalated review to expire"
                    )));
                }
                (None, _, Some(before)) => {
                    let mut review = before.entity.clone();
                    if review.status == ReviewStatus::Pending {
                        review.task_token = task.task_token.clone();
                    }
                    changes.update_if_changed(
                        &ctx,
                        services.ids.as_ref(),
                        before,
                        &review,
                        "review.token_renewed",
                    )?;
                    (review, ReviewAnswer::Wait)
                }
                (None, _, None) => {
                    let level = match task.action {
                        ReviewAction::Request => ReviewLevel::Compliance,
                        _ => ReviewLevel::Escalated,
                    };
                    let review = open_review(services, &mut changes, &ctx, task, level)?;
                    if level == ReviewLevel::Escalated {
                        let first = (onboarding_id, ReviewLevel::Compliance);
                        close_review(
                            services,
                            &mut changes,
                            &ctx,
                            first,
                            ReviewStatus::Escalated,
                            "review.timed_out",
                        )
                        .await?;
                    }
                    (review, ReviewAnswer::Wait)
                }
            };
            if matches!(next, ReviewAnswer::Wait) {
                let (_, client_before) = task.scope.load(services).await?;
                let mut client = client_before.entity.clone();
                client.kyc_status = KycStatus::InReview;
                changes.update_if_changed(
                    &ctx,
                    services.ids.as_ref(),
                    &client_before,
                    &client,
                    "client.kyc_in_review",
                )?;
            }
            Ok(((review, next), changes))
        })
    })
    .await?;
    match answer {
        ReviewAnswer::Wait => {}
        ReviewAnswer::Follow(review) => {
            super::reviews::answer_decision(services, &review, &task.task_token).await?
        }
        ReviewAnswer::Expired => {
            let cause = json!({ "onboarding_id": task.scope.onboarding_id }).to_string();
            let answered = services
                .workflow()?
                .task_failure(&task.task_token, REVIEW_EXPIRED, &cause)
                .await;
            brokeros_kernel::workflow::unless_not_waiting(answered)?
        }
    }
    Ok(json!({ "review_id": review.id, "status": review.status.as_str() }))
}

async fn load_review_at(
    services: &Services,
    onboarding_id: &str,
    level: ReviewLevel,
) -> Result<Option<Audited<Review>>> {
    services.find(&review_id(onboarding_id, level)).await
}

/// Stages a new pending review at `level` holding the task's token.
fn open_review(
    services: &Services,
    changes: &mut Changeset,
    ctx: &OpContext,
    task: &ReviewTask,
    level: ReviewLevel,
) -> Result<Review> {
    let review = Review {
        id: review_id(&task.scope.onboarding_id, level),
        client_id: task.scope.client_id.clone(),
        onboarding_id: task.scope.onboarding_id.clone(),
        check_id: normalize::code("check_id", &task.check_id, 120)?,
        level,
        status: ReviewStatus::Pending,
        task_token: task.task_token.clone(),
        created_at: ctx.now,
        decided_by: None,
        decided_at: None,
        reason: None,
    };
    let action = match level {
        ReviewLevel::Compliance => "review.requested",
        ReviewLevel::Escalated => "review.escalated",
    };
    changes.create(ctx, services.ids.as_ref(), &review, action)?;
    Ok(review)
}

/// Stages closing the onboarding's review of `level`, if it exists and is still pending.
async fn close_review(
    services: &Services,
    changes: &mut Changeset,
    ctx: &OpContext,
    (onboarding_id, level): (&String, ReviewLevel),
    status: ReviewStatus,
    action: &str,
) -> Result<()> {
    let id = review_id(onboarding_id, level);
    if let Some(before) = services.find::<Review>(&id).await? {
        let mut review = before.entity.clone();
        if review.close(status, ctx.now) {
            changes.update(ctx, services.ids.as_ref(), &before, &review, action, vec![])?;
        }
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
struct NotifyTask {
    #[serde(flatten)]
    scope: TaskScope,
    template: String,
    #[serde(default)]
    login: Option<u64>,
}

/// Queues the client's notification once per onboarding and template.
async fn notify(services: &Services, task: NotifyTask) -> Result<Value> {
    let template = normalize::code("template", &task.template, 80)?;
    let id = format!(
        "ntf_{}_{}",
        task.scope.onboarding_id.trim_start_matches("onb_"),
        template
    );
    let (task, id, template) = (&task, &id, &template);
    execute(services, None, move || {
        Box::pin(async move {
            let ctx = task.scope.ctx(services);
            let (_, client) = task.scope.load(services).await?;
            let mut changes = Changeset::new();
            crate::stage_notification(
                services,
                &ctx,
                &client.entity.id,
                id,
                template,
                json!({ "onboarding_id": task.scope.onboarding_id, "login": task.login }),
                &mut changes,
            )
            .await?;
            Ok(((), changes))
        })
    })
    .await?;
    Ok(json!({ "notification_id": id }))
}

#[derive(Debug, Deserialize)]
struct OutcomeTask {
    #[serde(flatten)]
    scope: TaskScope,
    outcome: String,
    /// The execution's state when it reached the outcome: the account it opened, the failure
    /// it caught.
    execution: Value,
}

/// Records how the onboarding ended, on the onboarding, on the client (KYC status, accounts)
/// and on any review left pending, in one transaction. Repeating the same outcome changes
/// nothing; a different outcome after one was recorded is refused.
async fn record_outcome(services: &Services, task: OutcomeTask, ctx: OpContext) -> Result<Value> {
    let outcome = OnboardingStatus::parse_outcome(&task.outcome)?;
    let account: Option<AccountRef> = match task.execution.get("account") {
        Some(a) => Some(serde_json::from_value(a.clone()).map_err(|e| {
            Error::invalid("invalid_task_input", "execution.account", e.to_string())
        })?),
        None => None,
    };
    let failure = task.execution.get("failure").map(|f| {
        let error = f.get("Error").and_then(Value::as_str).unwrap_or("unknown");
        // The cause of a Lambda failure can quote inputs; the error name is what operators act
        // on, and the execution's history keeps the rest.
        error.to_string()
    });
    let (task, account, failure, ctx) = (&task, &account, &failure, &ctx);
    let onboarding = execute(services, None, move || {
        Box::pin(async move {
            let ctx = ctx.clone();
            let (onboarding_before, client_before) = task.scope.load(services).await?;
            let mut changes = Changeset::new();
            let mut onboarding = onboarding_before.entity.clone();
            if onboarding.finish(outcome, failure.clone(), ctx.now)? {
                if onboarding.account.is_none() {
                    onboarding.account = account.clone();
                }
                let action = format!("onboarding.{}", outcome.as_str());
                changes.update(
                    &ctx,
                    services.ids.as_ref(),
                    &onboarding_before,
                    &onboarding,
                    &action,
                    vec![],
                )?;
                let mut client = client_before.entity.clone();
                client.kyc_status = KycStatus::after(outcome);
                if outcome == OnboardingStatus::Approved {
                    client.status = "active".to_string();
                    // Approved again: an approval a profile change voided holds once more.
                    client.reverification = None;
                }
                if let Some(account) = account {
                    client.add_trading_account(account);
                }
                changes.update_if_changed(
                    &ctx,
                    services.ids.as_ref(),
                    &client_before,
                    &client,
                    &format!("client.kyc_{}", outcome.as_str()),
                )?;
                // Approvals and rejections that went through a review were decided by a
                // compliance user, whose decision committed before the workflow was told; only
                // an onboarding that failed (or expired: already closed) leaves a review open.
                let undecided = matches!(
                    outcome,
                    OnboardingStatus::Failed | OnboardingStatus::ReviewExpired
                );
                if undecided {
                    for level in [ReviewLevel::Compliance, ReviewLevel::Escalated] {
                        let review = (&onboarding.id, level);
                        close_review(
                            services,
                            &mut changes,
                            &ctx,
                            review,
                            ReviewStatus::Cancelled,
                            "review.cancelled",
                        )
                        .await?;
                    }
                }
            }
            Ok((onboarding, changes))
        })
    })
    .await?;
    Ok(json!({ "onboarding_id": onboarding.id, "status": onboarding.status.as_str() }))
}
