//! The commission payout on a store (no HTTP): periods closed, statements built from legs the
//! real engine computed, remainders carried exactly, statements over the threshold held for
//! finance's maker-checker approval, ledger credits that never pay twice, a credit that keeps
//! failing flagged, and bad input that writes nothing.

use std::collections::BTreeMap;
use std::sync::Arc;

use brokeros_app::config::BrokerConfig;
use brokeros_ib::accruals::{StoredLeg, repo::store_legs};
use brokeros_ib::model::payout::{IbStatement, PayoutRun, StatementStatus, run_id, statement_id};
use brokeros_ib::model::{
    Accrual, Beneficiary, ClientNode, CommissionPlan, Engine, EngineState, FixedRates, Hierarchy,
    IbNode, Period, PeriodKind, PlanBook, Standing, SymbolGroups, Timeline,
};
use brokeros_ib::payout;
use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::{Error, OpContext};
use brokeros_ledger::model::AccountId;
use brokeros_store::{Store, Table};
use brokeros_tests::app::{App, Build};
use brokeros_trading::{DealAction, DealEntry, Decimal, PlatformDeal};

const DAY: i64 = 86_400_000;
/// 2026-01-05T00:00:00Z, a Monday.
const JAN_5: i64 = 1_767_571_200_000;

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn ib_node(id: &str, parent: Option<&str>) -> IbNode {
    IbNode {
        id: id.into(),
        currency: "USD".into(),
        parent: Timeline::starting(0, parent.map(String::from)),
        standing: Timeline::starting(0, Standing::Active),
        plans: Timeline::starting(0, vec!["p".into()]),
    }
}

/// `master` over `sub`, each IB's client trading on its own login (1, 2, ...).
fn tree(ibs: &[(&str, Option<&str>)]) -> Hierarchy {
    let mut tree = Hierarchy::default();
    for (n, (id, parent)) in ibs.iter().enumerate() {
        tree.insert_ib(ib_node(id, *parent)).unwrap();
        tree.insert_client(ClientNode {
            id: format!("client_{n}"),
            ib: Timeline::starting(0, Some(id.to_string())),
            logins: vec![n as u64 + 1],
        })
        .unwrap();
    }
    tree
}

fn plan(rate: &str) -> CommissionPlan {
    CommissionPlan::from_json(
        &format!(
            r#"{{"id":"p","version":1,"effective_from":0,"currency":"USD","period":"daily","rules":[{{"id":"all","match":{{}},"earns":{{"per_lot":"{rate}"}}}}]}}"#
        ),
        &SymbolGroups::new(),
    )
    .unwrap()
}

fn trade(deal: u64, login: u64, entry: DealEntry, lots: &str, time_msc: i64) -> PlatformDeal {
    let action = match entry {
        DealEntry::In => DealAction::Buy,
        _ => DealAction::Sell,
    };
    PlatformDeal {
        deal,
        login,
        order: deal,
        position_id: deal - deal % 2,
        symbol: "EURUSD".into(),
        action,
        entry,
        volume: dec(lots),
        price: dec("1.1000"),
        profit: Decimal::ZERO,
        commission: -dec(lots) * dec("3.5"),
        swap: Decimal::ZERO,
        currency: "USD".into(),
        group: "real\\std".into(),
        contract_size: dec("100000"),
        digits: 5,
        market_bid: dec("1.10000"),
        market_ask: dec("1.10012"),
        rate_profit: Decimal::ONE,
        time_msc,
    }
}

/// The legs of round trips of `lots` on `login`, one per day from `first_day`, by the engine.
fn legs(tree: &Hierarchy, rate: &str, trips: &[(u64, &str, i64)]) -> Vec<Accrual> {
    let book = PlanBook::new([plan(rate)]).unwrap();
    let rates = FixedRates::default();
    let engine = Engine {
        plans: &book,
        tree,
        rates: &rates,
        server: Arc::from("mt5-1"),
    };
    let mut state = EngineState::live();
    let mut out = Vec::new();
    for (n, (login, lots, at)) in trips.iter().enumerate() {
        let first = 2 * n as u64 + 10;
        for deal in [
            trade(first, *login, DealEntry::In, lots, *at),
            trade(first + 1, *login, DealEntry::Out, lots, at + 60_000),
        ] {
            state.apply_deal(&engine, &deal, &mut out).unwrap();
        }
    }
    assert!(!out.is_empty(), "the plan earns on the trips");
    out
}

fn stored(legs: &[Accrual]) -> Vec<StoredLeg> {
    legs.iter()
        .map(|leg| StoredLeg {
            leg: leg.clone(),
            period: leg.period(),
            late_from: None,
        })
        .collect()
}

fn person(sub: &str, role: Role) -> Principal {
    Principal {
        sub: sub.into(),
        roles: [role].into(),
    }
}

async fn app(store: Arc<dyn Store>, threshold: Option<&str>) -> App {
    let mut config = BrokerConfig::embedded_default();
    config.ib.payout.approval_threshold = threshold
        .map(|t| BTreeMap::from([("USD".to_string(), dec(t))]))
        .unwrap_or_default();
    // Failed credits are tried again after a second (then two), so workflows end quickly.
    config.ib.payout.credit_retry_seconds = 1;
    App::configured(store, config, Build::default()).await
}

fn ctx(app: &App) -> OpContext {
    brokeros_kernel::workflow_ctx(&app.services.core, "payout-test")
}

fn day(n: i64) -> Period {
    PeriodKind::Daily.period_of(JAN_5 + n * DAY)
}

/// Closes, builds and pays `period` as the workflow does, started by `requested_by`.
pub(crate) async fn run_period(app: &App, period: Period, requested_by: &str) -> PayoutRun {
    let services = &app.services.ib;
    let ctx = ctx(app);
    let run = payout::start_run(services, &ctx, period, requested_by)
        .await
        .unwrap();
    loop {
        let report = payout::build_statements(services, &ctx, &run.id, 2)
            .await
            .unwrap();
        if !report.more {
            break;
        }
    }
    payout::pay_statements(services, &ctx, &run.id, 100)
        .await
        .unwrap();
    services.get::<PayoutRun>(&run.id).await.unwrap().entity
}

/// Runs every period of `last`'s kind due up to `last`, in order (periods close one after
/// another, from the first plan's).
pub(crate) async fn run_periods_through(app: &App, last: Period) {
    loop {
        let now = brokeros_ib::millis(ctx(app).now);
        let due = payout::next_due(&app.services.ib, last.kind, now)
            .await
            .unwrap();
        assert!(due.start_msc <= last.start_msc, "{} is past", last.label());
        run_period(app, due, "schedule").await;
        if due == last {
            return;
        }
    }
}

async fn find_statement(app: &App, ib: &str, period: Period) -> Option<IbStatement> {
    let id = statement_id(&Beneficiary::Ib(ib.into()), period, "USD");
    let found = app.services.ib.find::<IbStatement>(&id).await.unwrap();
    found.map(|s| s.entity)
}

async fn statement(app: &App, ib: &str, period: Period) -> IbStatement {
    find_statement(app, ib, period)
        .await
        .unwrap_or_else(|| panic!("{ib} has a statement of {}", period.label()))
}

async fn payable_balance(app: &App, ib: &str) -> Decimal {
    let account = AccountId::ib_payable(
        ib,
        brokeros_kernel::money::Currency::parse("c", "USD").unwrap(),
    )
    .unwrap();
    brokeros_ledger::balance(&app.services.core, &account)
        .await
        .unwrap()
        .available
}

async fn counts(store: &dyn Store) -> (u64, u64) {
    (
        store.count_items(Table::Main).await.unwrap(),
        store.count_items(Table::Audit).await.unwrap(),
    )
}

/// Sum of the legs accrued to each IB.
fn accrued_per_ib(legs: &[Accrual]) -> BTreeMap<String, Decimal> {
    let mut sums = BTreeMap::new();
    for leg in legs {
        *sums.entry(leg.beneficiary.to_string()).or_default() += leg.amount;
    }
    sums
}

/// Runs days `0..days` for `ibs` over `legs` and checks each IB's statements: each carries in
/// what the one before carried out, pays at the currency's scale, and Σ paid + the last carry
/// = Σ accrued exactly, which the ledger holds; then reruns every day and checks that nothing
/// was written and no balance moved. Answers how many statements were built.
async fn pay_and_rerun(app: &App, legs: &[Accrual], ibs: &[&str], days: i64) -> u32 {
    for n in 0..days {
        run_period(app, day(n), "schedule").await;
    }
    let accrued = accrued_per_ib(legs);
    let mut built = 0;
    for ib in ibs {
        let mut paid = Decimal::ZERO;
        let mut carried = Decimal::ZERO;
        for n in 0..days {
            // A day without legs has no statement; the carry waits for the next one.
            let Some(s) = find_statement(app, ib, day(n)).await else {
                continue;
            };
            built += 1;
            assert_eq!(s.lines.carried_in, carried, "{ib} day {n} carries in");
            assert_eq!(s.lines.paid.scale(), 2);
            assert!(matches!(
                s.status,
                StatementStatus::Paid | StatementStatus::Closed
            ));
            paid += s.lines.paid;
            carried = s.lines.carried_out;
        }
        let total = accrued
            .get(&format!("ib:{ib}"))
            .copied()
            .unwrap_or_default();
        assert_eq!(paid + carried, total, "{ib}: paid + carried = accrued");
        assert_eq!(
            payable_balance(app, ib).await,
            paid,
            "{ib}: the ledger holds what was paid"
        );
    }
    let before = counts(app.store.as_ref()).await;
    let mut balances = Vec::new();
    for ib in ibs {
        balances.push(payable_balance(app, ib).await);
    }
    for n in 0..days {
        let first = app
            .services
            .ib
            .find::<PayoutRun>(&run_id(day(n)))
            .await
            .unwrap();
        let run = run_period(app, day(n), "schedule").await;
        assert_eq!(
            Some(run.clone()),
            first.map(|r| r.entity),
            "a rerun changes no run"
        );
        assert_eq!(run.paid, run.statements - closed(app, &run).await);
    }
    assert_eq!(
        counts(app.store.as_ref()).await,
        before,
        "a rerun writes nothing"
    );
    for (ib, balance) in ibs.iter().zip(balances) {
        assert_eq!(
            payable_balance(app, ib).await,
            balance,
            "{ib}: a rerun pays nothing"
        );
    }
    built
}

/// How many of the run's statements had nothing to pay.
async fn closed(app: &App, run: &PayoutRun) -> u32 {
    let page = payout::statements_of_run(&app.services.ib, &run.id, Default::default())
        .await
        .unwrap();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "closed")
        .count() as u32
}

/// Three days of fractional legs for a master and a sub-IB: each day's statement pays the
/// rounded total with the remainder carried in, so over the days Σ paid + the last carry =
/// Σ accrued exactly, and the ledger holds Σ paid; a rerun of every day changes nothing.
pub async fn remainders_carry_exactly_and_a_rerun_pays_nothing(store: Arc<dyn Store>) {
    let app = app(store.clone(), None).await;
    let tree = tree(&[("ib_m", None), ("ib_s", Some("ib_m"))]);
    let trips = [
        (1, "0.37", JAN_5 + 3_600_000),
        (2, "1.13", JAN_5 + 7_200_000),
        (2, "0.01", JAN_5 + DAY + 3_600_000),
        (1, "0.29", JAN_5 + 2 * DAY + 3_600_000),
        (2, "0.77", JAN_5 + 2 * DAY + 5_600_000),
    ];
    let legs = legs(&tree, "1.2345", &trips);
    for ib in ["ib_m", "ib_s"] {
        let total = accrued_per_ib(&legs)[&format!("ib:{ib}")];
        assert_ne!(
            total.round_dp(2),
            total,
            "{ib}'s legs are fractional: {total}"
        );
    }
    store_legs(&app.services.core, &stored(&legs))
        .await
        .unwrap();
    let built = pay_and_rerun(&app, &legs, &["ib_m", "ib_s"], 3).await;
    assert!(built >= 4, "statements on several days: {built}");
}

/// Random fractional round trips over three days of two IBs (one under the other).
pub fn trips() -> impl proptest::strategy::Strategy<Value = Vec<(u64, u32, i64)>> {
    proptest::collection::vec((1u64..=2, 1u32..=250, 0i64..3), 1..6)
}

/// The property on the stored path: whatever the legs, a rerun pays nothing and per IB
/// Σ paid + carried = Σ accrued.
pub async fn rerun_pays_nothing_and_paid_plus_carried_is_accrued(
    store: Arc<dyn Store>,
    trips: Vec<(u64, u32, i64)>,
) {
    let app = app(store, None).await;
    let tree = tree(&[("ib_m", None), ("ib_s", Some("ib_m"))]);
    let lots: Vec<String> = trips
        .iter()
        .map(|(_, hundredths, _)| Decimal::new(i64::from(*hundredths), 2).to_string())
        .collect();
    let trips: Vec<(u64, &str, i64)> = trips
        .iter()
        .zip(&lots)
        .enumerate()
        .map(|(n, ((login, _, day), lots))| {
            (
                *login,
                lots.as_str(),
                JAN_5 + day * DAY + n as i64 * 120_000,
            )
        })
        .collect();
    let legs = legs(&tree, "0.7777", &trips);
    store_legs(&app.services.core, &stored(&legs))
        .await
        .unwrap();
    pay_and_rerun(&app, &legs, &["ib_m", "ib_s"], 3).await;
}

/// Over the threshold a statement waits for finance: the finance person who started the run
/// may not approve it, another approves and it is paid; a rejected one is never paid.
pub async fn statements_over_the_threshold_wait_for_finance(store: Arc<dyn Store>) {
    let app = app(store.clone(), Some("1.00")).await;
    let tree = tree(&[("ib_a", None), ("ib_b", None)]);
    let legs = legs(
        &tree,
        "2.5",
        &[(1, "3", JAN_5 + 3_600_000), (2, "2", JAN_5 + 3_600_000)],
    );
    store_legs(&app.services.core, &stored(&legs))
        .await
        .unwrap();
    let run = run_period(&app, day(0), "finance-maker").await;
    assert_eq!(run.held, 2);
    let (a, b) = (
        statement(&app, "ib_a", day(0)).await,
        statement(&app, "ib_b", day(0)).await,
    );
    assert_eq!(a.status, StatementStatus::AwaitingApproval);
    assert_eq!(
        payable_balance(&app, "ib_a").await,
        Decimal::ZERO,
        "nothing paid while held"
    );
    let services = &app.services.ib;
    let before = counts(store.as_ref()).await;
    let own = payout::decide_statement(
        services,
        &person("finance-maker", Role::Finance),
        "c1",
        &a.id,
        true,
        None,
    )
    .await
    .unwrap_err();
    assert!(matches!(own, Error::Forbidden { .. }), "{own:?}");
    let stranger = payout::decide_statement(
        services,
        &person("ib-user", Role::Ib),
        "c2",
        &a.id,
        true,
        None,
    )
    .await
    .unwrap_err();
    assert!(matches!(stranger, Error::Forbidden { .. }), "{stranger:?}");
    let no_reason = payout::decide_statement(
        services,
        &person("finance-checker", Role::Finance),
        "c3",
        &b.id,
        false,
        Some("  "),
    )
    .await
    .unwrap_err();
    assert_eq!(no_reason.code(), "reason_required");
    assert_eq!(
        counts(store.as_ref()).await,
        before,
        "refusals write nothing"
    );

    let approved = payout::decide_statement(
        services,
        &person("finance-checker", Role::Finance),
        "c4",
        &a.id,
        true,
        None,
    )
    .await
    .unwrap();
    assert_eq!(approved["status"], "payable");
    payout::decide_statement(
        services,
        &person("finance-checker", Role::Finance),
        "c5",
        &b.id,
        false,
        Some("volume under review"),
    )
    .await
    .unwrap();
    let run = run_period(&app, day(0), "schedule").await;
    assert_eq!((run.held, run.paid), (0, 1));
    let (a, b) = (
        statement(&app, "ib_a", day(0)).await,
        statement(&app, "ib_b", day(0)).await,
    );
    assert_eq!(a.status, StatementStatus::Paid);
    assert_eq!(b.status, StatementStatus::Rejected);
    assert_eq!(payable_balance(&app, "ib_a").await, a.lines.paid);
    assert!(a.lines.paid > Decimal::ONE);
    assert_eq!(
        payable_balance(&app, "ib_b").await,
        Decimal::ZERO,
        "rejected: unpaid"
    );
}

/// A credit the ledger refuses is recorded on its statement each time and tried again only
/// when its wait is over (`ib.payout.credit_retry_seconds`, doubled after each failure); after
/// the last allowed attempt the statement is flagged for finance and no longer tried.
pub async fn a_credit_that_keeps_failing_is_flagged(store: Arc<dyn Store>) {
    let app = app(store.clone(), None).await;
    // An id the ledger takes for no account: its credit can never post.
    let tree = tree(&[("ib#bad", None)]);
    let legs = legs(&tree, "1", &[(1, "1", JAN_5 + 3_600_000)]);
    store_legs(&app.services.core, &stored(&legs))
        .await
        .unwrap();
    let services = &app.services.ib;
    let retry = services.config.payout.credit_retry();
    let mut ctx = ctx(&app);
    let run = payout::start_run(services, &ctx, day(0), "schedule")
        .await
        .unwrap();
    payout::build_statements(services, &ctx, &run.id, 10)
        .await
        .unwrap();
    let mut flagged = Vec::new();
    for attempt in 1..=3u32 {
        let report = payout::pay_statements(services, &ctx, &run.id, 10)
            .await
            .unwrap();
        assert_eq!((report.paid, report.failed), (0, 1), "attempt {attempt}");
        flagged = report.flagged;
        if attempt == 3 {
            assert_eq!(report.retry_at, None, "the last attempt is not retried");
            break;
        }
        let wait = retry * 2_i32.pow(attempt - 1);
        assert_eq!(report.retry_at, Some(ctx.now + wait), "attempt {attempt}");
        // Before its wait is over the statement is left alone, and says when it is due.
        let before = counts(store.as_ref()).await;
        ctx.now += wait - time::Duration::seconds(1);
        let early = payout::pay_statements(services, &ctx, &run.id, 10)
            .await
            .unwrap();
        assert_eq!((early.paid, early.failed), (0, 0), "attempt {attempt}");
        assert_eq!(early.retry_at, Some(ctx.now + time::Duration::seconds(1)));
        assert_eq!(
            counts(store.as_ref()).await,
            before,
            "waiting writes nothing"
        );
        ctx.now += time::Duration::seconds(1);
    }
    let s = statement(&app, "ib#bad", day(0)).await;
    assert_eq!(flagged, vec![s.id.clone()]);
    assert_eq!(s.status, StatementStatus::CreditFailed);
    assert_eq!(s.credit_failures.len(), 3);
    ctx.now += time::Duration::days(1);
    let after = payout::pay_statements(services, &ctx, &run.id, 10)
        .await
        .unwrap();
    assert_eq!(
        (after.paid, after.failed),
        (0, 0),
        "a flagged statement waits for finance"
    );
    // Finance has it tried again (partner managers may not; a statement not flagged is not
    // retried): payable at once with a new series of attempts, and a payout execution of its
    // period tries it; the ledger still refuses, so it is flagged again.
    let before = counts(store.as_ref()).await;
    let refused = payout::retry_statement(services, &person("pm-1", Role::Partners), "r", &s.id)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), "forbidden", "{refused:?}");
    assert_eq!(counts(store.as_ref()).await, before);
    let finance = person("finance-1", Role::Finance);
    let retried = payout::retry_statement(services, &finance, "r", &s.id)
        .await
        .unwrap();
    assert_eq!(retried["statement"]["status"], "payable");
    assert_eq!(
        retried["statement"]["earlier_credit_failures"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    let twice = payout::retry_statement(services, &finance, "r", &s.id)
        .await
        .unwrap_err();
    assert_eq!(
        twice.code(),
        "statement_state",
        "only a flagged statement is retried"
    );
    let ended = app
        .finished(retried["execution_arn"].as_str().unwrap())
        .await;
    assert_eq!(
        (ended.status, ended.error.as_deref()),
        (
            brokeros_sfn::ExecutionStatus::Failed,
            Some("CommissionCreditFailed")
        ),
        "{ended:?}"
    );
    let again = statement(&app, "ib#bad", day(0)).await;
    assert_eq!(again.status, StatementStatus::CreditFailed);
    assert_eq!(
        (
            again.credit_failures.len(),
            again.earlier_credit_failures.len()
        ),
        (3, 3)
    );
    let run = services.get::<PayoutRun>(&run.id).await.unwrap().entity;
    assert_eq!(run.flagged, 1);
}

/// A period closed takes no more legs; a period not ended, or a bad limit, writes nothing.
pub async fn bad_payout_requests_write_nothing(store: Arc<dyn Store>) {
    let app = app(store.clone(), None).await;
    let services = &app.services.ib;
    let ctx = ctx(&app);
    let before = counts(store.as_ref()).await;
    let now = brokeros_ib::millis(ctx.now);
    let current = PeriodKind::Daily.period_of(now);
    let early = payout::start_run(services, &ctx, current, "schedule")
        .await
        .unwrap_err();
    assert_eq!(early.code(), "period_not_ended");
    let closed = payout::close_period(services, &ctx, PeriodKind::Daily, ctx.now, "schedule")
        .await
        .unwrap();
    let run = closed.run.expect("yesterday was due");
    assert_eq!(
        run.period.end_msc(),
        current.start_msc,
        "yesterday is closed"
    );
    assert!(!closed.more_due, "today has not ended");
    let after_close = counts(store.as_ref()).await;
    // Periods close in order: neither the day before yesterday nor today's.
    for period in [
        PeriodKind::Daily.period_of(run.period.start_msc - 1),
        current,
    ] {
        let refused = payout::start_run(services, &ctx, period, "schedule")
            .await
            .unwrap_err();
        assert!(
            ["period_out_of_order", "period_not_ended"].contains(&refused.code()),
            "{refused:?}"
        );
    }
    assert_eq!(counts(store.as_ref()).await, after_close);
    assert!(after_close.0 > before.0);
    for limit in [0, 1001] {
        let bad = payout::build_statements(services, &ctx, &run.id, limit)
            .await
            .unwrap_err();
        assert_eq!(bad.code(), "invalid_limit");
        let bad = payout::pay_statements(services, &ctx, &run.id, limit)
            .await
            .unwrap_err();
        assert_eq!(bad.code(), "invalid_limit");
    }
    assert_eq!(counts(store.as_ref()).await, after_close);
    // The closed day takes no more legs.
    let tree = tree(&[("ib_late", None)]);
    let late = legs(&tree, "1", &[(1, "1", run.period.start_msc + 3_600_000)]);
    let refused = store_legs(&app.services.core, &stored(&late)).await;
    assert!(refused.is_err(), "a closed period takes no legs");
    assert_eq!(counts(store.as_ref()).await, after_close);
    let again = payout::close_period(services, &ctx, PeriodKind::Daily, ctx.now, "schedule")
        .await
        .unwrap();
    assert_eq!(again.run, None, "nothing more is due until today ends");
    let rerun = payout::start_run(services, &ctx, run.period, "schedule")
        .await
        .unwrap();
    assert_eq!(rerun, run, "closing a closed period answers its run");
    assert_eq!(counts(store.as_ref()).await, after_close);
}

/// The `commission-payout` machine on the local engine: yesterday's period closed, a statement
/// over the threshold parks the run's token, finance's approval answers it, the statement is
/// credited and the execution succeeds; a second execution of the same schedule pays nothing.
pub async fn the_payout_machine_runs_end_to_end(store: Arc<dyn Store>) {
    use brokeros_kernel::workflow::Machine;
    let app = app(store.clone(), Some("1.00")).await;
    let now = brokeros_ib::millis(ctx(&app).now);
    let yesterday = PeriodKind::Daily.period_of(now - DAY);
    let tree = tree(&[("ib_wf", None)]);
    let legs = legs(&tree, "2.5", &[(1, "3", yesterday.start_msc + 3_600_000)]);
    store_legs(&app.services.core, &stored(&legs))
        .await
        .unwrap();
    let workflow = app.services.core.workflow().unwrap().clone();
    // Finance starts it through the API, and so may not approve what it holds.
    let maker = crate::harness::token("finance-maker", Role::Finance);
    let (status, started) = crate::partners::post(
        &app,
        "/partners/payouts",
        serde_json::json!({ "schedule": "daily" }),
        &maker,
    )
    .await;
    assert_eq!(status, 200, "{started}");
    let arn = started["execution_arn"].as_str().unwrap().to_string();
    let (status, bad) = crate::partners::post(
        &app,
        "/partners/payouts",
        serde_json::json!({ "schedule": "hourly" }),
        &maker,
    )
    .await;
    assert_eq!(status, 400, "{bad}");
    let run_id = run_id(yesterday);
    let mut waiting = false;
    for _ in 0..600 {
        let run = app.services.ib.find::<PayoutRun>(&run_id).await.unwrap();
        if run.is_some_and(|r| r.entity.approval_token.is_some()) {
            waiting = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(waiting, "the run parks its token while a statement is held");
    let held = statement(&app, "ib_wf", yesterday).await;
    assert_eq!(held.status, StatementStatus::AwaitingApproval);
    let (status, own) = crate::partners::post(
        &app,
        &format!("/partners/statements/{}/approve", held.id),
        serde_json::json!({}),
        &maker,
    )
    .await;
    assert_eq!(status, 403, "the maker does not check: {own}");
    payout::decide_statement(
        &app.services.ib,
        &person("finance-checker", Role::Finance),
        "wf-1",
        &held.id,
        true,
        None,
    )
    .await
    .unwrap();
    let ended = app.finished(&arn).await;
    assert_eq!(
        ended.status,
        brokeros_sfn::ExecutionStatus::Succeeded,
        "{ended:?}"
    );
    let paid = statement(&app, "ib_wf", yesterday).await;
    assert_eq!(paid.status, StatementStatus::Paid);
    assert_eq!(payable_balance(&app, "ib_wf").await, paid.lines.paid);
    let input = serde_json::json!({
        "schedule": "daily", "requested_period": null, "requested_by": "schedule"
    });
    let again = workflow
        .start(Machine::CommissionPayout, "daily-again", input)
        .await
        .unwrap();
    let ended = app.finished(&again).await;
    assert_eq!(ended.status, brokeros_sfn::ExecutionStatus::Succeeded);
    assert_eq!(
        payable_balance(&app, "ib_wf").await,
        paid.lines.paid,
        "paid once"
    );
    let run = app
        .services
        .ib
        .get::<PayoutRun>(&run_id)
        .await
        .unwrap()
        .entity;
    assert_eq!(
        (run.statements, run.paid),
        (1, 1),
        "the rerun built and paid nothing"
    );
    // Asked again: nothing is due until today ends; a period out of order, of another
    // schedule, or malformed is refused and writes nothing; the closed one resumes, paying
    // nothing twice.
    let before = counts(store.as_ref()).await;
    for (body, status, code) in [
        (
            serde_json::json!({ "schedule": "daily" }),
            409,
            "nothing_due",
        ),
        (
            serde_json::json!({ "schedule": "daily", "period": "daily:2020-01-01" }),
            409,
            "period_out_of_order",
        ),
        (
            serde_json::json!({ "schedule": "daily", "period": "weekly:2026-W02" }),
            400,
            "invalid_period",
        ),
        (
            serde_json::json!({ "schedule": "daily", "period": "yesterday" }),
            400,
            "invalid_period",
        ),
    ] {
        let (got, error) = crate::partners::post(&app, "/partners/payouts", body, &maker).await;
        assert_eq!(
            (got, error["code"].as_str()),
            (status, Some(code)),
            "{error}"
        );
    }
    assert_eq!(
        counts(store.as_ref()).await,
        before,
        "refusals write nothing"
    );
    let period = format!("daily:{}", yesterday.label());
    let (status, resumed) = crate::partners::post(
        &app,
        "/partners/payouts",
        serde_json::json!({ "schedule": "daily", "period": period }),
        &maker,
    )
    .await;
    assert_eq!(
        (status, &resumed["resumed"]),
        (200, &serde_json::json!(true)),
        "{resumed}"
    );
    let ended = app
        .finished(resumed["execution_arn"].as_str().unwrap())
        .await;
    assert_eq!(ended.status, brokeros_sfn::ExecutionStatus::Succeeded);
    assert_eq!(
        payable_balance(&app, "ib_wf").await,
        paid.lines.paid,
        "paid once"
    );
}

/// Stores plan `id` as a partner manager would: daily, in force from a minute from now.
async fn store_plan(app: &App, id: &str) {
    let effective = ctx(app).now + time::Duration::minutes(1);
    let document = serde_json::json!({
        "id": id, "version": 1,
        "effective_from": effective.format(&time::format_description::well_known::Rfc3339).unwrap(),
        "currency": "USD", "period": "daily",
        "rules": [ { "id": "all", "match": {}, "earns": { "per_lot": "1.00" } } ],
    });
    brokeros_ib::plans::put_plan_version(
        &app.services.ib,
        &person("pm-1", Role::Partners),
        document,
        None,
        "test",
    )
    .await
    .unwrap();
}

/// An IB that is also a client (so it is told when it is paid): its id and its client's.
async fn ib_of_a_client(app: &App, last_name: &str) -> (String, String) {
    use crate::partners::{pm, post};
    let client = app.register(last_name, crate::partners::CLEAR).await;
    let (status, application) = post(
        app,
        "/partners/applications",
        serde_json::json!({ "name": last_name, "payout_currency": "USD", "client_id": client }),
        &pm(),
    )
    .await;
    assert_eq!(status, 201, "{application}");
    let approve = format!(
        "/partners/applications/{}/approve",
        application["id"].as_str().unwrap()
    );
    let (status, ib) = post(
        app,
        &approve,
        serde_json::json!({ "plans": ["standard"], "referral_codes": [] }),
        &pm(),
    )
    .await;
    assert_eq!(status, 201, "{ib}");
    (ib["id"].as_str().unwrap().to_string(), client)
}

/// The scheduler missed days: one execution of the schedule closes every period due in
/// turn, oldest first, pays each, and tells the IB (a client) once per statement paid; the
/// next execution finds nothing due. Notifying again queues nothing.
pub async fn missed_periods_are_caught_up_in_order_and_the_paid_are_told(store: Arc<dyn Store>) {
    use brokeros_kernel::workflow::Machine;
    use brokeros_onboarding::model::Notification;
    let app = app(store.clone(), None).await;
    store_plan(&app, "standard").await;
    let (ib, client) = ib_of_a_client(&app, "Nolan").await;
    let now = brokeros_ib::millis(ctx(&app).now);
    let days_ago = |n: i64| PeriodKind::Daily.period_of(now - n * DAY);
    // The last period paid was four days ago; deals came three days ago and yesterday.
    run_period(&app, days_ago(4), "schedule").await;
    let tree = tree(&[(ib.as_str(), None)]);
    let legs = legs(
        &tree,
        "2.5",
        &[
            (1, "2", days_ago(3).start_msc + 3_600_000),
            (1, "1", days_ago(1).start_msc + 3_600_000),
        ],
    );
    store_legs(&app.services.core, &stored(&legs))
        .await
        .unwrap();
    let workflow = app.services.core.workflow().unwrap().clone();
    let input = serde_json::json!({
        "schedule": "daily", "requested_period": null, "requested_by": "schedule"
    });
    // The schedules (as `brokeros serve` runs them): only the daily payouts have begun.
    let started = payout::start_scheduled_payouts(&app.services.ib)
        .await
        .unwrap();
    assert_eq!(started.len(), 1, "{started:?}");
    let ended = app.finished(&started[0]).await;
    assert_eq!(
        ended.status,
        brokeros_sfn::ExecutionStatus::Succeeded,
        "{ended:?}"
    );
    let mut paid = Decimal::ZERO;
    for n in [3, 2, 1] {
        let run = app
            .services
            .ib
            .get::<PayoutRun>(&run_id(days_ago(n)))
            .await
            .unwrap()
            .entity;
        assert_eq!(
            run.status,
            brokeros_ib::model::payout::RunStatus::Done,
            "day -{n}"
        );
        let statement = find_statement(&app, &ib, days_ago(n)).await;
        assert_eq!(
            statement.is_some(),
            n != 2,
            "day -{n} has a statement iff it had legs"
        );
        if let Some(statement) = statement {
            assert_eq!(statement.status, StatementStatus::Paid);
            paid += statement.lines.paid;
            let notification = app
                .services
                .core
                .get::<Notification>(&format!("ntf_{}", statement.id))
                .await
                .unwrap()
                .entity;
            assert_eq!(
                (
                    notification.client_id.as_str(),
                    notification.template.as_str()
                ),
                (client.as_str(), "ib_commission_paid")
            );
            assert_eq!(
                notification.data["amount"],
                serde_json::json!(statement.lines.paid)
            );
        }
    }
    assert_eq!(paid, dec("7.50"), "2 lots and 1 lot at 2.50");
    assert_eq!(payable_balance(&app, &ib).await, paid);
    let today = app
        .services
        .ib
        .find::<PayoutRun>(&run_id(days_ago(0)))
        .await
        .unwrap();
    assert!(today.is_none(), "today has not ended");
    let started = payout::start_scheduled_payouts(&app.services.ib)
        .await
        .unwrap();
    assert!(started.is_empty(), "nothing is due: {started:?}");
    let again = workflow
        .start(Machine::CommissionPayout, "catch-up-again", input)
        .await
        .unwrap();
    let ended = app.finished(&again).await;
    assert_eq!(ended.status, brokeros_sfn::ExecutionStatus::Succeeded);
    let ctx = ctx(&app);
    for n in [3, 1] {
        let report = payout::notify_paid(&app.services.ib, &ctx, &run_id(days_ago(n)), 10)
            .await
            .unwrap();
        assert_eq!(report.queued, 0, "day -{n}: told once");
    }
    assert_eq!(payable_balance(&app, &ib).await, paid, "paid once");
}

/// Finance's decisions are overdue: each wait that runs out is recorded on the run; after the
/// last the workflow stops waiting, and finance's eventual approval starts a new execution
/// that pays the statement once.
pub async fn overdue_approvals_are_escalated_and_the_late_decision_pays(store: Arc<dyn Store>) {
    let app = app(store.clone(), Some("1.00")).await;
    let services = &app.services.ib;
    let ctx = ctx(&app);
    let yesterday = PeriodKind::Daily.period_of(brokeros_ib::millis(ctx.now) - DAY);
    let tree = tree(&[("ib_slow", None)]);
    let legs = legs(&tree, "2.5", &[(1, "3", yesterday.start_msc + 3_600_000)]);
    store_legs(&app.services.core, &stored(&legs))
        .await
        .unwrap();
    let run = run_period(&app, yesterday, "finance-maker").await;
    assert_eq!(run.held, 1);
    payout::await_approvals(services, &ctx, &run.id, "token-of-a-wait")
        .await
        .unwrap();
    let max = brokeros_ib::model::payout::MAX_APPROVAL_WAITS;
    for wait in 1..=max {
        let answer = payout::escalate_approvals(services, &ctx, &run.id)
            .await
            .unwrap();
        assert_eq!(answer["escalations"], wait);
        assert_eq!(answer["give_up"], wait == max, "wait {wait}");
    }
    let overdue = services.get::<PayoutRun>(&run.id).await.unwrap().entity;
    assert_eq!(overdue.approval_token, None, "an expired token is not kept");
    let held = statement(&app, "ib_slow", yesterday).await;
    payout::decide_statement(
        services,
        &person("finance-checker", Role::Finance),
        "late-decision",
        &held.id,
        true,
        None,
    )
    .await
    .unwrap();
    let mut paid = None;
    for _ in 0..600 {
        let s = statement(&app, "ib_slow", yesterday).await;
        if s.status == StatementStatus::Paid {
            paid = Some(s);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let paid = paid.expect("the late approval's execution pays the statement");
    assert_eq!(payable_balance(&app, "ib_slow").await, paid.lines.paid);
    let mut done = false;
    for _ in 0..600 {
        let run = services.get::<PayoutRun>(&run.id).await.unwrap().entity;
        if run.status == brokeros_ib::model::payout::RunStatus::Done {
            done = true;
            assert_eq!(run.paid, 1);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(done, "the run finishes");
}

/// The IB portal shows an IB its own statements (and their CSV) and nothing of another IB's:
/// another's statement is not found. Partner managers read any; an IB reads no staff route.
pub async fn an_ib_reads_only_its_own_statements(store: Arc<dyn Store>) {
    use crate::partners::{get, new_ib, pm, post};
    let app = app(store.clone(), None).await;
    let a = new_ib(&app, "A", None, Some("u-a"), &[]).await;
    let b = new_ib(&app, "B", None, Some("u-b"), &[]).await;
    let tree = tree(&[(a.as_str(), None), (b.as_str(), None)]);
    let legs = legs(
        &tree,
        "1.5",
        &[(1, "0.3", JAN_5 + 3_600_000), (2, "0.7", JAN_5 + 3_600_000)],
    );
    store_legs(&app.services.core, &stored(&legs))
        .await
        .unwrap();
    run_period(&app, day(0), "schedule").await;
    let (of_a, of_b) = (
        statement(&app, &a, day(0)).await,
        statement(&app, &b, day(0)).await,
    );
    let as_a = crate::harness::token("u-a", Role::Ib);

    let (status, mine) = get(&app, "/ib/me/statements", &as_a).await;
    assert_eq!(status, 200, "{mine}");
    let ids: Vec<&str> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [of_a.id.as_str()]);
    let (status, one) = get(&app, &format!("/ib/me/statements/{}", of_a.id), &as_a).await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["lines"]["paid"], serde_json::json!(of_a.lines.paid));

    let before = counts(store.as_ref()).await;
    for path in [
        format!("/ib/me/statements/{}", of_b.id),
        format!("/ib/me/statements/{}/csv", of_b.id),
    ] {
        let (status, body) = get(&app, &path, &as_a).await;
        assert_eq!(status, 404, "{path}: {body}");
    }
    let (status, _) = get(&app, &format!("/partners/statements/{}", of_b.id), &as_a).await;
    assert_eq!(status, 403);
    let (status, body) = post(
        &app,
        &format!("/partners/statements/{}/approve", of_a.id),
        serde_json::json!({}),
        &crate::harness::token("fin-1", Role::Finance),
    )
    .await;
    assert_eq!(
        status, 409,
        "a statement under the threshold needs no approval: {body}"
    );
    assert_eq!(
        counts(store.as_ref()).await,
        before,
        "refusals write nothing"
    );

    let (status, staff) = get(&app, &format!("/partners/statements/{}", of_b.id), &pm()).await;
    assert_eq!(status, 200, "{staff}");
    assert_eq!(staff["status"], "paid");
    let (status, run) = get(
        &app,
        &format!("/partners/payouts/{}/statements", run_id(day(0))),
        &pm(),
    )
    .await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["items"].as_array().unwrap().len(), 2);

    let principal = person("u-a", Role::Ib);
    let csv = payout::my_statement_csv(&app.services.ib, &principal, &of_a.id)
        .await
        .unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[0].ends_with(",paid,carried_out,status"), "{csv}");
    assert!(
        lines[1].contains(&format!(",{},", of_a.lines.paid)),
        "{csv}"
    );
    assert!(lines[1].ends_with(",paid"), "{csv}");
}

/// A leg of a deal that arrived after its period closed is counted in the next open period
/// (where the accrual path stored it) and its statement names it with the period it came from.
pub async fn a_late_leg_is_paid_in_the_next_period_and_named(store: Arc<dyn Store>) {
    let app = app(store.clone(), None).await;
    let tree = tree(&[("ib_late", None)]);
    let on_time = legs(&tree, "1", &[(1, "1", JAN_5 + 3_600_000)]);
    store_legs(&app.services.core, &stored(&on_time))
        .await
        .unwrap();
    run_period(&app, day(0), "schedule").await;
    let late = legs(&tree, "1", &[(1, "2", JAN_5 + 7_200_000)]);
    let refused = store_legs(&app.services.core, &stored(&late)).await;
    assert!(refused.is_err(), "the closed day takes no more legs");
    let moved: Vec<StoredLeg> = late
        .iter()
        .map(|leg| StoredLeg {
            leg: leg.clone(),
            period: day(1),
            late_from: Some(leg.period()),
        })
        .collect();
    store_legs(&app.services.core, &moved).await.unwrap();
    run_period(&app, day(1), "schedule").await;
    let first = statement(&app, "ib_late", day(0)).await;
    let next = statement(&app, "ib_late", day(1)).await;
    let late_ids: Vec<(String, String)> =
        late.iter().map(|leg| (leg.id(), day(0).label())).collect();
    assert_eq!(next.late_legs, late_ids);
    assert!(first.late_legs.is_empty());
    let accrued: Decimal = on_time.iter().chain(&late).map(|l| l.amount).sum();
    assert_eq!(
        first.lines.paid + next.lines.paid + next.lines.carried_out,
        accrued
    );
}
