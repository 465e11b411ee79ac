use crate::audit::Actor;
use time::OffsetDateTime;
use uuid::Uuid;

/// The clock port: tests and simulations substitute their own time.
pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// The system clock moved ahead by an offset that only grows: a demo or a test moves Broker
/// OS's time forward (to the end of a payout period) while what checks real time — token
/// expiry, the store's own expiry — stays on the system clock, which this clock never falls
/// behind. It never moves back: effective-dated changes refuse times in the past, so time
/// running backwards would make them refuse what a moment ago they took.
#[derive(Debug, Default)]
pub struct AheadClock {
    ahead_ms: std::sync::atomic::AtomicI64,
}

impl AheadClock {
    /// How far ahead of the system clock this clock is.
    pub fn ahead(&self) -> time::Duration {
        time::Duration::milliseconds(self.ahead_ms.load(std::sync::atomic::Ordering::SeqCst))
    }

    /// Moves the clock `by` forward (rounded up to the millisecond; a negative `by` changes
    /// nothing).
    pub fn advance(&self, by: time::Duration) {
        let nanos = by.whole_nanoseconds();
        let ms = nanos / 1_000_000 + i128::from(nanos % 1_000_000 > 0);
        let ms = i64::try_from(ms).unwrap_or(i64::MAX);
        if ms > 0 {
            self.ahead_ms
                .fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// Moves the clock forward to `at`, if it is not there yet.
    pub fn advance_to(&self, at: OffsetDateTime) {
        self.advance(at - self.now());
    }
}

impl Clock for AheadClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + self.ahead()
    }
}

/// The id port: UUIDv7 (time-ordered) by default.
pub trait IdGen: Send + Sync {
    fn uuid(&self) -> Uuid;

    /// A prefixed id such as `lead_0193…`, readable in logs and URLs.
    fn prefixed(&self, prefix: &str) -> String {
        format!("{prefix}_{}", self.uuid().simple())
    }
}

pub struct UuidV7Ids;

impl IdGen for UuidV7Ids {
    fn uuid(&self) -> Uuid {
        Uuid::now_v7()
    }
}

/// Who acts, when, and under which correlation id: what every audited change records.
#[derive(Debug, Clone)]
pub struct OpContext {
    pub actor: Actor,
    pub correlation_id: String,
    pub now: OffsetDateTime,
}

/// A change made by the workflow execution `execution_id` (the actor and the correlation id of
/// its task's audit events), now.
pub fn workflow_ctx(core: &Core, execution_id: &str) -> OpContext {
    OpContext {
        actor: Actor::workflow(execution_id),
        correlation_id: execution_id.to_string(),
        now: core.clock.now(),
    }
}

/// What the audited-write helpers need from a context's services: the store to commit to and
/// the clock that dates idempotency records.
pub trait Runtime: Send + Sync {
    fn store(&self) -> &dyn brokeros_store::Store;
    fn clock(&self) -> &dyn Clock;
}

/// The ports every context's use cases use: the store, the clock and the id generator. A
/// context's services are this core plus the ports of its own.
#[derive(Clone)]
pub struct Core {
    pub store: std::sync::Arc<dyn brokeros_store::Store>,
    pub clock: std::sync::Arc<dyn Clock>,
    pub ids: std::sync::Arc<dyn IdGen>,
    /// Absent in hosts that start no workflow and answer no task tokens.
    pub workflow: Option<std::sync::Arc<dyn crate::workflow::Workflow>>,
}

impl Core {
    /// The core on the system clock with UUIDv7 ids.
    pub fn new(store: std::sync::Arc<dyn brokeros_store::Store>) -> Core {
        Core {
            store,
            clock: std::sync::Arc::new(SystemClock),
            ids: std::sync::Arc::new(UuidV7Ids),
            workflow: None,
        }
    }

    /// The workflow port, for the use cases that start workflows or answer their tasks.
    pub fn workflow(&self) -> crate::Result<&std::sync::Arc<dyn crate::workflow::Workflow>> {
        self.workflow.as_ref().ok_or_else(|| {
            crate::Error::Internal("this function has no workflow configured".into())
        })
    }
}

/// A change made by `principal` through the API, now, under `correlation_id`.
pub fn user_ctx(
    core: &Core,
    principal: &crate::principal::Principal,
    correlation_id: &str,
) -> OpContext {
    OpContext {
        actor: Actor::user(principal),
        correlation_id: correlation_id.to_string(),
        now: core.clock.now(),
    }
}

impl Runtime for Core {
    fn store(&self) -> &dyn brokeros_store::Store {
        self.store.as_ref()
    }

    fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }
}

/// Makes a context's services (a struct with a `core: Core` field and the context's own ports)
/// read as its core: `services.store`, `services.clock()`, and a `&Core` wherever one is asked
/// for, so a use case of one context can call another's with its own services.
#[macro_export]
macro_rules! services_over_core {
    ($services:ty) => {
        impl ::std::ops::Deref for $services {
            type Target = $crate::Core;

            fn deref(&self) -> &$crate::Core {
                &self.core
            }
        }

        impl ::std::ops::DerefMut for $services {
            fn deref_mut(&mut self) -> &mut $crate::Core {
                &mut self.core
            }
        }

        impl $crate::Runtime for $services {
            fn store(&self) -> &dyn ::brokeros_store::Store {
                self.core.store.as_ref()
            }

            fn clock(&self) -> &dyn $crate::Clock {
                self.core.clock.as_ref()
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ahead_clock_moves_forward_only() {
        let clock = AheadClock::default();
        assert_eq!(clock.ahead(), time::Duration::ZERO);
        clock.advance(time::Duration::hours(25));
        clock.advance(-time::Duration::hours(3));
        assert_eq!(clock.ahead(), time::Duration::hours(25), "never back");
        let before = clock.now();
        clock.advance_to(before - time::Duration::minutes(5));
        assert_eq!(
            clock.ahead(),
            time::Duration::hours(25),
            "a past time is no move"
        );
        let target = before + time::Duration::days(2);
        clock.advance_to(target);
        assert!(clock.now() >= target, "{} < {target}", clock.now());
        assert!(clock.now() - target < time::Duration::seconds(5));
        assert!(clock.now() > OffsetDateTime::now_utc() + time::Duration::days(2));
    }
}
