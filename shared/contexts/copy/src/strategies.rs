//! Strategies as providers propose them and admins govern them: a client proposes one of their
//! trading accounts for copying under terms; an admin other than the proposer approves it; an
//! admin suspends and reinstates it with a reason. Every change is one commit with its audit
//! event; bad input writes nothing.

use brokeros_kernel::changeset::Changeset;
use brokeros_kernel::idempotency::{IdempotencyKey, chosen_id, execute};
use brokeros_kernel::paging::Page;
use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::{Answer, Error, Result, normalize, user_ctx};
use brokeros_onboarding::model::Client;
use brokeros_store::Index;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::model::{Strategy, StrategyStatus, StrategyTerms};
use crate::{Services, keys, repo};

/// The longest strategy name.
pub const MAX_NAME_CHARS: usize = 80;
/// The longest reason of a suspension or reinstatement.
pub const MAX_REASON_CHARS: usize = 500;

/// A proposal: `{"strategy_id"?, "name", "login", "terms"}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStrategy {
    #[serde(default)]
    pub strategy_id: Option<String>,
    pub name: String,
    pub login: u64,
    pub terms: StrategyTerms,
}

/// A suspension's or reinstatement's reason.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = StrategyReason)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    pub reason: String,
}

/// The calling client (a portal user bound to a client), or 404.
pub(crate) async fn calling_client(
    services: &Services,
    principal: &Principal,
    what: &str,
) -> Result<Client> {
    principal.require_any(&[Role::Client], what)?;
    let client_id = brokeros_onboarding::client_id_of_user(services, &principal.sub)
        .await?
        .ok_or_else(|| Error::NotFound {
            entity: "client",
            id: principal.sub.clone(),
        })?;
    Ok(brokeros_onboarding::load_client(services, &client_id)
        .await?
        .entity)
}

/// The account `login` of `client` in `currency`: 404 when the client does not hold it, 400
/// `currency_mismatch` when it is in another currency.
pub(crate) fn account_of(client: &Client, login: u64, currency: &str) -> Result<()> {
    let account = client
        .trading_accounts
        .iter()
        .find(|a| a.login == login)
        .ok_or_else(|| Error::NotFound {
            entity: "trading account",
            id: login.to_string(),
        })?;
    if account.currency != currency {
        return Err(Error::invalid(
            "currency_mismatch",
            "login",
            format!(
                "account {login} is in {}, the strategy in {currency}",
                account.currency
            ),
        ));
    }
    Ok(())
}

/// Whether `principal` is an admin or the client who provides `strategy`.
pub(crate) async fn is_provider_or_admin(
    services: &Services,
    principal: &Principal,
    strategy: &Strategy,
) -> Result<bool> {
    if principal.has(Role::Admin) {
        return Ok(true);
    }
    if !principal.has(Role::Client) {
        return Ok(false);
    }
    Ok(
        brokeros_onboarding::client_id_of_user(services, &principal.sub).await?
            == Some(strategy.provider_client_id.clone()),
    )
}

/// Proposes a strategy (201 with it, waiting for approval). Refused with nothing written: bad
/// terms or name (400, the field), an account the provider does not hold (404), an account in
/// another currency than the terms' (400 `currency_mismatch`), an id or an account already
/// offered (409).
pub async fn propose(
    services: &Services,
    principal: &Principal,
    body: NewStrategy,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    let id = chosen_id(
        "strategy_id",
        body.strategy_id.as_deref(),
        key,
        "strategy_id_required",
    )?;
    let name = normalize::required_text("name", &body.name, MAX_NAME_CHARS)?;
    body.terms.validate()?;
    let provider = calling_client(services, principal, "propose strategies").await?;
    account_of(&provider, body.login, &body.terms.currency)?;
    let (id, name, provider, body) = (&id, &name, &provider, &body);
    execute(services, key, move || {
        Box::pin(async move {
            if services.find::<Strategy>(id).await?.is_some() {
                return Err(Error::conflict(
                    "strategy_exists",
                    format!("strategy {id} exists; choose another strategy_id"),
                ));
            }
            if let Some(other) = repo::strategy_of_login(services, body.login).await? {
                return Err(Error::conflict(
                    "login_offered",
                    format!("account {} is strategy {other}'s already", body.login),
                ));
            }
            let ctx = user_ctx(services, principal, correlation_id);
            let strategy = Strategy::proposed(
                id,
                name,
                &provider.id,
                body.login,
                body.terms.clone(),
                &principal.sub,
                ctx.now,
            )?;
            let mut changes = Changeset::new();
            changes.create(
                &ctx,
                services.ids.as_ref(),
                &strategy,
                "copy.strategy_proposed",
            )?;
            repo::stage_copied_login(&mut changes, body.login, id)?;
            Ok((Answer::created(&strategy), changes))
        })
    })
    .await
}

/// What an admin does to a strategy.
#[derive(Debug, Clone, Copy)]
pub enum Governance {
    Approve,
    Suspend,
    Reinstate,
}

/// Approves, suspends or reinstates a strategy (admin; a suspension and a reinstatement need a
/// reason). 200 with the strategy; refused with nothing written otherwise.
pub async fn govern(
    services: &Services,
    principal: &Principal,
    id: &str,
    action: Governance,
    reason: Option<Reason>,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    principal.require_any(&[Role::Admin], "govern strategies")?;
    let id = normalize::code("strategy_id", id, 80)?;
    let reason = match (action, reason) {
        (Governance::Approve, _) => None,
        (_, reason) => Some(normalize::required_text(
            "reason",
            reason.map(|r| r.reason).as_deref().unwrap_or_default(),
            MAX_REASON_CHARS,
        )?),
    };
    let (id, reason) = (&id, &reason);
    execute(services, key, move || {
        Box::pin(async move {
            let stored = services.get::<Strategy>(id).await?;
            let ctx = user_ctx(services, principal, correlation_id);
            let mut strategy = stored.entity.clone();
            let text = reason.as_deref().unwrap_or_default();
            let event = match action {
                Governance::Approve => {
                    strategy.approve(&principal.sub, ctx.now)?;
                    "copy.strategy_approved"
                }
                Governance::Suspend => {
                    strategy.suspend(text, ctx.now)?;
                    "copy.strategy_suspended"
                }
                Governance::Reinstate => {
                    strategy.reinstate(text, ctx.now)?;
                    "copy.strategy_reinstated"
                }
            };
            let mut changes = Changeset::new();
            changes.update(
                &ctx,
                services.ids.as_ref(),
                &stored,
                &strategy,
                event,
                vec![],
            )?;
            Ok((Answer::done(&strategy), changes))
        })
    })
    .await
}

/// A governance action with a reason as a use case of its own (what the API's routes call).
macro_rules! governed_with_reason {
    ($(#[$doc:meta])* $name:ident, $action:expr) => {
        $(#[$doc])*
        pub async fn $name(
            services: &Services,
            principal: &Principal,
            id: &str,
            body: Reason,
            key: Option<&IdempotencyKey>,
            correlation_id: &str,
        ) -> Result<Answer> {
            let reason = Some(body);
            govern(services, principal, id, $action, reason, key, correlation_id).await
        }
    };
}

governed_with_reason!(
    /// Suspends a strategy, with a reason (admin): its opens are no longer copied (its closes
    /// are).
    suspend,
    Governance::Suspend
);
governed_with_reason!(
    /// Reinstates a suspended strategy, with a reason (admin).
    reinstate,
    Governance::Reinstate
);

/// One strategy: its provider sees their own, admins any, clients an active one (others: not
/// found).
pub async fn strategy(services: &Services, principal: &Principal, id: &str) -> Result<Strategy> {
    let id = normalize::code("strategy_id", id, 80)?;
    let found = services.find::<Strategy>(&id).await?;
    let visible = match &found {
        Some(stored) => {
            principal.has(Role::Client) && stored.entity.is_copied()
                || is_provider_or_admin(services, principal, &stored.entity).await?
        }
        None => false,
    };
    match found {
        Some(stored) if visible => Ok(stored.entity),
        _ => Err(Error::NotFound {
            entity: "strategy",
            id,
        }),
    }
}

/// The strategies in `status`, newest first: admins any status, clients the active ones (what
/// they may follow).
pub async fn strategies(
    services: &Services,
    principal: &Principal,
    status: Option<&str>,
    limit: Option<u32>,
    cursor: Option<String>,
) -> Result<Page<Strategy>> {
    let status = match status {
        None => StrategyStatus::Active,
        Some(text) => {
            serde_json::from_value(serde_json::Value::String(text.to_string())).map_err(|_| {
                Error::invalid(
                    "invalid_status",
                    "status",
                    "status is pending_approval, active or suspended",
                )
            })?
        }
    };
    if !principal.has(Role::Admin) {
        principal.require_any(&[Role::Client], "list strategies")?;
        if status != StrategyStatus::Active {
            return Err(Error::Forbidden {
                message: "clients list active strategies only".into(),
            });
        }
    }
    repo::listed(
        services,
        Index::Gsi1,
        keys::strategies_in_status(status.as_str()),
        limit,
        cursor,
    )
    .await
}

/// The calling provider's strategies, newest first.
pub async fn my_strategies(
    services: &Services,
    principal: &Principal,
    limit: Option<u32>,
    cursor: Option<String>,
) -> Result<Page<Strategy>> {
    let provider = calling_client(services, principal, "list their strategies").await?;
    repo::listed(
        services,
        Index::Gsi2,
        keys::strategies_of_provider(&provider.id),
        limit,
        cursor,
    )
    .await
}
