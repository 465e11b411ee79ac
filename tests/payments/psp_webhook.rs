//! `POST /webhooks/psp/{provider}`: signed deliveries are queued once, whatever is delivered
//! again; anything that does not authenticate is refused and writes nothing.

use brokeros_http::client::Call;
use brokeros_kernel::money::{Currency, Money};
use brokeros_payments::model::events::{PaymentEvent, PaymentEventKind};
use rust_decimal::Decimal;

use crate::harness::App;

fn captured(now: time::OffsetDateTime) -> PaymentEvent {
    PaymentEvent {
        provider: "simcard".into(),
        event_id: "evt_42".into(),
        deposit_id: "dep_42".into(),
        kind: PaymentEventKind::Succeeded,
        amount: Money::positive(
            "amount",
            Decimal::new(10_000, 2),
            Currency::from_code("EUR").unwrap(),
        )
        .unwrap(),
        occurred_at: now,
        provider_transaction_id: "pay_42".into(),
    }
}

fn call<'a>(headers: &'a [(String, String)], body: &[u8]) -> Call<'a> {
    Call::signed("/webhooks/psp/simcard", headers, body.to_vec())
}

pub async fn provider_webhooks_are_queued_once_and_forgeries_write_nothing(app: App) {
    // Providers report whole seconds.
    let now =
        time::OffsetDateTime::from_unix_timestamp(time::OffsetDateTime::now_utc().unix_timestamp())
            .unwrap();
    let delivery = app
        .services
        .ports
        .psp
        .get("simcard")
        .unwrap()
        .deliver(&captured(now), now)
        .unwrap();

    let before = app.counts().await;
    let mut forged = delivery.headers.clone();
    for (name, value) in forged.iter_mut() {
        if name.contains("signature") {
            *value = format!("v1={}", "0".repeat(64));
        }
    }
    let (status, reply) = app.send(call(&forged, &delivery.body)).await;
    assert_eq!(status, 401, "{reply}");
    assert_eq!(reply["code"], "unauthenticated");
    let mut tampered = delivery.body.clone();
    let at = tampered.iter().position(|b| *b == b'1').unwrap();
    tampered[at] = b'9';
    let (status, _) = app.send(call(&delivery.headers, &tampered)).await;
    assert_eq!(status, 401);
    let (status, _) = app
        .send(
            Call::post("/webhooks/psp/nosuchpsp", &serde_json::Value::Null)
                .raw_body(delivery.body.clone()),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(
        app.counts().await,
        before,
        "refused deliveries write nothing"
    );

    let (status, first) = app.send(call(&delivery.headers, &delivery.body)).await;
    assert_eq!(status, 202, "{first}");
    assert_eq!(first["event_id"], "evt_42");
    let queued = app.counts().await;
    let (status, again) = app.send(call(&delivery.headers, &delivery.body)).await;
    assert_eq!(status, 202, "{again}");
    assert_eq!(
        again["message_id"], first["message_id"],
        "one message per provider event"
    );
    assert_eq!(
        app.counts().await,
        queued,
        "a repeated delivery adds nothing"
    );
    let batch = app.services.ports.psp_events.receive(10).await.unwrap();
    assert_eq!(batch.len(), 1);
    assert_eq!(
        PaymentEvent::from_message(&batch[0].body).unwrap(),
        captured(now)
    );
}

/// Issue 11, item 10: a signed delivery whose JSON repeats a key in one object (here the
/// amount's `value`: the provider's parser may read the first, ours the last) is refused with
/// 400 `duplicate_key` naming its path; nothing is stored or queued.
pub async fn a_delivery_with_a_duplicate_json_key_writes_nothing(app: App) {
    let now =
        time::OffsetDateTime::from_unix_timestamp(time::OffsetDateTime::now_utc().unix_timestamp())
            .unwrap();
    let simcard = app.services.ports.psp.get("simcard").unwrap();
    let delivery = simcard.deliver(&captured(now), now).unwrap();
    let text = String::from_utf8(delivery.body).unwrap();
    assert!(text.contains(r#""currency":"EUR""#), "{text}");
    let doubled = text
        .replace(r#""currency":"EUR""#, r#""currency":"EUR","value":1"#)
        .into_bytes();
    let headers = simcard.sign(&doubled, now.unix_timestamp());

    let before = app.counts().await;
    let (status, reply) = app.send(call(&headers, &doubled)).await;
    assert_eq!(status, 400, "{reply}");
    assert_eq!(reply["code"], "duplicate_key", "{reply}");
    assert_eq!(reply["field"], "data.payment.amount.value", "{reply}");
    assert_eq!(
        app.counts().await,
        before,
        "a refused delivery writes nothing"
    );
    assert!(
        app.services
            .ports
            .psp_events
            .receive(10)
            .await
            .unwrap()
            .is_empty(),
        "nothing is queued"
    );
}
