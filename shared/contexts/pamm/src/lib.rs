//! Broker OS PAMM context: a manager trades one pooled account for many investors. Its
//! equity is divided into units; investors' deposits and withdrawals are requests executed at
//! the next rollover at that rollover's NAV; fees are charged at rollover against each
//! investor's own high-water mark. The pure model is in [`model`].

pub mod model;
pub mod offline;
