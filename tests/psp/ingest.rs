//! Provider webhook intake (`ingest`): every routed provider's simulated webhook authenticates and
//! queues once; forged, replayed or foreign deliveries are refused.

use std::sync::Arc;

use axum::http::{self, HeaderMap};
use brokeros_kernel::Error;
use brokeros_local::{LocalEventQueue, LocalQueueConfig};
use brokeros_payments::model::events::PaymentEvent;
use brokeros_payments::model::webhook::*;
use brokeros_payments::model::{PaymentMethod, RoutingRules};
use brokeros_payments::psp::EventQueue;
use brokeros_payments::psp::webhooks::*;
use time::OffsetDateTime;

#[tokio::test]
async fn every_routed_provider_has_a_simulated_webhook_that_authenticates() {
    use brokeros_kernel::money::{Currency, Money};
    use brokeros_payments::model::events::PaymentEventKind;
    let rules = RoutingRules::embedded_default();
    let providers = brokeros_local::simulated_providers_for(&rules);
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn brokeros_store::Store> =
        Arc::new(brokeros_store_sqlite::SqliteStore::open(&dir.path().join("q.db")).unwrap());
    let queue = LocalEventQueue::new(
        store,
        Arc::new(brokeros_kernel::SystemClock),
        LocalQueueConfig::new("psp-test"),
    )
    .unwrap();
    let now =
        OffsetDateTime::from_unix_timestamp(OffsetDateTime::now_utc().unix_timestamp()).unwrap();
    assert!(!rules.document().providers.is_empty());
    for descriptor in &rules.document().providers {
        let adapter = providers
            .get(&descriptor.id)
            .expect("an adapter per provider");
        let currency = if descriptor
            .methods
            .iter()
            .all(|m| *m == PaymentMethod::Crypto)
        {
            Currency::from_code("USDT").unwrap()
        } else {
            Currency::from_code("EUR").unwrap()
        };
        let event = PaymentEvent {
            provider: descriptor.id.clone(),
            event_id: "evt_1".into(),
            deposit_id: format!("dep_{}", descriptor.id),
            kind: PaymentEventKind::Succeeded,
            amount: Money::positive("amount", rust_decimal::Decimal::new(5_000, 2), currency)
                .unwrap(),
            occurred_at: now,
            provider_transaction_id: "tx_1".into(),
        };
        let delivery = adapter.deliver(&event, now).unwrap();
        let mut headers = HeaderMap::new();
        for (name, value) in &delivery.headers {
            headers.insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        let outcome = ingest(
            &providers,
            &queue,
            &descriptor.id,
            &HttpHeaders(&headers),
            &delivery.body,
            now,
        )
        .await
        .unwrap();
        assert!(
            matches!(outcome, IngestOutcome::Queued { .. }),
            "{}",
            descriptor.id
        );
        // Another provider's endpoint refuses it: secrets differ per provider.
        let other = rules
            .document()
            .providers
            .iter()
            .find(|d| d.id != descriptor.id)
            .unwrap();
        assert!(
            ingest(
                &providers,
                &queue,
                &other.id,
                &HttpHeaders(&headers),
                &delivery.body,
                now
            )
            .await
            .is_err()
        );
    }
}
use brokeros_kernel::money::{Currency, Money};
use brokeros_payments::model::events::PaymentEventKind;
use brokeros_store::{Store, Table};
use http::HeaderValue;
use std::str::FromStr;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-11-24 10:00:00 UTC);

struct FixedClock;
impl brokeros_kernel::Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        NOW
    }
}

fn sqlite() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = brokeros_store_sqlite::SqliteStore::open(&dir.path().join("q.sqlite3")).unwrap();
    (Arc::new(store), dir)
}

fn header_map(pairs: &[(String, String)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in pairs {
        map.append(
            http::HeaderName::from_str(k).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    map
}

fn event(provider: &str, event_id: &str) -> PaymentEvent {
    PaymentEvent {
        provider: provider.into(),
        event_id: event_id.into(),
        deposit_id: "dep_1".into(),
        kind: PaymentEventKind::Succeeded,
        amount: Money::positive(
            "amount",
            rust_decimal_from("250.00"),
            Currency::from_code("USD").unwrap(),
        )
        .unwrap(),
        occurred_at: NOW,
        provider_transaction_id: "tx_1".into(),
    }
}

fn rust_decimal_from(text: &str) -> brokeros_payments::model::Decimal {
    brokeros_payments::model::Decimal::from_str(text).unwrap()
}

#[test]
fn http_headers_are_read_without_regard_to_case_and_repeats_are_refused() {
    let mut map = HeaderMap::new();
    map.insert("X-Acquirer-Timestamp", HeaderValue::from_static("123"));
    map.append("x-crypto-signature", HeaderValue::from_static("a"));
    map.append("x-crypto-signature", HeaderValue::from_static("b"));
    map.insert("x-binary", HeaderValue::from_bytes(b"\xff\xfe").unwrap());
    let headers = HttpHeaders(&map);
    assert_eq!(
        headers.lookup("x-acquirer-timestamp"),
        HeaderLookup::Value("123")
    );
    assert_eq!(
        headers.lookup("X-ACQUIRER-TIMESTAMP"),
        HeaderLookup::Value("123")
    );
    assert_eq!(headers.lookup("x-crypto-signature"), HeaderLookup::Invalid);
    assert_eq!(headers.lookup("x-binary"), HeaderLookup::Invalid);
    assert_eq!(headers.lookup("x-missing"), HeaderLookup::Missing);
}

#[test]
fn the_registry_never_shows_secrets() {
    let providers = brokeros_local::simulated_providers();
    assert_eq!(
        providers.names().collect::<Vec<_>>(),
        ["simcard", "simcrypto"]
    );
    let debug = format!("{providers:?}");
    assert!(
        !debug.contains("simulated-card-acquirer-webhooks"),
        "{debug}"
    );
    assert!(
        !debug.contains("simulated-crypto-processor-webhooks"),
        "{debug}"
    );
}

#[tokio::test]
async fn a_delivery_is_queued_once_however_often_it_comes() {
    let (store, _dir) = sqlite();
    let queue = LocalEventQueue::new(
        store.clone(),
        Arc::new(FixedClock),
        LocalQueueConfig::new("psp-events"),
    )
    .unwrap();
    let providers = brokeros_local::simulated_providers();
    for name in [
        brokeros_local::SIMULATED_CARD,
        brokeros_local::SIMULATED_CRYPTO,
    ] {
        let provider = providers.get(name).unwrap();
        let e = event(name, "evt_1");
        let delivery = provider.deliver(&e, NOW).unwrap();
        let headers = header_map(&delivery.headers);
        let mut ids = Vec::new();
        for _ in 0..3 {
            match ingest(
                &providers,
                &queue,
                name,
                &HttpHeaders(&headers),
                &delivery.body,
                NOW,
            )
            .await
            .unwrap()
            {
                IngestOutcome::Queued { message_id, event } => {
                    assert_eq!(event, e);
                    ids.push(message_id);
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(ids.windows(2).all(|w| w[0] == w[1]), "one message: {ids:?}");
    }
    // One message per provider (their dedup ids differ), both in the deposit's group.
    let received = queue.receive(10).await.unwrap();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].group_id, "dep_1");
    assert_eq!(received[0].dedup_id, "simcard:evt_1");
    assert_eq!(received[1].dedup_id, "simcrypto:evt_1");
    assert_eq!(
        PaymentEvent::from_message(&received[1].body).unwrap(),
        event(brokeros_local::SIMULATED_CRYPTO, "evt_1")
    );
}

#[tokio::test]
async fn rejected_and_ignored_deliveries_write_nothing() {
    let (store, _dir) = sqlite();
    let queue = LocalEventQueue::new(
        store.clone(),
        Arc::new(FixedClock),
        LocalQueueConfig::new("psp-events"),
    )
    .unwrap();
    let providers = brokeros_local::simulated_providers();
    let card = providers.get(brokeros_local::SIMULATED_CARD).unwrap();
    let delivery = card
        .deliver(&event(brokeros_local::SIMULATED_CARD, "evt_2"), NOW)
        .unwrap();
    let headers = header_map(&delivery.headers);

    let forged_body = String::from_utf8(delivery.body.clone())
        .unwrap()
        .replace("25000", "99999");
    let forged = ingest(
        &providers,
        &queue,
        brokeros_local::SIMULATED_CARD,
        &HttpHeaders(&headers),
        forged_body.as_bytes(),
        NOW,
    )
    .await;
    assert_eq!(
        forged,
        Err(IngestError::Rejected(WebhookError::BadSignature))
    );
    let answered = brokeros_http::ingest_error(forged.unwrap_err(), brokeros_local::SIMULATED_CARD);
    assert_eq!(brokeros_http::error_status(&answered), 401);

    let late = ingest(
        &providers,
        &queue,
        brokeros_local::SIMULATED_CARD,
        &HttpHeaders(&headers),
        &delivery.body,
        NOW + time::Duration::minutes(10),
    )
    .await;
    assert!(matches!(
        late,
        Err(IngestError::Rejected(WebhookError::Expired { .. }))
    ));

    // The crypto processor's endpoint does not take the card acquirer's deliveries.
    let crossed = ingest(
        &providers,
        &queue,
        brokeros_local::SIMULATED_CRYPTO,
        &HttpHeaders(&headers),
        &delivery.body,
        NOW,
    )
    .await;
    assert!(matches!(
        crossed,
        Err(IngestError::Rejected(WebhookError::MissingHeader { .. }))
    ));

    let unknown = ingest(
        &providers,
        &queue,
        "nosuchpsp",
        &HttpHeaders(&headers),
        &delivery.body,
        NOW,
    )
    .await;
    assert_eq!(unknown, Err(IngestError::UnknownProvider));
    assert!(matches!(
        Error::from(unknown.unwrap_err()),
        Error::NotFound { .. }
    ));

    let dispute = br#"{"id":"evt_d","type":"dispute.created","data":{}}"#;
    let signed = header_map(&card.sign(dispute, NOW.unix_timestamp()));
    assert_eq!(
        ingest(
            &providers,
            &queue,
            brokeros_local::SIMULATED_CARD,
            &HttpHeaders(&signed),
            dispute,
            NOW
        )
        .await,
        Ok(IngestOutcome::Ignored {
            event_type: "dispute.created".into()
        })
    );

    assert_eq!(store.count_items(Table::Main).await.unwrap(), 0);
    assert!(queue.receive(10).await.unwrap().is_empty());
}
