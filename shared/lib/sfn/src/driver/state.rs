//! The run state: each run's position (a step about to enter a state, or waiting on a task, a
//! timer or its children), as plain data a checkpoint serialises and a restart continues from.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use tokio::task::AbortHandle;

use crate::definition::StateId;

pub(crate) type RunId = u64;

/// The interpreter's position: everything a restarted process needs to continue.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct RunState {
    pub(super) runs: BTreeMap<RunId, Run>,
    pub(super) next_run: RunId,
    /// Source of invocation and timer sequence numbers, which tell a current completion or
    /// timer from a stale one.
    pub(super) next_seq: u64,
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
pub(super) struct Run {
    pub(super) parent: Option<Parent>,
    /// This run's latest event: the `previousEventId` of its next one.
    pub(super) last_event: u64,
    pub(super) step: Step,
}

/// The Parallel or Map run a branch or iteration reports to, and its slot in the result.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(super) struct Parent {
    pub(super) run: RunId,
    pub(super) slot: usize,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) enum Step {
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
pub(super) struct Visit {
    pub(super) state: StateId,
    /// The raw state input: ResultPath, Catch and retries start from it.
    pub(super) input: Value,
    #[serde(with = "time::serde::rfc3339")]
    pub(super) entered: OffsetDateTime,
    /// Attempts used per retrier.
    pub(super) attempts: Vec<u32>,
    pub(super) retry_count: u32,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct TaskStep {
    pub(super) visit: Visit,
    pub(super) token: Option<String>,
    /// The handler returned for a token task: only the token's answer completes it now.
    pub(super) awaiting_token: bool,
    pub(super) timeout: Option<Deadline>,
    pub(super) heartbeat: Option<Deadline>,
    pub(super) heartbeat_seconds: Option<u64>,
    pub(super) attempt: u64,
    #[serde(skip)]
    pub(super) abort: Option<AbortHandle>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Fanout {
    pub(super) visit: Visit,
    pub(super) results: Vec<Value>,
    /// Children started and not finished.
    pub(super) pending: usize,
    /// Map: the input of each iteration not started yet (taken when it starts).
    pub(super) items: Vec<Value>,
    pub(super) next_item: usize,
    /// Map's MaxConcurrency; 0 = no limit.
    pub(super) limit: usize,
}

/// A wall-clock deadline (persisted) and the sequence number of the timer armed for it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(super) struct Deadline {
    #[serde(with = "time::serde::rfc3339")]
    pub(super) at: OffsetDateTime,
    pub(super) timer: u64,
}
