//! Deposits: provider events credit a wallet exactly once, however often and however
//! concurrently they arrive; events that do not match the intent are never credited.

use std::sync::Arc;

use brokeros_http::client::Call;
use brokeros_kernel::money::{Currency, Money};
use brokeros_kernel::principal::Role;
use brokeros_payments::deposits::{Applied, apply_event, consume};
use brokeros_payments::model::events::{PaymentEvent, PaymentEventKind};
use rust_decimal::Decimal;

use crate::harness::{App, token};

/// An onboarded (KYC-approved) client with a deposit of 100.00 EUR that its workflow routed to
/// a provider; answers the client and the provider. The providers' own webhooks are not
/// delivered ([`App::run_payment_providers`] is not running): the test sends the events.
async fn deposit_awaiting_provider(app: &App, deposit_id: &str) -> (String, String) {
    let client_id = app.register("Berg", "C01X00T47").await;
    let (_, arn) = app.start(&client_id).await;
    app.finished(&arn).await;
    app.create_deposit(&client_id, deposit_id, "100.00", "EUR")
        .await;
    let deposit = app.deposit_routed(deposit_id).await;
    assert_eq!(deposit["status"], "awaiting_provider", "{deposit}");
    let provider = deposit["attempts"][0]["provider"]
        .as_str()
        .unwrap()
        .to_string();
    (client_id, provider)
}

fn eur(cents: i64) -> Money {
    Money::positive(
        "amount",
        Decimal::new(cents, 2),
        Currency::from_code("EUR").unwrap(),
    )
    .unwrap()
}

fn event(
    provider: &str,
    deposit_id: &str,
    event_id: &str,
    kind: PaymentEventKind,
    amount: Money,
) -> PaymentEvent {
    PaymentEvent {
        provider: provider.into(),
        event_id: event_id.into(),
        deposit_id: deposit_id.into(),
        kind,
        amount,
        occurred_at: time::OffsetDateTime::from_unix_timestamp(
            time::OffsetDateTime::now_utc().unix_timestamp(),
        )
        .unwrap(),
        provider_transaction_id: format!("pay_{event_id}"),
    }
}

async fn wallet(app: &App, client_id: &str) -> Decimal {
    app.wallet(client_id, "EUR").await.0
}

pub async fn a_thousand_concurrent_deliveries_credit_once(app: App) {
    let app = Arc::new(app);
    let (client_id, provider) = deposit_awaiting_provider(&app, "dep_1000").await;
    let captured = event(
        &provider,
        "dep_1000",
        "evt_1",
        PaymentEventKind::Succeeded,
        eur(10_000),
    );
    let delivery = app
        .services
        .ports
        .psp
        .get(&provider)
        .unwrap()
        .deliver(&captured, captured.occurred_at)
        .unwrap();
    let delivery = Arc::new(delivery);
    let mut deliveries = Vec::new();
    for _ in 0..1000 {
        let (app, delivery) = (app.clone(), delivery.clone());
        let captured_provider = provider.clone();
        deliveries.push(tokio::spawn(async move {
            let path = format!("/webhooks/psp/{captured_provider}");
            app.send(Call::signed(
                &path,
                &delivery.headers,
                delivery.body.clone(),
            ))
            .await
            .0
        }));
    }
    for delivery in deliveries {
        let status = delivery.await.unwrap();
        // A delivery the queue could not take in time is answered 503, and the provider
        // delivers it again; none may be refused as invalid.
        assert!(status == 202 || status == 503, "status {status}");
    }
    while consume(
        &app.services.payments,
        app.services.ports.psp_events.as_ref(),
        10,
    )
    .await
    .unwrap()
        > 0
    {}
    assert_eq!(wallet(&app, &client_id).await, Decimal::new(10_000, 2));

    // The consumer may see an event again (at-least-once queues): still one credit.
    let mut again = Vec::new();
    for _ in 0..20 {
        let (app, captured) = (app.clone(), captured.clone());
        again.push(tokio::spawn(async move {
            apply_event(&app.services.payments, &captured).await
        }));
    }
    for outcome in again {
        assert!(matches!(
            outcome.await.unwrap().unwrap(),
            Applied::Nothing { .. }
        ));
    }
    assert_eq!(wallet(&app, &client_id).await, Decimal::new(10_000, 2));
    let sales = token("sales-1", Role::Sales);
    let (_, deposit) = app
        .send(Call::get("/deposits/dep_1000").token(&sales))
        .await;
    assert_eq!(deposit["status"], "credited", "{deposit}");
}

pub async fn mismatched_and_unknown_events_are_never_credited(app: App) {
    let (client_id, provider) = deposit_awaiting_provider(&app, "dep_short").await;
    let short = event(
        &provider,
        "dep_short",
        "evt_1",
        PaymentEventKind::Succeeded,
        eur(9_999),
    );
    assert!(matches!(
        apply_event(&app.services.payments, &short).await.unwrap(),
        Applied::Flagged { .. }
    ));
    let exact = event(
        &provider,
        "dep_short",
        "evt_2",
        PaymentEventKind::Succeeded,
        eur(10_000),
    );
    assert!(matches!(
        apply_event(&app.services.payments, &exact).await.unwrap(),
        Applied::Flagged { .. }
    ));
    let unknown = event(
        &provider,
        "dep_nobody",
        "evt_3",
        PaymentEventKind::Succeeded,
        eur(10_000),
    );
    assert_eq!(
        apply_event(&app.services.payments, &unknown).await.unwrap(),
        Applied::Unmatched
    );
    assert_eq!(wallet(&app, &client_id).await, Decimal::ZERO);
    let sales = token("sales-1", Role::Sales);
    let (_, deposit) = app
        .send(Call::get("/deposits/dep_short").token(&sales))
        .await;
    assert_eq!(deposit["status"], "flagged", "{deposit}");
    assert_eq!(deposit["flags"].as_array().unwrap().len(), 2);
}

pub async fn a_decline_closes_the_attempt_without_credit(app: App) {
    let (client_id, provider) = deposit_awaiting_provider(&app, "dep_declined").await;
    let declined = event(
        &provider,
        "dep_declined",
        "evt_1",
        PaymentEventKind::Declined {
            reason: "do_not_honor".into(),
        },
        eur(10_000),
    );
    assert_eq!(
        apply_event(&app.services.payments, &declined)
            .await
            .unwrap(),
        Applied::Declined {
            reason: "do_not_honor".into()
        }
    );
    assert_eq!(wallet(&app, &client_id).await, Decimal::ZERO);
    let sales = token("sales-1", Role::Sales);
    let (_, deposit) = app
        .send(Call::get("/deposits/dep_declined").token(&sales))
        .await;
    assert_eq!(deposit["status"], "awaiting_provider");
    assert_eq!(
        deposit["attempts"][0]["result"]["result"], "declined",
        "{deposit}"
    );
    let (status, _) = app
        .send(Call::get("/deposits/dep_declined").token(&token("portal-mallory", Role::Client)))
        .await;
    assert_eq!(status, 403);
}
