//! Introducing brokers: partners and their hierarchy, commission plans kept as configuration,
//! accruals explained from the trading platform's deals, statements and their payout.
//!
//! Every amount paid to a partner can be explained from the deals, the plan version and the
//! tree as they stood at each deal's time ([`model`]), and no period is paid twice.

pub mod model;
pub mod preview;
