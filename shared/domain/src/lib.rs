//! The Broker OS domain: rules, state transitions and audit evidence as pure functions over
//! plain data. Nothing here performs I/O or knows about AWS; adapters live in other crates.

pub mod audit;
pub mod canonical;
pub mod config;
pub mod error;
pub mod kyc;
pub mod lead;
pub mod normalize;
pub mod onboarding;
pub mod principal;

pub use error::{Error, Result};
