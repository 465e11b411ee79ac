//! The deposit workflow end to end (`statemachines/deposit.asl.json` on the local engine): the
//! simulated providers answer by signed webhooks through the router and the event consumer,
//! as in `brokeros serve`. Routing order, cascading on declines and outages, expiry, and the
//! trading account funded once.

use std::time::Duration;

use brokeros_app::payments::{active_routing_rules, load_routing_stats};
use brokeros_app::psp::SimulatedBehavior;
use brokeros_domain::ledger::AccountId;
use brokeros_domain::money::{Currency, Money};
use brokeros_domain::payments::events::{PaymentEvent, PaymentEventKind};
use brokeros_domain::payments::routing::DepositIntent;
use brokeros_domain::payments::{PaymentMethod, RiskLevel};
use rust_decimal::Decimal;
use serde_json::Value;

use crate::harness::App;

/// A KYC-approved client (their trading account is in USD).
async fn approved_client(app: &App, last_name: &str) -> String {
    let client_id = app.register(last_name, "C01X00T47").await;
    let (_, arn) = app.start(&client_id).await;
    app.finished(&arn).await;
    client_id
}

/// The providers routing would try for a card deposit of `amount` USD from Germany, in order.
async fn routing_order(app: &App, client_id: &str, amount: Decimal) -> Vec<String> {
    let rules = active_routing_rules(&app.services).await.unwrap();
    let now = time::OffsetDateTime::now_utc();
    let stats = load_routing_stats(&app.services, &rules, now)
        .await
        .unwrap();
    let intent = DepositIntent {
        client_id: client_id.to_string(),
        amount: Money::positive("amount", amount, usd()).unwrap(),
        method: PaymentMethod::Card,
        country: "DE".into(),
        risk_level: RiskLevel::Low,
        requested_at: now,
    };
    let order: Vec<String> = rules
        .route(&intent, &stats)
        .order()
        .into_iter()
        .map(String::from)
        .collect();
    assert!(
        order.len() >= 2,
        "the embedded rules route card USD to 2+ providers: {order:?}"
    );
    order
}

fn usd() -> Currency {
    Currency::from_code("USD").unwrap()
}

async fn wallet(app: &App, client_id: &str) -> (Decimal, Decimal) {
    let account = AccountId::client_wallet(client_id, usd()).unwrap();
    let balance = brokeros_app::ledger::balance(&app.services, &account)
        .await
        .unwrap();
    (balance.available, balance.reserved)
}

/// Waits for the deposit's workflow to end and answers its status and the deposit.
async fn deposit_finished(app: &App, deposit_id: &str) -> (String, Value) {
    let arn = brokeros_sfn::execution_arn("deposit", deposit_id);
    let execution = app.finished(&arn).await;
    (
        format!("{:?}", execution.status),
        app.deposit(deposit_id).await,
    )
}

pub async fn a_deposit_is_paid_by_signed_webhook_and_funds_the_trading_account(app: App) {
    app.run_payment_providers();
    let client_id = approved_client(&app, "Berg").await;
    let created = app
        .create_deposit(&client_id, "dep_paid", "250.00", "USD")
        .await;
    assert_eq!(created["status"], "created");
    let (status, deposit) = deposit_finished(&app, "dep_paid").await;
    assert_eq!(status, "Succeeded", "{deposit}");
    assert_eq!(deposit["status"], "credited", "{deposit}");
    assert_eq!(deposit["funding"]["status"], "funded", "{deposit}");
    assert!(
        deposit.get("provider_result_token").is_none(),
        "never shown"
    );
    assert_eq!(deposit["attempts"].as_array().unwrap().len(), 1);
    assert_eq!(deposit["attempts"][0]["result"]["result"], "succeeded");
    assert!(deposit["routing_version"].is_u64());

    // The money went through the wallet to the trading account, once, in both books.
    assert_eq!(
        wallet(&app, &client_id).await,
        (Decimal::ZERO, Decimal::ZERO)
    );
    let login = deposit["funding"]["login"].as_u64().unwrap();
    let account = AccountId::trading_account(login, usd()).unwrap();
    let booked = brokeros_app::ledger::balance(&app.services, &account)
        .await
        .unwrap();
    assert_eq!(booked.available, Decimal::new(25_000, 2));
    let platform = app.services.trading.account_state(login).await.unwrap();
    assert_eq!(platform.balance, Decimal::new(25_000, 2));

    // Every state change is audited under the deposit.
    let admin = crate::harness::token("admin-1", brokeros_domain::principal::Role::Admin);
    let (_, client) = app
        .send(
            brokeros_app::http::client::Call::get(&format!("/clients/{client_id}/deposits"))
                .token(&admin),
        )
        .await;
    assert_eq!(client["items"][0]["id"], "dep_paid", "{client}");
}

pub async fn a_decline_cascades_to_the_next_provider(app: App) {
    let client_id = approved_client(&app, "Berg").await;
    let order = routing_order(&app, &client_id, Decimal::new(12_000, 2)).await;
    app.gateway
        .set_behavior(&order[0], SimulatedBehavior::Decline("do_not_honor".into()));
    app.run_payment_providers();
    app.create_deposit(&client_id, "dep_cascade", "120.00", "USD")
        .await;
    let (status, deposit) = deposit_finished(&app, "dep_cascade").await;
    assert_eq!(status, "Succeeded", "{deposit}");
    assert_eq!(deposit["status"], "credited", "{deposit}");
    let attempts = deposit["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2, "{deposit}");
    assert_eq!(attempts[0]["provider"], order[0].as_str());
    assert_eq!(attempts[0]["result"]["result"], "declined");
    assert_eq!(attempts[0]["result"]["reason"], "do_not_honor");
    assert_eq!(attempts[1]["provider"], order[1].as_str());
    assert_eq!(attempts[1]["result"]["result"], "succeeded");
    for attempt in attempts {
        assert!(attempt["reason"].as_str().unwrap().contains("rules v"));
    }
}

pub async fn an_outage_at_a_provider_moves_to_the_next(app: App) {
    let client_id = approved_client(&app, "Berg").await;
    let order = routing_order(&app, &client_id, Decimal::new(9_000, 2)).await;
    app.gateway
        .set_behavior(&order[0], SimulatedBehavior::Outage);
    app.run_payment_providers();
    app.create_deposit(&client_id, "dep_outage", "90.00", "USD")
        .await;
    let (_, deposit) = deposit_finished(&app, "dep_outage").await;
    assert_eq!(deposit["status"], "credited", "{deposit}");
    let attempts = deposit["attempts"].as_array().unwrap();
    assert_eq!(attempts[0]["provider"], order[0].as_str());
    assert_eq!(attempts[0]["result"]["result"], "unavailable", "{deposit}");
    assert_eq!(attempts[1]["provider"], order[1].as_str());
}

pub async fn every_provider_declining_declines_the_deposit(app: App) {
    let client_id = approved_client(&app, "Berg").await;
    let order = routing_order(&app, &client_id, Decimal::new(7_000, 2)).await;
    for provider in app.services.psp.names() {
        app.gateway.set_behavior(
            provider,
            SimulatedBehavior::Decline("insufficient_funds".into()),
        );
    }
    app.run_payment_providers();
    app.create_deposit(&client_id, "dep_nobody", "70.00", "USD")
        .await;
    let (status, deposit) = deposit_finished(&app, "dep_nobody").await;
    assert_eq!(status, "Succeeded");
    assert_eq!(deposit["status"], "declined", "{deposit}");
    let attempts = deposit["attempts"].as_array().unwrap();
    assert!(!attempts.is_empty() && attempts.len() <= order.len());
    assert!(
        attempts.iter().all(|a| a["result"]["result"] == "declined"),
        "{deposit}"
    );
    assert_eq!(
        wallet(&app, &client_id).await,
        (Decimal::ZERO, Decimal::ZERO)
    );
}

pub async fn no_result_in_time_expires_and_a_late_success_is_never_credited(app: App) {
    let client_id = approved_client(&app, "Berg").await;
    for provider in app.services.psp.names() {
        app.gateway
            .set_behavior(provider, SimulatedBehavior::Silent);
    }
    app.create_deposit(&client_id, "dep_late", "50.00", "USD")
        .await;
    let (status, deposit) = deposit_finished(&app, "dep_late").await;
    assert_eq!(status, "Succeeded");
    assert_eq!(deposit["status"], "expired", "{deposit}");
    assert_eq!(deposit["attempts"][0]["result"]["result"], "timed_out");
    let provider = deposit["attempts"][0]["provider"].as_str().unwrap();
    let late = PaymentEvent {
        provider: provider.to_string(),
        event_id: "evt_late".into(),
        deposit_id: "dep_late".into(),
        kind: PaymentEventKind::Succeeded,
        amount: Money::positive("amount", Decimal::new(5_000, 2), usd()).unwrap(),
        occurred_at: time::OffsetDateTime::now_utc(),
        provider_transaction_id: "tx_late".into(),
    };
    let applied = brokeros_app::deposits::apply_event(&app.services, &late)
        .await
        .unwrap();
    assert!(
        matches!(applied, brokeros_app::deposits::Applied::Flagged { .. }),
        "{applied:?}"
    );
    assert_eq!(
        wallet(&app, &client_id).await,
        (Decimal::ZERO, Decimal::ZERO)
    );
    let deposit = app.deposit("dep_late").await;
    assert_eq!(
        deposit["status"], "expired",
        "an ended deposit keeps its status"
    );
    assert_eq!(deposit["flags"].as_array().unwrap().len(), 1, "{deposit}");
}

pub async fn a_retried_deposit_request_starts_one_workflow(app: App) {
    app.run_payment_providers();
    let client_id = approved_client(&app, "Berg").await;
    let first = app
        .create_deposit(&client_id, "dep_twice", "30.00", "USD")
        .await;
    let again = app
        .create_deposit(&client_id, "dep_twice", "30.00", "USD")
        .await;
    assert_eq!(first["id"], again["id"]);
    let (_, deposit) = deposit_finished(&app, "dep_twice").await;
    assert_eq!(deposit["status"], "credited");
    // Other content under the same id is refused and writes nothing.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = app.counts().await;
    let sales = crate::harness::token("sales-1", brokeros_domain::principal::Role::Sales);
    let body = serde_json::json!({ "deposit_id": "dep_twice", "amount": "31.00", "currency": "USD", "method": "card" });
    let (status, reply) = app
        .send(
            brokeros_app::http::client::Call::post(
                &format!("/clients/{client_id}/deposits"),
                &body,
            )
            .token(&sales),
        )
        .await;
    assert_eq!(status, 409, "{reply}");
    assert_eq!(reply["code"], "deposit_id_reused");
    assert_eq!(app.counts().await, before);
}
