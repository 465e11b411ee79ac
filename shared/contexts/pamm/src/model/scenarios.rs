//! Worked rollovers, each figure computed by hand in the comments.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::fund::{Flow, Fund, Mark, Outcome, Payee, Refusal, Request, Rollover};
use super::terms::Terms;
use super::terms::tests::{d, terms};

pub(crate) const T1: OffsetDateTime = datetime!(2026-12-01 22:00 UTC);

pub(crate) fn deposit(id: &str, investor: &str, amount: &str) -> Request {
    Request {
        id: id.into(),
        investor: investor.into(),
        flow: Flow::Deposit { amount: d(amount) },
        stop_equity: None,
    }
}

pub(crate) fn withdrawal(id: &str, investor: &str, amount: &str) -> Request {
    Request {
        id: id.into(),
        investor: investor.into(),
        flow: Flow::Withdrawal { amount: d(amount) },
        stop_equity: None,
    }
}

fn exit(id: &str, investor: &str) -> Request {
    Request {
        id: id.into(),
        investor: investor.into(),
        flow: Flow::Exit,
        stop_equity: None,
    }
}

fn chains() -> BTreeMap<String, Vec<String>> {
    BTreeMap::from([(
        "alice".to_string(),
        vec!["ib-1".to_string(), "ib-0".to_string()],
    )])
}

pub(crate) fn roll(
    fund: &mut Fund,
    terms: &Terms,
    at: OffsetDateTime,
    equity: &str,
    requests: &[Request],
) -> Rollover {
    fund.roll_over(
        terms,
        &Mark {
            at,
            equity: d(equity),
            requests,
            ib_chains: &chains(),
            fees_payable: true,
        },
    )
    .unwrap()
}

fn equity_of(rollover: &Rollover, holder: &str) -> Decimal {
    rollover
        .statements
        .iter()
        .find(|s| s.holder == holder)
        .map_or(Decimal::ZERO, |s| s.equity)
}

fn refusal(rollover: &Rollover, request: &str) -> Option<Refusal> {
    rollover
        .executions
        .iter()
        .find(|e| e.request == request)
        .and_then(|e| match e.outcome {
            Outcome::Refused { reason } => Some(reason),
            Outcome::Executed { .. } => None,
        })
}

/// The manager's 1000.00 and Alice's 1010.00 (1 % entry fee) at NAV 1.
fn opened(terms: &Terms) -> (Fund, Rollover) {
    let mut fund = Fund::new("manager");
    let first = roll(
        &mut fund,
        terms,
        T1,
        "0",
        &[
            deposit("m1", "manager", "1000.00"),
            deposit("a1", "alice", "1010.00"),
        ],
    );
    (fund, first)
}

#[test]
fn deposits_buy_units_at_the_nav_and_fees_follow_the_high_water_mark() {
    let terms = terms();
    let (mut fund, first) = opened(&terms);
    // Entry fee 10.10; 999.90 invested buys 999.9 units at NAV 1.
    assert_eq!(fund.holdings["alice"].units, d("999.9"));
    assert_eq!(fund.holdings["alice"].hwm, d("999.90"));
    assert_eq!(first.equity_after, d("1999.90"));
    // Her IB (level 1, 10 %) gets 1.01 of the entry fee, level 2 (5 %) 0.50, the manager the rest.
    let paid = |payee: Payee| {
        first
            .payouts
            .iter()
            .find(|p| p.payee == payee)
            .map(|p| p.amount)
    };
    assert_eq!(paid(Payee::Ib("ib-1".into())), Some(d("1.01")));
    assert_eq!(paid(Payee::Ib("ib-0".into())), Some(d("0.50")));
    assert_eq!(paid(Payee::Manager), Some(d("8.59")));

    // A day later the account is up 10 %: NAV 1.1.
    let second = roll(&mut fund, &terms, T1 + Duration::days(1), "2199.89", &[]);
    assert_eq!(second.gross_nav, d("1.1"));
    let fees = &second.fees[0];
    // 999.9 units × 1.1 = 1099.89; a day of 2 % a year: 0.0602… → 0.06; net 1099.83,
    // 99.93 above her mark; 30 % of it: 29.979 → 29.97.
    assert_eq!(
        (fees.equity, fees.management, fees.profit, fees.performance),
        (d("1099.89"), d("0.06"), d("99.93"), d("29.97"))
    );
    // 30.03 taken as 27.3 units at NAV 1.1; the NAV stays 1.1; the mark is her net equity.
    assert_eq!(fees.units_cancelled, d("27.3"));
    assert_eq!(fund.holdings["alice"].units, d("972.6"));
    assert_eq!(second.nav, d("1.1"));
    assert_eq!(fees.hwm_after, d("1069.86"));
    assert_eq!(equity_of(&second, "alice"), d("1069.86"));
    assert_eq!(equity_of(&second, "manager"), d("1100.00"));
    assert_eq!(second.equity_after, d("2169.86"));
    assert_eq!(second.remainder, Decimal::ZERO);

    // Flat the next day: a day's management fee, and no performance fee on the same gain.
    let third = roll(&mut fund, &terms, T1 + Duration::days(2), "2169.86", &[]);
    assert_eq!(third.fees[0].management, d("0.05"));
    assert_eq!(third.fees[0].performance, Decimal::ZERO);
    assert_eq!(third.fees[0].hwm_after, d("1069.86"));
}

#[test]
fn a_withdrawal_sells_units_and_lowers_the_mark_in_proportion() {
    let mut terms = terms();
    terms.lockup_days = 0;
    terms.management_fee = Decimal::ZERO;
    let (mut fund, _) = opened(&terms);
    // Flat: 999.90 of equity; half of it withdrawn at NAV 1.
    let rollover = roll(
        &mut fund,
        &terms,
        T1 + Duration::days(1),
        "1999.90",
        &[withdrawal("a2", "alice", "499.95")],
    );
    assert_eq!(refusal(&rollover, "a2"), None);
    let alice = &fund.holdings["alice"];
    assert_eq!(
        (alice.units, alice.hwm, alice.net_invested),
        (d("499.95"), d("499.95"), d("499.95"))
    );
    assert_eq!(rollover.paid_out, d("499.95"));
    assert_eq!(rollover.equity_after, d("1499.95"));
    // More than she holds is refused; an exit pays everything and forgets her mark.
    let later = roll(
        &mut fund,
        &terms,
        T1 + Duration::days(2),
        "1499.95",
        &[withdrawal("a3", "alice", "499.96"), exit("a4", "alice")],
    );
    assert_eq!(refusal(&later, "a3"), Some(Refusal::ExceedsHolding));
    assert_eq!(refusal(&later, "a4"), None);
    assert!(!fund.holdings.contains_key("alice"));
    assert_eq!(later.equity_after, d("1000.00"));
}

#[test]
fn requests_the_terms_refuse_change_nothing() {
    let terms = terms();
    let (mut fund, _) = opened(&terms);
    let before = fund.holdings.clone();
    let rollover = roll(
        &mut fund,
        &terms,
        T1 + Duration::days(1),
        "1999.90",
        &[
            deposit("b1", "bob", "99.99"),
            withdrawal("a2", "alice", "10.00"),
            withdrawal("m2", "manager", "500.00"),
            exit("m3", "manager"),
            withdrawal("c1", "carol", "1.00"),
        ],
    );
    assert_eq!(
        refusal(&rollover, "b1"),
        Some(Refusal::BelowMinimumInvestment)
    );
    assert_eq!(refusal(&rollover, "a2"), Some(Refusal::LockedUp));
    assert_eq!(
        refusal(&rollover, "m2"),
        Some(Refusal::ManagerCapitalRequired)
    );
    assert_eq!(
        refusal(&rollover, "m3"),
        Some(Refusal::ManagerCapitalRequired)
    );
    assert_eq!(refusal(&rollover, "c1"), Some(Refusal::NoHolding));
    // Only the day's management fee moved Alice's units.
    assert_eq!(fund.holdings["manager"].units, before["manager"].units);
    assert_eq!(rollover.invested, Decimal::ZERO);
}

#[test]
fn a_manager_below_the_minimum_capital_takes_no_new_investment() {
    let terms = terms();
    let mut fund = Fund::new("manager");
    let rollover = roll(
        &mut fund,
        &terms,
        T1,
        "0",
        &[
            deposit("m1", "manager", "999.99"),
            deposit("a1", "alice", "500.00"),
        ],
    );
    assert_eq!(
        refusal(&rollover, "a1"),
        Some(Refusal::ManagerBelowMinimumCapital)
    );
    assert!(!fund.holdings.contains_key("alice"));
}

#[test]
fn fees_the_platform_will_not_release_are_debt_taken_from_the_next_profit_or_deposit() {
    let mut terms = terms();
    terms.management_fee = Decimal::ZERO;
    let (mut fund, _) = opened(&terms);
    // Up 10 %, but the account's margin keeps the fees in: 29.99 of performance fee owed.
    let owed = fund
        .roll_over(
            &terms,
            &Mark {
                at: T1 + Duration::days(1),
                equity: d("2199.89"),
                requests: &[],
                ib_chains: &chains(),
                fees_payable: false,
            },
        )
        .unwrap();
    // 999.9 × 1.1 = 1099.89: 99.99 above 999.90; 30 %: 29.997 → 29.99.
    assert_eq!(owed.fees[0].debt_added, d("29.99"));
    assert_eq!(owed.paid_out, Decimal::ZERO);
    assert_eq!(fund.holdings["alice"].units, d("999.9"));
    assert_eq!(fund.holdings["alice"].fee_debt, d("29.99"));
    // The mark moved: the same gain is not charged again.
    assert_eq!(fund.holdings["alice"].hwm, d("1069.90"));

    // Back to NAV 1 the next day: no gain to take the debt from. Her deposit of 100.00 pays
    // 1.00 entry fee and the debt first; 69.01 buys units.
    let next = roll(
        &mut fund,
        &terms,
        T1 + Duration::days(2),
        "1999.90",
        &[deposit("a2", "alice", "100.00")],
    );
    assert_eq!(next.fees[0].performance, Decimal::ZERO);
    assert_eq!(next.fees[0].debt_taken, Decimal::ZERO);
    match &next.executions[0].outcome {
        Outcome::Executed {
            amount,
            debt_taken,
            entry_fee,
            ..
        } => assert_eq!(
            (*entry_fee, *debt_taken, *amount),
            (d("1.00"), d("29.99"), d("69.01"))
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(fund.holdings["alice"].fee_debt, Decimal::ZERO);
    assert_eq!(fund.holdings["alice"].hwm, d("1138.91"));
}

#[test]
fn owed_fees_are_taken_from_the_gain_still_there_and_never_charged_again() {
    let mut terms = terms();
    terms.management_fee = Decimal::ZERO;
    let (mut fund, _) = opened(&terms);
    let day = |n: i64| T1 + Duration::days(n);
    fund.roll_over(
        &terms,
        &Mark {
            at: day(1),
            equity: d("2199.89"),
            requests: &[],
            ib_chains: &chains(),
            fees_payable: false,
        },
    )
    .unwrap();
    // Flat, fees payable again: the 29.99 owed is taken from the gain it was charged on, and
    // no new performance fee is due on it.
    let flat = roll(&mut fund, &terms, day(2), "2199.89", &[]);
    let fees = &flat.fees[0];
    assert_eq!(
        (fees.performance, fees.debt_taken),
        (Decimal::ZERO, d("29.99"))
    );
    assert_eq!(fund.holdings["alice"].fee_debt, Decimal::ZERO);
    assert_eq!(flat.paid_out, d("29.99"));
    assert_eq!(equity_of(&flat, "alice"), d("1069.90"));
    assert_eq!(fund.holdings["alice"].hwm, d("1069.90"));
}

#[test]
fn an_investor_at_the_stop_level_leaves_at_the_rollover() {
    let mut terms = terms();
    terms.management_fee = Decimal::ZERO;
    let mut fund = Fund::new("manager");
    let mut with_stop = deposit("a1", "alice", "1010.00");
    with_stop.stop_equity = Some(d("800.00"));
    roll(
        &mut fund,
        &terms,
        T1,
        "0",
        &[deposit("m1", "manager", "1000.00"), with_stop],
    );
    // Down 20 %: her 999.9 units are worth 799.92, under her stop; she leaves (lock-up or
    // not), and her other request of the day is refused.
    let rollover = roll(
        &mut fund,
        &terms,
        T1 + Duration::days(1),
        "1599.92",
        &[deposit("a2", "alice", "50.00")],
    );
    assert_eq!(rollover.executions[0].request, "stop:alice");
    assert!(matches!(
        rollover.executions[0].outcome,
        Outcome::Executed { amount, .. } if amount == d("799.92")
    ));
    assert_eq!(refusal(&rollover, "a2"), Some(Refusal::Exited));
    assert!(!fund.holdings.contains_key("alice"));
    assert_eq!(rollover.equity_after, d("800.00"));
}

#[test]
fn a_rollover_runs_once_and_in_order() {
    let terms = terms();
    let (mut fund, _) = opened(&terms);
    let again = fund.roll_over(
        &terms,
        &Mark {
            at: T1,
            equity: d("1999.90"),
            requests: &[],
            ib_chains: &chains(),
            fees_payable: true,
        },
    );
    assert!(matches!(
        again,
        Err(brokeros_kernel::Error::Conflict {
            code: "rollover_out_of_order",
            ..
        })
    ));
}
