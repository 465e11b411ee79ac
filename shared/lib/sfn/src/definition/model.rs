//! The typed definition: states in one arena, their scopes, and what each state holds.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use rust_decimal::Decimal;
use serde_json::Value;
use time::OffsetDateTime;

use crate::choice::ChoiceRule;

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
    pub(super) fn document(message: impl Into<String>) -> DefinitionError {
        DefinitionError {
            state: None,
            message: message.into(),
        }
    }

    pub(super) fn in_state(state: &str, message: impl Into<String>) -> DefinitionError {
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

pub(super) fn error_at(state: Option<&str>, message: impl Into<String>) -> DefinitionError {
    match state {
        Some(name) => DefinitionError::in_state(name, message),
        None => DefinitionError::document(message),
    }
}

#[derive(Debug, Clone)]
pub struct Definition {
    pub comment: Option<String>,
    /// The whole execution's limit (`TimeoutSeconds` at the top level).
    pub timeout_seconds: Option<u64>,
    pub scopes: Vec<Scope>,
    pub states: Vec<State>,
    pub(super) by_name: HashMap<String, StateId>,
    pub(super) source: Arc<str>,
}

impl Definition {
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
