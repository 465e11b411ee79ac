//! Trading contests: definitions kept as versioned configuration, entrants, scoring from the
//! trading platform's deals and cash flows with an explanation anyone can recompute, live
//! leaderboards, and prizes paid after a maker-checker approval.
//!
//! The [`model`] is pure: the same engine scores a live contest incrementally, recomputes it in
//! full when it ends, and scores files offline (`brokeros contest score`).
//!
//! The management side: contests stored, versioned, published and cancelled by marketing
//! ([`definitions`]); entries by the client, by marketing or by a campaign, disqualified,
//! reinstated or withdrawn ([`entries`]).

pub mod config;
pub mod definitions;
pub mod entries;
pub mod keys;
pub mod live;
pub mod model;
pub mod prizes;
mod repo;
mod roster;
mod runs;
mod services;
pub mod standings;
pub mod tasks;

pub use repo::entry_roster;
pub use services::Services;
