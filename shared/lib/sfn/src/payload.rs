//! Payload templates: `Parameters`, `ResultSelector`, `ItemSelector`. A key ending in `.$`
//! takes its value from a path or an intrinsic function call; other values are copied as they
//! are, nested objects rendered recursively.
use serde_json::{Map, Value};

use crate::error::EvalError;
use crate::{intrinsics, path};

const DYNAMIC_SUFFIX: &str = ".$";

/// Step Functions' quota on an execution's input, a state's input and output and a task's
/// result, as UTF-8 JSON text (256 KiB). The local engine enforces it, so a workflow that
/// runs on a laptop does not fail in AWS on a payload that grew.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

/// The error a payload over [`MAX_PAYLOAD_BYTES`] fails its state with: terminal, neither
/// retried nor caught by `States.ALL`.
pub const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";

/// Checks `value` against [`MAX_PAYLOAD_BYTES`]; `what` names it in the cause ("the output
/// of state 'Fund'"), built only when over. Counts the JSON text without building it.
pub fn within_quota(value: &Value, what: impl FnOnce() -> String) -> Result<(), EvalError> {
    size_within_quota(json_size(value), what)
}

/// [`within_quota`] for a payload whose JSON text is `size` bytes.
pub fn size_within_quota(size: usize, what: impl FnOnce() -> String) -> Result<(), EvalError> {
    if size > MAX_PAYLOAD_BYTES {
        return Err(EvalError::new(
            DATA_LIMIT_EXCEEDED,
            format!(
                "{} is {size} bytes, over the {MAX_PAYLOAD_BYTES}-byte payload quota",
                what()
            ),
        ));
    }
    Ok(())
}

fn json_size(value: &Value) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    serde_json::to_writer(&mut counter, value).expect("a JSON value serializes");
    counter.0
}

/// Checks every `.$` value of a template (path or intrinsic syntax) at load time.
pub fn validate_template(template: &Value) -> Result<(), String> {
    validate_at(template, "")
}

/// Renders a template against the effective input and the context object. Path failures are
/// `States.ParameterPathFailure`, intrinsic failures `States.IntrinsicFailure`.
pub fn render(template: &Value, input: &Value, context: &Value) -> Result<Value, EvalError> {
    match template {
        Value::Object(fields) => {
            let mut rendered = Map::new();
            for (key, value) in fields {
                match key.strip_suffix(DYNAMIC_SUFFIX) {
                    Some(name) => {
                        rendered
                            .insert(name.to_string(), dynamic_value(key, value, input, context)?);
                    }
                    None => {
                        rendered.insert(key.clone(), render(value, input, context)?);
                    }
                }
            }
            Ok(Value::Object(rendered))
        }
        Value::Array(items) => items
            .iter()
            .map(|item| render(item, input, context))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        constant => Ok(constant.clone()),
    }
}

fn dynamic_value(
    key: &str,
    value: &Value,
    input: &Value,
    context: &Value,
) -> Result<Value, EvalError> {
    let Value::String(expression) = value else {
        return Err(EvalError::new(
            "States.Runtime",
            format!("The field '{key}' must hold a path or an intrinsic function call as a string"),
        ));
    };
    if intrinsics::is_intrinsic(expression) {
        intrinsics::evaluate(expression, input, context).map_err(|error| {
            EvalError::new(
                "States.IntrinsicFailure",
                format!("The field '{key}': {}", error.cause),
            )
        })
    } else {
        path::select(expression, input, context).map_err(|error| {
            EvalError::new(
                "States.ParameterPathFailure",
                format!("The field '{key}': {}", error.cause),
            )
        })
    }
}

/// `location` names where the value sits in the template (`a.b[2]`), for the message.
fn validate_at(template: &Value, location: &str) -> Result<(), String> {
    match template {
        Value::Object(fields) => {
            for (key, value) in fields {
                let field = if location.is_empty() {
                    key.clone()
                } else {
                    format!("{location}.{key}")
                };
                match key.strip_suffix(DYNAMIC_SUFFIX) {
                    Some("") => {
                        return Err(format!("the field '{field}' has no name before '.$'"));
                    }
                    Some(name) => {
                        if fields.contains_key(name) {
                            return Err(format!(
                                "the field '{name}' is given twice, as '{name}' and as '{key}'"
                            ));
                        }
                        validate_expression(&field, value)?;
                    }
                    None => validate_at(value, &field)?,
                }
            }
            Ok(())
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(index, item)| validate_at(item, &format!("{location}[{index}]"))),
        _ => Ok(()),
    }
}

fn validate_expression(field: &str, value: &Value) -> Result<(), String> {
    let Value::String(expression) = value else {
        return Err(format!(
            "the field '{field}' must hold a path or an intrinsic function call as a string, found {value}"
        ));
    };
    let checked = if intrinsics::is_intrinsic(expression) {
        intrinsics::validate(expression)
    } else {
        path::validate_path(expression)
    };
    checked.map_err(|problem| format!("the field '{field}': {problem}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn context() -> Value {
        json!({
            "Execution": { "Id": "exec-1", "StartTime": "2024-05-01T10:00:00Z" },
            "Map": { "Item": { "Index": 1, "Value": { "sku": "B" } } }
        })
    }

    #[test]
    fn spec_parameters_example() {
        let template = json!({
            "flagged": true,
            "parts": {
                "first.$": "$.vals[0]",
                "last3.$": "$.vals[-3:]"
            },
            "weekday.$": "$$.DayOfWeek",
            "formattedOutput.$": "States.Format('Today is {}', $$.DayOfWeek)"
        });
        let input = json!({ "flagged": 7, "vals": [0, 10, 20, 30, 40, 50] });
        let context = json!({ "DayOfWeek": "TUESDAY" });
        assert_eq!(validate_template(&template), Ok(()));
        assert_eq!(
            render(&template, &input, &context),
            Ok(json!({
                "flagged": true,
                "parts": { "first": 0, "last3": [30, 40, 50] },
                "weekday": "TUESDAY",
                "formattedOutput": "Today is TUESDAY"
            }))
        );
    }

    #[test]
    fn arrays_are_rendered_element_wise_and_constants_copied() {
        let template = json!({
            "orders": [
                { "id.$": "$.id", "kind": "limit" },
                [{ "at.$": "$$.Execution.StartTime" }],
                "plain",
                3
            ],
            "item.$": "$$.Map.Item.Value",
            "nothing": null
        });
        assert_eq!(validate_template(&template), Ok(()));
        assert_eq!(
            render(&template, &json!({ "id": "o-1" }), &context()),
            Ok(json!({
                "orders": [
                    { "id": "o-1", "kind": "limit" },
                    [{ "at": "2024-05-01T10:00:00Z" }],
                    "plain",
                    3
                ],
                "item": { "sku": "B" },
                "nothing": null
            }))
        );
    }

    #[test]
    fn a_template_that_is_not_an_object_is_copied() {
        assert_eq!(
            render(&json!("x.$"), &json!({}), &json!({})),
            Ok(json!("x.$"))
        );
        assert_eq!(
            render(&json!([1, "$.a"]), &json!({ "a": 2 }), &json!({})),
            Ok(json!([1, "$.a"]))
        );
    }

    #[test]
    fn path_failures_are_parameter_path_failures_naming_the_field() {
        let template = json!({ "outer": { "id.$": "$.missing" } });
        let error = render(&template, &json!({}), &context()).expect_err("missing path");
        assert_eq!(error.error, "States.ParameterPathFailure");
        assert!(error.cause.contains("'id.$'"), "{}", error.cause);
        assert!(error.cause.contains("'$.missing'"), "{}", error.cause);
    }

    #[test]
    fn intrinsic_failures_are_intrinsic_failures_naming_the_field() {
        let template = json!({ "n.$": "States.ArrayLength($.text)" });
        let error =
            render(&template, &json!({ "text": "abc" }), &context()).expect_err("not an array");
        assert_eq!(error.error, "States.IntrinsicFailure");
        assert!(error.cause.contains("'n.$'"), "{}", error.cause);
        assert!(error.cause.contains("must be an array"), "{}", error.cause);
        let missing = json!({ "n.$": "States.ArrayLength($.none)" });
        let error = render(&missing, &json!({}), &context()).expect_err("missing path");
        assert_eq!(error.error, "States.IntrinsicFailure");
    }

    #[test]
    fn a_dynamic_key_with_a_non_string_value_is_rejected() {
        let template = json!({ "a": { "b.$": 5 } });
        let message = validate_template(&template).expect_err("number");
        assert!(message.contains("'a.b.$'"), "{message}");
        let error = render(&template, &json!({}), &json!({})).expect_err("number");
        assert_eq!(error.error, "States.Runtime");
    }

    #[test]
    fn validation_finds_bad_expressions_anywhere_in_the_template() {
        for (template, expected) in [
            (json!({ "a.$": "$.x[" }), "the field 'a.$': invalid path"),
            (json!({ "a.$": "not a path" }), "must start with '$'"),
            (
                json!({ "list": [{}, { "x.$": "States.Nope()" }] }),
                "'list[1].x.$'",
            ),
            (
                json!({ "a.$": "States.Format('{}')" }),
                "1 placeholder(s) but 0 value(s)",
            ),
            (json!({ ".$": "$.a" }), "no name before '.$'"),
            (json!({ "a": 1, "a.$": "$.a" }), "given twice"),
        ] {
            let message = validate_template(&template).expect_err(&template.to_string());
            assert!(message.contains(expected), "{template}: {message}");
        }
        assert_eq!(validate_template(&json!("anything")), Ok(()));
    }
}
