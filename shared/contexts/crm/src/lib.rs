//! CRM use cases: lead capture with dedupe-merge, scoring and round-robin assignment; lead
//! reads and lists scoped by role; lifecycle, notes, tasks; conversion into a client.

pub mod config;
pub mod keys;
pub mod model;
pub mod rotation;
mod services;

use crate::model::{Assignment, Lead, LeadStatus, LeadSubmission, Task, round_robin, select_pool};
use brokeros_kernel::audit::{AuditEvent, FieldChange};
use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::{Error, Result, normalize};
use brokeros_store::{Condition, Index, Item, Key, Query, SortKeyRange, Table, WriteOp};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use brokeros_kernel::OpContext;
use brokeros_kernel::Reply;
use brokeros_kernel::changeset::{Audited, Changeset, Entity, decode, load, store_error};
use brokeros_kernel::idempotency::{IdempotencyKey, execute};
pub use services::{CrmSettings, Services};

impl Entity for Lead {
    const TYPE: &'static str = "lead";

    fn id(&self) -> &str {
        &self.id
    }

    fn key(&self) -> Key {
        keys::lead(&self.id)
    }

    fn indexes(&self) -> Vec<(Index, String, String)> {
        let sk = keys::by_time(self.created_at, &self.id);
        vec![
            (
                Index::Gsi1,
                keys::leads_by_status(&self.brand, self.status.as_str()),
                sk.clone(),
            ),
            (
                Index::Gsi2,
                keys::leads_by_agent(&self.brand, &self.assignee),
                sk.clone(),
            ),
            (
                Index::Gsi3,
                keys::leads_by_country(&self.brand, &self.country),
                sk.clone(),
            ),
            (Index::Gsi4, keys::leads_by_brand(&self.brand), sk),
        ]
    }
}

/// The value of a dedupe key: which lead owns an email or a phone.
#[derive(Serialize, Deserialize)]
struct Owner {
    lead_id: String,
}

fn owner(item: &Option<Item>) -> Option<String> {
    item.as_ref()
        .and_then(|i| serde_json::from_str::<Owner>(&i.data).ok())
        .map(|o| o.lead_id)
}

fn claim(key: Key, lead_id: &str) -> WriteOp {
    WriteOp::Put {
        table: Table::Main,
        item: Item::new(key, 1, json!({ "lead_id": lead_id }).to_string()),
        condition: Condition::NotExists,
    }
}

/// `POST /leads`: a new lead, or a new touch merged into the lead that already has this email
/// or phone in the brand. Answers 202 either way, so the public form cannot probe who is known.
pub async fn capture(
    services: &Services,
    submission: LeadSubmission,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Reply> {
    let now = services.clock.now();
    let capture = submission.validate(&services.config.brands, now)?;
    let ctx = OpContext {
        actor: brokeros_kernel::audit::Actor::public(&capture.touch.source),
        correlation_id: correlation_id.to_string(),
        now,
    };
    let (capture, ctx) = (&capture, &ctx);
    execute(services, key, move || {
        Box::pin(async move {
            let email_key = capture
                .contact
                .email
                .as_ref()
                .map(|e| keys::unique_email(&capture.brand, e));
            let phone_key = capture
                .contact
                .phone
                .as_ref()
                .map(|p| keys::unique_phone(&capture.brand, p));
            let lookups: Vec<Key> = email_key.iter().chain(phone_key.iter()).cloned().collect();
            let found = services
                .store
                .get_many(Table::Main, &lookups)
                .await
                .map_err(store_error)?;
            let email_owner = if email_key.is_some() {
                owner(&found[0])
            } else {
                None
            };
            let phone_owner = if phone_key.is_some() {
                owner(&found[found.len() - 1])
            } else {
                None
            };
            let mut changes = Changeset::new();

            let lead_id = if let Some(existing_id) = email_owner.clone().or(phone_owner.clone()) {
                let existing: Audited<Lead> =
                    load(services.store.as_ref(), &keys::lead(&existing_id))
                        .await?
                        .ok_or_else(|| {
                            Error::Internal(format!(
                                "dedupe key points to missing lead {existing_id}"
                            ))
                        })?;
                let mut lead = existing.entity.clone();
                lead.merge(
                    capture.clone(),
                    phone_owner.is_none(),
                    &services.config.lead_scoring,
                );
                if existing.entity.email.is_none()
                    && let (Some(k), Some(_)) = (&email_key, &lead.email)
                {
                    changes.put(claim(k.clone(), &lead.id));
                }
                if existing.entity.phone.is_none()
                    && let (Some(k), Some(_)) = (&phone_key, &lead.phone)
                {
                    changes.put(claim(k.clone(), &lead.id));
                }
                let touch = FieldChange {
                    field: "touch".into(),
                    before: Value::Null,
                    after: serde_json::to_value(&capture.touch)
                        .map_err(|e| Error::Internal(e.to_string()))?,
                };
                changes.update(
                    ctx,
                    services.ids.as_ref(),
                    &existing,
                    &lead,
                    "lead.touched",
                    vec![touch],
                )?;
                lead.id
            } else {
                let (pool, agents) = select_pool(
                    &services.config.lead_assignment,
                    &capture.contact.country,
                    capture.contact.language.as_deref(),
                );
                let counter_key = keys::assignment_counter(&capture.brand, pool);
                let assigned = services
                    .rotation
                    .next(services.store.as_ref(), &counter_key, &mut changes)
                    .await?;
                let assignment = Assignment {
                    rule: pool.to_string(),
                    agent: round_robin(agents, assigned).to_string(),
                };
                let lead = Lead::new(
                    services.ids.prefixed("lead"),
                    capture.clone(),
                    assignment,
                    &services.config.lead_scoring,
                );
                if let Some(k) = &email_key {
                    changes.put(claim(k.clone(), &lead.id));
                }
                if let Some(k) = &phone_key {
                    changes.put(claim(k.clone(), &lead.id));
                }
                changes.create(ctx, services.ids.as_ref(), &lead, "lead.captured")?;
                lead.id
            };
            Ok((
                Reply::new(
                    202,
                    json!({ "lead_id": lead_id, "received_at": now_text(now) }),
                ),
                changes,
            ))
        })
    })
    .await
}

fn now_text(now: OffsetDateTime) -> String {
    now.format(&time::format_description::well_known::Rfc3339)
        .expect("UTC times format")
}

fn ctx_for(services: &Services, principal: &Principal, correlation_id: &str) -> OpContext {
    OpContext {
        actor: brokeros_kernel::audit::Actor::user(principal),
        correlation_id: correlation_id.to_string(),
        now: services.clock.now(),
    }
}

/// Sales see the leads assigned to them; admins see all; no other role reads leads.
fn authorize_lead(principal: &Principal, lead: &Lead) -> Result<()> {
    if principal.has(Role::Admin) || (principal.has(Role::Sales) && lead.assignee == principal.sub)
    {
        Ok(())
    } else if principal.has(Role::Sales) {
        Err(Error::forbidden("this lead is assigned to another agent"))
    } else {
        Err(Error::forbidden("your role may not read leads"))
    }
}

async fn load_lead(services: &Services, principal: &Principal, id: &str) -> Result<Audited<Lead>> {
    principal.require_any(&[Role::Sales, Role::Admin], "read leads")?;
    let id = normalize::code("lead_id", id, 80)?;
    let lead: Audited<Lead> = load(services.store.as_ref(), &keys::lead(&id))
        .await?
        .ok_or(Error::NotFound { entity: "lead", id })?;
    authorize_lead(principal, &lead.entity)?;
    Ok(lead)
}

pub async fn get_lead(services: &Services, principal: &Principal, id: &str) -> Result<Value> {
    let lead = load_lead(services, principal, id).await?;
    Ok(lead_view(&lead.entity, lead.version))
}

/// A lead as the API shows it: its fields and the version it is stored at.
fn lead_view(lead: &Lead, version: u64) -> Value {
    let mut view = serde_json::to_value(lead).expect("leads serialize");
    view["version"] = json!(version);
    view
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadFilter {
    pub brand: Option<String>,
    pub status: Option<String>,
    pub assignee: Option<String>,
    pub country: Option<String>,
    /// RFC 3339; creation time from (inclusive).
    pub from: Option<String>,
    /// RFC 3339; creation time to (inclusive).
    pub to: Option<String>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

fn parse_time(field: &str, raw: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339).map_err(|_| {
        Error::invalid(
            "invalid_time",
            field,
            format!("{field} must be an RFC 3339 time"),
        )
    })
}

/// Lists leads newest first. The most selective index serves the query; remaining filters are
/// applied to each page, so a page may hold fewer than `limit` leads while `next` is present.
pub async fn list_leads(
    services: &Services,
    principal: &Principal,
    filter: LeadFilter,
) -> Result<Value> {
    principal.require_any(&[Role::Sales, Role::Admin], "list leads")?;
    let brand = services.config.brands.brand(filter.brand.as_deref())?;
    let status = filter
        .status
        .as_deref()
        .map(|s| LeadStatus::parse("status", s))
        .transpose()?;
    let country = filter
        .country
        .as_deref()
        .map(|c| normalize::country("country", c))
        .transpose()?;
    let mut assignee = filter
        .assignee
        .as_deref()
        .map(|a| normalize::code("assignee", a, 64))
        .transpose()?;
    if !principal.has(Role::Admin) {
        match &assignee {
            Some(a) if a != &principal.sub => {
                return Err(Error::forbidden("sales agents list only their own leads"));
            }
            _ => assignee = Some(principal.sub.clone()),
        }
    }
    let limit = brokeros_kernel::page_limit(filter.limit)?;
    let from = filter
        .from
        .as_deref()
        .map(|t| parse_time("from", t))
        .transpose()?;
    let to = filter
        .to
        .as_deref()
        .map(|t| parse_time("to", t))
        .transpose()?;
    let range = match (from, to) {
        (None, None) => SortKeyRange::All,
        (from, to) => SortKeyRange::Between(
            from.map(keys::sortable_time).unwrap_or_default(),
            // '~' sorts after every character of an id, so `to` is inclusive.
            format!(
                "{}#~",
                to.map(keys::sortable_time).unwrap_or_else(|| "9999".into())
            ),
        ),
    };
    let (index, pk) = if let Some(a) = &assignee {
        (Index::Gsi2, keys::leads_by_agent(&brand, a))
    } else if let Some(s) = status {
        (Index::Gsi1, keys::leads_by_status(&brand, s.as_str()))
    } else if let Some(c) = &country {
        (Index::Gsi3, keys::leads_by_country(&brand, c))
    } else {
        (Index::Gsi4, keys::leads_by_brand(&brand))
    };
    let query = Query::new(Table::Main, Some(index), pk)
        .sk(range)
        .limit(limit)
        .descending()
        .after(filter.cursor);
    let page = services.store.query(query).await.map_err(store_error)?;
    let mut leads = Vec::with_capacity(page.items.len());
    for item in &page.items {
        let lead = decode::<Lead>(item)?;
        let keep = status.is_none_or(|s| lead.entity.status == s)
            && country.as_ref().is_none_or(|c| &lead.entity.country == c)
            && assignee.as_ref().is_none_or(|a| &lead.entity.assignee == a);
        if keep {
            leads.push(lead_view(&lead.entity, lead.version));
        }
    }
    Ok(json!({ "items": leads, "next": page.next }))
}

#[derive(Debug, Deserialize)]
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
) -> Result<Reply> {
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
    change_lead(&target, &action, 200, move |lead, ctx, _| {
        lead.change_status(to, reason.clone(), ctx.now)?;
        Ok(LeadEdit::default())
    })
    .await
}

/// The lead a use case changes, and on whose behalf.
struct LeadTarget<'a> {
    services: &'a Services,
    principal: &'a Principal,
    id: &'a str,
    key: Option<&'a IdempotencyKey>,
    correlation_id: &'a str,
}

/// What a change to a lead records beside the lead's own fields, and what it answers when not
/// the changed lead.
#[derive(Default)]
struct LeadEdit {
    extra: Vec<FieldChange>,
    reply: Option<Reply>,
}

/// Loads the lead (scoped to the caller), applies `change` (which may add writes of its own to
/// the changeset), commits the lead with its audit event `action`, and answers `status` with
/// the changed lead unless the change gave its own reply.
async fn change_lead(
    target: &LeadTarget<'_>,
    action: &str,
    status: u16,
    change: impl Fn(&mut Lead, &OpContext, &mut Changeset) -> Result<LeadEdit> + Send + Sync,
) -> Result<Reply> {
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
            let ctx = ctx_for(services, principal, correlation_id);
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
            let reply = edit
                .reply
                .unwrap_or_else(|| Reply::new(status, lead_view(&lead, before.version + 1)));
            Ok((reply, changes))
        })
    })
    .await
}

#[derive(Debug, Deserialize)]
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
) -> Result<Reply> {
    principal.require_any(&[Role::Admin], "reassign leads")?;
    let agent = normalize::code("assignee", &body.assignee, 64)?;
    let target = LeadTarget {
        services,
        principal,
        id,
        key,
        correlation_id,
    };
    change_lead(&target, "lead.reassigned", 200, move |lead, _, _| {
        lead.assignee = agent.clone();
        lead.assignment_rule = "manual".into();
        Ok(LeadEdit::default())
    })
    .await
}

#[derive(Debug, Deserialize)]
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
) -> Result<Reply> {
    let text = &normalize::required_text("text", &body.text, 5000)?;
    execute(services, key, move || {
        Box::pin(async move {
            let ctx = ctx_for(services, principal, correlation_id);
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
                Reply::new(
                    201,
                    json!({ "lead_id": lead.id, "event_id": event_id, "note": note }),
                ),
                changes,
            ))
        })
    })
    .await
}

#[derive(Debug, Deserialize)]
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
) -> Result<Reply> {
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
        201,
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
            changes.put(WriteOp::Put {
                table: Table::Main,
                item: Item::new(keys::task(&lead.id, &task.id), 1, task_json.to_string()),
                condition: Condition::NotExists,
            });
            Ok(LeadEdit {
                extra: vec![FieldChange {
                    field: "task".into(),
                    before: Value::Null,
                    after: task_json.clone(),
                }],
                reply: Some(Reply::new(201, task_json)),
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
) -> Result<Reply> {
    let task_id = &normalize::code("task_id", task_id, 80)?;
    execute(services, key, move || {
        Box::pin(async move {
            let ctx = ctx_for(services, principal, correlation_id);
            let before = load_lead(services, principal, id).await?;
            let tkey = keys::task(&before.entity.id, task_id);
            let item = services
                .store
                .get(Table::Main, &tkey)
                .await
                .map_err(store_error)?
                .ok_or_else(|| Error::NotFound {
                    entity: "task",
                    id: task_id.to_string(),
                })?;
            let mut task: Task =
                serde_json::from_str(&item.data).map_err(|e| Error::Internal(e.to_string()))?;
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
            changes.put(WriteOp::Put {
                table: Table::Main,
                item: Item::new(tkey, item.version + 1, task_json.to_string()),
                condition: Condition::VersionIs(item.version),
            });
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
            Ok((Reply::new(200, task_json), changes))
        })
    })
    .await
}

pub async fn list_tasks(services: &Services, principal: &Principal, id: &str) -> Result<Value> {
    let lead = load_lead(services, principal, id).await?;
    let query = Query::new(Table::Main, None, keys::lead(&lead.entity.id).pk)
        .sk(SortKeyRange::Prefix(keys::TASK_PREFIX.into()))
        .limit(500);
    let page = services.store.query(query).await.map_err(store_error)?;
    let tasks: Vec<Value> = page
        .items
        .iter()
        .filter_map(|i| serde_json::from_str(&i.data).ok())
        .collect();
    Ok(json!({ "items": tasks }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The lead's timeline, newest first: its audit stream (captures, touches, status changes,
/// assignments, notes, tasks, conversion), with who did what and when.
pub async fn timeline(
    services: &Services,
    principal: &Principal,
    id: &str,
    page: PageParams,
) -> Result<Value> {
    let lead = load_lead(services, principal, id).await?;
    let limit = brokeros_kernel::page_limit(page.limit)?;
    let query = Query::new(
        Table::Audit,
        None,
        keys::audit_stream(Lead::TYPE, &lead.entity.id),
    )
    .limit(limit)
    .descending()
    .after(page.cursor);
    let result = services.store.query(query).await.map_err(store_error)?;
    let mut entries = Vec::with_capacity(result.items.len());
    for item in &result.items {
        let event: AuditEvent =
            serde_json::from_str(&item.data).map_err(|e| Error::Internal(e.to_string()))?;
        entries.push(json!({
            "event_id": event.id, "at": now_text(event.at), "action": event.action,
            "actor": event.actor, "changes": event.changes,
        }));
    }
    Ok(json!({ "items": entries, "next": result.next }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conversion {
    /// The portal identity (token `sub`) of the new client, when it already has one.
    pub user_id: Option<String>,
}

pub async fn convert(
    services: &Services,
    principal: &Principal,
    id: &str,
    body: Conversion,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Reply> {
    let user_id = body
        .user_id
        .as_deref()
        .map(|u| normalize::code("user_id", u, 128))
        .transpose()?;
    let target = LeadTarget {
        services,
        principal,
        id,
        key,
        correlation_id,
    };
    change_lead(&target, "lead.converted", 201, move |lead, ctx, changes| {
        let client_id = services.ids.prefixed("client");
        lead.convert(client_id.clone(), ctx.now)?;
        let client = crate::model::client_from_lead(client_id, lead, user_id.clone(), ctx.now);
        changes.create(ctx, services.ids.as_ref(), &client, "client.created")?;
        Ok(LeadEdit {
            extra: vec![],
            reply: Some(Reply::new(201, &client)),
        })
    })
    .await
}
