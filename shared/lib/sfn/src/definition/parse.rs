//! Parsing a document into the typed definition, checking each field as it is read.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;

use rust_decimal::Decimal;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::model::{
    Catcher, ChoiceBranch, DataPath, Definition, DefinitionError, FailText, Jitter, MapState,
    Resource, ResultPath, Retrier, Scope, ScopeId, Seconds, State, StateId, StateKind, Task,
    WaitFor, error_at,
};
use super::validate::{
    COMMON, STATE_FIELDS, STATES_ERRORS, allowed_fields, check_all_is_last, check_query_language,
    check_scope_fields, reference_path,
};
use crate::choice::ChoiceRule;
use crate::{intrinsics, path, payload};

impl Definition {
    /// Parses and checks a definition (placeholders already substituted).
    pub fn parse(text: &str) -> Result<Definition, DefinitionError> {
        let document: Value = serde_json::from_str(text)
            .map_err(|e| DefinitionError::document(format!("not valid JSON: {e}")))?;
        Definition::build(&document, Arc::from(text))
    }

    pub fn from_value(document: &Value) -> Result<Definition, DefinitionError> {
        Definition::build(document, Arc::from(document.to_string()))
    }

    fn build(document: &Value, source: Arc<str>) -> Result<Definition, DefinitionError> {
        let top = document
            .as_object()
            .ok_or_else(|| DefinitionError::document("a definition is a JSON object"))?;
        for key in top.keys() {
            if !matches!(
                key.as_str(),
                "StartAt" | "States" | "Comment" | "TimeoutSeconds" | "Version" | "QueryLanguage"
            ) {
                return Err(DefinitionError::document(format!(
                    "unknown top-level field \"{key}\""
                )));
            }
        }
        check_query_language(top, None)?;
        if let Some(version) = top.get("Version")
            && version.as_str() != Some("1.0")
        {
            return Err(DefinitionError::document("Version must be \"1.0\""));
        }
        let timeout_seconds = positive_integer(top, "TimeoutSeconds", None)?;
        let comment = optional_string(top, "Comment", None)?;
        let mut parser = Parser::default();
        parser.scope(top, None)?;
        let states = parser
            .states
            .into_iter()
            .map(|state| state.expect("every allocated state is parsed"))
            .collect();
        Ok(Definition {
            comment,
            timeout_seconds,
            scopes: parser.scopes,
            states,
            by_name: parser.by_name,
            source,
        })
    }
}

#[derive(Default)]
struct Parser {
    scopes: Vec<Scope>,
    states: Vec<Option<State>>,
    by_name: HashMap<String, StateId>,
}

impl Parser {
    /// Parses a `StartAt` + `States` object; `owner` is the Parallel or Map state running it.
    fn scope(
        &mut self,
        object: &Map<String, Value>,
        owner: Option<(StateId, &str)>,
    ) -> Result<ScopeId, DefinitionError> {
        let owner_name = owner.map(|(_, name)| name);
        let start_name = object
            .get("StartAt")
            .ok_or_else(|| error_at(owner_name, "StartAt is missing"))?
            .as_str()
            .ok_or_else(|| error_at(owner_name, "StartAt must be a string"))?;
        let states = match object.get("States") {
            Some(Value::Object(states)) if !states.is_empty() => states,
            Some(Value::Object(_)) => return Err(error_at(owner_name, "States is empty")),
            Some(_) => return Err(error_at(owner_name, "States must be an object")),
            None => return Err(error_at(owner_name, "States is missing")),
        };
        let scope_id = self.scopes.len();
        let mut local: HashMap<&str, StateId> = HashMap::with_capacity(states.len());
        let mut ids = Vec::with_capacity(states.len());
        for name in states.keys() {
            if name.is_empty() || name.chars().count() > 80 {
                return Err(DefinitionError::in_state(
                    name,
                    "a state name has 1 to 80 characters",
                ));
            }
            if self.by_name.contains_key(name) {
                return Err(DefinitionError::in_state(
                    name,
                    "the name is used by another state (names are unique across the whole machine, branches included)",
                ));
            }
            let id = self.states.len();
            self.states.push(None);
            self.by_name.insert(name.clone(), id);
            local.insert(name, id);
            ids.push(id);
        }
        let start_at = *local.get(start_name).ok_or_else(|| {
            error_at(
                owner_name,
                format!("StartAt \"{start_name}\" does not exist"),
            )
        })?;
        self.scopes.push(Scope {
            start_at,
            comment: optional_string(object, "Comment", owner_name)?,
            states: ids,
            owner: owner.map(|(id, _)| id),
        });
        for (name, body) in states {
            let id = local[name.as_str()];
            let state = self.state(name, body, scope_id, &local)?;
            self.states[id] = Some(state);
        }
        self.check_reachable(scope_id)?;
        Ok(scope_id)
    }

    fn check_reachable(&self, scope_id: ScopeId) -> Result<(), DefinitionError> {
        let scope = &self.scopes[scope_id];
        let mut seen = HashSet::from([scope.start_at]);
        let mut stack = vec![scope.start_at];
        while let Some(id) = stack.pop() {
            let state = self.states[id].as_ref().expect("scope states are parsed");
            let mut targets: Vec<StateId> = state.next.into_iter().collect();
            targets.extend(state.catch.iter().map(|c| c.next));
            if let StateKind::Choice { choices, default } = &state.kind {
                targets.extend(choices.iter().map(|c| c.next));
                targets.extend(default);
            }
            for target in targets {
                if seen.insert(target) {
                    stack.push(target);
                }
            }
        }
        match scope.states.iter().find(|id| !seen.contains(id)) {
            Some(&id) => Err(DefinitionError::in_state(
                &self.states[id].as_ref().expect("parsed").name,
                "the state is unreachable (no transition leads to it)",
            )),
            None => Ok(()),
        }
    }

    fn state(
        &mut self,
        name: &str,
        body: &Value,
        scope: ScopeId,
        local: &HashMap<&str, StateId>,
    ) -> Result<State, DefinitionError> {
        let fail = |message: String| DefinitionError::in_state(name, message);
        let object = body
            .as_object()
            .ok_or_else(|| fail("a state is a JSON object".into()))?;
        let type_name = object
            .get("Type")
            .ok_or_else(|| fail("Type is missing".into()))?
            .as_str()
            .ok_or_else(|| fail("Type must be a string".into()))?;
        let allowed = allowed_fields(type_name);
        if allowed.is_empty() {
            return Err(fail(format!("unknown state Type \"{type_name}\"")));
        }
        for key in object.keys() {
            let key = key.as_str();
            if COMMON.contains(&key) || allowed.contains(&key) {
                continue;
            }
            return Err(fail(if STATE_FIELDS.contains(&key) {
                format!("field \"{key}\" is not allowed in a {type_name} state")
            } else {
                format!("unknown field \"{key}\"")
            }));
        }
        check_query_language(object, Some(name))?;
        let resolve = |target: &str, what: &str| -> Result<StateId, DefinitionError> {
            match local.get(target) {
                Some(&id) => Ok(id),
                None => Err(fail(format!("{what} target \"{target}\" does not exist"))),
            }
        };
        let next = self.transition(name, object, type_name, &resolve)?;

        let input_path = data_path(object, "InputPath", name)?;
        let output_path = data_path(object, "OutputPath", name)?;
        let result_path = result_path(object.get("ResultPath"), "ResultPath", name)?;
        let parameters = template(object, "Parameters", name)?;
        let result_selector = template(object, "ResultSelector", name)?;
        let retry = match object.get("Retry") {
            Some(retry) => retriers(retry, name)?,
            None => Vec::new(),
        };
        let catch = match object.get("Catch") {
            Some(catch) => catchers(catch, name, &resolve)?,
            None => Vec::new(),
        };

        let kind = match type_name {
            "Pass" => StateKind::Pass {
                result: object.get("Result").cloned(),
            },
            "Task" => StateKind::Task(task(object, name, parameters.as_ref())?),
            "Choice" => choice(object, name, &resolve)?,
            "Wait" => StateKind::Wait(wait(object, name)?),
            "Succeed" => StateKind::Succeed,
            "Fail" => StateKind::Fail {
                error: fail_text(object, "Error", "ErrorPath", name)?,
                cause: fail_text(object, "Cause", "CausePath", name)?,
            },
            "Parallel" => {
                let id = local[name];
                let branches = match object.get("Branches") {
                    Some(Value::Array(branches)) if !branches.is_empty() => branches,
                    _ => return Err(fail("Branches must be a non-empty array".into())),
                };
                let mut scopes = Vec::with_capacity(branches.len());
                for branch in branches {
                    let branch = branch
                        .as_object()
                        .ok_or_else(|| fail("each branch is a JSON object".into()))?;
                    check_scope_fields(branch, &["StartAt", "States", "Comment"], name)?;
                    scopes.push(self.scope(branch, Some((id, name)))?);
                }
                StateKind::Parallel { branches: scopes }
            }
            "Map" => StateKind::Map(self.map(object, name, local[name])?),
            _ => unreachable!("allowed_fields knows only the types above"),
        };

        Ok(State {
            name: Arc::from(name),
            scope,
            comment: optional_string(object, "Comment", Some(name))?,
            uses_context: reads_context(object),
            kind,
            input_path,
            output_path,
            parameters: match type_name {
                // A Map state's Parameters select each item's input: they are its selector.
                "Map" => None,
                _ => parameters,
            },
            result_selector,
            result_path,
            next,
            retry,
            catch,
        })
    }

    fn transition(
        &self,
        name: &str,
        object: &Map<String, Value>,
        type_name: &str,
        resolve: &dyn Fn(&str, &str) -> Result<StateId, DefinitionError>,
    ) -> Result<Option<StateId>, DefinitionError> {
        if matches!(type_name, "Choice" | "Succeed" | "Fail") {
            // allowed_fields already refused Next and End for these types.
            return Ok(None);
        }
        let next = match object.get("Next") {
            None => None,
            Some(Value::String(target)) => Some(resolve(target, "Next")?),
            Some(_) => {
                return Err(DefinitionError::in_state(name, "Next must be a string"));
            }
        };
        let end = match object.get("End") {
            None => false,
            Some(Value::Bool(end)) => *end,
            Some(_) => return Err(DefinitionError::in_state(name, "End must be a boolean")),
        };
        match (next, end) {
            (Some(_), true) => Err(DefinitionError::in_state(
                name,
                "a state has either Next or \"End\": true, not both",
            )),
            (None, false) => Err(DefinitionError::in_state(
                name,
                "a state has either Next or \"End\": true",
            )),
            (next, _) => Ok(next),
        }
    }

    fn map(
        &mut self,
        object: &Map<String, Value>,
        name: &str,
        id: StateId,
    ) -> Result<MapState, DefinitionError> {
        let fail = |message: &str| DefinitionError::in_state(name, message);
        let processor = match (object.get("ItemProcessor"), object.get("Iterator")) {
            (Some(_), Some(_)) => {
                return Err(fail("ItemProcessor and Iterator are exclusive"));
            }
            (Some(Value::Object(processor)), None) => {
                check_scope_fields(
                    processor,
                    &["StartAt", "States", "Comment", "ProcessorConfig"],
                    name,
                )?;
                if let Some(config) = processor.get("ProcessorConfig") {
                    let config = config
                        .as_object()
                        .ok_or_else(|| fail("ProcessorConfig must be an object"))?;
                    for (key, value) in config {
                        match (key.as_str(), value.as_str()) {
                            ("Mode", Some("INLINE")) => {}
                            ("Mode", Some("DISTRIBUTED")) => {
                                return Err(fail(
                                    "a DISTRIBUTED Map is not supported (INLINE only)",
                                ));
                            }
                            ("ExecutionType", Some("STANDARD" | "EXPRESS")) => {}
                            _ => {
                                return Err(DefinitionError::in_state(
                                    name,
                                    format!(
                                        "ProcessorConfig field \"{key}\" has an unsupported value {value}"
                                    ),
                                ));
                            }
                        }
                    }
                }
                processor
            }
            (None, Some(Value::Object(iterator))) => {
                check_scope_fields(iterator, &["StartAt", "States", "Comment"], name)?;
                iterator
            }
            (None, None) => return Err(fail("ItemProcessor (or Iterator) is missing")),
            _ => return Err(fail("ItemProcessor (or Iterator) must be an object")),
        };
        let processor = self.scope(processor, Some((id, name)))?;
        let items_path = match object.get("ItemsPath") {
            None => None,
            Some(Value::String(p)) if p == "$" => None,
            Some(Value::String(p)) => {
                reference_path(p, "ItemsPath", name)?;
                Some(p.clone())
            }
            Some(_) => return Err(fail("ItemsPath must be a string")),
        };
        let item_selector = match (
            template(object, "ItemSelector", name)?,
            template(object, "Parameters", name)?,
        ) {
            (Some(_), Some(_)) => {
                return Err(fail("ItemSelector and Parameters are exclusive"));
            }
            (selector, parameters) => selector.or(parameters),
        };
        let max_concurrency =
            match seconds_field(object, "MaxConcurrency", "MaxConcurrencyPath", name, 0)? {
                Some(value) => value,
                None => Seconds::Fixed(0),
            };
        Ok(MapState {
            processor,
            items_path,
            item_selector,
            max_concurrency,
        })
    }
}

/// The context object is only built for states whose expressions mention it; nested scopes
/// are checked with their own states.
fn reads_context(object: &Map<String, Value>) -> bool {
    object
        .iter()
        .filter(|(key, _)| !matches!(key.as_str(), "Branches" | "Iterator" | "ItemProcessor"))
        .any(|(_, value)| mentions_context(value))
}

fn mentions_context(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains("$$"),
        Value::Array(values) => values.iter().any(mentions_context),
        Value::Object(map) => map.values().any(mentions_context),
        _ => false,
    }
}

fn optional_string(
    object: &Map<String, Value>,
    key: &str,
    state: Option<&str>,
) -> Result<Option<String>, DefinitionError> {
    match object.get(key) {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(error_at(state, format!("{key} must be a string"))),
    }
}

/// A positive integer field (`None` when absent).
fn positive_integer(
    object: &Map<String, Value>,
    key: &str,
    state: Option<&str>,
) -> Result<Option<u64>, DefinitionError> {
    integer_at_least(object, key, state, 1)
}

fn integer_at_least(
    object: &Map<String, Value>,
    key: &str,
    state: Option<&str>,
    minimum: u64,
) -> Result<Option<u64>, DefinitionError> {
    match object.get(key) {
        None => Ok(None),
        Some(value) => match value.as_u64() {
            Some(n) if n >= minimum => Ok(Some(n)),
            _ => Err(error_at(
                state,
                format!("{key} must be an integer of at least {minimum}, not {value}"),
            )),
        },
    }
}

fn data_path(
    object: &Map<String, Value>,
    key: &str,
    state: &str,
) -> Result<DataPath, DefinitionError> {
    match object.get(key) {
        None => Ok(DataPath::Whole),
        Some(Value::Null) => Ok(DataPath::Empty),
        Some(Value::String(p)) if p == "$" => Ok(DataPath::Whole),
        Some(Value::String(p)) => {
            path::validate_path(p).map_err(|message| {
                DefinitionError::in_state(state, format!("{key} \"{p}\": {message}"))
            })?;
            Ok(DataPath::Path(p.clone()))
        }
        Some(_) => Err(DefinitionError::in_state(
            state,
            format!("{key} must be a path or null"),
        )),
    }
}

fn result_path(
    value: Option<&Value>,
    field: &str,
    state: &str,
) -> Result<ResultPath, DefinitionError> {
    match value {
        None => Ok(ResultPath::Replace),
        Some(Value::Null) => Ok(ResultPath::Discard),
        Some(Value::String(p)) if p == "$" => Ok(ResultPath::Replace),
        Some(Value::String(p)) => {
            if p.starts_with("$$") {
                return Err(DefinitionError::in_state(
                    state,
                    format!("{field} \"{p}\" cannot write into the context object"),
                ));
            }
            reference_path(p, field, state)?;
            Ok(ResultPath::At(p.clone()))
        }
        Some(_) => Err(DefinitionError::in_state(
            state,
            format!("{field} must be a reference path or null"),
        )),
    }
}

fn template(
    object: &Map<String, Value>,
    key: &str,
    state: &str,
) -> Result<Option<Value>, DefinitionError> {
    match object.get(key) {
        None => Ok(None),
        Some(value @ Value::Object(_)) => {
            payload::validate_template(value)
                .map_err(|message| DefinitionError::in_state(state, format!("{key}: {message}")))?;
            Ok(Some(value.clone()))
        }
        Some(_) => Err(DefinitionError::in_state(
            state,
            format!("{key} must be a JSON object"),
        )),
    }
}

/// A value given either as a number (`key`) or by a reference path (`path_key`).
fn seconds_field(
    object: &Map<String, Value>,
    key: &str,
    path_key: &str,
    state: &str,
    minimum: u64,
) -> Result<Option<Seconds>, DefinitionError> {
    match (
        integer_at_least(object, key, Some(state), minimum)?,
        object.get(path_key),
    ) {
        (Some(_), Some(_)) => Err(DefinitionError::in_state(
            state,
            format!("{key} and {path_key} are exclusive"),
        )),
        (Some(n), None) => Ok(Some(Seconds::Fixed(n))),
        (None, Some(Value::String(p))) => {
            reference_path(p, path_key, state)?;
            Ok(Some(Seconds::Path(p.clone())))
        }
        (None, Some(_)) => Err(DefinitionError::in_state(
            state,
            format!("{path_key} must be a string"),
        )),
        (None, None) => Ok(None),
    }
}

fn error_equals(value: Option<&Value>, state: &str) -> Result<Vec<String>, DefinitionError> {
    let fail = |message: String| DefinitionError::in_state(state, message);
    let names = match value {
        Some(Value::Array(names)) if !names.is_empty() => names,
        _ => return Err(fail("ErrorEquals must be a non-empty array".into())),
    };
    let names = names
        .iter()
        .map(|name| match name.as_str() {
            Some(name) if !name.is_empty() => Ok(name.to_string()),
            _ => Err(fail("ErrorEquals holds non-empty strings".into())),
        })
        .collect::<Result<Vec<_>, _>>()?;
    for name in &names {
        if name.starts_with("States.") && !STATES_ERRORS.contains(&name.as_str()) {
            return Err(fail(format!("\"{name}\" is not a States error name")));
        }
    }
    if names.len() > 1 && names.iter().any(|n| n == "States.ALL") {
        return Err(fail("States.ALL must appear alone in ErrorEquals".into()));
    }
    Ok(names)
}

fn retriers(value: &Value, state: &str) -> Result<Vec<Retrier>, DefinitionError> {
    let fail = |message: String| DefinitionError::in_state(state, message);
    let entries = value
        .as_array()
        .ok_or_else(|| fail("Retry must be an array".into()))?;
    let mut retriers = Vec::with_capacity(entries.len());
    for entry in entries {
        let object = entry
            .as_object()
            .ok_or_else(|| fail("a retrier is a JSON object".into()))?;
        if let Some(key) = object.keys().find(|key| {
            !matches!(
                key.as_str(),
                "ErrorEquals"
                    | "IntervalSeconds"
                    | "MaxAttempts"
                    | "BackoffRate"
                    | "MaxDelaySeconds"
                    | "JitterStrategy"
                    | "Comment"
            )
        }) {
            return Err(fail(format!("unknown retrier field \"{key}\"")));
        }
        let max_attempts = integer_at_least(object, "MaxAttempts", Some(state), 0)?.unwrap_or(3);
        let backoff_rate = match object.get("BackoffRate") {
            None => Decimal::TWO,
            Some(value) => match value.as_number().and_then(|n| {
                Decimal::from_str(&n.to_string())
                    .ok()
                    .or_else(|| Decimal::from_scientific(&n.to_string()).ok())
            }) {
                Some(rate) if rate >= Decimal::ONE => rate,
                _ => {
                    return Err(fail(format!(
                        "BackoffRate must be a number of at least 1.0, not {value}"
                    )));
                }
            },
        };
        let jitter = match object.get("JitterStrategy") {
            None => Jitter::None,
            Some(Value::String(s)) if s == "NONE" => Jitter::None,
            Some(Value::String(s)) if s == "FULL" => Jitter::Full,
            Some(other) => {
                return Err(fail(format!(
                    "JitterStrategy must be \"FULL\" or \"NONE\", not {other}"
                )));
            }
        };
        retriers.push(Retrier {
            error_equals: error_equals(object.get("ErrorEquals"), state)?,
            interval_seconds: positive_integer(object, "IntervalSeconds", Some(state))?
                .unwrap_or(1),
            max_attempts: u32::try_from(max_attempts)
                .map_err(|_| fail("MaxAttempts is too large".into()))?,
            backoff_rate,
            max_delay_seconds: positive_integer(object, "MaxDelaySeconds", Some(state))?,
            jitter,
        });
    }
    let lists: Vec<&[String]> = retriers.iter().map(|r| r.error_equals.as_slice()).collect();
    check_all_is_last(&lists, "Retry", state)?;
    Ok(retriers)
}

fn catchers(
    value: &Value,
    state: &str,
    resolve: &dyn Fn(&str, &str) -> Result<StateId, DefinitionError>,
) -> Result<Vec<Catcher>, DefinitionError> {
    let fail = |message: String| DefinitionError::in_state(state, message);
    let entries = value
        .as_array()
        .ok_or_else(|| fail("Catch must be an array".into()))?;
    let mut catchers = Vec::with_capacity(entries.len());
    for entry in entries {
        let object = entry
            .as_object()
            .ok_or_else(|| fail("a catcher is a JSON object".into()))?;
        if let Some(key) = object.keys().find(|key| {
            !matches!(
                key.as_str(),
                "ErrorEquals" | "Next" | "ResultPath" | "Comment"
            )
        }) {
            return Err(fail(format!("unknown catcher field \"{key}\"")));
        }
        let next = match object.get("Next") {
            Some(Value::String(target)) => resolve(target, "Catch Next")?,
            _ => return Err(fail("a catcher needs Next (a state name)".into())),
        };
        catchers.push(Catcher {
            error_equals: error_equals(object.get("ErrorEquals"), state)?,
            next,
            result_path: result_path(object.get("ResultPath"), "Catch ResultPath", state)?,
        });
    }
    let lists: Vec<&[String]> = catchers.iter().map(|c| c.error_equals.as_slice()).collect();
    check_all_is_last(&lists, "Catch", state)?;
    Ok(catchers)
}

fn task(
    object: &Map<String, Value>,
    state: &str,
    parameters: Option<&Value>,
) -> Result<Task, DefinitionError> {
    let fail = |message: String| DefinitionError::in_state(state, message);
    let resource = match object.get("Resource") {
        Some(Value::String(resource)) => resource,
        Some(_) => return Err(fail("Resource must be a string".into())),
        None => return Err(fail("Resource is missing".into())),
    };
    let resource = match resource.as_str() {
        "arn:aws:states:::lambda:invoke" => Resource::LambdaInvoke,
        "arn:aws:states:::lambda:invoke.waitForTaskToken" => Resource::LambdaInvokeWaitForTaskToken,
        arn => match crate::task::lambda_function_name(arn) {
            Some(function) if arn.starts_with("arn:aws:lambda:") => Resource::LambdaFunction {
                arn: arn.to_string(),
                function: function.to_string(),
            },
            _ => {
                return Err(fail(format!(
                    "Resource \"{arn}\" is not supported (lambda:invoke, lambda:invoke.waitForTaskToken or a Lambda function ARN)"
                )));
            }
        },
    };
    if matches!(
        resource,
        Resource::LambdaInvoke | Resource::LambdaInvokeWaitForTaskToken
    ) {
        let has_function = parameters
            .and_then(Value::as_object)
            .is_some_and(|p| p.contains_key("FunctionName") || p.contains_key("FunctionName.$"));
        if !has_function {
            return Err(fail(
                "Parameters must give the FunctionName to invoke".into(),
            ));
        }
        if let Some(function) = parameters.and_then(|p| p.get("FunctionName")) {
            let named = function
                .as_str()
                .and_then(crate::task::lambda_function_name)
                .is_some();
            if !named {
                return Err(fail(format!(
                    "FunctionName {function} is not a Lambda function name or ARN (an unresolved placeholder?)"
                )));
            }
        }
    }
    if resource.waits_for_task_token()
        && !parameters.is_some_and(|p| p.to_string().contains("$$.Task.Token"))
    {
        return Err(fail(
            "a waitForTaskToken task must pass $$.Task.Token in its Parameters".into(),
        ));
    }
    let timeout = seconds_field(object, "TimeoutSeconds", "TimeoutSecondsPath", state, 1)?;
    let heartbeat = seconds_field(object, "HeartbeatSeconds", "HeartbeatSecondsPath", state, 1)?;
    if let (Some(Seconds::Fixed(timeout)), Some(Seconds::Fixed(heartbeat))) = (&timeout, &heartbeat)
        && heartbeat >= timeout
    {
        return Err(fail(format!(
            "HeartbeatSeconds ({heartbeat}) must be less than TimeoutSeconds ({timeout})"
        )));
    }
    Ok(Task {
        resource,
        timeout,
        heartbeat,
    })
}

fn choice(
    object: &Map<String, Value>,
    state: &str,
    resolve: &dyn Fn(&str, &str) -> Result<StateId, DefinitionError>,
) -> Result<StateKind, DefinitionError> {
    let fail = |message: String| DefinitionError::in_state(state, message);
    let rules = match object.get("Choices") {
        Some(Value::Array(rules)) if !rules.is_empty() => rules,
        _ => return Err(fail("Choices must be a non-empty array".into())),
    };
    let mut choices = Vec::with_capacity(rules.len());
    for (index, rule) in rules.iter().enumerate() {
        let mut rule = rule
            .as_object()
            .ok_or_else(|| fail(format!("choice rule {index} is not a JSON object")))?
            .clone();
        let next = match rule.remove("Next") {
            Some(Value::String(target)) => resolve(&target, "Choice Next")?,
            Some(_) => return Err(fail(format!("choice rule {index}: Next must be a string"))),
            None => return Err(fail(format!("choice rule {index} has no Next"))),
        };
        let rule = ChoiceRule::parse(&Value::Object(rule))
            .map_err(|message| fail(format!("choice rule {index}: {message}")))?;
        choices.push(ChoiceBranch { rule, next });
    }
    let default = match object.get("Default") {
        None => None,
        Some(Value::String(target)) => Some(resolve(target, "Default")?),
        Some(_) => return Err(fail("Default must be a string".into())),
    };
    Ok(StateKind::Choice { choices, default })
}

fn wait(object: &Map<String, Value>, state: &str) -> Result<WaitFor, DefinitionError> {
    let fail = |message: String| DefinitionError::in_state(state, message);
    let given: Vec<&str> = ["Seconds", "SecondsPath", "Timestamp", "TimestampPath"]
        .into_iter()
        .filter(|key| object.contains_key(*key))
        .collect();
    if given.len() != 1 {
        return Err(fail(
            "a Wait state has exactly one of Seconds, SecondsPath, Timestamp, TimestampPath".into(),
        ));
    }
    let path_of = |key: &str| -> Result<String, DefinitionError> {
        let path = object[key]
            .as_str()
            .ok_or_else(|| fail(format!("{key} must be a string")))?;
        reference_path(path, key, state)?;
        Ok(path.to_string())
    };
    match given[0] {
        "Seconds" => Ok(WaitFor::Seconds(
            integer_at_least(object, "Seconds", Some(state), 0)?.expect("present"),
        )),
        "SecondsPath" => Ok(WaitFor::SecondsPath(path_of("SecondsPath")?)),
        "Timestamp" => {
            let text = object["Timestamp"]
                .as_str()
                .ok_or_else(|| fail("Timestamp must be a string".into()))?;
            OffsetDateTime::parse(text, &Rfc3339)
                .map(WaitFor::Timestamp)
                .map_err(|e| fail(format!("Timestamp \"{text}\" is not an RFC 3339 time: {e}")))
        }
        _ => Ok(WaitFor::TimestampPath(path_of("TimestampPath")?)),
    }
}

fn fail_text(
    object: &Map<String, Value>,
    key: &str,
    path_key: &str,
    state: &str,
) -> Result<FailText, DefinitionError> {
    let fail = |message: String| DefinitionError::in_state(state, message);
    match (object.get(key), object.get(path_key)) {
        (Some(_), Some(_)) => Err(fail(format!("{key} and {path_key} are exclusive"))),
        (Some(Value::String(text)), None) => Ok(FailText::Literal(text.clone())),
        (Some(_), None) => Err(fail(format!("{key} must be a string"))),
        (None, Some(Value::String(expression))) => {
            if intrinsics::is_intrinsic(expression) {
                intrinsics::validate(expression)
                    .map_err(|message| fail(format!("{path_key}: {message}")))?;
            } else {
                reference_path(expression, path_key, state)?;
            }
            Ok(FailText::Expression(expression.clone()))
        }
        (None, Some(_)) => Err(fail(format!("{path_key} must be a string"))),
        (None, None) => Ok(FailText::Absent),
    }
}
