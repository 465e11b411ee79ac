//! The legs accrued into payout periods, as the live accrual path stores them (keys in
//! [`crate::keys`]): read per beneficiary and period by the payout.
//!
//! The readers here are the contract the live accrual path writes to; a test writes legs with
//! [`repo::store_legs`] (tests and the `testing` feature only).

pub mod repo;

use serde::{Deserialize, Serialize};

use crate::model::{Accrual, Period};

pub use repo::{legs_in_period, period_beneficiaries};

/// One leg as stored: counted in `period`, which is its deal's period unless the deal arrived
/// after that period closed (`late_from`: the closed period it belonged to).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredLeg {
    pub leg: Accrual,
    pub period: Period,
    pub late_from: Option<Period>,
}
