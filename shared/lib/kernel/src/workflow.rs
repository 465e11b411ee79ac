//! The workflow port: how use cases start governed workflows and answer the tasks a workflow
//! waits on. In AWS the adapter calls Step Functions (`StartExecution`, `SendTaskSuccess`,
//! `SendTaskFailure`, `SendTaskHeartbeat`); locally the same calls go to the embedded engine.

use crate::{Error, Result};
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The state machines use cases start, by the name of their file in `statemachines/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Machine {
    Onboarding,
    Deposit,
    Withdrawal,
    CommissionPayout,
    ContestScoring,
    PammRollover,
}

impl Machine {
    pub const ALL: [Machine; 6] = [
        Machine::Onboarding,
        Machine::Deposit,
        Machine::Withdrawal,
        Machine::CommissionPayout,
        Machine::ContestScoring,
        Machine::PammRollover,
    ];

    /// The definition's file stem in `statemachines/` and its local machine name.
    pub fn name(self) -> &'static str {
        match self {
            Machine::Onboarding => "onboarding",
            Machine::Deposit => "deposit",
            Machine::Withdrawal => "withdrawal",
            Machine::CommissionPayout => "commission-payout",
            Machine::ContestScoring => "contest-scoring",
            Machine::PammRollover => "pamm-rollover",
        }
    }
}

#[async_trait]
pub trait Workflow: Send + Sync {
    /// Starts an execution named `execution_name` (unique per machine, so a retried start is
    /// harmless: the same name and input answer the running execution) and returns its ARN.
    async fn start(&self, machine: Machine, execution_name: &str, input: Value) -> Result<String>;

    /// The ARN the execution named `execution_name` has (or would have), without a call.
    fn execution_arn(&self, machine: Machine, execution_name: &str) -> Result<String>;

    /// Completes the task waiting on `token` with `output`. An unknown, expired or already
    /// answered token is refused and changes nothing.
    async fn task_success(&self, token: &str, output: Value) -> Result<()>;

    /// Fails the task waiting on `token` with a named error that the definition's `Catch`
    /// matches.
    async fn task_failure(&self, token: &str, error: &str, cause: &str) -> Result<()>;

    /// Tells the workflow a long task is still being worked on.
    async fn task_heartbeat(&self, token: &str) -> Result<()>;
}

/// The name a failed task reports for `e` (the Lambda `errorType`; the local engine's task
/// failure), which state machines match in `Retry`/`Catch`. This is the workflow contract,
/// shared by both runtimes and by the contexts that record a workflow failure: do not rename.
pub fn error_name(e: &Error) -> &'static str {
    match e {
        Error::Validation { .. } => "ValidationError",
        Error::Unauthenticated { .. } => "UnauthenticatedError",
        Error::Forbidden { .. } => "ForbiddenError",
        Error::NotFound { .. } => "NotFoundError",
        Error::Conflict { .. } => "ConflictError",
        Error::IdempotencyMismatch => "IdempotencyMismatchError",
        Error::PayloadTooLarge { .. } => "PayloadTooLargeError",
        Error::Unavailable(_) => "TransientError",
        Error::ProviderUnavailable { error_type, .. } => error_type,
        Error::Internal(_) => "InternalError",
    }
}

/// An answer to a task token as seen by a caller whose own state already records the outcome
/// it answered with: a token no longer waiting (answered by the other path, or timed out, so
/// the workflow's deadline handler takes over) is no error; anything else is.
pub fn unless_not_waiting(answered: Result<()>) -> Result<()> {
    match answered {
        Err(crate::Error::Conflict {
            code: "task_not_waiting",
            ..
        }) => Ok(()),
        other => other,
    }
}

/// A task's JSON payload as its input type; a bad payload names the field.
pub fn parse<T: DeserializeOwned>(payload: Value) -> Result<T> {
    serde_path_to_error::deserialize(payload)
        .map_err(|e| Error::from_serde("invalid_task_input", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_keeps_the_name_state_machines_match() {
        let cases = [
            (Error::invalid("bad", "field", "bad"), "ValidationError"),
            (Error::unauthenticated("who"), "UnauthenticatedError"),
            (Error::forbidden("no"), "ForbiddenError"),
            (
                Error::NotFound {
                    entity: "client",
                    id: "c-1".into(),
                },
                "NotFoundError",
            ),
            (Error::conflict("taken", "taken"), "ConflictError"),
            (Error::IdempotencyMismatch, "IdempotencyMismatchError"),
            (Error::PayloadTooLarge { limit: 1 }, "PayloadTooLargeError"),
            (Error::Unavailable("db".into()), "TransientError"),
            (
                Error::ProviderUnavailable {
                    error_type: "KycProviderUnavailable",
                    message: "down".into(),
                },
                "KycProviderUnavailable",
            ),
            (Error::Internal("bug".into()), "InternalError"),
        ];
        for (error, name) in cases {
            assert_eq!(error_name(&error), name, "{error:?}");
        }
    }
}
