//! The interpreter: one driver task per running execution.
//!
//! An execution is a set of runs — the top level, each Parallel branch, each Map iteration —
//! each with a parent pointer and a step (about to enter a state, waiting on a task, a timer or
//! its children). All of it is plain data ([`RunState`]), so a checkpoint serialises it and a
//! restarted process continues from it. Synchronous states (Pass, Choice, ...) run back to back
//! in the driver without awaiting anything; tasks run as spawned futures whose completions come
//! back to the driver, as do timers and the engine's signals (task tokens, stop).
//!
//! Checkpoints are written when the execution starts, when it suspends (a task token handed
//! out, a Wait or a retry back-off of a second or more), and when it ends — not at every
//! transition. A crash loses only the work since the last checkpoint, which is re-run on
//! resume (tasks are at-least-once, as in AWS).

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::{AbortHandle, JoinError, JoinHandle, JoinSet};
use tokio::time::{Instant, sleep_until};

use crate::clock::{Clock, format_timestamp};
use crate::definition::{
    DataPath, Definition, FailText, Jitter, Resource, ResultPath, Retrier, Seconds, State, StateId,
    StateKind, WaitFor, error_matches,
};
use crate::execution::{
    EngineError, ExecutionDescription, ExecutionStatus, ROLE_ARN, machine_name_of,
};
use crate::history::{EventDetails, EventType, HistoryEvent, json_text};
use crate::persist::{ExecutionStore, PersistError, StoredExecution};
use crate::task::{TaskFailure, TaskHandler, TaskRequest, lambda_function_name};
use crate::{intrinsics, path, payload};

pub(crate) type RunId = u64;

/// Steps a driver takes before it lets other tasks run (a looping machine must not hold a
/// worker thread, nor its execution's lock, for long).
const BURST: usize = 512;
/// Waits at least this long are worth a checkpoint: a restart then resumes the wait instead of
/// re-running the states before it.
const CHECKPOINT_WAIT: Duration = Duration::from_secs(1);
/// Retry delays are capped here, whatever the definition's backoff computes.
const MAX_RETRY_DELAY_SECONDS: u64 = 31_622_400;
const CHECKPOINT_ATTEMPTS: u32 = 4;

/// The interpreter's position: everything a restarted process needs to continue.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct RunState {
    runs: BTreeMap<RunId, Run>,
    next_run: RunId,
    /// Source of invocation and timer sequence numbers, which tell a current completion or
    /// timer from a stale one.
    next_seq: u64,
}

impl RunState {
    pub(crate) fn start(start_at: StateId, input: Value, started_event: u64) -> RunState {
        let top = Run {
            parent: None,
            last_event: started_event,
            step: Step::Enter {
                state: start_at,
                input,
            },
        };
        RunState {
            runs: BTreeMap::from([(0, top)]),
            next_run: 1,
            next_seq: 0,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Run {
    parent: Option<Parent>,
    /// This run's latest event: the `previousEventId` of its next one.
    last_event: u64,
    step: Step,
}

/// The Parallel or Map run a branch or iteration reports to, and its slot in the result.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Parent {
    run: RunId,
    slot: usize,
}

#[derive(Debug, Serialize, Deserialize)]
enum Step {
    /// Taken out for processing; never seen outside the driver's own methods.
    Busy,
    Enter {
        state: StateId,
        input: Value,
    },
    /// Run the state's work again (after a retry back-off, or after a restart interrupted it).
    Again {
        visit: Visit,
        token: Option<String>,
    },
    Task(Box<TaskStep>),
    Wait {
        state: StateId,
        output: Value,
        until: Deadline,
    },
    Backoff {
        visit: Visit,
        until: Deadline,
    },
    Fanout(Box<Fanout>),
}

/// One entry into a state that can be retried (Task, Parallel, Map).
#[derive(Debug, Serialize, Deserialize)]
struct Visit {
    state: StateId,
    /// The raw state input: ResultPath, Catch and retries start from it.
    input: Value,
    #[serde(with = "time::serde::rfc3339")]
    entered: OffsetDateTime,
    /// Attempts used per retrier.
    attempts: Vec<u32>,
    retry_count: u32,
}

#[derive(Debug, Serialize, Deserialize)]
struct TaskStep {
    visit: Visit,
    token: Option<String>,
    /// The handler returned for a token task: only the token's answer completes it now.
    awaiting_token: bool,
    timeout: Option<Deadline>,
    heartbeat: Option<Deadline>,
    heartbeat_seconds: Option<u64>,
    attempt: u64,
    #[serde(skip)]
    abort: Option<AbortHandle>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Fanout {
    visit: Visit,
    results: Vec<Value>,
    /// Children started and not finished.
    pending: usize,
    /// Map: the input of each iteration not started yet (taken when it starts).
    items: Vec<Value>,
    next_item: usize,
    /// Map's MaxConcurrency; 0 = no limit.
    limit: usize,
}

/// A wall-clock deadline (persisted) and the sequence number of the timer armed for it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Deadline {
    #[serde(with = "time::serde::rfc3339")]
    at: OffsetDateTime,
    timer: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum TimerKind {
    Execution,
    Wake,
    TaskTimeout,
    Heartbeat,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Timer {
    at: Instant,
    seq: u64,
    run: RunId,
    kind: TimerKind,
}

/// What readers of a running execution see; the driver updates it as it goes.
pub(crate) struct Shared {
    pub(crate) record: ExecutionDescription,
    /// Events not yet written to the store.
    pub(crate) events: Vec<HistoryEvent>,
    pub(crate) persisted_events: u64,
    /// The final checkpoint is being written: the history is complete once it is stored.
    pub(crate) completing: bool,
}

impl Shared {
    fn last_event_id(&self) -> u64 {
        self.persisted_events + self.events.len() as u64
    }
}

pub(crate) type Reply = oneshot::Sender<Result<(), EngineError>>;

pub(crate) enum Signal {
    TaskSuccess {
        token: String,
        output: Value,
        reply: Reply,
    },
    TaskFailure {
        token: String,
        failure: TaskFailure,
        reply: Reply,
    },
    Heartbeat {
        token: String,
        reply: Reply,
    },
    Stop {
        error: Option<String>,
        cause: Option<String>,
        reply: oneshot::Sender<()>,
    },
}

/// What drivers share with the engine.
pub(crate) struct Services {
    pub(crate) store: Arc<dyn ExecutionStore>,
    pub(crate) handlers: RwLock<HashMap<String, Arc<dyn TaskHandler>>>,
    pub(crate) clock: Clock,
}

/// A running execution as the engine holds it.
pub(crate) struct LiveHandle {
    pub(crate) inbox: mpsc::UnboundedSender<Signal>,
    pub(crate) shared: Arc<Mutex<Shared>>,
    pub(crate) done: watch::Receiver<bool>,
    pub(crate) task: JoinHandle<()>,
}

pub(crate) type LiveMap = Mutex<HashMap<String, LiveHandle>>;

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A task token: the execution's ARN and a random nonce, so the engine finds the execution
/// from the token alone, also after a restart.
pub(crate) fn new_token(execution_arn: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{execution_arn}#{}", uuid::Uuid::new_v4().simple()))
}

/// The execution ARN a token belongs to; `InvalidToken` when it is not one of ours.
pub(crate) fn token_execution(token: &str) -> Result<String, EngineError> {
    let invalid = || EngineError::InvalidToken("not a task token of this engine".into());
    let text = URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(invalid)?;
    let (arn, nonce) = text.rsplit_once('#').ok_or_else(invalid)?;
    let well_formed = arn.starts_with("arn:aws:states:")
        && arn.contains(":execution:")
        && nonce.len() == 32
        && nonce.bytes().all(|b| b.is_ascii_hexdigit());
    if well_formed {
        Ok(arn.to_string())
    } else {
        Err(invalid())
    }
}

enum Outcome {
    Succeeded(Value),
    Failed(TaskFailure),
    TimedOut,
    Aborted {
        error: Option<String>,
        cause: Option<String>,
    },
}

struct Invocation {
    run: RunId,
    attempt: u64,
    request: TaskRequest,
}

struct Completion {
    run: RunId,
    attempt: u64,
    result: Result<Value, TaskFailure>,
}

enum Wakeup {
    Signal(Signal),
    Joined(Result<Completion, JoinError>),
    Timer,
}

/// Everything needed to drive an execution from a (new or stored) run state.
pub(crate) struct Launch {
    pub(crate) services: Arc<Services>,
    pub(crate) live: Weak<LiveMap>,
    pub(crate) definition: Arc<Definition>,
    pub(crate) record: ExecutionDescription,
    pub(crate) run_state: RunState,
    pub(crate) version: u64,
    pub(crate) expired_tokens: Vec<String>,
    pub(crate) persisted_events: u64,
}

pub(crate) struct Driver {
    services: Arc<Services>,
    live: Weak<LiveMap>,
    definition: Arc<Definition>,
    arn: String,
    shared: Arc<Mutex<Shared>>,
    inbox: mpsc::UnboundedReceiver<Signal>,
    done: watch::Sender<bool>,
    version: u64,
    expired_tokens: Vec<String>,
    state: RunState,
    ready: VecDeque<RunId>,
    to_invoke: Vec<Invocation>,
    inflight: JoinSet<Completion>,
    timers: BinaryHeap<Reverse<Timer>>,
    tokens: HashMap<String, RunId>,
    checkpoint_due: bool,
    outcome: Option<Outcome>,
    stop_replies: Vec<oneshot::Sender<()>>,
}

/// Starts driving an execution; the caller registers the handle in the live map (holding its
/// lock, so the driver cannot deregister before it is registered).
pub(crate) fn launch(launch: Launch) -> LiveHandle {
    let (inbox_tx, inbox) = mpsc::unbounded_channel();
    let (done, done_rx) = watch::channel(false);
    let shared = Arc::new(Mutex::new(Shared {
        record: launch.record,
        events: Vec::new(),
        persisted_events: launch.persisted_events,
        completing: false,
    }));
    let arn = lock(&shared).record.execution_arn.clone();
    let mut driver = Driver {
        services: launch.services,
        live: launch.live,
        definition: launch.definition,
        arn,
        shared: shared.clone(),
        inbox,
        done,
        version: launch.version,
        expired_tokens: launch.expired_tokens,
        state: launch.run_state,
        ready: VecDeque::new(),
        to_invoke: Vec::new(),
        inflight: JoinSet::new(),
        timers: BinaryHeap::new(),
        tokens: HashMap::new(),
        checkpoint_due: false,
        outcome: None,
        stop_replies: Vec::new(),
    };
    driver.arm_restored();
    LiveHandle {
        inbox: inbox_tx,
        shared,
        done: done_rx,
        task: tokio::spawn(driver.run()),
    }
}

fn select_data<'a>(
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

fn select_owned(path: &DataPath, input: Value, context: &Value) -> Result<Value, TaskFailure> {
    match path {
        DataPath::Whole => Ok(input),
        DataPath::Empty => Ok(Value::Object(Map::new())),
        DataPath::Path(p) => Ok(path::select(p, &input, context)?),
    }
}

fn place_result(
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

fn runtime_failure(cause: impl Into<String>) -> TaskFailure {
    TaskFailure::new("States.Runtime", cause)
}

/// A `*Path` number from the state input.
fn resolve_number(
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

fn fail_text(text: &FailText, input: &Value, context: &Value) -> Result<String, TaskFailure> {
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

fn retry_delay(retrier: &Retrier, attempt: u32) -> Duration {
    let cap = retrier
        .max_delay_seconds
        .map_or(MAX_RETRY_DELAY_SECONDS, |max| {
            max.min(MAX_RETRY_DELAY_SECONDS)
        });
    let cap_ms = Decimal::from(cap) * Decimal::ONE_THOUSAND;
    // interval × rate^attempt, in exact decimals; stop multiplying once past the cap.
    let mut delay_ms = Decimal::from(retrier.interval_seconds) * Decimal::ONE_THOUSAND;
    for _ in 0..attempt {
        if delay_ms >= cap_ms {
            break;
        }
        delay_ms = delay_ms.saturating_mul(retrier.backoff_rate);
    }
    let capped_ms = delay_ms.min(cap_ms).round().to_u64().unwrap_or(cap * 1000);
    let ms = match retrier.jitter {
        Jitter::None => capped_ms,
        Jitter::Full => rand::rng().random_range(0..=capped_ms),
    };
    Duration::from_millis(ms)
}

/// The `lambda:invoke` integration's result: the Invoke API response around the output.
fn lambda_invoke_response(output: Value) -> Value {
    let request_id = uuid::Uuid::new_v4().to_string();
    let mut headers = Map::new();
    headers.insert("Content-Type".into(), "application/json".into());
    headers.insert("X-Amz-Executed-Version".into(), "$LATEST".into());
    headers.insert("x-amzn-RequestId".into(), request_id.clone().into());
    let mut http = Map::new();
    http.insert("AllHttpHeaders".into(), Value::Object(Map::new()));
    http.insert("HttpHeaders".into(), Value::Object(headers));
    http.insert("HttpStatusCode".into(), 200.into());
    let mut sdk = Map::new();
    sdk.insert("RequestId".into(), request_id.into());
    let mut response = Map::new();
    response.insert("ExecutedVersion".into(), "$LATEST".into());
    response.insert("Payload".into(), output);
    response.insert("SdkHttpMetadata".into(), Value::Object(http));
    response.insert("SdkResponseMetadata".into(), Value::Object(sdk));
    response.insert("StatusCode".into(), 200.into());
    Value::Object(response)
}

fn entered_event(kind: &StateKind) -> EventType {
    match kind {
        StateKind::Pass { .. } => EventType::PassStateEntered,
        StateKind::Task(_) => EventType::TaskStateEntered,
        StateKind::Choice { .. } => EventType::ChoiceStateEntered,
        StateKind::Wait(_) => EventType::WaitStateEntered,
        StateKind::Succeed => EventType::SucceedStateEntered,
        StateKind::Fail { .. } => EventType::FailStateEntered,
        StateKind::Parallel { .. } => EventType::ParallelStateEntered,
        StateKind::Map(_) => EventType::MapStateEntered,
    }
}

fn exited_event(kind: &StateKind) -> EventType {
    match kind {
        StateKind::Pass { .. } => EventType::PassStateExited,
        StateKind::Task(_) => EventType::TaskStateExited,
        StateKind::Choice { .. } => EventType::ChoiceStateExited,
        StateKind::Wait(_) => EventType::WaitStateExited,
        StateKind::Succeed => EventType::SucceedStateExited,
        StateKind::Fail { .. } => unreachable!("a Fail state ends its run without exiting"),
        StateKind::Parallel { .. } => EventType::ParallelStateExited,
        StateKind::Map(_) => EventType::MapStateExited,
    }
}

fn aborted_event(kind: &StateKind) -> Option<EventType> {
    match kind {
        StateKind::Task(_) => Some(EventType::TaskStateAborted),
        StateKind::Wait(_) => Some(EventType::WaitStateAborted),
        StateKind::Parallel { .. } => Some(EventType::ParallelStateAborted),
        StateKind::Map(_) => Some(EventType::MapStateAborted),
        _ => None,
    }
}

fn resource_name(resource: &Resource) -> &'static str {
    match resource {
        Resource::LambdaInvokeWaitForTaskToken => "invoke.waitForTaskToken",
        _ => "invoke",
    }
}

fn optional(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

impl Driver {
    /// Re-creates what is not persisted — ready queue, timers, token index — from the run
    /// state, re-invoking tasks whose handler had not answered when it was saved.
    fn arm_restored(&mut self) {
        if let Some(seconds) = self.definition.timeout_seconds {
            let start = lock(&self.shared).record.start_date;
            let at = start + Duration::from_secs(seconds);
            self.timers.push(Reverse(Timer {
                at: self.services.clock.instant_of(at),
                seq: 0,
                run: 0,
                kind: TimerKind::Execution,
            }));
        }
        let ids: Vec<RunId> = self.state.runs.keys().copied().collect();
        for id in ids {
            let run = self.state.runs.get_mut(&id).expect("listed run");
            let mut timers = Vec::new();
            match &mut run.step {
                Step::Enter { .. } | Step::Again { .. } => self.ready.push_back(id),
                Step::Wait { until, .. } | Step::Backoff { until, .. } => {
                    timers.push((TimerKind::Wake, *until));
                }
                Step::Task(task) if task.awaiting_token => {
                    if let Some(token) = &task.token {
                        self.tokens.insert(token.clone(), id);
                    }
                    timers.extend(task.timeout.map(|d| (TimerKind::TaskTimeout, d)));
                    timers.extend(task.heartbeat.map(|d| (TimerKind::Heartbeat, d)));
                }
                Step::Task(_) => {
                    let Step::Task(task) = std::mem::replace(&mut run.step, Step::Busy) else {
                        unreachable!("matched a task step")
                    };
                    run.step = Step::Again {
                        visit: task.visit,
                        token: task.token,
                    };
                    self.ready.push_back(id);
                }
                Step::Fanout(_) | Step::Busy => {}
            }
            for (kind, deadline) in timers {
                self.timers.push(Reverse(Timer {
                    at: self.services.clock.instant_of(deadline.at),
                    seq: deadline.timer,
                    run: id,
                    kind,
                }));
            }
        }
    }

    async fn run(mut self) {
        loop {
            let exhausted = {
                let shared = self.shared.clone();
                let mut shared = lock(&shared);
                self.fire_due_timers(&mut shared);
                self.process_ready(&mut shared)
            };
            if self.outcome.is_some() {
                self.finalize().await;
                return;
            }
            if self.checkpoint_due && !self.checkpoint().await {
                return;
            }
            self.spawn_invocations();
            if exhausted {
                tokio::task::yield_now().await;
                // A machine that loops without waiting still answers signals (stop).
                if !self.take_arrivals() {
                    return;
                }
                continue;
            }
            let wake = self.timers.peek().map(|Reverse(timer)| timer.at);
            let wakeup = tokio::select! {
                signal = self.inbox.recv() => match signal {
                    Some(signal) => Wakeup::Signal(signal),
                    // The engine is gone (shut down or dropped): stop here; the stored
                    // checkpoint is where a resumed process continues.
                    None => return,
                },
                Some(joined) = self.inflight.join_next(), if !self.inflight.is_empty() => {
                    Wakeup::Joined(joined)
                }
                () = sleep_until(wake.unwrap_or_else(Instant::now)), if wake.is_some() => {
                    Wakeup::Timer
                }
            };
            {
                let shared = self.shared.clone();
                let mut shared = lock(&shared);
                match wakeup {
                    Wakeup::Signal(signal) => self.on_signal(&mut shared, signal),
                    Wakeup::Joined(joined) => self.on_joined(&mut shared, joined),
                    Wakeup::Timer => {}
                }
            }
            // Take what else has arrived, so one checkpoint covers it.
            if !self.take_arrivals() {
                return;
            }
        }
    }

    /// Handles the completions and signals that have arrived, without waiting. `false`: the
    /// engine is gone.
    fn take_arrivals(&mut self) -> bool {
        let shared = self.shared.clone();
        let mut shared = lock(&shared);
        while let Some(joined) = self.inflight.try_join_next() {
            self.on_joined(&mut shared, joined);
        }
        loop {
            match self.inbox.try_recv() {
                Ok(signal) => self.on_signal(&mut shared, signal),
                Err(mpsc::error::TryRecvError::Empty) => return true,
                Err(mpsc::error::TryRecvError::Disconnected) => return false,
            }
        }
    }

    /// Runs ready steps until none is left or the burst is used up (then `true`).
    fn process_ready(&mut self, shared: &mut Shared) -> bool {
        let mut budget = BURST;
        while self.outcome.is_none() {
            let Some(id) = self.ready.pop_front() else {
                return false;
            };
            let Some(run) = self.state.runs.get_mut(&id) else {
                continue;
            };
            match std::mem::replace(&mut run.step, Step::Busy) {
                Step::Enter { state, input } => self.enter(shared, id, state, input),
                Step::Again { visit, token } => self.attempt(shared, id, visit, token),
                // Already moved on (a run queued twice): leave it as it is.
                other => run.step = other,
            }
            budget -= 1;
            if budget == 0 {
                return !self.ready.is_empty();
            }
        }
        false
    }

    fn next_seq(&mut self) -> u64 {
        self.state.next_seq += 1;
        self.state.next_seq
    }

    fn set_step(&mut self, id: RunId, step: Step) {
        if let Some(run) = self.state.runs.get_mut(&id) {
            run.step = step;
        }
    }

    fn take_step(&mut self, id: RunId) -> Step {
        match self.state.runs.get_mut(&id) {
            Some(run) => std::mem::replace(&mut run.step, Step::Busy),
            None => Step::Busy,
        }
    }

    fn continue_at(&mut self, id: RunId, state: StateId, input: Value) {
        self.set_step(id, Step::Enter { state, input });
        self.ready.push_back(id);
    }

    fn emit(
        &mut self,
        shared: &mut Shared,
        id: RunId,
        event_type: EventType,
        details: EventDetails,
    ) {
        let previous = self.state.runs.get(&id).map_or(0, |run| run.last_event);
        let event_id = self.emit_after(shared, previous, event_type, details);
        if let Some(run) = self.state.runs.get_mut(&id) {
            run.last_event = event_id;
        }
    }

    fn emit_after(
        &self,
        shared: &mut Shared,
        previous: u64,
        event_type: EventType,
        details: EventDetails,
    ) -> u64 {
        let id = shared.last_event_id() + 1;
        shared.events.push(HistoryEvent {
            id,
            previous_event_id: previous,
            timestamp: self.services.clock.now(),
            event_type,
            details,
        });
        id
    }

    fn arm(&mut self, run: RunId, kind: TimerKind, delay: Duration) -> Deadline {
        let timer = self.next_seq();
        self.timers.push(Reverse(Timer {
            at: Instant::now() + delay,
            seq: timer,
            run,
            kind,
        }));
        Deadline {
            at: self.services.clock.now() + delay,
            timer,
        }
    }

    fn context(
        &self,
        shared: &Shared,
        state: &State,
        entered: OffsetDateTime,
        retry_count: u32,
        token: Option<&str>,
    ) -> Value {
        let record = &shared.record;
        let mut execution = Map::new();
        execution.insert("Id".into(), record.execution_arn.clone().into());
        execution.insert("Input".into(), record.input.clone());
        execution.insert("Name".into(), record.name.clone().into());
        execution.insert("RoleArn".into(), ROLE_ARN.into());
        execution.insert(
            "StartTime".into(),
            format_timestamp(record.start_date).into(),
        );
        execution.insert("RedriveCount".into(), 0.into());
        let mut state_object = Map::new();
        state_object.insert("EnteredTime".into(), format_timestamp(entered).into());
        state_object.insert("Name".into(), Value::from(&*state.name));
        state_object.insert("RetryCount".into(), retry_count.into());
        let mut machine = Map::new();
        machine.insert("Id".into(), record.state_machine_arn.clone().into());
        machine.insert(
            "Name".into(),
            machine_name_of(&record.state_machine_arn).into(),
        );
        let mut context = Map::new();
        context.insert("Execution".into(), Value::Object(execution));
        context.insert("State".into(), Value::Object(state_object));
        context.insert("StateMachine".into(), Value::Object(machine));
        if let Some(token) = token {
            let mut task = Map::new();
            task.insert("Token".into(), token.into());
            context.insert("Task".into(), Value::Object(task));
        }
        Value::Object(context)
    }

    fn context_for_entry(&self, shared: &Shared, state: &State) -> Value {
        if state.uses_context {
            self.context(shared, state, self.services.clock.now(), 0, None)
        } else {
            Value::Null
        }
    }

    fn enter(&mut self, shared: &mut Shared, id: RunId, state_id: StateId, input: Value) {
        let definition = self.definition.clone();
        let state = &definition.states[state_id];
        shared.record.state_transitions += 1;
        self.emit(
            shared,
            id,
            entered_event(&state.kind),
            EventDetails::StateEntered {
                name: state.name.clone(),
                input: json_text(&input),
            },
        );
        match &state.kind {
            StateKind::Pass { result } => {
                let context = self.context_for_entry(shared, state);
                match pass(state, result.as_ref(), input, &context) {
                    Ok(output) => self.transition(shared, id, state, output),
                    Err(failure) => self.finish_run(shared, id, Err(failure)),
                }
            }
            StateKind::Choice { choices, default } => {
                let context = self.context_for_entry(shared, state);
                let chosen = select_owned(&state.input_path, input, &context).and_then(|input| {
                    for branch in choices {
                        if branch.rule.matches(&input, &context)? {
                            return Ok((branch.next, input));
                        }
                    }
                    match default {
                        Some(default) => Ok((*default, input)),
                        None => Err(TaskFailure::new(
                            "States.NoChoiceMatched",
                            format!(
                                "no choice rule of \"{}\" matched and it has no Default",
                                state.name
                            ),
                        )),
                    }
                });
                let chosen = chosen.and_then(|(next, input)| {
                    Ok((next, select_owned(&state.output_path, input, &context)?))
                });
                match chosen {
                    Ok((next, output)) => {
                        self.emit(
                            shared,
                            id,
                            EventType::ChoiceStateExited,
                            EventDetails::StateExited {
                                name: state.name.clone(),
                                output: json_text(&output),
                            },
                        );
                        self.continue_at(id, next, output);
                    }
                    Err(failure) => self.finish_run(shared, id, Err(failure)),
                }
            }
            StateKind::Wait(wait) => {
                let context = self.context_for_entry(shared, state);
                match self.wait_until(state, wait, input, &context) {
                    Ok((delay, output)) if delay.is_zero() => {
                        self.transition(shared, id, state, output);
                    }
                    Ok((delay, output)) => {
                        let until = self.arm(id, TimerKind::Wake, delay);
                        self.set_step(
                            id,
                            Step::Wait {
                                state: state_id,
                                output,
                                until,
                            },
                        );
                        self.checkpoint_due |= delay >= CHECKPOINT_WAIT;
                    }
                    Err(failure) => self.finish_run(shared, id, Err(failure)),
                }
            }
            StateKind::Succeed => {
                let context = self.context_for_entry(shared, state);
                let output = select_owned(&state.input_path, input, &context)
                    .and_then(|input| select_owned(&state.output_path, input, &context));
                match output {
                    Ok(output) => {
                        self.emit(
                            shared,
                            id,
                            EventType::SucceedStateExited,
                            EventDetails::StateExited {
                                name: state.name.clone(),
                                output: json_text(&output),
                            },
                        );
                        self.finish_run(shared, id, Ok(output));
                    }
                    Err(failure) => self.finish_run(shared, id, Err(failure)),
                }
            }
            StateKind::Fail { error, cause } => {
                let context = self.context_for_entry(shared, state);
                let failure = fail_text(error, &input, &context).and_then(|error| {
                    Ok(TaskFailure::new(error, fail_text(cause, &input, &context)?))
                });
                let failure = failure.unwrap_or_else(|failure| failure);
                self.finish_run(shared, id, Err(failure));
            }
            StateKind::Task(_) | StateKind::Parallel { .. } | StateKind::Map(_) => {
                let visit = Visit {
                    state: state_id,
                    input,
                    entered: self.services.clock.now(),
                    attempts: vec![0; state.retry.len()],
                    retry_count: 0,
                };
                self.attempt(shared, id, visit, None);
            }
        }
    }

    fn wait_until(
        &self,
        state: &State,
        wait: &WaitFor,
        input: Value,
        context: &Value,
    ) -> Result<(Duration, Value), TaskFailure> {
        let input = select_owned(&state.input_path, input, context)?;
        let now = self.services.clock.now();
        let until_timestamp = |at: OffsetDateTime| Duration::try_from(at - now).unwrap_or_default();
        let delay = match wait {
            WaitFor::Seconds(seconds) => Duration::from_secs(*seconds),
            WaitFor::SecondsPath(p) => match path::select(p, &input, context)?.as_u64() {
                Some(seconds) => Duration::from_secs(seconds),
                None => {
                    return Err(runtime_failure(format!(
                        "SecondsPath \"{p}\" does not select a non-negative integer"
                    )));
                }
            },
            WaitFor::Timestamp(at) => until_timestamp(*at),
            WaitFor::TimestampPath(p) => {
                let value = path::select(p, &input, context)?;
                let at = value
                    .as_str()
                    .and_then(|text| OffsetDateTime::parse(text, &Rfc3339).ok())
                    .ok_or_else(|| {
                        runtime_failure(format!(
                            "TimestampPath \"{p}\" selects {value}, not an RFC 3339 timestamp"
                        ))
                    })?;
                until_timestamp(at)
            }
        };
        Ok((delay, select_owned(&state.output_path, input, context)?))
    }

    /// Leaves a state with its output: on to `Next`, or the end of the run.
    fn transition(&mut self, shared: &mut Shared, id: RunId, state: &State, output: Value) {
        let text = json_text(&output);
        let what = || format!("the output of state '{}'", state.name);
        if let Err(e) = payload::size_within_quota(text.len(), what) {
            return self.finish_run(shared, id, Err(e.into()));
        }
        self.emit(
            shared,
            id,
            exited_event(&state.kind),
            EventDetails::StateExited {
                name: state.name.clone(),
                output: text,
            },
        );
        match state.next {
            Some(next) => self.continue_at(id, next, output),
            None => self.finish_run(shared, id, Ok(output)),
        }
    }

    /// Runs (or re-runs, after a retry or a restart) the work of a Task, Parallel or Map state.
    fn attempt(&mut self, shared: &mut Shared, id: RunId, visit: Visit, token: Option<String>) {
        let definition = self.definition.clone();
        match &definition.states[visit.state].kind {
            StateKind::Task(_) => self.start_task(shared, id, visit, token),
            StateKind::Parallel { branches } => self.start_parallel(shared, id, visit, branches),
            StateKind::Map(_) => self.start_map(shared, id, visit),
            _ => unreachable!("only Task, Parallel and Map states are attempted"),
        }
    }

    fn start_task(&mut self, shared: &mut Shared, id: RunId, visit: Visit, token: Option<String>) {
        let definition = self.definition.clone();
        let state = &definition.states[visit.state];
        let StateKind::Task(task) = &state.kind else {
            unreachable!("start_task runs Task states")
        };
        let token = token.or_else(|| {
            task.resource
                .waits_for_task_token()
                .then(|| new_token(&self.arn))
        });
        let context = if state.uses_context {
            self.context(
                shared,
                state,
                visit.entered,
                visit.retry_count,
                token.as_deref(),
            )
        } else {
            Value::Null
        };
        let prepared = (|| {
            let effective = select_data(&state.input_path, &visit.input, &context)?;
            let parameters = match &state.parameters {
                Some(template) => payload::render(template, &effective, &context)?,
                None => effective.into_owned(),
            };
            payload::within_quota(&parameters, || {
                format!("the input of state '{}'", state.name)
            })?;
            let timeout = resolve_number(
                task.timeout.as_ref(),
                &visit.input,
                &context,
                "TimeoutSecondsPath",
            )?;
            let heartbeat = resolve_number(
                task.heartbeat.as_ref(),
                &visit.input,
                &context,
                "HeartbeatSecondsPath",
            )?;
            Ok::<_, TaskFailure>((parameters, timeout, heartbeat))
        })();
        let (mut parameters, timeout, heartbeat) = match prepared {
            Ok(prepared) => prepared,
            Err(failure) => return self.state_failed(shared, id, visit, failure),
        };
        let (function, payload) = match &task.resource {
            Resource::LambdaFunction { arn, function } => {
                self.emit(
                    shared,
                    id,
                    EventType::LambdaFunctionScheduled,
                    EventDetails::LambdaFunctionScheduled {
                        resource: arn.clone(),
                        input: json_text(&parameters),
                        timeout_seconds: timeout,
                    },
                );
                self.emit(
                    shared,
                    id,
                    EventType::LambdaFunctionStarted,
                    EventDetails::None,
                );
                (function.clone(), parameters)
            }
            resource => {
                self.emit(
                    shared,
                    id,
                    EventType::TaskScheduled,
                    EventDetails::TaskScheduled {
                        resource: resource_name(resource).into(),
                        parameters: json_text(&parameters),
                        timeout_seconds: timeout,
                        heartbeat_seconds: heartbeat,
                    },
                );
                self.emit(
                    shared,
                    id,
                    EventType::TaskStarted,
                    EventDetails::TaskStarted {
                        resource: resource_name(resource).into(),
                    },
                );
                let function = match parameters.get("FunctionName") {
                    Some(Value::String(name)) => {
                        lambda_function_name(name).map_or_else(|| name.clone(), str::to_string)
                    }
                    other => other.map(Value::to_string).unwrap_or_default(),
                };
                let payload = parameters
                    .as_object_mut()
                    .and_then(|p| p.remove("Payload"))
                    .unwrap_or_else(|| Value::Object(Map::new()));
                (function, payload)
            }
        };
        let timeout = timeout.map(|s| self.arm(id, TimerKind::TaskTimeout, Duration::from_secs(s)));
        let heartbeat_seconds = heartbeat.filter(|_| token.is_some());
        let heartbeat =
            heartbeat_seconds.map(|s| self.arm(id, TimerKind::Heartbeat, Duration::from_secs(s)));
        let attempt = self.next_seq();
        if let Some(token) = &token {
            self.tokens.insert(token.clone(), id);
            // The token must be stored before anyone can hold it.
            self.checkpoint_due = true;
        }
        self.to_invoke.push(Invocation {
            run: id,
            attempt,
            request: TaskRequest {
                function,
                payload,
                task_token: token.clone(),
                execution_arn: self.arn.clone(),
                state_name: state.name.to_string(),
            },
        });
        self.set_step(
            id,
            Step::Task(Box::new(TaskStep {
                visit,
                token,
                awaiting_token: false,
                timeout,
                heartbeat,
                heartbeat_seconds,
                attempt,
                abort: None,
            })),
        );
    }

    fn spawn_invocations(&mut self) {
        for Invocation {
            run,
            attempt,
            request,
        } in std::mem::take(&mut self.to_invoke)
        {
            let handler = self
                .services
                .handlers
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .get(&request.function)
                .cloned();
            let abort = self.inflight.spawn(async move {
                let result = match handler {
                    Some(handler) => handler.invoke(request).await,
                    None => Err(TaskFailure::new(
                        "Lambda.ResourceNotFoundException",
                        format!(
                            "Function not found: no handler is registered for function \"{}\"",
                            request.function
                        ),
                    )),
                };
                Completion {
                    run,
                    attempt,
                    result,
                }
            });
            if let Some(Run {
                step: Step::Task(task),
                ..
            }) = self.state.runs.get_mut(&run)
                && task.attempt == attempt
            {
                task.abort = Some(abort);
            }
        }
    }

    fn on_joined(&mut self, shared: &mut Shared, joined: Result<Completion, JoinError>) {
        match joined {
            Ok(Completion {
                run,
                attempt,
                result,
            }) => self.task_returned(shared, run, attempt, result),
            Err(e) if e.is_cancelled() => {}
            Err(e) => {
                let panicked = self
                    .state
                    .runs
                    .iter()
                    .find_map(|(id, run)| match &run.step {
                        Step::Task(task)
                            if task.abort.as_ref().is_some_and(|a| a.id() == e.id()) =>
                        {
                            Some((*id, task.attempt))
                        }
                        _ => None,
                    });
                if let Some((run, attempt)) = panicked {
                    let failure =
                        TaskFailure::new("Lambda.Unknown", format!("the handler panicked: {e}"));
                    self.task_returned(shared, run, attempt, Err(failure));
                }
            }
        }
    }

    fn current_task(&mut self, id: RunId, attempt: u64) -> Option<&mut TaskStep> {
        match self.state.runs.get_mut(&id) {
            Some(Run {
                step: Step::Task(task),
                ..
            }) if task.attempt == attempt => Some(task),
            _ => None,
        }
    }

    fn task_returned(
        &mut self,
        shared: &mut Shared,
        id: RunId,
        attempt: u64,
        result: Result<Value, TaskFailure>,
    ) {
        let Some(task) = self.current_task(id, attempt) else {
            // The task timed out, was answered by its token, or its run was aborted.
            return;
        };
        match result {
            Ok(output) if task.token.is_some() => {
                task.awaiting_token = true;
                task.abort = None;
                let state_id = task.visit.state;
                self.checkpoint_due = true;
                let definition = self.definition.clone();
                let resource = match &definition.states[state_id].kind {
                    StateKind::Task(spec) => resource_name(&spec.resource),
                    _ => unreachable!("a task step is in a Task state"),
                };
                self.emit(
                    shared,
                    id,
                    EventType::TaskSubmitted,
                    EventDetails::TaskOutput {
                        resource: resource.into(),
                        output: json_text(&lambda_invoke_response(output)),
                    },
                );
            }
            Ok(output) => self.task_succeeded(shared, id, output),
            Err(failure) => self.task_failed(shared, id, failure),
        }
    }

    fn take_task(&mut self, id: RunId) -> Option<Box<TaskStep>> {
        match self.take_step(id) {
            Step::Task(task) => {
                if let Some(token) = &task.token {
                    self.tokens.remove(token);
                }
                Some(task)
            }
            other => {
                self.set_step(id, other);
                None
            }
        }
    }

    fn task_succeeded(&mut self, shared: &mut Shared, id: RunId, output: Value) {
        let Some(task) = self.take_task(id) else {
            return;
        };
        let definition = self.definition.clone();
        let StateKind::Task(spec) = &definition.states[task.visit.state].kind else {
            unreachable!("a task step is in a Task state")
        };
        let result = match &spec.resource {
            Resource::LambdaFunction { .. } => {
                self.emit(
                    shared,
                    id,
                    EventType::LambdaFunctionSucceeded,
                    EventDetails::LambdaFunctionSucceeded {
                        output: json_text(&output),
                    },
                );
                output
            }
            resource => {
                let result = match resource {
                    Resource::LambdaInvoke => lambda_invoke_response(output),
                    _ => output,
                };
                self.emit(
                    shared,
                    id,
                    EventType::TaskSucceeded,
                    EventDetails::TaskOutput {
                        resource: resource_name(resource).into(),
                        output: json_text(&result),
                    },
                );
                result
            }
        };
        self.state_completed(shared, id, task.visit, result);
    }

    fn task_failed(&mut self, shared: &mut Shared, id: RunId, failure: TaskFailure) {
        let Some(task) = self.take_task(id) else {
            return;
        };
        if let Some(abort) = &task.abort {
            abort.abort();
        }
        self.task_error_event(shared, id, &task, &failure, false);
        self.state_failed(shared, id, task.visit, failure);
    }

    fn task_timed_out(&mut self, shared: &mut Shared, id: RunId, error: &str) {
        let Some(task) = self.take_task(id) else {
            return;
        };
        if let Some(abort) = &task.abort {
            abort.abort();
        }
        if let Some(token) = &task.token {
            self.expired_tokens.push(token.clone());
        }
        let cause = match error {
            "States.HeartbeatTimeout" => "no heartbeat arrived within HeartbeatSeconds",
            _ => "the task did not finish within TimeoutSeconds",
        };
        let failure = TaskFailure::new(error, cause);
        self.task_error_event(shared, id, &task, &failure, true);
        self.state_failed(shared, id, task.visit, failure);
    }

    fn task_error_event(
        &mut self,
        shared: &mut Shared,
        id: RunId,
        task: &TaskStep,
        failure: &TaskFailure,
        timed_out: bool,
    ) {
        let definition = self.definition.clone();
        let StateKind::Task(spec) = &definition.states[task.visit.state].kind else {
            unreachable!("a task step is in a Task state")
        };
        let (event_type, details) = match (&spec.resource, timed_out) {
            (Resource::LambdaFunction { .. }, timed_out) => (
                if timed_out {
                    EventType::LambdaFunctionTimedOut
                } else {
                    EventType::LambdaFunctionFailed
                },
                EventDetails::Error {
                    error: Some(failure.error.clone()),
                    cause: Some(failure.cause.clone()),
                },
            ),
            (resource, timed_out) => (
                if timed_out {
                    EventType::TaskTimedOut
                } else {
                    EventType::TaskFailed
                },
                EventDetails::TaskError {
                    resource: resource_name(resource).into(),
                    error: failure.error.clone(),
                    cause: failure.cause.clone(),
                },
            ),
        };
        self.emit(shared, id, event_type, details);
    }

    /// A Task, Parallel or Map state produced its result: ResultSelector, ResultPath,
    /// OutputPath, then on.
    fn state_completed(&mut self, shared: &mut Shared, id: RunId, visit: Visit, result: Value) {
        let definition = self.definition.clone();
        let state = &definition.states[visit.state];
        if let Err(e) =
            payload::within_quota(&result, || format!("the result of state '{}'", state.name))
        {
            return self.finish_run(shared, id, Err(e.into()));
        }
        let context = if state.uses_context {
            self.context(shared, state, visit.entered, visit.retry_count, None)
        } else {
            Value::Null
        };
        let result = match &state.result_selector {
            Some(selector) => match payload::render(selector, &result, &context) {
                Ok(selected) => selected,
                Err(e) => return self.state_failed(shared, id, visit, e.into()),
            },
            None => result,
        };
        let placed = match &state.result_path {
            // Keep the input for Retry and Catch in case the path cannot be placed.
            ResultPath::At(p) if !state.retry.is_empty() || !state.catch.is_empty() => {
                match path::apply_result_path(visit.input.clone(), p, result) {
                    Ok(output) => output,
                    Err(e) => return self.state_failed(shared, id, visit, e.into()),
                }
            }
            result_path => match place_result(visit.input, result_path, result) {
                Ok(output) => output,
                Err(failure) => return self.finish_run(shared, id, Err(failure)),
            },
        };
        match select_owned(&state.output_path, placed, &context) {
            Ok(output) => self.transition(shared, id, state, output),
            Err(failure) => self.finish_run(shared, id, Err(failure)),
        }
    }

    /// A Task, Parallel or Map state failed: retry, catch, or fail the run.
    fn state_failed(
        &mut self,
        shared: &mut Shared,
        id: RunId,
        mut visit: Visit,
        failure: TaskFailure,
    ) {
        // States.Runtime and States.DataLimitExceeded are terminal: never retried nor caught.
        if failure.error == "States.Runtime" || failure.error == payload::DATA_LIMIT_EXCEEDED {
            return self.finish_run(shared, id, Err(failure));
        }
        let definition = self.definition.clone();
        let state = &definition.states[visit.state];
        if let Some(index) = state
            .retry
            .iter()
            .position(|r| error_matches(&r.error_equals, &failure.error))
        {
            let retrier = &state.retry[index];
            let used = visit.attempts[index];
            if used < retrier.max_attempts {
                let delay = retry_delay(retrier, used);
                visit.attempts[index] += 1;
                visit.retry_count += 1;
                if delay.is_zero() {
                    self.set_step(id, Step::Again { visit, token: None });
                    self.ready.push_back(id);
                } else {
                    let until = self.arm(id, TimerKind::Wake, delay);
                    self.set_step(id, Step::Backoff { visit, until });
                    self.checkpoint_due |= delay >= CHECKPOINT_WAIT;
                }
                return;
            }
        }
        match state
            .catch
            .iter()
            .find(|c| error_matches(&c.error_equals, &failure.error))
        {
            Some(catcher) => {
                let mut error_output = Map::new();
                error_output.insert("Error".into(), failure.error.into());
                error_output.insert("Cause".into(), failure.cause.into());
                match place_result(
                    visit.input,
                    &catcher.result_path,
                    Value::Object(error_output),
                ) {
                    Ok(output) => self.continue_at(id, catcher.next, output),
                    Err(failure) => self.finish_run(shared, id, Err(failure)),
                }
            }
            None => self.finish_run(shared, id, Err(failure)),
        }
    }

    fn start_parallel(&mut self, shared: &mut Shared, id: RunId, visit: Visit, branches: &[usize]) {
        let definition = self.definition.clone();
        let state = &definition.states[visit.state];
        let context = if state.uses_context {
            self.context(shared, state, visit.entered, visit.retry_count, None)
        } else {
            Value::Null
        };
        let input =
            select_data(&state.input_path, &visit.input, &context).and_then(
                |effective| match &state.parameters {
                    Some(template) => Ok(payload::render(template, &effective, &context)?),
                    None => Ok(effective.into_owned()),
                },
            );
        let input = match input {
            Ok(input) => input,
            Err(failure) => return self.state_failed(shared, id, visit, failure),
        };
        self.emit(
            shared,
            id,
            EventType::ParallelStateStarted,
            EventDetails::None,
        );
        self.set_step(
            id,
            Step::Fanout(Box::new(Fanout {
                visit,
                results: vec![Value::Null; branches.len()],
                pending: branches.len(),
                items: Vec::new(),
                next_item: 0,
                limit: 0,
            })),
        );
        for (slot, scope) in branches.iter().enumerate() {
            self.spawn_child(id, slot, definition.scopes[*scope].start_at, input.clone());
        }
    }

    fn start_map(&mut self, shared: &mut Shared, id: RunId, visit: Visit) {
        let definition = self.definition.clone();
        let state = &definition.states[visit.state];
        let StateKind::Map(map) = &state.kind else {
            unreachable!("start_map runs Map states")
        };
        let context = if state.uses_context {
            self.context(shared, state, visit.entered, visit.retry_count, None)
        } else {
            Value::Null
        };
        let prepared = (|| {
            let effective = select_data(&state.input_path, &visit.input, &context)?;
            let items = match &map.items_path {
                Some(p) => path::select(p, &effective, &context)?,
                None => effective.as_ref().clone(),
            };
            let Value::Array(items) = items else {
                return Err(runtime_failure(format!(
                    "the Map state's items ({}) are not an array",
                    map.items_path.as_deref().unwrap_or("$")
                )));
            };
            let limit = resolve_number(
                Some(&map.max_concurrency),
                &effective,
                &context,
                "MaxConcurrencyPath",
            )?
            .unwrap_or(0);
            let inputs = match &map.item_selector {
                None => items,
                Some(selector) => {
                    let mut item_context = context.clone();
                    let mut inputs = Vec::with_capacity(items.len());
                    for (index, item) in items.into_iter().enumerate() {
                        if let Value::Object(context) = &mut item_context {
                            let mut entry = Map::new();
                            entry.insert("Index".into(), index.into());
                            entry.insert("Value".into(), item);
                            let mut map_object = Map::new();
                            map_object.insert("Item".into(), Value::Object(entry));
                            context.insert("Map".into(), Value::Object(map_object));
                        }
                        inputs.push(payload::render(selector, &effective, &item_context)?);
                    }
                    inputs
                }
            };
            Ok::<_, TaskFailure>((inputs, usize::try_from(limit).unwrap_or(usize::MAX)))
        })();
        let (items, limit) = match prepared {
            Ok(prepared) => prepared,
            Err(failure) => return self.state_failed(shared, id, visit, failure),
        };
        self.emit(
            shared,
            id,
            EventType::MapStateStarted,
            EventDetails::MapStateStarted {
                length: items.len() as u64,
            },
        );
        if items.is_empty() {
            self.emit(shared, id, EventType::MapStateSucceeded, EventDetails::None);
            return self.state_completed(shared, id, visit, Value::Array(Vec::new()));
        }
        self.set_step(
            id,
            Step::Fanout(Box::new(Fanout {
                visit,
                results: vec![Value::Null; items.len()],
                pending: 0,
                items,
                next_item: 0,
                limit,
            })),
        );
        self.start_map_items(shared, id);
    }

    /// Starts Map iterations up to MaxConcurrency.
    fn start_map_items(&mut self, shared: &mut Shared, id: RunId) {
        let definition = self.definition.clone();
        loop {
            let Some(Run {
                step: Step::Fanout(fanout),
                ..
            }) = self.state.runs.get_mut(&id)
            else {
                return;
            };
            let saturated = fanout.limit > 0 && fanout.pending >= fanout.limit;
            if fanout.next_item >= fanout.items.len() || saturated {
                return;
            }
            let index = fanout.next_item;
            fanout.next_item += 1;
            fanout.pending += 1;
            let input = std::mem::take(&mut fanout.items[index]);
            let state = &definition.states[fanout.visit.state];
            let StateKind::Map(map) = &state.kind else {
                unreachable!("a map fanout is in a Map state")
            };
            self.emit(
                shared,
                id,
                EventType::MapIterationStarted,
                EventDetails::MapIteration {
                    name: state.name.clone(),
                    index: index as u64,
                },
            );
            self.spawn_child(id, index, definition.scopes[map.processor].start_at, input);
        }
    }

    fn spawn_child(&mut self, parent: RunId, slot: usize, start_at: StateId, input: Value) {
        let id = self.state.next_run;
        self.state.next_run += 1;
        let last_event = self.state.runs.get(&parent).map_or(0, |run| run.last_event);
        self.state.runs.insert(
            id,
            Run {
                parent: Some(Parent { run: parent, slot }),
                last_event,
                step: Step::Enter {
                    state: start_at,
                    input,
                },
            },
        );
        self.ready.push_back(id);
    }

    fn finish_run(&mut self, shared: &mut Shared, id: RunId, result: Result<Value, TaskFailure>) {
        let Some(run) = self.state.runs.remove(&id) else {
            return;
        };
        match run.parent {
            None => {
                self.outcome = Some(match result {
                    Ok(output) => Outcome::Succeeded(output),
                    Err(failure) => Outcome::Failed(failure),
                });
            }
            Some(Parent { run: parent, slot }) => self.child_finished(shared, parent, slot, result),
        }
    }

    fn child_finished(
        &mut self,
        shared: &mut Shared,
        parent: RunId,
        slot: usize,
        result: Result<Value, TaskFailure>,
    ) {
        let definition = self.definition.clone();
        let Some(Run {
            step: Step::Fanout(fanout),
            ..
        }) = self.state.runs.get_mut(&parent)
        else {
            return;
        };
        let state = &definition.states[fanout.visit.state];
        let is_map = matches!(state.kind, StateKind::Map(_));
        match result {
            Ok(output) => {
                fanout.results[slot] = output;
                fanout.pending -= 1;
                if is_map {
                    self.emit(
                        shared,
                        parent,
                        EventType::MapIterationSucceeded,
                        EventDetails::MapIteration {
                            name: state.name.clone(),
                            index: slot as u64,
                        },
                    );
                    self.start_map_items(shared, parent);
                }
                let finished = matches!(
                    self.state.runs.get(&parent),
                    Some(Run { step: Step::Fanout(f), .. })
                        if f.pending == 0 && f.next_item == f.items.len()
                );
                if finished {
                    let Step::Fanout(fanout) = self.take_step(parent) else {
                        unreachable!("checked above")
                    };
                    let succeeded = if is_map {
                        EventType::MapStateSucceeded
                    } else {
                        EventType::ParallelStateSucceeded
                    };
                    self.emit(shared, parent, succeeded, EventDetails::None);
                    self.state_completed(
                        shared,
                        parent,
                        fanout.visit,
                        Value::Array(fanout.results),
                    );
                }
            }
            Err(failure) => {
                if is_map {
                    self.emit(
                        shared,
                        parent,
                        EventType::MapIterationFailed,
                        EventDetails::MapIteration {
                            name: state.name.clone(),
                            index: slot as u64,
                        },
                    );
                }
                self.abort_children(shared, parent);
                let failed = if is_map {
                    EventType::MapStateFailed
                } else {
                    EventType::ParallelStateFailed
                };
                self.emit(shared, parent, failed, EventDetails::None);
                let Step::Fanout(fanout) = self.take_step(parent) else {
                    unreachable!("checked above")
                };
                self.state_failed(shared, parent, fanout.visit, failure);
            }
        }
    }

    /// Stops every branch or iteration under `parent` (one of them failed).
    fn abort_children(&mut self, shared: &mut Shared, parent: RunId) {
        let mut doomed = vec![parent];
        let mut index = 0;
        while index < doomed.len() {
            let owner = doomed[index];
            doomed.extend(
                self.state
                    .runs
                    .iter()
                    .filter(|(_, run)| run.parent.is_some_and(|p| p.run == owner))
                    .map(|(id, _)| *id),
            );
            index += 1;
        }
        let definition = self.definition.clone();
        for id in doomed.into_iter().skip(1) {
            let Some(run) = self.state.runs.remove(&id) else {
                continue;
            };
            let state = match &run.step {
                Step::Task(task) => {
                    if let Some(abort) = &task.abort {
                        abort.abort();
                    }
                    if let Some(token) = &task.token {
                        self.tokens.remove(token);
                    }
                    Some(task.visit.state)
                }
                Step::Wait { state, .. } => Some(*state),
                Step::Backoff { visit, .. } => Some(visit.state),
                Step::Fanout(fanout) => Some(fanout.visit.state),
                Step::Enter { .. } | Step::Again { .. } | Step::Busy => None,
            };
            let aborted = state.and_then(|state| {
                let state = &definition.states[state];
                aborted_event(&state.kind).map(|event| (event, state.name.clone()))
            });
            if let Some((event_type, name)) = aborted {
                self.emit_after(
                    shared,
                    run.last_event,
                    event_type,
                    EventDetails::StateExited {
                        name,
                        output: "null".into(),
                    },
                );
            }
        }
    }

    fn fire_due_timers(&mut self, shared: &mut Shared) {
        let now = Instant::now();
        while self.outcome.is_none() {
            match self.timers.peek() {
                Some(Reverse(timer)) if timer.at <= now => {}
                _ => return,
            }
            let Reverse(timer) = self.timers.pop().expect("peeked");
            self.fire(shared, timer);
        }
    }

    fn fire(&mut self, shared: &mut Shared, timer: Timer) {
        let id = timer.run;
        match timer.kind {
            TimerKind::Execution => self.outcome = Some(Outcome::TimedOut),
            TimerKind::Wake => match self.take_step(id) {
                Step::Wait {
                    state,
                    output,
                    until,
                } if until.timer == timer.seq => {
                    let definition = self.definition.clone();
                    self.transition(shared, id, &definition.states[state], output);
                }
                Step::Backoff { visit, until } if until.timer == timer.seq => {
                    self.set_step(id, Step::Again { visit, token: None });
                    self.ready.push_back(id);
                }
                other => self.set_step(id, other),
            },
            TimerKind::TaskTimeout | TimerKind::Heartbeat => {
                let current = match self.state.runs.get(&id) {
                    Some(Run {
                        step: Step::Task(task),
                        ..
                    }) => {
                        let deadline = match timer.kind {
                            TimerKind::TaskTimeout => task.timeout,
                            _ => task.heartbeat,
                        };
                        deadline.is_some_and(|d| d.timer == timer.seq)
                    }
                    _ => false,
                };
                if current {
                    let error = match timer.kind {
                        TimerKind::TaskTimeout => "States.Timeout",
                        _ => "States.HeartbeatTimeout",
                    };
                    self.task_timed_out(shared, id, error);
                }
            }
        }
    }

    /// The run whose task waits on `token`.
    fn token_task(&self, token: &str) -> Result<RunId, EngineError> {
        match self.tokens.get(token) {
            Some(id) if self.outcome.is_none() => Ok(*id),
            _ if self.expired_tokens.iter().any(|t| t == token) => Err(EngineError::TaskTimedOut(
                "the task waiting on this token timed out".into(),
            )),
            _ => Err(EngineError::TaskDoesNotExist(
                "no task waits on this token (unknown, answered or stopped)".into(),
            )),
        }
    }

    fn on_signal(&mut self, shared: &mut Shared, signal: Signal) {
        match signal {
            Signal::TaskSuccess {
                token,
                output,
                reply,
            } => {
                let found = self.token_task(&token);
                if let Ok(id) = found {
                    self.task_succeeded(shared, id, output);
                }
                let _ = reply.send(found.map(|_| ()));
            }
            Signal::TaskFailure {
                token,
                failure,
                reply,
            } => {
                let found = self.token_task(&token);
                if let Ok(id) = found {
                    self.task_failed(shared, id, failure);
                }
                let _ = reply.send(found.map(|_| ()));
            }
            Signal::Heartbeat { token, reply } => {
                let found = self.token_task(&token);
                if let Ok(id) = found {
                    let seconds = match self.state.runs.get(&id) {
                        Some(Run {
                            step: Step::Task(task),
                            ..
                        }) => task.heartbeat_seconds,
                        _ => None,
                    };
                    if let Some(seconds) = seconds {
                        let deadline =
                            self.arm(id, TimerKind::Heartbeat, Duration::from_secs(seconds));
                        if let Some(Run {
                            step: Step::Task(task),
                            ..
                        }) = self.state.runs.get_mut(&id)
                        {
                            task.heartbeat = Some(deadline);
                        }
                        // A restart must not time out on the old deadline.
                        self.checkpoint_due = true;
                    }
                }
                let _ = reply.send(found.map(|_| ()));
            }
            Signal::Stop {
                error,
                cause,
                reply,
            } => {
                if self.outcome.is_none() {
                    self.outcome = Some(Outcome::Aborted { error, cause });
                }
                self.stop_replies.push(reply);
            }
        }
    }

    fn stored(&self, shared: &Shared, run_state: Option<Value>) -> StoredExecution {
        StoredExecution {
            record: shared.record.clone(),
            definition: self.definition.source().clone(),
            run_state,
            history_len: shared.last_event_id(),
            expired_tokens: self.expired_tokens.clone(),
            version: self.version,
        }
    }

    /// Writes the run state and the events since the last checkpoint. `false`: the execution
    /// can no longer be driven from here (another writer took it, or storage failed).
    async fn checkpoint(&mut self) -> bool {
        self.checkpoint_due = false;
        let run_state = match serde_json::to_value(&self.state) {
            Ok(value) => value,
            Err(e) => {
                tracing::error!(execution = %self.arn, error = %e, "cannot serialise the run state");
                return self.abandon();
            }
        };
        let (execution, events) = {
            let shared = lock(&self.shared);
            (self.stored(&shared, Some(run_state)), shared.events.clone())
        };
        let written = events.len();
        match self.save(&execution, &events).await {
            Some(version) => {
                self.version = version;
                let mut shared = lock(&self.shared);
                shared.events.drain(..written);
                shared.persisted_events += written as u64;
                true
            }
            None => self.abandon(),
        }
    }

    async fn save(&self, execution: &StoredExecution, events: &[HistoryEvent]) -> Option<u64> {
        let mut delay = Duration::from_millis(200);
        for attempt in 1..=CHECKPOINT_ATTEMPTS {
            match self.services.store.save(execution, events).await {
                Ok(version) => return Some(version),
                Err(PersistError::Conflict) => {
                    tracing::warn!(execution = %self.arn, "another writer changed the execution; this process stops driving it");
                    return None;
                }
                Err(e) => {
                    tracing::error!(execution = %self.arn, attempt, error = %e, "checkpoint failed");
                    if attempt < CHECKPOINT_ATTEMPTS {
                        tokio::time::sleep(delay).await;
                        delay *= 4;
                    }
                }
            }
        }
        None
    }

    /// Stops driving: the stored checkpoint stays RUNNING for a later resume.
    fn abandon(&mut self) -> bool {
        self.deregister();
        false
    }

    fn deregister(&self) {
        if let Some(live) = self.live.upgrade() {
            lock(&live).remove(&self.arn);
        }
    }

    async fn finalize(&mut self) {
        let outcome = self.outcome.take().expect("finalize runs on an outcome");
        self.inflight.abort_all();
        let (execution, events) = {
            let shared = self.shared.clone();
            let mut shared = lock(&shared);
            let now = self.services.clock.now();
            shared.record.stop_date = Some(now);
            let (status, event_type, details) = match outcome {
                Outcome::Succeeded(output) => {
                    let text = json_text(&output);
                    shared.record.output = Some(output);
                    (
                        ExecutionStatus::Succeeded,
                        EventType::ExecutionSucceeded,
                        EventDetails::ExecutionSucceeded { output: text },
                    )
                }
                Outcome::Failed(failure) => {
                    shared.record.error = optional(failure.error);
                    shared.record.cause = optional(failure.cause);
                    (
                        ExecutionStatus::Failed,
                        EventType::ExecutionFailed,
                        EventDetails::Error {
                            error: shared.record.error.clone(),
                            cause: shared.record.cause.clone(),
                        },
                    )
                }
                Outcome::TimedOut => {
                    shared.record.error = Some("States.Timeout".into());
                    shared.record.cause = Some(format!(
                        "the execution ran longer than its TimeoutSeconds ({})",
                        self.definition.timeout_seconds.unwrap_or_default()
                    ));
                    (
                        ExecutionStatus::TimedOut,
                        EventType::ExecutionTimedOut,
                        EventDetails::Error {
                            error: shared.record.error.clone(),
                            cause: shared.record.cause.clone(),
                        },
                    )
                }
                Outcome::Aborted { error, cause } => {
                    shared.record.error = error.clone();
                    shared.record.cause = cause.clone();
                    (
                        ExecutionStatus::Aborted,
                        EventType::ExecutionAborted,
                        EventDetails::Error { error, cause },
                    )
                }
            };
            shared.record.status = status;
            let previous = shared.last_event_id();
            self.emit_after(&mut shared, previous, event_type, details);
            shared.completing = true;
            let execution = self.stored(&shared, None);
            (execution, std::mem::take(&mut shared.events))
        };
        let history_len = execution.history_len;
        if self.save(&execution, &events).await.is_some() {
            lock(&self.shared).persisted_events = history_len;
        }
        self.deregister();
        let _ = self.done.send(true);
        for reply in self.stop_replies.drain(..) {
            let _ = reply.send(());
        }
    }
}

fn pass(
    state: &State,
    result: Option<&Value>,
    input: Value,
    context: &Value,
) -> Result<Value, TaskFailure> {
    let output = if state.result_path == ResultPath::Replace {
        let effective = select_owned(&state.input_path, input, context)?;
        match (result, &state.parameters) {
            (Some(result), _) => result.clone(),
            (None, Some(template)) => payload::render(template, &effective, context)?,
            (None, None) => effective,
        }
    } else {
        let result = {
            let effective = select_data(&state.input_path, &input, context)?;
            match (result, &state.parameters) {
                (Some(result), _) => result.clone(),
                (None, Some(template)) => payload::render(template, &effective, context)?,
                (None, None) => effective.into_owned(),
            }
        };
        place_result(input, &state.result_path, result)?
    };
    select_owned(&state.output_path, output, context)
}
