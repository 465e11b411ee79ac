//! Benchmark (issue 15): a PAMM rollover end to end on the embedded store — SQLite with full
//! durability, as `brokeros serve` runs — through the use cases the workflow's tasks call, for
//! an offer with `investors` investors (10,000 by default).
//!
//! Set-up, untimed: a manager onboarded with an approved offer over their account, whose
//! capital (1,000,000.00 on the simulated platform) the first rollover makes theirs; then the
//! investors, each registered as a portal client with a wallet credited and a request to
//! invest 1000.00 (reserved in the wallet).
//! Timed, step by step: rollover A, where every investor's money comes in (a request each:
//! the settlement of each reservation into the pooled account); then, after a 2 % gain,
//! rollover B, where every investor is charged a performance fee and one in ten withdraws
//! 100.00 (the platform's outflow, each payout to a wallet, the fee transfer to the manager).
//!
//! Usage: `pamm_rollover_e2e [investors]`; `bash bench/pamm-rollover.sh` runs it, numbers in
//! docs/PERFORMANCE.md.

use std::sync::Arc;
use std::time::Instant;

use brokeros_http::client::Call;
use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::workflow_ctx;
use brokeros_pamm::offers::{Governance, NewOffer, govern, propose};
use brokeros_pamm::requests::{NewRequest, submit};
use brokeros_pamm::rollover;
use brokeros_tests::app::{App, token};
use brokeros_tests::people::{Identity, onboarded};
use brokeros_trading::{BalanceOperation, BalanceOperationKind};
use rust_decimal::Decimal;
use serde_json::json;
use time::{Duration, OffsetDateTime};

const OFFER: &str = "bench-fx";
/// Set-up calls in flight at once.
const IN_FLIGHT: usize = 16;

fn client(user: &str) -> Principal {
    Principal {
        sub: user.to_string(),
        roles: [Role::Client].into(),
    }
}

fn next_midnight(now: OffsetDateTime) -> OffsetDateTime {
    OffsetDateTime::new_utc(now.date().next_day().unwrap(), time::Time::MIDNIGHT)
}

/// Runs `work(i)` for `0..count`, `IN_FLIGHT` at a time.
async fn in_flight<F, Fut>(count: usize, work: F)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut running = tokio::task::JoinSet::new();
    for i in 0..count {
        if running.len() >= IN_FLIGHT {
            running.join_next().await.unwrap().unwrap();
        }
        running.spawn(work(i));
    }
    while let Some(done) = running.join_next().await {
        done.unwrap();
    }
}

/// Runs one rollover at `at`, step by step, printing each step's time.
async fn timed_rollover(app: &App, label: &str, at: OffsetDateTime) {
    let s = &app.services.pamm;
    let ctx = workflow_ctx(&app.services.core, &format!("bench-{label}"));
    let started = Instant::now();
    let mut step = Instant::now();
    let mut lap = |name: &str| {
        let took = step.elapsed();
        step = Instant::now();
        format!("{name} {:.2} s", took.as_secs_f64())
    };
    let id = rollover::freeze(s, &ctx, OFFER, at).await.unwrap();
    let freeze = lap("freeze");
    rollover::mark(s, &ctx, &id).await.unwrap();
    let mark = lap("mark");
    let computed = rollover::compute(s, &ctx, &id).await.unwrap();
    let compute = lap("compute+record");
    let mut tasks = 0;
    loop {
        tasks += 1;
        if !rollover::execute_requests(s, &ctx, &id).await.unwrap().more {
            break;
        }
    }
    let execute = lap(&format!("execute ({tasks} tasks)"));
    let record = rollover::settle(s, &ctx, &id).await.unwrap();
    let settle = lap("settle");
    while rollover::notify(s, &ctx, &id).await.unwrap().more {}
    let notify = lap("notify");
    println!(
        "rollover {label}: {} lines, {} requests executed, {} refused, performance fees {}, paid out {}, invested {}",
        computed.lines,
        record.requests_executed,
        record.requests_refused,
        record.fees.performance,
        record.paid_out,
        record.invested
    );
    println!(
        "  {freeze}, {mark}, {compute}, {execute}, {settle}, {notify}; total {:.2} s",
        started.elapsed().as_secs_f64()
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let investors: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("investors: a number"))
        .unwrap_or(10_000);
    let set_up = Instant::now();
    let app = Arc::new(App::clocked(brokeros_tests::fresh_sqlite_store()).await);
    let (manager, login) = onboarded(
        &app,
        &Identity::of(
            "portal-manager",
            "Manager",
            "manager@example.com",
            "C01X00T70",
        ),
    )
    .await;
    let terms = json!({
        "currency": "USD",
        "performance_fee": [{ "from": "0", "percent": "20" }],
        "management_fee": "2", "entry_fee": "0", "min_investment": "500",
        "min_manager_capital": "1000",
        "rollover": { "every": "day", "at": "00:00", "utc_offset": "+00:00" },
        "cutoff_minutes": 60, "lockup_days": 0, "ib_share": [], "notice_days": 14
    });
    let body: NewOffer = serde_json::from_value(
        json!({ "offer_id": OFFER, "name": "Bench FX", "login": login, "terms": terms }),
    )
    .unwrap();
    let s = &app.services.pamm;
    propose(s, &client(&manager.user), body, None, "bench")
        .await
        .unwrap();
    let admin = client("admin-1");
    let admin = Principal {
        roles: [Role::Admin].into(),
        ..admin
    };
    govern(s, &admin, OFFER, Governance::Approve, None, None, "bench")
        .await
        .unwrap();
    app.services
        .ports
        .trading
        .balance_operation(BalanceOperation {
            login,
            operation_id: "bench-capital".into(),
            kind: BalanceOperationKind::Deposit,
            amount: Decimal::from(1_000_000),
            comment: "capital".into(),
        })
        .await
        .unwrap();
    let first = next_midnight(app.services.clock.now());
    app.advance(first - app.services.clock.now() + Duration::minutes(1));
    let ctx = workflow_ctx(&app.services.core, "bench-capital");
    rollover::run(s, &ctx, OFFER, first).await.unwrap();

    let sales = token("sales-1", Role::Sales);
    in_flight(investors, |i| {
        let (app, sales) = (app.clone(), sales.clone());
        async move {
            let user = format!("portal-inv-{i}");
            let body = json!({
                "first_name": "Ivy", "last_name": format!("Investor{i}"),
                "email": format!("inv{i}@example.com"), "country": "DE", "user_id": user,
            });
            let (status, created) = app.send(Call::post("/clients", &body).token(&sales)).await;
            assert_eq!(status, 201, "{created}");
            let client_id = created["id"].as_str().unwrap().to_string();
            app.credit_wallet(&client_id, &format!("bench-dep-{i}"), "2000.00")
                .await;
            let ask: NewRequest = serde_json::from_value(
                json!({ "request_id": format!("inv-{i}-in"), "kind": "invest", "amount": "1000.00" }),
            )
            .unwrap();
            submit(&app.services.pamm, &client(&user), OFFER, ask, None, "bench")
                .await
                .unwrap();
        }
    })
    .await;
    println!(
        "set-up: {investors} investors registered, wallets credited, investments requested in {:.1} s",
        set_up.elapsed().as_secs_f64()
    );

    let a = next_midnight(app.services.clock.now());
    app.advance(a - app.services.clock.now() + Duration::minutes(1));
    timed_rollover(&app, "A (every investor's money in)", a).await;

    // A 2 % gain over the day, and one investor in ten withdraws 100.00.
    let state = app
        .services
        .ports
        .trading
        .account_state(login)
        .await
        .unwrap();
    app.platform
        .set_open_positions(
            login,
            (state.balance * Decimal::new(2, 2)).round_dp(2),
            Decimal::ZERO,
        )
        .await
        .unwrap();
    in_flight(investors / 10, |k| {
        let app = app.clone();
        async move {
            let i = k * 10;
            let ask: NewRequest = serde_json::from_value(
                json!({ "request_id": format!("inv-{i}-out"), "kind": "withdraw", "amount": "100.00" }),
            )
            .unwrap();
            submit(&app.services.pamm, &client(&format!("portal-inv-{i}")), OFFER, ask, None, "bench")
                .await
                .unwrap();
        }
    })
    .await;
    let b = next_midnight(app.services.clock.now());
    app.advance(b - app.services.clock.now() + Duration::minutes(1));
    timed_rollover(&app, "B (fees for every investor, a tenth withdraw)", b).await;
}
