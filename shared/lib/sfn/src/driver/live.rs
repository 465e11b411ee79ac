//! What the engine and a running execution's driver share: the record readers see, the
//! signals the engine sends, the services drivers use, and the handle the engine keeps.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::clock::Clock;
use crate::execution::{EngineError, ExecutionDescription};
use crate::history::HistoryEvent;
use crate::persist::ExecutionStore;
use crate::task::{TaskFailure, TaskHandler};

/// What readers of a running execution see; the driver updates it as it goes.
pub(crate) struct Shared {
    pub(crate) record: ExecutionDescription,
    /// Events not yet written to the store.
    pub(crate) events: Vec<HistoryEvent>,
    pub(crate) persisted_events: u64,
    /// The final checkpoint is being written: the history is complete once it is stored.
    pub(crate) completing: bool,
}

impl Shared {
    pub(super) fn last_event_id(&self) -> u64 {
        self.persisted_events + self.events.len() as u64
    }
}

pub(crate) type Reply = oneshot::Sender<Result<(), EngineError>>;

pub(crate) enum Signal {
    TaskSuccess {
        token: String,
        output: Value,
        reply: Reply,
    },
    TaskFailure {
        token: String,
        failure: TaskFailure,
        reply: Reply,
    },
    Heartbeat {
        token: String,
        reply: Reply,
    },
    Stop {
        error: Option<String>,
        cause: Option<String>,
        reply: oneshot::Sender<()>,
    },
}

/// What drivers share with the engine.
pub(crate) struct Services {
    pub(crate) store: Arc<dyn ExecutionStore>,
    pub(crate) handlers: RwLock<HashMap<String, Arc<dyn TaskHandler>>>,
    pub(crate) clock: Clock,
}

/// A running execution as the engine holds it.
pub(crate) struct LiveHandle {
    pub(crate) inbox: mpsc::UnboundedSender<Signal>,
    pub(crate) shared: Arc<Mutex<Shared>>,
    pub(crate) done: watch::Receiver<bool>,
    pub(crate) task: JoinHandle<()>,
}

pub(crate) type LiveMap = Mutex<HashMap<String, LiveHandle>>;

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
