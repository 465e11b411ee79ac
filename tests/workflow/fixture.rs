//! A fresh callback workflow in this process's moto per test: an SQS queue, and a state machine
//! whose one Task sends its task token and input to that queue and waits for the token
//! (`sqs:sendMessage.waitForTaskToken`), mapped to `Machine::Onboarding` in the adapter under
//! test.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent};
use brokeros_aws::workflow::StepFunctionsWorkflow;
use brokeros_kernel::workflow::Machine;
use brokeros_tests::moto;
use serde_json::{Value, json};

/// How long a started execution may take to send its token, or an answered one to finish.
const DEADLINE: Duration = Duration::from_secs(30);

/// The callback task's timeout and heartbeat interval, both longer than any test. The task has
/// `HeartbeatSeconds` because moto refuses `SendTaskHeartbeat` (as `InvalidToken`) for a task
/// without it.
const TASK_TIMEOUT_SECONDS: i64 = 3600;
const HEARTBEAT_SECONDS: i64 = 600;

pub struct Fixture {
    pub sfn: aws_sdk_sfn::Client,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    pub machine_arn: String,
    /// The adapter under test, with `Machine::Onboarding` mapped to `machine_arn`.
    pub workflow: StepFunctionsWorkflow,
}

/// What the waiting task sent to the queue.
#[derive(Debug)]
pub struct Task {
    pub token: String,
    pub input: Value,
}

/// A name no other test uses (state machine, queue, execution names: 1-80 characters).
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

impl Fixture {
    pub async fn new() -> Self {
        let sfn = moto::sfn_client().await;
        let sqs = moto::sqs_client().await;
        let queue = unique("tasks");
        let queue_url = sqs
            .create_queue()
            .queue_name(&queue)
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "CreateQueue {queue}: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(&e)
                )
            })
            .queue_url
            .expect("CreateQueue answers the queue's URL");
        let definition = json!({
            "Comment": "One callback task: the token and the input go to an SQS queue.",
            "StartAt": "AwaitDecision",
            "States": {
                "AwaitDecision": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                    "Parameters": {
                        "QueueUrl": queue_url,
                        "MessageBody": {
                            "token.$": "$$.Task.Token",
                            "input.$": "$"
                        }
                    },
                    "TimeoutSeconds": TASK_TIMEOUT_SECONDS,
                    "HeartbeatSeconds": HEARTBEAT_SECONDS,
                    "End": true
                }
            }
        });
        let name = unique("onboarding");
        let machine_arn = sfn
            .create_state_machine()
            .name(&name)
            .definition(definition.to_string())
            .role_arn("arn:aws:iam::123456789012:role/test")
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "CreateStateMachine {name}: {}",
                    aws_sdk_sfn::error::DisplayErrorContext(&e)
                )
            })
            .state_machine_arn;
        let workflow = StepFunctionsWorkflow::new(
            sfn.clone(),
            HashMap::from([(Machine::Onboarding, machine_arn.clone())]),
        );
        Fixture {
            sfn,
            sqs,
            queue_url,
            machine_arn,
            workflow,
        }
    }

    /// The next task the machine sent to the queue (removed from it), waiting for it up to
    /// [`DEADLINE`].
    pub async fn next_task(&self) -> Task {
        let started = Instant::now();
        loop {
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(1)
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "ReceiveMessage: {}",
                        aws_sdk_sqs::error::DisplayErrorContext(&e)
                    )
                });
            if let Some(message) = received.messages.unwrap_or_default().into_iter().next() {
                let receipt = message
                    .receipt_handle
                    .expect("a message has a receipt handle");
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(receipt)
                    .send()
                    .await
                    .unwrap_or_else(|e| {
                        panic!(
                            "DeleteMessage: {}",
                            aws_sdk_sqs::error::DisplayErrorContext(&e)
                        )
                    });
                let body = message.body.expect("the task's message has a body");
                let mut body: Value = serde_json::from_str(&body)
                    .unwrap_or_else(|e| panic!("the task's message is not JSON ({e}): {body}"));
                let token = body["token"]
                    .as_str()
                    .unwrap_or_else(|| panic!("no token in the task's message: {body}"))
                    .to_string();
                return Task {
                    token,
                    input: body["input"].take(),
                };
            }
            assert!(
                started.elapsed() < DEADLINE,
                "no task token reached the queue within {} s (executions: {:?}); \
                 does moto run executions (its executor turned on by brokeros_tests::moto)?",
                DEADLINE.as_secs(),
                self.executions().await
            );
        }
    }

    pub async fn describe(&self, execution_arn: &str) -> DescribeExecutionOutput {
        self.sfn
            .describe_execution()
            .execution_arn(execution_arn)
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "DescribeExecution {execution_arn}: {}",
                    aws_sdk_sfn::error::DisplayErrorContext(&e)
                )
            })
    }

    /// The execution once it left RUNNING, waiting for that up to [`DEADLINE`].
    pub async fn finished(&self, execution_arn: &str) -> DescribeExecutionOutput {
        let started = Instant::now();
        loop {
            let execution = self.describe(execution_arn).await;
            if execution.status != ExecutionStatus::Running {
                return execution;
            }
            assert!(
                started.elapsed() < DEADLINE,
                "{execution_arn} still RUNNING after {} s; history: {:?}",
                DEADLINE.as_secs(),
                self.history(execution_arn).await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn history(&self, execution_arn: &str) -> Vec<HistoryEvent> {
        self.sfn
            .get_execution_history()
            .execution_arn(execution_arn)
            .max_results(1000)
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "GetExecutionHistory {execution_arn}: {}",
                    aws_sdk_sfn::error::DisplayErrorContext(&e)
                )
            })
            .events
    }

    /// `(name, status)` of every execution of the machine.
    pub async fn executions(&self) -> Vec<(String, ExecutionStatus)> {
        self.sfn
            .list_executions()
            .state_machine_arn(&self.machine_arn)
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "ListExecutions: {}",
                    aws_sdk_sfn::error::DisplayErrorContext(&e)
                )
            })
            .executions
            .into_iter()
            .map(|e| (e.name, e.status))
            .collect()
    }
}

/// What a finished (or unchanged) execution shows: status, output, error, stop date, and how
/// many events its history holds.
pub async fn snapshot(fixture: &Fixture, execution_arn: &str) -> String {
    let execution = fixture.describe(execution_arn).await;
    format!(
        "status={:?} output={:?} error={:?} stop_date={:?} events={}",
        execution.status,
        execution.output,
        execution.error,
        execution.stop_date,
        fixture.history(execution_arn).await.len()
    )
}
