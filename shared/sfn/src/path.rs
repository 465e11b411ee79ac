//! JSONPath as the Amazon States Language uses it: paths (`InputPath`, `OutputPath`,
//! `ItemsPath`, `*Path` fields, `.$` keys) and reference paths (`ResultPath`, Choice
//! `Variable`), `$` for the state input and `$$` for the context object.
use serde_json::Value;

use crate::EvalError;

/// Checks a path's syntax when a definition is loaded. The message says what is wrong.
pub fn validate_path(path: &str) -> Result<(), String> {
    let _ = path;
    todo!("expressions")
}

/// Checks a reference path (a path that identifies a single node: no wildcards, filters,
/// slices or recursive descent).
pub fn validate_reference_path(path: &str) -> Result<(), String> {
    let _ = path;
    todo!("expressions")
}

/// Selects with a path: `$...` from `input`, `$$...` from `context`. A definite path yields
/// the node; an indefinite one (wildcard, filter, slice, recursive descent) yields an array of
/// the matches. A path that matches nothing is an error (`States.Runtime` with the path in
/// the cause; callers re-label it, e.g. `States.ParameterPathFailure` inside Parameters).
pub fn select(path: &str, input: &Value, context: &Value) -> Result<Value, EvalError> {
    let _ = (path, input, context);
    todo!("expressions")
}

/// Places `result` into `input` at the reference path `result_path` (creating objects on the
/// way) and returns the new state output. `$` replaces the input whole.
/// Fails with `States.ResultPathMatchFailure` when the path cannot be placed.
pub fn apply_result_path(input: Value, result_path: &str, result: Value) -> Result<Value, EvalError> {
    let _ = (input, result_path, result);
    todo!("expressions")
}
