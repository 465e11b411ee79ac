//! The pooled account in units: who holds how many, and the rollover that charges fees and
//! executes the investors' requests at one NAV.
//!
//! NAV per unit is the account's equity over its units. A rollover, in order:
//! 1. marks the equity the platform reports at the freeze: the gross NAV;
//! 2. charges each investor's fees (the manager pays none) in units at that NAV, so the NAV
//!    does not move: the management fee accrued day by day since their last fee, the
//!    performance fee on their equity net of it above their own high-water mark, and old fee
//!    debt from what profit is left; a fee the platform will not release is fee debt instead;
//! 3. exits the investors whose equity fell to their stop level;
//! 4. executes the requests due, in the order received, at the NAV after fees: deposits buy
//!    units (less the entry fee and any fee debt), withdrawals sell units, an exit sells all
//!    (less any fee debt);
//! 5. answers the new units, the NAV and each holder's statement.
//!
//! Nobody's units change through another's cash flow: units are bought and sold at the
//! rollover's NAV, so the only effect of another's flow on a holder is the rounding of the
//! units it bought or sold (never more than the unit's precision times the NAV). Fees are
//! rounded down to the currency's scale (a fee never exceeds its rate); a holding is worth its
//! units at the NAV to the nearest minor unit ([`worth`]), and what that rounding leaves is
//! the fund's `remainder`, reported with the statements so that the holders' equities and the
//! remainder add up to the account's equity.

use std::collections::BTreeMap;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use brokeros_kernel::money::Currency;
use brokeros_kernel::{Error, Result};

use super::terms::Terms;

/// Units are kept to this many decimals.
pub const UNIT_SCALE: u32 = 8;
/// The NAV as statements show it (computed unrounded).
pub const NAV_SCALE: u32 = 8;

/// The NAV of an account that holds no units yet.
pub const INITIAL_NAV: Decimal = Decimal::ONE;

const SECONDS_PER_DAY: i64 = 86_400;

/// One holder's position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PammHolding)]
pub struct Holding {
    pub units: Decimal,
    /// The equity, net of fees, above which a gain is new profit: raised by what a deposit
    /// invests, lowered in proportion by a withdrawal, reset when the holder leaves.
    pub hwm: Decimal,
    /// Fees charged but not taken, taken from the next profit, deposit or exit.
    pub fee_debt: Decimal,
    /// What the holder's deposits invested, less what withdrawals took back in proportion:
    /// the basis of the performance fee tier.
    pub net_invested: Decimal,
    #[serde(with = "time::serde::rfc3339")]
    pub first_invested_at: OffsetDateTime,
    /// The management fee accrues from here: the holder's last rollover, or their entry.
    #[serde(with = "time::serde::rfc3339")]
    pub fees_through: OffsetDateTime,
    /// Equity at or below which the holder exits at the rollover.
    #[serde(default)]
    #[schema(required)]
    pub stop_equity: Option<Decimal>,
}

/// The pooled account: its holders (the manager among them) and its last rollover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PammFund)]
pub struct Fund {
    /// The manager's holder id: their capital is units like an investor's, charged no fee.
    pub manager: String,
    pub holdings: BTreeMap<String, Holding>,
    pub last_rollover_at: Option<OffsetDateTime>,
    /// The NAV of the last rollover (after fees), [`INITIAL_NAV`] before the first.
    pub nav: Decimal,
}

/// What an investor asks for, executed at a rollover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PammFlow)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Flow {
    Deposit {
        amount: Decimal,
    },
    Withdrawal {
        amount: Decimal,
    },
    /// Everything the holder has.
    Exit,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PammRequest)]
pub struct Request {
    pub id: String,
    pub investor: String,
    #[serde(flatten)]
    pub flow: Flow,
    /// For a deposit: the holder's stop level from now on, if given.
    #[serde(default)]
    pub stop_equity: Option<Decimal>,
}

impl Request {
    /// Checks the amounts against the offer's currency: positive, at its scale.
    pub fn validate(&self, currency: Currency) -> Result<()> {
        let positive = |field: &str, amount: Decimal| -> Result<()> {
            currency.exact(field, amount)?;
            if amount <= Decimal::ZERO {
                return Err(Error::invalid(
                    "invalid_amount",
                    field,
                    format!("{field} must be positive"),
                ));
            }
            Ok(())
        };
        match self.flow {
            Flow::Deposit { amount } | Flow::Withdrawal { amount } => positive("amount", amount)?,
            Flow::Exit => {}
        }
        if let Some(stop) = self.stop_equity {
            positive("stop_equity", stop)?;
        }
        Ok(())
    }
}

/// What the rollover is given.
#[derive(Debug, Clone)]
pub struct Mark<'a> {
    pub at: OffsetDateTime,
    /// The pooled account's equity at the freeze, as the platform reports it.
    pub equity: Decimal,
    /// The requests due at this rollover, in the order received.
    pub requests: &'a [Request],
    /// Each investor's IB chain (level 1 first), for the IB share of their fees.
    pub ib_chains: &'a BTreeMap<String, Vec<String>>,
    /// Whether the platform may release fees from the account now; when not, the fees charged
    /// become fee debt.
    pub fees_payable: bool,
}

/// One investor's fees at a rollover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PammInvestorFees)]
pub struct InvestorFees {
    pub investor: String,
    /// Equity at the gross NAV, before fees.
    pub equity: Decimal,
    pub management: Decimal,
    pub performance: Decimal,
    /// The performance fee rate applied (a fraction) and the profit it was applied to.
    pub performance_rate: Decimal,
    pub profit: Decimal,
    /// Old fee debt taken from this rollover's profit.
    pub debt_taken: Decimal,
    /// Charged, not taken (the platform would not release fees): added to the fee debt.
    pub debt_added: Decimal,
    pub units_cancelled: Decimal,
    pub hwm_before: Decimal,
    pub hwm_after: Decimal,
}

impl InvestorFees {
    /// What was taken from the holder's units.
    pub fn taken(&self) -> Decimal {
        self.management + self.performance + self.debt_taken - self.debt_added
    }
}

/// Why a request was not executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PammRefusal)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    BelowMinimumInvestment,
    ManagerBelowMinimumCapital,
    NoHolding,
    LockedUp,
    ExceedsHolding,
    ManagerCapitalRequired,
    AccountWithoutEquity,
    /// The holder left at this rollover (stop level or an earlier exit request).
    Exited,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PammOutcome)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum Outcome {
    Executed {
        /// Money in (deposit) or paid out (withdrawal, exit).
        amount: Decimal,
        /// Units bought (positive) or sold (negative).
        units: Decimal,
        entry_fee: Decimal,
        /// Fee debt taken from the deposit or the exit's payout.
        debt_taken: Decimal,
    },
    Refused {
        reason: Refusal,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PammExecution)]
pub struct Execution {
    /// The request's id; `stop:<investor>` for an exit at the stop level.
    pub request: String,
    pub investor: String,
    pub flow: Flow,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// Who a fee is paid to.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum Payee {
    Manager,
    Ib(String),
}

/// Fees paid to one payee at a rollover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PammPayout)]
pub struct Payout {
    pub payee: Payee,
    pub amount: Decimal,
}

/// A holder's position after the rollover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PammStatement)]
pub struct Statement {
    pub holder: String,
    pub units: Decimal,
    /// At the NAV after the rollover, rounded down to the currency.
    pub equity: Decimal,
    pub hwm: Decimal,
    pub fee_debt: Decimal,
}

/// Everything a rollover did: what the use case books and what statements show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = PammRollover)]
pub struct Rollover {
    pub at: OffsetDateTime,
    pub equity_before: Decimal,
    pub units_before: Decimal,
    /// Equity over units at the freeze.
    pub gross_nav: Decimal,
    pub fees: Vec<InvestorFees>,
    /// The NAV requests executed at: after fees.
    pub nav: Decimal,
    pub executions: Vec<Execution>,
    /// Fees to pay out, by payee (fees taken from units, entry fees, debt taken): the
    /// manager first, then the IBs by id.
    pub payouts: Vec<Payout>,
    /// What leaves the pooled account: fees taken from units, withdrawals and exits paid,
    /// fee debt taken from exits.
    pub paid_out: Decimal,
    /// What enters it: the deposits' invested amounts.
    pub invested: Decimal,
    pub equity_after: Decimal,
    pub units_after: Decimal,
    /// Equity over units after the rollover (the gross NAV of none if no units are left).
    pub nav_after: Decimal,
    pub statements: Vec<Statement>,
    /// What the statements' rounding leaves of the equity: the fund's, not a holder's.
    pub remainder: Decimal,
}

/// What every request of a rollover executes at: the terms, the mark, the NAV after fees and
/// the currency's scale.
struct AtRollover<'a> {
    terms: &'a Terms,
    mark: &'a Mark<'a>,
    nav: Decimal,
    scale: u32,
}

impl AtRollover<'_> {
    fn chain(&self, investor: &str) -> Option<&Vec<String>> {
        self.mark.ib_chains.get(investor)
    }

    fn worth(&self, units: Decimal) -> Decimal {
        worth(units, self.nav, self.scale)
    }
}

fn down(value: Decimal, scale: u32) -> Decimal {
    value.round_dp_with_strategy(scale, RoundingStrategy::ToZero)
}

/// What `units` are worth at `nav`, to the nearest minor unit: what statements show and what
/// an exit pays (the sub-cent difference stays in the NAV).
pub fn worth(units: Decimal, nav: Decimal, scale: u32) -> Decimal {
    (units * nav).round_dp_with_strategy(scale, RoundingStrategy::MidpointNearestEven)
}

fn up(value: Decimal, scale: u32) -> Decimal {
    value.round_dp_with_strategy(scale, RoundingStrategy::AwayFromZero)
}

impl Fund {
    pub fn new(manager: &str) -> Fund {
        Fund {
            manager: manager.to_string(),
            holdings: BTreeMap::new(),
            last_rollover_at: None,
            nav: INITIAL_NAV,
        }
    }

    /// Sets (or clears) a holder's stop level: at or below it, they exit at the next rollover.
    pub fn set_stop(&mut self, holder: &str, stop_equity: Option<Decimal>) -> Result<()> {
        let holding = self
            .holdings
            .get_mut(holder)
            .ok_or_else(|| Error::NotFound {
                entity: "holding",
                id: holder.to_string(),
            })?;
        holding.stop_equity = stop_equity;
        Ok(())
    }

    pub fn units(&self) -> Decimal {
        self.holdings.values().map(|h| h.units).sum()
    }

    /// Whether anyone but the manager holds units.
    pub fn has_investors(&self) -> bool {
        self.holdings.keys().any(|id| *id != self.manager)
    }

    /// The NAV of `equity` over the units held (the initial NAV when none are).
    pub fn nav_of(&self, equity: Decimal) -> Decimal {
        let units = self.units();
        if units.is_zero() {
            INITIAL_NAV
        } else {
            equity / units
        }
    }

    /// Runs a rollover on the marked equity: changes the fund and answers what it did.
    pub fn roll_over(&mut self, terms: &Terms, mark: &Mark<'_>) -> Result<Rollover> {
        let scale = terms.currency()?.minor_unit().scale();
        if mark.equity < Decimal::ZERO {
            return Err(Error::invalid(
                "invalid_equity",
                "equity",
                "the account's equity cannot be negative",
            ));
        }
        if let Some(last) = self.last_rollover_at
            && mark.at <= last
        {
            return Err(Error::conflict(
                "rollover_out_of_order",
                format!("a rollover at {} follows the one at {last}", mark.at),
            ));
        }
        let units_before = self.units();
        // An account nobody holds units of (before the first rollover, or after everyone
        // left): what it holds is the manager's capital, at the initial NAV.
        let mut executions = Vec::new();
        if units_before.is_zero() && mark.equity > Decimal::ZERO {
            let units = down(mark.equity / INITIAL_NAV, UNIT_SCALE);
            self.holdings.insert(
                self.manager.clone(),
                Holding {
                    units,
                    hwm: mark.equity,
                    fee_debt: Decimal::ZERO,
                    net_invested: mark.equity,
                    first_invested_at: mark.at,
                    fees_through: mark.at,
                    stop_equity: None,
                },
            );
            executions.push(Execution {
                request: format!("capital:{}", self.manager),
                investor: self.manager.clone(),
                flow: Flow::Deposit {
                    amount: mark.equity,
                },
                outcome: Outcome::Executed {
                    amount: mark.equity,
                    units,
                    entry_fee: Decimal::ZERO,
                    debt_taken: Decimal::ZERO,
                },
            });
        }
        let gross_nav = self.nav_of(mark.equity);
        let mut payouts: BTreeMap<Payee, Decimal> = BTreeMap::new();
        let mut equity = mark.equity;
        let mut paid_out = Decimal::ZERO;

        // Fees, in units at the gross NAV.
        let mut fees = Vec::new();
        for (id, holding) in self.holdings.iter_mut() {
            if *id == self.manager {
                holding.fees_through = mark.at;
                continue;
            }
            let mut charged = charge(
                terms,
                id,
                holding,
                gross_nav,
                mark.at,
                scale,
                mark.fees_payable,
            );
            let taken = charged.taken();
            if !taken.is_zero() {
                let kept = down(holding.units - taken / gross_nav, UNIT_SCALE).max(Decimal::ZERO);
                charged.units_cancelled = holding.units - kept;
                holding.units = kept;
                equity -= taken;
                paid_out += taken;
                split(&mut payouts, terms, mark.ib_chains.get(id), taken, scale);
            }
            fees.push(charged);
        }
        // The units cancelled, as the holdings now show them.
        let nav = if self.units().is_zero() {
            gross_nav
        } else {
            self.nav_of(equity)
        };

        // Stop levels, then the requests, at the NAV after fees.
        let mut invested = Decimal::ZERO;
        let stopped: Vec<String> = self
            .holdings
            .iter()
            .filter(|(id, h)| {
                **id != self.manager
                    && h.stop_equity
                        .is_some_and(|stop| worth(h.units, nav, scale) <= stop)
            })
            .map(|(id, _)| id.clone())
            .collect();
        let rollover = AtRollover {
            terms,
            mark,
            nav,
            scale,
        };
        let mut left: Vec<String> = Vec::new();
        for investor in stopped {
            let request = Request {
                id: format!("stop:{investor}"),
                investor: investor.clone(),
                flow: Flow::Exit,
                stop_equity: None,
            };
            let outcome = self.exit(&request, &rollover, equity, &mut payouts);
            settle(&outcome, &mut equity, &mut paid_out, &mut invested);
            left.push(investor);
            executions.push(execution(&request, outcome));
        }
        for request in mark.requests {
            let outcome = if left.contains(&request.investor) {
                Outcome::Refused {
                    reason: Refusal::Exited,
                }
            } else {
                match &request.flow {
                    Flow::Deposit { amount } => {
                        self.deposit(request, *amount, &rollover, &mut payouts)
                    }
                    Flow::Withdrawal { amount } => {
                        self.withdraw(request, *amount, &rollover, equity)
                    }
                    Flow::Exit => {
                        let outcome = self.exit(request, &rollover, equity, &mut payouts);
                        if matches!(outcome, Outcome::Executed { .. }) {
                            left.push(request.investor.clone());
                        }
                        outcome
                    }
                }
            };
            settle(&outcome, &mut equity, &mut paid_out, &mut invested);
            executions.push(execution(request, outcome));
        }

        let units_after = self.units();
        let nav_after = if units_after.is_zero() {
            nav
        } else {
            equity / units_after
        };
        let statements: Vec<Statement> = self
            .holdings
            .iter()
            .map(|(id, h)| Statement {
                holder: id.clone(),
                units: h.units,
                equity: worth(h.units, nav_after, scale),
                hwm: h.hwm,
                fee_debt: h.fee_debt,
            })
            .collect();
        let remainder = equity - statements.iter().map(|s| s.equity).sum::<Decimal>();
        self.last_rollover_at = Some(mark.at);
        self.nav = nav;
        Ok(Rollover {
            at: mark.at,
            equity_before: mark.equity,
            units_before,
            gross_nav,
            fees,
            nav,
            executions,
            payouts: payouts
                .into_iter()
                .map(|(payee, amount)| Payout { payee, amount })
                .collect(),
            paid_out,
            invested,
            equity_after: equity,
            units_after,
            nav_after,
            statements,
            remainder,
        })
    }

    fn deposit(
        &mut self,
        request: &Request,
        amount: Decimal,
        at: &AtRollover<'_>,
        payouts: &mut BTreeMap<Payee, Decimal>,
    ) -> Outcome {
        let (terms, nav, scale) = (at.terms, at.nav, at.scale);
        let refused = |reason| Outcome::Refused { reason };
        let is_manager = request.investor == self.manager;
        let existing = self.holdings.get(&request.investor);
        if !is_manager {
            if existing.is_none() && amount < terms.min_investment {
                return refused(Refusal::BelowMinimumInvestment);
            }
            let capital = self
                .holdings
                .get(&self.manager)
                .map_or(Decimal::ZERO, |h| at.worth(h.units));
            if capital < terms.min_manager_capital {
                return refused(Refusal::ManagerBelowMinimumCapital);
            }
        }
        if nav.is_zero() {
            return refused(Refusal::AccountWithoutEquity);
        }
        let entry_fee = if is_manager {
            Decimal::ZERO
        } else {
            down(amount * terms.entry_rate(), scale)
        };
        let debt = existing.map_or(Decimal::ZERO, |h| h.fee_debt);
        let debt_taken = debt.min(amount - entry_fee);
        let invest = amount - entry_fee - debt_taken;
        let units = down(invest / nav, UNIT_SCALE);
        split(
            payouts,
            terms,
            at.chain(&request.investor),
            entry_fee + debt_taken,
            scale,
        );
        let holding = self
            .holdings
            .entry(request.investor.clone())
            .or_insert_with(|| Holding {
                units: Decimal::ZERO,
                hwm: Decimal::ZERO,
                fee_debt: Decimal::ZERO,
                net_invested: Decimal::ZERO,
                first_invested_at: at.mark.at,
                fees_through: at.mark.at,
                stop_equity: None,
            });
        holding.units += units;
        holding.hwm += invest;
        holding.net_invested += invest;
        holding.fee_debt -= debt_taken;
        if request.stop_equity.is_some() {
            holding.stop_equity = request.stop_equity;
        }
        Outcome::Executed {
            amount: invest,
            units,
            entry_fee,
            debt_taken,
        }
    }

    /// `available`: what the account holds at this point of the rollover, which no payout
    /// exceeds (a holding's worth is rounded to the nearest cent, so the last one out could
    /// otherwise take a cent the others' rounding left).
    fn withdraw(
        &mut self,
        request: &Request,
        amount: Decimal,
        at: &AtRollover<'_>,
        available: Decimal,
    ) -> Outcome {
        let (terms, nav, scale) = (at.terms, at.nav, at.scale);
        let refused = |reason| Outcome::Refused { reason };
        let is_manager = request.investor == self.manager;
        let has_investors = self.has_investors();
        let Some(holding) = self.holdings.get_mut(&request.investor) else {
            return refused(Refusal::NoHolding);
        };
        if !is_manager && at.mark.at < holding.first_invested_at + terms.lockup() {
            return refused(Refusal::LockedUp);
        }
        let equity = at.worth(holding.units).min(available.max(Decimal::ZERO));
        if amount > equity || nav.is_zero() {
            return refused(Refusal::ExceedsHolding);
        }
        if is_manager && has_investors && equity - amount < terms.min_manager_capital {
            return refused(Refusal::ManagerCapitalRequired);
        }
        let sold = up(amount / nav, UNIT_SCALE).min(holding.units);
        let kept = (equity - amount) / equity;
        holding.units -= sold;
        holding.hwm = down(holding.hwm * kept, scale);
        holding.net_invested = down(holding.net_invested * kept, scale);
        if holding.units.is_zero() {
            self.holdings.remove(&request.investor);
        }
        Outcome::Executed {
            amount,
            units: -sold,
            entry_fee: Decimal::ZERO,
            debt_taken: Decimal::ZERO,
        }
    }

    fn exit(
        &mut self,
        request: &Request,
        at: &AtRollover<'_>,
        available: Decimal,
        payouts: &mut BTreeMap<Payee, Decimal>,
    ) -> Outcome {
        let (terms, scale) = (at.terms, at.scale);
        let refused = |reason| Outcome::Refused { reason };
        let is_manager = request.investor == self.manager;
        if is_manager && self.has_investors() {
            return refused(Refusal::ManagerCapitalRequired);
        }
        let Some(holding) = self.holdings.get(&request.investor) else {
            return refused(Refusal::NoHolding);
        };
        let stop = request.id.starts_with("stop:");
        if !is_manager && !stop && at.mark.at < holding.first_invested_at + terms.lockup() {
            return refused(Refusal::LockedUp);
        }
        let equity = at.worth(holding.units).min(available.max(Decimal::ZERO));
        let debt_taken = holding.fee_debt.min(equity);
        let units = holding.units;
        split(
            payouts,
            terms,
            at.chain(&request.investor),
            debt_taken,
            scale,
        );
        self.holdings.remove(&request.investor);
        Outcome::Executed {
            amount: equity - debt_taken,
            units: -units,
            entry_fee: Decimal::ZERO,
            debt_taken,
        }
    }
}

/// The fees of one investor at the gross NAV, recorded on their holding (high-water mark,
/// fee debt, accrual date); the caller takes them from the units.
fn charge(
    terms: &Terms,
    investor: &str,
    holding: &mut Holding,
    nav: Decimal,
    at: OffsetDateTime,
    scale: u32,
    payable: bool,
) -> InvestorFees {
    let equity = worth(holding.units, nav, scale);
    let seconds = (at - holding.fees_through).whole_seconds().max(0);
    let days = Decimal::from(seconds) / Decimal::from(SECONDS_PER_DAY);
    let management = down(terms.management_fee_for(equity, days), scale).min(equity);
    // Fee debt is not the investor's: their profit is what lies above their mark once it is
    // paid, so a gain whose fee is owed is not charged again.
    let debt_before = holding.fee_debt;
    let gain = equity - management - holding.hwm;
    let profit = (gain - debt_before).max(Decimal::ZERO);
    let rate = terms.performance_rate(holding.net_invested);
    let performance = down(profit * rate, scale);
    let hwm_before = holding.hwm;
    if profit > Decimal::ZERO {
        holding.hwm = equity - management - performance - debt_before;
    }
    let (debt_taken, debt_added) = if payable {
        // Old debt is taken from this rollover's gain, as far as it reaches.
        let taken = debt_before.min((gain - performance).max(Decimal::ZERO));
        holding.fee_debt -= taken;
        (taken, Decimal::ZERO)
    } else {
        holding.fee_debt += management + performance;
        (Decimal::ZERO, management + performance)
    };
    holding.fees_through = at;
    InvestorFees {
        investor: investor.to_string(),
        equity,
        management,
        performance,
        performance_rate: rate,
        profit,
        debt_taken,
        debt_added,
        units_cancelled: Decimal::ZERO,
        hwm_before,
        hwm_after: holding.hwm,
    }
}

/// Splits a fee an investor paid: each level of their IB chain its share, the manager the rest.
fn split(
    payouts: &mut BTreeMap<Payee, Decimal>,
    terms: &Terms,
    chain: Option<&Vec<String>>,
    fee: Decimal,
    scale: u32,
) {
    if fee.is_zero() {
        return;
    }
    let mut rest = fee;
    if let Some(chain) = chain {
        for (ib, rate) in chain.iter().zip(terms.ib_rates()) {
            let share = down(fee * rate, scale);
            if !share.is_zero() {
                *payouts.entry(Payee::Ib(ib.clone())).or_default() += share;
                rest -= share;
            }
        }
    }
    *payouts.entry(Payee::Manager).or_default() += rest;
}

/// The pooled account's cash after an executed request.
fn settle(outcome: &Outcome, equity: &mut Decimal, paid_out: &mut Decimal, invested: &mut Decimal) {
    if let Outcome::Executed {
        amount,
        units,
        debt_taken,
        ..
    } = outcome
    {
        if units.is_sign_negative() {
            *equity -= amount + debt_taken;
            *paid_out += amount + debt_taken;
        } else {
            *equity += amount;
            *invested += amount;
        }
    }
}

fn execution(request: &Request, outcome: Outcome) -> Execution {
    Execution {
        request: request.id.clone(),
        investor: request.investor.clone(),
        flow: request.flow.clone(),
        outcome,
    }
}
