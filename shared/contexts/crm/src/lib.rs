//! CRM use cases: lead capture with dedupe-merge, scoring and round-robin assignment; lead
//! reads and lists scoped by role; lifecycle, notes, tasks; conversion into a client; marketing
//! consent per touch, put in effect by double opt-in.

pub mod config;
pub mod keys;
pub mod model;
pub mod rotation;
mod services;

mod capture;
mod consent;
mod funnel;
mod lifecycle;
mod notes;
mod reads;
mod repo;

pub use capture::*;
pub use consent::*;
pub use funnel::*;
pub use lifecycle::*;
pub use notes::*;
pub use reads::*;
pub use repo::ConsentMessage;

pub use services::{CrmSettings, Services};
