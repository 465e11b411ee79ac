//! A lead's notes, follow-up tasks and timeline (its audit stream).

use crate::model::Task;
use brokeros_kernel::audit::FieldChange;
use brokeros_kernel::changeset::Changeset;
use brokeros_kernel::idempotency::{IdempotencyKey, execute};
use brokeros_kernel::principal::Principal;
use brokeros_kernel::{Answer, AnswerKind};
use brokeros_kernel::{Error, Result, normalize};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::Services;
use crate::lifecycle::{LeadEdit, LeadTarget, change_lead};
use crate::reads::{load_lead, now_text, parse_time};
use crate::repo::{task_created, task_of_lead, tasks_of_lead, timeline_of_lead};
use brokeros_kernel::user_ctx;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNote {
    pub text: String,
}

/// A note is an entry of the lead's timeline (its audit stream): immutable once written.
pub async fn add_note(
    services: &Services,
    principal: &Principal,
    id: &str,
    body: NewNote,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    let text = &normalize::required_text("text", &body.text, 5000)?;
    execute(services, key, move || {
        Box::pin(async move {
            let ctx = user_ctx(services, principal, correlation_id);
            let before = load_lead(services, principal, id).await?;
            let mut lead = before.entity.clone();
            lead.updated_at = ctx.now;
            let note = json!({ "text": text, "author": principal.sub });
            let mut changes = Changeset::new();
            let extra = vec![FieldChange {
                field: "note".into(),
                before: Value::Null,
                after: note.clone(),
            }];
            changes.update(
                &ctx,
                services.ids.as_ref(),
                &before,
                &lead,
                "lead.note_added",
                extra,
            )?;
            let event_id = changes.events().last().map(|e| e.id.clone());
            Ok((
                Answer::created(json!({ "lead_id": lead.id, "event_id": event_id, "note": note })),
                changes,
            ))
        })
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    pub title: String,
    /// RFC 3339.
    pub due_at: Option<String>,
}

pub async fn add_task(
    services: &Services,
    principal: &Principal,
    id: &str,
    body: NewTask,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    let title = normalize::required_text("title", &body.title, 300)?;
    let due_at = body
        .due_at
        .as_deref()
        .map(|t| parse_time("due_at", t))
        .transpose()?;
    let target = LeadTarget {
        services,
        principal,
        id,
        key,
        correlation_id,
    };
    change_lead(
        &target,
        "lead.task_added",
        AnswerKind::Created,
        move |lead, ctx, changes| {
            let task = Task {
                id: services.ids.prefixed("task"),
                lead_id: lead.id.clone(),
                title: title.clone(),
                due_at,
                created_by: principal.sub.clone(),
                created_at: ctx.now,
                completed_at: None,
            };
            lead.open_tasks += 1;
            let task_json =
                serde_json::to_value(&task).map_err(|e| Error::Internal(e.to_string()))?;
            changes.put(task_created(&task)?);
            Ok(LeadEdit {
                extra: vec![FieldChange {
                    field: "task".into(),
                    before: Value::Null,
                    after: task_json.clone(),
                }],
                answer: Some(Answer::created(task_json)),
            })
        },
    )
    .await
}

pub async fn complete_task(
    services: &Services,
    principal: &Principal,
    id: &str,
    task_id: &str,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    let task_id = &normalize::code("task_id", task_id, 80)?;
    execute(services, key, move || {
        Box::pin(async move {
            let ctx = user_ctx(services, principal, correlation_id);
            let before = load_lead(services, principal, id).await?;
            let stored = task_of_lead(services, &before.entity.id, task_id).await?;
            let mut task = stored.task.clone();
            if task.completed_at.is_some() {
                return Err(Error::conflict(
                    "task_already_done",
                    "the task is already done",
                ));
            }
            let before_task =
                serde_json::to_value(&task).map_err(|e| Error::Internal(e.to_string()))?;
            task.completed_at = Some(ctx.now);
            let task_json =
                serde_json::to_value(&task).map_err(|e| Error::Internal(e.to_string()))?;
            let mut lead = before.entity.clone();
            lead.open_tasks = lead.open_tasks.saturating_sub(1);
            lead.updated_at = ctx.now;
            let mut changes = Changeset::new();
            changes.put(stored.replaced_by(&task)?);
            let extra = vec![FieldChange {
                field: "task".into(),
                before: before_task,
                after: task_json.clone(),
            }];
            changes.update(
                &ctx,
                services.ids.as_ref(),
                &before,
                &lead,
                "lead.task_completed",
                extra,
            )?;
            Ok((Answer::done(task_json), changes))
        })
    })
    .await
}

pub async fn list_tasks(services: &Services, principal: &Principal, id: &str) -> Result<Value> {
    let lead = load_lead(services, principal, id).await?;
    let tasks = tasks_of_lead(services, &lead.entity.id).await?;
    Ok(json!({ "items": tasks }))
}

/// The lead's timeline, newest first: its audit stream (captures, touches, status changes,
/// assignments, notes, tasks, conversion), with who did what and when.
pub async fn timeline(
    services: &Services,
    principal: &Principal,
    id: &str,
    page: brokeros_kernel::PageParams,
) -> Result<Value> {
    let lead = load_lead(services, principal, id).await?;
    let limit = brokeros_kernel::page_limit(page.limit)?;
    let result = timeline_of_lead(services, &lead.entity.id, limit, page.cursor).await?;
    let entries: Vec<Value> = result
        .items
        .iter()
        .map(|event| {
            json!({
                "event_id": event.id, "at": now_text(event.at), "action": event.action,
                "actor": event.actor, "changes": event.changes,
            })
        })
        .collect();
    Ok(json!({ "items": entries, "next": result.next }))
}
