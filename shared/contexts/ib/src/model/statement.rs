//! Statements: per beneficiary, currency and period, what accrued and what is paid. Legs are
//! unrounded; a statement pays the period's total plus the remainder carried in, rounded half
//! to even to the currency's minor unit, and carries the new remainder to the next period, so
//! what is paid over time equals what accrued, exactly.
//!
//! Two things are decided at period close, not per deal:
//! * the volume tier: the tier a beneficiary reached over the period (lots it earned on under a
//!   plan) applies to the whole period, as a line `(multiplier − 1) ×` the period's rule
//!   amounts under that plan;
//! * revenue share: a client's net result over the period (plus what it gained before and was
//!   carried forward) is paid when the client lost, and carried forward when it gained.
//!
//! A period whose total is negative (reversals of deals paid before) pays nothing and carries
//! the negative total forward.

use std::collections::{BTreeMap, HashMap};
use utoipa::ToSchema;

use brokeros_kernel::money::Currency;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use super::engine::{Accrual, Beneficiary, LegKind};
use super::plan::{Period, PlanBook};

/// A volume tier applied to a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TierLine {
    pub plan_id: String,
    /// Lots counted over the period under the plan.
    pub period_lots: Decimal,
    /// The threshold of the tier reached.
    pub tier_min_lots: Decimal,
    pub multiplier: Decimal,
    /// The period's rule amounts under the plan, which the multiplier scales.
    pub base: Decimal,
    /// `(multiplier − 1) × base`.
    pub amount: Decimal,
}

/// A client's revenue share over the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RevenueShareLine {
    pub client: String,
    /// The sum of the period's revenue-share legs (negative when the client gained).
    pub accrued: Decimal,
    /// Gains carried in from earlier periods (zero or negative).
    pub carried_in: Decimal,
    /// Paid this period: `max(0, accrued + carried_in)`.
    pub payable: Decimal,
    /// Carried to the next period: `min(0, accrued + carried_in)`.
    pub carried_out: Decimal,
}

/// One period of one beneficiary in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PeriodStatement {
    pub beneficiary: Beneficiary,
    pub currency: Currency,
    pub period: Period,
    pub commission: Decimal,
    pub tiers: Vec<TierLine>,
    pub cpa: Decimal,
    pub rebate: Decimal,
    pub revenue_share: Vec<RevenueShareLine>,
    /// Every leg and tier line of the period, unrounded.
    pub accrued: Decimal,
    /// The rounding remainder (or negative total) carried in.
    pub carried_in: Decimal,
    /// Rounded half to even to the currency's minor unit; never negative.
    pub paid: Decimal,
    /// `payable − paid`, carried to the next period.
    pub carried_out: Decimal,
}

/// What one period leaves to the next, per beneficiary and currency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Carry {
    pub remainder: HashMap<(Beneficiary, Currency), Decimal>,
    /// Client gains not yet offset, per beneficiary, currency and client.
    pub revenue_share: HashMap<(Beneficiary, Currency, String), Decimal>,
}

impl Carry {
    /// What is carried for a beneficiary in a currency, remainders and gains together.
    pub fn total(&self, beneficiary: &Beneficiary, currency: Currency) -> Decimal {
        let key = (beneficiary.clone(), currency);
        self.remainder.get(&key).copied().unwrap_or_default()
            + self
                .revenue_share
                .iter()
                .filter(|((b, c, _), _)| b == beneficiary && *c == currency)
                .map(|(_, v)| *v)
                .sum::<Decimal>()
    }
}

#[derive(Default)]
struct PeriodLegs {
    commission: Decimal,
    cpa: Decimal,
    rebate: Decimal,
    /// Per plan: lots and rule amounts.
    per_plan: BTreeMap<String, (Decimal, Decimal)>,
    revenue_share: BTreeMap<String, Decimal>,
}

/// The legs of many periods summed as they come, so a stream of legs needs memory per
/// beneficiary and period only.
#[derive(Default)]
pub struct PeriodSums {
    periods: BTreeMap<(Beneficiary, Currency, Period), PeriodLegs>,
}

impl PeriodSums {
    pub fn add(&mut self, leg: &Accrual) {
        self.add_in(leg, leg.period());
    }

    /// Adds `leg` to `period`, which is not its deal's when the deal came after its own period
    /// closed.
    pub fn add_in(&mut self, leg: &Accrual, period: Period) {
        let entry = self
            .periods
            .entry((leg.beneficiary.clone(), leg.currency, period))
            .or_default();
        let basis = &leg.explanation.basis;
        match leg.kind {
            LegKind::Commission => {
                entry.commission += leg.amount;
                let lots = if leg.reversal {
                    -basis.volume.counted_lots
                } else {
                    basis.volume.counted_lots
                };
                let plan = entry.per_plan.entry(basis.plan_id.clone()).or_default();
                plan.0 += lots;
                plan.1 += leg.amount;
            }
            LegKind::Cpa => entry.cpa += leg.amount,
            LegKind::Rebate => entry.rebate += leg.amount,
            LegKind::RevenueShare => {
                *entry
                    .revenue_share
                    .entry(leg.client.to_string())
                    .or_default() += leg.amount;
            }
        }
    }

    /// Closes the periods summed, in time order per beneficiary and currency, starting from
    /// `carry` and leaving in it what the last period carries out.
    pub fn close(self, plans: &PlanBook, carry: &mut Carry) -> Vec<PeriodStatement> {
        close(self.periods, plans, carry)
    }
}

/// Closes the periods the legs fall in (see [`PeriodSums::close`]).
pub fn close_periods(
    legs: &[Accrual],
    plans: &PlanBook,
    carry: &mut Carry,
) -> Vec<PeriodStatement> {
    let mut sums = PeriodSums::default();
    legs.iter().for_each(|leg| sums.add(leg));
    sums.close(plans, carry)
}

fn close(
    periods: BTreeMap<(Beneficiary, Currency, Period), PeriodLegs>,
    plans: &PlanBook,
    carry: &mut Carry,
) -> Vec<PeriodStatement> {
    let mut statements = Vec::with_capacity(periods.len());
    for ((beneficiary, currency, period), sums) in periods {
        let tiers: Vec<TierLine> = sums
            .per_plan
            .iter()
            .filter_map(|(plan_id, (lots, base))| {
                let plan = plans.in_force(plan_id, period.end_msc() - 1)?;
                let tier = plan.tier_for(*lots)?;
                Some(TierLine {
                    plan_id: plan_id.clone(),
                    period_lots: *lots,
                    tier_min_lots: tier.min_lots,
                    multiplier: tier.multiplier,
                    base: *base,
                    amount: (tier.multiplier - Decimal::ONE) * base,
                })
            })
            .filter(|line| !line.amount.is_zero())
            .collect();
        let revenue_share: Vec<RevenueShareLine> = sums
            .revenue_share
            .iter()
            .map(|(client, accrued)| {
                let key = (beneficiary.clone(), currency, client.clone());
                let carried_in = carry.revenue_share.remove(&key).unwrap_or_default();
                let net = accrued + carried_in;
                let line = RevenueShareLine {
                    client: client.clone(),
                    accrued: *accrued,
                    carried_in,
                    payable: net.max(Decimal::ZERO),
                    carried_out: net.min(Decimal::ZERO),
                };
                if !line.carried_out.is_zero() {
                    carry.revenue_share.insert(key, line.carried_out);
                }
                line
            })
            .collect();
        let tier_total: Decimal = tiers.iter().map(|t| t.amount).sum();
        let accrued = sums.commission
            + tier_total
            + sums.cpa
            + sums.rebate
            + revenue_share.iter().map(|l| l.accrued).sum::<Decimal>();
        let key = (beneficiary.clone(), currency);
        let carried_in = carry.remainder.remove(&key).unwrap_or_default();
        let payable = sums.commission
            + tier_total
            + sums.cpa
            + sums.rebate
            + revenue_share.iter().map(|l| l.payable).sum::<Decimal>()
            + carried_in;
        let mut paid = payable
            .round_dp_with_strategy(currency.scale, RoundingStrategy::MidpointNearestEven)
            .max(Decimal::ZERO);
        // Held at exactly the currency's scale, like every booked amount (12.90, not 12.9).
        paid.rescale(currency.scale);
        let carried_out = payable - paid;
        if !carried_out.is_zero() {
            carry.remainder.insert(key, carried_out);
        }
        statements.push(PeriodStatement {
            beneficiary,
            currency,
            period,
            commission: sums.commission,
            tiers,
            cpa: sums.cpa,
            rebate: sums.rebate,
            revenue_share,
            accrued,
            carried_in,
            paid,
            carried_out,
        });
    }
    statements
}
