//! A KYC provider for local runs and tests, with outcomes decided by the test data.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use brokeros_onboarding::kyc::model::{
    DocumentOutcome, DocumentRef, DocumentVerification, KycSubject, VerificationLevel,
};
use http::{HeaderMap, HeaderValue};
use serde::{Deserialize, Serialize};

use brokeros_kernel::webhook_signature::{
    SignatureError, WebhookSecret, signature_hex, v1_signatures, verify_signature,
};
use brokeros_onboarding::kyc::provider::{
    ApplicantRef, CheckRef, CheckStatus, KycProvider, KycWebhookEvent, ProviderError,
    SubmittedDocument,
};
use time::OffsetDateTime;

/// The header carrying the decimal Unix seconds the delivery was signed at.
pub const TIMESTAMP_HEADER: &str = "x-simulated-timestamp";
/// The header carrying `v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>">` (the payment
/// providers' scheme: the kernel's [`brokeros_kernel::webhook_signature`]).
pub const SIGNATURE_HEADER: &str = "x-simulated-signature";

/// The one event type the simulated provider sends.
pub const CHECK_COMPLETED: &str = "check.completed";

/// A deterministic stand-in for Sumsub or Onfido. Use cases reach it only through
/// [`KycProvider`], exactly as they would a real adapter: an applicant per client (created
/// once, found again by client id), documents submitted by reference, a check started at a
/// level, the result returned at once, by `fetch_check`, or by a webhook whose HMAC signature
/// over its signed timestamp and body `parse_webhook` verifies (within 5 minutes of now). Only where the verdict comes from differs:
///
/// | test data | outcome |
/// |---|---|
/// | a document number containing `-FAIL` | documents rejected (`forged_or_expired_document`) |
/// | a document number containing `-REVIEW` | provider undecided (`image_blurry`) |
/// | a document number containing `-PENDING` | the check starts `Pending`; the verdict comes by [`SimulatedKycProvider::webhook`] or `fetch_check` |
/// | a name word `Outage<N>` (e.g. last name `Outage2`) | the client's first N provider calls fail with `Unavailable`, later ones succeed |
/// | a name word `OutageForever` | every call for the client fails with `Unavailable` |
/// | anything else | clear |
///
/// State (applicants, checks, calls per client) lives in memory behind a mutex: per process,
/// so it suits `brokeros serve`, tests and demos, not several Lambda instances.
pub struct SimulatedKycProvider {
    webhook_secret: WebhookSecret,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    applicants: HashMap<String, Applicant>,
    applicant_by_client: HashMap<String, String>,
    checks: HashMap<String, Check>,
    calls_by_client: HashMap<String, u32>,
}

impl State {
    fn new_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}_{:06}", self.next_id)
    }

    /// Counts a call for the client and fails it while the client's outage lasts.
    fn call(&mut self, client_id: &str, outage: Outage) -> Result<(), ProviderError> {
        let count = self
            .calls_by_client
            .entry(client_id.to_string())
            .or_default();
        *count += 1;
        let failing = match outage {
            Outage::None => false,
            Outage::FirstCalls(n) => *count <= n,
            Outage::Forever => true,
        };
        if failing {
            Err(ProviderError::Unavailable(format!(
                "simulated outage (call {count} for this client)"
            )))
        } else {
            Ok(())
        }
    }

    fn applicant(&self, id: &str) -> Result<&Applicant, ProviderError> {
        self.applicants
            .get(id)
            .ok_or_else(|| ProviderError::Rejected(format!("unknown applicant {id}")))
    }
}

struct Applicant {
    client_id: String,
    outage: Outage,
    /// The verdict the submitted documents will get, and whether it comes later.
    verdict: Option<(DocumentVerification, bool)>,
}

struct Check {
    applicant_id: String,
    result: DocumentVerification,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outage {
    None,
    FirstCalls(u32),
    Forever,
}

fn outage_of(subject: &KycSubject) -> Outage {
    for word in subject.name.full().split_whitespace() {
        let lower = word.to_ascii_lowercase();
        let Some(rest) = lower.strip_prefix("outage") else {
            continue;
        };
        return match rest {
            "forever" => Outage::Forever,
            "" => Outage::FirstCalls(1),
            digits => digits.parse().map_or(Outage::None, Outage::FirstCalls),
        };
    }
    Outage::None
}

fn verdict_of(documents: &[DocumentRef]) -> (DocumentVerification, bool) {
    let marked = |marker: &str| {
        documents
            .iter()
            .any(|d| d.number.to_ascii_uppercase().contains(marker))
    };
    let (outcome, labels) = if marked("-FAIL") {
        (
            DocumentOutcome::Rejected,
            vec!["forged_or_expired_document"],
        )
    } else if marked("-REVIEW") {
        (DocumentOutcome::Review, vec!["image_blurry"])
    } else {
        (DocumentOutcome::Clear, vec![])
    };
    let verification = DocumentVerification {
        outcome,
        labels: labels.into_iter().map(str::to_string).collect(),
    };
    (verification, marked("-PENDING"))
}

/// The simulated provider's webhook body.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookPayload {
    #[serde(rename = "type")]
    event_type: String,
    event_id: String,
    applicant_id: String,
    check_id: String,
    result: DocumentVerification,
}

impl SimulatedKycProvider {
    /// Panics on a secret shorter than the kernel's minimum (16 bytes): the secret is the
    /// host's constant or a test's.
    pub fn new(webhook_secret: impl Into<Vec<u8>>) -> SimulatedKycProvider {
        SimulatedKycProvider {
            webhook_secret: WebhookSecret::new(webhook_secret)
                .expect("the simulated KYC provider's webhook secret has at least 16 bytes"),
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain maps behind, still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many port calls were made for a client (failed ones included).
    pub fn calls_for(&self, client_id: &str) -> u32 {
        self.state()
            .calls_by_client
            .get(client_id)
            .copied()
            .unwrap_or(0)
    }

    /// The signed webhook the provider sends now when `check_id` completes: headers and raw
    /// body, as they would reach the webhook endpoint.
    pub fn webhook(&self, check_id: &str) -> Result<(HeaderMap, Vec<u8>), ProviderError> {
        self.webhook_at(check_id, OffsetDateTime::now_utc())
    }

    /// The webhook for `check_id` as signed at `at` (a test's stale or early delivery).
    pub fn webhook_at(
        &self,
        check_id: &str,
        at: OffsetDateTime,
    ) -> Result<(HeaderMap, Vec<u8>), ProviderError> {
        let mut state = self.state();
        let event_id = state.new_id("sim_evt");
        let check = state
            .checks
            .get(check_id)
            .ok_or_else(|| ProviderError::Rejected(format!("unknown check {check_id}")))?;
        let payload = WebhookPayload {
            event_type: CHECK_COMPLETED.to_string(),
            event_id,
            applicant_id: check.applicant_id.clone(),
            check_id: check_id.to_string(),
            result: check.result.clone(),
        };
        let body = serde_json::to_vec(&payload).expect("webhook payloads serialize");
        let timestamp = at.unix_timestamp().to_string();
        let signature = format!(
            "v1={}",
            signature_hex(&self.webhook_secret, &timestamp, &body)
        );
        let mut headers = HeaderMap::new();
        headers.insert(
            TIMESTAMP_HEADER,
            HeaderValue::from_str(&timestamp).expect("digits are a valid header value"),
        );
        headers.insert(
            SIGNATURE_HEADER,
            HeaderValue::from_str(&signature).expect("hex is a valid header value"),
        );
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        Ok((headers, body))
    }
}

#[async_trait]
impl KycProvider for SimulatedKycProvider {
    fn name(&self) -> &str {
        "simulated"
    }

    async fn create_applicant(&self, subject: &KycSubject) -> Result<ApplicantRef, ProviderError> {
        let mut state = self.state();
        let outage = outage_of(subject);
        state.call(&subject.client_id, outage)?;
        let id = match state.applicant_by_client.get(&subject.client_id) {
            Some(id) => id.clone(),
            None => {
                let id = state.new_id("sim_applicant");
                state
                    .applicant_by_client
                    .insert(subject.client_id.clone(), id.clone());
                state.applicants.insert(
                    id.clone(),
                    Applicant {
                        client_id: subject.client_id.clone(),
                        outage,
                        verdict: None,
                    },
                );
                id
            }
        };
        Ok(ApplicantRef {
            id,
            external_id: subject.client_id.clone(),
        })
    }

    async fn submit_documents(
        &self,
        applicant: &ApplicantRef,
        documents: &[DocumentRef],
    ) -> Result<Vec<SubmittedDocument>, ProviderError> {
        let mut state = self.state();
        let (client_id, outage) = {
            let a = state.applicant(&applicant.id)?;
            (a.client_id.clone(), a.outage)
        };
        state.call(&client_id, outage)?;
        let submitted = documents
            .iter()
            .map(|d| SubmittedDocument {
                id: state.new_id("sim_doc"),
                doc_type: d.doc_type,
            })
            .collect();
        let verdict = verdict_of(documents);
        if let Some(a) = state.applicants.get_mut(&applicant.id) {
            a.verdict = Some(verdict);
        }
        Ok(submitted)
    }

    async fn start_check(
        &self,
        applicant: &ApplicantRef,
        _level: VerificationLevel,
    ) -> Result<CheckRef, ProviderError> {
        let mut state = self.state();
        let (client_id, outage, verdict) = {
            let a = state.applicant(&applicant.id)?;
            (a.client_id.clone(), a.outage, a.verdict.clone())
        };
        state.call(&client_id, outage)?;
        let (result, later) =
            verdict.ok_or_else(|| ProviderError::Rejected("no documents were submitted".into()))?;
        let id = state.new_id("sim_check");
        state.checks.insert(
            id.clone(),
            Check {
                applicant_id: applicant.id.clone(),
                result: result.clone(),
            },
        );
        let status = if later {
            CheckStatus::Pending
        } else {
            CheckStatus::Completed(result)
        };
        Ok(CheckRef { id, status })
    }

    async fn fetch_check(&self, check_id: &str) -> Result<CheckStatus, ProviderError> {
        let mut state = self.state();
        let (applicant_id, result) = {
            let check = state
                .checks
                .get(check_id)
                .ok_or_else(|| ProviderError::Rejected(format!("unknown check {check_id}")))?;
            (check.applicant_id.clone(), check.result.clone())
        };
        let (client_id, outage) = {
            let a = state.applicant(&applicant_id)?;
            (a.client_id.clone(), a.outage)
        };
        state.call(&client_id, outage)?;
        Ok(CheckStatus::Completed(result))
    }

    fn parse_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: OffsetDateTime,
    ) -> Result<KycWebhookEvent, ProviderError> {
        let invalid = |why: &str| ProviderError::InvalidWebhook(why.to_string());
        let refused =
            |e: SignatureError| ProviderError::InvalidWebhook(format!("{}: {e:?}", e.code()));
        let timestamp = single_header(headers, TIMESTAMP_HEADER).map_err(refused)?;
        let signature = single_header(headers, SIGNATURE_HEADER).map_err(refused)?;
        let signatures = v1_signatures(SIGNATURE_HEADER, signature).map_err(refused)?;
        verify_signature(
            &self.webhook_secret,
            TIMESTAMP_HEADER,
            timestamp,
            &signatures,
            body,
            now,
        )
        .map_err(refused)?;
        let payload: WebhookPayload =
            serde_json::from_slice(body).map_err(|_| invalid("the body is not a webhook event"))?;
        if payload.event_type != CHECK_COMPLETED {
            return Err(invalid("unknown event type"));
        }
        Ok(KycWebhookEvent {
            event_id: payload.event_id,
            applicant_id: payload.applicant_id,
            check_id: payload.check_id,
            status: CheckStatus::Completed(payload.result),
        })
    }
}

/// The one value of `name`: missing, repeated or not text is refused.
fn single_header<'a>(
    headers: &'a HeaderMap,
    name: &'static str,
) -> Result<&'a str, SignatureError> {
    let mut values = headers.get_all(name).iter();
    let value = values
        .next()
        .ok_or(SignatureError::MissingHeader { header: name })?;
    if values.next().is_some() {
        return Err(SignatureError::MalformedHeader { header: name });
    }
    value
        .to_str()
        .map_err(|_| SignatureError::MalformedHeader { header: name })
}
