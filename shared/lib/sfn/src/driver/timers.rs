//! Timers: armed for a wait, a back-off or a task's deadlines, and fired when due.

use std::cmp::Reverse;
use std::time::Duration;

use tokio::time::Instant;

use super::interpreter::{Driver, Outcome, Timer, TimerKind};
use super::live::Shared;
use super::state::{Deadline, Run, RunId, Step};

impl Driver {
    pub(super) fn arm(&mut self, run: RunId, kind: TimerKind, delay: Duration) -> Deadline {
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

    pub(super) fn fire_due_timers(&mut self, shared: &mut Shared) {
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
}
