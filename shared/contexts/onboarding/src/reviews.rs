//! The compliance review queue and decisions. A decision commits first, then answers the
//! workflow task the review holds the token of: approve → task success, reject → task failure
//! `ReviewRejected`, which the onboarding definition catches. Should that answer be lost, the
//! review's deadline task finds the decision and answers with it (`tasks::review_task`).

use crate::model::{Decision, Review, ReviewStatus};
use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::{Result, normalize};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::{Services, repo};
use brokeros_kernel::changeset::{Audited, Changeset};
use brokeros_kernel::idempotency::{IdempotencyKey, execute};
use brokeros_kernel::user_ctx;
use brokeros_kernel::{Answer, Replied};

/// The error name a rejection fails the waiting task with.
pub const REVIEW_REJECTED: &str = "ReviewRejected";

/// A review as the API shows it: never the task token.
pub fn view(review: &Review) -> Value {
    let mut v = serde_json::to_value(review).expect("reviews serialize");
    if let Some(fields) = v.as_object_mut() {
        fields.remove("task_token");
    }
    v
}

pub use brokeros_kernel::QueueFilter;

/// The review queue, oldest first (first come, first reviewed). Compliance and admins only.
pub async fn queue(
    services: &Services,
    principal: &Principal,
    filter: QueueFilter,
) -> Result<Value> {
    principal.require_any(&[Role::Compliance, Role::Admin], "read the review queue")?;
    let status = ReviewStatus::parse(filter.status.as_deref().unwrap_or("pending"))?;
    repo::reviews_with_status(services, status, filter, view).await
}

async fn load_review(services: &Services, id: &str) -> Result<Audited<Review>> {
    let id = normalize::code("review_id", id, 80)?;
    services.get::<Review>(&id).await
}

pub async fn get(services: &Services, principal: &Principal, id: &str) -> Result<Value> {
    principal.require_any(&[Role::Compliance, Role::Admin], "read compliance reviews")?;
    Ok(view(&load_review(services, id).await?.entity))
}

#[derive(Debug, Clone, Deserialize, serde::Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    pub decision: Decision,
    pub reason: Option<String>,
}

/// Decides a pending review: the decision commits with its audit event, then the waiting
/// workflow is told. A review whose deadline passed is closed (escalated or expired) by the
/// deadline task in a transaction of its own, so exactly one of the two wins: a decision after
/// it is refused and writes nothing, a decision before it is what the deadline task follows.
pub async fn decide(
    services: &Services,
    principal: &Principal,
    id: &str,
    body: DecisionRequest,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    principal.require_any(
        &[Role::Compliance, Role::Admin],
        "decide compliance reviews",
    )?;
    let reason = body
        .reason
        .as_deref()
        .map(|r| normalize::required_text("reason", r, 1000))
        .transpose()?;
    let replied = execute(services, key, || {
        let reason = reason.clone();
        Box::pin(async move {
            let ctx = user_ctx(services, principal, correlation_id);
            let before = load_review(services, id).await?;
            before.entity.authorize_decision(principal)?;
            let mut review = before.entity.clone();
            review.decide(body.decision, &principal.sub, reason, ctx.now)?;
            let action = match body.decision {
                Decision::Approve => "review.approved",
                Decision::Reject => "review.rejected",
            };
            let mut changes = Changeset::new();
            changes.update(
                &ctx,
                services.ids.as_ref(),
                &before,
                &review,
                action,
                vec![],
            )?;
            Ok((Replied::new(Answer::done(view(&review)), review), changes))
        })
    })
    .await?;
    // A replay decided nothing: the request that decided told the workflow.
    if let Some(review) = replied.decided
        && let Err(e) = answer_decision(services, &review, &review.task_token).await
    {
        tracing::warn!(
            review_id = %review.id,
            error = %e,
            "the workflow was not told of the decision; the review's deadline will follow it"
        );
    }
    Ok(replied.answer)
}

/// Tells the workflow task waiting on `token` what `review` decided (nothing for an undecided
/// review). A token no longer waiting is no error: the review's deadline task follows the
/// decision.
pub(super) async fn answer_decision(
    services: &Services,
    review: &Review,
    token: &str,
) -> Result<()> {
    let workflow = services.workflow()?;
    let answered = match review.status {
        ReviewStatus::Approved => {
            let output = json!({
                "decision": "approved",
                "review_id": review.id,
                "reviewer": review.decided_by,
            });
            workflow.task_success(token, output).await
        }
        ReviewStatus::Rejected => {
            let cause = json!({
                "review_id": review.id,
                "reviewer": review.decided_by,
                "reason": review.reason,
            });
            workflow
                .task_failure(token, REVIEW_REJECTED, &cause.to_string())
                .await
        }
        _ => Ok(()),
    };
    brokeros_kernel::workflow::unless_not_waiting(answered)
}
