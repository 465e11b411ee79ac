use std::fmt;

/// An expression failed while an execution ran. `error` is the States error name the
/// specification gives for the failure (`States.Runtime`, `States.IntrinsicFailure`,
/// `States.ParameterPathFailure`, `States.ResultPathMatchFailure`, ...), so Retry and Catch
/// can match it; `cause` says what went wrong in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalError {
    pub error: &'static str,
    pub cause: String,
}

impl EvalError {
    pub fn new(error: &'static str, cause: impl Into<String>) -> EvalError {
        EvalError {
            error,
            cause: cause.into(),
        }
    }
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error, self.cause)
    }
}

impl std::error::Error for EvalError {}
