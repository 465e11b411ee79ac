//! The engine's API: starting, describing, listing, history.

mod common;

use brokeros_sfn::{EngineError, ExecutionStatus, state_machine_arn};
use common::{definition, engine_with, history, run, token_keeper, until};
use serde_json::{Value, json};

fn review_machine() -> Value {
    json!({
        "StartAt": "Review",
        "States": {"Review": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "review", "Payload": {"token.$": "$$.Task.Token"}},
            "End": true
        }}
    })
}

#[tokio::test]
async fn a_name_started_again_with_the_same_input_answers_the_running_execution() {
    let engine = engine_with(review_machine());
    let requests = token_keeper(&engine, "review");
    let first = engine
        .start_execution("test", Some("onboarding-42".into()), json!({"client": 42}))
        .await
        .unwrap();
    let again = engine
        .start_execution(
            &state_machine_arn("test"),
            Some("onboarding-42".into()),
            json!({"client": 42}),
        )
        .await
        .unwrap();
    assert_eq!(first, again);
    let other_input = engine
        .start_execution("test", Some("onboarding-42".into()), json!({"client": 43}))
        .await;
    assert!(
        matches!(other_input, Err(EngineError::ExecutionAlreadyExists(_))),
        "{other_input:?}"
    );
    until(|| requests.lock().unwrap().len() == 1).await;
    assert_eq!(requests.lock().unwrap().len(), 1, "one execution, one task");
    let token = requests.lock().unwrap()[0].task_token.clone().unwrap();
    engine.send_task_success(&token, json!("ok")).await.unwrap();
    engine.wait_for_completion(&first).await.unwrap();
    let after_finish = engine
        .start_execution("test", Some("onboarding-42".into()), json!({"client": 42}))
        .await;
    assert!(
        matches!(after_finish, Err(EngineError::ExecutionAlreadyExists(_))),
        "a finished name is taken: {after_finish:?}"
    );
}

#[tokio::test]
async fn unknown_machines_executions_and_bad_names_are_refused() {
    let engine = engine_with(json!({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}));
    let unknown = engine.start_execution("nope", None, json!({})).await;
    assert!(
        matches!(unknown, Err(EngineError::StateMachineDoesNotExist(_))),
        "{unknown:?}"
    );
    let bad_name = engine
        .start_execution("test", Some("has space".into()), json!({}))
        .await;
    assert!(
        matches!(bad_name, Err(EngineError::InvalidName(_))),
        "{bad_name:?}"
    );
    let missing = engine
        .describe_execution("arn:aws:states:local:000000000000:execution:test:missing")
        .await;
    assert!(
        matches!(missing, Err(EngineError::ExecutionDoesNotExist(_))),
        "{missing:?}"
    );
    assert!(
        engine
            .register_state_machine(
                "a/b",
                definition(json!({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}))
            )
            .is_err()
    );
    assert_eq!(engine.state_machines(), vec![state_machine_arn("test")]);
}

#[tokio::test]
async fn executions_are_listed_newest_first_and_by_status() {
    let engine = engine_with(json!({
        "StartAt": "Route",
        "States": {
            "Route": {"Type": "Choice", "Choices": [{"Variable": "$.ok", "BooleanEquals": true, "Next": "Yes"}], "Default": "No"},
            "Yes": {"Type": "Succeed"},
            "No": {"Type": "Fail", "Error": "Nope"}
        }
    }));
    for (name, ok) in [("one", true), ("two", false), ("three", true)] {
        let arn = engine
            .start_execution("test", Some(name.into()), json!({"ok": ok}))
            .await
            .unwrap();
        engine.wait_for_completion(&arn).await.unwrap();
    }
    let all: Vec<String> = engine
        .list_executions("test", None)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(all, ["three", "two", "one"]);
    let failed: Vec<String> = engine
        .list_executions(&state_machine_arn("test"), Some(ExecutionStatus::Failed))
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(failed, ["two"]);
}

#[tokio::test]
async fn history_events_have_aws_names_ids_and_shapes() {
    let engine = engine_with(json!({
        "StartAt": "Prepare",
        "States": {
            "Prepare": {"Type": "Pass", "Result": {"n": 1}, "Next": "Call"},
            "Call": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                     "Parameters": {"FunctionName": "echo", "Payload.$": "$"},
                     "OutputPath": "$.Payload", "Next": "Done"},
            "Done": {"Type": "Succeed"}
        }
    }));
    common::echo(&engine, "echo");
    let arn = engine
        .start_execution("test", None, json!({"in": true}))
        .await
        .unwrap();
    let done = engine.wait_for_completion(&arn).await.unwrap();
    assert_eq!(done.output, Some(json!({"n": 1})));
    assert_eq!(done.state_transitions, 3);
    let events = history(&engine, &arn).await;
    assert_eq!(
        common::types(&events),
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskSucceeded",
            "TaskStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded"
        ]
    );
    for (index, event) in events.iter().enumerate() {
        assert_eq!(event.id, index as u64 + 1);
        assert_eq!(
            event.previous_event_id, index as u64,
            "one path: each event follows the one before"
        );
    }
    let started = events[0].to_aws_json();
    assert_eq!(started["type"], json!("ExecutionStarted"));
    assert_eq!(
        started["executionStartedEventDetails"]["input"],
        json!("{\"in\":true}")
    );
    let scheduled = events[4].to_aws_json();
    let details = &scheduled["taskScheduledEventDetails"];
    assert_eq!(details["resourceType"], json!("lambda"));
    assert_eq!(details["resource"], json!("invoke"));
    let parameters: Value = serde_json::from_str(details["parameters"].as_str().unwrap()).unwrap();
    assert_eq!(
        parameters,
        json!({"FunctionName": "echo", "Payload": {"n": 1}})
    );
    let succeeded = events[6].to_aws_json();
    let output: Value = serde_json::from_str(
        succeeded["taskSucceededEventDetails"]["output"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(output["Payload"], json!({"n": 1}));
    assert_eq!(output["StatusCode"], json!(200));
    let exited = events[7].to_aws_json();
    assert_eq!(exited["stateExitedEventDetails"]["name"], json!("Call"));
    assert!(started["timestamp"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn branches_chain_their_events_from_the_state_that_started_them() {
    let engine = engine_with(json!({
        "StartAt": "Both",
        "States": {"Both": {"Type": "Parallel", "End": true, "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}},
            {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": true}}}
        ]}}
    }));
    let arn = engine
        .start_execution("test", None, json!({}))
        .await
        .unwrap();
    engine.wait_for_completion(&arn).await.unwrap();
    let events = history(&engine, &arn).await;
    let started = events
        .iter()
        .find(|e| e.event_type.as_str() == "ParallelStateStarted")
        .unwrap();
    let branch_starts: Vec<u64> = events
        .iter()
        .filter(|e| e.event_type.as_str() == "PassStateEntered")
        .map(|e| e.previous_event_id)
        .collect();
    assert_eq!(branch_starts, [started.id, started.id]);
    let done = run(&engine, json!({"x": 1})).await;
    assert_eq!(done.output, Some(json!([{"x": 1}, {"x": 1}])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_looping_execution_can_be_stopped() {
    let engine = engine_with(json!({
        "StartAt": "Spin",
        "States": {
            "Spin": {"Type": "Pass", "Next": "Again"},
            "Again": {"Type": "Pass", "Next": "Spin"}
        }
    }));
    let arn = engine
        .start_execution("test", None, json!({}))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    engine
        .stop_execution(&arn, None, Some("runaway".into()))
        .await
        .unwrap();
    let stopped = engine.wait_for_completion(&arn).await.unwrap();
    assert_eq!(stopped.status, ExecutionStatus::Aborted);
    assert!(
        stopped.state_transitions > 2,
        "it was looping: {}",
        stopped.state_transitions
    );
}
