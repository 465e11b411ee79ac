//! Entering a state and leaving it: the synchronous states (Pass, Choice, Wait, Succeed, Fail)
//! run here; the result of a Task, Parallel or Map state is placed here when it comes.

use std::time::Duration;

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::checkpoint::CHECKPOINT_WAIT;
use super::data::{fail_text, place_result, runtime_failure, select_data, select_owned};
use super::events::{entered_event, exited_event};
use super::interpreter::{Driver, TimerKind};
use super::live::Shared;
use super::state::{RunId, Step, Visit};
use crate::definition::{ResultPath, State, StateId, StateKind, WaitFor};
use crate::history::{EventDetails, EventType, json_text};
use crate::task::TaskFailure;
use crate::{path, payload};

impl Driver {
    pub(super) fn enter(
        &mut self,
        shared: &mut Shared,
        id: RunId,
        state_id: StateId,
        input: Value,
    ) {
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
    pub(super) fn transition(
        &mut self,
        shared: &mut Shared,
        id: RunId,
        state: &State,
        output: Value,
    ) {
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

    /// A Task, Parallel or Map state produced its result: ResultSelector, ResultPath,
    /// OutputPath, then on.
    pub(super) fn state_completed(
        &mut self,
        shared: &mut Shared,
        id: RunId,
        visit: Visit,
        result: Value,
    ) {
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
