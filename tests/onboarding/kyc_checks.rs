//! KYC use cases on the embedded SQLite store with the simulated provider (brokeros-local).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use brokeros_kernel::audit::{Actor, ActorKind, AuditEvent};
use brokeros_kernel::principal::{Principal, Role};
use brokeros_local::screening::{SAMPLE_APPLICANTS_JSON, sample_screening_lists};
use brokeros_onboarding::kyc::model::{
    CheckStatus, CheckTrigger, ClientType, JurisdictionRules, KycCheckRecord, KycOutcome,
    KycSubject, ScreeningList,
};
use brokeros_store::{Query, Table};
use serde_json::json;
use time::OffsetDateTime;
use time::macros::datetime;

use axum::http::HeaderMap;
use brokeros_kernel::Core;
use brokeros_kernel::idempotency::IdempotencyKey;
use brokeros_kernel::{Error, OpContext};
use brokeros_local::SimulatedKycProvider;
use brokeros_onboarding::keys;
use brokeros_onboarding::kyc::*;

const NOW: OffsetDateTime = datetime!(2026-03-01 10:00:00 UTC);
const SECRET: &[u8] = b"simulated-webhook-secret";

struct Fixture {
    services: Core,
    provider: SimulatedKycProvider,
    list: ScreeningList,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = brokeros_store_sqlite::SqliteStore::open(&dir.path().join("kyc.sqlite3")).unwrap();
    Fixture {
        services: Core::new(Arc::new(store)),
        provider: SimulatedKycProvider::new(SECRET),
        list: sample_screening_lists(),
        _dir: dir,
    }
}

impl Fixture {
    async fn run(&self, check_id: &str, subject: KycSubject) -> Result<KycCheckRecord, KycError> {
        self.run_at(check_id, subject, NOW).await
    }

    async fn run_at(
        &self,
        check_id: &str,
        subject: KycSubject,
        now: OffsetDateTime,
    ) -> Result<KycCheckRecord, KycError> {
        let ctx = OpContext {
            now,
            ..workflow_ctx(check_id)
        };
        run_kyc_check(
            &self.services,
            &self.provider,
            &self.list,
            check_id,
            subject,
            &ctx,
        )
        .await
    }

    async fn counts(&self) -> (u64, u64) {
        let store = &self.services.store;
        (
            store.count_items(Table::Main).await.unwrap(),
            store.count_items(Table::Audit).await.unwrap(),
        )
    }

    async fn events(&self, entity_type: &str, id: &str) -> Vec<AuditEvent> {
        let query = Query::new(Table::Audit, None, keys::audit_stream(entity_type, id)).limit(100);
        let page = self.services.store.query(query).await.unwrap();
        page.items
            .iter()
            .map(|i| serde_json::from_str(&i.data).unwrap())
            .collect()
    }
}

fn workflow_ctx(execution: &str) -> OpContext {
    OpContext {
        actor: Actor {
            kind: ActorKind::Workflow,
            id: format!("onboarding:{execution}"),
            role: None,
        },
        correlation_id: format!("corr-{execution}"),
        now: NOW,
    }
}

fn applicant(scenario: &str) -> KycSubject {
    let all: BTreeMap<String, KycSubject> = serde_json::from_str(SAMPLE_APPLICANTS_JSON).unwrap();
    all.get(scenario)
        .unwrap_or_else(|| panic!("no sample applicant {scenario}"))
        .clone()
}

fn principal(role: Role) -> Principal {
    Principal {
        sub: format!("{role}-1"),
        roles: BTreeSet::from([role]),
    }
}

fn codes(check: &KycCheckRecord) -> Vec<&str> {
    check
        .decision
        .as_ref()
        .unwrap()
        .reasons
        .iter()
        .map(|r| r.code.as_str())
        .collect()
}

#[tokio::test]
async fn the_simulated_provider_clears_rejects_and_defers_to_review() {
    let f = fixture();
    let clear = f.run("exec-clear", applicant("clear")).await.unwrap();
    assert_eq!(clear.status, CheckStatus::Completed);
    assert_eq!(clear.outcome(), Some(KycOutcome::Approve));
    assert_eq!(clear.decision.as_ref().unwrap().leverage_cap, Some(30));
    let provider = clear.provider.as_ref().unwrap();
    assert_eq!(provider.provider, "simulated");

    let failed = f
        .run("exec-fail", applicant("document_rejected"))
        .await
        .unwrap();
    assert_eq!(failed.outcome(), Some(KycOutcome::Reject));
    assert_eq!(codes(&failed), ["document_verification_failed"]);

    let review = f
        .run("exec-review", applicant("document_review"))
        .await
        .unwrap();
    assert_eq!(review.outcome(), Some(KycOutcome::ManualReview));
    assert_eq!(codes(&review), ["document_needs_review"]);

    for check in [&clear, &failed, &review] {
        let events = f.events("kyc_check", &check.id).await;
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].action, "kyc_check.completed");
        assert_eq!(events[0].actor.kind, ActorKind::Workflow);
    }
}

#[tokio::test]
async fn an_outage_fails_with_a_retryable_name_and_stores_nothing_until_it_recovers() {
    let f = fixture();
    let before = f.counts().await;
    for attempt in 1..=2 {
        let err = f
            .run("exec-outage", applicant("outage_then_recovers"))
            .await
            .unwrap_err();
        assert_eq!(
            err.error_name(),
            "KycProviderUnavailable",
            "attempt {attempt}"
        );
        assert!(err.is_transient());
        assert_eq!(
            f.counts().await,
            before,
            "attempt {attempt} wrote something"
        );
    }
    // The state machine retries with the same check id; the third call gets through.
    let check = f
        .run("exec-outage", applicant("outage_then_recovers"))
        .await
        .unwrap();
    assert_eq!(check.outcome(), Some(KycOutcome::Approve));

    for _ in 0..4 {
        let err = f
            .run("exec-down", applicant("outage_forever"))
            .await
            .unwrap_err();
        assert_eq!(err.error_name(), "KycProviderUnavailable");
    }
    assert!(f.provider.calls_for("client_outage_forever") >= 4);
}

#[tokio::test]
async fn a_check_id_answers_the_same_check_and_refuses_another_subject() {
    let f = fixture();
    let first = f.run("exec-1", applicant("clear")).await.unwrap();
    let calls = f.provider.calls_for("client_clear");
    let counts = f.counts().await;
    let again = f.run("exec-1", applicant("clear")).await.unwrap();
    assert_eq!(again, first);
    assert_eq!(
        f.provider.calls_for("client_clear"),
        calls,
        "no second provider check"
    );
    assert_eq!(f.counts().await, counts);
    let err = f.run("exec-1", applicant("pep")).await.unwrap_err();
    assert_eq!(Error::from(err).code(), "kyc_check_id_reused");
    assert_eq!(f.counts().await, counts);
}

#[tokio::test]
async fn a_pending_check_completes_by_its_signed_webhook_once() {
    let f = fixture();
    let pending = f.run("exec-pending", applicant("pending")).await.unwrap();
    assert_eq!(pending.status, CheckStatus::Pending);
    assert_eq!(pending.decision, None);
    let provider_check = pending.provider.as_ref().unwrap().check_id.clone();
    let (headers, body) = f
        .provider
        .webhook_at(&provider_check, NOW + time::Duration::minutes(5))
        .unwrap();
    let ctx = OpContext {
        actor: Actor::system("kyc-webhook:simulated"),
        correlation_id: "corr-webhook".into(),
        now: NOW + time::Duration::minutes(5),
    };

    // Tampered body, missing signature: refused, nothing changes.
    let counts = f.counts().await;
    let mut tampered = body.clone();
    let at = tampered.len() - 5;
    tampered[at] ^= 0x01;
    let err = handle_kyc_webhook(&f.services, &f.provider, &headers, &tampered, &ctx)
        .await
        .unwrap_err();
    assert_eq!(err.error_name(), "KycWebhookRejected");
    assert_eq!(
        brokeros_http::error_status(&brokeros_http::kyc_webhook_error(err)),
        401
    );
    let err = handle_kyc_webhook(&f.services, &f.provider, &HeaderMap::new(), &body, &ctx)
        .await
        .unwrap_err();
    assert_eq!(err.error_name(), "KycWebhookRejected");
    assert_eq!(f.counts().await, counts);

    let done = handle_kyc_webhook(&f.services, &f.provider, &headers, &body, &ctx)
        .await
        .unwrap();
    assert_eq!(done.status, CheckStatus::Completed);
    assert_eq!(done.outcome(), Some(KycOutcome::Approve));
    assert_eq!(done.updated_at, ctx.now);
    // A repeated delivery changes nothing.
    let counts = f.counts().await;
    let repeated = handle_kyc_webhook(&f.services, &f.provider, &headers, &body, &ctx)
        .await
        .unwrap();
    assert_eq!(repeated, done);
    assert_eq!(f.counts().await, counts);
    let actions: Vec<String> = f
        .events("kyc_check", "exec-pending")
        .await
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, ["kyc_check.started", "kyc_check.completed"]);
}

#[tokio::test]
async fn a_pending_check_completes_when_the_workflow_polls_with_its_id() {
    let f = fixture();
    let pending = f.run("exec-poll", applicant("pending")).await.unwrap();
    assert_eq!(pending.status, CheckStatus::Pending);
    let done = f.run("exec-poll", applicant("pending")).await.unwrap();
    assert_eq!(done.status, CheckStatus::Completed);
    assert_eq!(done.outcome(), Some(KycOutcome::Approve));
    assert_eq!(done.created_at, pending.created_at);
}

#[tokio::test]
async fn a_sanctions_hit_rejects_without_sending_data_to_the_provider() {
    let f = fixture();
    let check = f
        .run("exec-sanctioned", applicant("sanctioned"))
        .await
        .unwrap();
    assert_eq!(check.outcome(), Some(KycOutcome::Reject));
    assert!(codes(&check).contains(&"sanctions_hit"));
    assert_eq!(check.provider, None);
    assert_eq!(f.provider.calls_for("client_sanctioned"), 0);
    assert_eq!(check.jurisdiction.id, "row");
    assert_eq!(check.screening.matches[0].entry_id, "SDN-90001");
}

#[tokio::test]
async fn a_pep_goes_to_review_under_enhanced_due_diligence() {
    let f = fixture();
    let check = f.run("exec-pep", applicant("pep")).await.unwrap();
    assert_eq!(check.outcome(), Some(KycOutcome::ManualReview));
    assert!(codes(&check).contains(&"pep"));
    assert_eq!(
        check.decision.as_ref().unwrap().verification_level,
        brokeros_onboarding::kyc::model::VerificationLevel::Enhanced
    );
}

#[tokio::test]
async fn document_numbers_never_reach_the_store_or_the_audit_trail() {
    let f = fixture();
    let subject = applicant("clear");
    let numbers: Vec<String> = subject.documents.iter().map(|d| d.number.clone()).collect();
    let check = f.run("exec-redact", subject).await.unwrap();
    let stored = f
        .services
        .store
        .get(Table::Main, &keys::kyc_check(&check.id))
        .await
        .unwrap()
        .unwrap();
    let events = serde_json::to_string(&f.events("kyc_check", &check.id).await).unwrap();
    for number in &numbers {
        assert!(!stored.data.contains(number.as_str()), "{number} stored");
        assert!(!events.contains(number.as_str()), "{number} audited");
    }
    assert!(events.contains("[redacted]"));
}

#[tokio::test]
async fn jurisdiction_changes_are_versioned_audited_and_apply_to_new_checks_only() {
    let f = fixture();
    let compliance = principal(Role::Compliance);
    let before = f.run("exec-v1", applicant("clear")).await.unwrap();
    let pending = f
        .run("exec-v1-pending", applicant("pending"))
        .await
        .unwrap();
    assert_eq!(
        (before.jurisdiction.version, pending.jurisdiction.version),
        (1, 1)
    );

    let mut eu: JurisdictionRules = active_jurisdictions(&f.services)
        .await
        .unwrap()
        .get("eu")
        .unwrap()
        .clone();
    eu.version = 2;
    eu.products
        .get_mut("forex")
        .unwrap()
        .leverage_caps
        .insert(ClientType::Individual, 25);
    let reply = update_jurisdiction(&f.services, &compliance, eu.clone(), None, "corr-rules")
        .await
        .unwrap();
    assert_eq!(reply.body["version"], json!(2));

    let events = f.events("jurisdiction", "eu").await;
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["jurisdiction.adopted", "jurisdiction.updated"]);
    let changed: Vec<&str> = events[1].changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(changed, ["products", "version"]);
    assert_eq!(events[1].actor.id, compliance.sub);
    assert_eq!(
        events[1].changes[0].before["forex"]["leverage_caps"]["individual"],
        json!(30)
    );
    let history = jurisdiction_history(&f.services, &compliance, "eu")
        .await
        .unwrap();
    assert_eq!(
        history.iter().map(|j| j.version).collect::<Vec<_>>(),
        [1, 2]
    );

    // New checks take version 2; the earlier check keeps version 1 and its cap.
    let mut later_subject = applicant("clear");
    later_subject.client_id = "client_later".into();
    let after = f.run("exec-v2", later_subject).await.unwrap();
    assert_eq!(after.jurisdiction.version, 2);
    assert_eq!(after.decision.as_ref().unwrap().leverage_cap, Some(25));
    let reread = kyc_check(&f.services, &compliance, "exec-v1")
        .await
        .unwrap();
    assert_eq!(reread, before);
    assert_eq!(reread.decision.as_ref().unwrap().leverage_cap, Some(30));

    // The check that started under version 1 is decided under version 1.
    let completed = f
        .run("exec-v1-pending", applicant("pending"))
        .await
        .unwrap();
    assert_eq!(completed.status, CheckStatus::Completed);
    assert_eq!(completed.jurisdiction.version, 1);
    assert_eq!(completed.decision.as_ref().unwrap().jurisdiction.version, 1);
    assert_eq!(completed.decision.as_ref().unwrap().leverage_cap, Some(30));

    // Stale: version 2 exists already. Nothing is written.
    let counts = f.counts().await;
    let err = update_jurisdiction(&f.services, &compliance, eu.clone(), None, "corr-stale")
        .await
        .unwrap_err();
    assert_eq!(err.code(), "jurisdiction_version_conflict");
    assert_eq!(f.counts().await, counts);

    // With an Idempotency-Key, a repeated request answers the first reply and writes nothing.
    eu.version = 3;
    eu.minimum_age = 21;
    let key =
        IdempotencyKey::new("rules", "change-3", &serde_json::to_value(&eu).unwrap()).unwrap();
    let first = update_jurisdiction(&f.services, &compliance, eu.clone(), Some(&key), "c")
        .await
        .unwrap();
    let counts = f.counts().await;
    let replay = update_jurisdiction(&f.services, &compliance, eu, Some(&key), "c")
        .await
        .unwrap();
    assert_eq!(replay, first);
    assert_eq!(f.counts().await, counts);
    assert_eq!(
        active_jurisdictions(&f.services)
            .await
            .unwrap()
            .get("eu")
            .unwrap()
            .minimum_age,
        21
    );
}

#[tokio::test]
async fn only_compliance_and_admins_change_rules_and_refusals_write_nothing() {
    let f = fixture();
    let mut eu = active_jurisdictions(&f.services)
        .await
        .unwrap()
        .get("eu")
        .unwrap()
        .clone();
    let counts = f.counts().await;
    // The first change must be version 2 (the embedded default is version 1).
    eu.version = 3;
    let err = update_jurisdiction(
        &f.services,
        &principal(Role::Compliance),
        eu.clone(),
        None,
        "c",
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), "jurisdiction_version_conflict");
    eu.version = 2;
    for role in [Role::Sales, Role::Finance, Role::Client, Role::Ib] {
        let err = update_jurisdiction(&f.services, &principal(role), eu.clone(), None, "c")
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Forbidden { .. }), "{role}");
    }
    // A new jurisdiction overlapping the EU one, and an invalid document: refused as input.
    let mut overlapping = eu.clone();
    overlapping.id = "dach".into();
    overlapping.version = 1;
    overlapping.countries = BTreeSet::from(["DE".to_string(), "CH".to_string()]);
    let err = update_jurisdiction(
        &f.services,
        &principal(Role::Compliance),
        overlapping,
        None,
        "c",
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("both cover DE"), "{err}");
    let mut invalid = eu.clone();
    invalid.risk.reject_threshold = 0;
    let err = update_jurisdiction(&f.services, &principal(Role::Admin), invalid, None, "c")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Validation { .. }));
    assert_eq!(f.counts().await, counts);
    // An admin may.
    update_jurisdiction(&f.services, &principal(Role::Admin), eu, None, "c")
        .await
        .unwrap();
    assert!(f.counts().await.1 > counts.1);
}

#[tokio::test]
async fn a_client_type_change_requires_and_records_reverification() {
    let f = fixture();
    let individual = applicant("clear");
    f.run("exec-individual", individual.clone()).await.unwrap();
    assert!(
        !requires_reverification(&f.services, "client_clear", ClientType::Individual)
            .await
            .unwrap()
    );
    assert!(
        requires_reverification(&f.services, "client_clear", ClientType::Corporate)
            .await
            .unwrap()
    );
    let mut corporate = applicant("corporate");
    corporate.client_id = individual.client_id.clone();
    let check = f
        .run_at("exec-corporate", corporate, NOW + time::Duration::days(30))
        .await
        .unwrap();
    assert_eq!(
        check.trigger,
        CheckTrigger::ClientTypeChanged {
            from: ClientType::Individual,
            to: ClientType::Corporate
        }
    );
    assert_eq!(check.outcome(), Some(KycOutcome::Approve));
    assert!(
        !requires_reverification(&f.services, "client_clear", ClientType::Corporate)
            .await
            .unwrap()
    );
}

/// Issue 11, item 14: KYC webhooks carry a signed timestamp, as the payment providers' do. A
/// delivery signed too long ago (a replay) or too far ahead, one without its timestamp, and one
/// whose timestamp was changed after signing are refused (401) and change nothing.
#[tokio::test]
async fn kyc_webhooks_without_a_fresh_signed_timestamp_change_nothing() {
    use brokeros_local::kyc::{SIGNATURE_HEADER, TIMESTAMP_HEADER};
    let f = fixture();
    let pending = f.run("exec-stale", applicant("pending")).await.unwrap();
    let provider_check = pending.provider.as_ref().unwrap().check_id.clone();
    let at = |now: OffsetDateTime| OpContext {
        now,
        ..workflow_ctx("webhook")
    };
    let refused = |err: KycError| {
        assert_eq!(err.error_name(), "KycWebhookRejected", "{err:?}");
        assert_eq!(
            brokeros_http::error_status(&brokeros_http::kyc_webhook_error(err)),
            401
        );
    };
    let counts = f.counts().await;
    let minutes = time::Duration::minutes;

    // Signed 6 minutes ago, or 6 minutes ahead.
    for signed_at in [NOW - minutes(6), NOW + minutes(6)] {
        let (headers, body) = f.provider.webhook_at(&provider_check, signed_at).unwrap();
        let err = handle_kyc_webhook(&f.services, &f.provider, &headers, &body, &at(NOW))
            .await
            .unwrap_err();
        refused(err);
    }
    // No timestamp.
    let (headers, body) = f.provider.webhook_at(&provider_check, NOW).unwrap();
    let mut without = headers.clone();
    without.remove(TIMESTAMP_HEADER);
    let err = handle_kyc_webhook(&f.services, &f.provider, &without, &body, &at(NOW))
        .await
        .unwrap_err();
    refused(err);
    // A stale delivery with a fresh timestamp: the signature covers the old one.
    let (stale, stale_body) = f
        .provider
        .webhook_at(&provider_check, NOW - minutes(30))
        .unwrap();
    let mut refreshed = stale.clone();
    refreshed.insert(
        TIMESTAMP_HEADER,
        NOW.unix_timestamp().to_string().parse().unwrap(),
    );
    let err = handle_kyc_webhook(&f.services, &f.provider, &refreshed, &stale_body, &at(NOW))
        .await
        .unwrap_err();
    refused(err);
    // The old scheme (a signature over the body alone) no longer authenticates.
    let mut body_only = headers.clone();
    body_only.insert(SIGNATURE_HEADER, "sha256=00".parse().unwrap());
    let err = handle_kyc_webhook(&f.services, &f.provider, &body_only, &body, &at(NOW))
        .await
        .unwrap_err();
    refused(err);
    assert_eq!(f.counts().await, counts, "a refused delivery wrote");

    // The fresh delivery completes the check; the same delivery replayed after the window is
    // refused and writes nothing.
    let done = handle_kyc_webhook(&f.services, &f.provider, &headers, &body, &at(NOW))
        .await
        .unwrap();
    assert_eq!(done.status, CheckStatus::Completed);
    let counts = f.counts().await;
    let err = handle_kyc_webhook(
        &f.services,
        &f.provider,
        &headers,
        &body,
        &at(NOW + minutes(6)),
    )
    .await
    .unwrap_err();
    refused(err);
    assert_eq!(f.counts().await, counts);
}

/// Completes the pending check `check` by the provider's signed webhook, at `now`.
async fn complete_by_webhook(f: &Fixture, check: &KycCheckRecord, now: OffsetDateTime) {
    let provider_check = &check.provider.as_ref().unwrap().check_id;
    let (headers, body) = f.provider.webhook_at(provider_check, now).unwrap();
    let ctx = OpContext {
        now,
        ..workflow_ctx("webhook")
    };
    let done = handle_kyc_webhook(&f.services, &f.provider, &headers, &body, &ctx)
        .await
        .unwrap();
    assert_eq!(done.status, CheckStatus::Completed);
}

#[tokio::test]
async fn the_latest_completed_check_is_the_newest_whatever_order_checks_complete_in() {
    let f = fixture();
    let individual = applicant("pending");
    let older = f.run("exec-older", individual.clone()).await.unwrap();
    let mut corporate = applicant("corporate");
    corporate.client_id = individual.client_id.clone();
    corporate.documents[0].number = "HRB-123456-PENDING".into();
    let newer = f
        .run_at("exec-newer", corporate, NOW + time::Duration::days(1))
        .await
        .unwrap();
    assert_eq!(
        latest_completed_check(&f.services, "client_pending")
            .await
            .unwrap(),
        None
    );
    // The newer check completes first, the older one after it: the newer stays the latest.
    complete_by_webhook(&f, &newer, NOW + time::Duration::days(2)).await;
    let latest = latest_completed_check(&f.services, "client_pending")
        .await
        .unwrap();
    assert_eq!(latest.map(|c| c.id), Some(newer.id.clone()));
    complete_by_webhook(&f, &older, NOW + time::Duration::days(3)).await;
    let latest = latest_completed_check(&f.services, "client_pending")
        .await
        .unwrap();
    assert_eq!(latest.map(|c| c.id), Some(newer.id));
    assert!(
        !requires_reverification(&f.services, "client_pending", ClientType::Corporate)
            .await
            .unwrap()
    );
    assert!(
        requires_reverification(&f.services, "client_pending", ClientType::Individual)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_check_stores_its_provider_and_latest_items_in_its_own_transaction() {
    let f = fixture();
    let before = f.counts().await;
    // Completed at once: the check, the provider's check item, the client's latest check.
    f.run("exec-clear", applicant("clear")).await.unwrap();
    assert_eq!(f.counts().await, (before.0 + 3, before.1 + 1));
    // Pending: the check and the provider's check item; the latest check waits for completion.
    let before = f.counts().await;
    let pending = f.run("exec-pending", applicant("pending")).await.unwrap();
    assert_eq!(f.counts().await, (before.0 + 2, before.1 + 1));
    complete_by_webhook(&f, &pending, NOW + time::Duration::minutes(5)).await;
    assert_eq!(f.counts().await, (before.0 + 3, before.1 + 2));
    // Rejected by a hard rule, the provider never asked: no provider's check item.
    let before = f.counts().await;
    let sanctioned = f
        .run("exec-sanctioned", applicant("sanctioned"))
        .await
        .unwrap();
    assert!(sanctioned.provider.is_none());
    assert_eq!(f.counts().await, (before.0 + 2, before.1 + 1));
}

#[tokio::test]
async fn checks_are_listed_newest_first_for_compliance_only() {
    let f = fixture();
    let first = f.run("exec-a", applicant("document_review")).await.unwrap();
    let mut later = applicant("document_review");
    later.documents[0].number = "L01X00T49".into();
    let second = f
        .run_at("exec-b", later, NOW + time::Duration::days(1))
        .await
        .unwrap();
    let listed = kyc_checks_for_client(
        &f.services,
        &principal(Role::Compliance),
        "client_doc_review",
    )
    .await
    .unwrap();
    assert_eq!(listed, [second, first]);
    for role in [Role::Client, Role::Sales, Role::Finance] {
        let err = kyc_checks_for_client(&f.services, &principal(role), "client_doc_review")
            .await
            .unwrap_err();
        assert!(
            matches!(err, KycError::Other(Error::Forbidden { .. })),
            "{role}"
        );
    }
}

#[tokio::test]
async fn a_webhook_for_a_check_not_stored_yet_is_delivered_again_later() {
    let f = fixture();
    // The provider knows the check, Broker OS does not (its commit has not landed).
    let subject = applicant("pending").validate(NOW.date()).unwrap();
    let applicant = f.provider.create_applicant(&subject).await.unwrap();
    f.provider
        .submit_documents(&applicant, &subject.documents)
        .await
        .unwrap();
    let check = f
        .provider
        .start_check(
            &applicant,
            brokeros_onboarding::kyc::model::VerificationLevel::Standard,
        )
        .await
        .unwrap();
    let (headers, body) = f.provider.webhook_at(&check.id, NOW).unwrap();
    let err = handle_kyc_webhook(
        &f.services,
        &f.provider,
        &headers,
        &body,
        &workflow_ctx("w"),
    )
    .await
    .unwrap_err();
    // Unavailable (HTTP 503 with Retry-After): the provider delivers it again.
    assert!(
        matches!(err, KycError::Other(Error::Unavailable(_))),
        "{err:?}"
    );
    assert!(err.is_transient());
}
