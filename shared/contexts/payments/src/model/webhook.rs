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
//! **Parsing.** Each provider adapter reads its own payload shape into one [`PaymentEvent`].
//! Parsing is strict on types (an amount that should be an integer and is a float, a missing
//! field: [`WebhookError::Malformed`]) and on money (an amount finer than its currency, or a
//! currency Broker OS does not book: [`WebhookError::InvalidAmount`]); an event type the adapter
//! does not handle is [`WebhookError::Ignored`], to be acknowledged and dropped. Fields the
//! adapter does not read are allowed: providers add fields without notice.
//!
//! **Simulated providers.** Each adapter also *renders* an event in its provider's shape and
//! *signs* it, so the simulated provider service and tests produce real signed deliveries.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::events::{PaymentEvent, PaymentEventKind, is_provider_name, is_reference};
use brokeros_kernel::money::{Currency, Money};

/// How far a delivery's timestamp may be from now, either way: 5 minutes.
pub const SIGNATURE_TOLERANCE_SECONDS: i64 = 300;
/// The shortest secret accepted (128 bits).
pub const MIN_SECRET_BYTES: usize = 16;
/// The most signatures one delivery may carry (providers send several while rotating secrets).
pub const MAX_SIGNATURES: usize = 5;

// ---------------------------------------------------------------------------------------------
// Secrets and signatures

/// A provider's webhook signing secret. Its `Debug` never shows the bytes, and there is no
/// `Display`, so logging a provider or its configuration cannot leak it.
/// No `PartialEq` either: secrets are compared only through [`verify_signature`].
#[derive(Clone)]
pub struct WebhookSecret(Vec<u8>);

impl WebhookSecret {
    /// Refuses secrets shorter than [`MIN_SECRET_BYTES`].
    pub fn new(bytes: impl Into<Vec<u8>>) -> brokeros_kernel::Result<WebhookSecret> {
        let bytes = bytes.into();
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(brokeros_kernel::Error::invalid(
                "webhook_secret_too_short",
                "secret",
                format!("a webhook secret has at least {MIN_SECRET_BYTES} bytes"),
            ));
        }
        Ok(WebhookSecret(bytes))
    }

    fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

/// HMAC-SHA256 (RFC 2104) of the concatenated `parts` under `key`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    for part in parts {
        inner.update(part);
    }
    let inner = inner.finalize();
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner);
    outer.finalize().into()
}

/// Whether `a` and `b` are equal, taking the same time wherever they differ (a comparison that
/// stops at the first difference would let an attacker find a valid signature byte by byte).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let difference = a
        .iter()
        .zip(b)
        .fold(0u8, |acc, (x, y)| acc | std::hint::black_box(x ^ y));
    std::hint::black_box(difference) == 0
}

/// The signature of a delivery: lowercase hex of HMAC-SHA256 over `<timestamp>.<body>`.
pub fn signature_hex(secret: &WebhookSecret, timestamp: &str, body: &[u8]) -> String {
    hex::encode(hmac_sha256(
        secret.bytes(),
        &[timestamp.as_bytes(), b".", body],
    ))
}

/// Verifies a delivery: one of `signatures` (hex) is the HMAC of `<timestamp>.<body>` under
/// `secret`, and `timestamp` (decimal Unix seconds, as sent) is within the tolerance of `now`.
pub fn verify_signature(
    secret: &WebhookSecret,
    timestamp_header: &'static str,
    timestamp: &str,
    signatures: &[&str],
    body: &[u8],
    now: OffsetDateTime,
) -> Result<(), WebhookError> {
    let sent_at = parse_timestamp(timestamp_header, timestamp)?;
    let expected = hmac_sha256(secret.bytes(), &[timestamp.as_bytes(), b".", body]);
    let mut matched = false;
    for signature in signatures {
        // A signature of the wrong form is just one that does not match.
        if let Ok(bytes) = hex::decode(signature)
            && constant_time_eq(&bytes, &expected)
        {
            matched = true;
        }
    }
    if !matched {
        return Err(WebhookError::BadSignature);
    }
    let age = now.unix_timestamp() - sent_at;
    if age > SIGNATURE_TOLERANCE_SECONDS {
        return Err(WebhookError::Expired { age_seconds: age });
    }
    if -age > SIGNATURE_TOLERANCE_SECONDS {
        return Err(WebhookError::NotYetValid {
            ahead_seconds: -age,
        });
    }
    Ok(())
}

/// Decimal Unix seconds: 1 to 12 ASCII digits, nothing else.
fn parse_timestamp(header: &'static str, value: &str) -> Result<i64, WebhookError> {
    if value.is_empty() || value.len() > 12 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WebhookError::MalformedHeader { header });
    }
    value
        .parse()
        .map_err(|_| WebhookError::MalformedHeader { header })
}

// ---------------------------------------------------------------------------------------------
// Headers

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

fn required<'a>(
    headers: &'a dyn WebhookHeaders,
    name: &'static str,
) -> Result<&'a str, WebhookError> {
    match headers.lookup(name) {
        HeaderLookup::Value(v) => Ok(v.trim()),
        HeaderLookup::Missing => Err(WebhookError::MissingHeader { header: name }),
        HeaderLookup::Invalid => Err(WebhookError::MalformedHeader { header: name }),
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

/// Why a delivery was not turned into an event. Nothing is written for any of them.
///
/// `Display` says only what kind of failure it was; the code ([`WebhookError::code`]) names the
/// check. Details (ages, serde messages) are in `Debug`, for logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookError {
    /// A header the provider always sends is missing.
    MissingHeader { header: &'static str },
    /// A signature or timestamp header is not of the provider's form, or is repeated.
    MalformedHeader { header: &'static str },
    /// No signature matches the body under the provider's secret (forged, tampered, wrong
    /// secret).
    BadSignature,
    /// Authentic, but signed longer ago than the tolerance: a replay, or a very late retry.
    Expired { age_seconds: i64 },
    /// Authentic, but dated further ahead than the tolerance.
    NotYetValid { ahead_seconds: i64 },
    /// Authentic, but the body is not the provider's payload (syntax, a missing field, a
    /// value of the wrong type or form).
    Malformed { reason: String },
    /// Authentic, but an event type this adapter does not handle: acknowledge and drop.
    Ignored { event_type: String },
    /// Authentic, but the amount cannot be booked: more decimals than its currency has, a
    /// currency Broker OS does not book, zero or negative, too large.
    InvalidAmount { code: &'static str, message: String },
}

impl WebhookError {
    pub fn code(&self) -> &'static str {
        match self {
            WebhookError::MissingHeader { .. } => "signature_missing",
            WebhookError::MalformedHeader { .. } => "signature_malformed",
            WebhookError::BadSignature => "signature_invalid",
            WebhookError::Expired { .. } => "signature_expired",
            WebhookError::NotYetValid { .. } => "signature_not_yet_valid",
            WebhookError::Malformed { .. } => "malformed_payload",
            WebhookError::Ignored { .. } => "event_ignored",
            WebhookError::InvalidAmount { code, .. } => code,
        }
    }

    /// 401 when the delivery did not authenticate, 400 when an authentic body is unusable,
    /// 200 for an ignorable event (the provider should not send it again).
    pub fn http_status(&self) -> u16 {
        if self.is_authentication_failure() {
            401
        } else if self.is_ignorable() {
            200
        } else {
            400
        }
    }

    pub fn is_authentication_failure(&self) -> bool {
        matches!(
            self,
            WebhookError::MissingHeader { .. }
                | WebhookError::MalformedHeader { .. }
                | WebhookError::BadSignature
                | WebhookError::Expired { .. }
                | WebhookError::NotYetValid { .. }
        )
    }

    pub fn is_ignorable(&self) -> bool {
        matches!(self, WebhookError::Ignored { .. })
    }

    fn malformed(reason: impl Into<String>) -> WebhookError {
        WebhookError::Malformed {
            reason: reason.into(),
        }
    }
}

impl fmt::Display for WebhookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WebhookError::MissingHeader { .. }
            | WebhookError::MalformedHeader { .. }
            | WebhookError::BadSignature
            | WebhookError::Expired { .. }
            | WebhookError::NotYetValid { .. } => {
                f.write_str("the webhook delivery did not authenticate")
            }
            WebhookError::Malformed { .. } => {
                f.write_str("the webhook body is not a valid event of this provider")
            }
            WebhookError::Ignored { .. } => f.write_str("the webhook event type is not handled"),
            WebhookError::InvalidAmount { message, .. } => f.write_str(message),
        }
    }
}

impl std::error::Error for WebhookError {}

impl From<WebhookError> for brokeros_kernel::Error {
    /// 401 for authentication failures, 400 otherwise. An [`WebhookError::Ignored`] event is
    /// not a client error: the HTTP layer answers it with 200 before converting.
    fn from(e: WebhookError) -> brokeros_kernel::Error {
        if e.is_authentication_failure() {
            return brokeros_kernel::Error::Unauthenticated {
                message: e.to_string(),
            };
        }
        let field = match &e {
            WebhookError::InvalidAmount { code, .. } if code.contains("currency") => "currency",
            WebhookError::InvalidAmount { .. } => "amount",
            _ => "body",
        };
        brokeros_kernel::Error::Validation {
            code: e.code(),
            message: e.to_string(),
            field: Some(field.to_string()),
        }
    }
}

/// A money error from the currency table, as an [`WebhookError::InvalidAmount`].
fn invalid_amount(e: brokeros_kernel::Error) -> WebhookError {
    match e {
        brokeros_kernel::Error::Validation { code, message, .. } => {
            WebhookError::InvalidAmount { code, message }
        }
        other => WebhookError::InvalidAmount {
            code: "invalid_amount",
            message: other.to_string(),
        },
    }
}

fn currency(code: &str) -> Result<Currency, WebhookError> {
    Currency::parse("currency", code).map_err(invalid_amount)
}

fn reference(field: &str, value: &str) -> Result<String, WebhookError> {
    if is_reference(value) {
        Ok(value.to_string())
    } else {
        Err(WebhookError::malformed(format!(
            "{field} must be 1 to 100 of [A-Za-z0-9_.:-]"
        )))
    }
}

fn json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, WebhookError> {
    serde_json::from_slice(body).map_err(|e| WebhookError::malformed(e.to_string()))
}

// ---------------------------------------------------------------------------------------------
// The provider port

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

fn checked_name(name: String) -> brokeros_kernel::Result<String> {
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

// ---------------------------------------------------------------------------------------------
// A card acquirer

/// A card acquirer's webhooks (shaped after Adyen/Checkout.com/Stripe):
///
/// ```text
/// x-acquirer-timestamp: 1795514400
/// x-acquirer-signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>">
///
/// {"id":"evt_…","type":"payment.captured","created":1795514400,
///  "data":{"payment":{"id":"pay_…","merchant_reference":"<deposit id>",
///                     "amount":{"value":10050,"currency":"EUR"},
///                     "decline":{"code":"insufficient_funds","message":"…"}}}}
/// ```
///
/// Amounts are integers in the currency's minor units (10050 EUR cents = 100.50 EUR).
/// `payment.captured` → succeeded, `payment.authorized` → pending, `payment.declined` →
/// declined (with `decline.code` as the reason), `payment.refunded` → refunded; other types are
/// ignored.
#[derive(Debug, Clone)]
pub struct CardAcquirer {
    name: String,
    secret: WebhookSecret,
}

pub const CARD_TIMESTAMP_HEADER: &str = "x-acquirer-timestamp";
pub const CARD_SIGNATURE_HEADER: &str = "x-acquirer-signature";

#[derive(Debug, Serialize, Deserialize)]
struct CardEnvelope {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct CardEvent {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    created: i64,
    data: CardData,
}

#[derive(Debug, Serialize, Deserialize)]
struct CardData {
    payment: CardPayment,
}

#[derive(Debug, Serialize, Deserialize)]
struct CardPayment {
    id: String,
    merchant_reference: String,
    amount: CardAmount,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    decline: Option<CardDecline>,
}

#[derive(Debug, Serialize, Deserialize)]
struct CardAmount {
    /// Minor units.
    value: i64,
    currency: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct CardDecline {
    code: String,
    #[serde(default)]
    message: String,
}

impl CardAcquirer {
    pub fn new(name: impl Into<String>, secret: WebhookSecret) -> brokeros_kernel::Result<CardAcquirer> {
        Ok(CardAcquirer {
            name: checked_name(name.into())?,
            secret,
        })
    }

    fn kind_of(event_type: &str) -> Option<&'static str> {
        match event_type {
            "payment.captured" | "payment.authorized" | "payment.declined" | "payment.refunded" => {
                Some("payment")
            }
            _ => None,
        }
    }
}

impl PaymentProvider for CardAcquirer {
    fn name(&self) -> &str {
        &self.name
    }

    fn verify_and_parse(
        &self,
        headers: &dyn WebhookHeaders,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<PaymentEvent, WebhookError> {
        let timestamp = required(headers, CARD_TIMESTAMP_HEADER)?;
        let signature = required(headers, CARD_SIGNATURE_HEADER)?;
        let signatures: Vec<&str> = signature
            .split(',')
            .map(|part| {
                part.trim()
                    .strip_prefix("v1=")
                    .ok_or(WebhookError::MalformedHeader {
                        header: CARD_SIGNATURE_HEADER,
                    })
            })
            .collect::<Result<_, _>>()?;
        if signatures.len() > MAX_SIGNATURES {
            return Err(WebhookError::MalformedHeader {
                header: CARD_SIGNATURE_HEADER,
            });
        }
        verify_signature(
            &self.secret,
            CARD_TIMESTAMP_HEADER,
            timestamp,
            &signatures,
            body,
            now,
        )?;

        let envelope: CardEnvelope = json(body)?;
        if Self::kind_of(&envelope.event_type).is_none() {
            return Err(WebhookError::Ignored {
                event_type: envelope.event_type.chars().take(64).collect(),
            });
        }
        let event: CardEvent = json(body)?;
        let payment = event.data.payment;
        let kind = match event.event_type.as_str() {
            "payment.captured" => PaymentEventKind::Succeeded,
            "payment.authorized" => PaymentEventKind::Pending,
            "payment.refunded" => PaymentEventKind::Refunded,
            "payment.declined" => {
                let decline = payment.decline.as_ref().ok_or_else(|| {
                    WebhookError::malformed("a payment.declined event has data.payment.decline")
                })?;
                PaymentEventKind::Declined {
                    reason: reference("data.payment.decline.code", &decline.code)?,
                }
            }
            _ => unreachable!("kind_of admitted only the types above"),
        };
        let currency = currency(&payment.amount.currency)?;
        let amount = Money::positive(
            "amount",
            Decimal::new(payment.amount.value, currency.scale),
            currency,
        )
        .map_err(invalid_amount)?;
        let occurred_at = OffsetDateTime::from_unix_timestamp(event.created)
            .map_err(|_| WebhookError::malformed("created is not a Unix time"))?;
        Ok(PaymentEvent {
            provider: self.name.clone(),
            event_id: reference("id", &event.id)?,
            deposit_id: reference(
                "data.payment.merchant_reference",
                &payment.merchant_reference,
            )?,
            kind,
            amount,
            occurred_at,
            provider_transaction_id: reference("data.payment.id", &payment.id)?,
        })
    }

    fn render(&self, event: &PaymentEvent) -> Result<Vec<u8>, WebhookError> {
        let (event_type, decline) = match &event.kind {
            PaymentEventKind::Succeeded => ("payment.captured", None),
            PaymentEventKind::Pending => ("payment.authorized", None),
            PaymentEventKind::Refunded => ("payment.refunded", None),
            PaymentEventKind::Declined { reason } => (
                "payment.declined",
                Some(CardDecline {
                    code: reason.clone(),
                    message: "declined by the issuer".into(),
                }),
            ),
        };
        // A Money is held at exactly its currency's scale, so its mantissa is the minor units.
        let value = i64::try_from(event.amount.amount().mantissa())
            .map_err(|_| WebhookError::malformed("the amount does not fit in minor units"))?;
        let wire = CardEvent {
            id: event.event_id.clone(),
            event_type: event_type.into(),
            created: event.occurred_at.unix_timestamp(),
            data: CardData {
                payment: CardPayment {
                    id: event.provider_transaction_id.clone(),
                    merchant_reference: event.deposit_id.clone(),
                    amount: CardAmount {
                        value,
                        currency: event.amount.currency().code.into(),
                    },
                    decline,
                },
            },
        };
        Ok(serde_json::to_vec(&wire).expect("card events serialize"))
    }

    fn sign(&self, body: &[u8], timestamp: i64) -> Vec<(String, String)> {
        let timestamp = timestamp.to_string();
        let signature = signature_hex(&self.secret, &timestamp, body);
        vec![
            (CARD_TIMESTAMP_HEADER.to_string(), timestamp),
            (CARD_SIGNATURE_HEADER.to_string(), format!("v1={signature}")),
            ("content-type".to_string(), "application/json".to_string()),
        ]
    }
}

// ---------------------------------------------------------------------------------------------
// A crypto processor

/// A crypto payment processor's webhooks (shaped after NOWPayments/Coinbase Commerce/BitPay):
///
/// ```text
/// x-crypto-signature: t=1795514400,v1=<hex HMAC-SHA256 of "<t>.<body>">
///
/// {"event_id":"cev_…","type":"deposit.update","created_at":"2026-11-24T10:00:00Z",
///  "order":{"id":"ord_…","reference":"<deposit id>"},
///  "transfer":{"status":"completed","asset":"USDT","network":"TRON","amount":"100.500000",
///              "tx_hash":"0x…","confirmations":20,"failure_reason":null}}
/// ```
///
/// Amounts are decimal strings (a JSON number is refused: it may have gone through a float).
/// A transfer counts as succeeded only with `status` `completed` **and** at least the
/// configured number of confirmations — the processor's word alone is not enough; fewer
/// confirmations, or `status` `confirming`, is pending. `failed` → declined (with
/// `failure_reason`), `refunded` → refunded. Types other than `deposit.update` are ignored.
#[derive(Debug, Clone)]
pub struct CryptoProcessor {
    name: String,
    secret: WebhookSecret,
    required_confirmations: u32,
}

pub const CRYPTO_SIGNATURE_HEADER: &str = "x-crypto-signature";
pub const CRYPTO_EVENT_TYPE: &str = "deposit.update";

#[derive(Debug, Serialize, Deserialize)]
struct CryptoEnvelope {
    event_id: String,
    #[serde(rename = "type")]
    event_type: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct CryptoEvent {
    event_id: String,
    #[serde(rename = "type")]
    event_type: String,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    order: CryptoOrder,
    transfer: CryptoTransfer,
}

#[derive(Debug, Serialize, Deserialize)]
struct CryptoOrder {
    id: String,
    reference: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum CryptoStatus {
    Confirming,
    Completed,
    Failed,
    Refunded,
}

#[derive(Debug, Serialize, Deserialize)]
struct CryptoTransfer {
    status: CryptoStatus,
    asset: String,
    network: String,
    /// A decimal string.
    amount: String,
    #[serde(default)]
    tx_hash: Option<String>,
    confirmations: u32,
    #[serde(default)]
    failure_reason: Option<String>,
}

/// `[0-9]+(\.[0-9]+)?`: no sign, exponent, separators or spaces.
fn plain_decimal(text: &str) -> Option<Decimal> {
    let (whole, fraction) = match text.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (text, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || fraction.is_some_and(|f| !digits(f)) || text.len() > 40 {
        return None;
    }
    Decimal::from_str(text).ok()
}

impl CryptoProcessor {
    pub fn new(
        name: impl Into<String>,
        secret: WebhookSecret,
        required_confirmations: u32,
    ) -> brokeros_kernel::Result<CryptoProcessor> {
        if required_confirmations == 0 {
            return Err(brokeros_kernel::Error::invalid(
                "invalid_confirmations",
                "required_confirmations",
                "at least one confirmation is required",
            ));
        }
        Ok(CryptoProcessor {
            name: checked_name(name.into())?,
            secret,
            required_confirmations,
        })
    }

    pub fn required_confirmations(&self) -> u32 {
        self.required_confirmations
    }

    /// The body for `event` with a given number of confirmations: a `succeeded` event with
    /// fewer than required renders as a `completed` transfer the adapter reads as pending.
    pub fn render_with_confirmations(&self, event: &PaymentEvent, confirmations: u32) -> Vec<u8> {
        let (status, failure_reason) = match &event.kind {
            PaymentEventKind::Succeeded => (CryptoStatus::Completed, None),
            PaymentEventKind::Pending => (CryptoStatus::Confirming, None),
            PaymentEventKind::Refunded => (CryptoStatus::Refunded, None),
            PaymentEventKind::Declined { reason } => (CryptoStatus::Failed, Some(reason.clone())),
        };
        let currency = event.amount.currency();
        let wire = CryptoEvent {
            event_id: event.event_id.clone(),
            event_type: CRYPTO_EVENT_TYPE.into(),
            created_at: event.occurred_at,
            order: CryptoOrder {
                id: format!("ord_{}", event.deposit_id),
                reference: event.deposit_id.clone(),
            },
            transfer: CryptoTransfer {
                status,
                asset: currency.code.into(),
                network: match currency.code {
                    "BTC" => "BITCOIN",
                    "ETH" => "ETHEREUM",
                    _ => "TRON",
                }
                .into(),
                amount: event.amount.amount().to_string(),
                tx_hash: Some(event.provider_transaction_id.clone()),
                confirmations,
                failure_reason,
            },
        };
        serde_json::to_vec(&wire).expect("crypto events serialize")
    }
}

impl PaymentProvider for CryptoProcessor {
    fn name(&self) -> &str {
        &self.name
    }

    fn verify_and_parse(
        &self,
        headers: &dyn WebhookHeaders,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<PaymentEvent, WebhookError> {
        let header = required(headers, CRYPTO_SIGNATURE_HEADER)?;
        let malformed = WebhookError::MalformedHeader {
            header: CRYPTO_SIGNATURE_HEADER,
        };
        let mut timestamp = None;
        let mut signatures = Vec::new();
        for part in header.split(',') {
            match part.trim().split_once('=') {
                Some(("t", t)) if timestamp.is_none() => timestamp = Some(t),
                Some(("v1", v)) => signatures.push(v),
                _ => return Err(malformed),
            }
        }
        let Some(timestamp) = timestamp else {
            return Err(malformed);
        };
        if signatures.is_empty() || signatures.len() > MAX_SIGNATURES {
            return Err(malformed);
        }
        verify_signature(
            &self.secret,
            CRYPTO_SIGNATURE_HEADER,
            timestamp,
            &signatures,
            body,
            now,
        )?;

        let envelope: CryptoEnvelope = json(body)?;
        if envelope.event_type != CRYPTO_EVENT_TYPE {
            return Err(WebhookError::Ignored {
                event_type: envelope.event_type.chars().take(64).collect(),
            });
        }
        let event: CryptoEvent = json(body)?;
        let transfer = event.transfer;
        let kind = match transfer.status {
            CryptoStatus::Completed if transfer.confirmations >= self.required_confirmations => {
                PaymentEventKind::Succeeded
            }
            CryptoStatus::Completed | CryptoStatus::Confirming => PaymentEventKind::Pending,
            CryptoStatus::Refunded => PaymentEventKind::Refunded,
            CryptoStatus::Failed => PaymentEventKind::Declined {
                reason: reference(
                    "transfer.failure_reason",
                    transfer.failure_reason.as_deref().ok_or_else(|| {
                        WebhookError::malformed("a failed transfer has transfer.failure_reason")
                    })?,
                )?,
            },
        };
        let currency = currency(&transfer.asset)?;
        let amount = plain_decimal(&transfer.amount).ok_or_else(|| {
            WebhookError::malformed("transfer.amount is not a plain decimal string")
        })?;
        let amount = Money::positive("amount", amount, currency).map_err(invalid_amount)?;
        let provider_transaction_id = match &transfer.tx_hash {
            Some(hash) => reference("transfer.tx_hash", hash)?,
            None => reference("order.id", &event.order.id)?,
        };
        Ok(PaymentEvent {
            provider: self.name.clone(),
            event_id: reference("event_id", &event.event_id)?,
            deposit_id: reference("order.reference", &event.order.reference)?,
            kind,
            amount,
            occurred_at: event.created_at,
            provider_transaction_id,
        })
    }

    fn render(&self, event: &PaymentEvent) -> Result<Vec<u8>, WebhookError> {
        let confirmations = match event.kind {
            PaymentEventKind::Succeeded => self.required_confirmations,
            PaymentEventKind::Pending => 1,
            _ => 0,
        };
        Ok(self.render_with_confirmations(event, confirmations))
    }

    fn sign(&self, body: &[u8], timestamp: i64) -> Vec<(String, String)> {
        let timestamp = timestamp.to_string();
        let signature = signature_hex(&self.secret, &timestamp, body);
        vec![
            (
                CRYPTO_SIGNATURE_HEADER.to_string(),
                format!("t={timestamp},v1={signature}"),
            ),
            ("content-type".to_string(), "application/json".to_string()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-24 10:00:00 UTC);

    fn secret(text: &str) -> WebhookSecret {
        WebhookSecret::new(text.as_bytes().to_vec()).unwrap()
    }

    fn card() -> CardAcquirer {
        CardAcquirer::new("simcard", secret("card-acquirer-secret-1")).unwrap()
    }

    fn crypto() -> CryptoProcessor {
        CryptoProcessor::new("simcrypto", secret("crypto-processor-secret"), 12).unwrap()
    }

    fn money(amount: &str, code: &str) -> Money {
        Money::positive(
            "amount",
            Decimal::from_str(amount).unwrap(),
            Currency::from_code(code).unwrap(),
        )
        .unwrap()
    }

    fn event(provider: &str, kind: PaymentEventKind, amount: Money) -> PaymentEvent {
        PaymentEvent {
            provider: provider.into(),
            event_id: "evt_0001".into(),
            deposit_id: "dep_42".into(),
            kind,
            amount,
            occurred_at: datetime!(2026-11-24 09:59:30 UTC),
            provider_transaction_id: "tx_77".into(),
        }
    }

    /// Headers signing `body` at `at` under `provider`'s secret.
    fn signed(
        provider: &dyn PaymentProvider,
        body: &[u8],
        at: OffsetDateTime,
    ) -> Vec<(String, String)> {
        provider.sign(body, at.unix_timestamp())
    }

    fn header(headers: &[(String, String)], name: &str) -> String {
        headers.iter().find(|(k, _)| k == name).unwrap().1.clone()
    }

    fn replace_header(headers: &mut [(String, String)], name: &str, value: String) {
        headers.iter_mut().find(|(k, _)| k == name).unwrap().1 = value;
    }

    fn providers() -> Vec<Box<dyn PaymentProvider>> {
        vec![Box::new(card()), Box::new(crypto())]
    }

    // --- HMAC and comparison ------------------------------------------------------------------

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 1.
        assert_eq!(
            hex::encode(hmac_sha256(&[0x0b; 20], &[b"Hi There"])),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        // Test case 2, the message in two parts.
        assert_eq!(
            hex::encode(hmac_sha256(
                b"Jefe",
                &[b"what do ya want ", b"for nothing?"]
            )),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block is hashed first.
        assert_eq!(
            hex::encode(hmac_sha256(
                &[0xaa; 131],
                &[b"Test Using Larger Than Block-Size Key - Hash Key First"]
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn constant_time_eq_compares_whole_slices() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn secrets_are_redacted_and_not_too_short() {
        let s = secret("card-acquirer-secret-1");
        assert_eq!(format!("{s:?}"), "WebhookSecret(<redacted>)");
        for provider in providers() {
            let debug = format!("{provider:?}");
            assert!(
                !debug.contains("secret-1") && !debug.contains("processor-secret"),
                "{debug}"
            );
            assert!(debug.contains("<redacted>"), "{debug}");
        }
        assert!(WebhookSecret::new(b"short".to_vec()).is_err());
        assert!(WebhookSecret::new(vec![7u8; MIN_SECRET_BYTES]).is_ok());
    }

    #[test]
    fn provider_names_and_confirmations_are_checked() {
        assert!(CardAcquirer::new("Card Acquirer", secret("card-acquirer-secret-1")).is_err());
        assert!(CardAcquirer::new("", secret("card-acquirer-secret-1")).is_err());
        assert!(CryptoProcessor::new("c", secret("crypto-processor-secret"), 0).is_err());
    }

    // --- Authentication -----------------------------------------------------------------------

    #[test]
    fn valid_signatures_are_accepted_by_both_providers() {
        for provider in providers() {
            let e = event(
                provider.name(),
                PaymentEventKind::Succeeded,
                money("100.50", "USDT"),
            );
            let delivery = provider.deliver(&e, NOW).unwrap();
            assert_eq!(
                provider.verify_and_parse(&delivery.headers, &delivery.body, NOW),
                Ok(e),
                "{}",
                provider.name()
            );
        }
    }

    #[test]
    fn forged_tampered_and_wrongly_keyed_deliveries_are_rejected() {
        let other_card = CardAcquirer::new("simcard", secret("another-secret-entirely")).unwrap();
        let other_crypto =
            CryptoProcessor::new("simcrypto", secret("another-secret-entirely"), 12).unwrap();
        let pairs: [(Box<dyn PaymentProvider>, Box<dyn PaymentProvider>); 2] = [
            (Box::new(card()), Box::new(other_card)),
            (Box::new(crypto()), Box::new(other_crypto)),
        ];
        for (provider, impostor) in pairs {
            let e = event(
                provider.name(),
                PaymentEventKind::Succeeded,
                money("10", "EUR"),
            );
            let body = provider.render(&e).unwrap();

            // Signed with another secret.
            let forged = impostor.sign(&body, NOW.unix_timestamp());
            assert_eq!(
                provider.verify_and_parse(&forged, &body, NOW),
                Err(WebhookError::BadSignature)
            );

            // The body changed after signing (the amount raised by one unit).
            let headers = signed(provider.as_ref(), &body, NOW);
            let text = String::from_utf8(body.clone()).unwrap();
            let tampered = if text.contains("\"value\":1000") {
                text.replace("\"value\":1000", "\"value\":1001")
            } else {
                text.replace("\"10.00\"", "\"10.01\"")
            };
            assert_ne!(tampered, text);
            assert_eq!(
                provider.verify_and_parse(&headers, tampered.as_bytes(), NOW),
                Err(WebhookError::BadSignature)
            );

            // The timestamp changed after signing (to make an old delivery look fresh).
            let old = signed(provider.as_ref(), &body, NOW - time::Duration::hours(1));
            let moved: Vec<(String, String)> = old
                .iter()
                .map(|(k, v)| {
                    let old_t = (NOW - time::Duration::hours(1))
                        .unix_timestamp()
                        .to_string();
                    (
                        k.clone(),
                        v.replace(&old_t, &NOW.unix_timestamp().to_string()),
                    )
                })
                .collect();
            assert_ne!(moved, old);
            assert_eq!(
                provider.verify_and_parse(&moved, &body, NOW),
                Err(WebhookError::BadSignature)
            );

            // A made-up signature of the right form (64 hex digits after `v1=`).
            let made_up: Vec<(String, String)> = headers
                .iter()
                .map(|(k, v)| match v.find("v1=") {
                    Some(at) => (k.clone(), format!("{}v1={}", &v[..at], "ab".repeat(32))),
                    None => (k.clone(), v.clone()),
                })
                .collect();
            assert_ne!(made_up, headers);
            assert_eq!(
                provider.verify_and_parse(&made_up, &body, NOW),
                Err(WebhookError::BadSignature)
            );
        }
    }

    #[test]
    fn the_tolerance_is_five_minutes_either_way() {
        for provider in providers() {
            let e = event(
                provider.name(),
                PaymentEventKind::Pending,
                money("1", "USD"),
            );
            let body = provider.render(&e).unwrap();
            let at = |offset: i64| {
                signed(
                    provider.as_ref(),
                    &body,
                    NOW + time::Duration::seconds(offset),
                )
            };
            assert!(provider.verify_and_parse(&at(-300), &body, NOW).is_ok());
            assert!(provider.verify_and_parse(&at(300), &body, NOW).is_ok());
            assert_eq!(
                provider.verify_and_parse(&at(-301), &body, NOW),
                Err(WebhookError::Expired { age_seconds: 301 })
            );
            assert_eq!(
                provider.verify_and_parse(&at(-86_400), &body, NOW),
                Err(WebhookError::Expired {
                    age_seconds: 86_400
                })
            );
            assert_eq!(
                provider.verify_and_parse(&at(301), &body, NOW),
                Err(WebhookError::NotYetValid { ahead_seconds: 301 })
            );
            // A replay of a valid delivery, six minutes later.
            let fresh = at(0);
            assert!(provider.verify_and_parse(&fresh, &body, NOW).is_ok());
            assert!(matches!(
                provider.verify_and_parse(&fresh, &body, NOW + time::Duration::minutes(6)),
                Err(WebhookError::Expired { .. })
            ));
        }
    }

    #[test]
    fn missing_and_malformed_headers_are_rejected() {
        let card = card();
        let e = event("simcard", PaymentEventKind::Succeeded, money("5", "GBP"));
        let body = card.render(&e).unwrap();
        let good = card.sign(&body, NOW.unix_timestamp());
        let without = |name: &str| -> Vec<(String, String)> {
            good.iter().filter(|(k, _)| k != name).cloned().collect()
        };
        assert_eq!(
            card.verify_and_parse(&without(CARD_TIMESTAMP_HEADER), &body, NOW),
            Err(WebhookError::MissingHeader {
                header: CARD_TIMESTAMP_HEADER
            })
        );
        assert_eq!(
            card.verify_and_parse(&without(CARD_SIGNATURE_HEADER), &body, NOW),
            Err(WebhookError::MissingHeader {
                header: CARD_SIGNATURE_HEADER
            })
        );
        for bad_timestamp in [
            "",
            "-1",
            "+1795514400",
            "1795514400.5",
            "17955108OO",
            "9999999999999",
        ] {
            let mut h = good.clone();
            replace_header(&mut h, CARD_TIMESTAMP_HEADER, bad_timestamp.into());
            assert_eq!(
                card.verify_and_parse(&h, &body, NOW),
                Err(WebhookError::MalformedHeader {
                    header: CARD_TIMESTAMP_HEADER
                }),
                "{bad_timestamp:?}"
            );
        }
        let signature = header(&good, CARD_SIGNATURE_HEADER);
        let mut h = good.clone();
        replace_header(
            &mut h,
            CARD_SIGNATURE_HEADER,
            signature.replace("v1=", "sha256="),
        );
        assert_eq!(
            card.verify_and_parse(&h, &body, NOW),
            Err(WebhookError::MalformedHeader {
                header: CARD_SIGNATURE_HEADER
            })
        );
        // Repeated headers are not guessed at; header names are case-insensitive.
        let mut repeated = good.clone();
        repeated.push((CARD_SIGNATURE_HEADER.to_uppercase(), signature.clone()));
        assert_eq!(
            card.verify_and_parse(&repeated, &body, NOW),
            Err(WebhookError::MalformedHeader {
                header: CARD_SIGNATURE_HEADER
            })
        );
        let upper: Vec<(String, String)> = good
            .iter()
            .map(|(k, v)| (k.to_uppercase(), v.clone()))
            .collect();
        assert!(card.verify_and_parse(&upper, &body, NOW).is_ok());
        // During a secret rotation a provider sends two signatures: either may match, at most 5.
        let mut rotated = good.clone();
        replace_header(
            &mut rotated,
            CARD_SIGNATURE_HEADER,
            format!("v1={}, {signature}", "00".repeat(32)),
        );
        assert!(card.verify_and_parse(&rotated, &body, NOW).is_ok());
        let mut many = good.clone();
        replace_header(
            &mut many,
            CARD_SIGNATURE_HEADER,
            [signature.as_str(); 6].join(","),
        );
        assert_eq!(
            card.verify_and_parse(&many, &body, NOW),
            Err(WebhookError::MalformedHeader {
                header: CARD_SIGNATURE_HEADER
            })
        );

        let crypto = crypto();
        let e = event("simcrypto", PaymentEventKind::Succeeded, money("5", "USDT"));
        let body = crypto.render(&e).unwrap();
        let good = crypto.sign(&body, NOW.unix_timestamp());
        let value = header(&good, CRYPTO_SIGNATURE_HEADER);
        let (t, v1) = value.split_once(',').unwrap();
        for bad in [
            v1.to_string(),                 // no t=
            t.to_string(),                  // no v1=
            format!("{t},{t},{v1}"),        // t= twice
            format!("{t};{v1}"),            // wrong separator
            format!("{t},v2={}", &v1[3..]), // unknown scheme
            format!("t=yesterday,{v1}"),    // not Unix seconds
        ] {
            let mut h = good.clone();
            replace_header(&mut h, CRYPTO_SIGNATURE_HEADER, bad.clone());
            assert_eq!(
                crypto.verify_and_parse(&h, &body, NOW),
                Err(WebhookError::MalformedHeader {
                    header: CRYPTO_SIGNATURE_HEADER
                }),
                "{bad}"
            );
        }
        assert_eq!(
            crypto.verify_and_parse(&Vec::<(String, String)>::new(), &body, NOW),
            Err(WebhookError::MissingHeader {
                header: CRYPTO_SIGNATURE_HEADER
            })
        );
        // Another provider's headers do not authenticate this one.
        let card_headers = card.sign(&body, NOW.unix_timestamp());
        assert!(matches!(
            crypto.verify_and_parse(&card_headers, &body, NOW),
            Err(WebhookError::MissingHeader { .. })
        ));
    }

    #[test]
    fn errors_answer_401_or_400_and_say_only_the_code() {
        let auth = [
            WebhookError::MissingHeader {
                header: CARD_SIGNATURE_HEADER,
            },
            WebhookError::MalformedHeader {
                header: CARD_SIGNATURE_HEADER,
            },
            WebhookError::BadSignature,
            WebhookError::Expired { age_seconds: 999 },
            WebhookError::NotYetValid { ahead_seconds: 999 },
        ];
        let mut codes: Vec<&str> = auth.iter().map(|e| e.code()).collect();
        codes.dedup();
        assert_eq!(codes.len(), auth.len(), "each check has its code");
        for e in auth {
            assert_eq!(e.http_status(), 401);
            assert_eq!(e.to_string(), "the webhook delivery did not authenticate");
            let error = brokeros_kernel::Error::from(e);
            assert_eq!(error.http_status(), 401);
            assert!(!error.to_string().contains("999"));
        }
        let malformed = WebhookError::Malformed {
            reason: "missing field `id`".into(),
        };
        assert_eq!(malformed.http_status(), 400);
        assert_eq!(brokeros_kernel::Error::from(malformed).code(), "malformed_payload");
        let ignored = WebhookError::Ignored {
            event_type: "dispute.created".into(),
        };
        assert!(ignored.is_ignorable());
        assert_eq!(ignored.http_status(), 200);
    }

    // --- Parsing -------------------------------------------------------------------------------

    /// Verifies `body` (signed properly) with `provider`.
    fn parse(provider: &dyn PaymentProvider, body: &str) -> Result<PaymentEvent, WebhookError> {
        let headers = signed(provider, body.as_bytes(), NOW);
        provider.verify_and_parse(&headers, body.as_bytes(), NOW)
    }

    const CARD_BODY: &str = r#"{
        "id": "evt_card_1", "type": "payment.captured", "created": 1795514370,
        "livemode": false,
        "data": {"payment": {"id": "pay_9f", "merchant_reference": "dep_42",
                 "amount": {"value": 100500000, "currency": "USDT"}, "card": {"last4": "4242"}}}
    }"#;

    const CRYPTO_BODY: &str = r#"{
        "event_id": "evt_card_1", "type": "deposit.update", "created_at": "2026-11-24T09:59:30Z",
        "order": {"id": "ord_1", "reference": "dep_42"},
        "transfer": {"status": "completed", "asset": "USDT", "network": "TRON",
                     "amount": "100.5", "tx_hash": "pay_9f", "confirmations": 12}
    }"#;

    #[test]
    fn both_payload_shapes_parse_to_the_same_event() {
        let from_card = parse(&card(), CARD_BODY).unwrap();
        let from_crypto = parse(&crypto(), CRYPTO_BODY).unwrap();
        let expected = PaymentEvent {
            provider: "simcard".into(),
            event_id: "evt_card_1".into(),
            deposit_id: "dep_42".into(),
            kind: PaymentEventKind::Succeeded,
            amount: money("100.5", "USDT"),
            occurred_at: datetime!(2026-11-24 09:59:30 UTC),
            provider_transaction_id: "pay_9f".into(),
        };
        assert_eq!(from_card, expected);
        assert_eq!(from_card.amount.amount().to_string(), "100.500000");
        assert_eq!(
            from_crypto,
            PaymentEvent {
                provider: "simcrypto".into(),
                ..expected
            }
        );
    }

    #[test]
    fn card_minor_units_follow_the_currency_scale() {
        let body = |value: &str, currency: &str| {
            CARD_BODY
                .replace("100500000", value)
                .replace("\"USDT\"", &format!("\"{currency}\""))
        };
        assert_eq!(
            parse(&card(), &body("10050", "EUR")).unwrap().amount,
            money("100.50", "EUR")
        );
        assert_eq!(
            parse(&card(), &body("10050", "JPY")).unwrap().amount,
            money("10050", "JPY")
        );
        assert_eq!(
            parse(&card(), &body("1", "BTC")).unwrap().amount,
            money("0.00000001", "BTC")
        );
    }

    #[test]
    fn every_card_event_type_maps_to_its_kind() {
        let card = card();
        for (event_type, kind) in [
            ("payment.captured", PaymentEventKind::Succeeded),
            ("payment.authorized", PaymentEventKind::Pending),
            ("payment.refunded", PaymentEventKind::Refunded),
        ] {
            let body = CARD_BODY.replace("payment.captured", event_type);
            assert_eq!(parse(&card, &body).unwrap().kind, kind, "{event_type}");
        }
        let declined = CARD_BODY
            .replace("payment.captured", "payment.declined")
            .replace(
                r#""card": {"last4": "4242"}"#,
                r#""decline": {"code": "insufficient_funds", "message": "Not enough money"}"#,
            );
        assert_eq!(
            parse(&card, &declined).unwrap().kind,
            PaymentEventKind::Declined {
                reason: "insufficient_funds".into()
            }
        );
        let without_reason = CARD_BODY.replace("payment.captured", "payment.declined");
        assert!(matches!(
            parse(&card, &without_reason),
            Err(WebhookError::Malformed { .. })
        ));
    }

    #[test]
    fn crypto_succeeds_only_with_enough_confirmations() {
        let crypto = crypto();
        let with = |status: &str, confirmations: u32| {
            CRYPTO_BODY
                .replace("\"completed\"", &format!("\"{status}\""))
                .replace(
                    "\"confirmations\": 12",
                    &format!("\"confirmations\": {confirmations}"),
                )
        };
        assert_eq!(
            parse(&crypto, &with("completed", 12)).unwrap().kind,
            PaymentEventKind::Succeeded
        );
        assert_eq!(
            parse(&crypto, &with("completed", 40)).unwrap().kind,
            PaymentEventKind::Succeeded
        );
        assert_eq!(
            parse(&crypto, &with("completed", 11)).unwrap().kind,
            PaymentEventKind::Pending
        );
        assert_eq!(
            parse(&crypto, &with("completed", 0)).unwrap().kind,
            PaymentEventKind::Pending
        );
        assert_eq!(
            parse(&crypto, &with("confirming", 50)).unwrap().kind,
            PaymentEventKind::Pending
        );
        assert_eq!(
            parse(&crypto, &with("refunded", 12)).unwrap().kind,
            PaymentEventKind::Refunded
        );
        let failed = with("failed", 0).replace(
            "\"confirmations\": 0",
            "\"confirmations\": 0, \"failure_reason\": \"underpaid\"",
        );
        assert_eq!(
            parse(&crypto, &failed).unwrap().kind,
            PaymentEventKind::Declined {
                reason: "underpaid".into()
            }
        );
        assert!(matches!(
            parse(&crypto, &with("failed", 0)),
            Err(WebhookError::Malformed { .. })
        ));
        assert!(matches!(
            parse(&crypto, &with("stuck", 0)),
            Err(WebhookError::Malformed { .. })
        ));
        // What the simulated processor renders below the threshold is read as pending.
        let e = event("simcrypto", PaymentEventKind::Succeeded, money("7", "USDT"));
        let body = crypto.render_with_confirmations(&e, 11);
        let headers = crypto.sign(&body, NOW.unix_timestamp());
        assert_eq!(
            crypto.verify_and_parse(&headers, &body, NOW).unwrap().kind,
            PaymentEventKind::Pending
        );
        // Without a transaction hash, the processor's order id names the transaction.
        let no_hash = CRYPTO_BODY.replace(r#""tx_hash": "pay_9f", "#, "");
        assert_eq!(
            parse(&crypto, &no_hash).unwrap().provider_transaction_id,
            "ord_1"
        );
    }

    #[test]
    fn unknown_event_types_are_ignorable_but_still_authenticated() {
        let card = card();
        let dispute =
            r#"{"id": "evt_d1", "type": "dispute.created", "data": {"dispute": {"id": "dp_1"}}}"#;
        assert_eq!(
            parse(&card, dispute),
            Err(WebhookError::Ignored {
                event_type: "dispute.created".into()
            })
        );
        let crypto = crypto();
        let other = r#"{"event_id": "e1", "type": "payout.sent", "anything": [1, 2]}"#;
        assert_eq!(
            parse(&crypto, other),
            Err(WebhookError::Ignored {
                event_type: "payout.sent".into()
            })
        );
        // Unsigned, an unknown type is just a bad delivery.
        let headers = card.sign(b"something else", NOW.unix_timestamp());
        assert_eq!(
            card.verify_and_parse(&headers, dispute.as_bytes(), NOW),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn wrong_types_and_forms_are_malformed() {
        let card = card();
        for bad in [
            CARD_BODY.replace("100500000", "100.5"),
            CARD_BODY.replace("100500000", "\"100500000\""),
            CARD_BODY.replace("100500000", "1e8"),
            CARD_BODY.replace("1795514370", "\"1795514370\""),
            CARD_BODY.replace("1795514370", "99999999999999999"),
            CARD_BODY.replace(r#""merchant_reference": "dep_42","#, ""),
            CARD_BODY.replace("\"dep_42\"", "\"dep 42\""),
            CARD_BODY.replace("\"dep_42\"", "42"),
            CARD_BODY.replace("\"pay_9f\"", "\"\""),
            CARD_BODY.replace("\"evt_card_1\"", "\"evt/1\""),
            "not json".to_string(),
            "[]".to_string(),
        ] {
            assert!(
                matches!(parse(&card, &bad), Err(WebhookError::Malformed { .. })),
                "{bad}: {:?}",
                parse(&card, &bad)
            );
        }
        let crypto = crypto();
        for bad in [
            CRYPTO_BODY.replace("\"100.5\"", "100.5"),
            CRYPTO_BODY.replace("\"100.5\"", "\"1e2\""),
            CRYPTO_BODY.replace("\"100.5\"", "\"-100.5\""),
            CRYPTO_BODY.replace("\"100.5\"", "\"+100.5\""),
            CRYPTO_BODY.replace("\"100.5\"", "\" 100.5\""),
            CRYPTO_BODY.replace("\"100.5\"", "\"1_000\""),
            CRYPTO_BODY.replace("\"100.5\"", "\"100.\""),
            CRYPTO_BODY.replace("\"100.5\"", "\".5\""),
            CRYPTO_BODY.replace("\"100.5\"", "\"\""),
            CRYPTO_BODY.replace("\"confirmations\": 12", "\"confirmations\": -1"),
            CRYPTO_BODY.replace("\"confirmations\": 12", "\"confirmations\": \"12\""),
            CRYPTO_BODY.replace("2026-11-24T09:59:30Z", "yesterday"),
            CRYPTO_BODY.replace("\"pay_9f\"", "\"0x 12\""),
        ] {
            assert!(
                matches!(parse(&crypto, &bad), Err(WebhookError::Malformed { .. })),
                "{bad}: {:?}",
                parse(&crypto, &bad)
            );
        }
    }

    #[test]
    fn unbookable_amounts_and_unknown_currencies_are_refused() {
        let card = card();
        let crypto = crypto();
        let code = |r: Result<PaymentEvent, WebhookError>| match r {
            Err(WebhookError::InvalidAmount { code, .. }) => code,
            other => panic!("expected InvalidAmount, got {other:?}"),
        };
        // More decimals than the currency has: USDT has 6, BTC 8, EUR 2.
        assert_eq!(
            code(parse(&crypto, &CRYPTO_BODY.replace("100.5", "100.0000001"))),
            "amount_too_precise"
        );
        assert_eq!(
            code(parse(
                &crypto,
                &CRYPTO_BODY
                    .replace("100.5", "0.000000001")
                    .replace("\"USDT\"", "\"BTC\"")
            )),
            "amount_too_precise"
        );
        assert_eq!(
            code(parse(
                &crypto,
                &CRYPTO_BODY
                    .replace("100.5", "1.005")
                    .replace("\"USDT\"", "\"EUR\"")
            )),
            "amount_too_precise"
        );
        // Trailing zeros are not precision.
        assert_eq!(
            parse(&crypto, &CRYPTO_BODY.replace("100.5", "100.500000000"))
                .unwrap()
                .amount,
            money("100.5", "USDT")
        );
        // Currencies Broker OS does not book, or written otherwise than the table.
        assert_eq!(
            code(parse(&crypto, &CRYPTO_BODY.replace("\"USDT\"", "\"DOGE\""))),
            "unknown_currency"
        );
        assert_eq!(
            code(parse(&crypto, &CRYPTO_BODY.replace("\"USDT\"", "\"usdt\""))),
            "unknown_currency"
        );
        assert_eq!(
            code(parse(&card, &CARD_BODY.replace("\"USDT\"", "\"XYZ\""))),
            "unknown_currency"
        );
        // Zero, negative, too large.
        assert_eq!(
            code(parse(&card, &CARD_BODY.replace("100500000", "0"))),
            "amount_not_positive"
        );
        assert_eq!(
            code(parse(&card, &CARD_BODY.replace("100500000", "-100"))),
            "amount_not_positive"
        );
        assert_eq!(
            code(parse(&crypto, &CRYPTO_BODY.replace("100.5", "0.000000"))),
            "amount_not_positive"
        );
        assert_eq!(
            code(parse(
                &crypto,
                &CRYPTO_BODY.replace("100.5", "1000000000000001")
            )),
            "amount_too_large"
        );
        let error = brokeros_kernel::Error::from(
            parse(&card, &CARD_BODY.replace("\"USDT\"", "\"XYZ\"")).unwrap_err(),
        );
        assert_eq!(
            (error.http_status(), error.code()),
            (400, "unknown_currency")
        );
    }

    #[test]
    fn every_kind_round_trips_through_both_shapes() {
        for provider in providers() {
            for kind in [
                PaymentEventKind::Succeeded,
                PaymentEventKind::Pending,
                PaymentEventKind::Refunded,
                PaymentEventKind::Declined {
                    reason: "do_not_honor".into(),
                },
            ] {
                for amount in [
                    money("0.01", "EUR"),
                    money("1500", "JPY"),
                    money("0.00012345", "BTC"),
                ] {
                    let e = event(provider.name(), kind.clone(), amount);
                    let d = provider.deliver(&e, NOW).unwrap();
                    assert_eq!(provider.verify_and_parse(&d.headers, &d.body, NOW), Ok(e));
                }
            }
        }
    }
}
