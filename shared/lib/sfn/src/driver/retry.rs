//! A failed Task, Parallel or Map state: retried after a back-off, caught, or failing its run.

use std::time::Duration;

use rand::Rng;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Map, Value};

use super::checkpoint::CHECKPOINT_WAIT;
use super::data::place_result;
use super::interpreter::{Driver, TimerKind};
use super::live::Shared;
use super::state::{RunId, Step, Visit};
use crate::definition::{Jitter, Retrier, error_matches};
use crate::payload;
use crate::task::TaskFailure;

/// Retry delays are capped here, whatever the definition's backoff computes.
const MAX_RETRY_DELAY_SECONDS: u64 = 31_622_400;

fn retry_delay(retrier: &Retrier, attempt: u32) -> Duration {
    let cap = retrier
        .max_delay_seconds
        .map_or(MAX_RETRY_DELAY_SECONDS, |max| {
            max.min(MAX_RETRY_DELAY_SECONDS)
        });
    let cap_ms = Decimal::from(cap) * Decimal::ONE_THOUSAND;
    // interval × rate^attempt, in exact decimals; stop multiplying once past the cap.
    let mut delay_ms = Decimal::from(retrier.interval_seconds) * Decimal::ONE_THOUSAND;
    for _ in 0..attempt {
        if delay_ms >= cap_ms {
            break;
        }
        delay_ms = delay_ms.saturating_mul(retrier.backoff_rate);
    }
    let capped_ms = delay_ms.min(cap_ms).round().to_u64().unwrap_or(cap * 1000);
    let ms = match retrier.jitter {
        Jitter::None => capped_ms,
        Jitter::Full => rand::rng().random_range(0..=capped_ms),
    };
    Duration::from_millis(ms)
}

impl Driver {
    /// A Task, Parallel or Map state failed: retry, catch, or fail the run.
    pub(super) fn state_failed(
        &mut self,
        shared: &mut Shared,
        id: RunId,
        mut visit: Visit,
        failure: TaskFailure,
    ) {
        // States.Runtime and States.DataLimitExceeded are terminal: never retried nor caught.
        if failure.error == "States.Runtime" || failure.error == payload::DATA_LIMIT_EXCEEDED {
            return self.finish_run(shared, id, Err(failure));
        }
        let definition = self.definition.clone();
        let state = &definition.states[visit.state];
        if let Some(index) = state
            .retry
            .iter()
            .position(|r| error_matches(&r.error_equals, &failure.error))
        {
            let retrier = &state.retry[index];
            let used = visit.attempts[index];
            if used < retrier.max_attempts {
                let delay = retry_delay(retrier, used);
                visit.attempts[index] += 1;
                visit.retry_count += 1;
                if delay.is_zero() {
                    self.set_step(id, Step::Again { visit, token: None });
                    self.ready.push_back(id);
                } else {
                    let until = self.arm(id, TimerKind::Wake, delay);
                    self.set_step(id, Step::Backoff { visit, until });
                    self.checkpoint_due |= delay >= CHECKPOINT_WAIT;
                }
                return;
            }
        }
        match state
            .catch
            .iter()
            .find(|c| error_matches(&c.error_equals, &failure.error))
        {
            Some(catcher) => {
                let mut error_output = Map::new();
                error_output.insert("Error".into(), failure.error.into());
                error_output.insert("Cause".into(), failure.cause.into());
                match place_result(
                    visit.input,
                    &catcher.result_path,
                    Value::Object(error_output),
                ) {
                    Ok(output) => self.continue_at(id, catcher.next, output),
                    Err(failure) => self.finish_run(shared, id, Err(failure)),
                }
            }
            None => self.finish_run(shared, id, Err(failure)),
        }
    }
}
