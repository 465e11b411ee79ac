//! The compliance review queue and decisions. A decision answers the workflow task the review
//! holds the token of: approve → task success, reject → task failure `ReviewRejected`, which
//! the onboarding definition catches.

use brokeros_domain::onboarding::{Decision, Review, ReviewStatus};
use brokeros_domain::principal::{Principal, Role};
use brokeros_domain::{Result, normalize};
use brokeros_store::{Index, Query, Table};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{load_existing, user_ctx};
use crate::changeset::{Audited, Changeset, decode, store_error};
use crate::idempotency::{IdempotencyKey, Reply, execute};
use crate::{Services, keys};

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

pub use crate::QueueFilter;

/// The review queue, oldest first (first come, first reviewed). Compliance and admins only.
pub async fn queue(
    services: &Services,
    principal: &Principal,
    filter: QueueFilter,
) -> Result<Value> {
    principal.require_any(&[Role::Compliance, Role::Admin], "read the review queue")?;
    let status = ReviewStatus::parse(filter.status.as_deref().unwrap_or("pending"))?;
    let limit = crate::page_limit(filter.limit)?;
    let query = Query::new(
        Table::Main,
        Some(Index::Gsi1),
        keys::reviews_by_status(status.as_str()),
    )
    .limit(limit)
    .after(filter.cursor);
    let page = services.store.query(query).await.map_err(store_error)?;
    let items = page
        .items
        .iter()
        .map(|item| decode::<Review>(item).map(|r| view(&r.entity)))
        .collect::<Result<Vec<_>>>()?;
    Ok(json!({ "items": items, "next": page.next }))
}

async fn load_review(services: &Services, id: &str) -> Result<Audited<Review>> {
    let id = normalize::code("review_id", id, 80)?;
    load_existing(services, &keys::review(&id), "review", &id).await
}

pub async fn get(services: &Services, principal: &Principal, id: &str) -> Result<Value> {
    principal.require_any(&[Role::Compliance, Role::Admin], "read compliance reviews")?;
    Ok(view(&load_review(services, id).await?.entity))
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    pub decision: Decision,
    pub reason: Option<String>,
}

/// Decides a pending review. The workflow is answered first: if its task is no longer waiting
/// (the review timed out and escalated, or was decided meanwhile) the decision is refused and
/// nothing is written. Then the decision commits with its audit event.
pub async fn decide(
    services: &Services,
    principal: &Principal,
    id: &str,
    body: DecisionRequest,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Reply> {
    principal.require_any(
        &[Role::Compliance, Role::Admin],
        "decide compliance reviews",
    )?;
    let reason = body
        .reason
        .as_deref()
        .map(|r| normalize::required_text("reason", r, 1000))
        .transpose()?;
    let workflow = services.workflow()?;
    execute(services, key, || {
        let reason = reason.clone();
        Box::pin(async move {
            let ctx = user_ctx(services, principal, correlation_id);
            let before = load_review(services, id).await?;
            before.entity.authorize_decision(principal)?;
            let mut review = before.entity.clone();
            review.decide(body.decision, &principal.sub, reason, ctx.now)?;
            match body.decision {
                Decision::Approve => {
                    let output = json!({
                        "decision": "approved",
                        "review_id": review.id,
                        "reviewer": principal.sub,
                    });
                    workflow.task_success(&review.task_token, output).await?
                }
                Decision::Reject => {
                    let cause = json!({
                        "review_id": review.id,
                        "reviewer": principal.sub,
                        "reason": review.reason,
                    });
                    workflow
                        .task_failure(&review.task_token, REVIEW_REJECTED, &cause.to_string())
                        .await?
                }
            }
            let mut changes = Changeset::new();
            let action = match body.decision {
                Decision::Approve => "review.approved",
                Decision::Reject => "review.rejected",
            };
            changes.update(
                &ctx,
                services.ids.as_ref(),
                &before,
                &review,
                action,
                vec![],
            )?;
            Ok((Reply::new(200, view(&review)), changes))
        })
    })
    .await
}
