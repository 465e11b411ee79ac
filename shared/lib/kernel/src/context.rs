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
