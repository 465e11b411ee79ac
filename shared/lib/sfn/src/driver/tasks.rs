//! Task states: the handler invoked, its completion (or a panic) taken back, and the task's
//! success, failure or timeout recorded; and where a Task, Parallel or Map state's work
//! starts (or starts again).

use std::time::Duration;

use serde_json::{Map, Value};
use tokio::task::JoinError;

use super::data::{resolve_number, select_data};
use super::interpreter::{Completion, Driver, Invocation, TimerKind};
use super::live::Shared;
use super::signals::new_token;
use super::state::{Run, RunId, Step, TaskStep, Visit};
use crate::definition::{Resource, StateKind};
use crate::history::{EventDetails, EventType, json_text};
use crate::payload;
use crate::task::{TaskFailure, TaskRequest, lambda_function_name};

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

fn resource_name(resource: &Resource) -> &'static str {
    match resource {
        Resource::LambdaInvokeWaitForTaskToken => "invoke.waitForTaskToken",
        _ => "invoke",
    }
}

impl Driver {
    /// Runs (or re-runs, after a retry or a restart) the work of a Task, Parallel or Map state.
    pub(super) fn attempt(
        &mut self,
        shared: &mut Shared,
        id: RunId,
        visit: Visit,
        token: Option<String>,
    ) {
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

    pub(super) fn spawn_invocations(&mut self) {
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

    pub(super) fn on_joined(&mut self, shared: &mut Shared, joined: Result<Completion, JoinError>) {
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

    pub(super) fn task_succeeded(&mut self, shared: &mut Shared, id: RunId, output: Value) {
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

    pub(super) fn task_failed(&mut self, shared: &mut Shared, id: RunId, failure: TaskFailure) {
        let Some(task) = self.take_task(id) else {
            return;
        };
        if let Some(abort) = &task.abort {
            abort.abort();
        }
        self.task_error_event(shared, id, &task, &failure, false);
        self.state_failed(shared, id, task.visit, failure);
    }

    pub(super) fn task_timed_out(&mut self, shared: &mut Shared, id: RunId, error: &str) {
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
}
