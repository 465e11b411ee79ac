//! Lead capture: a new lead, or a new touch merged into the lead that already has the email or
//! phone, scored and assigned by the configured rules.

use crate::model::{
    Assignment, ConsentEvidence, FormConsent, Lead, LeadCapture, LeadSubmission, round_robin,
    select_pool,
};
use brokeros_kernel::Answer;
use brokeros_kernel::OpContext;
use brokeros_kernel::audit::FieldChange;
use brokeros_kernel::changeset::Changeset;
use brokeros_kernel::idempotency::{IdempotencyKey, execute};
use brokeros_kernel::{Error, Result};
use serde_json::{Value, json};

use crate::Services;
use crate::keys;
use crate::reads::now_text;
use crate::repo::{ConsentMessage, ContactKeys, confirmation_created, message_queued};
use brokeros_kernel::secret_token;

/// `POST /leads`: a new lead, or a new touch merged into the lead that already has this email
/// or phone in the brand. Answers [`Answer::accepted`] either way, so the public form cannot
/// probe who is known. The touch's consent answer is recorded with its evidence; one granting
/// marketing consent queues a confirmation message and changes nothing until the token comes
/// back ([`confirm_consent`](crate::confirm_consent)).
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
            let contacts = ContactKeys::of(
                &capture.brand,
                capture.contact.email.as_deref(),
                capture.contact.phone.as_deref(),
            );
            let owners = contacts.owners(services).await?;
            let mut changes = Changeset::new();

            let lead_id = if let Some(existing_id) = owners.email.clone().or(owners.phone.clone()) {
                let existing = services.find::<Lead>(&existing_id).await?.ok_or_else(|| {
                    Error::Internal(format!("dedupe key points to missing lead {existing_id}"))
                })?;
                let mut lead = existing.entity.clone();
                lead.merge(
                    capture.clone(),
                    owners.phone.is_none(),
                    &services.config.lead_scoring,
                );
                answer_consent(services, &mut lead, capture, key, ctx, &mut changes)?;
                if existing.entity.email.is_none() && lead.email.is_some() {
                    contacts.claim_email(&lead.id, &mut changes);
                }
                if existing.entity.phone.is_none() && lead.phone.is_some() {
                    contacts.claim_phone(&lead.id, &mut changes);
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
                    .next(services, &counter_key, &mut changes)
                    .await?;
                let assignment = Assignment {
                    rule: pool.to_string(),
                    agent: round_robin(agents, assigned).to_string(),
                };
                let mut lead = Lead::new(
                    services.ids.prefixed("lead"),
                    capture.clone(),
                    assignment,
                    &services.config.lead_scoring,
                );
                answer_consent(services, &mut lead, capture, key, ctx, &mut changes)?;
                contacts.claim_email(&lead.id, &mut changes);
                contacts.claim_phone(&lead.id, &mut changes);
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

/// Records the capture's consent answer on `lead`; when it asks for consent, stages the
/// confirmation (stored by its token's digest) and the message that carries the token.
fn answer_consent(
    services: &Services,
    lead: &mut Lead,
    capture: &LeadCapture,
    key: Option<&IdempotencyKey>,
    ctx: &OpContext,
    changes: &mut Changeset,
) -> Result<()> {
    let token = secret_token::new_token();
    let requested = lead.answer_consent(FormConsent {
        granted: capture.marketing_consent,
        touch: &capture.touch,
        evidence: ConsentEvidence {
            correlation_id: ctx.correlation_id.clone(),
            request_digest: key.map(|k| k.request_hash.clone()),
            confirmation_id: None,
        },
        confirmation_id: secret_token::token_digest(&token),
    });
    lead.rescore(&services.config.lead_scoring);
    if let Some(confirmation) = requested {
        changes.put(confirmation_created(&confirmation)?);
        let message = ConsentMessage {
            id: services.ids.prefixed("consentmsg"),
            lead_id: lead.id.clone(),
            brand: lead.brand.clone(),
            channel: if lead.email.is_some() { "email" } else { "sms" }.into(),
            template: "marketing_consent_confirmation".into(),
            token,
            created_at: confirmation.requested_at,
            expires_at: confirmation.expires_at,
        };
        changes.put(message_queued(&message)?);
    }
    Ok(())
}
