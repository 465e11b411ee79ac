//! The checks a definition passes besides its shape: which fields each state type allows,
//! the `States.` error names, reference paths, and the order of catch-all retriers and
//! catchers.

use serde_json::{Map, Value};

use super::model::{DefinitionError, error_at};
use crate::path;

/// The error names the language defines; a `States.` name outside this list is a typo that
/// would never match.
pub(super) const STATES_ERRORS: &[&str] = &[
    "States.ALL",
    "States.BranchFailed",
    "States.DataLimitExceeded",
    "States.ExceedToleratedFailureThreshold",
    "States.HeartbeatTimeout",
    "States.Http.Socket",
    "States.IntrinsicFailure",
    "States.ItemReaderFailed",
    "States.NoChoiceMatched",
    "States.ParameterPathFailure",
    "States.Permissions",
    "States.QueryEvaluationError",
    "States.ResultPathMatchFailure",
    "States.ResultWriterFailed",
    "States.Runtime",
    "States.TaskFailed",
    "States.Timeout",
];

/// Every field some state type has; a field in this list but not allowed for the type gets a
/// clearer message than an unknown one.
pub(super) const STATE_FIELDS: &[&str] = &[
    "Type",
    "Comment",
    "QueryLanguage",
    "Next",
    "End",
    "InputPath",
    "OutputPath",
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "Result",
    "Retry",
    "Catch",
    "Resource",
    "TimeoutSeconds",
    "TimeoutSecondsPath",
    "HeartbeatSeconds",
    "HeartbeatSecondsPath",
    "Credentials",
    "Choices",
    "Default",
    "Seconds",
    "SecondsPath",
    "Timestamp",
    "TimestampPath",
    "Error",
    "ErrorPath",
    "Cause",
    "CausePath",
    "Branches",
    "Iterator",
    "ItemProcessor",
    "ItemsPath",
    "ItemSelector",
    "MaxConcurrency",
    "MaxConcurrencyPath",
    "ItemReader",
    "ItemBatcher",
    "ResultWriter",
    "ToleratedFailureCount",
    "ToleratedFailureCountPath",
    "ToleratedFailurePercentage",
    "ToleratedFailurePercentagePath",
    "Label",
    "Arguments",
    "Output",
    "Assign",
];

pub(super) const COMMON: &[&str] = &["Type", "Comment", "QueryLanguage"];

pub(super) fn allowed_fields(type_name: &str) -> &'static [&'static str] {
    match type_name {
        "Pass" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Parameters",
            "ResultPath",
            "Result",
        ],
        "Task" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "Resource",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
            "Credentials",
        ],
        "Choice" => &["InputPath", "OutputPath", "Choices", "Default"],
        "Wait" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Seconds",
            "SecondsPath",
            "Timestamp",
            "TimestampPath",
        ],
        "Succeed" => &["InputPath", "OutputPath"],
        "Fail" => &["Error", "ErrorPath", "Cause", "CausePath"],
        "Parallel" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "Branches",
        ],
        "Map" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "Iterator",
            "ItemProcessor",
            "ItemsPath",
            "ItemSelector",
            "MaxConcurrency",
            "MaxConcurrencyPath",
        ],
        _ => &[],
    }
}

pub(super) fn check_query_language(
    object: &Map<String, Value>,
    state: Option<&str>,
) -> Result<(), DefinitionError> {
    match object.get("QueryLanguage") {
        None => Ok(()),
        Some(Value::String(language)) if language == "JSONPath" => Ok(()),
        Some(other) => Err(error_at(
            state,
            format!("QueryLanguage {other} is not supported (only \"JSONPath\")"),
        )),
    }
}

pub(super) fn check_scope_fields(
    object: &Map<String, Value>,
    allowed: &[&str],
    state: &str,
) -> Result<(), DefinitionError> {
    match object.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(key) => Err(DefinitionError::in_state(
            state,
            format!("unknown field \"{key}\" in a branch or item processor"),
        )),
        None => Ok(()),
    }
}

pub(super) fn reference_path(path: &str, field: &str, state: &str) -> Result<(), DefinitionError> {
    path::validate_reference_path(path).map_err(|message| {
        DefinitionError::in_state(state, format!("{field} \"{path}\": {message}"))
    })
}

/// `States.ALL` catches everything, so a retrier or catcher after it could never apply.
pub(super) fn check_all_is_last(
    lists: &[&[String]],
    field: &str,
    state: &str,
) -> Result<(), DefinitionError> {
    let last = lists.len().saturating_sub(1);
    match lists
        .iter()
        .position(|names| names.iter().any(|n| n == "States.ALL"))
    {
        Some(i) if i != last => Err(DefinitionError::in_state(
            state,
            format!("the {field} entry with States.ALL must be the last one"),
        )),
        _ => Ok(()),
    }
}
