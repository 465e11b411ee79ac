//! The KYC provider port: document verification by an outside service. Shaped after the
//! providers brokerages use (Sumsub, Onfido): an *applicant* is created for the client (keyed
//! by our client id, so creating it again returns the same one), the documents are submitted
//! by reference, a *check* is started at a verification level, and its result arrives either
//! at once, by polling, or by a signed webhook.

use crate::kyc::model::VerificationLevel;
use crate::kyc::model::{DocumentRef, DocumentType, DocumentVerification, KycSubject};
use async_trait::async_trait;
use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::Sha256;

/// The provider's applicant for one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicantRef {
    pub id: String,
    /// Our client id, which the provider keeps as its external user id.
    pub external_id: String,
}

/// A document as the provider registered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmittedDocument {
    pub id: String,
    pub doc_type: DocumentType,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckStatus {
    /// The provider works on it; the result comes by webhook or by a later `fetch_check`.
    Pending,
    Completed(DocumentVerification),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRef {
    pub id: String,
    pub status: CheckStatus,
}

/// What a verified webhook tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KycWebhookEvent {
    /// The provider's id of this delivery (deliveries repeat; handling is idempotent anyway).
    pub event_id: String,
    pub applicant_id: String,
    pub check_id: String,
    pub status: CheckStatus,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderError {
    /// Timeouts, 5xx, throttling: the same call may succeed later.
    Unavailable(String),
    /// The provider refused the request (bad data, unknown applicant): retrying will not help.
    Rejected(String),
    /// A webhook whose signature or body does not verify.
    InvalidWebhook(String),
}

impl std::fmt::Display for ProviderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProviderError::Unavailable(m) => write!(f, "provider unavailable: {m}"),
            ProviderError::Rejected(m) => write!(f, "provider refused the request: {m}"),
            ProviderError::InvalidWebhook(m) => write!(f, "webhook rejected: {m}"),
        }
    }
}

impl std::error::Error for ProviderError {}

#[async_trait]
pub trait KycProvider: Send + Sync {
    /// A short stable name (`simulated`, `sumsub`), stored with each check to find it again
    /// when the provider's webhook names its check id.
    fn name(&self) -> &str;

    /// The applicant for `subject.client_id`, created if it does not exist (idempotent).
    async fn create_applicant(&self, subject: &KycSubject) -> Result<ApplicantRef, ProviderError>;

    /// Registers the documents the client uploaded to the provider (by type, issuing country
    /// and number; the images go from the client's device to the provider directly).
    async fn submit_documents(
        &self,
        applicant: &ApplicantRef,
        documents: &[DocumentRef],
    ) -> Result<Vec<SubmittedDocument>, ProviderError>;

    /// Starts verification at `level` (the provider's "level" or "check type").
    async fn start_check(
        &self,
        applicant: &ApplicantRef,
        level: VerificationLevel,
    ) -> Result<CheckRef, ProviderError>;

    async fn fetch_check(&self, check_id: &str) -> Result<CheckStatus, ProviderError>;

    /// Verifies the webhook's signature over the raw body, then reads it.
    fn parse_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<KycWebhookEvent, ProviderError>;
}

/// HMAC-SHA256 of `body` under `secret`, as lowercase hex (the form Sumsub's
/// `X-Payload-Digest` and Onfido's `X-SHA2-Signature` take).
pub fn hmac_sha256_hex(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `signature_hex` is the HMAC-SHA256 of `body` under `secret`, compared in constant
/// time (a timing difference would let an attacker guess a valid signature byte by byte).
pub fn verify_hmac_sha256_hex(secret: &[u8], body: &[u8], signature_hex: &str) -> bool {
    let Ok(signature) = hex::decode(signature_hex.trim()) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.verify_slice(&signature).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_the_rfc_4231_vector_and_verifies_only_the_right_signature() {
        // RFC 4231, test case 2.
        let mac = hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            mac,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(verify_hmac_sha256_hex(
            b"Jefe",
            b"what do ya want for nothing?",
            &mac
        ));
        assert!(!verify_hmac_sha256_hex(
            b"Jefe",
            b"what do ya want for nothing!",
            &mac
        ));
        assert!(!verify_hmac_sha256_hex(
            b"other",
            b"what do ya want for nothing?",
            &mac
        ));
        assert!(!verify_hmac_sha256_hex(b"Jefe", b"x", "not hex"));
        assert!(!verify_hmac_sha256_hex(
            b"Jefe",
            b"what do ya want for nothing?",
            &mac[..62]
        ));
    }
}
