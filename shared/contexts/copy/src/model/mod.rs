//! The copy trading model: sizing modes, the copier, and strategies' terms with their
//! subscription and performance fees. Pure: no I/O.

pub mod copied;
pub mod copier;
pub mod sizing;
pub mod strategy;
pub mod subscription;
pub mod terms;

#[cfg(test)]
mod properties;

pub use copied::{CopiedFill, CopiedTrade, CopyStatus};
pub use copier::{Follower, Outcome, ProviderDeal, Side, Skip};
pub use sizing::{Figures, Size, SizeNote, Sizing, VolumeLimits};
pub use strategy::{Strategy, StrategyStatus};
pub use subscription::{CopyState, HeldPosition, Subscription, SubscriptionStatus};
pub use terms::{
    Application, StrategyTerms, check_subscription, reached_max_loss, subscription_refund,
};
