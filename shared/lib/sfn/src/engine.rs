//! The engine's API: the Step Functions operations a back office uses, on registered state
//! machines and in-process task handlers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use serde_json::Value;
use tokio::sync::oneshot;

use crate::clock::{Clock, WallOffset};
use crate::definition::Definition;
use crate::driver::{
    Launch, LiveMap, Reply, RunState, Services, Shared, Signal, launch, lock, token_execution,
};
use crate::execution::{
    EngineError, ExecutionDescription, ExecutionStatus, ROLE_ARN, execution_arn, machine_name_of,
    state_machine_arn, validate_name,
};
use crate::history::{EventDetails, EventType, HistoryEvent, json_text};
use crate::persist::{ExecutionStore, MemoryExecutions, PersistError, StoredExecution};
use crate::task::{TaskFailure, TaskHandler};

/// A local Step Functions service. Cloning shares it; dropping the last clone (or
/// [`Engine::shutdown`]) stops driving executions, which stay stored as they were at their last
/// checkpoint for [`Engine::resume`].
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    services: Arc<Services>,
    machines: RwLock<HashMap<String, Arc<Machine>>>,
    live: Arc<LiveMap>,
}

struct Machine {
    arn: String,
    definition: Arc<Definition>,
}

impl From<PersistError> for EngineError {
    fn from(e: PersistError) -> EngineError {
        EngineError::Storage(e.to_string())
    }
}

impl Engine {
    pub fn new(store: Arc<dyn ExecutionStore>) -> Engine {
        Engine::with_clock(store, None)
    }

    /// An engine whose wall clock runs `ahead` of the system clock (by what it answers at
    /// each read), or on it when `None`.
    pub fn with_clock(store: Arc<dyn ExecutionStore>, ahead: Option<WallOffset>) -> Engine {
        Engine {
            inner: Arc::new(Inner {
                services: Arc::new(Services {
                    store,
                    handlers: RwLock::new(HashMap::new()),
                    clock: Clock::start(ahead),
                }),
                machines: RwLock::new(HashMap::new()),
                live: Arc::new(Mutex::new(HashMap::new())),
            }),
        }
    }

    /// An engine keeping executions in process memory.
    pub fn in_memory() -> Engine {
        Engine::new(Arc::new(MemoryExecutions::new()))
    }

    /// Registers the handler Task states reach by this function name (the `NAME` of
    /// `arn:aws:lambda:REGION:ACCOUNT:function:NAME`). Register handlers before
    /// [`Engine::resume`], so resumed tasks find them.
    pub fn register_handler(&self, function: impl Into<String>, handler: Arc<dyn TaskHandler>) {
        self.inner
            .services
            .handlers
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(function.into(), handler);
    }

    /// Registers (or replaces) a state machine and returns its ARN. Running executions keep
    /// the definition they started with.
    pub fn register_state_machine(
        &self,
        name: &str,
        definition: Definition,
    ) -> Result<String, EngineError> {
        validate_name(name)?;
        let arn = state_machine_arn(name);
        self.inner
            .machines
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(
                name.to_string(),
                Arc::new(Machine {
                    arn: arn.clone(),
                    definition: Arc::new(definition),
                }),
            );
        Ok(arn)
    }

    /// ARNs of the registered state machines, sorted.
    pub fn state_machines(&self) -> Vec<String> {
        let mut arns: Vec<String> = self
            .inner
            .machines
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .values()
            .map(|machine| machine.arn.clone())
            .collect();
        arns.sort();
        arns
    }

    /// A state machine by name or ARN.
    fn machine(&self, state_machine: &str) -> Result<Arc<Machine>, EngineError> {
        let name = machine_name_of(state_machine);
        self.inner
            .machines
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(name)
            .filter(|machine| !state_machine.starts_with("arn:") || machine.arn == state_machine)
            .cloned()
            .ok_or_else(|| EngineError::StateMachineDoesNotExist(state_machine.to_string()))
    }

    /// Starts an execution of a state machine (name or ARN) and returns its ARN. `name`
    /// defaults to a UUID. As in AWS, starting a name again with the same input while it
    /// runs answers the same ARN; another input, or an execution that has finished, is
    /// `ExecutionAlreadyExists`.
    pub async fn start_execution(
        &self,
        state_machine: &str,
        name: Option<String>,
        input: Value,
    ) -> Result<String, EngineError> {
        let machine = self.machine(state_machine)?;
        let name = name.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        validate_name(&name)?;
        crate::payload::within_quota(&input, || "the execution input".into())
            .map_err(|e| EngineError::InvalidExecutionInput(e.cause))?;
        let arn = execution_arn(machine_name_of(&machine.arn), &name);
        let services = &self.inner.services;
        let start_date = services.clock.now();
        let record = ExecutionDescription {
            execution_arn: arn.clone(),
            state_machine_arn: machine.arn.clone(),
            name,
            status: ExecutionStatus::Running,
            input: input.clone(),
            output: None,
            error: None,
            cause: None,
            start_date,
            stop_date: None,
            state_transitions: 0,
        };
        let started = HistoryEvent {
            id: 1,
            previous_event_id: 0,
            timestamp: start_date,
            event_type: EventType::ExecutionStarted,
            details: EventDetails::ExecutionStarted {
                input: json_text(&input),
                role_arn: ROLE_ARN.into(),
            },
        };
        let run_state = RunState::start(machine.definition.start_at(), input, started.id);
        let stored = StoredExecution {
            record,
            definition: machine.definition.source().clone(),
            run_state: Some(
                serde_json::to_value(&run_state)
                    .map_err(|e| EngineError::Storage(format!("run state: {e}")))?,
            ),
            history_len: 1,
            expired_tokens: Vec::new(),
            version: 1,
        };
        match services.store.create(&stored, &[started]).await {
            Ok(()) => {}
            Err(PersistError::AlreadyExists) => {
                let existing = services.store.load(&arn).await?;
                return match existing {
                    Some(existing)
                        if existing.record.status == ExecutionStatus::Running
                            && existing.record.input == stored.record.input =>
                    {
                        Ok(arn)
                    }
                    _ => Err(EngineError::ExecutionAlreadyExists(arn)),
                };
            }
            Err(e) => return Err(e.into()),
        }
        self.launch(Launch {
            services: services.clone(),
            live: Arc::downgrade(&self.inner.live),
            definition: machine.definition.clone(),
            record: stored.record,
            run_state,
            version: 1,
            expired_tokens: Vec::new(),
            persisted_events: 1,
        });
        Ok(arn)
    }

    fn launch(&self, launch_with: Launch) {
        let arn = launch_with.record.execution_arn.clone();
        // Held while spawning: the driver deregisters under this lock when it finishes, so it
        // cannot do so before it is registered.
        let mut live = lock(&self.inner.live);
        let handle = launch(launch_with);
        live.insert(arn, handle);
    }

    fn live_shared(&self, execution_arn: &str) -> Option<Arc<Mutex<Shared>>> {
        lock(&self.inner.live)
            .get(execution_arn)
            .map(|handle| handle.shared.clone())
    }

    pub async fn describe_execution(
        &self,
        execution_arn: &str,
    ) -> Result<ExecutionDescription, EngineError> {
        if let Some(shared) = self.live_shared(execution_arn) {
            return Ok(lock(&shared).record.clone());
        }
        match self.inner.services.store.load(execution_arn).await? {
            Some(stored) => Ok(stored.record),
            None => Err(EngineError::ExecutionDoesNotExist(
                execution_arn.to_string(),
            )),
        }
    }

    /// Executions of a state machine (name or ARN), newest first, optionally of one status.
    pub async fn list_executions(
        &self,
        state_machine: &str,
        status: Option<ExecutionStatus>,
    ) -> Result<Vec<ExecutionDescription>, EngineError> {
        let arn = if state_machine.starts_with("arn:") {
            state_machine.to_string()
        } else {
            state_machine_arn(state_machine)
        };
        Ok(self.inner.services.store.list(&arn, status).await?)
    }

    /// The execution's events so far, oldest first.
    pub async fn get_execution_history(
        &self,
        execution_arn: &str,
    ) -> Result<Vec<HistoryEvent>, EngineError> {
        let live = lock(&self.inner.live)
            .get(execution_arn)
            .map(|handle| (handle.shared.clone(), handle.done.clone()));
        let mut unsaved = Vec::new();
        if let Some((shared, mut done)) = live {
            let completing = {
                let shared = lock(&shared);
                unsaved.clone_from(&shared.events);
                shared.completing
            };
            if completing {
                // The final events are on their way to the store: read them there.
                unsaved.clear();
                while !*done.borrow_and_update() {
                    if done.changed().await.is_err() {
                        break;
                    }
                }
            }
        }
        // Read after the unsaved events: a checkpoint in between moves events from there to
        // the store, never the other way, so together they are complete.
        let mut events = self.inner.services.store.history(execution_arn).await?;
        if events.is_empty() && unsaved.is_empty() {
            return Err(EngineError::ExecutionDoesNotExist(
                execution_arn.to_string(),
            ));
        }
        let stored = events.len() as u64;
        events.extend(unsaved.into_iter().filter(|event| event.id > stored));
        Ok(events)
    }

    /// Waits until the execution is no longer RUNNING here, then describes it.
    pub async fn wait_for_completion(
        &self,
        execution_arn: &str,
    ) -> Result<ExecutionDescription, EngineError> {
        let done = lock(&self.inner.live)
            .get(execution_arn)
            .map(|handle| handle.done.clone());
        if let Some(mut done) = done {
            while !*done.borrow_and_update() {
                if done.changed().await.is_err() {
                    break;
                }
            }
        }
        self.describe_execution(execution_arn).await
    }

    /// Completes the task waiting on `token` with `output` (its result).
    pub async fn send_task_success(&self, token: &str, output: Value) -> Result<(), EngineError> {
        crate::payload::within_quota(&output, || "the task output".into())
            .map_err(|e| EngineError::InvalidOutput(e.cause))?;
        self.answer(token, |reply| Signal::TaskSuccess {
            token: token.to_string(),
            output,
            reply,
        })
        .await
    }

    /// Fails the task waiting on `token` with an error its state's Retry and Catch match.
    pub async fn send_task_failure(
        &self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> Result<(), EngineError> {
        self.answer(token, |reply| Signal::TaskFailure {
            token: token.to_string(),
            failure: TaskFailure::new(error, cause),
            reply,
        })
        .await
    }

    /// Restarts the task's HeartbeatSeconds.
    pub async fn send_task_heartbeat(&self, token: &str) -> Result<(), EngineError> {
        self.answer(token, |reply| Signal::Heartbeat {
            token: token.to_string(),
            reply,
        })
        .await
    }

    async fn answer(
        &self,
        token: &str,
        signal: impl FnOnce(Reply) -> Signal,
    ) -> Result<(), EngineError> {
        let arn = token_execution(token)?;
        let inbox = lock(&self.inner.live)
            .get(&arn)
            .map(|handle| handle.inbox.clone());
        if let Some(inbox) = inbox {
            let (reply, answer) = oneshot::channel();
            if inbox.send(signal(reply)).is_ok()
                && let Ok(answer) = answer.await
            {
                return answer;
            }
        }
        // Not running here: the execution has finished (or is not resumed in this process).
        match self.inner.services.store.load(&arn).await? {
            Some(stored) if stored.expired_tokens.iter().any(|t| t == token) => Err(
                EngineError::TaskTimedOut("the task waiting on this token timed out".into()),
            ),
            _ => Err(EngineError::TaskDoesNotExist(
                "no task waits on this token (unknown, answered or stopped)".into(),
            )),
        }
    }

    /// Stops an execution (status ABORTED). Stopping one that has finished changes nothing.
    pub async fn stop_execution(
        &self,
        execution_arn: &str,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<(), EngineError> {
        let inbox = lock(&self.inner.live)
            .get(execution_arn)
            .map(|handle| handle.inbox.clone());
        if let Some(inbox) = inbox {
            let (reply, stopped) = oneshot::channel();
            let stop = Signal::Stop {
                error: error.clone(),
                cause: cause.clone(),
                reply,
            };
            if inbox.send(stop).is_ok() && stopped.await.is_ok() {
                return Ok(());
            }
        }
        let store = &self.inner.services.store;
        let Some(mut stored) = store.load(execution_arn).await? else {
            return Err(EngineError::ExecutionDoesNotExist(
                execution_arn.to_string(),
            ));
        };
        if stored.record.status != ExecutionStatus::Running {
            return Ok(());
        }
        // Stored as running but driven by no one here: close it in the store directly.
        let now = self.inner.services.clock.now();
        let aborted = HistoryEvent {
            id: stored.history_len + 1,
            previous_event_id: stored.history_len,
            timestamp: now,
            event_type: EventType::ExecutionAborted,
            details: EventDetails::Error {
                error: error.clone(),
                cause: cause.clone(),
            },
        };
        stored.record.status = ExecutionStatus::Aborted;
        stored.record.stop_date = Some(now);
        stored.record.error = error;
        stored.record.cause = cause;
        stored.run_state = None;
        stored.history_len += 1;
        store.save(&stored, &[aborted]).await?;
        Ok(())
    }

    /// Continues the executions stored as RUNNING that this engine does not drive yet (at
    /// start-up: those a previous process left): tokens they wait on stay valid, timers fire at
    /// their stored deadlines, and tasks whose handler had not answered are invoked again.
    /// Returns how many it resumed. Register state machines' handlers first.
    pub async fn resume(&self) -> Result<usize, EngineError> {
        let store = &self.inner.services.store;
        let mut resumed = 0;
        for arn in store.list_running().await? {
            if lock(&self.inner.live).contains_key(&arn) {
                continue;
            }
            let Some(stored) = store.load(&arn).await? else {
                continue;
            };
            if stored.record.status != ExecutionStatus::Running {
                continue;
            }
            let definition = match Definition::parse(&stored.definition) {
                Ok(definition) => Arc::new(definition),
                Err(e) => {
                    tracing::error!(execution = %arn, error = %e, "stored definition no longer parses; execution not resumed");
                    continue;
                }
            };
            let run_state: RunState = match stored.run_state.map(serde_json::from_value) {
                Some(Ok(run_state)) => run_state,
                Some(Err(e)) => {
                    tracing::error!(execution = %arn, error = %e, "stored run state is unreadable; execution not resumed");
                    continue;
                }
                None => continue,
            };
            self.launch(Launch {
                services: self.inner.services.clone(),
                live: Arc::downgrade(&self.inner.live),
                definition,
                record: stored.record,
                run_state,
                version: stored.version,
                expired_tokens: stored.expired_tokens,
                persisted_events: stored.history_len,
            });
            resumed += 1;
        }
        Ok(resumed)
    }

    /// Stops driving every execution and waits until their drivers have let go (a checkpoint
    /// being written is finished first). The executions stay stored for [`Engine::resume`].
    pub async fn shutdown(&self) {
        let handles: Vec<_> = lock(&self.inner.live).drain().map(|(_, h)| h).collect();
        let tasks: Vec<_> = handles.into_iter().map(|handle| handle.task).collect();
        for task in tasks {
            let _ = task.await;
        }
    }
}
