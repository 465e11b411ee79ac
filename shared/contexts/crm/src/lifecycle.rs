//! A lead's lifecycle: status changes, reassignment and conversion into a client, each one
//! change of the lead committed with its audit event.

use crate::model::{Lead, LeadStatus};
use brokeros_kernel::OpContext;
use brokeros_kernel::audit::FieldChange;
use brokeros_kernel::changeset::Changeset;
use brokeros_kernel::idempotency::{IdempotencyKey, execute};
use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::{Answer, AnswerKind};
use brokeros_kernel::{Error, Result, normalize};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::Services;
use crate::reads::{lead_view, load_lead};
use brokeros_kernel::user_ctx;
use brokeros_onboarding::clients;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    pub status: String,
    pub reason: Option<String>,
}

pub async fn change_status(
    services: &Services,
    principal: &Principal,
    id: &str,
    change: StatusChange,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    let to = LeadStatus::parse("status", &change.status)?;
    if to == LeadStatus::Converted {
        return Err(Error::invalid(
            "use_convert",
            "status",
            "convert a lead with POST /leads/{id}/convert",
        ));
    }
    let reason = change
        .reason
        .as_deref()
        .map(|r| normalize::required_text("reason", r, 500))
        .transpose()?;
    let target = LeadTarget {
        services,
        principal,
        id,
        key,
        correlation_id,
    };
    let action = format!("lead.{}", to.as_str());
    change_lead(&target, &action, AnswerKind::Done, move |lead, ctx, _| {
        lead.change_status(to, reason.clone(), ctx.now)?;
        Ok(LeadEdit::default())
    })
    .await
}

/// The lead a use case changes, and on whose behalf.
pub(crate) struct LeadTarget<'a> {
    pub(crate) services: &'a Services,
    pub(crate) principal: &'a Principal,
    pub(crate) id: &'a str,
    pub(crate) key: Option<&'a IdempotencyKey>,
    pub(crate) correlation_id: &'a str,
}

/// What a change to a lead records beside the lead's own fields, and what it answers when not
/// the changed lead.
#[derive(Default)]
pub(crate) struct LeadEdit {
    pub(crate) extra: Vec<FieldChange>,
    pub(crate) answer: Option<Answer>,
}

/// Loads the lead (scoped to the caller), applies `change` (which may add writes of its own to
/// the changeset), commits the lead with its audit event `action`, and answers `kind` with
/// the changed lead unless the change gave its own answer.
pub(crate) async fn change_lead(
    target: &LeadTarget<'_>,
    action: &str,
    kind: AnswerKind,
    change: impl Fn(&mut Lead, &OpContext, &mut Changeset) -> Result<LeadEdit> + Send + Sync,
) -> Result<Answer> {
    let LeadTarget {
        services,
        principal,
        id,
        key,
        correlation_id,
    } = *target;
    let change = &change;
    execute(services, key, move || {
        Box::pin(async move {
            let ctx = user_ctx(services, principal, correlation_id);
            let before = load_lead(services, principal, id).await?;
            let mut lead = before.entity.clone();
            let mut changes = Changeset::new();
            let edit = change(&mut lead, &ctx, &mut changes)?;
            lead.updated_at = ctx.now;
            changes.update(
                &ctx,
                services.ids.as_ref(),
                &before,
                &lead,
                action,
                edit.extra,
            )?;
            let answer = edit
                .answer
                .unwrap_or_else(|| Answer::new(kind, lead_view(&lead, before.version + 1)));
            Ok((answer, changes))
        })
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reassignment {
    pub assignee: String,
}

pub async fn reassign(
    services: &Services,
    principal: &Principal,
    id: &str,
    body: Reassignment,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    principal.require_any(&[Role::Admin], "reassign leads")?;
    let agent = normalize::code("assignee", &body.assignee, 64)?;
    let target = LeadTarget {
        services,
        principal,
        id,
        key,
        correlation_id,
    };
    change_lead(
        &target,
        "lead.reassigned",
        AnswerKind::Done,
        move |lead, _, _| {
            lead.assignee = agent.clone();
            lead.assignment_rule = "manual".into();
            Ok(LeadEdit::default())
        },
    )
    .await
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Conversion {
    /// The portal identity (token `sub`) of the new client, when it already has one.
    pub user_id: Option<String>,
}

/// Converts a qualified lead into a client: the lead's new state and the client commit together,
/// each with its audit event. A portal user named as the client's must have no client yet:
/// the client is created as every client is (`clients::stage_new_client`), with the user's
/// identity marker, so a user who has a client (registered, or converted from another lead) is
/// refused with `already_registered` and nothing is written.
pub async fn convert(
    services: &Services,
    principal: &Principal,
    id: &str,
    body: Conversion,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    let user_id = body
        .user_id
        .as_deref()
        .map(|u| normalize::code("user_id", u, 128))
        .transpose()?;
    execute(services, key, || {
        let user_id = user_id.clone();
        Box::pin(async move {
            let ctx = user_ctx(services, principal, correlation_id);
            let before = load_lead(services, principal, id).await?;
            let mut lead = before.entity.clone();
            let client_id = services.ids.prefixed("client");
            lead.convert(client_id.clone(), ctx.now)?;
            let client = crate::model::client_from_lead(client_id, &lead, user_id, ctx.now);
            let mut changes = Changeset::new();
            clients::stage_new_client(
                services,
                principal,
                &ctx,
                &client,
                "client.created",
                &mut changes,
            )
            .await?;
            lead.updated_at = ctx.now;
            changes.update(
                &ctx,
                services.ids.as_ref(),
                &before,
                &lead,
                "lead.converted",
                vec![],
            )?;
            Ok((Answer::created(&client), changes))
        })
    })
    .await
}
