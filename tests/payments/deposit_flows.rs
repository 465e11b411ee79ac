//! The deposit workflow end to end (`statemachines/deposit.asl.json` on the local engine): the
//! simulated providers answer by signed webhooks through the router and the event consumer,
//! as in `brokeros serve`. Routing order, cascading on declines and outages, expiry, and the
//! trading account funded once.

use std::time::Duration;

use brokeros_kernel::money::{Currency, Money};
use brokeros_ledger::model::AccountId;
use brokeros_local::SimulatedBehavior;
use brokeros_payments::model::events::{PaymentEvent, PaymentEventKind};
use brokeros_payments::model::routing::DepositIntent;
use brokeros_payments::model::{PaymentMethod, RiskLevel};
use brokeros_payments::routing::{active_routing_rules, load_routing_stats};
use brokeros_store::{Condition, Table, WriteOp};
use rust_decimal::Decimal;
use serde_json::Value;

use crate::harness::App;

/// A KYC-approved client (their trading account is in USD).
pub async fn approved_client(app: &App, last_name: &str) -> String {
    let client_id = app.register(last_name, "C01X00T47").await;
    let (_, arn) = app.start(&client_id).await;
    app.finished(&arn).await;
    client_id
}

/// The providers routing would try for a card deposit of `amount` USD from Germany, in order.
async fn routing_order(app: &App, client_id: &str, amount: Decimal) -> Vec<String> {
    let rules = active_routing_rules(&app.services.payments).await.unwrap();
    let now = time::OffsetDateTime::now_utc();
    let stats = load_routing_stats(&app.services.payments, &rules, now)
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
    app.wallet(client_id, "USD").await
}

/// Waits for the deposit's workflow to end and answers its status and the deposit.
pub async fn deposit_finished(app: &App, deposit_id: &str) -> (String, Value) {
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
    // As long as the API allows: the platform's comment is cut, the operation id is whole.
    let deposit_id = format!("dep_paid_{}", "x".repeat(71));
    let created = app
        .create_deposit(&client_id, &deposit_id, "250.00", "USD")
        .await;
    assert_eq!(created["status"], "created");
    let (status, deposit) = deposit_finished(&app, &deposit_id).await;
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
    assert_eq!(
        app.trading_account_money(login, "USD").await,
        (Decimal::new(25_000, 2), Decimal::new(25_000, 2)),
        "the ledger and the platform"
    );

    // Every state change is audited under the deposit.
    let admin = crate::harness::token("admin-1", brokeros_kernel::principal::Role::Admin);
    let (_, client) = app
        .send(
            brokeros_http::client::Call::get(&format!("/clients/{client_id}/deposits"))
                .token(&admin),
        )
        .await;
    assert_eq!(client["items"][0]["id"], deposit_id, "{client}");
    let (_, shown) = app
        .send(
            brokeros_http::client::Call::get(&format!("/clients/{client_id}/wallet")).token(&admin),
        )
        .await;
    assert_eq!(shown["deposits"][0]["deposit_id"], deposit_id, "{shown}");
    assert_eq!(shown["deposits"][0]["status"], "credited", "{shown}");
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
    for provider in app.services.ports.psp.names() {
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
    assert!(deposit["declined_because"].is_string(), "{deposit}");
    assert!(
        deposit.get("flags").is_none(),
        "a decline is no flag: {deposit}"
    );
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
    for provider in app.services.ports.psp.names() {
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
    let applied = brokeros_payments::deposits::apply_event(&app.services.payments, &late)
        .await
        .unwrap();
    assert!(
        matches!(
            applied,
            brokeros_payments::deposits::Applied::Flagged { .. }
        ),
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
    let login = deposit["funding"]["login"].as_u64().unwrap();
    let platform = app.platform_account(login).await;
    assert_eq!(
        platform.balance,
        Decimal::new(3_000, 2),
        "credited and funded once"
    );
    // Other content under the same id is refused and writes nothing.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = app.counts().await;
    let sales = crate::harness::token("sales-1", brokeros_kernel::principal::Role::Sales);
    let body = serde_json::json!({ "deposit_id": "dep_twice", "amount": "31.00", "currency": "USD", "method": "card" });
    let (status, reply) = app
        .send(
            brokeros_http::client::Call::post(&format!("/clients/{client_id}/deposits"), &body)
                .token(&sales),
        )
        .await;
    assert_eq!(status, 409, "{reply}");
    assert_eq!(reply["code"], "deposit_id_reused");
    assert_eq!(app.counts().await, before);
}

/// From intent to funded, every change of the deposit is one transaction that carries its audit
/// event, and every write of the deposit is conditional on the version read (no
/// read-modify-write race can lose an update). Prints the write requests per deposit for
/// docs/PERFORMANCE.md (`bash bench/deposit-writes.sh`).
pub async fn each_deposit_state_change_is_one_transaction_with_its_audit_event(app: App) {
    app.run_payment_providers();
    let recording = app.recording.clone().expect("a recording app");
    let client_id = approved_client(&app, "Berg").await;
    let before = recording.committed().len();
    app.create_deposit(&client_id, "dep_writes", "40.00", "USD")
        .await;
    let (_, deposit) = deposit_finished(&app, "dep_writes").await;
    assert_eq!(deposit["funding"]["status"], "funded", "{deposit}");
    let committed = recording.committed()[before..].to_vec();

    let deposit_key = brokeros_payments::keys::deposit("dep_writes");
    let audit_stream = brokeros_kernel::keys::audit_stream("deposit", "dep_writes");
    let mut state_changes = 0;
    for transaction in &committed {
        let writes_deposit = transaction.iter().any(|op| {
            matches!(op, WriteOp::Put { table: Table::Main, item, .. } if item.key == deposit_key)
        });
        let audit_events = transaction
            .iter()
            .filter(|op| {
                matches!(op, WriteOp::Put { table: Table::Audit, item, .. } if item.key.pk == audit_stream)
            })
            .count();
        assert_eq!(
            (writes_deposit, audit_events),
            (writes_deposit, usize::from(writes_deposit)),
            "a deposit write without its audit event, or an event without the write: {transaction:?}"
        );
        for op in transaction {
            if let WriteOp::Put {
                table: Table::Main,
                item,
                condition,
            } = op
                && item.key == deposit_key
            {
                assert!(
                    matches!(condition, Condition::NotExists | Condition::VersionIs(_)),
                    "an unconditional deposit write: {condition:?}"
                );
            }
        }
        state_changes += usize::from(writes_deposit);
    }
    // created, routed, awaiting payment (token parked), credited, funding started, funded.
    assert_eq!(state_changes, 6, "{deposit}");
    let items: usize = committed.iter().map(Vec::len).sum();
    let deposit_items: usize = committed
        .iter()
        .filter(|t| {
            t.iter()
                .any(|op| matches!(op, WriteOp::Put { item, .. } if item.key == deposit_key))
        })
        .map(Vec::len)
        .sum();
    println!(
        "deposit writes: {state_changes} deposit state changes in {state_changes} transactions ({deposit_items} items); \
         {} transactions ({items} items) in all from intent to funded, including the workflow engine's \
         checkpoints, the event queue and the webhook's deduplication",
        committed.len()
    );
}

pub async fn routing_rules_and_provider_health_are_changed_by_finance_only(app: App) {
    use crate::harness::token;
    use brokeros_http::client::Call;
    use brokeros_kernel::principal::Role;
    let client_id = approved_client(&app, "Berg").await;
    let order = routing_order(&app, &client_id, Decimal::new(6_000, 2)).await;
    let finance = token("finance-1", Role::Finance);
    let sales = token("sales-1", Role::Sales);
    let (status, rules) = app
        .send(Call::get("/payments/routing").token(&finance))
        .await;
    assert_eq!(status, 200, "{rules}");
    assert_eq!(rules["in_force"], 1);
    let mut next = rules["items"][0].clone();
    next["version"] = 2.into();

    // Refused changes write nothing: another role, a stale version, a broken document.
    let before = app.counts().await;
    let (status, _) = app
        .send(Call::put("/payments/routing", &next).token(&sales))
        .await;
    assert_eq!(status, 403);
    let mut stale = next.clone();
    stale["version"] = 1.into();
    let (status, reply) = app
        .send(Call::put("/payments/routing", &stale).token(&finance))
        .await;
    assert!((400..500).contains(&status), "{status} {reply}");
    let mut broken = next.clone();
    broken["providers"] = Value::Array(vec![]);
    let (status, reply) = app
        .send(Call::put("/payments/routing", &broken).token(&finance))
        .await;
    assert!((400..500).contains(&status), "{status} {reply}");
    assert!(
        reply["code"].is_string() && reply["message"].is_string(),
        "{reply}"
    );
    // A limit outside the one grammar of amounts.
    let mut lenient = next.clone();
    let currency = lenient["providers"][0]["currencies"]
        .as_object()
        .and_then(|c| c.keys().next().cloned())
        .expect("the first provider has a currency");
    lenient["providers"][0]["currencies"][&currency]["max_amount"] = "5e4".into();
    let (status, reply) = app
        .send(Call::put("/payments/routing", &lenient).token(&finance))
        .await;
    assert_eq!(status, 400, "{reply}");
    assert_eq!(reply["code"], "invalid_amount", "{reply}");
    assert_eq!(
        reply["field"],
        format!("providers[0].currencies.{currency}.max_amount"),
        "{reply}"
    );
    let body = serde_json::json!({ "health": "down", "note": "INC-1" });
    let path = format!("/payments/providers/{}/health", order[0]);
    let (status, _) = app.send(Call::put(&path, &body).token(&sales)).await;
    assert_eq!(status, 403);
    assert_eq!(app.counts().await, before);

    let (status, reply) = app
        .send(Call::put("/payments/routing", &next).token(&finance))
        .await;
    assert!(status == 200 || status == 201, "{status} {reply}");
    let (status, reply) = app.send(Call::put(&path, &body).token(&finance)).await;
    assert_eq!(status, 200, "{reply}");

    // The next deposit routes under version 2 and passes over the provider that is down.
    app.run_payment_providers();
    app.create_deposit(&client_id, "dep_v2", "60.00", "USD")
        .await;
    let (_, deposit) = deposit_finished(&app, "dep_v2").await;
    assert_eq!(deposit["status"], "credited", "{deposit}");
    assert_eq!(deposit["routing_version"], 2);
    assert_ne!(
        deposit["attempts"][0]["provider"],
        order[0].as_str(),
        "{deposit}"
    );
}

pub async fn a_platform_outage_while_funding_is_retried_and_books_once(app: App) {
    app.run_payment_providers();
    let client_id = approved_client(&app, "Berg").await;
    // The platform refuses one call, then books one whose reply is lost: only the retry with
    // the same operation id (the deposit id) tells the workflow it was booked.
    app.platform.fail_next_calls(1);
    app.platform.lose_next_replies(1);
    app.create_deposit(&client_id, "dep_flaky", "80.00", "USD")
        .await;
    let (status, deposit) = deposit_finished(&app, "dep_flaky").await;
    assert_eq!(status, "Succeeded", "{deposit}");
    assert_eq!(deposit["funding"]["status"], "funded", "{deposit}");
    let login = deposit["funding"]["login"].as_u64().unwrap();
    let platform = app.platform_account(login).await;
    assert_eq!(platform.balance, Decimal::new(8_000, 2), "booked once");
    let account = AccountId::trading_account(login, usd()).unwrap();
    let booked = brokeros_ledger::balance(&app.services, &account)
        .await
        .unwrap();
    assert_eq!(booked.available, Decimal::new(8_000, 2));
}

/// The client's trading account login.
async fn login_of(app: &App, client_id: &str) -> u64 {
    app.client(client_id).await["trading_accounts"][0]["login"]
        .as_u64()
        .expect("an approved client has a trading account")
}

pub async fn a_funding_the_platform_refuses_returns_the_money_to_the_wallet(app: App) {
    app.run_payment_providers();
    let client_id = approved_client(&app, "Berg").await;
    // The dealer archived the account: the platform refuses the deposit for good (no retry).
    let login = login_of(&app, &client_id).await;
    app.platform.archive_account(login).await.unwrap();
    app.create_deposit(&client_id, "dep_back", "55.00", "USD")
        .await;
    let (status, deposit) = deposit_finished(&app, "dep_back").await;
    assert_eq!(status, "Succeeded", "{deposit}");
    assert_eq!(deposit["status"], "credited", "{deposit}");
    assert_eq!(deposit["funding"]["status"], "returned", "{deposit}");
    assert_eq!(
        wallet(&app, &client_id).await,
        (Decimal::new(5_500, 2), Decimal::ZERO),
        "back in the wallet by a reversing entry"
    );
    let account = AccountId::trading_account(login, usd()).unwrap();
    let booked = brokeros_ledger::balance(&app.services, &account)
        .await
        .unwrap();
    assert_eq!(booked.available, Decimal::ZERO);
    assert_eq!(
        app.services
            .ports
            .trading
            .operation("dep_back")
            .await
            .unwrap(),
        None
    );

    // Repeated (a retried Lambda), the return changes nothing more.
    let payload = serde_json::json!({
        "action": "return", "deposit_id": "dep_back", "execution_id": "test-execution",
        "error": "AccountNotFound", "cause": "archived"
    });
    let output = brokeros_app::workflow_tasks::TaskFunction::DepositFunding
        .run(&app.services, payload)
        .await
        .unwrap();
    assert_eq!(output["funding"], "returned");
    assert_eq!(
        wallet(&app, &client_id).await,
        (Decimal::new(5_500, 2), Decimal::ZERO)
    );
}

pub async fn a_funding_whose_every_reply_was_lost_is_found_booked_and_never_returned(app: App) {
    app.run_payment_providers();
    let client_id = approved_client(&app, "Berg").await;
    let login = login_of(&app, &client_id).await;
    // The platform books the deposit, and every reply after that is lost.
    app.platform.lose_next_replies(1_000_000);
    app.create_deposit(&client_id, "dep_lost", "70.00", "USD")
        .await;
    let mut booked = None;
    for _ in 0..400 {
        booked = app.platform.booked_operation("dep_lost").await.unwrap();
        if booked.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        booked.is_some(),
        "the funding call ran (its replies are lost)"
    );

    // What the workflow's ReturnToWallet step does once the funding retries are spent: while
    // the platform cannot say whether it booked the deposit, nothing is returned.
    let payload = serde_json::json!({
        "action": "return", "deposit_id": "dep_lost", "execution_id": "test-execution",
        "error": "TradingPlatformUnavailable", "cause": "every reply lost"
    });
    let unsure = brokeros_app::workflow_tasks::TaskFunction::DepositFunding
        .run(&app.services, payload.clone())
        .await;
    assert!(unsure.is_err(), "{unsure:?}");
    assert_eq!(
        wallet(&app, &client_id).await,
        (Decimal::ZERO, Decimal::ZERO),
        "not returned while unsure"
    );
    // Once the platform answers, the lookup finds the deposit booked: funded, not returned.
    app.platform.lose_next_replies(0);
    let output = brokeros_app::workflow_tasks::TaskFunction::DepositFunding
        .run(&app.services, payload)
        .await
        .unwrap();
    assert_eq!(output["funding"], "funded", "{output}");
    let (status, deposit) = deposit_finished(&app, "dep_lost").await;
    assert_eq!(status, "Succeeded", "{deposit}");
    assert_eq!(deposit["funding"]["status"], "funded", "{deposit}");
    let platform = app.platform_account(login).await;
    assert_eq!(platform.balance, Decimal::new(7_000, 2), "booked once");
    assert_eq!(
        wallet(&app, &client_id).await,
        (Decimal::ZERO, Decimal::ZERO)
    );
    let account = AccountId::trading_account(login, usd()).unwrap();
    let ledger = brokeros_ledger::balance(&app.services, &account)
        .await
        .unwrap();
    assert_eq!(ledger.available, Decimal::new(7_000, 2));
}

pub async fn bad_deposit_requests_write_nothing(app: App) {
    use crate::harness::token;
    use brokeros_http::client::Call;
    use brokeros_kernel::principal::Role;
    use serde_json::json;
    let client_id = approved_client(&app, "Berg").await;
    let unverified = app.register("Vogel", "C01X00T48").await;
    let sales = token("sales-1", Role::Sales);
    let stranger = token("portal-mallory", Role::Client);
    let path = format!("/clients/{client_id}/deposits");
    let deposit = |amount: Value, currency: &str, method: &str| json!({ "deposit_id": "dep_bad", "amount": amount, "currency": currency, "method": method });
    let before = app.counts().await;
    let cases: Vec<(&str, String, Value, &str, u16)> = vec![
        (
            "more decimals than USD has",
            path.clone(),
            deposit(json!("10.001"), "USD", "card"),
            &sales,
            400,
        ),
        (
            "JPY has no decimals",
            path.clone(),
            deposit(json!("10.5"), "JPY", "card"),
            &sales,
            400,
        ),
        (
            "zero",
            path.clone(),
            deposit(json!("0"), "USD", "card"),
            &sales,
            400,
        ),
        (
            "negative",
            path.clone(),
            deposit(json!("-5.00"), "USD", "card"),
            &sales,
            400,
        ),
        (
            "unknown currency",
            path.clone(),
            deposit(json!("10.00"), "XXX", "card"),
            &sales,
            400,
        ),
        (
            "unknown method",
            path.clone(),
            deposit(json!("10.00"), "USD", "cheque"),
            &sales,
            400,
        ),
        (
            "amount of the wrong type",
            path.clone(),
            deposit(json!(["10"]), "USD", "card"),
            &sales,
            400,
        ),
        (
            "someone else's client",
            path.clone(),
            deposit(json!("10.00"), "USD", "card"),
            &stranger,
            403,
        ),
        (
            "a client whose KYC is not approved",
            format!("/clients/{unverified}/deposits"),
            deposit(json!("10.00"), "USD", "card"),
            &sales,
            409,
        ),
    ];
    for (case, path, body, caller, expected) in cases {
        let (status, reply) = app.send(Call::post(&path, &body).token(caller)).await;
        assert_eq!(status, expected, "{case}: {reply}");
        assert!(
            reply["code"].is_string() && reply["message"].is_string(),
            "{case}: {reply}"
        );
    }
    let mut oversized = deposit(json!("10.00"), "USD", "card");
    oversized["deposit_id"] = json!("d".repeat(200));
    let (status, reply) = app.send(Call::post(&path, &oversized).token(&sales)).await;
    assert_eq!(status, 400, "{reply}");
    assert_eq!(reply["field"], "deposit_id", "{reply}");
    assert_eq!(app.counts().await, before, "nothing was written");
}

/// An amount is a decimal string in the one grammar of `brokeros_kernel::money::amount`
/// (`-?(0|[1-9][0-9]*)(\.[0-9]+)?`). The forms once read leniently (`"1e3"` created a deposit of
/// 1,000 USD) and JSON numbers are refused with `invalid_amount` naming the field, and nothing
/// is written.
pub async fn a_deposit_amount_outside_the_grammar_is_refused_and_writes_nothing(app: App) {
    use crate::harness::token;
    use brokeros_http::client::Call;
    use brokeros_kernel::principal::Role;
    use serde_json::json;
    let client_id = approved_client(&app, "Berg").await;
    let sales = token("sales-1", Role::Sales);
    let path = format!("/clients/{client_id}/deposits");
    let deposit = |amount: Value| json!({ "deposit_id": "dep_lenient", "amount": amount, "currency": "USD", "method": "card" });
    let before = app.counts().await;
    for amount in [
        json!("1e3"),
        json!("1_000"),
        json!("+10.00"),
        json!(".5"),
        json!("5."),
        json!("00010.00"),
        json!(" 10.00"),
        json!(1000),
        json!(10.5),
    ] {
        let (status, reply) = app
            .send(Call::post(&path, &deposit(amount.clone())).token(&sales))
            .await;
        assert_eq!(status, 400, "{amount}: {reply}");
        assert_eq!(reply["code"], "invalid_amount", "{amount}: {reply}");
        assert_eq!(reply["field"], "amount", "{amount}: {reply}");
        assert!(reply["message"].is_string(), "{amount}: {reply}");
    }
    assert_eq!(app.counts().await, before, "nothing was written");
    let (status, reply) = app
        .send(Call::post(&path, &deposit(json!("1000.00"))).token(&sales))
        .await;
    assert_eq!(status, 201, "{reply}");
    assert_eq!(reply["amount"]["amount"], "1000.00", "{reply}");
}

/// The provider's result can be applied before the workflow parks its token (the webhook beat
/// the `await` task): the task then answers its own token at once, so the result is not lost.
pub async fn a_result_applied_before_the_workflow_waits_is_not_lost(app: App) {
    let client_id = approved_client(&app, "Berg").await;
    for provider in app.services.ports.psp.names() {
        app.gateway
            .set_behavior(provider, SimulatedBehavior::Silent);
    }
    app.create_deposit(&client_id, "dep_early", "20.00", "USD")
        .await;
    let deposit = app.deposit_routed("dep_early").await;
    let provider = deposit["attempts"][0]["provider"].as_str().unwrap();
    let captured = PaymentEvent {
        provider: provider.to_string(),
        event_id: "evt_early".into(),
        deposit_id: "dep_early".into(),
        kind: PaymentEventKind::Succeeded,
        amount: Money::positive("amount", Decimal::new(2_000, 2), usd()).unwrap(),
        occurred_at: time::OffsetDateTime::now_utc(),
        provider_transaction_id: "tx_early".into(),
    };
    brokeros_payments::deposits::apply_event(&app.services.payments, &captured)
        .await
        .unwrap();
    // A second `await` (as if its Lambda ran only now) with a token of its own.
    let recorder = std::sync::Arc::new(crate::harness::AnswerRecorder::default());
    let services = app.services.clone().with_workflow(recorder.clone());
    let payload = serde_json::json!({
        "action": "await", "deposit_id": "dep_early", "execution_id": "test-execution",
        "task_token": "token-parked-late"
    });
    let output = brokeros_app::workflow_tasks::TaskFunction::DepositRouting
        .run(&services, payload)
        .await
        .unwrap();
    assert_eq!(output["status"], "credited");
    let answers = recorder.answers.lock().unwrap().clone();
    assert_eq!(
        answers,
        vec![(
            "token-parked-late".to_string(),
            r#"success {"status":"credited"}"#.to_string()
        )]
    );
    // The workflow's own wait was answered too (by the consumer, or by its own `await`).
    let (status, deposit) = deposit_finished(&app, "dep_early").await;
    assert_eq!(status, "Succeeded", "{deposit}");
    assert_eq!(deposit["funding"]["status"], "funded", "{deposit}");
}

/// Waits until the deposit has the status `status`.
async fn deposit_reaches(app: &App, deposit_id: &str, status: &str) -> Value {
    for _ in 0..500 {
        let deposit = app.deposit(deposit_id).await;
        if deposit["status"] == status {
            return deposit;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "deposit {deposit_id} never reached {status}: {}",
        app.deposit(deposit_id).await
    );
}

/// The two crashes a deposit must survive: after its commit and before its workflow started
/// (Step Functions down, or the process stopped), and after the provider took the payment and
/// before its webhook was delivered. Each time the local Broker OS restarts from the store with
/// every in-memory state gone; the deposit is credited once.
pub async fn a_deposit_survives_crashes_between_its_commits_and_their_side_effects(app: App) {
    let client_id = approved_client(&app, "Berg").await;
    let app = app.restarted().await;
    let down = App::with_workflow_down(app.store.clone()).await;
    let created = down
        .create_deposit(&client_id, "dep_crash", "120.00", "USD")
        .await;
    assert_eq!(created["status"], "created", "{created}");
    let entries = down.outbox_entries().await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].effect.id(), "workflow#deposit#dep_crash");
    drop(down);

    // Restarted: the relay starts the workflow, which routes the deposit to a provider; the
    // provider owes its webhook when the process stops again.
    let app = app.restarted().await;
    let report = app.relay_outbox().await;
    assert_eq!((report.carried_out, report.failed), (1, 0), "{report:?}");
    assert!(app.outbox_entries().await.is_empty());
    deposit_reaches(&app, "dep_crash", "awaiting_provider").await;

    // Restarted with the providers delivering: the webhook they owed arrives, the deposit is
    // credited once and funds the trading account.
    let app = app.restarted().await;
    app.run_payment_providers();
    let (status, deposit) = deposit_finished(&app, "dep_crash").await;
    assert_eq!(status, "Succeeded", "{deposit}");
    assert_eq!(deposit["status"], "credited", "{deposit}");
    assert_eq!(deposit["funding"]["status"], "funded", "{deposit}");
    let login = deposit["funding"]["login"].as_u64().unwrap();
    let account = AccountId::trading_account(login, usd()).unwrap();
    let booked = brokeros_ledger::balance(&app.services, &account)
        .await
        .unwrap();
    assert_eq!(booked.available, Decimal::new(12_000, 2));
    // A relay pass after the fact has nothing to do and starts nothing twice.
    let report = app.relay_outbox().await;
    assert_eq!((report.carried_out, report.pending), (0, 0), "{report:?}");
}
