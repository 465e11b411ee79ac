//! Lead capture: a new lead, or a new touch merged into the lead that already has the email or
//! phone, scored and assigned by the configured rules.

use crate::model::{Assignment, Lead, LeadSubmission, round_robin, select_pool};
use brokeros_kernel::Answer;
use brokeros_kernel::OpContext;
use brokeros_kernel::audit::FieldChange;
use brokeros_kernel::changeset::{Audited, Changeset, load, store_error};
use brokeros_kernel::idempotency::{IdempotencyKey, execute};
use brokeros_kernel::{Error, Result};
use brokeros_store::{Key, Table};
use serde_json::{Value, json};

use crate::Services;
use crate::keys;
use crate::reads::now_text;
use crate::repo::{claim, owner};

/// `POST /leads`: a new lead, or a new touch merged into the lead that already has this email
/// or phone in the brand. Answers [`Answer::accepted`] either way, so the public form cannot
/// probe who is known.
pub async fn capture(
    services: &Services,
    submission: LeadSubmission,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
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
                Answer::accepted(json!({ "lead_id": lead_id, "received_at": now_text(now) })),
                changes,
            ))
        })
    })
    .await
}
