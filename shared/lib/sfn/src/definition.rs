//! An Amazon States Language document (JSONPath), parsed into typed states and checked before
//! anything runs: every error names the state it is in, so a broken definition is refused at
//! start-up rather than halfway through an execution.
//!
//! States of every scope (the top level, each Parallel branch, each Map item processor) live in
//! one arena, so a transition is an index and an execution's position is a pair of numbers.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::choice::ChoiceRule;
use crate::{intrinsics, path, payload};

/// Index of a state in [`Definition::states`].
pub type StateId = usize;
/// Index of a scope in [`Definition::scopes`]; scope 0 is the top level.
pub type ScopeId = usize;

/// The top-level scope.
pub const TOP_LEVEL: ScopeId = 0;

/// What is wrong with a definition, and in which state (`None`: the document itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionError {
    pub state: Option<String>,
    pub message: String,
}

impl DefinitionError {
    fn document(message: impl Into<String>) -> DefinitionError {
        DefinitionError {
            state: None,
            message: message.into(),
        }
    }

    fn in_state(state: &str, message: impl Into<String>) -> DefinitionError {
        DefinitionError {
            state: Some(state.to_string()),
            message: message.into(),
        }
    }
}

impl fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.state {
            Some(state) => write!(f, "state \"{state}\": {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for DefinitionError {}

#[derive(Debug, Clone)]
pub struct Definition {
    pub comment: Option<String>,
    /// The whole execution's limit (`TimeoutSeconds` at the top level).
    pub timeout_seconds: Option<u64>,
    pub scopes: Vec<Scope>,
    pub states: Vec<State>,
    by_name: HashMap<String, StateId>,
    source: Arc<str>,
}

/// A `StartAt` with its `States`: the top level, a Parallel branch or a Map item processor.
#[derive(Debug, Clone)]
pub struct Scope {
    pub start_at: StateId,
    pub comment: Option<String>,
    pub states: Vec<StateId>,
    /// The Parallel or Map state that runs this scope (`None` for the top level).
    pub owner: Option<StateId>,
}

#[derive(Debug, Clone)]
pub struct State {
    pub name: Arc<str>,
    pub scope: ScopeId,
    pub comment: Option<String>,
    pub kind: StateKind,
    pub input_path: DataPath,
    pub output_path: DataPath,
    pub parameters: Option<Value>,
    pub result_selector: Option<Value>,
    pub result_path: ResultPath,
    /// `None` ends the scope (`"End": true`); always `None` for Choice, Succeed and Fail,
    /// which choose their own way out.
    pub next: Option<StateId>,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
    /// Whether any expression of the state reads the context object (`$$`), so the
    /// interpreter builds it only for the states that need it.
    pub uses_context: bool,
}

#[derive(Debug, Clone)]
pub enum StateKind {
    Pass {
        result: Option<Value>,
    },
    Task(Task),
    Choice {
        choices: Vec<ChoiceBranch>,
        default: Option<StateId>,
    },
    Wait(WaitFor),
    Succeed,
    Fail {
        error: FailText,
        cause: FailText,
    },
    Parallel {
        branches: Vec<ScopeId>,
    },
    Map(MapState),
}

impl StateKind {
    /// The state type as the language spells it.
    pub fn type_name(&self) -> &'static str {
        match self {
            StateKind::Pass { .. } => "Pass",
            StateKind::Task(_) => "Task",
            StateKind::Choice { .. } => "Choice",
            StateKind::Wait(_) => "Wait",
            StateKind::Succeed => "Succeed",
            StateKind::Fail { .. } => "Fail",
            StateKind::Parallel { .. } => "Parallel",
            StateKind::Map(_) => "Map",
        }
    }
}

/// `InputPath` / `OutputPath`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataPath {
    /// `$` (the default): the whole value.
    Whole,
    Path(String),
    /// JSON `null`: an empty object.
    Empty,
}

/// `ResultPath`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultPath {
    /// `$` (the default): the result replaces the input.
    Replace,
    At(String),
    /// JSON `null`: the result is discarded and the input passes through.
    Discard,
}

#[derive(Debug, Clone)]
pub struct Task {
    pub resource: Resource,
    pub timeout: Option<Seconds>,
    pub heartbeat: Option<Seconds>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// `arn:aws:states:::lambda:invoke`: `Parameters` carry `FunctionName` and `Payload`; the
    /// result is the Lambda API's response with the function's output under `Payload`.
    LambdaInvoke,
    /// `arn:aws:states:::lambda:invoke.waitForTaskToken`: the result is what
    /// `SendTaskSuccess` sends for the task's token.
    LambdaInvokeWaitForTaskToken,
    /// A function ARN as the resource: the input is the payload, the result is the output.
    LambdaFunction { arn: String, function: String },
}

impl Resource {
    pub fn waits_for_task_token(&self) -> bool {
        matches!(self, Resource::LambdaInvokeWaitForTaskToken)
    }
}

/// A number of seconds given in the definition or read from the state input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seconds {
    Fixed(u64),
    Path(String),
}

#[derive(Debug, Clone)]
pub struct ChoiceBranch {
    pub rule: ChoiceRule,
    pub next: StateId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitFor {
    Seconds(u64),
    SecondsPath(String),
    Timestamp(OffsetDateTime),
    TimestampPath(String),
}

/// A Fail state's `Error` or `Cause`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailText {
    Absent,
    Literal(String),
    /// A reference path or an intrinsic function call (`ErrorPath`, `CausePath`).
    Expression(String),
}

#[derive(Debug, Clone)]
pub struct MapState {
    pub processor: ScopeId,
    /// `None`: the effective input itself is the item array.
    pub items_path: Option<String>,
    /// `ItemSelector`, or the legacy `Parameters` of a Map state.
    pub item_selector: Option<Value>,
    /// 0 runs every item at once.
    pub max_concurrency: Seconds,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Retrier {
    pub error_equals: Vec<String>,
    pub interval_seconds: u64,
    pub max_attempts: u32,
    /// Exact, so retry delays are computed without floating point.
    pub backoff_rate: Decimal,
    pub max_delay_seconds: Option<u64>,
    pub jitter: Jitter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jitter {
    None,
    Full,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catcher {
    pub error_equals: Vec<String>,
    pub next: StateId,
    pub result_path: ResultPath,
}

/// Whether an error name is matched by a Retrier's or Catcher's `ErrorEquals`.
pub fn error_matches(error_equals: &[String], error: &str) -> bool {
    error_equals.iter().any(|name| {
        name == error
            || name == "States.ALL"
            || (name == "States.TaskFailed" && error != "States.Timeout")
    })
}

/// The error names the language defines; a `States.` name outside this list is a typo that
/// would never match.
const STATES_ERRORS: &[&str] = &[
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
const STATE_FIELDS: &[&str] = &[
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

const COMMON: &[&str] = &["Type", "Comment", "QueryLanguage"];

fn allowed_fields(type_name: &str) -> &'static [&'static str] {
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

/// Replaces every `${Name}` placeholder (SAM's `DefinitionSubstitutions`) with its value;
/// `${!Literal}` stands for the text `${Literal}`. A placeholder without a value is an error
/// naming it, so a definition never runs with an unresolved ARN.
pub fn substitute(
    text: &str,
    values: &BTreeMap<String, String>,
) -> Result<String, DefinitionError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| {
            DefinitionError::document(format!(
                "placeholder \"${{{}\" is not closed with '}}'",
                after.chars().take(40).collect::<String>()
            ))
        })?;
        let name = &after[..end];
        if let Some(literal) = name.strip_prefix('!') {
            out.push_str("${");
            out.push_str(literal);
            out.push('}');
        } else if name.is_empty() {
            return Err(DefinitionError::document("empty placeholder \"${}\""));
        } else {
            let value = values.get(name).ok_or_else(|| {
                DefinitionError::document(format!(
                    "no substitution for placeholder \"${{{name}}}\""
                ))
            })?;
            out.push_str(value);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

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

    /// The document as given, which executions keep so they finish on the definition they
    /// started with.
    pub fn source(&self) -> &Arc<str> {
        &self.source
    }

    pub fn start_at(&self) -> StateId {
        self.scopes[TOP_LEVEL].start_at
    }

    /// State names are unique across the whole machine, branches included.
    pub fn state_named(&self, name: &str) -> Option<&State> {
        self.by_name.get(name).map(|&id| &self.states[id])
    }
}

fn check_query_language(
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

fn error_at(state: Option<&str>, message: impl Into<String>) -> DefinitionError {
    match state {
        Some(name) => DefinitionError::in_state(name, message),
        None => DefinitionError::document(message),
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

fn check_scope_fields(
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

fn reference_path(path: &str, field: &str, state: &str) -> Result<(), DefinitionError> {
    path::validate_reference_path(path).map_err(|message| {
        DefinitionError::in_state(state, format!("{field} \"{path}\": {message}"))
    })
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

/// `States.ALL` catches everything, so a retrier or catcher after it could never apply.
fn check_all_is_last(lists: &[&[String]], field: &str, state: &str) -> Result<(), DefinitionError> {
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
