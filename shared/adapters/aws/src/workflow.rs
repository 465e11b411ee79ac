//! The workflow port on AWS Step Functions.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_sfn::error::ProvideErrorMetadata;
use brokeros_kernel::workflow::{Machine, Workflow};
use brokeros_kernel::{Error, Result};
use serde_json::Value;

pub struct StepFunctionsWorkflow {
    client: aws_sdk_sfn::Client,
    machines: HashMap<Machine, String>,
}

impl StepFunctionsWorkflow {
    /// `machines` maps each machine to its state machine ARN (from the template's outputs).
    pub fn new(client: aws_sdk_sfn::Client, machines: HashMap<Machine, String>) -> Self {
        StepFunctionsWorkflow { client, machines }
    }

    /// ARNs from `BROKEROS_<NAME>_STATE_MACHINE_ARN` (the name's dashes as underscores); machines without one cannot be started by
    /// this function (its role could not start them either).
    pub fn from_env(client: aws_sdk_sfn::Client) -> Self {
        let machines = Machine::ALL
            .into_iter()
            .filter_map(|m| {
                // `commission-payout` → `BROKEROS_COMMISSION_PAYOUT_STATE_MACHINE_ARN`.
                let name = m.name().to_uppercase().replace('-', "_");
                let var = format!("BROKEROS_{name}_STATE_MACHINE_ARN");
                std::env::var(var).ok().map(|arn| (m, arn))
            })
            .collect();
        StepFunctionsWorkflow::new(client, machines)
    }
}

/// Step Functions' refusals for tokens are the caller's problem (a 4xx); anything else is the
/// service's.
fn sfn_error<E: ProvideErrorMetadata + std::fmt::Display>(e: E) -> Error {
    match e.code() {
        Some("TaskDoesNotExist") | Some("TaskTimedOut") | Some("InvalidToken") => Error::Conflict {
            code: "task_not_waiting",
            message: "no task is waiting on this token (unknown, answered or timed out)"
                .to_string(),
        },
        Some("ExecutionAlreadyExists") => Error::Conflict {
            code: "execution_exists",
            message: "an execution with this name exists (finished, or running with another input)"
                .to_string(),
        },
        // Permanent: the configuration or the request is wrong, and retrying cannot help.
        Some("StateMachineDoesNotExist")
        | Some("StateMachineDeleting")
        | Some("InvalidArn")
        | Some("InvalidName")
        | Some("InvalidExecutionInput")
        | Some("InvalidOutput")
        | Some("ValidationException") => Error::Internal(format!("step functions: {e}")),
        _ => Error::Unavailable(format!("step functions: {e}")),
    }
}

#[async_trait]
impl Workflow for StepFunctionsWorkflow {
    async fn start(&self, machine: Machine, execution_name: &str, input: Value) -> Result<String> {
        let arn = self.machines.get(&machine).ok_or_else(|| {
            Error::Internal(format!(
                "no state machine ARN configured for {}",
                machine.name()
            ))
        })?;
        let started = self
            .client
            .start_execution()
            .state_machine_arn(arn)
            .name(execution_name)
            .input(input.to_string())
            .send()
            .await
            .map_err(sfn_error)?;
        Ok(started.execution_arn().to_string())
    }

    fn execution_arn(&self, machine: Machine, execution_name: &str) -> Result<String> {
        let arn = self.machines.get(&machine).ok_or_else(|| {
            Error::Internal(format!(
                "no state machine ARN configured for {}",
                machine.name()
            ))
        })?;
        // arn:aws:states:REGION:ACCOUNT:stateMachine:NAME → …:execution:NAME:EXECUTION
        Ok(format!(
            "{}:{execution_name}",
            arn.replacen(":stateMachine:", ":execution:", 1)
        ))
    }

    async fn task_success(&self, token: &str, output: Value) -> Result<()> {
        self.client
            .send_task_success()
            .task_token(token)
            .output(output.to_string())
            .send()
            .await
            .map_err(sfn_error)?;
        Ok(())
    }

    async fn task_failure(&self, token: &str, error: &str, cause: &str) -> Result<()> {
        self.client
            .send_task_failure()
            .task_token(token)
            .error(error)
            .cause(cause)
            .send()
            .await
            .map_err(sfn_error)?;
        Ok(())
    }

    async fn task_heartbeat(&self, token: &str) -> Result<()> {
        self.client
            .send_task_heartbeat()
            .task_token(token)
            .send()
            .await
            .map_err(sfn_error)?;
        Ok(())
    }
}
