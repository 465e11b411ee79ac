use brokeros_domain::audit::Actor;
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
