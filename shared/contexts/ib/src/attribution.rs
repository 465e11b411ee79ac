//! Which IB a client belongs to. The onboarding and CRM contexts know nothing of IBs (they
//! must not depend on this context): the HTTP edge tells this context what happened after
//! their own changes committed — a lead captured with a referral code
//! ([`record_lead_touch`]), a client registered or converted ([`attribute_client`]) — and a
//! client whose attribution was never recorded (the process stopped in between) is attributed
//! from the same recorded facts when the tree is next read ([`derive`]), so the result does
//! not depend on which of the two ran. A partner manager's assignment ([`assign`]) moves a
//! client to another IB from an effective time on.

use brokeros_kernel::audit::Actor;
use brokeros_kernel::changeset::Changeset;
use brokeros_kernel::idempotency::{IdempotencyKey, execute};
use brokeros_kernel::principal::Principal;
use brokeros_kernel::{Answer, Core, OpContext, Result, normalize, user_ctx};
use brokeros_onboarding::model::Client;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::config::IbConfig;
use crate::model::{AttributedBy, ClientAttribution, LeadReferrals, ReferralTouch, TouchSource};
use crate::{Services, effective_msc, millis, repo, require_partner_manager, working_ib};

/// The longest referral code a lead capture takes (the CRM's rule).
const LEAD_CODE_MAX: usize = 32;

/// Records the referral code of a lead's capture at `received_at` (the capture's time), with
/// the IB it names — or none: an unknown code is recorded all the same, and the lead stays
/// captured. A capture answered again (its idempotent replay) records nothing twice.
pub async fn record_lead_touch(
    services: &Services,
    lead_id: &str,
    code: &str,
    received_at: OffsetDateTime,
    correlation_id: &str,
) -> Result<ReferralTouch> {
    let code = normalize::code("referral_code", code, LEAD_CODE_MAX)?;
    let lead_id = normalize::code("lead_id", lead_id, 80)?;
    let (code, lead_id) = (&code, &lead_id);
    execute(services, None, || {
        Box::pin(async move {
            let ctx = OpContext {
                actor: Actor::public("lead-capture"),
                correlation_id: correlation_id.to_string(),
                now: services.clock.now(),
            };
            let touch = ReferralTouch {
                code: code.clone(),
                at_msc: millis(received_at),
                source: TouchSource::Lead,
                ib_id: repo::ib_of_code(services, code).await?,
            };
            let action = if touch.ib_id.is_some() {
                "ib_lead.referral_recorded"
            } else {
                "ib_lead.unknown_referral_code"
            };
            let mut changes = Changeset::new();
            match services.find::<LeadReferrals>(lead_id).await? {
                Some(before) => {
                    let seen = before
                        .entity
                        .touches
                        .iter()
                        .any(|t| t.at_msc == touch.at_msc && t.code == touch.code);
                    if !seen {
                        let mut after = before.entity.clone();
                        after.touches.push(touch.clone());
                        changes.update(
                            &ctx,
                            services.ids.as_ref(),
                            &before,
                            &after,
                            action,
                            vec![],
                        )?;
                    }
                }
                None => {
                    let referrals = LeadReferrals {
                        id: lead_id.clone(),
                        touches: vec![touch.clone()],
                    };
                    changes.create(&ctx, services.ids.as_ref(), &referrals, action)?;
                }
            }
            Ok((touch, changes))
        })
    })
    .await
}

/// The attribution the recorded facts give `client` under `config`'s policy: the touches of
/// the lead it was converted from and the client's own referral code (resolved now).
pub async fn derive(core: &Core, config: &IbConfig, client: &Client) -> Result<ClientAttribution> {
    let mut touches = match &client.lead_id {
        Some(lead) => core
            .find::<LeadReferrals>(lead)
            .await?
            .map(|r| r.entity.touches)
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let registered = millis(client.created_at);
    // The client's own code: its registration's, or the code its lead kept (already among the
    // lead's touches unless the lead was captured before they were recorded).
    if let Some(code) = &client.referral_code
        && !touches.iter().any(|t| t.code.eq_ignore_ascii_case(code))
    {
        touches.push(ReferralTouch {
            code: code.clone(),
            at_msc: registered,
            source: TouchSource::Registration,
            ib_id: repo::ib_of_code(core, code).await?,
        });
    }
    Ok(ClientAttribution::decided(
        &client.id,
        touches,
        config.attribution,
        registered,
    ))
}

/// An attribution as the API shows it.
pub fn view(attribution: &ClientAttribution) -> Value {
    let mut v = serde_json::to_value(attribution).expect("attributions serialize");
    v["current_ib"] = json!(attribution.current_ib());
    v
}

/// Attributes a client just registered or converted, once: what [`derive`] gives, recorded
/// with its audit event. A client already attributed is answered as it is.
pub async fn attribute_client(
    services: &Services,
    principal: &Principal,
    client_id: &str,
    correlation_id: &str,
) -> Result<Answer> {
    let client_id = normalize::code("client_id", client_id, 80)?;
    let client_id = &client_id;
    execute(services, None, || {
        Box::pin(async move {
            let ctx = user_ctx(services, principal, correlation_id);
            let mut changes = Changeset::new();
            if let Some(existing) = services.find::<ClientAttribution>(client_id).await? {
                return Ok((Answer::done(view(&existing.entity)), changes));
            }
            let client = brokeros_onboarding::load_client(services, client_id).await?;
            let attribution = derive(services, &services.config, &client.entity).await?;
            changes.create(
                &ctx,
                services.ids.as_ref(),
                &attribution,
                "ib_client.attributed",
            )?;
            Ok((Answer::created(view(&attribution)), changes))
        })
    })
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Assignment {
    /// The IB the client belongs to from the effective time on; `null`: none.
    pub ib_id: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub effective_at: Option<OffsetDateTime>,
}

/// A partner manager assigns a client to an IB (or moves it to another) from the effective
/// time on: deals before it pay the old chain, deals after it the new one.
pub async fn assign(
    services: &Services,
    principal: &Principal,
    client_id: &str,
    body: Assignment,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    require_partner_manager(principal, "assign clients to IBs")?;
    let client_id = normalize::code("client_id", client_id, 80)?;
    let ib_id = normalize::optional(body.ib_id, |v| normalize::code("ib_id", v, 80))?;
    let (client_id, ib_id) = (&client_id, &ib_id);
    execute(services, key, || {
        Box::pin(async move {
            let ctx = user_ctx(services, principal, correlation_id);
            let from = effective_msc(body.effective_at, ctx.now)?;
            if let Some(ib) = ib_id {
                working_ib(services, ib, "it takes no new client").await?;
            }
            let mut changes = Changeset::new();
            let assigned = |mut a: ClientAttribution| -> Result<ClientAttribution> {
                a.ib.change("ib", from, ib_id.clone())?;
                a.attributed_by = AttributedBy::Assignment;
                Ok(a)
            };
            let after = match services.find::<ClientAttribution>(client_id).await? {
                Some(before) => {
                    let after = assigned(before.entity.clone())?;
                    changes.update(
                        &ctx,
                        services.ids.as_ref(),
                        &before,
                        &after,
                        "ib_client.assigned",
                        vec![],
                    )?;
                    after
                }
                None => {
                    let client = brokeros_onboarding::load_client(services, client_id).await?;
                    let derived = derive(services, &services.config, &client.entity).await?;
                    let after = assigned(derived)?;
                    changes.create(&ctx, services.ids.as_ref(), &after, "ib_client.assigned")?;
                    after
                }
            };
            Ok((Answer::done(view(&after)), changes))
        })
    })
    .await
}

/// A client's attribution for partner managers: as recorded, or as the recorded facts give
/// it when it was never recorded.
pub async fn get(services: &Services, principal: &Principal, client_id: &str) -> Result<Value> {
    require_partner_manager(principal, "read client attributions")?;
    let client_id = normalize::code("client_id", client_id, 80)?;
    if let Some(found) = services.find::<ClientAttribution>(&client_id).await? {
        return Ok(view(&found.entity));
    }
    let client = brokeros_onboarding::load_client(services, &client_id).await?;
    let derived = derive(services, &services.config, &client.entity).await?;
    let mut v = view(&derived);
    v["recorded"] = json!(false);
    Ok(v)
}

/// The referral codes recorded for a lead (partner managers).
pub async fn lead_touches(
    services: &Services,
    principal: &Principal,
    lead_id: &str,
) -> Result<Value> {
    require_partner_manager(principal, "read lead referrals")?;
    let lead_id = normalize::code("lead_id", lead_id, 80)?;
    let found = services.get::<LeadReferrals>(&lead_id).await?;
    Ok(json!({ "lead_id": lead_id, "touches": found.entity.touches }))
}
