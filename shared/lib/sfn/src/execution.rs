//! What the engine's API answers: execution descriptions, statuses, ARNs and errors named as
//! the Step Functions API names them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

/// The region and account of local ARNs.
pub const REGION: &str = "local";
pub const ACCOUNT: &str = "000000000000";
/// `$$.Execution.RoleArn` of every local execution.
pub const ROLE_ARN: &str = "arn:aws:iam::000000000000:role/brokeros-local-sfn";

pub fn state_machine_arn(name: &str) -> String {
    format!("arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}")
}

pub fn execution_arn(machine: &str, execution: &str) -> String {
    format!("arn:aws:states:{REGION}:{ACCOUNT}:execution:{machine}:{execution}")
}

/// The state machine name in a state machine ARN.
pub(crate) fn machine_name_of(state_machine_arn: &str) -> &str {
    state_machine_arn
        .rsplit_once(":stateMachine:")
        .map_or(state_machine_arn, |(_, name)| name)
}

/// Names of state machines and executions: 1 to 80 characters, none of them blank, a control
/// character or one of ``<>{}[]?*"#%\^|~`$&,;:/`` (AWS's rule, which keeps ARNs parseable).
pub fn validate_name(name: &str) -> Result<(), EngineError> {
    let count = name.chars().count();
    if count == 0 || count > 80 {
        return Err(EngineError::InvalidName(format!(
            "\"{name}\": a name has 1 to 80 characters"
        )));
    }
    if let Some(c) = name
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(*c))
    {
        return Err(EngineError::InvalidName(format!(
            "\"{name}\": the character {c:?} is not allowed in a name"
        )));
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

impl ExecutionStatus {
    pub const ALL: [ExecutionStatus; 5] = [
        ExecutionStatus::Running,
        ExecutionStatus::Succeeded,
        ExecutionStatus::Failed,
        ExecutionStatus::TimedOut,
        ExecutionStatus::Aborted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Running => "RUNNING",
            ExecutionStatus::Succeeded => "SUCCEEDED",
            ExecutionStatus::Failed => "FAILED",
            ExecutionStatus::TimedOut => "TIMED_OUT",
            ExecutionStatus::Aborted => "ABORTED",
        }
    }
}

impl fmt::Display for ExecutionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ExecutionStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<ExecutionStatus, String> {
        ExecutionStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| format!("unknown execution status \"{s}\""))
    }
}

/// `DescribeExecution`'s answer, plus the number of states the execution has entered so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionDescription {
    pub execution_arn: String,
    pub state_machine_arn: String,
    pub name: String,
    pub status: ExecutionStatus,
    pub input: Value,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub start_date: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub stop_date: Option<OffsetDateTime>,
    /// States entered (each `*StateEntered` event), the unit Step Functions bills and the
    /// benchmark counts.
    pub state_transitions: u64,
}

/// Errors of the engine's API, named like the Step Functions API's (see [`EngineError::code`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("state machine does not exist: {0}")]
    StateMachineDoesNotExist(String),
    #[error("execution does not exist: {0}")]
    ExecutionDoesNotExist(String),
    #[error("an execution with this name exists with another input or has finished: {0}")]
    ExecutionAlreadyExists(String),
    #[error("invalid name: {0}")]
    InvalidName(String),
    #[error("invalid execution input: {0}")]
    InvalidExecutionInput(String),
    #[error("invalid task output: {0}")]
    InvalidOutput(String),
    #[error("no task waits on this token: {0}")]
    TaskDoesNotExist(String),
    #[error("invalid task token: {0}")]
    InvalidToken(String),
    #[error("the task of this token timed out: {0}")]
    TaskTimedOut(String),
    #[error("execution storage failed: {0}")]
    Storage(String),
}

impl EngineError {
    /// The Step Functions API error code.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::StateMachineDoesNotExist(_) => "StateMachineDoesNotExist",
            EngineError::ExecutionDoesNotExist(_) => "ExecutionDoesNotExist",
            EngineError::ExecutionAlreadyExists(_) => "ExecutionAlreadyExists",
            EngineError::InvalidName(_) => "InvalidName",
            EngineError::InvalidExecutionInput(_) => "InvalidExecutionInput",
            EngineError::InvalidOutput(_) => "InvalidOutput",
            EngineError::TaskDoesNotExist(_) => "TaskDoesNotExist",
            EngineError::InvalidToken(_) => "InvalidToken",
            EngineError::TaskTimedOut(_) => "TaskTimedOut",
            EngineError::Storage(_) => "ServiceUnavailable",
        }
    }
}
