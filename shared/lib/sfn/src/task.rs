//! Task handlers: the in-process stand-ins for Lambda functions, registered by function name.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use crate::error::EvalError;

/// One invocation of a function by a Task state.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRequest {
    /// The function's name (an ARN's `NAME`, without qualifier).
    pub function: String,
    /// The event the function receives (`Payload` of `lambda:invoke`, or the state's
    /// effective input for a function ARN resource).
    pub payload: Value,
    /// Present for `.waitForTaskToken` tasks: the token `send_task_success` answers.
    pub task_token: Option<String>,
    pub execution_arn: String,
    pub state_name: String,
}

/// A failed task. `error` is the name Retry and Catch match (a Lambda's `errorType`, or a
/// `States.*` name); `cause` says what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFailure {
    pub error: String,
    pub cause: String,
}

impl TaskFailure {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> TaskFailure {
        TaskFailure {
            error: error.into(),
            cause: cause.into(),
        }
    }
}

impl From<EvalError> for TaskFailure {
    fn from(e: EvalError) -> TaskFailure {
        TaskFailure {
            error: e.error.to_string(),
            cause: e.cause,
        }
    }
}

#[async_trait]
pub trait TaskHandler: Send + Sync {
    async fn invoke(&self, request: TaskRequest) -> Result<Value, TaskFailure>;
}

struct FnHandler<F>(F);

#[async_trait]
impl<F, Fut> TaskHandler for FnHandler<F>
where
    F: Fn(TaskRequest) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Value, TaskFailure>> + Send,
{
    async fn invoke(&self, request: TaskRequest) -> Result<Value, TaskFailure> {
        (self.0)(request).await
    }
}

/// A handler from an async closure.
pub fn handler_fn<F, Fut>(f: F) -> Arc<dyn TaskHandler>
where
    F: Fn(TaskRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, TaskFailure>> + Send + 'static,
{
    Arc::new(FnHandler(f))
}

/// The function name in a `FunctionName` or Lambda ARN: `arn:aws:lambda:REGION:ACCOUNT:
/// function:NAME[:QUALIFIER]`, `ACCOUNT:function:NAME[:QUALIFIER]` or `NAME[:QUALIFIER]`.
pub fn lambda_function_name(function: &str) -> Option<&str> {
    let name = match function.split_once(":function:") {
        Some((_, rest)) => rest,
        None if function.starts_with("arn:") => return None,
        None => function,
    };
    let name = name.split(':').next().unwrap_or_default();
    let valid = !name.is_empty()
        && name.len() <= 140
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    valid.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names_come_from_arns_partial_arns_and_names() {
        let cases = [
            (
                "arn:aws:lambda:eu-west-1:123456789012:function:kyc-check",
                Some("kyc-check"),
            ),
            (
                "arn:aws:lambda:eu-west-1:123456789012:function:kyc:$LATEST",
                Some("kyc"),
            ),
            ("123456789012:function:notify:live", Some("notify")),
            ("notify", Some("notify")),
            ("notify:3", Some("notify")),
            ("arn:aws:sns:eu-west-1:123456789012:topic", None),
            ("", None),
            ("${KycFunctionArn}", None),
        ];
        for (input, expected) in cases {
            assert_eq!(lambda_function_name(input), expected, "{input}");
        }
    }
}
