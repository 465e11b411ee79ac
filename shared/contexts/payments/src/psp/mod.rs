//! Payment providers (PSPs): the webhook intake and the event queue that carries verified
//! provider events to the deposit consumer.
//!
//! - [`webhooks`]: provider registry, HTTP header adapter, and [`ingest`] (authenticate, parse,
//!   queue) for `POST /webhooks/psp/{provider}`;
//! - [`queue`]: the [`EventQueue`] port (SQS FIFO semantics) and the in-order batch helpers;
//! - [`local_queue`]: its durable adapter over the storage port, for `brokeros serve` (the SQS
//!   adapter is `brokeros_aws::queue::SqsEventQueue`);
//! - [`gateway`]: the [`PaymentGateway`] port (collect a deposit, pay a withdrawal out) and the
//!   simulated providers behind it.

pub mod gateway;
pub mod local_queue;
pub mod queue;
pub mod webhooks;

pub use gateway::{
    GatewayError, OutgoingWebhook, PaymentGateway, PaymentRequest, PaymentSession, PayoutRequest,
    PayoutResult, SimulatedBehavior, SimulatedGateway, deliver_outbox,
};
pub use local_queue::{DeadLetter, LocalEventQueue, LocalQueueConfig};
pub use queue::{
    EventQueue, MAX_RECEIVE_BATCH, Outcome, QueueError, QueueMessage, Settled, consume_once,
    handle_in_order,
};
pub use webhooks::{
    HttpHeaders, IngestError, IngestOutcome, PaymentProviders, SIMULATED_CARD, SIMULATED_CRYPTO,
    ingest,
};
