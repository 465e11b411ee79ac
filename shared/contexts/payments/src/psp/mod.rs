//! Payment providers (PSPs): the webhook intake and the event queue that carries verified
//! provider events to the deposit consumer.
//!
//! - [`webhooks`]: provider registry, HTTP header adapter, and [`ingest`] (authenticate, parse,
//!   queue) for `POST /webhooks/psp/{provider}`;
//! - [`queue`]: the [`EventQueue`] port (SQS FIFO semantics) and the in-order batch helpers;
//!   Its adapters: SQS FIFO (`brokeros_aws::queue::SqsEventQueue`) and a durable local queue
//!   over the storage port (`brokeros_local::event_queue`);
//! - [`gateway`]: the [`PaymentGateway`] port (collect a deposit, pay a withdrawal out); the
//!   simulated providers behind it are `brokeros_local::gateway`.

pub mod gateway;
pub mod queue;
pub mod webhooks;

pub use gateway::{
    GatewayError, PaymentGateway, PaymentRequest, PaymentSession, PayoutRequest, PayoutResult,
};
pub use queue::{
    EventQueue, MAX_RECEIVE_BATCH, Outcome, QueueError, QueueMessage, Settled, consume_once,
    handle_in_order,
};
pub use webhooks::{HttpHeaders, IngestError, IngestOutcome, PaymentProviders, ingest};
