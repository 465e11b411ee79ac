//! Approvals: the governance context of Broker OS. Maker-checker (four-eyes) approval as its
//! own business context, for every process that moves money or changes rules: withdrawals,
//! commission payouts, contest prizes, PAMM offers, rule changes.
//!
//! - [`policy`]: an [`ApprovalPolicy`] per [`ProcessType`] (who approves and rejects, how many
//!   distinct people, amount tiers, auto-approval, four-eyes), in a versioned [`PolicySet`]
//!   validated on load.
//! - [`process`]: the [`ApprovalProcess`] aggregate, started inside the caller's transaction
//!   and decided by [`ApprovalProcess::approve`] / [`ApprovalProcess::reject`]; the caller
//!   follows its [`Outcome`]. Every refusal is a typed [`Refusal`] that says why.
//!
//! The model is pure: no I/O, no clock (every method takes `now`), no store. A context that
//! governs its own process by approvals (withdrawals: `WithdrawalsConfig::approval_policy`)
//! depends on this crate, never the other way round.

pub mod policy;
pub mod process;
#[cfg(test)]
mod testing;

pub use policy::{
    AmountTier, ApprovalPolicy, AutoApprovalConfig, PolicySet, ProcessType, Requirement,
    TierApplied,
};
pub use process::{
    Action, ApprovalProcess, AutoApproval, Decision, DecisionRules, Missing, NewProcess,
    NotAutoApproved, Outcome, ProcessStatus, Refusal, StartFacts, Started, Subject, Verdict,
};
