//! A live rollover's records: the fund's state between rollovers and the phase of the one
//! under way, the rollover's record (what the account did as a whole) and one line per holder
//! (that holder's fees, requests and statement). A rollover is a sequence of steps, each one
//! rerun-safe: freeze, mark the equity, compute (the engine runs once, on the holdings as the
//! previous rollover left them, and its result is recorded before anything moves), execute
//! (holdings, requests and money, holder by holder), settle (fees paid, the account's cash,
//! the fund's new NAV) and notify. A step that finds the phase past it does nothing.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use brokeros_kernel::{Error, Result};

use super::fund::{Execution, Fund, Holding, InvestorFees, Outcome, Payout, Rollover, Statement};
use super::request::InvestorRequest;

/// Where the fund is in its rollover cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PammPhase)]
#[serde(rename_all = "snake_case", tag = "phase")]
pub enum Phase {
    /// Between rollovers.
    Idle,
    /// Rollover `rollover_id` has begun: the requests due at it are fixed.
    Frozen {
        rollover_id: String,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// The account's equity is marked; it is what the rollover computes on, however often a
    /// step is rerun.
    Marked {
        rollover_id: String,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
        equity: Decimal,
        fees_payable: bool,
    },
    /// The engine's result is recorded; execution and settlement follow it.
    Recorded {
        rollover_id: String,
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
}

impl Phase {
    pub fn rollover_id(&self) -> Option<&str> {
        match self {
            Phase::Idle => None,
            Phase::Frozen { rollover_id, .. }
            | Phase::Marked { rollover_id, .. }
            | Phase::Recorded { rollover_id, .. } => Some(rollover_id),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::Frozen { .. } => "frozen",
            Phase::Marked { .. } => "marked",
            Phase::Recorded { .. } => "recorded",
        }
    }
}

/// The pooled account between rollovers (the holdings are items of their own, one per holder,
/// so that a fund of any size fits the store's item limit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PammFundState)]
pub struct FundState {
    pub offer_id: String,
    pub manager_client_id: String,
    pub login: u64,
    pub currency: String,
    pub phase: Phase,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_rollover_at: Option<OffsetDateTime>,
    #[serde(default)]
    pub last_rollover_id: Option<String>,
    /// The NAV of the last rollover, after fees (what its requests executed at).
    pub nav: Decimal,
    /// Equity over units after the last rollover.
    pub nav_after: Decimal,
    pub units: Decimal,
    pub equity: Decimal,
    pub holders: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

fn out_of_phase(fund: &FundState, step: &str) -> Error {
    Error::conflict(
        "rollover_phase",
        format!(
            "offer {}'s fund is {} ({}): it cannot {step}",
            fund.offer_id,
            fund.phase.name(),
            fund.phase.rollover_id().unwrap_or("no rollover"),
        ),
    )
}

impl FundState {
    pub fn new(
        offer_id: &str,
        manager_client_id: &str,
        login: u64,
        currency: &str,
        now: OffsetDateTime,
    ) -> FundState {
        FundState {
            offer_id: offer_id.to_string(),
            manager_client_id: manager_client_id.to_string(),
            login,
            currency: currency.to_string(),
            phase: Phase::Idle,
            last_rollover_at: None,
            last_rollover_id: None,
            nav: super::fund::INITIAL_NAV,
            nav_after: super::fund::INITIAL_NAV,
            units: Decimal::ZERO,
            equity: Decimal::ZERO,
            holders: 0,
            updated_at: now,
        }
    }

    /// Begins rollover `rollover_id` at `at`. `Ok(false)`: it has begun already (a rerun).
    pub fn freeze(
        &mut self,
        rollover_id: &str,
        at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool> {
        match &self.phase {
            Phase::Idle => {
                if self.last_rollover_id.as_deref() == Some(rollover_id) {
                    return Ok(false);
                }
                if let Some(last) = self.last_rollover_at
                    && at <= last
                {
                    return Err(Error::conflict(
                        "rollover_out_of_order",
                        format!("a rollover at {at} follows the one at {last}"),
                    ));
                }
                if at > now {
                    return Err(Error::conflict(
                        "rollover_not_due",
                        format!("the rollover at {at} is not due yet"),
                    ));
                }
                self.phase = Phase::Frozen {
                    rollover_id: rollover_id.to_string(),
                    at,
                };
                self.updated_at = now;
                Ok(true)
            }
            phase if phase.rollover_id() == Some(rollover_id) => Ok(false),
            _ => Err(out_of_phase(self, &format!("begin rollover {rollover_id}"))),
        }
    }

    /// Marks the equity of the frozen rollover. `Ok(false)`: marked before (the first mark
    /// stands).
    pub fn mark(
        &mut self,
        rollover_id: &str,
        equity: Decimal,
        fees_payable: bool,
        now: OffsetDateTime,
    ) -> Result<bool> {
        match &self.phase {
            Phase::Frozen {
                rollover_id: id,
                at,
            } if id == rollover_id => {
                self.phase = Phase::Marked {
                    rollover_id: rollover_id.to_string(),
                    at: *at,
                    equity,
                    fees_payable,
                };
                self.updated_at = now;
                Ok(true)
            }
            _ if self.is_past(rollover_id, 1) => Ok(false),
            _ => Err(out_of_phase(self, &format!("mark rollover {rollover_id}"))),
        }
    }

    /// Whether rollover `rollover_id` is at or past step `step` (0 frozen, 1 marked,
    /// 2 recorded, 3 settled).
    pub fn is_past(&self, rollover_id: &str, step: u8) -> bool {
        let reached = match &self.phase {
            Phase::Idle => {
                return self.last_rollover_id.as_deref() == Some(rollover_id);
            }
            Phase::Frozen { .. } => 0,
            Phase::Marked { .. } => 1,
            Phase::Recorded { .. } => 2,
        };
        self.phase.rollover_id() == Some(rollover_id) && reached >= step
    }

    /// The engine's view of the fund, with `holdings` as the last rollover left them.
    pub fn engine_fund(&self, holdings: BTreeMap<String, Holding>) -> Fund {
        Fund {
            manager: self.manager_client_id.clone(),
            holdings,
            last_rollover_at: self.last_rollover_at,
            nav: self.nav,
        }
    }

    pub fn record(&mut self, rollover_id: &str, now: OffsetDateTime) -> Result<()> {
        match &self.phase {
            Phase::Marked {
                rollover_id: id,
                at,
                ..
            } if id == rollover_id => {
                self.phase = Phase::Recorded {
                    rollover_id: rollover_id.to_string(),
                    at: *at,
                };
                self.updated_at = now;
                Ok(())
            }
            _ => Err(out_of_phase(
                self,
                &format!("record rollover {rollover_id}"),
            )),
        }
    }

    /// Ends the rollover: the fund as it left it.
    pub fn settle(&mut self, record: &RolloverRecord, now: OffsetDateTime) -> Result<()> {
        match &self.phase {
            Phase::Recorded { rollover_id, .. } if *rollover_id == record.id => {
                self.phase = Phase::Idle;
                self.last_rollover_at = Some(record.at);
                self.last_rollover_id = Some(record.id.clone());
                self.nav = record.nav;
                self.nav_after = record.nav_after;
                self.units = record.units_after;
                self.equity = record.equity_after;
                self.holders = record.holders;
                self.updated_at = now;
                Ok(())
            }
            _ => Err(out_of_phase(
                self,
                &format!("settle rollover {}", record.id),
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PammRolloverStatus)]
#[serde(rename_all = "snake_case")]
pub enum RolloverStatus {
    /// Computed; money moving.
    Recorded,
    /// Every holding, request and payment done; the NAV is the fund's.
    Settled,
}

/// Fees of one kind a rollover charged, in total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PammFeeTotals)]
pub struct FeeTotals {
    pub management: Decimal,
    pub performance: Decimal,
    pub entry: Decimal,
    /// Charged but not taken: added to holders' fee debt.
    pub debt_added: Decimal,
    /// Earlier fee debt taken (from profit, deposits or exits).
    pub debt_taken: Decimal,
}

/// A rollover as a whole: the NAV history's entry and the fee income's source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PammRolloverRecord)]
pub struct RolloverRecord {
    pub id: String,
    pub offer_id: String,
    pub login: u64,
    pub currency: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub status: RolloverStatus,
    pub equity_before: Decimal,
    pub units_before: Decimal,
    pub gross_nav: Decimal,
    /// The NAV requests executed at (after fees).
    pub nav: Decimal,
    pub nav_after: Decimal,
    pub equity_after: Decimal,
    pub units_after: Decimal,
    pub invested: Decimal,
    pub paid_out: Decimal,
    pub remainder: Decimal,
    pub fees: FeeTotals,
    pub payouts: Vec<Payout>,
    pub requests_executed: u32,
    pub requests_refused: u32,
    /// Holders after the rollover, and lines written (holders before or after it).
    pub holders: u32,
    pub lines: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// What a rollover did for one request of a holder (a stop level's request included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PammLineRequest)]
pub struct LineRequest {
    pub request_id: String,
    pub kind: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// One holder's part of a rollover: their statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PammRolloverLine)]
pub struct RolloverLine {
    pub rollover_id: String,
    pub offer_id: String,
    pub holder: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub gross_nav: Decimal,
    pub nav: Decimal,
    pub nav_after: Decimal,
    /// Fees charged (none for the manager).
    #[serde(default)]
    pub fees: Option<InvestorFees>,
    /// The requests of the holder this rollover concluded.
    pub requests: Vec<LineRequest>,
    /// What the engine executed for the holder, a stop level's exit included.
    pub executions: Vec<Execution>,
    /// After the rollover; none when the holder left.
    #[serde(default)]
    pub statement: Option<Statement>,
    #[serde(default)]
    pub holding: Option<Holding>,
    /// The execution step has applied the line (holding, requests, money).
    #[serde(default)]
    pub applied: bool,
    #[serde(default)]
    pub notified: bool,
}

/// The rollover's record and its lines, from the engine's result. `fund` is the engine's fund
/// after the rollover; `requests` every request concluded (those the engine saw, and the stop
/// levels applied before it ran, with their outcomes).
pub fn record_of(
    id: &str,
    state: &FundState,
    rollover: &Rollover,
    fund: &Fund,
    requests: &[(&InvestorRequest, Outcome)],
    now: OffsetDateTime,
) -> (RolloverRecord, Vec<RolloverLine>) {
    let mut lines: BTreeMap<&str, RolloverLine> = BTreeMap::new();
    let line = |holder: &str| RolloverLine {
        rollover_id: id.to_string(),
        offer_id: state.offer_id.clone(),
        holder: holder.to_string(),
        at: rollover.at,
        gross_nav: rollover.gross_nav,
        nav: rollover.nav,
        nav_after: rollover.nav_after,
        fees: None,
        requests: Vec::new(),
        executions: Vec::new(),
        statement: None,
        holding: fund.holdings.get(holder).cloned(),
        applied: false,
        notified: false,
    };
    let mut totals = FeeTotals::default();
    for fees in &rollover.fees {
        totals.management += fees.management;
        totals.performance += fees.performance;
        totals.debt_added += fees.debt_added;
        totals.debt_taken += fees.debt_taken;
        lines
            .entry(&fees.investor)
            .or_insert_with(|| line(&fees.investor))
            .fees = Some(fees.clone());
    }
    for execution in &rollover.executions {
        if let Outcome::Executed {
            entry_fee,
            debt_taken,
            ..
        } = execution.outcome
        {
            totals.entry += entry_fee;
            totals.debt_taken += debt_taken;
        }
        lines
            .entry(&execution.investor)
            .or_insert_with(|| line(&execution.investor))
            .executions
            .push(execution.clone());
    }
    let (mut executed, mut refused) = (0, 0);
    for (request, outcome) in requests {
        match outcome {
            Outcome::Executed { .. } => executed += 1,
            Outcome::Refused { .. } => refused += 1,
        }
        lines
            .entry(&request.client_id)
            .or_insert_with(|| line(&request.client_id))
            .requests
            .push(LineRequest {
                request_id: request.id.clone(),
                kind: request.ask.name().to_string(),
                outcome: outcome.clone(),
            });
    }
    for statement in &rollover.statements {
        lines
            .entry(&statement.holder)
            .or_insert_with(|| line(&statement.holder))
            .statement = Some(statement.clone());
    }
    let record = RolloverRecord {
        id: id.to_string(),
        offer_id: state.offer_id.clone(),
        login: state.login,
        currency: state.currency.clone(),
        at: rollover.at,
        status: RolloverStatus::Recorded,
        equity_before: rollover.equity_before,
        units_before: rollover.units_before,
        gross_nav: rollover.gross_nav,
        nav: rollover.nav,
        nav_after: rollover.nav_after,
        equity_after: rollover.equity_after,
        units_after: rollover.units_after,
        invested: rollover.invested,
        paid_out: rollover.paid_out,
        remainder: rollover.remainder,
        fees: totals,
        payouts: rollover.payouts.clone(),
        requests_executed: executed,
        requests_refused: refused,
        holders: fund.holdings.len() as u32,
        lines: lines.len() as u32,
        created_at: now,
        updated_at: now,
    };
    (record, lines.into_values().collect())
}

/// The outcome of a stop level's request of `holder`, applied to the fund before the engine
/// runs (a holder who holds nothing has no stop level to set).
pub fn apply_stop(fund: &mut Fund, holder: &str, stop_equity: Option<Decimal>) -> Outcome {
    match fund.set_stop(holder, stop_equity) {
        Ok(()) => Outcome::Executed {
            amount: Decimal::ZERO,
            units: Decimal::ZERO,
            entry_fee: Decimal::ZERO,
            debt_taken: Decimal::ZERO,
        },
        Err(_) => Outcome::Refused {
            reason: super::fund::Refusal::NoHolding,
        },
    }
}
