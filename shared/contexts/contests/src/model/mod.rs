//! The contest model: definitions and their change rules, the contest's record and its life,
//! entrants and the eligibility rules, the scoring engine with its explanations, the ranking,
//! the review of hedging between entries, and prizes. Pure: no I/O.

pub mod contest;
pub mod definition;
pub mod entrant;
pub mod growth;
pub mod hedging;
pub mod platform;
mod platform_keys;
pub mod prizes;
pub mod ranking;
pub mod scoring;

/// Milliseconds since the Unix epoch, the time unit of the platform's deals.
pub type Millis = i64;

pub use contest::{ContestRecord, ContestStatus, Phase, PublishedCatalog};
pub use definition::ContestDefinition;
pub use entrant::{ContestEntrant, EntrantStatus, EntryChannel};
pub use scoring::{CashFlow, CashFlowKind, Entrant, Score, Scoring, Side, Trade};
