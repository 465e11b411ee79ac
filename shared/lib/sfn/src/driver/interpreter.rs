//! The driver: one execution's interpreter, with what it holds in memory besides the run
//! state (ready queue, timers, tasks in flight, token index, outcome), and the step
//! bookkeeping every part of it uses.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, Weak};

use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::live::{LiveMap, Services, Shared, Signal};
use super::state::{RunId, RunState, Step};
use crate::definition::{Definition, StateId};
use crate::task::{TaskFailure, TaskRequest};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum TimerKind {
    Execution,
    Wake,
    TaskTimeout,
    Heartbeat,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Timer {
    pub(super) at: Instant,
    pub(super) seq: u64,
    pub(super) run: RunId,
    pub(super) kind: TimerKind,
}

pub(super) enum Outcome {
    Succeeded(Value),
    Failed(TaskFailure),
    TimedOut,
    Aborted {
        error: Option<String>,
        cause: Option<String>,
    },
}

pub(super) struct Invocation {
    pub(super) run: RunId,
    pub(super) attempt: u64,
    pub(super) request: TaskRequest,
}

pub(super) struct Completion {
    pub(super) run: RunId,
    pub(super) attempt: u64,
    pub(super) result: Result<Value, TaskFailure>,
}

pub(crate) struct Driver {
    pub(super) services: Arc<Services>,
    pub(super) live: Weak<LiveMap>,
    pub(super) definition: Arc<Definition>,
    pub(super) arn: String,
    pub(super) shared: Arc<Mutex<Shared>>,
    pub(super) inbox: mpsc::UnboundedReceiver<Signal>,
    pub(super) done: watch::Sender<bool>,
    pub(super) version: u64,
    pub(super) expired_tokens: Vec<String>,
    pub(super) state: RunState,
    pub(super) ready: VecDeque<RunId>,
    pub(super) to_invoke: Vec<Invocation>,
    pub(super) inflight: JoinSet<Completion>,
    pub(super) timers: BinaryHeap<Reverse<Timer>>,
    pub(super) tokens: HashMap<String, RunId>,
    pub(super) checkpoint_due: bool,
    pub(super) outcome: Option<Outcome>,
    pub(super) stop_replies: Vec<oneshot::Sender<()>>,
}

impl Driver {
    pub(super) fn next_seq(&mut self) -> u64 {
        self.state.next_seq += 1;
        self.state.next_seq
    }

    pub(super) fn set_step(&mut self, id: RunId, step: Step) {
        if let Some(run) = self.state.runs.get_mut(&id) {
            run.step = step;
        }
    }

    pub(super) fn take_step(&mut self, id: RunId) -> Step {
        match self.state.runs.get_mut(&id) {
            Some(run) => std::mem::replace(&mut run.step, Step::Busy),
            None => Step::Busy,
        }
    }

    pub(super) fn continue_at(&mut self, id: RunId, state: StateId, input: Value) {
        self.set_step(id, Step::Enter { state, input });
        self.ready.push_back(id);
    }
}
