//! Parallel branches and Map iterations: child runs started, finished (each reporting to its
//! parent) and aborted.

use serde_json::{Map, Value};

use super::data::{resolve_number, runtime_failure, select_data};
use super::events::aborted_event;
use super::interpreter::{Driver, Outcome};
use super::live::Shared;
use super::state::{Fanout, Parent, Run, RunId, Step, Visit};
use crate::definition::{StateId, StateKind};
use crate::history::{EventDetails, EventType};
use crate::task::TaskFailure;
use crate::{path, payload};

impl Driver {
    pub(super) fn start_parallel(
        &mut self,
        shared: &mut Shared,
        id: RunId,
        visit: Visit,
        branches: &[usize],
    ) {
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

    pub(super) fn start_map(&mut self, shared: &mut Shared, id: RunId, visit: Visit) {
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

    pub(super) fn finish_run(
        &mut self,
        shared: &mut Shared,
        id: RunId,
        result: Result<Value, TaskFailure>,
    ) {
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
}
