//! The intrinsic functions (`States.Format`, `States.StringToJson`, `States.Array`, ...):
//! parsing of the call syntax (nested calls, string literals with escapes, numbers, booleans,
//! null, paths as arguments) and evaluation.
use serde_json::Value;

use crate::EvalError;

/// True when a `.$` value is an intrinsic call rather than a path.
pub fn is_intrinsic(expression: &str) -> bool {
    let _ = expression;
    todo!("expressions")
}

/// Checks a call's syntax, function names and argument counts at load time.
pub fn validate(expression: &str) -> Result<(), String> {
    let _ = expression;
    todo!("expressions")
}

/// Evaluates a call. Failures are `States.IntrinsicFailure`.
pub fn evaluate(expression: &str, input: &Value, context: &Value) -> Result<Value, EvalError> {
    let _ = (expression, input, context);
    todo!("expressions")
}
