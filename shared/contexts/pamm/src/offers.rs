//! Offers as managers propose them and admins govern them: a client proposes one of their
//! trading accounts as a PAMM account under terms (an admin may propose for a client); an
//! admin other than the proposer approves it; an admin suspends and reinstates it with a
//! reason. Every change is one commit with its audit event; bad input writes nothing.

use brokeros_kernel::changeset::Changeset;
use brokeros_kernel::idempotency::{IdempotencyKey, chosen_id, execute};
use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::{Answer, Error, Result, normalize, user_ctx};
use brokeros_onboarding::model::Client;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Services;
use crate::model::{Offer, Terms};

/// The longest offer name.
pub const MAX_NAME_CHARS: usize = 80;
/// The longest reason of a suspension or reinstatement.
pub const MAX_REASON_CHARS: usize = 500;

/// A proposal: `{"offer_id"?, "name", "login", "terms", "manager_client_id"?}` (the manager's
/// client id only when an admin proposes for them).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = PammNewOffer)]
#[serde(deny_unknown_fields)]
pub struct NewOffer {
    #[serde(default)]
    pub offer_id: Option<String>,
    pub name: String,
    pub login: u64,
    pub terms: Terms,
    #[serde(default)]
    pub manager_client_id: Option<String>,
}

/// A suspension's or reinstatement's reason.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = PammReason)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    pub reason: String,
}

/// An offer as the API shows it: its record, and the terms in force now.
pub fn view(offer: &Offer, now: time::OffsetDateTime) -> Value {
    let mut shown = serde_json::to_value(offer).expect("offers serialize");
    shown["terms_in_force"] = json!(offer.terms_at(now));
    shown
}

/// The manager a proposal is for: the calling client themself, or the client an admin names.
async fn manager_of(services: &Services, principal: &Principal, body: &NewOffer) -> Result<Client> {
    let client_id = if principal.has(Role::Admin) {
        let id = body.manager_client_id.as_deref().ok_or_else(|| {
            Error::invalid(
                "required",
                "manager_client_id",
                "an admin names the manager's client id",
            )
        })?;
        normalize::code("manager_client_id", id, 80)?
    } else {
        principal.require_any(&[Role::Client], "propose PAMM offers")?;
        if body.manager_client_id.is_some() {
            return Err(Error::invalid(
                "not_allowed",
                "manager_client_id",
                "a manager proposes offers of their own accounts only",
            ));
        }
        brokeros_onboarding::client_id_of_user(services, &principal.sub)
            .await?
            .ok_or_else(|| Error::NotFound {
                entity: "client",
                id: principal.sub.clone(),
            })?
    };
    Ok(brokeros_onboarding::load_client(services, &client_id)
        .await?
        .entity)
}

/// Proposes an offer (201 with it, waiting for approval). Refused with nothing written: bad
/// terms or name (400, the field), an account the manager does not hold (404), an account in
/// another currency than the terms' (400 `currency_mismatch`), an id taken (409).
pub async fn propose(
    services: &Services,
    principal: &Principal,
    body: NewOffer,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    let id = chosen_id(
        "offer_id",
        body.offer_id.as_deref(),
        key,
        "offer_id_required",
    )?;
    let name = body.name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(Error::invalid(
            "invalid_name",
            "name",
            format!("an offer's name is 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    body.terms.validate()?;
    let manager = manager_of(services, principal, &body).await?;
    let account = manager
        .trading_accounts
        .iter()
        .find(|a| a.login == body.login)
        .ok_or_else(|| Error::NotFound {
            entity: "trading account",
            id: body.login.to_string(),
        })?;
    if account.currency != body.terms.currency {
        return Err(Error::invalid(
            "currency_mismatch",
            "login",
            format!(
                "account {} is in {}, the terms in {}",
                body.login, account.currency, body.terms.currency
            ),
        ));
    }
    let (id, name, manager, body) = (&id, name, &manager, &body);
    execute(services, key, move || {
        Box::pin(async move {
            if services.find::<Offer>(id).await?.is_some() {
                return Err(Error::conflict(
                    "offer_exists",
                    format!("offer {id} exists; choose another offer_id"),
                ));
            }
            let ctx = user_ctx(services, principal, correlation_id);
            let offer = Offer::proposed(
                id,
                name,
                &manager.id,
                body.login,
                body.terms.clone(),
                &principal.sub,
                ctx.now,
            )?;
            let mut changes = Changeset::new();
            changes.create(&ctx, services.ids.as_ref(), &offer, "pamm.offer_proposed")?;
            Ok((Answer::created(view(&offer, ctx.now)), changes))
        })
    })
    .await
}

/// New terms for an offer: `{"terms", "effective_at"}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = PammTermsChange)]
#[serde(deny_unknown_fields)]
pub struct TermsChange {
    pub terms: Terms,
    #[serde(with = "time::serde::rfc3339")]
    pub effective_at: time::OffsetDateTime,
}

/// Announces new terms for an offer (its manager, or an admin), in force from `effective_at`:
/// after the latest version's start and, while anyone but the manager holds units or has a
/// request pending, no sooner than the notice of the terms in force. 200 with the offer;
/// refused with nothing written otherwise (400 `notice_required` naming `effective_at`).
pub async fn change_terms(
    services: &Services,
    principal: &Principal,
    id: &str,
    body: TermsChange,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    let id = normalize::code("offer_id", id, 80)?;
    let stored = services.find::<Offer>(&id).await?;
    let allowed = match &stored {
        Some(_) if principal.has(Role::Admin) => true,
        Some(s) if principal.has(Role::Client) => {
            brokeros_onboarding::client_id_of_user(services, &principal.sub).await?
                == Some(s.entity.manager_client_id.clone())
        }
        _ => false,
    };
    let Some(stored) = stored.filter(|_| allowed) else {
        return Err(Error::NotFound {
            entity: "PAMM offer",
            id,
        });
    };
    body.terms.validate()?;
    let has_investors =
        crate::repo::has_investors(services, &id, &stored.entity.manager_client_id).await?;
    let (id, body) = (&id, &body);
    execute(services, key, move || {
        Box::pin(async move {
            let stored = services.get::<Offer>(id).await?;
            let ctx = user_ctx(services, principal, correlation_id);
            let mut offer = stored.entity.clone();
            offer.change_terms(
                body.terms.clone(),
                body.effective_at,
                has_investors,
                &principal.sub,
                ctx.now,
            )?;
            let mut changes = Changeset::new();
            changes.update(
                &ctx,
                services.ids.as_ref(),
                &stored,
                &offer,
                "pamm.offer_terms_changed",
                vec![],
            )?;
            Ok((Answer::done(view(&offer, ctx.now)), changes))
        })
    })
    .await
}

/// What an admin does to an offer.
#[derive(Debug, Clone, Copy)]
pub enum Governance {
    Approve,
    Suspend,
    Reinstate,
}

/// Approves, suspends or reinstates an offer (admin; a suspension and a reinstatement need a
/// reason). 200 with the offer; refused with nothing written otherwise.
pub async fn govern(
    services: &Services,
    principal: &Principal,
    id: &str,
    action: Governance,
    reason: Option<Reason>,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    principal.require_any(&[Role::Admin], "govern PAMM offers")?;
    let id = normalize::code("offer_id", id, 80)?;
    let reason = match (action, reason) {
        (Governance::Approve, _) => None,
        (_, Some(Reason { reason })) => {
            let reason = reason.trim().to_string();
            if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
                return Err(Error::invalid(
                    "required",
                    "reason",
                    format!("a reason of 1 to {MAX_REASON_CHARS} characters is required"),
                ));
            }
            Some(reason)
        }
        (_, None) => {
            return Err(Error::invalid("required", "reason", "a reason is required"));
        }
    };
    let (id, reason) = (&id, &reason);
    execute(services, key, move || {
        Box::pin(async move {
            let stored = services.get::<Offer>(id).await?;
            let ctx = user_ctx(services, principal, correlation_id);
            let mut offer = stored.entity.clone();
            let text = reason.as_deref().unwrap_or_default();
            let event = match action {
                Governance::Approve => {
                    offer.approve(&principal.sub, ctx.now)?;
                    "pamm.offer_approved"
                }
                Governance::Suspend => {
                    offer.suspend(text, ctx.now)?;
                    "pamm.offer_suspended"
                }
                Governance::Reinstate => {
                    offer.reinstate(text, ctx.now)?;
                    "pamm.offer_reinstated"
                }
            };
            let mut changes = Changeset::new();
            changes.update(&ctx, services.ids.as_ref(), &stored, &offer, event, vec![])?;
            Ok((Answer::done(view(&offer, ctx.now)), changes))
        })
    })
    .await
}

/// One offer: approved ones for any client, the manager's own in any status, any for admins
/// (others: not found).
pub async fn offer(services: &Services, principal: &Principal, id: &str) -> Result<Value> {
    let id = normalize::code("offer_id", id, 80)?;
    let found = services.find::<Offer>(&id).await?;
    let visible = match &found {
        Some(_) if principal.has(Role::Admin) => true,
        Some(stored) if principal.has(Role::Client) => {
            stored.entity.status != crate::model::OfferStatus::PendingApproval
                || brokeros_onboarding::client_id_of_user(services, &principal.sub).await?
                    == Some(stored.entity.manager_client_id.clone())
        }
        _ => false,
    };
    match found {
        Some(stored) if visible => Ok(view(&stored.entity, services.clock.now())),
        _ => Err(Error::NotFound {
            entity: "PAMM offer",
            id,
        }),
    }
}
