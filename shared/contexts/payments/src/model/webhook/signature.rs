//! Webhook signatures: the kernel's one mechanism for signed deliveries
//! ([`brokeros_kernel::webhook_signature`]: HMAC-SHA256 over `<timestamp>.<body>`, compared in
//! constant time, within a time window), shared with the KYC providers' webhooks. Its refusals
//! become this context's [`WebhookError`]s.

use super::error::WebhookError;
use brokeros_kernel::webhook_signature::SignatureError;

pub use brokeros_kernel::webhook_signature::{
    MAX_SIGNATURES, MIN_SECRET_BYTES, SIGNATURE_TOLERANCE_SECONDS, WebhookSecret, constant_time_eq,
    hmac_sha256, signature_hex,
};

impl From<SignatureError> for WebhookError {
    fn from(e: SignatureError) -> WebhookError {
        match e {
            SignatureError::MissingHeader { header } => WebhookError::MissingHeader { header },
            SignatureError::MalformedHeader { header } => WebhookError::MalformedHeader { header },
            SignatureError::BadSignature => WebhookError::BadSignature,
            SignatureError::Expired { age_seconds } => WebhookError::Expired { age_seconds },
            SignatureError::NotYetValid { ahead_seconds } => {
                WebhookError::NotYetValid { ahead_seconds }
            }
        }
    }
}

/// The signatures of a `v1=<hex>,…` header (see
/// [`brokeros_kernel::webhook_signature::v1_signatures`]).
pub fn v1_signatures<'a>(
    header: &'static str,
    value: &'a str,
) -> Result<Vec<&'a str>, WebhookError> {
    Ok(brokeros_kernel::webhook_signature::v1_signatures(
        header, value,
    )?)
}

/// Verifies a delivery (see [`brokeros_kernel::webhook_signature::verify_signature`]).
pub fn verify_signature(
    secret: &WebhookSecret,
    timestamp_header: &'static str,
    timestamp: &str,
    signatures: &[&str],
    body: &[u8],
    now: time::OffsetDateTime,
) -> Result<(), WebhookError> {
    Ok(brokeros_kernel::webhook_signature::verify_signature(
        secret,
        timestamp_header,
        timestamp,
        signatures,
        body,
        now,
    )?)
}
