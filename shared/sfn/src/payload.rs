//! Payload templates: `Parameters`, `ResultSelector`, `ItemSelector`. A key ending in `.$`
//! takes its value from a path or an intrinsic function call; other values are copied as they
//! are, nested objects rendered recursively.
use serde_json::Value;

use crate::EvalError;

/// Checks every `.$` value of a template (path or intrinsic syntax) at load time.
pub fn validate_template(template: &Value) -> Result<(), String> {
    let _ = template;
    todo!("expressions")
}

/// Renders a template against the effective input and the context object. Path failures are
/// `States.ParameterPathFailure`, intrinsic failures `States.IntrinsicFailure`.
pub fn render(template: &Value, input: &Value, context: &Value) -> Result<Value, EvalError> {
    let _ = (template, input, context);
    todo!("expressions")
}
