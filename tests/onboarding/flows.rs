//! Every branch of `statemachines/onboarding.asl.json`, end to end: the HTTP API starts the
//! workflow, the local engine runs the definition unchanged with the in-process task handlers,
//! and the outcome is read back from the API, the engine and the trading platform.

use brokeros_kernel::Error;
use brokeros_kernel::principal::Role;
use brokeros_sfn::ExecutionStatus;
use serde_json::json;

use crate::harness::App;

const CLEAR: &str = "C01X00T47";
const NEEDS_REVIEW: &str = "L01X00T49-REVIEW";
const FORGED: &str = "C01X00T48-FAIL";

pub async fn clear_client_is_approved_and_gets_an_account(app: App) {
    let client_id = app.register("Berg", CLEAR).await;
    let (onboarding_id, arn) = app.start(&client_id).await;
    let done = app.finished(&arn).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    let output = done.output.unwrap();
    assert_eq!(output["outcome"], "approved");
    let login = output["account"]["login"]
        .as_u64()
        .expect("an account login");

    let onboarding = app.onboarding(&onboarding_id).await;
    assert_eq!(onboarding["status"], "approved");
    assert_eq!(onboarding["account"]["login"], login);
    let client = app.client(&client_id).await;
    assert_eq!(client["kyc_status"], "approved");
    assert_eq!(client["status"], "active");
    assert_eq!(client["trading_accounts"][0]["login"], login);
    // EU rules cap retail forex leverage at 1:30, below the broker's default of 1:100.
    assert_eq!(client["trading_accounts"][0]["leverage"], 30);
    let history = app.engine.get_execution_history(&arn).await.unwrap();
    let failures: Vec<_> = history
        .iter()
        .map(|e| e.to_aws_json())
        .filter(|e| e["type"] == "TaskFailed")
        .collect();
    assert!(
        failures.is_empty(),
        "no task failed, notification included: {failures:#?}"
    );
    let state = app.platform_account(login).await;
    assert_eq!(state.currency, "USD");
    // Document numbers never leave unmasked.
    let shown = client["documents"][0]["number"].as_str().unwrap();
    assert!(
        shown.starts_with("******") && shown.ends_with("T47"),
        "{shown}"
    );
}

pub async fn review_approved_by_compliance_opens_the_account(app: App) {
    let client_id = app.register("Fischer", NEEDS_REVIEW).await;
    let (onboarding_id, arn) = app.start(&client_id).await;
    let review = app.pending_review(&onboarding_id, "compliance").await;
    assert!(
        review.get("task_token").is_none(),
        "the token is never shown"
    );
    assert_eq!(app.client(&client_id).await["kyc_status"], "in_review");
    let (status, decided) = app
        .decide(
            review["id"].as_str().unwrap(),
            "compliance-1",
            Role::Compliance,
            json!({ "decision": "approve" }),
        )
        .await;
    assert_eq!(status, 200, "{decided}");
    assert_eq!(decided["status"], "approved");
    let done = app.finished(&arn).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(done.output.unwrap()["outcome"], "approved");
    assert_eq!(app.client(&client_id).await["kyc_status"], "approved");
    let compliance = crate::harness::token("compliance-1", Role::Compliance);
    let (_, stored) = app
        .send(
            brokeros_http::client::Call::get(&format!(
                "/compliance/reviews/{}",
                review["id"].as_str().unwrap()
            ))
            .token(&compliance),
        )
        .await;
    assert_eq!(stored["status"], "approved", "{stored}");
    assert_eq!(stored["decided_by"], "compliance-1");
}

pub async fn review_rejected_by_compliance_rejects_the_client(app: App) {
    let client_id = app.register("Fischer", NEEDS_REVIEW).await;
    let (onboarding_id, arn) = app.start(&client_id).await;
    let review = app.pending_review(&onboarding_id, "compliance").await;
    let review_id = review["id"].as_str().unwrap();
    let (status, reply) = app
        .decide(
            review_id,
            "compliance-1",
            Role::Compliance,
            json!({ "decision": "reject" }),
        )
        .await;
    assert_eq!(status, 400, "a rejection needs a reason: {reply}");
    let (status, _) = app
        .decide(
            review_id,
            "compliance-1",
            Role::Compliance,
            json!({ "decision": "reject", "reason": "address does not match the documents" }),
        )
        .await;
    assert_eq!(status, 200);
    let done = app.finished(&arn).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(done.output.unwrap()["outcome"], "rejected");
    let client = app.client(&client_id).await;
    assert_eq!(client["kyc_status"], "rejected");
    assert!(client.get("trading_accounts").is_none(), "{client}");
    assert_eq!(app.onboarding(&onboarding_id).await["status"], "rejected");
}

pub async fn failed_documents_reject_without_review(app: App) {
    let client_id = app.register("Weber", FORGED).await;
    let (onboarding_id, arn) = app.start(&client_id).await;
    let done = app.finished(&arn).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(done.output.unwrap()["outcome"], "rejected");
    assert_eq!(app.client(&client_id).await["kyc_status"], "rejected");
    let history = app.engine.get_execution_history(&arn).await.unwrap();
    let entered: Vec<String> = history
        .iter()
        .filter_map(|e| {
            e.to_aws_json()["stateEnteredEventDetails"]["name"]
                .as_str()
                .map(String::from)
        })
        .collect();
    assert!(!entered.iter().any(|s| s == "RequestReview"), "{entered:?}");
    assert!(
        entered.iter().any(|s| s == "RecordRejection"),
        "{entered:?}"
    );
    assert_eq!(app.onboarding(&onboarding_id).await["status"], "rejected");
}

pub async fn provider_outage_is_retried_then_recovers(app: App) {
    let client_id = app.register("Outage2", CLEAR).await;
    let (_, arn) = app.start(&client_id).await;
    let done = app.finished(&arn).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(done.output.unwrap()["outcome"], "approved");
    let history = app.engine.get_execution_history(&arn).await.unwrap();
    let failed_attempts = history
        .iter()
        .filter(|e| e.to_aws_json()["type"] == "TaskFailed")
        .count();
    let failures: Vec<_> = history
        .iter()
        .map(|e| e.to_aws_json())
        .filter(|e| e["type"] == "TaskFailed")
        .collect();
    assert_eq!(
        failed_attempts, 2,
        "two outages, then success: {failures:#?}"
    );
}

pub async fn provider_outage_exhausted_fails_and_records_it(app: App) {
    let client_id = app.register("OutageForever", CLEAR).await;
    let (onboarding_id, arn) = app.start(&client_id).await;
    let done = app.finished(&arn).await;
    assert_eq!(done.status, ExecutionStatus::Failed, "{done:?}");
    assert_eq!(done.error.as_deref(), Some("KycProviderUnavailable"));
    let onboarding = app.onboarding(&onboarding_id).await;
    assert_eq!(onboarding["status"], "failed");
    assert_eq!(onboarding["failure"], "KycProviderUnavailable");
    let client = app.client(&client_id).await;
    assert_eq!(client["kyc_status"], "failed");
    assert!(client.get("trading_accounts").is_none());
    // A failed onboarding may be started again.
    let (_, again) = app.start(&client_id).await;
    assert_ne!(again, arn);
}

pub async fn review_left_too_long_escalates_and_an_admin_decides(app: App) {
    let client_id = app.register("Fischer", NEEDS_REVIEW).await;
    let (onboarding_id, arn) = app.start(&client_id).await;
    let first = app.pending_review(&onboarding_id, "compliance").await;
    let escalated = app.pending_review(&onboarding_id, "escalated").await;
    // The first review's deadline passed: deciding it now is refused.
    let (status, _) = app
        .decide(
            first["id"].as_str().unwrap(),
            "compliance-1",
            Role::Compliance,
            json!({ "decision": "approve" }),
        )
        .await;
    assert_eq!(status, 409);
    let (status, reply) = app
        .decide(
            escalated["id"].as_str().unwrap(),
            "head-of-compliance",
            Role::Admin,
            json!({ "decision": "approve" }),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    let done = app.finished(&arn).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(done.output.unwrap()["outcome"], "approved");
}

pub async fn review_never_decided_expires(app: App) {
    let client_id = app.register("Fischer", NEEDS_REVIEW).await;
    let (onboarding_id, arn) = app.start(&client_id).await;
    let done = app.finished(&arn).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(done.output.unwrap()["outcome"], "review_expired");
    assert_eq!(app.client(&client_id).await["kyc_status"], "review_expired");
    assert_eq!(
        app.onboarding(&onboarding_id).await["status"],
        "review_expired"
    );
    let escalated = format!("rev_{}_escalated", onboarding_id.trim_start_matches("onb_"));
    let (_, review) = app.review(&escalated).await;
    assert_eq!(review["status"], "expired", "{review}");
    let (status, refused) = app
        .decide(
            &escalated,
            "head-of-compliance",
            Role::Admin,
            json!({ "decision": "approve" }),
        )
        .await;
    assert_eq!(
        status, 409,
        "an expired review takes no decision: {refused}"
    );
    let compliance = crate::harness::token("compliance-1", Role::Compliance);
    let (_, pending) = app
        .send(
            brokeros_http::client::Call::get("/compliance/reviews?status=pending")
                .token(&compliance),
        )
        .await;
    assert!(
        !pending["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["onboarding_id"] == onboarding_id),
        "no review of an ended onboarding stays pending: {pending}"
    );
}

pub async fn a_decision_the_workflow_never_heard_is_followed_at_the_deadline(app: App) {
    let client_id = app.register("Fischer", NEEDS_REVIEW).await;
    let (onboarding_id, arn) = app.start(&client_id).await;
    let first = app.pending_review(&onboarding_id, "compliance").await;
    let first_id = first["id"].as_str().unwrap();
    let decided = app
        .decide_unheard(
            first_id,
            "compliance-1",
            Role::Compliance,
            json!({ "decision": "approve" }),
        )
        .await;
    assert_eq!(decided["status"], "approved");
    // The review's deadline task finds the decision and answers with it: no escalation.
    let done = app.finished(&arn).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    let output = done.output.unwrap();
    assert_eq!(output["outcome"], "approved", "{output}");
    assert!(output["account"]["login"].as_u64().is_some(), "{output}");
    assert_eq!(app.client(&client_id).await["kyc_status"], "approved");
    let (_, review) = app.review(first_id).await;
    assert_eq!(review["status"], "approved", "{review}");
    assert_eq!(review["decided_by"], "compliance-1", "{review}");
    let escalated = first_id.replace("_compliance", "_escalated");
    let (status, body) = app.review(&escalated).await;
    assert_eq!(status, 404, "no escalated review was opened: {body}");
}

pub async fn an_escalated_rejection_the_workflow_never_heard_is_followed_at_the_deadline(app: App) {
    let client_id = app.register("Fischer", NEEDS_REVIEW).await;
    let (onboarding_id, arn) = app.start(&client_id).await;
    let escalated = app.pending_review(&onboarding_id, "escalated").await;
    let escalated_id = escalated["id"].as_str().unwrap();
    let decision = json!({ "decision": "reject", "reason": "source of funds not shown" });
    let decided = app
        .decide_unheard(escalated_id, "head-of-compliance", Role::Admin, decision)
        .await;
    assert_eq!(decided["status"], "rejected");
    // Its deadline does not expire the onboarding: the rejection stands.
    let done = app.finished(&arn).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(done.output.unwrap()["outcome"], "rejected");
    assert_eq!(app.client(&client_id).await["kyc_status"], "rejected");
    assert_eq!(app.onboarding(&onboarding_id).await["status"], "rejected");
    let (_, review) = app.review(escalated_id).await;
    assert_eq!(review["status"], "rejected", "{review}");
    assert_eq!(review["reason"], "source of funds not shown", "{review}");
}

pub async fn decisions_outside_compliance_change_nothing(app: App) {
    let client_id = app.register("Fischer", NEEDS_REVIEW).await;
    let (onboarding_id, arn) = app.start(&client_id).await;
    let review = app.pending_review(&onboarding_id, "compliance").await;
    let review_id = review["id"].as_str().unwrap();
    let approve = json!({ "decision": "approve" });
    app.waiting_task_checkpointed(&arn).await;
    let before = app.counts().await;
    for (who, role) in [
        ("sales-1", Role::Sales),
        ("finance-1", Role::Finance),
        ("client-1", Role::Client),
        ("admin-1", Role::Admin),
    ] {
        let (status, reply) = app.decide(review_id, who, role, approve.clone()).await;
        assert_eq!(status, 403, "{role:?}: {reply}");
        assert!(reply["code"].is_string() && reply["message"].is_string());
    }
    let (status, reply) = app
        .decide(
            review_id,
            "compliance-1",
            Role::Compliance,
            json!({ "decision": "maybe" }),
        )
        .await;
    assert_eq!(status, 400, "{reply}");
    assert_eq!(
        app.counts().await,
        before,
        "refused decisions write nothing"
    );
    let described = app.engine.describe_execution(&arn).await.unwrap();
    assert_eq!(
        described.status,
        ExecutionStatus::Running,
        "the workflow still waits"
    );

    let (status, _) = app
        .decide(review_id, "compliance-1", Role::Compliance, approve.clone())
        .await;
    assert_eq!(status, 200);
    app.finished(&arn).await;
    let settled = app.counts().await;
    let (status, reply) = app
        .decide(review_id, "compliance-2", Role::Compliance, approve)
        .await;
    assert_eq!(status, 409, "{reply}");
    assert_eq!(
        app.counts().await,
        settled,
        "a second decision writes nothing"
    );
}

pub async fn an_answered_or_unknown_token_has_no_effect(app: App) {
    let client_id = app.register("Fischer", NEEDS_REVIEW).await;
    let (onboarding_id, arn) = app.start(&client_id).await;
    app.pending_review(&onboarding_id, "compliance").await;
    let workflow = app.services.workflow().unwrap();
    let unknown = workflow
        .task_success("not-a-token", json!({}))
        .await
        .unwrap_err();
    assert!(matches!(unknown, Error::Conflict { .. }), "{unknown}");
    let stored: brokeros_onboarding::model::Review = {
        let key = brokeros_onboarding::keys::review(&format!(
            "rev_{}_compliance",
            onboarding_id.trim_start_matches("onb_")
        ));
        brokeros_kernel::changeset::load(app.store.as_ref(), &key)
            .await
            .unwrap()
            .unwrap()
            .entity
    };
    workflow
        .task_failure(&stored.task_token, "ReviewRejected", "{}")
        .await
        .unwrap();
    let done = app.finished(&arn).await;
    assert_eq!(done.output.unwrap()["outcome"], "rejected");
    let again = workflow
        .task_success(&stored.task_token, json!({}))
        .await
        .unwrap_err();
    assert!(matches!(again, Error::Conflict { .. }));
    assert_eq!(
        app.engine.describe_execution(&arn).await.unwrap().status,
        ExecutionStatus::Succeeded
    );
}

pub async fn a_waiting_onboarding_survives_a_restart(app: App) {
    let client_id = app.register("Fischer", NEEDS_REVIEW).await;
    let (onboarding_id, arn) = app.start(&client_id).await;
    let review = app.pending_review(&onboarding_id, "compliance").await;
    app.engine.shutdown().await;
    let store = app.store.clone();
    drop(app);
    let restarted = App::new(store).await;
    let (status, reply) = restarted
        .decide(
            review["id"].as_str().unwrap(),
            "compliance-1",
            Role::Compliance,
            json!({ "decision": "approve" }),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    let done = restarted.finished(&arn).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(done.output.unwrap()["outcome"], "approved");
}

pub async fn a_change_of_client_type_requires_reverification(app: App) {
    let client_id = app.register("Berg", CLEAR).await;
    let (onboarding_id, arn) = app.start(&client_id).await;
    app.finished(&arn).await;
    assert_eq!(app.client(&client_id).await["kyc_status"], "approved");
    let sales = crate::harness::token("sales-1", Role::Sales);
    let (status, _) = app
        .send(
            brokeros_http::client::Call::post(
                &format!("/clients/{client_id}/onboarding"),
                &json!({ "product": "forex" }),
            )
            .token(&sales),
        )
        .await;
    assert_eq!(status, 409, "an approved client is not onboarded again");
    let corporate = json!({
        "client_type": "corporate", "company_name": "Berg Trading GmbH", "nationality": "DE",
        "residence_country": "DE", "source_of_funds": "business", "pep_declared": false
    });
    let (status, client) = app
        .send(
            brokeros_http::client::Call::put(&format!("/clients/{client_id}/profile"), &corporate)
                .token(&sales),
        )
        .await;
    assert_eq!(status, 200, "{client}");
    assert_eq!(client["kyc_status"], "reverification_required");
    let (again_onboarding, again) = app.start(&client_id).await;
    assert_ne!(again, arn);
    // The new check knows the previous one at once (it reads the client's latest completed
    // check by key, not from an index that may lag).
    let check = app.kyc_check_of(&again_onboarding).await;
    assert_eq!(
        check["trigger"],
        json!({ "kind": "client_type_changed", "from": "individual", "to": "corporate" }),
        "{check}"
    );
    let first = app.kyc_check_of(&onboarding_id).await;
    assert_eq!(first["trigger"], json!({ "kind": "onboarding" }), "{first}");
    // The scenario ends when the second onboarding waits for compliance (a corporate client):
    // from then on it writes nothing, so the audit scan that follows, reading events by their
    // (lagging) day index, does not race its last ones.
    app.waiting_task_checkpointed(&again).await;
}

pub async fn a_pending_check_completes_by_the_providers_signed_webhook(app: App) {
    use brokeros_http::client::Call;
    let client_id = app.register("Nowak", "ABC123456-PENDING").await;
    let (onboarding_id, arn) = app.start(&client_id).await;
    let check = app.kyc_check_of(&onboarding_id).await;
    assert_eq!(check["status"], "pending", "{check}");
    // The provider answers as soon as the check is stored.
    let provider_check = check["provider"]["check_id"].as_str().unwrap();
    let (headers, body) = app.kyc.webhook(provider_check).unwrap();

    // A forged signature is refused and changes nothing.
    app.waiting_task_checkpointed(&arn).await;
    let before = app.counts().await;
    let mut forged =
        Call::post("/webhooks/kyc/simulated", &serde_json::Value::Null).raw_body(body.clone());
    for (name, value) in &headers {
        let value = value.to_str().unwrap();
        let value = if name.as_str().contains("signature") {
            "0".repeat(value.len())
        } else {
            value.to_string()
        };
        forged = forged.header(name.as_str(), value);
    }
    let (status, reply) = app.send(forged).await;
    assert_eq!(status, 401, "{reply}");
    assert_eq!(app.counts().await, before);

    let mut signed = Call::post("/webhooks/kyc/simulated", &serde_json::Value::Null).raw_body(body);
    for (name, value) in &headers {
        signed = signed.header(name.as_str(), value.to_str().unwrap().to_string());
    }
    let (status, reply) = app.send(signed).await;
    assert_eq!(status, 200, "{reply}");
    let done = app.finished(&arn).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(done.output.unwrap()["outcome"], "approved");
    let history = app.engine.get_execution_history(&arn).await.unwrap();
    let events: Vec<_> = history.iter().map(|e| e.to_aws_json()).collect();
    assert!(
        events
            .iter()
            .any(|e| e["stateEnteredEventDetails"]["name"] == "AwaitKycResult"),
        "the workflow waited for the provider's result"
    );
    assert!(
        !events.iter().any(|e| e["type"] == "TaskFailed"),
        "no retries: the result came by webhook"
    );
}

/// The provider's result can complete the check before the workflow parks its token in
/// `AwaitKycResult` (the webhook beat the task): the task then answers its token itself.
pub async fn a_kyc_result_before_the_workflow_waits_is_answered_by_the_await_task(app: App) {
    use brokeros_http::client::Call;
    let client_id = app.register("Nowak", "ABC123457-PENDING").await;
    let (onboarding_id, arn) = app.start(&client_id).await;
    let check = app.kyc_check_of(&onboarding_id).await;
    let provider_check = check["provider"]["check_id"].as_str().unwrap();
    let (headers, body) = app.kyc.webhook(provider_check).unwrap();
    let mut signed = Call::post("/webhooks/kyc/simulated", &serde_json::Value::Null).raw_body(body);
    for (name, value) in &headers {
        signed = signed.header(name.as_str(), value.to_str().unwrap().to_string());
    }
    assert_eq!(app.send(signed).await.0, 200);
    // An `await` that runs only now, with a token of its own, finds the result and answers.
    let recorder = std::sync::Arc::new(crate::harness::AnswerRecorder::default());
    let services = app.services.clone().with_workflow(recorder.clone());
    let payload = json!({
        "action": "await", "client_id": client_id, "onboarding_id": onboarding_id,
        "execution_id": "test-execution", "task_token": "token-parked-late"
    });
    let output = brokeros_app::workflow_tasks::TaskFunction::KycCheck
        .run(&services, payload)
        .await
        .unwrap();
    assert_eq!(output["awaiting"], false, "{output}");
    let answers = recorder.answers.lock().unwrap().clone();
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_eq!(answers[0].0, "token-parked-late");
    assert!(answers[0].1.starts_with("success "), "{answers:?}");
    assert!(
        answers[0].1.contains(r#""outcome":"approve""#),
        "{answers:?}"
    );
    let done = app.finished(&arn).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
}

/// Step Functions down when the onboarding commits (or the process stopped right after): the
/// start is in the outbox with the commit, the client is pending an execution that runs once
/// the start is carried out — by a retry of the request (even without its key) or the relay.
pub async fn a_workflow_start_that_fails_waits_in_the_outbox_until_carried_out(app: App) {
    let client_id = app.register("Berg", CLEAR).await;
    let sales = crate::harness::token("sales-1", Role::Sales);
    let path = format!("/clients/{client_id}/onboarding");
    let body = json!({ "product": "forex" });
    let (status, reply) = app.post_keyed(&path, &body, &sales, "start-1").await;
    assert_eq!(status, 202, "committed, so accepted: {reply}");
    let onboarding_id = reply["id"].as_str().unwrap().to_string();
    let arn = reply["execution_arn"].as_str().unwrap().to_string();
    let client = app.client(&client_id).await;
    assert_eq!(client["kyc_status"], "pending", "{client}");
    let entries = app.outbox_entries().await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(
        entries[0].effect.id(),
        format!("workflow#onboarding#{onboarding_id}")
    );
    // Not due before the grace period the relay leaves the request; then tried, failing.
    let early = brokeros_kernel::outbox::relay(&app.services.core)
        .await
        .unwrap();
    assert_eq!((early.carried_out, early.failed, early.pending), (0, 0, 1));
    let report = app.relay_outbox().await;
    assert_eq!((report.carried_out, report.failed), (0, 1), "{report:?}");
    let entries = app.outbox_entries().await;
    assert_eq!(entries[0].attempts, 1);
    assert!(
        entries[0]
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("throttled"),
        "{entries:?}"
    );

    // Restarted with Step Functions back: a retry without a key is refused (the client is
    // pending) and carries out the start its first attempt left.
    let app = app.restarted().await;
    let no_key = brokeros_http::client::Call::post(&path, &body).token(&sales);
    let (status, reply) = app.send(no_key).await;
    assert_eq!(status, 409, "{reply}");
    assert_eq!(reply["code"], "onboarding_not_allowed");
    assert!(app.outbox_entries().await.is_empty(), "carried out");
    let done = app.finished(&arn).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(app.client(&client_id).await["kyc_status"], "approved");
    let onboarding = app.onboarding(&onboarding_id).await;
    assert_eq!(onboarding["status"], "approved", "{onboarding}");
    // The replay of the first request answers the same onboarding and execution.
    let (status, replay) = app.post_keyed(&path, &body, &sales, "start-1").await;
    assert_eq!(status, 202, "{replay}");
    assert_eq!(replay["id"], json!(onboarding_id));
    assert_eq!(replay["execution_arn"], json!(arn));
}

pub async fn a_replayed_decision_answers_the_same_review(app: App) {
    let client_id = app.register("Fischer", NEEDS_REVIEW).await;
    let (onboarding_id, arn) = app.start(&client_id).await;
    let review = app.pending_review(&onboarding_id, "compliance").await;
    let compliance = crate::harness::token("compliance-1", Role::Compliance);
    let path = format!(
        "/compliance/reviews/{}/decision",
        review["id"].as_str().unwrap()
    );
    let approve = json!({ "decision": "approve" });
    let (status, first) = app
        .post_keyed(&path, &approve, &compliance, "decide-1")
        .await;
    assert_eq!(status, 200, "{first}");
    let done = app.finished(&arn).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    // Decided already, the review would refuse a second decision: the replay answers the first.
    let (status, replay) = app
        .post_keyed(&path, &approve, &compliance, "decide-1")
        .await;
    assert_eq!(status, 200, "{replay}");
    assert_eq!(replay, first);
}

pub async fn a_replayed_start_answers_the_same_execution(app: App) {
    let client_id = app.register("Berg", CLEAR).await;
    let sales = crate::harness::token("sales-1", Role::Sales);
    let path = format!("/clients/{client_id}/onboarding");
    let body = json!({ "product": "forex" });
    let (status, first) = app.post_keyed(&path, &body, &sales, "start-2").await;
    assert_eq!(status, 202, "{first}");
    let arn = first["execution_arn"].as_str().unwrap();
    app.finished(arn).await;
    let (status, replay) = app.post_keyed(&path, &body, &sales, "start-2").await;
    assert_eq!(status, 202, "{replay}");
    assert_eq!(replay["id"], first["id"]);
    assert_eq!(replay["execution_arn"], first["execution_arn"]);
    // Listing executions reads an index, which may lag.
    app.catch_up_indexes();
    let executions = app
        .engine
        .list_executions("onboarding", None)
        .await
        .unwrap();
    assert_eq!(executions.len(), 1, "one execution for one request");
}
