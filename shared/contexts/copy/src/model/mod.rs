//! The copy trading model: sizing modes, the copier, and strategies' terms with their
//! subscription and performance fees. Pure: no I/O.

pub mod copier;
pub mod sizing;
pub mod terms;

#[cfg(test)]
mod properties;

pub use copier::{Follower, Outcome, ProviderDeal, Side, Skip};
pub use sizing::{Figures, Size, SizeNote, Sizing, VolumeLimits};
pub use terms::{Application, StrategyTerms, check_subscription, subscription_refund};
