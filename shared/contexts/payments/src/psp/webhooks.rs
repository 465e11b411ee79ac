//! The payment-provider webhook's first step, `POST /webhooks/psp/{provider}`: find the
//! provider, authenticate and parse the delivery (`crate::model::webhook`), and
//! hand the event to the event queue — group = deposit, deduplication id = provider event id —
//! so the endpoint answers fast and the consumer applies the event later, exactly once per
//! deposit state change (the consumer is idempotent; the queue is at-least-once).
//!
//! Nothing is written for a delivery that does not authenticate or parse, nor for an event type
//! the provider's adapter ignores.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::model::events::PaymentEvent;
use crate::model::webhook::{
    CardAcquirer, CryptoProcessor, HeaderLookup, PaymentProvider, WebhookError, WebhookHeaders,
    WebhookSecret,
};
use crate::model::{PaymentMethod, RoutingRules};
use brokeros_kernel::Error;
use http::HeaderMap;
use time::OffsetDateTime;

use super::queue::{EventQueue, QueueError};

/// The simulated card acquirer's name and webhook secret. It signs only simulated payments,
/// so the secret is no secret (a real provider's comes from the secret store).
pub const SIMULATED_CARD: &str = "simcard";
const SIMULATED_CARD_SECRET: &[u8] = b"simulated-card-acquirer-webhooks";
/// The simulated crypto processor, and the confirmations it takes to count a transfer.
pub const SIMULATED_CRYPTO: &str = "simcrypto";
const SIMULATED_CRYPTO_SECRET: &[u8] = b"simulated-crypto-processor-webhooks";
pub const SIMULATED_CRYPTO_CONFIRMATIONS: u32 = 12;

/// An HTTP request's headers as the webhook adapters read them.
pub struct HttpHeaders<'a>(pub &'a HeaderMap);

impl WebhookHeaders for HttpHeaders<'_> {
    fn lookup(&self, name: &str) -> HeaderLookup<'_> {
        let mut values = self.0.get_all(name).iter();
        match (values.next(), values.next()) {
            (None, _) => HeaderLookup::Missing,
            (Some(value), None) => value
                .to_str()
                .map_or(HeaderLookup::Invalid, HeaderLookup::Value),
            (Some(_), Some(_)) => HeaderLookup::Invalid,
        }
    }
}

/// The payment providers whose webhooks are accepted, by name.
#[derive(Clone, Default)]
pub struct PaymentProviders {
    by_name: BTreeMap<String, Arc<dyn PaymentProvider>>,
}

impl fmt::Debug for PaymentProviders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The providers' own Debug redacts their secrets.
        f.debug_map().entries(self.by_name.iter()).finish()
    }
}

impl PaymentProviders {
    pub fn new() -> PaymentProviders {
        PaymentProviders::default()
    }

    /// Adds `provider` under its name (replacing one of the same name).
    pub fn with(mut self, provider: Arc<dyn PaymentProvider>) -> PaymentProviders {
        self.by_name.insert(provider.name().to_string(), provider);
        self
    }

    /// The simulated card acquirer ([`SIMULATED_CARD`]) and crypto processor
    /// ([`SIMULATED_CRYPTO`]), for `brokeros serve`, demos and tests.
    pub fn simulated() -> PaymentProviders {
        let card = CardAcquirer::new(
            SIMULATED_CARD,
            WebhookSecret::new(SIMULATED_CARD_SECRET).expect("the simulated secret is long enough"),
        )
        .expect("the simulated provider's name is valid");
        let crypto = CryptoProcessor::new(
            SIMULATED_CRYPTO,
            WebhookSecret::new(SIMULATED_CRYPTO_SECRET)
                .expect("the simulated secret is long enough"),
            SIMULATED_CRYPTO_CONFIRMATIONS,
        )
        .expect("the simulated provider's name is valid");
        PaymentProviders::new()
            .with(Arc::new(card))
            .with(Arc::new(crypto))
    }

    /// A simulated adapter for every provider of a routing document, so deposits routed to
    /// any of them can be confirmed locally by signed webhooks: a crypto processor for providers
    /// that take only crypto, a card acquirer's dialect for the others. Each signs with a secret
    /// of its own, derived from its name (simulated payments only).
    pub fn simulated_for(rules: &RoutingRules) -> PaymentProviders {
        rules.document().providers.iter().fold(
            PaymentProviders::simulated(),
            |providers, descriptor| {
                let secret = WebhookSecret::new(
                    format!("simulated-webhooks-of-{}", descriptor.id).into_bytes(),
                )
                .expect("a derived secret is long enough");
                let crypto_only = descriptor
                    .methods
                    .iter()
                    .all(|m| *m == PaymentMethod::Crypto);
                let adapter: Arc<dyn PaymentProvider> = if crypto_only {
                    Arc::new(
                        CryptoProcessor::new(
                            &descriptor.id,
                            secret,
                            SIMULATED_CRYPTO_CONFIRMATIONS,
                        )
                        .expect("routing provider ids are valid provider names"),
                    )
                } else {
                    Arc::new(
                        CardAcquirer::new(&descriptor.id, secret)
                            .expect("routing provider ids are valid provider names"),
                    )
                };
                providers.with(adapter)
            },
        )
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn PaymentProvider>> {
        self.by_name.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }
}

/// What became of an accepted delivery; both answer 2xx.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestOutcome {
    /// On the queue (or already there: a redelivery within the deduplication window).
    Queued {
        message_id: String,
        event: PaymentEvent,
    },
    /// Authentic, of a type the provider's adapter does not handle: dropped.
    Ignored { event_type: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestError {
    /// No provider of that name: 404.
    UnknownProvider,
    /// Did not authenticate (401) or parse (400); see [`WebhookError::code`].
    Rejected(WebhookError),
    /// The queue did not take the event: 503, and the provider delivers it again later.
    Queue(QueueError),
}

impl IngestError {
    pub fn http_status(&self) -> u16 {
        match self {
            IngestError::UnknownProvider => 404,
            IngestError::Rejected(e) => e.http_status(),
            IngestError::Queue(QueueError::Unavailable(_)) => 503,
            IngestError::Queue(QueueError::Invalid(_)) => 500,
        }
    }
}

impl fmt::Display for IngestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IngestError::UnknownProvider => f.write_str("no such payment provider"),
            IngestError::Rejected(e) => write!(f, "{e}"),
            IngestError::Queue(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for IngestError {}

impl From<IngestError> for Error {
    fn from(e: IngestError) -> Error {
        match e {
            IngestError::UnknownProvider => Error::NotFound {
                entity: "payment provider",
                id: String::new(),
            },
            IngestError::Rejected(e) => Error::from(e),
            IngestError::Queue(e) => Error::from(e),
        }
    }
}

/// Authenticates and parses a delivery for `provider`, then queues its event. The caller
/// limits the body size before (the router's 256 KB) and answers 2xx for either outcome.
/// The future is `Send` (axum handlers, Lambda), hence `Sync` headers: [`HttpHeaders`] is.
pub async fn ingest(
    providers: &PaymentProviders,
    queue: &dyn EventQueue,
    provider: &str,
    headers: &(dyn WebhookHeaders + Sync),
    body: &[u8],
    now: OffsetDateTime,
) -> Result<IngestOutcome, IngestError> {
    let adapter = providers
        .get(provider)
        .ok_or(IngestError::UnknownProvider)?;
    let event = match adapter.verify_and_parse(headers, body, now) {
        Ok(event) => event,
        Err(WebhookError::Ignored { event_type }) => {
            return Ok(IngestOutcome::Ignored { event_type });
        }
        Err(e) => return Err(IngestError::Rejected(e)),
    };
    let message_id = queue
        .send(event.group_id(), &event.dedup_id(), &event.to_message())
        .await
        .map_err(IngestError::Queue)?;
    Ok(IngestOutcome::Queued { message_id, event })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_routed_provider_has_a_simulated_webhook_that_authenticates() {
        use crate::model::events::PaymentEventKind;
        use crate::psp::{LocalEventQueue, LocalQueueConfig};
        use brokeros_kernel::money::{Currency, Money};
        let rules = RoutingRules::embedded_default();
        let providers = PaymentProviders::simulated_for(&rules);
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn brokeros_store::Store> =
            Arc::new(brokeros_store_sqlite::SqliteStore::open(&dir.path().join("q.db")).unwrap());
        let queue = LocalEventQueue::new(
            store,
            Arc::new(brokeros_kernel::SystemClock),
            LocalQueueConfig::new("psp-test"),
        )
        .unwrap();
        let now = OffsetDateTime::from_unix_timestamp(OffsetDateTime::now_utc().unix_timestamp())
            .unwrap();
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
    use crate::model::events::PaymentEventKind;
    use crate::psp::{LocalEventQueue, LocalQueueConfig};
    use brokeros_kernel::money::{Currency, Money};
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
        let store =
            brokeros_store_sqlite::SqliteStore::open(&dir.path().join("q.sqlite3")).unwrap();
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

    fn rust_decimal_from(text: &str) -> crate::model::Decimal {
        crate::model::Decimal::from_str(text).unwrap()
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
        let providers = PaymentProviders::simulated();
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
        let providers = PaymentProviders::simulated();
        for name in [SIMULATED_CARD, SIMULATED_CRYPTO] {
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
            event(SIMULATED_CRYPTO, "evt_1")
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
        let providers = PaymentProviders::simulated();
        let card = providers.get(SIMULATED_CARD).unwrap();
        let delivery = card.deliver(&event(SIMULATED_CARD, "evt_2"), NOW).unwrap();
        let headers = header_map(&delivery.headers);

        let forged_body = String::from_utf8(delivery.body.clone())
            .unwrap()
            .replace("25000", "99999");
        let forged = ingest(
            &providers,
            &queue,
            SIMULATED_CARD,
            &HttpHeaders(&headers),
            forged_body.as_bytes(),
            NOW,
        )
        .await;
        assert_eq!(
            forged,
            Err(IngestError::Rejected(WebhookError::BadSignature))
        );
        assert_eq!(forged.unwrap_err().http_status(), 401);

        let late = ingest(
            &providers,
            &queue,
            SIMULATED_CARD,
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
            SIMULATED_CRYPTO,
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
        assert_eq!(Error::from(unknown.unwrap_err()).http_status(), 404);

        let dispute = br#"{"id":"evt_d","type":"dispute.created","data":{}}"#;
        let signed = header_map(&card.sign(dispute, NOW.unix_timestamp()));
        assert_eq!(
            ingest(
                &providers,
                &queue,
                SIMULATED_CARD,
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
}
