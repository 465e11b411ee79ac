//! Webhook signatures: the kernel's one mechanism for signed deliveries
//! ([`brokeros_kernel::webhook_signature`]: HMAC-SHA256 over `<timestamp>.<body>`, compared in
//! constant time, within a time window), shared with the KYC providers' webhooks. Its refusals
//! become this context's [`WebhookError`]s.

use super::error::WebhookError;
use brokeros_kernel::webhook_signature::SignatureError;

pub use brokeros_kernel::webhook_signature::{
    MAX_SIGNATURES, MIN_SECRET_BYTES, SIGNATURE_TOLERANCE_SECONDS, WebhookSecret, constant_time_eq,
    hmac_sha256, signature_hex, v1_signatures, verify_signature,
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
