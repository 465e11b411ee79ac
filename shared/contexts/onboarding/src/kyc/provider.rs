//! The KYC provider port: document verification by an outside service. Shaped after the
//! providers brokerages use (Sumsub, Onfido): an *applicant* is created for the client (keyed
//! by our client id, so creating it again returns the same one), the documents are submitted
//! by reference, a *check* is started at a verification level, and its result arrives either
//! at once, by polling, or by a signed webhook.

use crate::kyc::model::VerificationLevel;
use crate::kyc::model::{DocumentRef, DocumentType, DocumentVerification, KycSubject};
use async_trait::async_trait;
use http::HeaderMap;

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

    /// Verifies the webhook's signature over its signed timestamp and the raw body, the
    /// timestamp within the tolerance of `now` (the kernel's
    /// [`webhook_signature`](brokeros_kernel::webhook_signature), as the payment providers'
    /// webhooks), then reads it.
    fn parse_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: time::OffsetDateTime,
    ) -> Result<KycWebhookEvent, ProviderError>;
}
