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
//!
//! The scoring side: deals read by cursor and entrants rescored, leaderboard snapshots, the
//! full recompute and hedging review at the end ([`live`], run by the `contest-scoring`
//! workflow's [`tasks`]); what people read and decide of it ([`standings`]); prize rounds
//! approved by a second person and paid once ([`prizes`]); files scored offline ([`offline`]).

pub mod config;
pub mod definitions;
pub mod entries;
pub mod keys;
pub mod live;
pub mod model;
pub mod offline;
pub mod prizes;
mod repo;
mod roster;
mod runs;
mod services;
pub mod standings;
pub mod tasks;

pub use repo::entry_roster;
pub use services::Services;
