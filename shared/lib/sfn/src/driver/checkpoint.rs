//! Checkpoints: the run state and new events written to the store, and what a restored run
//! state does not hold (timers, token index, ready queue) re-created from it.

use std::cmp::Reverse;
use std::time::Duration;

use serde_json::Value;

use super::interpreter::{Driver, Timer, TimerKind};
use super::live::{Shared, lock};
use super::state::{RunId, Step};
use crate::history::HistoryEvent;
use crate::persist::{PersistError, StoredExecution};

/// Waits at least this long are worth a checkpoint: a restart then resumes the wait instead of
/// re-running the states before it.
pub(super) const CHECKPOINT_WAIT: Duration = Duration::from_secs(1);

const CHECKPOINT_ATTEMPTS: u32 = 4;

impl Driver {
    /// Re-creates what is not persisted — ready queue, timers, token index — from the run
    /// state, re-invoking tasks whose handler had not answered when it was saved.
    pub(super) fn arm_restored(&mut self) {
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

    pub(super) fn stored(&self, shared: &Shared, run_state: Option<Value>) -> StoredExecution {
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
    pub(super) async fn checkpoint(&mut self) -> bool {
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

    pub(super) async fn save(
        &self,
        execution: &StoredExecution,
        events: &[HistoryEvent],
    ) -> Option<u64> {
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

    pub(super) fn deregister(&self) {
        if let Some(live) = self.live.upgrade() {
            lock(&live).remove(&self.arn);
        }
    }
}
