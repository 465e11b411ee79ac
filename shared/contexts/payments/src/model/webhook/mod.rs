//! Payment-provider webhooks: authentication and parsing, with no I/O.
//!
//! **Authentication.** A provider signs each delivery with HMAC-SHA256 under the secret it
//! shares with us, over `<timestamp>.<raw body>` (the timestamp as the decimal Unix seconds it
//! sends in a header). A delivery verifies when one of its signatures matches (compared in
//! constant time) and its timestamp is within [`SIGNATURE_TOLERANCE_SECONDS`] of now in either
//! direction: an old delivery replayed, or one dated ahead, is refused. The signature is
//! checked before the timestamp, so "expired" is only ever said of an authentic delivery.
//! Which headers carry timestamp and signature is the provider's (see each adapter).
//!
//! **Parsing.** Each provider adapter reads its own payload shape into one
//! [`PaymentEvent`](crate::model::events::PaymentEvent). Parsing is strict on types (an
//! amount that should be an integer and is a float, a missing field:
//! [`WebhookError::Malformed`]) and on money (an amount finer than its currency, or a currency
//! Broker OS does not book: [`WebhookError::InvalidAmount`]); an event type the adapter does
//! not handle is [`WebhookError::Ignored`], to be acknowledged and dropped. Fields the adapter
//! does not read are allowed: providers add fields without notice.
//!
//! **Simulated providers.** Each adapter also *renders* an event in its provider's shape and
//! *signs* it, so the simulated provider service and tests produce real signed deliveries.
//!
//! The parts: `signature` (secrets, HMAC, the time window), `error` (why a delivery is
//! refused), `provider` (the dialect trait, headers and the parsing the dialects share), and one
//! module a dialect, with its simulator side: `simcard` (a card acquirer) and `simcrypto` (a
//! crypto processor).

mod error;
mod provider;
mod signature;
mod simcard;
mod simcrypto;

#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;

pub use error::WebhookError;
pub use provider::{HeaderLookup, PaymentProvider, SignedDelivery, WebhookHeaders};
pub use signature::{
    MAX_SIGNATURES, MIN_SECRET_BYTES, SIGNATURE_TOLERANCE_SECONDS, WebhookSecret, constant_time_eq,
    hmac_sha256, signature_hex, verify_signature,
};
pub use simcard::{CARD_SIGNATURE_HEADER, CARD_TIMESTAMP_HEADER, CardAcquirer};
pub use simcrypto::{CRYPTO_EVENT_TYPE, CRYPTO_SIGNATURE_HEADER, CryptoProcessor};
