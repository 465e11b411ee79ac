//! Trading contests: definitions kept as versioned configuration, entrants, scoring from the
//! trading platform's deals and cash flows with an explanation anyone can recompute, live
//! leaderboards, and prizes paid after a maker-checker approval.
//!
//! The [`model`] is pure: the same engine scores a live contest incrementally, recomputes it in
//! full when it ends, and scores files offline (`brokeros contest score`).

pub mod model;
pub mod offline;
