//! Task, heartbeat and execution timeouts, on paused tokio time.

mod common;

use std::time::Duration;

use brokeros_sfn::{ExecutionStatus, TaskRequest, handler_fn};
use common::{engine_with, history, run, token_keeper, tokens, types, until};
use serde_json::{Value, json};
use tokio::time::Instant;

fn slow_task(timing: Value) -> Value {
    let mut call = json!({
        "Type": "Task",
        "Resource": "arn:aws:lambda:r:1:function:slow",
        "Catch": [
            {"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.failed", "Next": "Failed"},
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.timeout", "Next": "TimedOut"}
        ],
        "Next": "Done"
    });
    for (key, value) in timing.as_object().unwrap() {
        call[key] = value.clone();
    }
    json!({
        "StartAt": "Call",
        "States": {
            "Call": call,
            "Done": {"Type": "Succeed"},
            "Failed": {"Type": "Succeed"},
            "TimedOut": {"Type": "Succeed"}
        }
    })
}

fn register_slow(engine: &brokeros_sfn::Engine) {
    engine.register_handler(
        "slow",
        handler_fn(|_request: TaskRequest| async move {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(json!("too late"))
        }),
    );
}

#[tokio::test(start_paused = true)]
async fn a_task_past_its_timeout_fails_with_states_timeout() {
    let engine = engine_with(slow_task(json!({"TimeoutSeconds": 5})));
    register_slow(&engine);
    let started = Instant::now();
    let arn = engine
        .start_execution("test", None, json!({}))
        .await
        .unwrap();
    let done = engine.wait_for_completion(&arn).await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(5));
    // States.TaskFailed matches every task error except States.Timeout.
    let timeout = &done.output.unwrap()["timeout"];
    assert_eq!(timeout["Error"], json!("States.Timeout"));
    let events = types(&history(&engine, &arn).await);
    assert!(events.contains(&"LambdaFunctionTimedOut"), "{events:?}");
}

#[tokio::test(start_paused = true)]
async fn timeout_seconds_path_reads_the_state_input() {
    let engine = engine_with(slow_task(json!({"TimeoutSecondsPath": "$.limit"})));
    register_slow(&engine);
    let started = Instant::now();
    let done = run(&engine, json!({"limit": 42})).await;
    assert_eq!(started.elapsed(), Duration::from_secs(42));
    assert_eq!(
        done.output.unwrap()["timeout"]["Error"],
        json!("States.Timeout")
    );
}

#[tokio::test(start_paused = true)]
async fn a_task_within_its_timeout_succeeds() {
    let engine = engine_with(slow_task(json!({"TimeoutSeconds": 7200})));
    register_slow(&engine);
    let done = run(&engine, json!({})).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(done.output, Some(json!("too late")));
}

fn review_machine() -> Value {
    json!({
        "StartAt": "Review",
        "States": {
            "Review": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": "review", "Payload": {"token.$": "$$.Task.Token"}},
                "TimeoutSeconds": 1000,
                "HeartbeatSeconds": 10,
                "ResultPath": "$.review",
                "Catch": [{"ErrorEquals": ["States.HeartbeatTimeout"], "ResultPath": "$.silent", "Next": "Silent"}],
                "End": true
            },
            "Silent": {"Type": "Pass", "End": true}
        }
    })
}

#[tokio::test(start_paused = true)]
async fn a_token_task_without_heartbeats_times_out() {
    let engine = engine_with(review_machine());
    token_keeper(&engine, "review");
    let started = Instant::now();
    let arn = engine
        .start_execution("test", None, json!({}))
        .await
        .unwrap();
    let done = engine.wait_for_completion(&arn).await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(10));
    assert_eq!(
        done.output.unwrap()["silent"]["Error"],
        json!("States.HeartbeatTimeout")
    );
    let events = types(&history(&engine, &arn).await);
    assert!(events.contains(&"TaskTimedOut"), "{events:?}");
}

#[tokio::test(start_paused = true)]
async fn heartbeats_keep_a_token_task_alive() {
    let engine = engine_with(review_machine());
    let requests = token_keeper(&engine, "review");
    let started = Instant::now();
    let arn = engine
        .start_execution("test", None, json!({}))
        .await
        .unwrap();
    until(|| requests.lock().unwrap().len() == 1).await;
    let token = tokens(&requests).remove(0);
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_secs(8)).await;
        engine.send_task_heartbeat(&token).await.expect("heartbeat");
    }
    tokio::time::sleep(Duration::from_secs(8)).await;
    engine
        .send_task_success(&token, json!({"approved": true}))
        .await
        .expect("answer");
    let done = engine.wait_for_completion(&arn).await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(done.output, Some(json!({"review": {"approved": true}})));
    assert_eq!(started.elapsed(), Duration::from_secs(32));
}

#[tokio::test(start_paused = true)]
async fn an_execution_past_its_timeout_times_out() {
    let engine = engine_with(json!({
        "TimeoutSeconds": 30,
        "StartAt": "Long",
        "States": {"Long": {"Type": "Wait", "Seconds": 3600, "End": true}}
    }));
    let started = Instant::now();
    let arn = engine
        .start_execution("test", None, json!({}))
        .await
        .unwrap();
    let done = engine.wait_for_completion(&arn).await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(30));
    assert_eq!(done.status, ExecutionStatus::TimedOut);
    assert_eq!(done.error.as_deref(), Some("States.Timeout"));
    let events = types(&history(&engine, &arn).await);
    assert_eq!(events.last(), Some(&"ExecutionTimedOut"));
}
