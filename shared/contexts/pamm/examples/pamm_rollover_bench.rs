//! The PAMM rollover benchmark (issue 15): the rollover engine (`Fund::roll_over`) on an offer
//! with 10,000 investors, in memory: every holder's fees against their own high-water mark
//! (half of them in profit, some with fee debt, a two-level IB chain for a third), stop levels,
//! and 1,000 deposits, 1,000 withdrawals and 100 exits executed at the NAV after fees. Each
//! run starts from the same fund (cloned outside the timing); the median and the slowest of
//! `RUNS` are printed. Run on one core (see `bench/pamm-rollover.sh`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use brokeros_pamm::model::Terms;
use brokeros_pamm::model::fund::{Flow, Fund, Holding, Mark, Request};
use rust_decimal::Decimal;
use time::macros::datetime;

const INVESTORS: usize = 10_000;
const RUNS: usize = 30;

fn terms() -> Terms {
    serde_json::from_value(serde_json::json!({
        "currency": "USD",
        "performance_fee": [{ "from": "0", "percent": "25" }, { "from": "50000", "percent": "20" }],
        "management_fee": "2", "entry_fee": "0.5", "min_investment": "500",
        "min_manager_capital": "5000",
        "rollover": { "every": "day", "at": "00:00", "utc_offset": "+02:00" },
        "cutoff_minutes": 60, "lockup_days": 0, "ib_share": ["10", "5"], "notice_days": 14
    }))
    .expect("the benchmark's terms")
}

fn main() {
    let terms = terms();
    let last = datetime!(2026-06-15 22:00 UTC);
    let at = datetime!(2026-06-16 22:00 UTC);
    let mut holdings = BTreeMap::new();
    let mut chains = BTreeMap::new();
    let mut units_total = Decimal::ZERO;
    holdings.insert(
        "manager".to_string(),
        Holding {
            units: Decimal::from(100_000),
            hwm: Decimal::from(100_000),
            fee_debt: Decimal::ZERO,
            net_invested: Decimal::from(100_000),
            first_invested_at: last,
            fees_through: last,
            stop_equity: None,
        },
    );
    units_total += Decimal::from(100_000);
    for i in 0..INVESTORS {
        let id = format!("inv-{i:05}");
        let units = Decimal::new(1_000_000 + (i as i64 * 7_919) % 9_000_000, 2);
        // Half bought above today's NAV (no new profit), half below it.
        let hwm = if i % 2 == 0 {
            (units * Decimal::new(105, 2)).round_dp(2)
        } else {
            (units * Decimal::new(95, 2)).round_dp(2)
        };
        holdings.insert(
            id.clone(),
            Holding {
                units,
                hwm,
                fee_debt: if i % 17 == 0 {
                    Decimal::new(1_250, 2)
                } else {
                    Decimal::ZERO
                },
                net_invested: hwm,
                first_invested_at: last,
                fees_through: last,
                stop_equity: (i % 50 == 0).then(|| (units * Decimal::new(99, 2)).round_dp(2)),
            },
        );
        units_total += units;
        if i % 3 == 0 {
            chains.insert(
                id,
                vec![format!("ib-{}", i % 40), format!("ib-master-{}", i % 4)],
            );
        }
    }
    let fund = Fund {
        manager: "manager".into(),
        holdings,
        last_rollover_at: Some(last),
        nav: Decimal::ONE,
    };
    let mut requests = Vec::new();
    for i in 0..1_000 {
        requests.push(Request {
            id: format!("dep-{i}"),
            investor: format!("inv-{:05}", (i * 7) % INVESTORS),
            flow: Flow::Deposit {
                amount: Decimal::new(100_000 + i as i64, 2),
            },
            stop_equity: None,
        });
        requests.push(Request {
            id: format!("wd-{i}"),
            investor: format!("inv-{:05}", (i * 11 + 3) % INVESTORS),
            flow: Flow::Withdrawal {
                amount: Decimal::new(5_000, 2),
            },
            stop_equity: None,
        });
    }
    for i in 0..100 {
        requests.push(Request {
            id: format!("exit-{i}"),
            investor: format!("inv-{:05}", (i * 97 + 5) % INVESTORS),
            flow: Flow::Exit,
            stop_equity: None,
        });
    }
    requests.push(Request {
        id: "newcomer".into(),
        investor: "inv-new".into(),
        flow: Flow::Deposit {
            amount: Decimal::from(2_000),
        },
        stop_equity: None,
    });
    // A 1 % gain over the day.
    let equity = (units_total * Decimal::new(101, 2)).round_dp(2);
    let mark = Mark {
        at,
        equity,
        requests: &requests,
        ib_chains: &chains,
        fees_payable: true,
    };
    let mut times: Vec<Duration> = Vec::with_capacity(RUNS);
    let mut summary = None;
    for _ in 0..RUNS {
        let mut run = fund.clone();
        let started = Instant::now();
        let rollover = run.roll_over(&terms, &mark).expect("the rollover runs");
        times.push(started.elapsed());
        summary = Some(rollover);
    }
    times.sort();
    let rollover = summary.expect("at least one run");
    let executed = rollover
        .executions
        .iter()
        .filter(|e| {
            matches!(
                e.outcome,
                brokeros_pamm::model::fund::Outcome::Executed { .. }
            )
        })
        .count();
    println!(
        "investors {INVESTORS}, requests {} ({executed} executed, stop exits included), holders after {}, fees charged to {} holders, payees {}",
        requests.len(),
        rollover.statements.len(),
        rollover
            .fees
            .iter()
            .filter(|f| !f.taken().is_zero())
            .count(),
        rollover.payouts.len()
    );
    println!(
        "gross NAV {}, NAV {}, NAV after {}, remainder {}",
        rollover.gross_nav.round_dp(8),
        rollover.nav.round_dp(8),
        rollover.nav_after.round_dp(8),
        rollover.remainder
    );
    println!(
        "roll_over over {RUNS} runs: median {:.2} ms, fastest {:.2} ms, slowest {:.2} ms",
        ms(times[RUNS / 2]),
        ms(times[0]),
        ms(times[RUNS - 1])
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
