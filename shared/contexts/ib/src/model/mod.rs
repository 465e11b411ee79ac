//! The pure model of the IB context: the partner tree over time, commission plans, the
//! commission engine that turns deals into explained accruals, and statements. No I/O.

pub mod attribution;
pub mod engine;
pub mod fixed_rates;
pub mod fx;
pub mod partner;
pub mod payout;
pub mod plan;
pub mod statement;
pub mod timeline;
pub mod tree;

pub use attribution::{
    AttributedBy, AttributionPolicy, ClientAttribution, LeadReferrals, ReferralTouch, TouchSource,
};
pub use engine::{
    Accrual, Beneficiary, BookedDeal, ClientState, Engine, EngineState, Explanation, LegKind,
    PassedDeal,
};
pub use fixed_rates::FixedRates;
pub use fx::{FxRate, RateSource};
pub use partner::{
    Application, ApplicationStatus, Ib, Invitation, InvitationStatus, ReferralCode, StandingAction,
    StandingChange, Utm,
};
pub use plan::{CommissionPlan, Period, PeriodKind, PlanBook};
pub use statement::{Carry, PeriodStatement, PeriodSums, close_periods};
pub use timeline::{Dated, Millis, Timeline};
pub use tree::{Chain, ClientNode, Hierarchy, IbNode, Link, MAX_DEPTH, Standing};

/// Named sets of symbols a plan's rules may name instead of single symbols (`majors`,
/// `metals`), from the IB section of the broker's configuration.
pub type SymbolGroups = std::collections::BTreeMap<String, std::collections::BTreeSet<String>>;
