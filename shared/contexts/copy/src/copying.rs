//! Copying: provider deals read from a platform server's deal history become one message per
//! (deal, follower) on the copy queue ([`fan_out_next_batch`]); each message becomes the
//! follower's outcome — an order placed on the trading platform, or the reason none was — and
//! one copied-trade record ([`copy_one`]).
//!
//! Exactly one outcome per provider deal and follower: the reader moves its cursor under the
//! version it read, after sending (a batch sent again after a lost race or a crash is dropped
//! by the queue's deduplication, or else by the consumer); the consumer's order id is
//! `copy-<subscription>-<deal>`, so a retried order fills once, and its record is created with
//! the subscription's copying state in one commit, so a message delivered twice records once.

use std::collections::{BTreeMap, BTreeSet};

use brokeros_kernel::audit::Actor;
use brokeros_kernel::changeset::{Changeset, Committed};
use brokeros_kernel::{Error, OpContext, Result};
use brokeros_trading::{
    AccountState, DealAction, DealChangeKind, DealEntry, DealSide, MarketOrder, PlatformDeal,
    TradingError, platform_error,
};
use serde::{Deserialize, Serialize};

pub use crate::feed::CopyFeed;
use crate::model::{
    CopiedFill, CopiedTrade, Figures, HeldPosition, Outcome, ProviderDeal, Side, Strategy,
    StrategyStatus, Subscription, SubscriptionStatus, VolumeLimits, reached_max_loss,
};
use crate::{Services, repo};

/// One provider deal for one follower: the copy queue's message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyMessage {
    pub strategy_id: String,
    pub subscription_id: String,
    pub login: u64,
    pub symbol: String,
    pub deal: ProviderDeal,
    pub provider_time_msc: i64,
    /// The provider's balance and equity when the deal was read.
    pub provider_balance: rust_decimal::Decimal,
    pub provider_equity: rust_decimal::Decimal,
}

impl CopyMessage {
    /// One follower's messages are one FIFO group: their copies keep the provider's order.
    pub fn group(&self) -> String {
        format!("follower-{}", self.login)
    }

    pub fn dedup_id(&self) -> String {
        CopiedTrade::id_of(&self.subscription_id, self.deal.deal())
    }
}

/// The most deal changes one batch of the reader takes.
pub const MAX_CHANGES_PER_BATCH: u32 = 200;

/// What one call of [`fan_out_next_batch`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FanOut {
    /// Nothing new on the feed.
    CaughtUp,
    Sent {
        deals: u32,
        messages: u32,
        has_more: bool,
    },
    /// Another reader moved the cursor first: what was sent is deduplicated; read again.
    Raced,
}

/// The provider deal a history change is, when copying follows it: a trade booked (not a
/// correction or cancellation, which no follower order can follow), opening or closing (part
/// of) a position. A reversal closes the followers' copies of the position (its volume covers
/// all of it); the opposite position it opens with the rest is not copied, since one deal
/// gives each follower one outcome.
pub fn provider_deal(deal: &PlatformDeal) -> Option<ProviderDeal> {
    let side = match deal.action {
        DealAction::Buy => Side::Buy,
        DealAction::Sell => Side::Sell,
        DealAction::Balance | DealAction::Credit => return None,
    };
    match deal.entry {
        DealEntry::In => Some(ProviderDeal::Open {
            deal: deal.deal,
            position: deal.position_id,
            symbol: deal.symbol.clone(),
            side,
            volume: deal.volume,
        }),
        DealEntry::Out | DealEntry::OutBy | DealEntry::InOut => Some(ProviderDeal::Close {
            deal: deal.deal,
            position: deal.position_id,
            volume: deal.volume,
        }),
    }
}

fn copy_ctx(services: &Services, correlation_id: String) -> OpContext {
    OpContext {
        actor: Actor::system("copy-trading"),
        correlation_id,
        now: services.clock.now(),
    }
}

/// A strategy's account as one batch of the reader copies it: the strategy, its followers
/// (login, subscription) and the provider's money when the batch was read.
struct CopiedAccount {
    strategy: Strategy,
    roster: Vec<(u64, String)>,
    provider: AccountState,
}

/// Reads the next page (up to `limit`, 1 to [`MAX_CHANGES_PER_BATCH`]) of `server`'s deal
/// history after the reader's cursor, sends one message per deal of an approved strategy and
/// follower on its roster (of a suspended one, its closes only), and moves the cursor.
///
/// Errors: `Validation` (`limit`), the platform's errors, the queue's, storage.
pub async fn fan_out_next_batch(services: &Services, server: &str, limit: u32) -> Result<FanOut> {
    if !(1..=MAX_CHANGES_PER_BATCH).contains(&limit) {
        return Err(Error::invalid(
            "invalid_batch_size",
            "limit",
            format!("a batch takes 1 to {MAX_CHANGES_PER_BATCH} changes"),
        ));
    }
    let feed = services.find::<CopyFeed>(server).await?;
    let since = feed.as_ref().and_then(|f| f.entity.cursor.clone());
    let page = services
        .trading
        .deal_changes(server, since, limit)
        .await
        .map_err(platform_error)?;
    if page.changes.is_empty() {
        return Ok(FanOut::CaughtUp);
    }
    let booked: Vec<(&PlatformDeal, ProviderDeal)> = page
        .changes
        .iter()
        .filter(|c| c.kind == DealChangeKind::Added)
        .filter_map(|c| provider_deal(&c.deal).map(|d| (&c.deal, d)))
        .collect();
    let logins: BTreeSet<u64> = booked.iter().map(|(deal, _)| deal.login).collect();
    let mut copied: BTreeMap<u64, CopiedAccount> = BTreeMap::new();
    for login in logins {
        let Some(strategy_id) = repo::strategy_of_login(services, login).await? else {
            continue;
        };
        let strategy = services.get::<Strategy>(&strategy_id).await?.entity;
        if strategy.status == StrategyStatus::PendingApproval {
            continue;
        }
        let roster = repo::roster(services, &strategy_id).await?;
        let provider = services
            .trading
            .account_state(login)
            .await
            .map_err(platform_error)?;
        copied.insert(
            login,
            CopiedAccount {
                strategy,
                roster,
                provider,
            },
        );
    }
    let mut deals = 0;
    let mut messages = 0;
    for (deal, provider_deal) in &booked {
        let Some(CopiedAccount {
            strategy,
            roster,
            provider,
        }) = copied.get(&deal.login)
        else {
            continue;
        };
        // A suspended strategy opens nothing new for its followers, but its closes still close
        // what they copied before, as a paused subscription's do.
        if !strategy.is_copied() && matches!(provider_deal, ProviderDeal::Open { .. }) {
            continue;
        }
        deals += 1;
        for (login, subscription_id) in roster {
            let message = CopyMessage {
                strategy_id: strategy.id.clone(),
                subscription_id: subscription_id.clone(),
                login: *login,
                symbol: deal.symbol.clone(),
                deal: provider_deal.clone(),
                provider_time_msc: deal.time_msc,
                provider_balance: provider.balance,
                provider_equity: provider.equity,
            };
            let body =
                serde_json::to_string(&message).map_err(|e| Error::Internal(e.to_string()))?;
            services
                .queue
                .send(&message.group(), &message.dedup_id(), &body)
                .await?;
            messages += 1;
        }
    }
    let before = feed.as_ref().map(|f| f.entity.clone());
    let next = CopyFeed {
        server: server.to_string(),
        cursor: page.next_cursor.clone(),
        changes_read: before.as_ref().map_or(0, |f| f.changes_read) + page.changes.len() as u64,
        deals_copied: before.as_ref().map_or(0, |f| f.deals_copied) + deals,
        messages_sent: before.as_ref().map_or(0, |f| f.messages_sent) + messages,
    };
    let ctx = copy_ctx(services, format!("copy-reader:{server}"));
    let mut changes = Changeset::new();
    match &feed {
        None => changes.create(&ctx, services.ids.as_ref(), &next, "copy_feed.started")?,
        Some(before) => changes.update(
            &ctx,
            services.ids.as_ref(),
            before,
            &next,
            "copy_feed.advanced",
            vec![],
        )?,
    }
    match services.commit(changes).await? {
        Committed::Applied => Ok(FanOut::Sent {
            deals: deals as u32,
            messages: messages as u32,
            has_more: page.has_more,
        }),
        Committed::Raced => Ok(FanOut::Raced),
    }
}

/// What a reader's pass did: the batches it committed, the deals of copied strategies and the
/// messages it sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReaderPass {
    pub batches: u32,
    pub deals: u32,
    pub messages: u32,
    pub raced: u32,
}

impl ReaderPass {
    pub fn did_work(&self) -> bool {
        self.messages + self.raced > 0
    }
}

/// The reader's pass over `servers` (what `serve` runs on a schedule, and the AWS reader
/// function on its own): each server's history fanned out batch by batch until it is caught
/// up, at most `max_batches` batches per server.
///
/// Errors: as [`fan_out_next_batch`].
pub async fn fan_out_servers(
    services: &Services,
    servers: &[String],
    max_batches: u32,
) -> Result<ReaderPass> {
    let mut pass = ReaderPass::default();
    for server in servers {
        for _ in 0..max_batches {
            match fan_out_next_batch(services, server, MAX_CHANGES_PER_BATCH).await? {
                FanOut::CaughtUp => break,
                FanOut::Raced => pass.raced += 1,
                FanOut::Sent {
                    deals,
                    messages,
                    has_more,
                } => {
                    pass.batches += 1;
                    pass.deals += deals;
                    pass.messages += messages;
                    if !has_more {
                        break;
                    }
                }
            }
        }
    }
    Ok(pass)
}

/// What [`copy_one`] did with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Copy {
    /// The outcome recorded now.
    Recorded(Box<CopiedTrade>),
    /// Recorded before (a message delivered again): nothing done.
    Replayed,
    /// The subscription ended before the message came: nothing to copy.
    NotFollowing,
}

/// How often [`copy_one`] re-reads after losing a race before it fails (the queue delivers
/// the message again).
const MAX_ATTEMPTS: u32 = 8;

/// Copies one provider deal for one follower (the body of a [`CopyMessage`]): sizes it in the
/// model, places the follower's order (or records why not), and records the outcome with the
/// subscription's copying state in one commit. A follower whose equity fell by their maximum
/// loss is detached first. A platform that cannot be reached fails the message, to be
/// delivered again; an order the platform refuses is recorded as failed with its reason.
///
/// Errors: `Validation` (a body that is no copy message), `Unavailable` (the platform, the
/// store), `NotFound` (the subscription).
pub async fn copy_one(services: &Services, body: &str) -> Result<Copy> {
    let message: CopyMessage = serde_json::from_str(body).map_err(|e| {
        Error::invalid(
            "invalid_message",
            "body",
            format!("not a copy message: {e}"),
        )
    })?;
    for _ in 0..MAX_ATTEMPTS {
        if let Some(done) = try_copy(services, &message).await? {
            return Ok(done);
        }
    }
    Err(Error::Unavailable(format!(
        "copy {} kept losing races",
        message.dedup_id()
    )))
}

/// One attempt of [`copy_one`]; `None` when its commit lost a race.
async fn try_copy(services: &Services, message: &CopyMessage) -> Result<Option<Copy>> {
    let stored = services
        .get::<Subscription>(&message.subscription_id)
        .await?;
    if stored.entity.status == SubscriptionStatus::Ended {
        return Ok(Some(Copy::NotFollowing));
    }
    let trade_id = message.dedup_id();
    if services.find::<CopiedTrade>(&trade_id).await?.is_some() {
        return Ok(Some(Copy::Replayed));
    }
    let (state_version, mut state) = repo::copy_state(services, &stored.entity.id).await?;
    let spec = services
        .trading
        .symbol(&message.symbol)
        .await
        .map_err(platform_error)?;
    let limits = VolumeLimits {
        min: spec.volume_min,
        max: spec.volume_max,
        step: spec.volume_step,
    };
    let account = services
        .trading
        .account_state(stored.entity.login)
        .await
        .map_err(platform_error)?;
    let ctx = copy_ctx(services, format!("copy:{trade_id}"));
    let mut subscription = stored.entity.clone();
    if reached_max_loss(
        subscription.equity_at_start,
        subscription.max_loss,
        account.equity,
    ) {
        subscription.detach(ctx.now);
    }
    let mut follower = subscription.follower(&state);
    let figures = Figures {
        provider_volume: rust_decimal::Decimal::ZERO,
        provider_balance: message.provider_balance,
        provider_equity: message.provider_equity,
        follower_balance: account.balance,
        follower_equity: account.equity,
    };
    let outcome = follower.follow(&message.deal, &figures, &limits);
    let order = |side: Side, volume, closes_position| MarketOrder {
        order_id: format!("copy-{trade_id}").replace(':', "-"),
        login: subscription.login,
        symbol: message.symbol.clone(),
        side: match side {
            Side::Buy => DealSide::Buy,
            Side::Sell => DealSide::Sell,
        },
        volume,
        closes_position,
        comment: brokeros_trading::fitted_comment(&format!("copy {}", message.deal.deal())),
    };
    let placed = match &outcome {
        Outcome::Open {
            position,
            side,
            volume,
            ..
        } => Some((*position, *side, order(*side, *volume, None))),
        Outcome::Close { position, volume } => {
            let held = state.held.get(position).copied().ok_or_else(|| {
                Error::Internal(format!(
                    "subscription {} copies provider position {position} without a position of its own",
                    subscription.id
                ))
            })?;
            let side = opposite(held.side);
            Some((
                *position,
                held.side,
                order(side, *volume, Some(held.position_id)),
            ))
        }
        Outcome::Skipped { .. } => None,
        Outcome::Replayed => return Ok(Some(Copy::Replayed)),
    };
    let (fill, failure) = match placed {
        None => (None, None),
        Some((provider_position, held_side, order)) => {
            match services.trading.place_order(order).await {
                Ok(fill) => {
                    let copied_fill = CopiedFill {
                        deal: fill.deal,
                        position_id: fill.position_id,
                        side: match fill.side {
                            DealSide::Buy => Side::Buy,
                            DealSide::Sell => Side::Sell,
                        },
                        volume: fill.volume,
                        price: fill.price,
                        executed_at: fill.executed_at,
                    };
                    if follower.positions.contains_key(&provider_position) {
                        state.held.insert(
                            provider_position,
                            HeldPosition {
                                position_id: fill.position_id,
                                side: held_side,
                            },
                        );
                    } else {
                        state.held.remove(&provider_position);
                    }
                    (Some(copied_fill), None)
                }
                Err(e) if retryable(&e) => return Err(platform_error(e)),
                Err(e) => {
                    // The follower holds what they held before; the record says the deal is
                    // seen.
                    follower.positions = state.positions.clone();
                    (None, Some(e.to_string()))
                }
            }
        }
    };
    state.positions = follower.positions;
    let record = CopiedTrade::of(
        &subscription,
        &message.deal,
        message.provider_time_msc,
        &outcome,
        fill,
        failure,
        ctx.now,
    );
    let mut changes = Changeset::new();
    changes.create(&ctx, services.ids.as_ref(), &record, "copy.trade_recorded")?;
    changes.update_if_changed(
        &ctx,
        services.ids.as_ref(),
        &stored,
        &subscription,
        "copy.detached",
    )?;
    repo::stage_copy_state(&mut changes, &subscription.id, state_version, &state)?;
    match services.commit(changes).await? {
        Committed::Applied => Ok(Some(Copy::Recorded(Box::new(record)))),
        Committed::Raced => Ok(None),
    }
}

fn opposite(side: Side) -> Side {
    match side {
        Side::Buy => Side::Sell,
        Side::Sell => Side::Buy,
    }
}

/// Whether a platform error is worth delivering the message again for (the platform or its
/// storage did not answer), rather than recording the order as failed.
fn retryable(error: &TradingError) -> bool {
    error.is_transient() || matches!(error, TradingError::Storage(_))
}
