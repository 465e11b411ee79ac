//! The Broker OS application layer: use cases over the storage port, with every state change
//! and its audit event committed in one transaction; authentication; audit export; and the
//! HTTP router that both the Lambda functions and `brokeros serve` run.

pub mod audit_export;
pub mod auth;
pub mod changeset;
pub mod context;
pub mod http;
pub mod idempotency;
pub mod keys;
pub mod leads;
pub mod logging;
pub mod rotation;

use std::sync::Arc;

use brokeros_domain::config::BrokerConfig;
use brokeros_store::Store;

pub use context::{Clock, IdGen, OpContext, SystemClock, UuidV7Ids};

/// Everything a use case needs, built once at start-up and shared by all requests.
#[derive(Clone)]
pub struct Services {
    pub store: Arc<dyn Store>,
    pub config: Arc<BrokerConfig>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdGen>,
    pub rotation: Arc<rotation::Rotation>,
}

impl Services {
    pub fn new(store: Arc<dyn Store>, config: BrokerConfig) -> Services {
        Services {
            store,
            config: Arc::new(config),
            clock: Arc::new(SystemClock),
            ids: Arc::new(UuidV7Ids),
            rotation: Arc::new(rotation::Rotation::default()),
        }
    }
}
