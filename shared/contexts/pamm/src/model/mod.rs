//! The PAMM model: an offer's terms and their change rule, the rollover schedule, and the
//! pooled account in units with the rollover engine. Pure: no I/O.

pub mod cycle;
pub mod fund;
pub mod offer;
pub mod request;
pub mod schedule;
pub mod terms;

#[cfg(test)]
mod properties;
#[cfg(test)]
mod scenarios;

pub use fund::{Flow, Fund, Mark, Request, Rollover};
pub use offer::{Offer, OfferStatus, TermsVersion};
pub use schedule::{Every, Schedule};
pub use terms::{FeeTier, Terms};
