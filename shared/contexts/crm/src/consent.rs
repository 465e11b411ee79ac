//! Double opt-in: the confirmation link's token puts a lead's marketing consent in effect; the
//! consent outbox is what a mailer sends those links from.

use brokeros_kernel::audit::Actor;
use brokeros_kernel::changeset::Changeset;
use brokeros_kernel::idempotency::{IdempotencyKey, execute};
use brokeros_kernel::{Answer, Core, Error, OpContext, Result, secret_token};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::Services;
use crate::model::Lead;
use crate::repo::{self, ConsentMessage};

/// The body of `POST /leads/consent/confirm`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentConfirmationRequest {
    pub token: String,
}

impl ConsentConfirmationRequest {
    /// The stored id of the token (its digest), once its form is checked: public idempotency
    /// keys of a confirmation are scoped by it.
    pub fn confirmation_id(&self) -> Result<String> {
        if !secret_token::is_well_formed(&self.token) {
            return Err(invalid_token());
        }
        Ok(secret_token::token_digest(&self.token))
    }
}

fn invalid_token() -> Error {
    Error::invalid(
        "invalid_token",
        "token",
        "this confirmation link is not valid",
    )
}

/// `POST /leads/consent/confirm` (public: the token is the authority). Puts the lead's
/// marketing consent in effect, audited on the lead, and uses the token up. A token never
/// issued (forged), used, expired, or replaced by a newer request or a withdrawal is refused
/// and nothing is written.
pub async fn confirm_consent(
    services: &Services,
    request: ConsentConfirmationRequest,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    let confirmation_id = request.confirmation_id()?;
    let ctx = OpContext {
        actor: Actor::public("consent-confirmation"),
        correlation_id: correlation_id.to_string(),
        now: services.clock.now(),
    };
    let (ctx, confirmation_id) = (&ctx, &confirmation_id);
    execute(services, key, move || {
        Box::pin(async move {
            let stored = repo::confirmation(services, confirmation_id)
                .await?
                .ok_or_else(invalid_token)?;
            let mut confirmation = stored.confirmation.clone();
            let current = services.get::<Lead>(&confirmation.lead_id).await?;
            let mut lead = current.entity.clone();
            lead.confirm_consent(&mut confirmation, ctx.now, &ctx.correlation_id)?;
            lead.rescore(&services.config.lead_scoring);
            let mut changes = Changeset::new();
            changes.update(
                ctx,
                services.ids.as_ref(),
                &current,
                &lead,
                "lead.consent_confirmed",
                vec![],
            )?;
            changes.put(stored.replaced_by(&confirmation)?);
            Ok((
                Answer::done(json!({ "status": "confirmed", "marketing_consent": true })),
                changes,
            ))
        })
    })
    .await
}

/// The consent outbox, newest first: the messages a mailer sends (each until its token
/// expires). For the mailer and operators (locally `brokeros outbox --consent`, which stands
/// in for the mailer); not an API route. Reads the store only, so a tool holding no CRM
/// configuration can call it.
pub async fn consent_outbox(core: &Core, limit: u32) -> Result<Vec<ConsentMessage>> {
    repo::queued_messages(core, limit.clamp(1, 1000)).await
}
