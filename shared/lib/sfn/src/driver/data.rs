//! A state's input and output processing: InputPath, ResultPath, OutputPath, and the values
//! a state reads from its input (`*Path` numbers, a Fail state's error and cause).

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::definition::{DataPath, FailText, ResultPath, Seconds};
use crate::task::TaskFailure;
use crate::{intrinsics, path};

pub(super) fn select_data<'a>(
    path: &DataPath,
    input: &'a Value,
    context: &Value,
) -> Result<Cow<'a, Value>, TaskFailure> {
    match path {
        DataPath::Whole => Ok(Cow::Borrowed(input)),
        DataPath::Empty => Ok(Cow::Owned(Value::Object(Map::new()))),
        DataPath::Path(p) => Ok(Cow::Owned(path::select(p, input, context)?)),
    }
}

pub(super) fn select_owned(
    path: &DataPath,
    input: Value,
    context: &Value,
) -> Result<Value, TaskFailure> {
    match path {
        DataPath::Whole => Ok(input),
        DataPath::Empty => Ok(Value::Object(Map::new())),
        DataPath::Path(p) => Ok(path::select(p, &input, context)?),
    }
}

pub(super) fn place_result(
    input: Value,
    result_path: &ResultPath,
    result: Value,
) -> Result<Value, TaskFailure> {
    match result_path {
        ResultPath::Replace => Ok(result),
        ResultPath::Discard => Ok(input),
        ResultPath::At(p) => Ok(path::apply_result_path(input, p, result)?),
    }
}

pub(super) fn runtime_failure(cause: impl Into<String>) -> TaskFailure {
    TaskFailure::new("States.Runtime", cause)
}

/// A `*Path` number from the state input.
pub(super) fn resolve_number(
    value: Option<&Seconds>,
    input: &Value,
    context: &Value,
    field: &str,
) -> Result<Option<u64>, TaskFailure> {
    match value {
        None => Ok(None),
        Some(Seconds::Fixed(n)) => Ok(Some(*n)),
        Some(Seconds::Path(p)) => match path::select(p, input, context)?.as_u64() {
            Some(n) => Ok(Some(n)),
            None => Err(runtime_failure(format!(
                "{field} \"{p}\" does not select a non-negative integer"
            ))),
        },
    }
}

pub(super) fn fail_text(
    text: &FailText,
    input: &Value,
    context: &Value,
) -> Result<String, TaskFailure> {
    match text {
        FailText::Absent => Ok(String::new()),
        FailText::Literal(text) => Ok(text.clone()),
        FailText::Expression(expression) => {
            let value = if intrinsics::is_intrinsic(expression) {
                intrinsics::evaluate(expression, input, context)?
            } else {
                path::select(expression, input, context)?
            };
            match value {
                Value::String(text) => Ok(text),
                other => Err(runtime_failure(format!(
                    "\"{expression}\" selects {other}, not a string"
                ))),
            }
        }
    }
}
