//! Broker OS copy trading context: followers' accounts mirror a strategy provider's deals,
//! each sized by the subscription's mode and fitted to the symbol. The pure model is in
//! [`model`]; strategies as providers propose them and admins govern them in [`strategies`];
//! followers' subscriptions in [`subscriptions`]; the live path (provider deals fanned out to
//! followers on the copy queue, and each follower's copy) in [`copying`].

pub mod copying;
mod feed;
mod keys;
pub mod model;
pub mod queue;
mod repo;
mod services;
pub mod strategies;
pub mod subscriptions;

pub use queue::CopyQueue;
pub use services::Services;
