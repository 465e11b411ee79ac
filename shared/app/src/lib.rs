//! The Broker OS application layer: use cases over the storage port, with every state change
//! and its audit event committed in one transaction; authentication; audit export; and the
//! HTTP router that both the Lambda functions and `brokeros serve` run.

pub mod auth;
pub mod deposits;
pub mod http;
pub mod keys;
pub mod kyc;
pub mod leads;
pub mod ledger;
pub mod local_workflow;
pub mod logging;
pub mod onboarding;
pub mod payments;
pub mod psp;
pub mod recon;
pub mod rotation;
pub mod wallet;
pub mod withdrawals;
pub mod workflow_tasks;

use std::sync::Arc;

use crate::config::BrokerConfig;
use brokeros_kernel::{Error, Result};
use brokeros_store::Store;

pub use brokeros_kernel::{
    Clock, Core, IdGen, OpContext, QueueFilter, Runtime, SystemClock, UuidV7Ids, audit_export, changeset,
    context, idempotency, page_limit, workflow,
};

/// The local queue of payment-provider events (SQS FIFO in AWS), and where events that keep
/// failing go after this many receives.

/// The simulated KYC provider's webhook secret: it signs only simulated results, so it is no
/// secret (a real provider's secret comes from the secret store).
const SIMULATED_KYC_WEBHOOK_SECRET: &[u8] = b"simulated-kyc-provider";

/// How long a simulated payment provider takes to send its webhook.
pub const SIMULATED_PROVIDER_DELAY: std::time::Duration = std::time::Duration::from_millis(50);

/// Everything a use case needs, built once at start-up and shared by all requests.
#[derive(Clone)]
pub struct Services {
    pub core: Core,
    pub config: Arc<BrokerConfig>,
    pub rotation: Arc<rotation::Rotation>,
    /// Absent in functions that start no workflow and answer no task tokens.
    pub workflow: Option<Arc<dyn workflow::Workflow>>,
    pub trading: Arc<dyn brokeros_trading::TradingPlatform>,
    pub kyc: Arc<dyn kyc::KycProvider>,
    pub screening: Arc<brokeros_onboarding::kyc::model::ScreeningList>,
    /// The payment providers whose webhooks are accepted, and the queue their events go to.
    pub psp: Arc<psp::PaymentProviders>,
    pub psp_events: Arc<dyn psp::EventQueue>,
    /// Asks payment providers to collect deposits and pay withdrawals out.
    pub gateway: Arc<dyn psp::PaymentGateway>,
}

impl std::ops::Deref for Services {
    type Target = Core;

    fn deref(&self) -> &Core {
        &self.core
    }
}

impl std::ops::DerefMut for Services {
    fn deref_mut(&mut self) -> &mut Core {
        &mut self.core
    }
}

impl Runtime for Services {
    fn store(&self) -> &dyn Store {
        self.core.store()
    }

    fn clock(&self) -> &dyn Clock {
        self.core.clock()
    }
}

impl Services {
    pub fn new(store: Arc<dyn Store>, config: BrokerConfig) -> Services {
        let psp_events = psp::LocalEventQueue::new(
            store.clone(),
            Arc::new(SystemClock),
            psp::LocalQueueConfig::new(PSP_EVENTS_QUEUE)
                .dead_letter(PSP_EVENTS_DEAD_LETTER_QUEUE, PSP_EVENTS_MAX_RECEIVES),
        )
        .expect("the PSP event queue's settings are valid");
        let psp = Arc::new(psp::PaymentProviders::simulated_for(
            &brokeros_payments::model::RoutingRules::embedded_default(),
        ));
        Services {
            trading: Arc::new(brokeros_trading::SimulatedPlatform::new(store.clone())),
            core: Core::new(store),
            config: Arc::new(config),
            rotation: Arc::new(rotation::Rotation::default()),
            workflow: None,
            kyc: Arc::new(kyc::SimulatedKycProvider::new(SIMULATED_KYC_WEBHOOK_SECRET)),
            screening: Arc::new(brokeros_onboarding::kyc::model::ScreeningList::sample()),
            // Locally every routed provider is simulated (real adapters are configured in AWS).
            gateway: Arc::new(psp::SimulatedGateway::new(
                psp.clone(),
                SIMULATED_PROVIDER_DELAY,
            )),
            psp,
            psp_events: Arc::new(psp_events),
        }
    }

    pub fn with_psp_events(mut self, queue: Arc<dyn psp::EventQueue>) -> Services {
        self.psp_events = queue;
        self
    }

    pub fn with_gateway(mut self, gateway: Arc<dyn psp::PaymentGateway>) -> Services {
        self.gateway = gateway;
        self
    }

    pub fn with_workflow(mut self, workflow: Arc<dyn workflow::Workflow>) -> Services {
        self.workflow = Some(workflow);
        self
    }

    pub fn with_trading(mut self, trading: Arc<dyn brokeros_trading::TradingPlatform>) -> Services {
        self.trading = trading;
        self
    }

    pub fn workflow(&self) -> Result<&Arc<dyn workflow::Workflow>> {
        self.workflow
            .as_ref()
            .ok_or_else(|| Error::Internal("this function has no workflow configured".into()))
    }
}

/// A change made by `principal` through the API, now, under `correlation_id`.
pub(crate) fn user_ctx(
    services: &Services,
    principal: &brokeros_kernel::principal::Principal,
    correlation_id: &str,
) -> OpContext {
    services.core.user_ctx(principal, correlation_id)
}
