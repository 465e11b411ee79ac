//! The event loop: a driver is launched, then runs ready steps in bursts and waits for what
//! comes next (a signal, a task completion, a timer).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::{mpsc, watch};
use tokio::task::{JoinError, JoinSet};
use tokio::time::{Instant, sleep_until};

use super::interpreter::{Completion, Driver};
use super::live::{LiveHandle, LiveMap, Services, Shared, Signal, lock};
use super::state::{RunState, Step};
use crate::definition::Definition;
use crate::execution::ExecutionDescription;

/// Steps a driver takes before it lets other tasks run (a looping machine must not hold a
/// worker thread, nor its execution's lock, for long).
const BURST: usize = 512;

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

impl Driver {
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
}
