//! The workflow port's AWS adapter, `StepFunctionsWorkflow`, against Step Functions as moto
//! emulates it with its executor on: executions really run, and a
//! `sqs:sendMessage.waitForTaskToken` task puts its token on an SQS queue and waits for it.
//! Every test has its own queue and state machine in the process's one moto server.
//!
//! Not covered, because moto does not behave like AWS there (so a test would check moto):
//! - `SendTaskFailure` on an already answered token: moto accepts it (it looks the token up in
//!   finished executions too); AWS refuses it, and the adapter maps that refusal like the others.
//! - The failure's `cause`: moto's `SendTaskFailure` drops it; only the error name is checked.
//! - A timed-out task (`TaskTimedOut`): would take the task's timeout in real time.

mod fixture;

use aws_sdk_sfn::types::ExecutionStatus;
use brokeros_aws::workflow::StepFunctionsWorkflow;
use brokeros_kernel::Error;
use brokeros_kernel::workflow::{Machine, Workflow};
use fixture::{Fixture, snapshot, unique};
use serde_json::{Value, json};

fn json_of(text: Option<&str>) -> Value {
    let text = text.expect("the execution has a JSON document here");
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[track_caller]
fn assert_conflict<T: std::fmt::Debug>(result: brokeros_kernel::Result<T>, expected: &str) {
    match result {
        Err(Error::Conflict { code, .. }) if code == expected => {}
        other => panic!("expected Conflict {{ code: {expected:?} }}, got {other:?}"),
    }
}

/// Starts an execution through the adapter and answers its task with `task_success`; returns
/// the execution's ARN, once it succeeded, and the answered token.
async fn run_to_success(fixture: &Fixture, output: &Value) -> (String, String) {
    let name = unique("client");
    let arn = fixture
        .workflow
        .start(Machine::Onboarding, &name, json!({ "clientId": name }))
        .await
        .expect("start");
    let task = fixture.next_task().await;
    fixture
        .workflow
        .task_success(&task.token, output.clone())
        .await
        .expect("task_success on the waiting token");
    let finished = fixture.finished(&arn).await;
    assert_eq!(finished.status, ExecutionStatus::Succeeded, "{finished:?}");
    (arn, task.token)
}

#[tokio::test]
async fn start_then_task_success_completes_the_execution_with_that_output() {
    let fixture = Fixture::new().await;
    let name = unique("client");
    let input = json!({ "clientId": name, "country": "CY", "tier": "retail" });

    let arn = fixture
        .workflow
        .start(Machine::Onboarding, &name, input.clone())
        .await
        .expect("start");
    assert_eq!(
        arn,
        format!(
            "{}:{name}",
            fixture.machine_arn.replace(":stateMachine:", ":execution:")
        )
    );
    assert_eq!(
        fixture.workflow.execution_arn(Machine::Onboarding, &name),
        Ok(arn.clone()),
        "execution_arn names the ARN start answers"
    );
    let task = fixture.next_task().await;
    assert_eq!(task.input, input, "the task gets the execution's input");
    assert_eq!(
        fixture.describe(&arn).await.status,
        ExecutionStatus::Running,
        "the execution waits for the token"
    );

    let output = json!({ "decision": "approved", "by": "compliance", "notes": ["docs ok"] });
    fixture
        .workflow
        .task_success(&task.token, output.clone())
        .await
        .expect("task_success on the waiting token");

    let finished = fixture.finished(&arn).await;
    assert_eq!(finished.status, ExecutionStatus::Succeeded, "{finished:?}");
    assert_eq!(json_of(finished.output.as_deref()), output);
    assert_eq!(json_of(finished.input.as_deref()), input);
}

#[tokio::test]
async fn an_answered_token_is_not_waiting_and_changes_nothing() {
    let fixture = Fixture::new().await;
    let output = json!({ "decision": "approved" });
    let (arn, token) = run_to_success(&fixture, &output).await;
    let before = snapshot(&fixture, &arn).await;

    assert_conflict(
        fixture
            .workflow
            .task_success(&token, json!({ "decision": "rejected" }))
            .await,
        "task_not_waiting",
    );
    assert_conflict(
        fixture.workflow.task_heartbeat(&token).await,
        "task_not_waiting",
    );

    assert_eq!(snapshot(&fixture, &arn).await, before);
    assert_eq!(
        json_of(fixture.describe(&arn).await.output.as_deref()),
        output
    );
}

#[tokio::test]
async fn an_unknown_token_is_not_waiting_and_the_waiting_task_is_untouched() {
    let fixture = Fixture::new().await;
    let name = unique("client");
    let arn = fixture
        .workflow
        .start(Machine::Onboarding, &name, json!({ "clientId": name }))
        .await
        .expect("start");
    let task = fixture.next_task().await;
    let unknown = uuid::Uuid::new_v4().to_string();

    assert_conflict(
        fixture
            .workflow
            .task_success(&unknown, json!({ "decision": "approved" }))
            .await,
        "task_not_waiting",
    );
    assert_conflict(
        fixture
            .workflow
            .task_failure(&unknown, "ReviewRejected", "not this one")
            .await,
        "task_not_waiting",
    );
    assert_conflict(
        fixture.workflow.task_heartbeat(&unknown).await,
        "task_not_waiting",
    );
    assert_eq!(
        fixture.describe(&arn).await.status,
        ExecutionStatus::Running
    );

    // The real token still answers the task.
    fixture
        .workflow
        .task_success(&task.token, json!({ "decision": "approved" }))
        .await
        .expect("task_success on the waiting token");
    assert_eq!(
        fixture.finished(&arn).await.status,
        ExecutionStatus::Succeeded
    );
}

#[tokio::test]
async fn task_failure_fails_the_execution_with_that_error() {
    let fixture = Fixture::new().await;
    let name = unique("client");
    let arn = fixture
        .workflow
        .start(Machine::Onboarding, &name, json!({ "clientId": name }))
        .await
        .expect("start");
    let task = fixture.next_task().await;

    fixture
        .workflow
        .task_failure(&task.token, "ReviewRejected", "documents do not match")
        .await
        .expect("task_failure on the waiting token");

    // The definition has no Catch: the task's error fails the execution.
    let finished = fixture.finished(&arn).await;
    assert_eq!(finished.status, ExecutionStatus::Failed, "{finished:?}");
    assert_eq!(finished.error.as_deref(), Some("ReviewRejected"));
    assert_eq!(finished.output, None);
    assert_conflict(
        fixture
            .workflow
            .task_success(&task.token, json!({ "decision": "approved" }))
            .await,
        "task_not_waiting",
    );
}

#[tokio::test]
async fn heartbeat_on_a_waiting_token_is_accepted_and_keeps_it_waiting() {
    let fixture = Fixture::new().await;
    let name = unique("client");
    let arn = fixture
        .workflow
        .start(Machine::Onboarding, &name, json!({ "clientId": name }))
        .await
        .expect("start");
    let task = fixture.next_task().await;

    for _ in 0..2 {
        fixture
            .workflow
            .task_heartbeat(&task.token)
            .await
            .expect("task_heartbeat on the waiting token");
    }
    assert_eq!(
        fixture.describe(&arn).await.status,
        ExecutionStatus::Running
    );

    let output = json!({ "decision": "approved" });
    fixture
        .workflow
        .task_success(&task.token, output.clone())
        .await
        .expect("task_success after heartbeats");
    let finished = fixture.finished(&arn).await;
    assert_eq!(finished.status, ExecutionStatus::Succeeded, "{finished:?}");
    assert_eq!(json_of(finished.output.as_deref()), output);
}

#[tokio::test]
async fn start_with_the_same_name_and_input_answers_the_running_execution() {
    let fixture = Fixture::new().await;
    let name = unique("client");
    let input = json!({ "clientId": name });

    let first = fixture
        .workflow
        .start(Machine::Onboarding, &name, input.clone())
        .await
        .expect("start");
    let again = fixture
        .workflow
        .start(Machine::Onboarding, &name, input.clone())
        .await
        .expect("the same start again, while the execution runs");

    assert_eq!(again, first);
    assert_eq!(
        fixture.executions().await,
        vec![(name.clone(), ExecutionStatus::Running)],
        "one execution"
    );
    // It ran once: one task, whose answer finishes it.
    let task = fixture.next_task().await;
    fixture
        .workflow
        .task_success(&task.token, json!({}))
        .await
        .expect("task_success");
    assert_eq!(
        fixture.finished(&first).await.status,
        ExecutionStatus::Succeeded
    );
    assert_eq!(
        fixture.executions().await,
        vec![(name, ExecutionStatus::Succeeded)]
    );
}

#[tokio::test]
async fn start_with_the_same_name_and_other_input_is_execution_exists() {
    let fixture = Fixture::new().await;
    let name = unique("client");
    let input = json!({ "clientId": name });
    let arn = fixture
        .workflow
        .start(Machine::Onboarding, &name, input.clone())
        .await
        .expect("start");

    assert_conflict(
        fixture
            .workflow
            .start(
                Machine::Onboarding,
                &name,
                json!({ "clientId": "someone-else" }),
            )
            .await,
        "execution_exists",
    );

    let running = fixture.describe(&arn).await;
    assert_eq!(running.status, ExecutionStatus::Running);
    assert_eq!(json_of(running.input.as_deref()), input);
    assert_eq!(fixture.executions().await.len(), 1);
}

/// Step Functions answers a repeated start with the running execution only while it runs; once
/// it finished, the same name and input are refused too (AWS does the same). `execution_arn`
/// still names it, for a caller that takes `execution_exists` as "already started".
#[tokio::test]
async fn start_with_the_name_of_a_finished_execution_is_execution_exists() {
    let fixture = Fixture::new().await;
    let (arn, _token) = run_to_success(&fixture, &json!({})).await;
    let name = arn
        .rsplit(':')
        .next()
        .expect("an execution ARN ends with its name");

    assert_conflict(
        fixture
            .workflow
            .start(Machine::Onboarding, name, json!({ "clientId": name }))
            .await,
        "execution_exists",
    );
    assert_eq!(fixture.executions().await.len(), 1);
    assert_eq!(
        fixture.workflow.execution_arn(Machine::Onboarding, name),
        Ok(arn)
    );
}

#[tokio::test]
async fn a_machine_without_an_arn_is_an_internal_error() {
    let workflow =
        StepFunctionsWorkflow::new(brokeros_tests::moto::sfn_client().await, Default::default());
    match workflow
        .start(Machine::Onboarding, &unique("client"), json!({}))
        .await
    {
        Err(Error::Internal(_)) => {}
        other => panic!("expected Internal, got {other:?}"),
    }
    match workflow.execution_arn(Machine::Onboarding, "any") {
        Err(Error::Internal(_)) => {}
        other => panic!("expected Internal, got {other:?}"),
    }
}
