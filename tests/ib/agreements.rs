//! An IB's agreement names stored plans only, of one kind of period: approval and plan changes
//! refuse an unknown plan or plans closing different periods (naming the plan's place in the
//! list) and write nothing; a plan that starts after the agreement is accepted and earns from
//! its own effective time on.

use brokeros_http::client::Call;
use std::collections::BTreeSet;

use brokeros_ib::model::{Beneficiary, Ib, Period, PeriodKind};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::accruals::{MINUTE, accrue, legs, round_trip};
use crate::harness::App;
use crate::partners::{get, msc, onboarded_client, pm, post, refused, text};
use crate::plans::{ensure_plan, plan_named, store_plan_document};

/// An application by a partner manager, still pending: the path that approves it.
async fn pending_application(app: &App, name: &str) -> String {
    let (status, application) = post(
        app,
        "/partners/applications",
        json!({ "name": name, "payout_currency": "USD" }),
        &pm(),
    )
    .await;
    assert_eq!(status, 201, "{application}");
    format!(
        "/partners/applications/{}/approve",
        application["id"].as_str().unwrap()
    )
}

/// Asserts `call` is refused with 400 `code` on `field` and writes nothing (items and audit
/// events counted before and after).
async fn refused_on(app: &App, call: Call<'_>, code: &str, field: &str) {
    let body = refused(app, call.token(&pm()), 400, code).await;
    assert_eq!(body["field"], field, "{body}");
}

pub async fn agreements_name_stored_plans_of_one_kind_of_period(app: App) {
    let now = OffsetDateTime::now_utc();
    ensure_plan(&app, "standard").await;
    let mut daily = plan_named("daily-fx", 1, &text(now + time::Duration::minutes(1)), "8");
    daily["period"] = json!("daily");
    store_plan_document(&app, &daily).await;
    // Starts two hours after the agreement that names it.
    let starts_at = now + time::Duration::hours(2);
    store_plan_document(&app, &plan_named("later", 1, &text(starts_at), "10")).await;

    let approve = pending_application(&app, "Agreed").await;
    let with = |plans: Value| json!({ "plans": plans, "referral_codes": [] });
    refused_on(
        &app,
        Call::post(&approve, &with(json!(["standard", "no-such-plan"]))),
        "unknown_plan",
        "plans[1]",
    )
    .await;
    refused_on(
        &app,
        Call::post(&approve, &with(json!(["standard", "daily-fx"]))),
        "plan_periods_differ",
        "plans[1]",
    )
    .await;
    // The application is still pending: the refusals decided nothing.
    let application = approve.trim_end_matches("/approve").to_string();
    let (_, pending) = get(&app, &application, &pm()).await;
    assert_eq!(pending["status"], "pending", "{pending}");

    let (status, ib) = post(&app, &approve, with(json!(["later"])), &pm()).await;
    assert_eq!(status, 201, "a plan starting later may be agreed: {ib}");
    let id = ib["id"].as_str().unwrap().to_string();

    let change = format!("/partners/ibs/{id}/plans");
    refused_on(
        &app,
        Call::post(&change, &json!({ "plans": ["ghost"] })),
        "unknown_plan",
        "plans[0]",
    )
    .await;
    refused_on(
        &app,
        Call::post(&change, &json!({ "plans": ["daily-fx", "later"] })),
        "plan_periods_differ",
        "plans[1]",
    )
    .await;
    assert_eq!(app.audit_actions("ib", &id).await, ["ib.created"]);

    // Deals before the agreed plan's effective time earn nothing under it; after it they do.
    let (client, login) = onboarded_client(&app, "Early").await;
    let (status, body) = post(
        &app,
        &format!("/partners/clients/{client}/ib"),
        json!({ "ib_id": id }),
        &pm(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let before_plan = round_trip(&app, login, msc(now) + 30 * MINUTE, 5 * MINUTE).await;
    let under_plan = round_trip(&app, login, msc(starts_at) + 30 * MINUTE, 5 * MINUTE).await;
    accrue(&app).await;
    // The plan closes monthly periods: the legs of both deals' months, each read once.
    let months: BTreeSet<Period> = [before_plan.time_msc, under_plan.time_msc]
        .into_iter()
        .map(|at| PeriodKind::Monthly.period_of(at))
        .collect();
    let mut stored = Vec::new();
    for month in months {
        stored.extend(legs(&app, &Beneficiary::Ib(id.clone()), month).await);
    }
    assert!(
        stored.iter().all(|l| l.leg.deal != before_plan.deal),
        "no leg before the plan starts: {stored:?}"
    );
    let earned: Vec<_> = stored
        .iter()
        .filter(|l| l.leg.deal == under_plan.deal)
        .collect();
    assert_eq!(earned.len(), 1, "{stored:?}");
    assert_eq!(earned[0].leg.explanation.basis.plan_id, "later");
    assert_eq!(
        earned[0].leg.amount,
        brokeros_trading::Decimal::from(8),
        "10 a lot, 80 %"
    );

    // Another kind of period from a later time on: a new agreement, one kind again.
    let (status, changed) = post(
        &app,
        &change,
        json!({ "plans": ["daily-fx"], "effective_at": text(now + time::Duration::hours(5)) }),
        &pm(),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    let (_, read) = get(&app, &format!("/partners/ibs/{id}"), &pm()).await;
    let read: Ib = serde_json::from_value(read).unwrap();
    assert_eq!(
        read.node.plans.latest(),
        Some(&vec!["daily-fx".to_string()])
    );
    assert_eq!(
        app.audit_actions("ib", &id).await,
        ["ib.created", "ib.plans_changed"]
    );
}
