//! Executions that wait (task tokens, Wait states, inside Parallel and Map too) survive a
//! process restart: `Engine::resume` continues them from their last checkpoint.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use brokeros_sfn::{
    Definition, Engine, ExecutionStatus, MemoryExecutions, StoreExecutions, TaskRequest,
    handler_fn, substitute,
};
use brokeros_store_sqlite::SqliteStore;
use common::{definition, history, token_keeper, tokens, until};
use serde_json::{Value, json};

fn sqlite_engine(path: &Path) -> Engine {
    let store = Arc::new(SqliteStore::open(path).expect("open sqlite"));
    Engine::new(Arc::new(StoreExecutions::new(store)))
}

fn onboarding() -> Definition {
    let names = [
        "KycCheckFunctionArn",
        "ComplianceReviewFunctionArn",
        "TradingAccountFunctionArn",
        "OnboardingOutcomeFunctionArn",
        "NotifyFunctionArn",
    ];
    let values: BTreeMap<String, String> = names
        .iter()
        .map(|name| {
            let function = name.trim_end_matches("FunctionArn");
            (
                name.to_string(),
                format!("arn:aws:lambda:eu-west-1:123456789012:function:{function}"),
            )
        })
        .collect();
    let text = include_str!("../../../../statemachines/onboarding.asl.json");
    Definition::parse(&substitute(text, &values).unwrap()).expect("onboarding definition")
}

/// The onboarding handlers except the review; counts KYC checks.
fn onboarding_handlers(engine: &Engine, kyc_calls: Arc<AtomicUsize>) {
    engine.register_handler(
        "KycCheck",
        handler_fn(move |_request: TaskRequest| {
            kyc_calls.fetch_add(1, Ordering::SeqCst);
            async move {
                Ok(json!({"check_id": "chk-1", "outcome": "manual_review", "risk_score": 40, "leverage_cap": 100}))
            }
        }),
    );
    engine.register_handler(
        "TradingAccount",
        handler_fn(|_request: TaskRequest| async move {
            Ok(json!({"login": 5001, "group": "retail", "leverage": 100, "currency": "EUR"}))
        }),
    );
    for function in ["OnboardingOutcome", "Notify"] {
        common::echo(engine, function);
    }
}

async fn poll(mut condition: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !condition().await {
        assert!(Instant::now() < deadline, "condition not reached in time");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_onboarding_waiting_for_review_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sfn.db");
    let kyc_calls = Arc::new(AtomicUsize::new(0));
    let input = json!({
        "client_id": "c-1", "onboarding_id": "o-1", "product": "cfd",
        "review_timeout_seconds": 86400, "escalation_timeout_seconds": 86400
    });

    let (arn, token, events_before) = {
        let engine = sqlite_engine(&path);
        engine
            .register_state_machine("onboarding", onboarding())
            .unwrap();
        onboarding_handlers(&engine, kyc_calls.clone());
        let reviews = token_keeper(&engine, "ComplianceReview");
        let arn = engine
            .start_execution("onboarding", Some("o-1".into()), input.clone())
            .await
            .unwrap();
        poll(async || common::types(&history(&engine, &arn).await).contains(&"TaskSubmitted"))
            .await;
        let token = tokens(&reviews).remove(0);
        let events_before = history(&engine, &arn).await.len();
        engine.shutdown().await;
        (arn, token, events_before)
    };

    let engine = sqlite_engine(&path);
    engine
        .register_state_machine("onboarding", onboarding())
        .unwrap();
    onboarding_handlers(&engine, kyc_calls.clone());
    token_keeper(&engine, "ComplianceReview");
    let waiting = engine.describe_execution(&arn).await.unwrap();
    assert_eq!(waiting.status, ExecutionStatus::Running);
    assert_eq!(engine.resume().await.unwrap(), 1);
    engine
        .send_task_success(&token, json!({"decision": "approve", "reviewer": "u-9"}))
        .await
        .expect("the token is valid after the restart");
    let done = engine.wait_for_completion(&arn).await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(
        done.output,
        Some(json!({
            "outcome": "approved", "client_id": "c-1", "onboarding_id": "o-1",
            "account": {"login": 5001, "group": "retail", "leverage": 100, "currency": "EUR"}
        }))
    );
    assert_eq!(
        kyc_calls.load(Ordering::SeqCst),
        1,
        "states before the checkpoint are not run again"
    );
    let events = history(&engine, &arn).await;
    assert!(
        events.len() > events_before,
        "{} then {}: {:?}",
        events_before,
        events.len(),
        common::types(&events)
    );
    for (index, event) in events.iter().enumerate() {
        assert_eq!(event.id, index as u64 + 1, "one history across the restart");
    }
    let listed = engine
        .list_executions("onboarding", Some(ExecutionStatus::Succeeded))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].execution_arn, arn);
}

fn branches_machine(wait_seconds: u64) -> Value {
    json!({
        "StartAt": "Both",
        "States": {"Both": {
            "Type": "Parallel",
            "End": true,
            "Branches": [
                {"StartAt": "Approve", "States": {"Approve": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                    "Parameters": {"FunctionName": "approve", "Payload": {"token.$": "$$.Task.Token"}},
                    "End": true
                }}},
                {"StartAt": "Each", "States": {"Each": {
                    "Type": "Map",
                    "ItemsPath": "$.items",
                    "ItemProcessor": {"StartAt": "Pause", "States": {"Pause": {"Type": "Wait", "Seconds": wait_seconds, "End": true}}},
                    "End": true
                }}}
            ]
        }}
    })
}

#[tokio::test(start_paused = true)]
async fn tokens_and_waits_inside_branches_resume() {
    let store = Arc::new(MemoryExecutions::new());
    let (arn, token) = {
        let engine = Engine::new(store.clone());
        engine
            .register_state_machine("test", definition(branches_machine(600)))
            .unwrap();
        let approvals = token_keeper(&engine, "approve");
        let arn = engine
            .start_execution("test", None, json!({"items": [1, 2, 3]}))
            .await
            .unwrap();
        until(|| approvals.lock().unwrap().len() == 1).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        engine.shutdown().await;
        (arn, tokens(&approvals).remove(0))
    };
    let engine = Engine::new(store.clone());
    engine
        .register_state_machine("test", definition(branches_machine(600)))
        .unwrap();
    token_keeper(&engine, "approve");
    assert_eq!(engine.resume().await.unwrap(), 1);
    assert_eq!(engine.resume().await.unwrap(), 0, "already driven");
    engine
        .send_task_success(&token, json!("approved"))
        .await
        .unwrap();
    let done = engine.wait_for_completion(&arn).await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(done.output, Some(json!(["approved", [1, 2, 3]])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_resumes_with_the_time_it_had_left() {
    // Wall-clock time: the deadline is stored, so the wait after a restart is what remained
    // of it (1.5 s here), not a new full wait.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sfn.db");
    let machine = json!({
        "StartAt": "Each",
        "States": {"Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ItemProcessor": {"StartAt": "Pause", "States": {"Pause": {"Type": "Wait", "Seconds": 3, "End": true}}},
            "End": true
        }}
    });
    let started = Instant::now();
    let arn = {
        let engine = sqlite_engine(&path);
        engine
            .register_state_machine("test", definition(machine.clone()))
            .unwrap();
        let arn = engine
            .start_execution("test", None, json!({"items": ["a", "b"]}))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        engine.shutdown().await;
        arn
    };
    let engine = sqlite_engine(&path);
    engine
        .register_state_machine("test", definition(machine))
        .unwrap();
    assert_eq!(engine.resume().await.unwrap(), 1);
    let done = engine.wait_for_completion(&arn).await.unwrap();
    let took = started.elapsed();
    assert_eq!(done.output, Some(json!(["a", "b"])));
    assert!(took >= Duration::from_secs(3), "{took:?}");
    assert!(
        took < Duration::from_millis(4200),
        "a restarted full wait would end after 4.5 s: {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_execution_stored_as_running_but_not_resumed_can_be_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sfn.db");
    let machine = json!({"StartAt": "Long", "States": {"Long": {"Type": "Wait", "Seconds": 3600, "End": true}}});
    let arn = {
        let engine = sqlite_engine(&path);
        engine
            .register_state_machine("test", definition(machine.clone()))
            .unwrap();
        let arn = engine
            .start_execution("test", None, json!({}))
            .await
            .unwrap();
        poll(async || common::types(&history(&engine, &arn).await).contains(&"WaitStateEntered"))
            .await;
        engine.shutdown().await;
        arn
    };
    let engine = sqlite_engine(&path);
    engine
        .stop_execution(&arn, Some("Operator.Stop".into()), None)
        .await
        .unwrap();
    assert_eq!(
        engine.describe_execution(&arn).await.unwrap().status,
        ExecutionStatus::Aborted
    );
    assert_eq!(engine.resume().await.unwrap(), 0, "nothing left to resume");
    let events = history(&engine, &arn).await;
    assert_eq!(
        events.last().unwrap().event_type.as_str(),
        "ExecutionAborted"
    );
}
