//! Retry and Catch, as the specification describes them.

mod common;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use brokeros_sfn::{ExecutionStatus, TaskRequest, handler_fn};
use common::{engine_with, flaky, history, run, types};
use serde_json::{Value, json};
use tokio::time::Instant;

/// A task between Done, Recovered and Other; catchers that never match keep the last two
/// reachable whatever `catch` holds.
fn task_with(retry: Value, catch: Value) -> Value {
    let mut catchers = vec![
        json!({"ErrorEquals": ["Never.Thrown"], "Next": "Recovered"}),
        json!({"ErrorEquals": ["Never.Either"], "Next": "Other"}),
    ];
    catchers.extend(catch.as_array().unwrap().iter().cloned());
    json!({
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "arn:aws:lambda:eu-west-1:123456789012:function:flaky", "Payload.$": "$"},
                "ResultSelector": {"answer.$": "$.Payload"},
                "Retry": retry,
                "Catch": catchers,
                "Next": "Done"
            },
            "Done": {"Type": "Succeed"},
            "Recovered": {"Type": "Pass", "End": true},
            "Other": {"Type": "Pass", "Result": "other", "End": true}
        }
    })
}

fn no_catch() -> Value {
    json!([])
}

#[tokio::test(start_paused = true)]
async fn retries_back_off_exponentially_until_the_task_succeeds() {
    let engine = engine_with(task_with(
        json!([{"ErrorEquals": ["Transient"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 3}]),
        no_catch(),
    ));
    let calls = flaky(&engine, "flaky", "Transient", 3, json!("finally"));
    let started = Instant::now();
    let arn = engine
        .start_execution("test", None, json!({}))
        .await
        .unwrap();
    let done = engine.wait_for_completion(&arn).await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Succeeded, "{done:?}");
    assert_eq!(done.output, Some(json!({"answer": "finally"})));
    assert_eq!(
        calls.load(Ordering::SeqCst),
        4,
        "one call and three retries"
    );
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(2 + 6 + 18),
        "2 s, then x3 per attempt"
    );
    let events = types(&history(&engine, &arn).await);
    assert_eq!(events.iter().filter(|t| **t == "TaskFailed").count(), 3);
    assert_eq!(events.iter().filter(|t| **t == "TaskScheduled").count(), 4);
}

#[tokio::test(start_paused = true)]
async fn max_delay_caps_the_backoff() {
    let engine = engine_with(task_with(
        json!([{"ErrorEquals": ["Transient"], "IntervalSeconds": 10, "BackoffRate": 10, "MaxAttempts": 3, "MaxDelaySeconds": 15}]),
        no_catch(),
    ));
    flaky(&engine, "flaky", "Transient", 3, json!("ok"));
    let started = Instant::now();
    assert_eq!(
        run(&engine, json!({})).await.status,
        ExecutionStatus::Succeeded
    );
    assert_eq!(started.elapsed(), Duration::from_secs(10 + 15 + 15));
}

#[tokio::test(start_paused = true)]
async fn full_jitter_waits_at_most_the_backoff() {
    let engine = engine_with(task_with(
        json!([{"ErrorEquals": ["Transient"], "IntervalSeconds": 100, "MaxAttempts": 5, "JitterStrategy": "FULL"}]),
        no_catch(),
    ));
    flaky(&engine, "flaky", "Transient", 5, json!("ok"));
    let started = Instant::now();
    assert_eq!(
        run(&engine, json!({})).await.status,
        ExecutionStatus::Succeeded
    );
    let ceiling = Duration::from_secs(100 + 200 + 400 + 800 + 1600);
    let waited = started.elapsed();
    assert!(waited <= ceiling, "{waited:?}");
    assert!(
        waited < ceiling - Duration::from_secs(1),
        "five random delays all at their maximum: {waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn exhausted_retries_go_to_the_catcher_with_the_error_at_its_result_path() {
    let engine = engine_with(task_with(
        json!([{"ErrorEquals": ["Transient"], "MaxAttempts": 2}]),
        json!([{"ErrorEquals": ["Transient"], "ResultPath": "$.failure", "Next": "Recovered"}]),
    ));
    let calls = flaky(&engine, "flaky", "Transient", usize::MAX, json!(null));
    let done = run(&engine, json!({"client": 7})).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(
        done.output,
        Some(json!({"client": 7, "failure": {"Error": "Transient", "Cause": "call 2 failed"}}))
    );
}

#[tokio::test(start_paused = true)]
async fn the_first_matching_retrier_applies_and_errors_match_by_name() {
    // The handler fails with a Lambda errorType; the first retrier does not name it, the
    // second does (and its attempts, not the first's, are spent).
    let engine = engine_with(task_with(
        json!([
            {"ErrorEquals": ["Other.Error"], "MaxAttempts": 5},
            {"ErrorEquals": ["Lambda.TooManyRequestsException"], "MaxAttempts": 1}
        ]),
        json!([{"ErrorEquals": ["States.ALL"], "Next": "Recovered"}]),
    ));
    let calls = flaky(
        &engine,
        "flaky",
        "Lambda.TooManyRequestsException",
        usize::MAX,
        json!(null),
    );
    let done = run(&engine, json!({})).await;
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(
        done.output,
        Some(json!({"Error": "Lambda.TooManyRequestsException", "Cause": "call 1 failed"})),
        "a catcher without ResultPath outputs the error itself"
    );
}

#[tokio::test]
async fn max_attempts_zero_never_retries() {
    let engine = engine_with(task_with(
        json!([{"ErrorEquals": ["States.ALL"], "MaxAttempts": 0}]),
        no_catch(),
    ));
    let calls = flaky(&engine, "flaky", "Boom", usize::MAX, json!(null));
    let done = run(&engine, json!({})).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error.as_deref(), Some("Boom"));
    assert_eq!(done.cause.as_deref(), Some("call 0 failed"));
}

#[tokio::test]
async fn catchers_match_in_order_and_states_all_catches_the_rest() {
    let catch = json!([
        {"ErrorEquals": ["Specific"], "ResultPath": "$.specific", "Next": "Recovered"},
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.any", "Next": "Other"}
    ]);
    let engine = engine_with(task_with(json!([]), catch.clone()));
    flaky(&engine, "flaky", "Specific", usize::MAX, json!(null));
    let done = run(&engine, json!({})).await;
    assert_eq!(
        done.output,
        Some(json!({"specific": {"Error": "Specific", "Cause": "call 0 failed"}}))
    );

    let engine = engine_with(task_with(json!([]), catch));
    flaky(&engine, "flaky", "Anything.Else", usize::MAX, json!(null));
    let done = run(&engine, json!({})).await;
    assert_eq!(done.output, Some(json!("other")));
}

#[tokio::test]
async fn a_missing_handler_fails_the_task_naming_the_function() {
    let engine = engine_with(task_with(
        json!([]),
        json!([{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.failure", "Next": "Recovered"}]),
    ));
    let done = run(&engine, json!({})).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    let failure = &done.output.unwrap()["failure"];
    assert_eq!(failure["Error"], json!("Lambda.ResourceNotFoundException"));
    assert!(
        failure["Cause"].as_str().unwrap().contains("\"flaky\""),
        "{failure}"
    );
}

#[tokio::test(start_paused = true)]
async fn retry_count_is_in_the_context_object() {
    let engine = engine_with(json!({
        "StartAt": "Call",
        "States": {"Call": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "counted", "Payload": {"retry.$": "$$.State.RetryCount"}},
            "Retry": [{"ErrorEquals": ["Again"], "MaxAttempts": 5, "IntervalSeconds": 1}],
            "End": true
        }}
    }));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    engine.register_handler(
        "counted",
        handler_fn(move |request: TaskRequest| {
            let retry = request.payload["retry"].as_u64().unwrap();
            record.lock().unwrap().push(retry);
            async move {
                if retry < 2 {
                    Err(brokeros_sfn::TaskFailure::new("Again", "not yet"))
                } else {
                    Ok(json!(retry))
                }
            }
        }),
    );
    let done = run(&engine, json!({})).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(*seen.lock().unwrap(), vec![0, 1, 2]);
}

#[tokio::test]
async fn parameter_path_failures_are_caught() {
    let engine = engine_with(json!({
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:r:1:function:never",
                "Parameters": {"x.$": "$.missing"},
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Recovered"}],
                "End": true
            },
            "Recovered": {"Type": "Pass", "End": true}
        }
    }));
    let done = run(&engine, json!({})).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(
        done.output.unwrap()["failure"]["Error"],
        json!("States.ParameterPathFailure")
    );
}

#[tokio::test]
async fn runtime_errors_are_never_caught() {
    let engine = engine_with(json!({
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:r:1:function:never",
                "InputPath": "$.missing",
                "Retry": [{"ErrorEquals": ["States.ALL"]}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recovered"}],
                "End": true
            },
            "Recovered": {"Type": "Pass", "End": true}
        }
    }));
    let done = run(&engine, json!({})).await;
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error.as_deref(), Some("States.Runtime"));
}

#[tokio::test]
async fn a_panicking_handler_fails_its_task() {
    let engine = engine_with(task_with(
        json!([]),
        json!([{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Recovered"}]),
    ));
    engine.register_handler(
        "flaky",
        handler_fn(|_request: TaskRequest| async move {
            if true {
                panic!("handler bug");
            }
            Ok::<Value, brokeros_sfn::TaskFailure>(json!(null))
        }),
    );
    let done = run(&engine, json!({})).await;
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(
        done.output.unwrap()["failure"]["Error"],
        json!("Lambda.Unknown")
    );
}

/// A task calling `function` with the state input, caught by `States.ALL` into Recovered.
fn caught_task(function: &str, parameters: Value) -> Value {
    json!({
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": format!("arn:aws:lambda:eu-west-1:123456789012:function:{function}"),
                "Parameters": parameters,
                "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2, "IntervalSeconds": 1}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.caught", "Next": "Recovered"}],
                "End": true
            },
            "Recovered": {"Type": "Pass", "Result": "recovered", "End": true}
        }
    })
}

fn text_of(bytes: usize) -> String {
    "x".repeat(bytes)
}

#[tokio::test(start_paused = true)]
async fn a_result_over_the_payload_quota_fails_the_execution_uncaught() {
    let engine = engine_with(caught_task("big", json!({"size.$": "$.size"})));
    let calls = Arc::new(Mutex::new(0));
    let counter = calls.clone();
    engine.register_handler(
        "big",
        handler_fn(move |request: TaskRequest| {
            *counter.lock().unwrap() += 1;
            let size = request.payload["size"].as_u64().unwrap() as usize;
            async move { Ok(json!({ "text": text_of(size) })) }
        }),
    );
    // Exactly the quota ({"text":"…"} adds 11 bytes): it passes.
    let fits = run(&engine, json!({"size": 256 * 1024 - 11})).await;
    assert_eq!(fits.status, ExecutionStatus::Succeeded, "{:?}", fits.error);
    *calls.lock().unwrap() = 0;
    // One byte more: terminal, neither retried nor caught by States.ALL.
    let over = run(&engine, json!({"size": 256 * 1024 - 10})).await;
    assert_eq!(over.status, ExecutionStatus::Failed);
    assert_eq!(over.error.as_deref(), Some("States.DataLimitExceeded"));
    let cause = over.cause.unwrap();
    assert!(
        cause.contains("state 'Call'") && cause.contains("262145 bytes"),
        "{cause}"
    );
    assert_eq!(*calls.lock().unwrap(), 1, "not retried");
}

#[tokio::test(start_paused = true)]
async fn a_task_input_over_the_quota_fails_before_the_task_runs() {
    let engine = engine_with(caught_task(
        "echo",
        json!({"a.$": "$.text", "b.$": "$.text"}),
    ));
    let calls = Arc::new(Mutex::new(0));
    let counter = calls.clone();
    engine.register_handler(
        "echo",
        handler_fn(move |request: TaskRequest| {
            *counter.lock().unwrap() += 1;
            async move { Ok(request.payload) }
        }),
    );
    // The input fits; Parameters doubles it past the quota.
    let done = run(&engine, json!({"text": text_of(150 * 1024)})).await;
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error.as_deref(), Some("States.DataLimitExceeded"));
    assert_eq!(*calls.lock().unwrap(), 0, "the task never ran");
}

#[tokio::test(start_paused = true)]
async fn an_execution_input_over_the_quota_is_refused_and_nothing_starts() {
    let engine = engine_with(caught_task("echo", json!({"a.$": "$"})));
    let refused = engine
        .start_execution(
            "test",
            Some("big".into()),
            json!({"text": text_of(256 * 1024)}),
        )
        .await;
    match refused {
        Err(e) => assert_eq!(e.code(), "InvalidExecutionInput", "{e}"),
        Ok(arn) => panic!("started {arn}"),
    }
    assert!(
        engine
            .describe_execution(&brokeros_sfn::execution_arn("test", "big"))
            .await
            .is_err(),
        "no execution was recorded"
    );
}
