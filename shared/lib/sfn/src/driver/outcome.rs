//! The execution's end: its outcome recorded, the final checkpoint written, waiters told.

use super::interpreter::{Driver, Outcome};
use super::live::lock;
use crate::execution::ExecutionStatus;
use crate::history::{EventDetails, EventType, json_text};

fn optional(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

impl Driver {
    pub(super) async fn finalize(&mut self) {
        let outcome = self.outcome.take().expect("finalize runs on an outcome");
        self.inflight.abort_all();
        let (execution, events) = {
            let shared = self.shared.clone();
            let mut shared = lock(&shared);
            let now = self.services.clock.now();
            shared.record.stop_date = Some(now);
            let (status, event_type, details) = match outcome {
                Outcome::Succeeded(output) => {
                    let text = json_text(&output);
                    shared.record.output = Some(output);
                    (
                        ExecutionStatus::Succeeded,
                        EventType::ExecutionSucceeded,
                        EventDetails::ExecutionSucceeded { output: text },
                    )
                }
                Outcome::Failed(failure) => {
                    shared.record.error = optional(failure.error);
                    shared.record.cause = optional(failure.cause);
                    (
                        ExecutionStatus::Failed,
                        EventType::ExecutionFailed,
                        EventDetails::Error {
                            error: shared.record.error.clone(),
                            cause: shared.record.cause.clone(),
                        },
                    )
                }
                Outcome::TimedOut => {
                    shared.record.error = Some("States.Timeout".into());
                    shared.record.cause = Some(format!(
                        "the execution ran longer than its TimeoutSeconds ({})",
                        self.definition.timeout_seconds.unwrap_or_default()
                    ));
                    (
                        ExecutionStatus::TimedOut,
                        EventType::ExecutionTimedOut,
                        EventDetails::Error {
                            error: shared.record.error.clone(),
                            cause: shared.record.cause.clone(),
                        },
                    )
                }
                Outcome::Aborted { error, cause } => {
                    shared.record.error = error.clone();
                    shared.record.cause = cause.clone();
                    (
                        ExecutionStatus::Aborted,
                        EventType::ExecutionAborted,
                        EventDetails::Error { error, cause },
                    )
                }
            };
            shared.record.status = status;
            let previous = shared.last_event_id();
            self.emit_after(&mut shared, previous, event_type, details);
            shared.completing = true;
            let execution = self.stored(&shared, None);
            (execution, std::mem::take(&mut shared.events))
        };
        let history_len = execution.history_len;
        if self.save(&execution, &events).await.is_some() {
            lock(&self.shared).persisted_events = history_len;
        }
        self.deregister();
        let _ = self.done.send(true);
        for reply in self.stop_replies.drain(..) {
            let _ = reply.send(());
        }
    }
}
