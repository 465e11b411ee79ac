//! `.waitForTaskToken` tasks and the task token API.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use brokeros_sfn::{Engine, EngineError, ExecutionStatus, TaskRequest, handler_fn};
use common::{engine_with, history, token_keeper, tokens, types, until};
use serde_json::{Value, json};

fn review_machine() -> Value {
    json!({
        "StartAt": "Review",
        "States": {
            "Review": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {
                    "FunctionName": "arn:aws:lambda:eu-west-1:123456789012:function:review",
                    "Payload": {"client.$": "$.client", "token.$": "$$.Task.Token"}
                },
                "ResultPath": "$.review",
                "TimeoutSeconds": 3600,
                "Catch": [{"ErrorEquals": ["ReviewRejected"], "ResultPath": "$.rejection", "Next": "Rejected"}],
                "End": true
            },
            "Rejected": {"Type": "Pass", "End": true}
        }
    })
}

async fn waiting_review(engine: &Engine) -> (String, String) {
    let requests = token_keeper(engine, "review");
    let arn = engine
        .start_execution("test", None, json!({"client": 7}))
        .await
        .unwrap();
    until(|| requests.lock().unwrap().len() == 1).await;
    let request = requests.lock().unwrap()[0].clone();
    assert_eq!(request.payload["client"], json!(7));
    assert_eq!(
        request.payload["token"].as_str(),
        request.task_token.as_deref(),
        "$$.Task.Token is the token"
    );
    (arn, tokens(&requests).remove(0))
}

#[tokio::test]
async fn a_token_task_completes_with_the_output_sent_for_its_token() {
    let engine = engine_with(review_machine());
    let (arn, token) = waiting_review(&engine).await;
    assert_eq!(
        engine.describe_execution(&arn).await.unwrap().status,
        ExecutionStatus::Running
    );
    engine
        .send_task_success(&token, json!({"approved": true}))
        .await
        .unwrap();
    let done = engine.wait_for_completion(&arn).await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    assert_eq!(
        done.output,
        Some(json!({"client": 7, "review": {"approved": true}}))
    );
    let events = types(&history(&engine, &arn).await);
    for expected in [
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
        "TaskSucceeded",
        "TaskStateExited",
    ] {
        assert!(
            events.contains(&expected),
            "{expected} missing from {events:?}"
        );
    }
}

#[tokio::test]
async fn send_task_failure_fails_the_task_with_the_given_error() {
    let engine = engine_with(review_machine());
    let (arn, token) = waiting_review(&engine).await;
    engine
        .send_task_failure(&token, "ReviewRejected", "documents expired")
        .await
        .unwrap();
    let done = engine.wait_for_completion(&arn).await.unwrap();
    assert_eq!(
        done.output.unwrap()["rejection"],
        json!({"Error": "ReviewRejected", "Cause": "documents expired"})
    );
}

#[tokio::test]
async fn an_answered_token_has_no_effect() {
    let engine = engine_with(review_machine());
    let (arn, token) = waiting_review(&engine).await;
    engine
        .send_task_success(&token, json!("first"))
        .await
        .unwrap();
    let done = engine.wait_for_completion(&arn).await.unwrap();
    for again in [
        engine.send_task_success(&token, json!("second")).await,
        engine
            .send_task_failure(&token, "ReviewRejected", "late")
            .await,
        engine.send_task_heartbeat(&token).await,
    ] {
        assert!(
            matches!(again, Err(EngineError::TaskDoesNotExist(_))),
            "{again:?}"
        );
    }
    assert_eq!(engine.describe_execution(&arn).await.unwrap(), done);
    assert_eq!(done.output.unwrap()["review"], json!("first"));
}

#[tokio::test]
async fn a_second_answer_to_a_running_execution_has_no_effect() {
    // Two tokens of the same execution in sequence: the first one's answer cannot complete
    // the second task.
    let engine = engine_with(json!({
        "StartAt": "First",
        "States": {
            "First": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                      "Parameters": {"FunctionName": "review", "Payload": {"t.$": "$$.Task.Token"}},
                      "ResultPath": "$.first", "Next": "Second"},
            "Second": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                       "Parameters": {"FunctionName": "review", "Payload": {"t.$": "$$.Task.Token"}},
                       "ResultPath": "$.second", "End": true}
        }
    }));
    let requests = token_keeper(&engine, "review");
    let arn = engine
        .start_execution("test", None, json!({}))
        .await
        .unwrap();
    until(|| requests.lock().unwrap().len() == 1).await;
    let first = tokens(&requests).remove(0);
    engine.send_task_success(&first, json!(1)).await.unwrap();
    until(|| requests.lock().unwrap().len() == 2).await;
    let reused = engine.send_task_success(&first, json!("replayed")).await;
    assert!(
        matches!(reused, Err(EngineError::TaskDoesNotExist(_))),
        "{reused:?}"
    );
    assert_eq!(
        engine.describe_execution(&arn).await.unwrap().status,
        ExecutionStatus::Running
    );
    let second = tokens(&requests).remove(1);
    engine.send_task_success(&second, json!(2)).await.unwrap();
    let done = engine.wait_for_completion(&arn).await.unwrap();
    assert_eq!(done.output, Some(json!({"first": 1, "second": 2})));
}

#[tokio::test]
async fn malformed_and_unknown_tokens_are_refused() {
    let engine = engine_with(review_machine());
    for malformed in [
        "",
        "garbage",
        "bm90IGEgdG9rZW4",
        &URL_SAFE_NO_PAD.encode("arn:aws:states:local:0:execution:test:x#short"),
    ] {
        let answer = engine.send_task_success(malformed, json!(null)).await;
        assert!(
            matches!(answer, Err(EngineError::InvalidToken(_))),
            "{malformed}: {answer:?}"
        );
    }
    let unknown = URL_SAFE_NO_PAD.encode(format!(
        "arn:aws:states:local:000000000000:execution:test:nobody#{}",
        "0".repeat(32)
    ));
    let answer = engine.send_task_success(&unknown, json!(null)).await;
    assert!(
        matches!(answer, Err(EngineError::TaskDoesNotExist(_))),
        "{answer:?}"
    );
    assert_eq!(answer.unwrap_err().code(), "TaskDoesNotExist");
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_token_answers_task_timed_out() {
    let engine = engine_with(json!({
        "StartAt": "Review",
        "States": {"Review": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "review", "Payload": {"token.$": "$$.Task.Token"}},
            "TimeoutSeconds": 60,
            "End": true
        }}
    }));
    let requests = token_keeper(&engine, "review");
    let arn = engine
        .start_execution("test", None, json!({}))
        .await
        .unwrap();
    let done = engine.wait_for_completion(&arn).await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error.as_deref(), Some("States.Timeout"));
    let token = tokens(&requests).remove(0);
    let late = engine.send_task_success(&token, json!("late")).await;
    assert!(
        matches!(late, Err(EngineError::TaskTimedOut(_))),
        "{late:?}"
    );
}

#[tokio::test]
async fn a_failing_handler_fails_a_token_task_at_once() {
    let engine = engine_with(review_machine());
    engine.register_handler(
        "review",
        handler_fn(|_request: TaskRequest| async move {
            Err(brokeros_sfn::TaskFailure::new(
                "ReviewRejected",
                "the review queue refused it",
            ))
        }),
    );
    let arn = engine
        .start_execution("test", None, json!({"client": 1}))
        .await
        .unwrap();
    let done = engine.wait_for_completion(&arn).await.unwrap();
    assert_eq!(
        done.output.unwrap()["rejection"]["Error"],
        json!("ReviewRejected")
    );
}

#[tokio::test]
async fn a_token_answered_before_its_handler_returns_completes_the_task() {
    let engine = engine_with(review_machine());
    let answering = engine.clone();
    engine.register_handler(
        "review",
        handler_fn(move |request: TaskRequest| {
            let engine = answering.clone();
            async move {
                let token = request.task_token.unwrap();
                engine
                    .send_task_success(&token, json!("instant"))
                    .await
                    .expect("answer");
                Ok(json!("submitted"))
            }
        }),
    );
    let arn = engine
        .start_execution("test", None, json!({"client": 1}))
        .await
        .unwrap();
    let done = engine.wait_for_completion(&arn).await.unwrap();
    assert_eq!(done.output.unwrap()["review"], json!("instant"));
}

#[tokio::test]
async fn map_iterations_wait_on_their_own_tokens() {
    let engine = engine_with(json!({
        "StartAt": "Each",
        "States": {"Each": {
            "Type": "Map",
            "ItemsPath": "$.clients",
            "ItemProcessor": {"StartAt": "Approve", "States": {"Approve": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {"FunctionName": "review", "Payload": {"client.$": "$", "token.$": "$$.Task.Token"}},
                "End": true
            }}},
            "End": true
        }}
    }));
    let requests = token_keeper(&engine, "review");
    let arn = engine
        .start_execution("test", None, json!({"clients": ["a", "b", "c"]}))
        .await
        .unwrap();
    until(|| requests.lock().unwrap().len() == 3).await;
    let mut waiting: Vec<(String, String)> = requests
        .lock()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.payload["client"].as_str().unwrap().to_string(),
                r.task_token.clone().unwrap(),
            )
        })
        .collect();
    waiting.reverse();
    for (client, token) in waiting {
        engine
            .send_task_success(&token, json!(format!("ok {client}")))
            .await
            .unwrap();
    }
    let done = engine.wait_for_completion(&arn).await.unwrap();
    assert_eq!(done.output, Some(json!(["ok a", "ok b", "ok c"])));
}

#[tokio::test]
async fn stopping_an_execution_aborts_it_and_voids_its_tokens() {
    let engine = engine_with(review_machine());
    let (arn, token) = waiting_review(&engine).await;
    engine
        .stop_execution(
            &arn,
            Some("Operator.Stop".into()),
            Some("duplicate onboarding".into()),
        )
        .await
        .unwrap();
    let stopped = engine.describe_execution(&arn).await.unwrap();
    assert_eq!(stopped.status, ExecutionStatus::Aborted);
    assert_eq!(stopped.error.as_deref(), Some("Operator.Stop"));
    assert!(stopped.stop_date.is_some());
    let late = engine.send_task_success(&token, json!("late")).await;
    assert!(
        matches!(late, Err(EngineError::TaskDoesNotExist(_))),
        "{late:?}"
    );
    assert_eq!(
        types(&history(&engine, &arn).await).last(),
        Some(&"ExecutionAborted")
    );
    engine
        .stop_execution(&arn, None, None)
        .await
        .expect("stopping again changes nothing");
    assert_eq!(engine.describe_execution(&arn).await.unwrap(), stopped);
}

#[tokio::test]
async fn an_output_over_the_payload_quota_is_refused_and_the_task_keeps_waiting() {
    let engine = engine_with(review_machine());
    let (arn, token) = waiting_review(&engine).await;
    let refused = engine
        .send_task_success(&token, json!({"notes": "x".repeat(256 * 1024)}))
        .await;
    match refused {
        Err(e) => assert_eq!(e.code(), "InvalidOutput", "{e}"),
        Ok(()) => panic!("an output over 256 KiB was accepted"),
    }
    assert_eq!(
        engine.describe_execution(&arn).await.unwrap().status,
        ExecutionStatus::Running
    );
    engine
        .send_task_success(&token, json!({"approved": true}))
        .await
        .expect("the same token still answers");
    let done = engine.wait_for_completion(&arn).await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Succeeded);
}
