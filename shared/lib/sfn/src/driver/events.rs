//! History events: each appended after the run's previous one.

use super::interpreter::Driver;
use super::live::Shared;
use super::state::RunId;
use crate::definition::StateKind;
use crate::history::{EventDetails, EventType, HistoryEvent};

pub(super) fn entered_event(kind: &StateKind) -> EventType {
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

pub(super) fn exited_event(kind: &StateKind) -> EventType {
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

pub(super) fn aborted_event(kind: &StateKind) -> Option<EventType> {
    match kind {
        StateKind::Task(_) => Some(EventType::TaskStateAborted),
        StateKind::Wait(_) => Some(EventType::WaitStateAborted),
        StateKind::Parallel { .. } => Some(EventType::ParallelStateAborted),
        StateKind::Map(_) => Some(EventType::MapStateAborted),
        _ => None,
    }
}

impl Driver {
    pub(super) fn emit(
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

    pub(super) fn emit_after(
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
}
