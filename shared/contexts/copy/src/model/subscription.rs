//! A subscription: a follower's trading account copying a strategy under a sizing mode, with
//! an optional maximum loss that detaches it, and the subscription fee it paid (refunded pro
//! rata when it leaves early). Its copying state (the positions held for the provider's) is
//! [`CopyState`], kept apart from the audited record because every deal moves it;
//! [`Subscription::follower`] joins the two into the copier's [`Follower`].

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use brokeros_kernel::{Error, Result};

use super::copier::{Copied, Follower, Side};
use super::sizing::Sizing;
use super::terms::{StrategyTerms, subscription_refund};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    Active,
    /// Opens nothing new; closes still follow the provider.
    Paused,
    /// Reached its maximum loss: copies nothing new until resumed.
    Detached,
    /// Unsubscribed: copies nothing.
    Ended,
}

impl SubscriptionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionStatus::Active => "active",
            SubscriptionStatus::Paused => "paused",
            SubscriptionStatus::Detached => "detached",
            SubscriptionStatus::Ended => "ended",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Subscription {
    pub id: String,
    pub strategy_id: String,
    pub provider_client_id: String,
    pub follower_client_id: String,
    /// The follower's trading account that copies.
    pub login: u64,
    pub sizing: Sizing,
    /// A loss from `equity_at_start` at which copying stops (the follower is detached).
    #[schema(required)]
    pub max_loss: Option<Decimal>,
    pub equity_at_start: Decimal,
    pub status: SubscriptionStatus,
    /// The subscription fee paid in advance for 30 days, and when.
    pub fee_paid: Decimal,
    #[serde(with = "time::serde::rfc3339")]
    pub fee_paid_at: OffsetDateTime,
    /// What an early exit refunded of it.
    #[serde(default)]
    #[schema(required)]
    pub fee_refunded: Option<Decimal>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(required)]
    pub ended_at: Option<OffsetDateTime>,
}

/// The follower's position copying one provider position: its id on the platform and side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldPosition {
    pub position_id: u64,
    pub side: Side,
}

/// A subscription's copying state: what the copier keeps between deals, and the follower's
/// platform positions by the provider position they copy. The deals already seen are not kept
/// here: each one's copied-trade record, created in the same commit, says so by key, and this
/// state stays as small as the open positions (a set of every deal ever seen would outgrow a
/// store item).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyState {
    pub positions: BTreeMap<u64, Copied>,
    pub held: BTreeMap<u64, HeldPosition>,
}

fn not_in(subscription: &Subscription, action: &str) -> Error {
    Error::conflict(
        "subscription_status",
        format!(
            "subscription {} is {}: it cannot be {action}",
            subscription.id,
            subscription.status.as_str()
        ),
    )
}

impl Subscription {
    /// The copier for this subscription's settings over `state`, for one deal not seen before
    /// (the caller knows it by the deal's record).
    pub fn follower(&self, state: &CopyState) -> Follower {
        Follower {
            sizing: self.sizing.clone(),
            paused: self.status == SubscriptionStatus::Paused,
            detached: self.status == SubscriptionStatus::Detached,
            seen: BTreeSet::new(),
            positions: state.positions.clone(),
        }
    }

    fn is_live(&self) -> bool {
        self.status != SubscriptionStatus::Ended
    }

    pub fn change_sizing(&mut self, sizing: Sizing, now: OffsetDateTime) -> Result<()> {
        if !self.is_live() {
            return Err(not_in(self, "changed"));
        }
        sizing.validate()?;
        self.sizing = sizing;
        self.updated_at = now;
        Ok(())
    }

    pub fn pause(&mut self, now: OffsetDateTime) -> Result<()> {
        if self.status != SubscriptionStatus::Active {
            return Err(not_in(self, "paused"));
        }
        self.status = SubscriptionStatus::Paused;
        self.updated_at = now;
        Ok(())
    }

    /// Resumes a paused or detached subscription (a detached follower resumes from the equity
    /// they have now: the maximum loss counts from there).
    pub fn resume(&mut self, equity_now: Decimal, now: OffsetDateTime) -> Result<()> {
        match self.status {
            SubscriptionStatus::Paused => {}
            SubscriptionStatus::Detached => self.equity_at_start = equity_now,
            _ => return Err(not_in(self, "resumed")),
        }
        self.status = SubscriptionStatus::Active;
        self.updated_at = now;
        Ok(())
    }

    /// Detaches a follower who reached their maximum loss.
    pub fn detach(&mut self, now: OffsetDateTime) {
        if matches!(
            self.status,
            SubscriptionStatus::Active | SubscriptionStatus::Paused
        ) {
            self.status = SubscriptionStatus::Detached;
            self.updated_at = now;
        }
    }

    /// Ends the subscription; answers the refund of the unused subscription fee.
    pub fn end(&mut self, terms: &StrategyTerms, now: OffsetDateTime) -> Result<Decimal> {
        if !self.is_live() {
            return Err(not_in(self, "ended"));
        }
        let refund = subscription_refund(terms, self.fee_paid, self.fee_paid_at, now)?;
        self.status = SubscriptionStatus::Ended;
        self.fee_refunded = Some(refund);
        self.ended_at = Some(now);
        self.updated_at = now;
        Ok(refund)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sizing::tests::d;
    use time::Duration;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-01 10:00 UTC);

    fn subscription() -> Subscription {
        Subscription {
            id: "s-1".into(),
            strategy_id: "trend".into(),
            provider_client_id: "cl-p".into(),
            follower_client_id: "cl-f".into(),
            login: 7002,
            sizing: Sizing::Equity,
            max_loss: Some(d("300")),
            equity_at_start: d("1000"),
            status: SubscriptionStatus::Active,
            fee_paid: d("30.00"),
            fee_paid_at: NOW,
            fee_refunded: None,
            created_at: NOW,
            updated_at: NOW,
            ended_at: None,
        }
    }

    #[test]
    fn pause_resume_detach_and_an_early_end_with_its_refund() {
        let terms = StrategyTerms {
            currency: "USD".into(),
            performance_fee: d("20"),
            subscription_fee: d("30.00"),
            min_follower_equity: d("500"),
        };
        let mut s = subscription();
        assert!(s.resume(d("1000"), NOW).is_err(), "not paused");
        s.pause(NOW).unwrap();
        assert!(s.follower(&CopyState::default()).paused);
        s.resume(d("1000"), NOW).unwrap();
        s.detach(NOW);
        assert!(s.follower(&CopyState::default()).detached);
        s.resume(d("650"), NOW).unwrap();
        assert_eq!(s.equity_at_start, d("650"), "the loss counts from now");
        assert!(
            s.change_sizing(Sizing::FixedLot { lots: d("0") }, NOW)
                .is_err()
        );
        // Ten of the thirty days used: two thirds back.
        assert_eq!(s.end(&terms, NOW + Duration::days(10)).unwrap(), d("20.00"));
        assert_eq!(s.status, SubscriptionStatus::Ended);
        assert!(s.end(&terms, NOW + Duration::days(11)).is_err());
        assert!(s.pause(NOW).is_err());
    }
}
