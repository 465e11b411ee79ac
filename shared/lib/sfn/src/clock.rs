//! Wall-clock time that follows tokio's clock.
//!
//! Timers run on `tokio::time`, so tests with paused time skip hours of waiting; history
//! timestamps, `$$.State.EnteredTime` and persisted deadlines are wall-clock times. Reading the
//! wall clock as "wall time at start + tokio time elapsed since" keeps both views consistent:
//! a deadline stored as a wall-clock time maps back to the tokio instant it was armed for, and
//! after a restart (a new clock) to the time that remains.

use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::FormatItem;
use time::macros::format_description;
use tokio::time::Instant;

/// How far ahead of the system clock the engine's wall clock runs, read at every use: a host
/// whose application clock is moved forward (the demo's) gives the engine the same offset, so
/// `$$.Execution.StartTime` and history times agree with what its tasks see.
pub type WallOffset = std::sync::Arc<dyn Fn() -> time::Duration + Send + Sync>;

#[derive(Clone)]
pub(crate) struct Clock {
    wall: OffsetDateTime,
    instant: Instant,
    ahead: Option<WallOffset>,
}

impl Clock {
    pub(crate) fn start(ahead: Option<WallOffset>) -> Clock {
        Clock {
            wall: OffsetDateTime::now_utc(),
            instant: Instant::now(),
            ahead,
        }
    }

    fn ahead(&self) -> time::Duration {
        self.ahead
            .as_ref()
            .map_or(time::Duration::ZERO, |ahead| ahead())
    }

    pub(crate) fn now(&self) -> OffsetDateTime {
        self.wall + self.instant.elapsed() + self.ahead()
    }

    /// The tokio instant a wall-clock deadline falls on (now, if it has passed). A timer armed
    /// before the offset grew keeps its instant: it ends later than its recorded deadline.
    pub(crate) fn instant_of(&self, deadline: OffsetDateTime) -> Instant {
        let since_start = deadline - self.ahead() - self.wall;
        if since_start.is_negative() {
            return self.instant;
        }
        self.instant + Duration::try_from(since_start).unwrap_or(Duration::ZERO)
    }
}

const TIMESTAMP: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// `2024-05-01T12:00:00.123Z`: UTC with milliseconds, as Step Functions prints times.
pub(crate) fn format_timestamp(time: OffsetDateTime) -> String {
    time.to_offset(time::UtcOffset::UTC)
        .format(TIMESTAMP)
        .unwrap_or_default()
}
