//! Properties of the rollover engine over random histories: the holders' equities and the
//! remainder add up to the account's equity, cash in and out balances, nobody's units move
//! through another's cash flow, and a gain is charged a performance fee once.

use std::collections::BTreeMap;

use proptest::prelude::*;
use rust_decimal::Decimal;
use time::Duration;

use super::fund::{Flow, Fund, Mark, Outcome, Request, worth};
use super::scenarios::{T1, deposit, withdrawal};
use super::terms::Terms;
use super::terms::tests::{d, terms};

const HOLDERS: [&str; 4] = ["manager", "alice", "bob", "carol"];

fn cents(value: i64) -> Decimal {
    Decimal::new(value, 2)
}

fn request_strategy() -> impl Strategy<Value = (usize, u8, i64)> {
    (0..HOLDERS.len(), 0u8..3, 1i64..500_000)
}

fn to_request(n: usize, (who, kind, amount): (usize, u8, i64)) -> Request {
    let investor = HOLDERS[who];
    let id = format!("r{n}");
    match kind {
        0 => deposit(&id, investor, &cents(amount.max(10_000)).to_string()),
        1 => withdrawal(&id, investor, &cents(amount / 4).to_string()),
        _ => Request {
            id,
            investor: investor.into(),
            flow: Flow::Exit,
            stop_equity: None,
        },
    }
}

/// The requests of step `i` of a history: the manager's capital first, then the random ones
/// (numbered on from `n`).
fn step_requests(i: usize, raw: Vec<(usize, u8, i64)>, n: &mut usize) -> Vec<Request> {
    let mut requests = vec![deposit("seed", "manager", "1000.00")];
    requests.truncate(usize::from(i == 0));
    for r in raw {
        *n += 1;
        requests.push(to_request(*n, r));
    }
    requests
}

fn terms_strategy() -> impl Strategy<Value = Terms> {
    (0i64..=50, 0i64..=500, 0i64..=300, 0u32..=2, prop::bool::ANY).prop_map(
        |(performance, management, entry, lockup, tiered)| {
            let mut t = terms();
            t.performance_fee[0].percent = Decimal::from(performance);
            if !tiered {
                t.performance_fee.truncate(1);
            }
            t.management_fee = Decimal::new(management, 2);
            t.entry_fee = Decimal::new(entry, 2);
            t.lockup_days = lockup;
            t.min_manager_capital = d("500");
            t
        },
    )
}

/// One rollover of a history: the account's return since the last (basis points), the
/// requests due, and whether fees may leave the account.
type Step = (i64, Vec<(usize, u8, i64)>, bool);

fn history() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        (
            -3_000i64..4_000,
            prop::collection::vec(request_strategy(), 0..5),
            prop::bool::weighted(0.85),
        ),
        1..8,
    )
}

fn no_chains() -> BTreeMap<String, Vec<String>> {
    BTreeMap::from([("bob".to_string(), vec!["ib-1".to_string()])])
}

/// The account's equity after a return of `bps` on `equity`, as the platform reports it.
fn marked(equity: Decimal, bps: i64) -> Decimal {
    (equity * (Decimal::ONE + Decimal::new(bps, 4))).round_dp(2)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn equity_units_and_cash_add_up_at_every_rollover(terms in terms_strategy(), steps in history()) {
        let mut fund = Fund::new("manager");
        let mut equity = Decimal::ZERO;
        let mut n = 0;
        let chains = no_chains();
        for (i, (bps, raw, payable)) in steps.into_iter().enumerate() {
            let requests = step_requests(i, raw, &mut n);
            let mark = Mark {
                at: T1 + Duration::days(i as i64 * 3),
                equity: marked(equity, bps),
                requests: &requests,
                ib_chains: &chains,
                fees_payable: payable,
            };
            let rollover = fund.roll_over(&terms, &mark).unwrap();
            // Cash: what the account held, less what left, plus what came in.
            prop_assert_eq!(
                rollover.equity_after,
                mark.equity - rollover.paid_out + rollover.invested
            );
            // Units: the statements' and the fund's.
            let units: Decimal = rollover.statements.iter().map(|s| s.units).sum();
            prop_assert_eq!(units, rollover.units_after);
            prop_assert_eq!(units, fund.units());
            // Equity: the holders' to the nearest cent each, the remainder within half a cent
            // per holder; with nobody left, the cents the leavers' rounding left (never a
            // negative account: no payout exceeds what it holds).
            let shown: Decimal = rollover.statements.iter().map(|s| s.equity).sum();
            prop_assert_eq!(shown + rollover.remainder, rollover.equity_after);
            prop_assert!(rollover.equity_after >= Decimal::ZERO);
            let bound = if rollover.statements.is_empty() {
                Decimal::new(5, 2)
            } else {
                Decimal::new(5, 3) * Decimal::from(rollover.statements.len())
            };
            prop_assert!(rollover.remainder.abs() <= bound, "remainder {} over {}", rollover.remainder, bound);
            // Fees: every fee taken or entry fee or debt taken is paid to someone, once.
            let fees: Decimal = rollover.fees.iter().map(|f| f.taken()).sum::<Decimal>()
                + rollover.executions.iter().map(|e| match e.outcome {
                    Outcome::Executed { entry_fee, debt_taken, .. } => entry_fee + debt_taken,
                    Outcome::Refused { .. } => Decimal::ZERO,
                }).sum::<Decimal>();
            prop_assert_eq!(rollover.payouts.iter().map(|p| p.amount).sum::<Decimal>(), fees);
            for holding in fund.holdings.values() {
                prop_assert!(holding.units > Decimal::ZERO);
                prop_assert!(holding.fee_debt >= Decimal::ZERO);
            }
            equity = rollover.equity_after;
        }
    }

    #[test]
    fn nobody_s_units_move_through_another_s_cash_flow(
        terms in terms_strategy(),
        steps in history(),
        extra in request_strategy(),
        bps in -3_000i64..4_000,
    ) {
        let mut fund = Fund::new("manager");
        let mut equity = Decimal::ZERO;
        let chains = no_chains();
        let mut n = 0;
        let mut at = T1;
        for (i, (bps, raw, payable)) in steps.into_iter().enumerate() {
            let requests = step_requests(i, raw, &mut n);
            at = T1 + Duration::days(i as i64 * 3);
            let mark = Mark { at, equity: marked(equity, bps), requests: &requests, ib_chains: &chains, fees_payable: payable };
            equity = fund.roll_over(&terms, &mark).unwrap().equity_after;
        }
        // The next rollover with and without one more request of `mover`.
        let extra = to_request(1_000_000, extra);
        let mover = extra.investor.clone();
        let own = vec![deposit("own", "carol", "300.00")];
        let own = if mover == "carol" { vec![] } else { own };
        let with: Vec<Request> = own.iter().cloned().chain([extra]).collect();
        let mark = |requests| Mark {
            at: at + Duration::days(3),
            equity: marked(equity, bps),
            requests,
            ib_chains: &chains,
            fees_payable: true,
        };
        let (mut without_fund, mut with_fund) = (fund.clone(), fund);
        let without_it = without_fund.roll_over(&terms, &mark(&own)).unwrap();
        let with_it = with_fund.roll_over(&terms, &mark(&with)).unwrap();
        for holder in HOLDERS.iter().filter(|h| **h != mover) {
            prop_assert_eq!(
                without_fund.holdings.get(*holder).map(|h| h.units),
                with_fund.holdings.get(*holder).map(|h| h.units),
                "{}'s units", holder
            );
            let fees = |r: &super::fund::Rollover| r.fees.iter().find(|f| f.investor == *holder).cloned();
            prop_assert_eq!(fees(&without_it), fees(&with_it));
        }
    }

    #[test]
    fn a_gain_is_charged_a_performance_fee_once(
        navs in prop::collection::vec(5_000i64..20_000, 1..12),
        percent in 1i64..=50,
    ) {
        let mut t = terms();
        t.performance_fee.truncate(1);
        t.performance_fee[0].percent = Decimal::from(percent);
        t.management_fee = Decimal::ZERO;
        t.entry_fee = Decimal::ZERO;
        let mut fund = Fund::new("manager");
        let chains = BTreeMap::new();
        let opening = [deposit("m", "manager", "1000.00"), deposit("a", "alice", "1000.00")];
        fund.roll_over(&t, &Mark { at: T1, equity: Decimal::ZERO, requests: &opening, ib_chains: &chains, fees_payable: true }).unwrap();
        let mut charged = Decimal::ZERO;
        let mut peak = Decimal::ONE;
        for (i, nav) in navs.iter().enumerate() {
            // The account at this NAV (units at NAV 1 at the start); then the same NAV again.
            let nav = Decimal::new(*nav, 4);
            peak = peak.max(nav);
            for again in 0..2 {
                let equity = worth(fund.units(), nav, 2);
                let at = T1 + Duration::days(2 * i as i64 + again + 1);
                let rollover = fund.roll_over(&t, &Mark { at, equity, requests: &[], ib_chains: &chains, fees_payable: true }).unwrap();
                let fee = rollover.fees.first().map_or(Decimal::ZERO, |f| f.performance);
                if again == 1 {
                    prop_assert!(fee <= d("0.01"), "charged {} again at the same NAV", fee);
                }
                charged += fee;
            }
        }
        // Never more than the rate on the best gain her opening units saw (cents of rounding
        // per rollover aside).
        let bound = Decimal::from(percent) / Decimal::ONE_HUNDRED * d("1000") * (peak - Decimal::ONE).max(Decimal::ZERO)
            + d("0.02") * Decimal::from(navs.len());
        prop_assert!(charged <= bound, "charged {} over {}", charged, bound);
    }
}
