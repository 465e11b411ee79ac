//! The Broker OS domain: rules, state transitions and audit evidence as pure functions over
//! plain data. Nothing here performs I/O or knows about AWS; adapters live in other crates.

pub mod audit;
pub mod canonical;
pub mod config;
mod csv;
pub mod deposit;
pub mod error;
pub mod kyc;
pub mod lead;
pub mod ledger;
pub mod money;
pub mod normalize;
pub mod onboarding;
pub mod payments;
pub mod principal;
pub mod recon;
pub mod withdrawal;

pub use error::{Error, Result};
