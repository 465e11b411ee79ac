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

/// The confirmations a crypto processor's transfer needs before it counts.
pub const CRYPTO_CONFIRMATIONS: u32 = 12;

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

    /// The adapter of provider `name` verifying with `secret`, in the dialect `rules` give it:
    /// a crypto processor's for a provider that takes only crypto, a card acquirer's otherwise.
    pub fn adapter_for(
        rules: &RoutingRules,
        name: &str,
        secret: WebhookSecret,
    ) -> Result<Arc<dyn PaymentProvider>, Error> {
        let crypto_only = rules
            .document()
            .providers
            .iter()
            .find(|p| p.id == name)
            .is_some_and(|p| {
                !p.methods.is_empty() && p.methods.iter().all(|m| *m == PaymentMethod::Crypto)
            });
        Ok(if crypto_only {
            Arc::new(CryptoProcessor::new(name, secret, CRYPTO_CONFIRMATIONS)?)
        } else {
            Arc::new(CardAcquirer::new(name, secret)?)
        })
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
    /// No provider of that name.
    UnknownProvider,
    /// Did not authenticate or parse; see [`WebhookError::code`].
    Rejected(WebhookError),
    /// The queue did not take the event; the provider delivers it again later.
    Queue(QueueError),
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
