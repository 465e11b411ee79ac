//! What became of one provider deal for one subscription: opened, closed, skipped (with the
//! reason) or failed (with the platform's refusal), and the copy delay (the follower's fill
//! time less the provider's deal time). One record per (provider deal, subscription).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::copier::{Outcome, ProviderDeal, Side, Skip};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CopyStatus {
    Opened,
    Closed,
    Skipped,
    Failed,
}

/// The follower's deal that copied the provider's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CopiedFill {
    pub deal: u64,
    pub position_id: u64,
    pub side: Side,
    pub volume: Decimal,
    pub price: Decimal,
    #[serde(with = "time::serde::rfc3339")]
    pub executed_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CopiedTrade {
    /// `<subscription>:<provider deal>`.
    pub id: String,
    pub subscription_id: String,
    pub strategy_id: String,
    pub follower_client_id: String,
    pub login: u64,
    pub provider_deal: ProviderDeal,
    /// When the provider's deal was made, milliseconds since the epoch.
    pub provider_time_msc: i64,
    pub status: CopyStatus,
    /// Why it was skipped (the copier's reason) or failed (the platform's refusal).
    #[schema(required)]
    pub skipped: Option<Skip>,
    #[schema(required)]
    pub failure: Option<String>,
    /// What the copier asked for (the volume, for an open or a close).
    #[schema(required)]
    pub volume: Option<Decimal>,
    #[schema(required)]
    pub fill: Option<CopiedFill>,
    /// The fill's time less the provider's deal time.
    #[schema(required)]
    pub delay_ms: Option<i64>,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
}

impl CopiedTrade {
    pub fn id_of(subscription_id: &str, provider_deal: u64) -> String {
        format!("{subscription_id}:{provider_deal}")
    }

    /// The record of `outcome` (with its fill, or the refusal that stopped it).
    #[allow(clippy::too_many_arguments)]
    pub fn of(
        subscription: &super::Subscription,
        provider_deal: &ProviderDeal,
        provider_time_msc: i64,
        outcome: &Outcome,
        fill: Option<CopiedFill>,
        failure: Option<String>,
        now: OffsetDateTime,
    ) -> CopiedTrade {
        let (status, skipped, volume) = match outcome {
            Outcome::Open { volume, .. } => (CopyStatus::Opened, None, Some(*volume)),
            Outcome::Close { volume, .. } => (CopyStatus::Closed, None, Some(*volume)),
            Outcome::Skipped { reason } => (CopyStatus::Skipped, Some(*reason), None),
            Outcome::Replayed => (CopyStatus::Skipped, None, None),
        };
        let status = if failure.is_some() {
            CopyStatus::Failed
        } else {
            status
        };
        let delay_ms = fill
            .as_ref()
            .map(|f| (f.executed_at.unix_timestamp_nanos() / 1_000_000) as i64 - provider_time_msc);
        CopiedTrade {
            id: CopiedTrade::id_of(&subscription.id, provider_deal.deal()),
            subscription_id: subscription.id.clone(),
            strategy_id: subscription.strategy_id.clone(),
            follower_client_id: subscription.follower_client_id.clone(),
            login: subscription.login,
            provider_deal: provider_deal.clone(),
            provider_time_msc,
            status,
            skipped,
            failure,
            volume,
            fill,
            delay_ms,
            recorded_at: now,
        }
    }
}
