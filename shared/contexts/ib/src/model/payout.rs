//! Payout runs and statements as recorded: a run per schedule and period, a statement per
//! beneficiary, period and currency with its lines and where its payment stands, and what a
//! beneficiary carries from one statement to the next.

use std::collections::BTreeMap;
use utoipa::ToSchema;

use brokeros_kernel::money::Currency;
use brokeros_kernel::{Error, Result};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::engine::Beneficiary;
use super::plan::{Period, PeriodKind};
use super::statement::{Carry, PeriodStatement};

/// How many times the payout workflow waits for finance's decisions (each wait as long as the
/// definition's `AwaitApprovals` timeout) before it stops waiting.
pub const MAX_APPROVAL_WAITS: u32 = 3;

/// How many failed credits make a statement finance's to look at.
pub const MAX_CREDIT_ATTEMPTS: u32 = 3;

/// `daily-2026-03-02`: a run's id, from its schedule and period.
pub fn run_id(period: Period) -> String {
    format!(
        "{}-{}",
        crate::keys::period_kind_name(period.kind),
        period.label()
    )
}

/// The period of kind `schedule` that ended at or before `started_at`.
pub fn period_ended_before(schedule: PeriodKind, started_at: super::Millis) -> Period {
    let current = schedule.period_of(started_at);
    schedule.period_of(current.start_msc - 1)
}

/// `ib-ib_1_daily_2026-03-02_USD`: a statement's id, also its ledger transfer id (so a
/// statement credits once however often the payout runs) and its approval's subject, which
/// take letters, digits, '-' and '_'. The last three parts hold no '_', so ids of different
/// beneficiaries never meet.
pub fn statement_id(beneficiary: &Beneficiary, period: Period, currency: &str) -> String {
    let (kind, id) = match beneficiary {
        Beneficiary::Ib(id) => ("ib", id),
        Beneficiary::Client(id) => ("client", id),
    };
    format!(
        "{kind}-{id}_{}_{}_{currency}",
        crate::keys::period_kind_name(period.kind),
        period.label()
    )
}

/// Where the payouts of one kind of period stand. Periods close one after another from the
/// first that can hold legs (the period of the first plan of that kind to take effect, or the
/// first period ever closed when no plan was stored), so a period the scheduler missed is paid
/// late rather than never, and no period closes before an earlier one: statements carry
/// remainders from one period to the next in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutSequence {
    /// The kind's name: `daily`, `weekly` or `monthly`.
    pub id: String,
    pub first: Period,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_closed: Option<Period>,
}

impl PayoutSequence {
    pub fn starting(first: Period) -> PayoutSequence {
        PayoutSequence {
            id: crate::keys::period_kind_name(first.kind).to_string(),
            first,
            last_closed: None,
        }
    }

    /// The next period to close.
    pub fn next_due(&self) -> Period {
        self.last_closed.map_or(self.first, Period::next)
    }

    /// Records `period` closed: it must be the next due, or, before any period of the kind
    /// closed, one no later than the first (an earlier one holds no legs of a plan, and
    /// closing it first leaves none behind).
    pub fn close(&mut self, period: Period) -> Result<()> {
        if self.last_closed.is_none() && period.start_msc <= self.first.start_msc {
            self.first = period;
        }
        let due = self.next_due();
        if period != due {
            return Err(Error::conflict(
                "period_out_of_order",
                format!(
                    "{} periods close in order: the next to close is {}, not {}",
                    self.id,
                    due.label(),
                    period.label()
                ),
            ));
        }
        self.last_closed = Some(period);
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Closed: statements being built.
    Building,
    /// Statements built; some wait for finance.
    AwaitingApprovals,
    /// Every statement decided; payable ones being credited.
    Paying,
    Done,
}

/// One period's payout, started by a schedule or a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PayoutRun {
    pub id: String,
    pub period: Period,
    pub label: String,
    pub status: RunStatus,
    /// Who started it (`schedule` for the scheduler): never an approver of its statements.
    pub requested_by: String,
    pub statements: u32,
    pub held: u32,
    pub paid: u32,
    /// Statements whose credit kept failing, for finance.
    pub flagged: u32,
    /// Why the workflow gave up on a credit, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit_failure: Option<String>,
    /// How many times the workflow's wait for finance's decisions ran out (each one recorded
    /// as `ib.payout.approvals_overdue`).
    #[serde(default)]
    #[schema(required)]
    pub escalations: u32,
    /// The workflow's token while it waits for finance's decisions (never shown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub approval_token: Option<String>,
    pub started_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl PayoutRun {
    /// Whether its workflow stopped waiting for finance's decisions.
    pub fn gave_up_waiting(&self) -> bool {
        self.escalations >= MAX_APPROVAL_WAITS
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatementStatus {
    /// Over the threshold: waits for finance's approval.
    AwaitingApproval,
    Payable,
    Paid,
    /// Nothing to pay this period (what accrued is carried).
    Closed,
    Rejected,
    /// Its credit failed [`MAX_CREDIT_ATTEMPTS`] times: finance's to look at.
    CreditFailed,
}

impl StatementStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StatementStatus::AwaitingApproval => "awaiting_approval",
            StatementStatus::Payable => "payable",
            StatementStatus::Paid => "paid",
            StatementStatus::Closed => "closed",
            StatementStatus::Rejected => "rejected",
            StatementStatus::CreditFailed => "credit_failed",
        }
    }
}

/// One beneficiary's statement of a period in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IbStatement {
    pub id: String,
    pub run_id: String,
    /// The IB it belongs to, whose portal shows it; `None` for a client's statement of
    /// rebates, which is the client's and no IB's (its legs name no IB).
    #[schema(required)]
    pub ib_id: Option<String>,
    pub lines: PeriodStatement,
    /// Legs of deals from closed periods counted here, by leg id and the period they came from.
    pub late_legs: Vec<(String, String)>,
    pub status: StatementStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<String>,
    pub credit_failures: Vec<String>,
    /// The failures of earlier series, before finance had the statement tried again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub earlier_credit_failures: Vec<String>,
    /// After a failed credit: not tried again before then.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub next_attempt_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl IbStatement {
    fn refused(&self, what: &str) -> Error {
        Error::conflict(
            "statement_state",
            format!(
                "statement {} is {} and cannot be {what}",
                self.id,
                self.status.as_str()
            ),
        )
    }

    /// Finance's decision on a held statement.
    pub fn decided(&mut self, approved: bool, now: OffsetDateTime) -> Result<()> {
        if self.status != StatementStatus::AwaitingApproval {
            return Err(self.refused(if approved { "approved" } else { "rejected" }));
        }
        self.status = if approved {
            StatementStatus::Payable
        } else {
            StatementStatus::Rejected
        };
        self.updated_at = now;
        Ok(())
    }

    pub fn credited(&mut self, now: OffsetDateTime) -> Result<()> {
        if self.status != StatementStatus::Payable {
            return Err(self.refused("credited"));
        }
        self.status = StatementStatus::Paid;
        self.updated_at = now;
        Ok(())
    }

    /// Records a failed credit; the last allowed one flags it for finance. Until then the
    /// next attempt waits `backoff`, doubled after each failure, so a ledger that refuses for
    /// a while (an account being opened, a currency being enabled) is not hammered.
    pub fn credit_failed(
        &mut self,
        reason: String,
        now: OffsetDateTime,
        backoff: time::Duration,
    ) -> Result<()> {
        if self.status != StatementStatus::Payable {
            return Err(self.refused("credited"));
        }
        self.credit_failures.push(reason);
        let failures = self.credit_failures.len() as u32;
        if failures >= MAX_CREDIT_ATTEMPTS {
            self.status = StatementStatus::CreditFailed;
            self.next_attempt_at = None;
        } else {
            self.next_attempt_at = Some(now + backoff * 2_i32.pow(failures - 1));
        }
        self.updated_at = now;
        Ok(())
    }

    /// Finance has a flagged statement tried again (once what refused its credit is mended):
    /// payable at once, with a new series of attempts; the failures so far are kept.
    pub fn retry_credit(&mut self, now: OffsetDateTime) -> Result<()> {
        if self.status != StatementStatus::CreditFailed {
            return Err(self.refused("retried"));
        }
        self.earlier_credit_failures
            .append(&mut self.credit_failures);
        self.status = StatementStatus::Payable;
        self.next_attempt_at = None;
        self.updated_at = now;
        Ok(())
    }

    /// Whether a payable statement may be credited at `now`.
    pub fn due_for_credit(&self, now: OffsetDateTime) -> bool {
        self.status == StatementStatus::Payable && self.next_attempt_at.is_none_or(|at| at <= now)
    }
}

/// What a beneficiary carries in one currency from its last statement of a kind of period:
/// the rounding remainder (or a negative total) and each client's gains not yet offset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarriedBalance {
    /// `ib:ib_1:daily:USD`.
    pub id: String,
    pub remainder: Decimal,
    pub revenue_share: BTreeMap<String, Decimal>,
    /// The last period built: statements are built in period order, each once.
    pub last_period: Option<Period>,
}

impl CarriedBalance {
    pub fn id_for(beneficiary: &Beneficiary, kind: PeriodKind, currency: &str) -> String {
        format!(
            "{beneficiary}:{}:{currency}",
            crate::keys::period_kind_name(kind)
        )
    }

    pub fn empty(id: String) -> CarriedBalance {
        CarriedBalance {
            id,
            remainder: Decimal::ZERO,
            revenue_share: BTreeMap::new(),
            last_period: None,
        }
    }

    /// Into the statement model's carry, for `beneficiary` in `currency`.
    pub fn add_to(&self, carry: &mut Carry, beneficiary: &Beneficiary, currency: Currency) {
        if !self.remainder.is_zero() {
            carry
                .remainder
                .insert((beneficiary.clone(), currency), self.remainder);
        }
        for (client, gains) in &self.revenue_share {
            carry
                .revenue_share
                .insert((beneficiary.clone(), currency, client.clone()), *gains);
        }
    }

    /// What `carry` holds after `period` for `beneficiary` in `currency`.
    pub fn after(
        &self,
        carry: &Carry,
        beneficiary: &Beneficiary,
        currency: Currency,
        period: Period,
    ) -> CarriedBalance {
        CarriedBalance {
            id: self.id.clone(),
            remainder: carry
                .remainder
                .get(&(beneficiary.clone(), currency))
                .copied()
                .unwrap_or_default(),
            revenue_share: carry
                .revenue_share
                .iter()
                .filter(|((b, c, _), _)| b == beneficiary && *c == currency)
                .map(|((_, _, client), v)| (client.clone(), *v))
                .collect(),
            last_period: Some(period),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;
    /// 2026-01-05T00:00:00Z.
    const JAN_5: i64 = 1_767_571_200_000;

    fn day(n: i64) -> Period {
        PeriodKind::Daily.period_of(JAN_5 + n * DAY)
    }

    #[test]
    fn periods_close_one_after_another_from_the_first() {
        let mut sequence = PayoutSequence::starting(day(3));
        assert_eq!(sequence.next_due(), day(3));
        let skipped = sequence.close(day(4)).unwrap_err();
        assert_eq!(skipped.code(), "period_out_of_order");
        // Before anything closed, an earlier period may open the sequence.
        sequence.close(day(1)).unwrap();
        assert_eq!(sequence.next_due(), day(2));
        for refused in [day(0), day(1), day(3)] {
            let error = sequence.close(refused).unwrap_err();
            assert_eq!(error.code(), "period_out_of_order", "{}", refused.label());
        }
        sequence.close(day(2)).unwrap();
        assert_eq!(sequence.last_closed, Some(day(2)));
        assert_eq!(sequence.next_due(), day(3));
    }

    #[test]
    fn a_month_follows_a_month_of_any_length() {
        // 2024-02 has 29 days; 2024-03 follows it.
        let february = PeriodKind::Monthly.period_of(1_706_745_600_000 + 3 * DAY);
        let mut sequence = PayoutSequence::starting(february);
        sequence.close(february).unwrap();
        assert_eq!(sequence.next_due().label(), "2024-03");
    }
}
