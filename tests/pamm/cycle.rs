//! The live PAMM cycle through its use cases, on a clock the scenario moves: the manager's
//! capital and an investor's money invested at a rollover's NAV, a loss, a recovery below the
//! investor's high-water mark (no fee), a gain above it (the fee, paid to the manager's
//! wallet), a withdrawal; the wallets, the ledger's pooled account and the platform's balance
//! agree at every step, and a rollover run again changes nothing.

use brokeros_kernel::principal::{Principal, Role};
use brokeros_kernel::{OpContext, PageParams, workflow_ctx};
use brokeros_pamm::model::Schedule;
use brokeros_pamm::model::cycle::RolloverRecord;
use brokeros_pamm::offers::{Governance, NewOffer, govern, propose};
use brokeros_pamm::requests::{NewRequest, cancel, submit};
use brokeros_pamm::{reads, rollover};
use brokeros_tests::people::{Identity, Person, onboarded};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::harness::App;

pub(crate) fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

/// A decimal field of an answer.
pub(crate) fn num(value: &Value) -> Decimal {
    serde_json::from_value(value.clone()).unwrap_or_else(|_| panic!("not a decimal: {value}"))
}

pub(crate) fn client(person: &Person) -> Principal {
    Principal {
        sub: person.user.clone(),
        roles: [Role::Client].into(),
    }
}

pub(crate) fn admin() -> Principal {
    Principal {
        sub: "admin-1".into(),
        roles: [Role::Admin].into(),
    }
}

/// Daily at 00:00 UTC, an hour's cut-off, 20 % of new profit, no other fee.
pub(crate) fn plain_terms() -> Value {
    json!({
        "currency": "USD",
        "performance_fee": [{ "from": "0", "percent": "20" }],
        "management_fee": "0", "entry_fee": "0", "min_investment": "500",
        "min_manager_capital": "1000",
        "rollover": { "every": "day", "at": "00:00", "utc_offset": "+00:00" },
        "cutoff_minutes": 60, "lockup_days": 0, "ib_share": [], "notice_days": 14
    })
}

/// A manager with an approved offer over their account, and `capital` USD in their wallet.
pub(crate) async fn approved_offer(app: &App, id: &str, terms: Value) -> (Person, u64) {
    let (manager, login) = onboarded(
        app,
        &Identity::of("portal-mia", "Mia", "mia@example.com", "C01X00T62"),
    )
    .await;
    let s = &app.services.pamm;
    let body: NewOffer = serde_json::from_value(
        json!({ "offer_id": id, "name": "Mia's FX", "login": login, "terms": terms }),
    )
    .unwrap();
    propose(s, &client(&manager), body, None, "c-propose")
        .await
        .unwrap();
    govern(
        s,
        &admin(),
        id,
        Governance::Approve,
        None,
        None,
        "c-approve",
    )
    .await
    .unwrap();
    (manager, login)
}

pub(crate) fn ask(body: Value) -> NewRequest {
    serde_json::from_value(body).unwrap()
}

/// Submits a request and answers it.
pub(crate) async fn request(app: &App, who: &Person, offer: &str, body: Value) -> Value {
    submit(
        &app.services.pamm,
        &client(who),
        offer,
        ask(body),
        None,
        "c-request",
    )
    .await
    .unwrap()
    .body
}

fn time_of(value: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(
        value.as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
}

fn ctx(app: &App) -> OpContext {
    workflow_ctx(&app.services.core, "exec-pamm-test")
}

/// Moves the clock past `at` and runs the rollover at `at`.
pub(crate) async fn roll_at(app: &App, offer: &str, at: OffsetDateTime) -> RolloverRecord {
    let now = app.services.clock.now();
    if now <= at {
        app.advance(at - now + time::Duration::minutes(1));
    }
    rollover::run(&app.services.pamm, &ctx(app), offer, at)
        .await
        .unwrap()
}

/// Runs the next scheduled rollover (daily at 00:00 UTC).
pub(crate) async fn roll_next(app: &App, offer: &str) -> RolloverRecord {
    let schedule: Schedule =
        serde_json::from_value(json!({ "every": "day", "at": "00:00", "utc_offset": "+00:00" }))
            .unwrap();
    let at = schedule.next_after(app.services.clock.now()).unwrap();
    roll_at(app, offer, at).await
}

async fn statement(app: &App, who: &Person, offer: &str) -> Value {
    reads::statement(
        &app.services.pamm,
        &client(who),
        offer,
        PageParams::default(),
    )
    .await
    .unwrap()
}

/// The pooled account's money: the ledger's and the platform's balance.
async fn pool(app: &App, login: u64) -> (Decimal, Decimal) {
    app.trading_account_money(login, "USD").await
}

pub async fn a_pamm_cycle_charges_a_fee_only_above_the_investors_high_water_mark(app: App) {
    let offer = "mia-fx";
    let (manager, login) = approved_offer(&app, offer, plain_terms()).await;
    let (ann, _) = onboarded(
        &app,
        &Identity::of("portal-ann", "Ann", "ann@example.com", "C01X00T63"),
    )
    .await;
    app.credit_wallet(&manager.client_id, "dep-mia-1", "2000.00")
        .await;
    app.credit_wallet(&ann.client_id, "dep-ann-1", "1500.00")
        .await;

    // An investor cannot come in before the manager's capital is there.
    let refused = submit(
        &app.services.pamm,
        &client(&ann),
        offer,
        ask(json!({ "request_id": "ann-early", "kind": "invest", "amount": "1000.00" })),
        None,
        "c-early",
    )
    .await
    .unwrap_err();
    assert_eq!(refused.body().code, "manager_below_minimum_capital");

    // Rollover 1: the manager's capital, at the initial NAV of 1.
    let capital = request(
        &app,
        &manager,
        offer,
        json!({ "request_id": "mia-capital", "kind": "invest", "amount": "2000.00" }),
    )
    .await;
    assert_eq!(capital["status"], "pending", "{capital}");
    assert_eq!(
        app.wallet(&manager.client_id, "USD").await,
        (dec("0"), dec("2000.00"))
    );
    let first = roll_at(&app, offer, time_of(&capital["due_at"])).await;
    assert_eq!(first.nav, dec("1"));
    assert_eq!(first.invested, dec("2000.00"));
    assert_eq!(first.units_after, dec("2000"));
    assert_eq!(pool(&app, login).await, (dec("2000.00"), dec("2000.00")));
    assert_eq!(
        app.wallet(&manager.client_id, "USD").await,
        (dec("0"), dec("0"))
    );

    // Rollover 2: Ann's 1000 at NAV 1 (no trading result yet).
    let investment = request(
        &app,
        &ann,
        offer,
        json!({ "request_id": "ann-1", "kind": "invest", "amount": "1000.00" }),
    )
    .await;
    let second = roll_at(&app, offer, time_of(&investment["due_at"])).await;
    assert_eq!(second.nav, dec("1"));
    assert_eq!(second.requests_executed, 1);
    let mine = statement(&app, &ann, offer).await;
    assert_eq!(num(&mine["holding"]["units"]), dec("1000"), "{mine}");
    assert_eq!(num(&mine["holding"]["hwm"]), dec("1000.00"));
    assert_eq!(pool(&app, login).await, (dec("3000.00"), dec("3000.00")));

    // Rollover 3: a loss of 300 (NAV 0.9): Ann is below her mark, no fee.
    app.platform
        .set_open_positions(login, dec("-300.00"), dec("0"))
        .await
        .unwrap();
    let loss = roll_next(&app, offer).await;
    assert_eq!(loss.gross_nav, dec("0.9"));
    assert_eq!(loss.fees.performance, dec("0"));

    // Rollover 4: a recovery to NAV 0.95, still below the mark: no fee.
    app.platform
        .set_open_positions(login, dec("-150.00"), dec("0"))
        .await
        .unwrap();
    let recovery = roll_next(&app, offer).await;
    assert_eq!(recovery.gross_nav, dec("0.95"));
    assert_eq!(recovery.fees.performance, dec("0"));
    assert!(recovery.payouts.iter().all(|p| p.amount.is_zero()));

    // Rollover 5: a gain to NAV 1.1: Ann's 1100 is 100 above her mark: 20 to the manager.
    app.platform
        .set_open_positions(login, dec("300.00"), dec("0"))
        .await
        .unwrap();
    let gain = roll_next(&app, offer).await;
    assert_eq!(gain.gross_nav, dec("1.1"));
    assert_eq!(gain.fees.performance, dec("20.00"));
    assert_eq!(gain.paid_out, dec("20.00"));
    assert_eq!(
        app.wallet(&manager.client_id, "USD").await,
        (dec("20.00"), dec("0"))
    );
    let mine = statement(&app, &ann, offer).await;
    assert_eq!(num(&mine["holding"]["hwm"]), dec("1080.00"), "{mine}");
    let line = &mine["rollovers"]["items"][0];
    assert_eq!(line["rollover_id"], gain.id.as_str(), "{line}");
    assert_eq!(num(&line["fees"]["performance"]), dec("20.00"));
    assert_eq!(pool(&app, login).await, (dec("2980.00"), dec("2980.00")));

    // Every holder's statement and the remainder make up the equity after the rollover.
    let holders = reads::investors(
        &app.services.pamm,
        &client(&manager),
        offer,
        PageParams::default(),
    )
    .await
    .unwrap();
    let shown: Decimal = holders["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| num(&h["equity"]))
        .sum();
    assert_eq!(shown + gain.remainder, gain.equity_after, "{holders}");

    // Run again: nothing changes.
    let counts = app.counts().await;
    let again = rollover::run(&app.services.pamm, &ctx(&app), offer, gain.at)
        .await
        .unwrap();
    assert_eq!(again, gain);
    assert_eq!(
        app.counts().await,
        counts,
        "a rollover run again writes nothing"
    );
    assert_eq!(pool(&app, login).await, (dec("2980.00"), dec("2980.00")));

    // A withdrawal of 500 at the next rollover (no result since: no fee), and a cancelled one.
    let withdrawal = request(
        &app,
        &ann,
        offer,
        json!({ "request_id": "ann-out-1", "kind": "withdraw", "amount": "500.00" }),
    )
    .await;
    request(
        &app,
        &ann,
        offer,
        json!({ "request_id": "ann-in-2", "kind": "invest", "amount": "500.00" }),
    )
    .await;
    assert_eq!(
        app.wallet(&ann.client_id, "USD").await,
        (dec("0.00"), dec("500.00"))
    );
    cancel(
        &app.services.pamm,
        &client(&ann),
        "ann-in-2",
        None,
        "c-cancel",
    )
    .await
    .unwrap();
    assert_eq!(
        app.wallet(&ann.client_id, "USD").await,
        (dec("500.00"), dec("0"))
    );
    let paid = roll_at(&app, offer, time_of(&withdrawal["due_at"])).await;
    assert_eq!(paid.requests_executed, 1);
    assert_eq!(paid.fees.performance, dec("0"));
    assert_eq!(
        app.wallet(&ann.client_id, "USD").await,
        (dec("1000.00"), dec("0"))
    );
    assert_eq!(pool(&app, login).await, (dec("2480.00"), dec("2480.00")));
    let mine = statement(&app, &ann, offer).await;
    assert_eq!(num(&mine["holding"]["equity"]), dec("580.00"), "{mine}");

    // New terms under investors wait for the notice (14 days): sooner is refused, unwritten.
    let change = |days: i64, fee: &str| {
        let mut terms = plain_terms();
        terms["performance_fee"] = json!([{ "from": "0", "percent": fee }]);
        let at = app.services.clock.now() + time::Duration::days(days);
        serde_json::from_value::<brokeros_pamm::offers::TermsChange>(json!({
            "terms": terms,
            "effective_at": at.format(&time::format_description::well_known::Rfc3339).unwrap(),
        }))
        .unwrap()
    };
    let before = app.counts().await;
    let refused = brokeros_pamm::offers::change_terms(
        &app.services.pamm,
        &client(&manager),
        offer,
        change(3, "30"),
        None,
        "c-terms",
    )
    .await;
    assert_refused(
        &app,
        refused,
        "notice_required",
        Some("effective_at"),
        before,
    )
    .await;
    let refused = brokeros_pamm::offers::change_terms(
        &app.services.pamm,
        &client(&ann),
        offer,
        change(15, "30"),
        None,
        "c-terms",
    )
    .await;
    assert_refused(&app, refused, "not_found", None, before).await;
    let changed = brokeros_pamm::offers::change_terms(
        &app.services.pamm,
        &client(&manager),
        offer,
        change(15, "30"),
        None,
        "c-terms",
    )
    .await
    .unwrap()
    .body;
    assert_eq!(changed["versions"][1]["version"], 2, "{changed}");
    assert_eq!(changed["terms_in_force"]["version"], 1);

    // Every step left its audit events.
    let actions = app.audit_actions("pamm_request", "ann-1").await;
    assert_eq!(actions, ["pamm.invest_requested", "pamm.request_executed"]);
    let actions = app.audit_actions("pamm_rollover", &gain.id).await;
    assert_eq!(actions, ["pamm.rollover_recorded", "pamm.rollover_settled"]);
}

/// `result` is the refusal `code` (naming `field` when given) and nothing was written.
async fn assert_refused(
    app: &App,
    result: brokeros_kernel::Result<brokeros_kernel::Answer>,
    code: &str,
    field: Option<&str>,
    before: (u64, u64),
) {
    let error = result.expect_err(code);
    let body = error.body();
    assert_eq!(body.code, code, "{error:?}");
    assert_eq!(body.field.as_deref(), field, "{error:?}");
    assert_eq!(app.counts().await, before, "{code}: nothing written");
}

pub async fn requests_the_rules_refuse_write_nothing(app: App) {
    let offer = "mia-fx";
    let (manager, _) = approved_offer(&app, offer, plain_terms()).await;
    let (ann, _) = onboarded(
        &app,
        &Identity::of("portal-ann", "Ann", "ann@example.com", "C01X00T63"),
    )
    .await;
    app.credit_wallet(&manager.client_id, "dep-mia-1", "2000.00")
        .await;
    app.credit_wallet(&ann.client_id, "dep-ann-1", "1500.00")
        .await;
    let capital = request(
        &app,
        &manager,
        offer,
        json!({ "request_id": "mia-capital", "kind": "invest", "amount": "2000.00" }),
    )
    .await;
    roll_at(&app, offer, time_of(&capital["due_at"])).await;
    let s = &app.services.pamm;
    let try_ask = |who: &Person, offer: &str, body: Value| {
        let (who, offer) = (client(who), offer.to_string());
        async move { submit(s, &who, &offer, ask(body), None, "c-bad").await }
    };
    let before = app.counts().await;
    let cases: Vec<(Value, &str, Option<&str>)> = vec![
        (
            json!({ "request_id": "r1", "kind": "invest", "amount": "400.00" }),
            "below_minimum_investment",
            Some("amount"),
        ),
        (
            json!({ "request_id": "r2", "kind": "invest" }),
            "required",
            Some("amount"),
        ),
        (
            json!({ "request_id": "r3", "kind": "exit", "amount": "10.00" }),
            "not_allowed",
            Some("amount"),
        ),
        (
            json!({ "request_id": "r4", "kind": "invest", "amount": "600.001" }),
            "amount_too_precise",
            Some("amount"),
        ),
        (
            json!({ "request_id": "r5", "kind": "invest", "amount": "-600.00" }),
            "invalid_amount",
            Some("amount"),
        ),
        (
            json!({ "request_id": "r6", "kind": "withdraw", "amount": "10.00" }),
            "no_holding",
            None,
        ),
        (
            json!({ "request_id": "r7", "kind": "invest", "amount": "5000.00" }),
            "insufficient_funds",
            None,
        ),
        (
            json!({ "request_id": "r8", "kind": "withdraw", "amount": "10.00", "stop_equity": "5.00" }),
            "not_allowed",
            Some("stop_equity"),
        ),
        (
            json!({ "kind": "exit" }),
            "request_id_required",
            Some("request_id"),
        ),
        (
            json!({ "request_id": "has space", "kind": "exit" }),
            "invalid_code",
            Some("request_id"),
        ),
    ];
    for (body, code, field) in cases {
        let result = try_ask(&ann, offer, body.clone()).await;
        assert_refused(&app, result, code, field, before).await;
    }
    // The manager withdraws more than they hold.
    let result = try_ask(
        &manager,
        offer,
        json!({ "request_id": "m1", "kind": "withdraw", "amount": "2000.01" }),
    )
    .await;
    assert_refused(&app, result, "exceeds_holding", Some("amount"), before).await;
    // An offer nobody approved, or that does not exist.
    let result = try_ask(
        &ann,
        "no-such-offer",
        json!({ "request_id": "r9", "kind": "exit" }),
    )
    .await;
    assert_refused(&app, result, "not_found", None, before).await;
    // A suspended offer takes no investment.
    govern(
        s,
        &admin(),
        offer,
        Governance::Suspend,
        Some(serde_json::from_value(json!({ "reason": "review" })).unwrap()),
        None,
        "c-suspend",
    )
    .await
    .unwrap();
    let before = app.counts().await;
    let result = try_ask(
        &ann,
        offer,
        json!({ "request_id": "r10", "kind": "invest", "amount": "600.00" }),
    )
    .await;
    assert_refused(&app, result, "offer_suspended", None, before).await;
    // Someone else's request is not found, and cannot be cancelled.
    let mine = request(
        &app,
        &manager,
        offer,
        json!({ "request_id": "m2", "kind": "withdraw", "amount": "100.00" }),
    )
    .await;
    assert_eq!(mine["status"], "pending");
    let before = app.counts().await;
    let result = cancel(s, &client(&ann), "m2", None, "c-cancel").await;
    assert_refused(&app, result, "not_found", None, before).await;
    // An id reused for other content.
    let result = try_ask(
        &manager,
        offer,
        json!({ "request_id": "m2", "kind": "withdraw", "amount": "200.00" }),
    )
    .await;
    assert_refused(&app, result, "request_id_reused", None, before).await;
}

pub async fn many_investors_with_several_requests_settle_in_one_rollover(app: App) {
    let offer = "mia-fx";
    let (manager, login) = approved_offer(&app, offer, plain_terms()).await;
    app.credit_wallet(&manager.client_id, "dep-mia-1", "2000.00")
        .await;
    let capital = request(
        &app,
        &manager,
        offer,
        json!({ "request_id": "mia-capital", "kind": "invest", "amount": "2000.00" }),
    )
    .await;
    roll_at(&app, offer, time_of(&capital["due_at"])).await;
    let mut investors = Vec::new();
    let mut due = None;
    for (n, name) in ["Ann", "Bea", "Cid"].iter().enumerate() {
        let user = format!("portal-{}", name.to_lowercase());
        let email = format!("{}@example.com", name.to_lowercase());
        let passport = format!("C01X00T7{n}");
        let (person, _) = onboarded(&app, &Identity::of(&user, name, &email, &passport)).await;
        app.credit_wallet(&person.client_id, &format!("dep-{n}"), "1100.00")
            .await;
        for (k, amount) in ["600.00", "500.00"].iter().enumerate() {
            let asked = request(
                &app,
                &person,
                offer,
                json!({ "request_id": format!("{user}-{k}"), "kind": "invest", "amount": amount }),
            )
            .await;
            due = Some(time_of(&asked["due_at"]));
        }
        investors.push(person);
    }
    let rollover = roll_at(&app, offer, due.unwrap()).await;
    assert_eq!(rollover.requests_executed, 6);
    assert_eq!(rollover.invested, dec("3300.00"));
    for person in &investors {
        let mine = statement(&app, person, offer).await;
        assert_eq!(num(&mine["holding"]["units"]), dec("1100"), "{mine}");
        assert_eq!(
            app.wallet(&person.client_id, "USD").await,
            (dec("0"), dec("0"))
        );
    }
    assert_eq!(pool(&app, login).await, (dec("5300.00"), dec("5300.00")));
}
