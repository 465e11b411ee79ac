//! The local adapters of Broker OS, for `brokeros serve`, the demo and the tests: the workflow
//! port on the embedded Step Functions engine ([`workflow`]), the payment events queue over the
//! storage port ([`event_queue`]), the simulated providers — KYC ([`kyc`]), payment
//! gateway ([`gateway`]) and trading platform ([`trading`]) — the simulated FX feed ([`fx`])
//! and the sample screening lists ([`screening`]). No Lambda links this crate: in
//! AWS every port has its adapter chosen by configuration (`brokeros-aws`).

pub mod event_queue;
pub mod fx;
pub mod gateway;
pub mod kyc;
pub mod providers;
pub mod screening;
pub mod trading;
pub mod workflow;

use std::sync::Arc;

use brokeros_app::config::BrokerConfig;
use brokeros_app::{Ports, Services};
use brokeros_kernel::{Core, SystemClock};
use brokeros_store::Store;

pub use event_queue::{DeadLetter, LocalEventQueue, LocalQueueConfig};
pub use fx::SimulatedFxRates;
pub use gateway::{
    Outbox, OutgoingWebhook, SIMULATED_PAYMENT_PAGE, SimulatedBehavior, SimulatedGateway,
    deliver_outbox,
};
pub use kyc::SimulatedKycProvider;
pub use providers::{
    SIMULATED_CARD, SIMULATED_CRYPTO, simulated_providers, simulated_providers_for,
};
pub use trading::{
    DealCorrection, FIRST_LOGIN, FIRST_TICKET, MAX_GENERATED_DEALS, SIMULATED_SERVER,
    SimulatedPlatform,
};
pub use workflow::{LocalWorkflow, local_engine, local_engine_ahead};

/// The simulated KYC provider's webhook secret: it signs only simulated results, so it is no
/// secret (a real provider's secret comes from the secret store).
const SIMULATED_KYC_WEBHOOK_SECRET: &[u8] = b"simulated-kyc-provider";

/// How long a simulated payment provider takes to send its webhook.
pub const SIMULATED_PROVIDER_DELAY: std::time::Duration = std::time::Duration::from_millis(50);

/// Every context on `store` with the simulated providers, the sample screening lists and the
/// local event queue (no workflow yet: [`local_engine`] adds the engine).
pub fn services(store: Arc<dyn Store>, config: BrokerConfig) -> Services {
    let psp_events = psp_event_queue(store.clone());
    let psp = Arc::new(simulated_providers_for(
        &brokeros_payments::model::RoutingRules::embedded_default(),
    ));
    let ports = Ports {
        trading: Arc::new(SimulatedPlatform::new(store.clone())),
        kyc: Arc::new(SimulatedKycProvider::new(SIMULATED_KYC_WEBHOOK_SECRET)),
        screening: Arc::new(screening::sample_screening_lists()),
        // Locally every routed provider is simulated.
        gateway: Arc::new(SimulatedGateway::new(
            psp.clone(),
            SIMULATED_PROVIDER_DELAY,
            store.clone(),
        )),
        psp,
        psp_events: Arc::new(psp_events),
        copy_orders: Arc::new(copy_order_queue(store.clone())),
    };
    Services::compose(Core::new(store), config, ports)
}

/// The copy trading queue (SQS FIFO in AWS) over `store`, with its dead-letter queue.
pub fn copy_order_queue(store: Arc<dyn Store>) -> LocalEventQueue {
    LocalEventQueue::new(
        store,
        Arc::new(SystemClock),
        LocalQueueConfig::new(brokeros_copy::queue::COPY_QUEUE).dead_letter(
            brokeros_copy::queue::COPY_DEAD_LETTER_QUEUE,
            brokeros_copy::queue::COPY_MAX_RECEIVES,
        ),
    )
    .expect("the copy queue's settings are valid")
}

/// The payment-event queue (SQS in AWS) over `store`, with its dead-letter queue.
pub fn psp_event_queue(store: Arc<dyn Store>) -> LocalEventQueue {
    LocalEventQueue::new(
        store,
        Arc::new(SystemClock),
        LocalQueueConfig::new(brokeros_payments::PSP_EVENTS_QUEUE).dead_letter(
            brokeros_payments::PSP_EVENTS_DEAD_LETTER_QUEUE,
            brokeros_payments::PSP_EVENTS_MAX_RECEIVES,
        ),
    )
    .expect("the PSP event queue's settings are valid")
}
