//! The copy trading model: sizing modes and the copier. Pure: no I/O.

pub mod copier;
pub mod sizing;

#[cfg(test)]
mod properties;

pub use copier::{Follower, Outcome, ProviderDeal, Side, Skip};
pub use sizing::{Figures, Size, SizeNote, Sizing, VolumeLimits};
