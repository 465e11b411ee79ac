//! Definitions are checked before they run; every error names its state.

use std::collections::BTreeMap;

use brokeros_sfn::definition::{
    DataPath, Jitter, Resource, ResultPath, Seconds, StateKind, TOP_LEVEL,
};
use brokeros_sfn::{Definition, DefinitionError, substitute};
use serde_json::{Value, json};

fn error_of(document: Value) -> DefinitionError {
    match Definition::from_value(&document) {
        Ok(_) => panic!("accepted: {document}"),
        Err(e) => e,
    }
}

/// Asserts the error is in `state` and its message contains `fragment`.
fn assert_error(document: Value, state: Option<&str>, fragment: &str) {
    let error = error_of(document);
    assert_eq!(error.state.as_deref(), state, "{error}");
    assert!(error.message.contains(fragment), "{error}");
}

fn machine(states: Value) -> Value {
    json!({"StartAt": "A", "States": states})
}

const INVOKE: &str = "arn:aws:states:::lambda:invoke";

#[test]
fn display_names_the_state() {
    let error = error_of(machine(json!({"A": {"Type": "Pass", "Next": "B"}})));
    assert_eq!(
        error.to_string(),
        "state \"A\": Next target \"B\" does not exist"
    );
}

#[test]
fn start_at_must_name_a_state() {
    assert_error(
        json!({"StartAt": "Nowhere", "States": {"A": {"Type": "Succeed"}}}),
        None,
        "StartAt \"Nowhere\" does not exist",
    );
}

#[test]
fn next_must_name_a_state() {
    assert_error(
        machine(json!({"A": {"Type": "Pass", "Next": "Missing"}})),
        Some("A"),
        "Next target \"Missing\" does not exist",
    );
}

#[test]
fn choice_default_must_name_a_state() {
    assert_error(
        machine(json!({
            "A": {"Type": "Choice", "Default": "Missing",
                  "Choices": [{"Variable": "$.x", "IsPresent": true, "Next": "B"}]},
            "B": {"Type": "Succeed"}
        })),
        Some("A"),
        "Default target \"Missing\" does not exist",
    );
}

#[test]
fn choice_rule_next_must_name_a_state() {
    assert_error(
        machine(json!({
            "A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": true, "Next": "Missing"}]}
        })),
        Some("A"),
        "Choice Next target \"Missing\" does not exist",
    );
}

#[test]
fn catch_next_must_name_a_state() {
    assert_error(
        machine(json!({
            "A": {"Type": "Task", "Resource": INVOKE,
                  "Parameters": {"FunctionName": "f"},
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Missing"}],
                  "End": true}
        })),
        Some("A"),
        "Catch Next target \"Missing\" does not exist",
    );
}

#[test]
fn a_branch_cannot_jump_out_of_itself() {
    assert_error(
        machine(json!({
            "A": {"Type": "Parallel", "End": true, "Branches": [
                {"StartAt": "Inner", "States": {"Inner": {"Type": "Pass", "Next": "Outer"}}}
            ]},
            "Outer": {"Type": "Succeed"}
        })),
        Some("Inner"),
        "Next target \"Outer\" does not exist",
    );
}

#[test]
fn unreachable_states_are_refused() {
    assert_error(
        machine(json!({"A": {"Type": "Succeed"}, "Orphan": {"Type": "Succeed"}})),
        Some("Orphan"),
        "unreachable",
    );
}

#[test]
fn a_state_needs_next_or_end() {
    assert_error(
        machine(json!({"A": {"Type": "Pass"}})),
        Some("A"),
        "either Next or \"End\": true",
    );
}

#[test]
fn a_state_cannot_have_next_and_end() {
    assert_error(
        machine(json!({"A": {"Type": "Pass", "Next": "B", "End": true}, "B": {"Type": "Succeed"}})),
        Some("A"),
        "not both",
    );
}

#[test]
fn terminal_states_take_no_next() {
    assert_error(
        machine(json!({"A": {"Type": "Succeed", "Next": "A"}})),
        Some("A"),
        "field \"Next\" is not allowed in a Succeed state",
    );
}

#[test]
fn input_path_syntax_is_checked() {
    assert_error(
        machine(json!({"A": {"Type": "Pass", "InputPath": "$.a[", "End": true}})),
        Some("A"),
        "InputPath \"$.a[\"",
    );
}

#[test]
fn result_path_must_be_a_reference_path() {
    assert_error(
        machine(json!({"A": {"Type": "Pass", "ResultPath": "$.items[*]", "End": true}})),
        Some("A"),
        "ResultPath \"$.items[*]\"",
    );
}

#[test]
fn parameters_templates_are_checked() {
    assert_error(
        machine(json!({"A": {"Type": "Pass", "Parameters": {"x.$": "not a path"}, "End": true}})),
        Some("A"),
        "Parameters",
    );
}

#[test]
fn choice_rules_are_checked() {
    assert_error(
        machine(json!({
            "A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "NoSuchOperator": 1, "Next": "B"}]},
            "B": {"Type": "Succeed"}
        })),
        Some("A"),
        "choice rule 0",
    );
}

#[test]
fn states_all_must_be_alone() {
    assert_error(
        machine(json!({
            "A": {"Type": "Task", "Resource": INVOKE, "Parameters": {"FunctionName": "f"},
                  "Retry": [{"ErrorEquals": ["States.ALL", "Custom"]}], "End": true}
        })),
        Some("A"),
        "States.ALL must appear alone",
    );
}

#[test]
fn states_all_must_be_last() {
    assert_error(
        machine(json!({
            "A": {"Type": "Task", "Resource": INVOKE, "Parameters": {"FunctionName": "f"},
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "B"},
                            {"ErrorEquals": ["Custom"], "Next": "B"}],
                  "End": true},
            "B": {"Type": "Succeed"}
        })),
        Some("A"),
        "States.ALL must be the last",
    );
}

#[test]
fn misspelt_states_errors_are_refused() {
    assert_error(
        machine(json!({
            "A": {"Type": "Task", "Resource": INVOKE, "Parameters": {"FunctionName": "f"},
                  "Retry": [{"ErrorEquals": ["States.Timout"]}], "End": true}
        })),
        Some("A"),
        "\"States.Timout\" is not a States error name",
    );
}

#[test]
fn retrier_fields_are_checked() {
    assert_error(
        machine(json!({
            "A": {"Type": "Task", "Resource": INVOKE, "Parameters": {"FunctionName": "f"},
                  "Retry": [{"ErrorEquals": ["X"], "BackoffRate": 0.5}], "End": true}
        })),
        Some("A"),
        "BackoffRate",
    );
}

#[test]
fn unknown_fields_are_refused() {
    assert_error(
        machine(json!({"A": {"Type": "Pass", "Nxet": "A", "End": true}})),
        Some("A"),
        "unknown field \"Nxet\"",
    );
    assert_error(
        json!({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}, "Extra": 1}),
        None,
        "unknown top-level field \"Extra\"",
    );
}

#[test]
fn unknown_types_are_refused() {
    assert_error(
        machine(json!({"A": {"Type": "Sleep", "End": true}})),
        Some("A"),
        "unknown state Type \"Sleep\"",
    );
}

#[test]
fn retry_and_catch_only_where_allowed() {
    assert_error(
        machine(json!({"A": {"Type": "Pass", "Retry": [{"ErrorEquals": ["X"]}], "End": true}})),
        Some("A"),
        "field \"Retry\" is not allowed in a Pass state",
    );
    assert_error(
        machine(json!({"A": {"Type": "Wait", "Seconds": 1, "Catch": [], "End": true}})),
        Some("A"),
        "field \"Catch\" is not allowed in a Wait state",
    );
}

#[test]
fn unsupported_resources_are_refused() {
    assert_error(
        machine(
            json!({"A": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish", "End": true}}),
        ),
        Some("A"),
        "Resource \"arn:aws:states:::sns:publish\" is not supported",
    );
}

#[test]
fn lambda_invoke_needs_a_function_name() {
    assert_error(
        machine(
            json!({"A": {"Type": "Task", "Resource": INVOKE, "Parameters": {"Payload.$": "$"}, "End": true}}),
        ),
        Some("A"),
        "FunctionName",
    );
}

#[test]
fn wait_for_task_token_must_pass_the_token() {
    assert_error(
        machine(json!({"A": {"Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "f", "Payload": {"x": 1}}, "End": true}})),
        Some("A"),
        "$$.Task.Token",
    );
}

#[test]
fn heartbeat_must_be_shorter_than_timeout() {
    assert_error(
        machine(
            json!({"A": {"Type": "Task", "Resource": INVOKE, "Parameters": {"FunctionName": "f"},
            "TimeoutSeconds": 10, "HeartbeatSeconds": 10, "End": true}}),
        ),
        Some("A"),
        "HeartbeatSeconds (10) must be less than TimeoutSeconds (10)",
    );
}

#[test]
fn wait_takes_exactly_one_duration() {
    assert_error(
        machine(json!({"A": {"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s", "End": true}})),
        Some("A"),
        "exactly one of",
    );
}

#[test]
fn state_names_are_unique_across_branches() {
    assert_error(
        machine(json!({
            "A": {"Type": "Parallel", "Next": "Done", "Branches": [
                {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
            ]},
            "Done": {"Type": "Succeed"}
        })),
        Some("Done"),
        "used by another state",
    );
}

#[test]
fn distributed_maps_are_refused() {
    assert_error(
        machine(json!({"A": {"Type": "Map", "End": true, "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": "I", "States": {"I": {"Type": "Succeed"}}}}})),
        Some("A"),
        "DISTRIBUTED",
    );
}

#[test]
fn documents_that_are_not_json_are_refused() {
    let error = Definition::parse("{\"StartAt\": ").unwrap_err();
    assert_eq!(error.state, None);
    assert!(error.message.contains("not valid JSON"), "{error}");
}

#[test]
fn a_valid_definition_is_typed() {
    let definition = Definition::from_value(&json!({
        "Comment": "typed",
        "TimeoutSeconds": 60,
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:eu-west-1:123456789012:function:kyc-check:live",
                "InputPath": "$.client",
                "ResultPath": null,
                "OutputPath": null,
                "TimeoutSecondsPath": "$.timeout",
                "Retry": [{"ErrorEquals": ["Transient"], "MaxDelaySeconds": 5, "JitterStrategy": "FULL"}],
                "Next": "Each"
            },
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "Iterator": {"StartAt": "One", "States": {"One": {"Type": "Pass", "End": true}}},
                "End": true
            }
        }
    }))
    .expect("valid");
    assert_eq!(definition.comment.as_deref(), Some("typed"));
    assert_eq!(definition.timeout_seconds, Some(60));
    let call = definition.state_named("Call").unwrap();
    assert_eq!(definition.start_at(), definition.scopes[TOP_LEVEL].start_at);
    assert_eq!(call.input_path, DataPath::Path("$.client".into()));
    assert_eq!(call.result_path, ResultPath::Discard);
    assert_eq!(call.output_path, DataPath::Empty);
    let StateKind::Task(task) = &call.kind else {
        panic!("a task")
    };
    assert_eq!(
        task.resource,
        Resource::LambdaFunction {
            arn: "arn:aws:lambda:eu-west-1:123456789012:function:kyc-check:live".into(),
            function: "kyc-check".into()
        }
    );
    assert_eq!(task.timeout, Some(Seconds::Path("$.timeout".into())));
    let retrier = &call.retry[0];
    assert_eq!(
        (
            retrier.interval_seconds,
            retrier.max_attempts,
            retrier.backoff_rate
        ),
        (1, 3, rust_decimal::Decimal::TWO),
        "the spec's defaults"
    );
    assert_eq!(retrier.max_delay_seconds, Some(5));
    assert_eq!(retrier.jitter, Jitter::Full);
    let each = definition.state_named("Each").unwrap();
    let StateKind::Map(map) = &each.kind else {
        panic!("a map")
    };
    assert_eq!(map.items_path.as_deref(), Some("$.items"));
    assert_eq!(
        definition.scopes[map.processor].owner,
        definition.states.iter().position(|s| &*s.name == "Each")
    );
}

fn onboarding_substitutions() -> BTreeMap<String, String> {
    [
        "KycCheckFunctionArn",
        "ComplianceReviewFunctionArn",
        "TradingAccountFunctionArn",
        "OnboardingOutcomeFunctionArn",
        "NotifyFunctionArn",
    ]
    .into_iter()
    .map(|name| {
        (
            name.to_string(),
            format!("arn:aws:lambda:eu-west-1:123456789012:function:{name}"),
        )
    })
    .collect()
}

#[test]
fn substitution_fills_placeholders() {
    let values = BTreeMap::from([(
        "Fn".to_string(),
        "arn:aws:lambda:r:1:function:f".to_string(),
    )]);
    assert_eq!(
        substitute(r#"{"FunctionName": "${Fn}", "Other": "${Fn}"}"#, &values).unwrap(),
        r#"{"FunctionName": "arn:aws:lambda:r:1:function:f", "Other": "arn:aws:lambda:r:1:function:f"}"#
    );
    assert_eq!(
        substitute("cost: ${!Literal}", &values).unwrap(),
        "cost: ${Literal}"
    );
}

#[test]
fn substitution_names_a_missing_placeholder() {
    let error = substitute(r#"{"FunctionName": "${KycArn}"}"#, &BTreeMap::new()).unwrap_err();
    assert!(error.message.contains("${KycArn}"), "{error}");
    let error = substitute("broken ${Name", &BTreeMap::new()).unwrap_err();
    assert!(error.message.contains("not closed"), "{error}");
}

#[test]
fn the_onboarding_machine_parses_after_substitution() {
    let text = include_str!("../../../../statemachines/onboarding.asl.json");
    assert!(
        Definition::parse(text).is_err(),
        "unresolved placeholders are not function names"
    );
    let definition = Definition::parse(&substitute(text, &onboarding_substitutions()).unwrap())
        .expect("the onboarding machine is valid");
    let review = definition.state_named("RequestReview").unwrap();
    let StateKind::Task(task) = &review.kind else {
        panic!("a task")
    };
    assert_eq!(task.resource, Resource::LambdaInvokeWaitForTaskToken);
    assert!(review.uses_context);
}
