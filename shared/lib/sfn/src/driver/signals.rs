//! Task tokens and the engine's signals: a token's success, failure or heartbeat, and stop.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::interpreter::{Driver, Outcome, TimerKind};
use super::live::{Shared, Signal};
use super::state::{Run, RunId, Step};
use crate::execution::EngineError;

/// A task token: the execution's ARN and a random nonce, so the engine finds the execution
/// from the token alone, also after a restart.
pub(crate) fn new_token(execution_arn: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{execution_arn}#{}", uuid::Uuid::new_v4().simple()))
}

/// The execution ARN a token belongs to; `InvalidToken` when it is not one of ours.
pub(crate) fn token_execution(token: &str) -> Result<String, EngineError> {
    let invalid = || EngineError::InvalidToken("not a task token of this engine".into());
    let text = URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(invalid)?;
    let (arn, nonce) = text.rsplit_once('#').ok_or_else(invalid)?;
    let well_formed = arn.starts_with("arn:aws:states:")
        && arn.contains(":execution:")
        && nonce.len() == 32
        && nonce.bytes().all(|b| b.is_ascii_hexdigit());
    if well_formed {
        Ok(arn.to_string())
    } else {
        Err(invalid())
    }
}

impl Driver {
    /// The run whose task waits on `token`.
    fn token_task(&self, token: &str) -> Result<RunId, EngineError> {
        match self.tokens.get(token) {
            Some(id) if self.outcome.is_none() => Ok(*id),
            _ if self.expired_tokens.iter().any(|t| t == token) => Err(EngineError::TaskTimedOut(
                "the task waiting on this token timed out".into(),
            )),
            _ => Err(EngineError::TaskDoesNotExist(
                "no task waits on this token (unknown, answered or stopped)".into(),
            )),
        }
    }

    pub(super) fn on_signal(&mut self, shared: &mut Shared, signal: Signal) {
        match signal {
            Signal::TaskSuccess {
                token,
                output,
                reply,
            } => {
                let found = self.token_task(&token);
                if let Ok(id) = found {
                    self.task_succeeded(shared, id, output);
                }
                let _ = reply.send(found.map(|_| ()));
            }
            Signal::TaskFailure {
                token,
                failure,
                reply,
            } => {
                let found = self.token_task(&token);
                if let Ok(id) = found {
                    self.task_failed(shared, id, failure);
                }
                let _ = reply.send(found.map(|_| ()));
            }
            Signal::Heartbeat { token, reply } => {
                let found = self.token_task(&token);
                if let Ok(id) = found {
                    let seconds = match self.state.runs.get(&id) {
                        Some(Run {
                            step: Step::Task(task),
                            ..
                        }) => task.heartbeat_seconds,
                        _ => None,
                    };
                    if let Some(seconds) = seconds {
                        let deadline =
                            self.arm(id, TimerKind::Heartbeat, Duration::from_secs(seconds));
                        if let Some(Run {
                            step: Step::Task(task),
                            ..
                        }) = self.state.runs.get_mut(&id)
                        {
                            task.heartbeat = Some(deadline);
                        }
                        // A restart must not time out on the old deadline.
                        self.checkpoint_due = true;
                    }
                }
                let _ = reply.send(found.map(|_| ()));
            }
            Signal::Stop {
                error,
                cause,
                reply,
            } => {
                if self.outcome.is_none() {
                    self.outcome = Some(Outcome::Aborted { error, cause });
                }
                self.stop_replies.push(reply);
            }
        }
    }
}
