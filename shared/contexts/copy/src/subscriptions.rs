//! Subscriptions as followers make and change them: a client subscribes one of their trading
//! accounts to an active strategy with a sizing mode (and an optional maximum loss), paying the
//! strategy's subscription fee for 30 days; they change the mode, pause, resume and
//! unsubscribe (refunded pro rata for the unused days). The provider sees their followers.
//! Every change is one commit with its audit event; bad input writes nothing.
//!
//! The fee is posted in the ledger from the follower's wallet to the broker's revenue (a wallet
//! short of it refuses the subscription) and the refund back (`fee_paid` and `fee_refunded` on
//! the subscription say how much); the provider's share is not paid out yet.

use brokeros_kernel::changeset::Changeset;
use brokeros_kernel::idempotency::{IdempotencyKey, chosen_id, execute};
use brokeros_kernel::money::Currency;
use brokeros_kernel::paging::Page;
use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::{Answer, Error, Result, normalize, user_ctx};
use brokeros_ledger::model::{AccountId, Transfer, TransferId};
use brokeros_store::Index;
use brokeros_trading::platform_error;
use rust_decimal::Decimal;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::model::{
    Application, CopiedTrade, Sizing, Strategy, Subscription, SubscriptionStatus,
    check_subscription,
};
use crate::strategies::{account_of, calling_client, is_provider_or_admin};
use crate::{Services, keys, repo};

/// A subscription request: `{"subscription_id"?, "strategy_id", "login", "sizing",
/// "max_loss"?}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubscription {
    #[serde(default)]
    pub subscription_id: Option<String>,
    pub strategy_id: String,
    pub login: u64,
    pub sizing: Sizing,
    #[serde(default)]
    pub max_loss: Option<Decimal>,
}

/// A change of a subscription.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(as = SubscriptionChange)]
#[serde(rename_all = "snake_case", tag = "action", deny_unknown_fields)]
pub enum Change {
    /// `{"action": "change_sizing", "sizing": {...}}`
    ChangeSizing {
        sizing: Sizing,
    },
    Pause,
    Resume,
    Unsubscribe,
}

/// Subscribes (201 with the subscription). Refused with nothing written: a mode with missing
/// or bad parameters (400, the field), the provider's own strategy (400 `own_strategy`), an
/// account not the caller's (404) or in another currency (400 `currency_mismatch`), a strategy
/// not active (409), equity below the strategy's minimum (409 `below_minimum_equity`), an
/// account that follows the strategy already or an id taken (409).
pub async fn subscribe(
    services: &Services,
    principal: &Principal,
    body: NewSubscription,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    let id = chosen_id(
        "subscription_id",
        body.subscription_id.as_deref(),
        key,
        "subscription_id_required",
    )?;
    let strategy_id = normalize::code("strategy_id", &body.strategy_id, 80)?;
    body.sizing.validate()?;
    let follower = calling_client(services, principal, "follow strategies").await?;
    let strategy = services
        .find::<Strategy>(&strategy_id)
        .await?
        .filter(|s| s.entity.status != crate::model::StrategyStatus::PendingApproval)
        .ok_or_else(|| Error::NotFound {
            entity: "strategy",
            id: strategy_id.clone(),
        })?
        .entity;
    account_of(&follower, body.login, &strategy.terms.currency)?;
    let state = services
        .trading
        .account_state(body.login)
        .await
        .map_err(platform_error)?;
    check_subscription(
        &strategy.terms,
        &Application {
            provider_client: &strategy.provider_client_id,
            follower_client: &follower.id,
            follower_equity: state.equity,
            sizing: &body.sizing,
            max_loss: body.max_loss,
        },
    )?;
    if let Some(max_loss) = body.max_loss {
        brokeros_kernel::money::Currency::parse("currency", &strategy.terms.currency)?
            .exact("max_loss", max_loss)?;
    }
    if !strategy.is_copied() {
        return Err(Error::conflict(
            "strategy_status",
            format!(
                "strategy {} is {}: it takes no followers",
                strategy.id,
                strategy.status.as_str()
            ),
        ));
    }
    let (id, strategy, follower, body, equity) = (&id, &strategy, &follower, &body, state.equity);
    execute(services, key, move || {
        Box::pin(async move {
            if services.find::<Subscription>(id).await?.is_some() {
                return Err(Error::conflict(
                    "subscription_exists",
                    format!("subscription {id} exists; choose another subscription_id"),
                ));
            }
            if let Some(other) = repo::roster_entry(services, &strategy.id, body.login).await? {
                return Err(Error::conflict(
                    "already_following",
                    format!(
                        "account {} follows strategy {} already (subscription {other})",
                        body.login, strategy.id
                    ),
                ));
            }
            let ctx = user_ctx(services, principal, correlation_id);
            let subscription = Subscription {
                id: id.clone(),
                strategy_id: strategy.id.clone(),
                provider_client_id: strategy.provider_client_id.clone(),
                follower_client_id: follower.id.clone(),
                login: body.login,
                sizing: body.sizing.clone(),
                max_loss: body.max_loss,
                equity_at_start: equity,
                status: SubscriptionStatus::Active,
                fee_paid: strategy.terms.subscription_fee,
                fee_paid_at: ctx.now,
                fee_refunded: None,
                created_at: ctx.now,
                updated_at: ctx.now,
                ended_at: None,
            };
            let mut changes = Changeset::new();
            changes.create(
                &ctx,
                services.ids.as_ref(),
                &subscription,
                "copy.subscribed",
            )?;
            repo::stage_roster_entry(&mut changes, &strategy.id, body.login, id)?;
            let fee = FeeTransfer::Charge.of(&subscription, &strategy.terms.currency)?;
            stage_fee(services, &ctx, fee, subscription.fee_paid, &mut changes).await?;
            Ok((Answer::created(&subscription), changes))
        })
    })
    .await
}

/// The subscription fee's movements in the ledger: charged from the follower's wallet to the
/// broker's revenue at subscription, the unused part refunded back on an early exit. The
/// provider's share of the fees is not paid out yet.
#[derive(Debug, Clone, Copy)]
enum FeeTransfer {
    Charge,
    Refund,
}

impl FeeTransfer {
    /// The ledger transfer for `subscription` (idempotent by its id) as a function of the
    /// amount, wallet and revenue in the strategy's currency.
    fn of(
        self,
        subscription: &Subscription,
        currency: &str,
    ) -> Result<impl Fn(Decimal) -> Transfer + use<>> {
        let currency = Currency::parse("currency", currency)?;
        let wallet = AccountId::client_wallet(&subscription.follower_client_id, currency)?;
        let revenue = AccountId::broker_revenue(currency);
        let (id, from, to, what) = match self {
            FeeTransfer::Charge => ("copy-fee", wallet, revenue, "fee"),
            FeeTransfer::Refund => ("copy-refund", revenue, wallet, "fee refund"),
        };
        let id = TransferId::new("transfer_id", &format!("{id}:{}", subscription.id))?;
        let memo = format!(
            "copy strategy {} subscription {what}",
            subscription.strategy_id
        );
        Ok(move |amount| Transfer::between(id.clone(), from.clone(), to.clone(), amount, &memo))
    }
}

/// Stages `transfer` of `amount` into `changes` when there is anything to move. A wallet short
/// of it refuses the whole use case, nothing written.
async fn stage_fee(
    services: &Services,
    ctx: &brokeros_kernel::OpContext,
    transfer: impl Fn(Decimal) -> Transfer,
    amount: Decimal,
    changes: &mut Changeset,
) -> Result<()> {
    if amount > Decimal::ZERO {
        brokeros_ledger::stage(services, ctx, &transfer(amount).into(), changes).await?;
    }
    Ok(())
}

/// The subscription `id` as its follower sees it (others: not found).
async fn own_subscription(
    services: &Services,
    principal: &Principal,
    id: &str,
) -> Result<brokeros_kernel::changeset::Audited<Subscription>> {
    let follower = calling_client(services, principal, "change subscriptions").await?;
    match services.find::<Subscription>(id).await? {
        Some(stored) if stored.entity.follower_client_id == follower.id => Ok(stored),
        _ => Err(Error::NotFound {
            entity: "subscription",
            id: id.to_string(),
        }),
    }
}

/// Changes the caller's subscription: its sizing mode, a pause, a resumption, or its end (with
/// the refund of the unused fee). 200 with the subscription; refused with nothing written.
pub async fn change(
    services: &Services,
    principal: &Principal,
    id: &str,
    change: Change,
    key: Option<&IdempotencyKey>,
    correlation_id: &str,
) -> Result<Answer> {
    let id = normalize::code("subscription_id", id, 80)?;
    if let Change::ChangeSizing { sizing } = &change {
        sizing.validate()?;
    }
    own_subscription(services, principal, &id).await?;
    let (id, change) = (&id, &change);
    execute(services, key, move || {
        Box::pin(async move {
            let stored = services.get::<Subscription>(id).await?;
            let ctx = user_ctx(services, principal, correlation_id);
            let mut subscription = stored.entity.clone();
            let mut changes = Changeset::new();
            let event = match change {
                Change::ChangeSizing { sizing } => {
                    subscription.change_sizing(sizing.clone(), ctx.now)?;
                    "copy.sizing_changed"
                }
                Change::Pause => {
                    subscription.pause(ctx.now)?;
                    "copy.paused"
                }
                Change::Resume => {
                    let equity = services
                        .trading
                        .account_state(subscription.login)
                        .await
                        .map_err(platform_error)?
                        .equity;
                    subscription.resume(equity, ctx.now)?;
                    "copy.resumed"
                }
                Change::Unsubscribe => {
                    let strategy = services.get::<Strategy>(&subscription.strategy_id).await?;
                    let terms = &strategy.entity.terms;
                    let refund = subscription.end(terms, ctx.now)?;
                    let transfer = FeeTransfer::Refund.of(&subscription, &terms.currency)?;
                    stage_fee(services, &ctx, transfer, refund, &mut changes).await?;
                    repo::stage_roster_exit(
                        &mut changes,
                        &subscription.strategy_id,
                        subscription.login,
                    );
                    "copy.unsubscribed"
                }
            };
            changes.update(
                &ctx,
                services.ids.as_ref(),
                &stored,
                &subscription,
                event,
                vec![],
            )?;
            Ok((Answer::done(&subscription), changes))
        })
    })
    .await
}

/// The caller's subscriptions, newest first.
pub async fn my_subscriptions(
    services: &Services,
    principal: &Principal,
    limit: Option<u32>,
    cursor: Option<String>,
) -> Result<Page<Subscription>> {
    let follower = calling_client(services, principal, "list their subscriptions").await?;
    repo::listed(
        services,
        Index::Gsi2,
        keys::subscriptions_of_follower(&follower.id),
        limit,
        cursor,
    )
    .await
}

/// A strategy's followers, newest first: its provider's, or any for admins (others: not
/// found).
pub async fn followers(
    services: &Services,
    principal: &Principal,
    strategy_id: &str,
    limit: Option<u32>,
    cursor: Option<String>,
) -> Result<Page<Subscription>> {
    let strategy_id = normalize::code("strategy_id", strategy_id, 80)?;
    let visible = match services.find::<Strategy>(&strategy_id).await? {
        Some(stored) => is_provider_or_admin(services, principal, &stored.entity).await?,
        None => false,
    };
    if !visible {
        return Err(Error::NotFound {
            entity: "strategy",
            id: strategy_id,
        });
    }
    repo::listed(
        services,
        Index::Gsi1,
        keys::subscriptions_of_strategy(&strategy_id),
        limit,
        cursor,
    )
    .await
}

/// A subscription's copied trades in the provider's deal order, with what became of each and
/// why: its follower's, or any for admins (others: not found).
pub async fn copied_trades(
    services: &Services,
    principal: &Principal,
    subscription_id: &str,
    limit: Option<u32>,
    cursor: Option<String>,
) -> Result<Page<CopiedTrade>> {
    let subscription_id = normalize::code("subscription_id", subscription_id, 80)?;
    if !principal.has(Role::Admin) {
        own_subscription(services, principal, &subscription_id).await?;
    }
    repo::copied_trades(services, &subscription_id, limit, cursor).await
}
