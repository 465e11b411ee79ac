//! Broker OS PAMM context: a manager trades one pooled account for many investors. Its
//! equity is divided into units; investors' deposits and withdrawals are requests executed at
//! the next rollover at that rollover's NAV; fees are charged at rollover against each
//! investor's own high-water mark. The pure model is in [`model`]; offers as managers propose
//! them and admins govern them in [`offers`]; the offline replay in [`offline`].

mod keys;
pub mod model;
pub mod offers;
pub mod offline;
pub mod reads;
mod repo;
pub mod requests;
pub mod rollover;
mod services;
pub mod tasks;

pub use services::Services;
