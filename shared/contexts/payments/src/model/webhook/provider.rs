//! The provider port: one payment provider's webhook dialect ([`PaymentProvider`]), the
//! headers of a delivery, and the parsing every dialect shares.

use std::fmt;

use serde::Deserialize;
use time::OffsetDateTime;

use super::error::{WebhookError, invalid_amount};
use crate::model::events::{PaymentEvent, is_provider_name, is_reference};
use brokeros_kernel::money::Currency;

/// One header of a delivery, as looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderLookup<'a> {
    Missing,
    Value(&'a str),
    /// Sent more than once, or not text: refused rather than guessed at.
    Invalid,
}

/// The headers of a delivery, looked up by name without regard to case. The HTTP layer wraps
/// its header map in this; tests and the simulated providers use a `Vec` of pairs.
pub trait WebhookHeaders {
    fn lookup(&self, name: &str) -> HeaderLookup<'_>;
}

impl<K: AsRef<str>, V: AsRef<str>> WebhookHeaders for Vec<(K, V)> {
    fn lookup(&self, name: &str) -> HeaderLookup<'_> {
        let mut found = self
            .iter()
            .filter(|(k, _)| k.as_ref().eq_ignore_ascii_case(name));
        match (found.next(), found.next()) {
            (None, _) => HeaderLookup::Missing,
            (Some((_, v)), None) => HeaderLookup::Value(v.as_ref()),
            (Some(_), Some(_)) => HeaderLookup::Invalid,
        }
    }
}

pub(super) fn required<'a>(
    headers: &'a dyn WebhookHeaders,
    name: &'static str,
) -> Result<&'a str, WebhookError> {
    match headers.lookup(name) {
        HeaderLookup::Value(v) => Ok(v.trim()),
        HeaderLookup::Missing => Err(WebhookError::MissingHeader { header: name }),
        HeaderLookup::Invalid => Err(WebhookError::MalformedHeader { header: name }),
    }
}

pub(super) fn currency(code: &str) -> Result<Currency, WebhookError> {
    Currency::parse("currency", code).map_err(invalid_amount)
}

pub(super) fn reference(field: &str, value: &str) -> Result<String, WebhookError> {
    if is_reference(value) {
        Ok(value.to_string())
    } else {
        Err(WebhookError::malformed(format!(
            "{field} must be 1 to 100 of [A-Za-z0-9_.:-]"
        )))
    }
}

pub(super) fn json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, WebhookError> {
    serde_json::from_slice(body).map_err(|e| WebhookError::malformed(e.to_string()))
}

/// A delivery as a provider sends it: headers and the raw body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedDelivery {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// One payment provider's webhook dialect. `Send + Sync`: the HTTP layer keeps providers in a
/// registry shared by all requests.
pub trait PaymentProvider: Send + Sync + fmt::Debug {
    /// The provider's name as routed (`/webhooks/psp/{name}`), and [`PaymentEvent::provider`].
    fn name(&self) -> &str;

    /// Authenticates the delivery (headers, signature over the raw body, timestamp against
    /// `now`), then parses it into the common event.
    fn verify_and_parse(
        &self,
        headers: &dyn WebhookHeaders,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<PaymentEvent, WebhookError>;

    /// The body the provider would send for `event` (the simulated provider's side).
    fn render(&self, event: &PaymentEvent) -> Result<Vec<u8>, WebhookError>;

    /// The headers that sign `body` as sent at `timestamp` (Unix seconds).
    fn sign(&self, body: &[u8], timestamp: i64) -> Vec<(String, String)>;

    /// `event` rendered and signed as sent at `at`: a delivery `verify_and_parse` accepts.
    fn deliver(
        &self,
        event: &PaymentEvent,
        at: OffsetDateTime,
    ) -> Result<SignedDelivery, WebhookError> {
        let body = self.render(event)?;
        Ok(SignedDelivery {
            headers: self.sign(&body, at.unix_timestamp()),
            body,
        })
    }
}

pub(super) fn checked_name(name: String) -> brokeros_kernel::Result<String> {
    if is_provider_name(&name) {
        Ok(name)
    } else {
        Err(brokeros_kernel::Error::invalid(
            "invalid_provider_name",
            "name",
            "a provider name is 1 to 27 of [a-z0-9_-]",
        ))
    }
}
