//! The rollover as Step Functions runs it: the schedule starts `statemachines/pamm-rollover.asl.json`
//! on the local engine for the offer whose rollover has come, the execution runs every step to
//! its end, and the schedule starts nothing more until the next rollover; a rollover the
//! pooled account cannot pay out holds, and the schedule's restart finishes it once margin is free.

use brokeros_sfn::ExecutionStatus;
use serde_json::json;

use crate::cycle::{approved_offer, dec, plain_terms, request};
use crate::harness::App;

pub async fn the_schedule_starts_each_due_rollover_once_on_the_workflow(app: App) {
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
    let s = &app.services.pamm;
    assert!(
        brokeros_pamm::tasks::start_scheduled(s)
            .await
            .unwrap()
            .is_empty(),
        "no rollover has come yet"
    );
    let due = time::OffsetDateTime::parse(
        capital["due_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    app.advance(due - app.services.clock.now() + time::Duration::minutes(5));
    let started = brokeros_pamm::tasks::start_scheduled(s).await.unwrap();
    assert_eq!(started.len(), 1, "{started:?}");
    let done = app.finished(&started[0]).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    let output = done.output.unwrap();
    assert_eq!(output["settled"]["holders"], 1, "{output}");
    assert_eq!(output["notified"]["more"], false, "{output}");
    assert_eq!(
        app.trading_account_money(login, "USD").await,
        (dec("2000.00"), dec("2000.00"))
    );
    assert!(
        brokeros_pamm::tasks::start_scheduled(s)
            .await
            .unwrap()
            .is_empty(),
        "the rollover that came has run"
    );

    // A withdrawal the pooled account cannot pay while its margin is held: the rollover holds
    // (the platform refuses the outflow; no wallet is credited), and the schedule's next pass
    // restarts it once the manager has freed margin.
    let withdrawal = request(
        &app,
        &manager,
        offer,
        json!({ "request_id": "mia-out", "kind": "withdraw", "amount": "500.00" }),
    )
    .await;
    app.platform
        .set_open_positions(login, dec("0"), dec("1800.00"))
        .await
        .unwrap();
    let due = time::OffsetDateTime::parse(
        withdrawal["due_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    app.advance(due - app.services.clock.now() + time::Duration::minutes(5));
    let started = brokeros_pamm::tasks::start_scheduled(s).await.unwrap();
    let held = app.finished(&started[0]).await;
    assert_eq!(held.status, ExecutionStatus::Failed, "{held:?}");
    assert_eq!(held.error.as_deref(), Some("ConflictError"), "{held:?}");
    assert!(
        held.cause
            .as_deref()
            .unwrap_or_default()
            .contains("free margin"),
        "{held:?}"
    );
    assert_eq!(
        app.wallet(&manager.client_id, "USD").await,
        (dec("0"), dec("0")),
        "nothing paid while the platform refuses"
    );
    app.platform
        .set_open_positions(login, dec("0"), dec("0"))
        .await
        .unwrap();
    app.advance(time::Duration::minutes(5));
    let restarted = brokeros_pamm::tasks::start_scheduled(s).await.unwrap();
    assert_eq!(restarted.len(), 1, "{restarted:?}");
    let done = app.finished(&restarted[0]).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(
        app.wallet(&manager.client_id, "USD").await,
        (dec("500.00"), dec("0"))
    );
    assert_eq!(
        app.trading_account_money(login, "USD").await,
        (dec("1500.00"), dec("1500.00"))
    );
}
