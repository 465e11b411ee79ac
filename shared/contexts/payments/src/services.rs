//! What the payments use cases need: the kernel's core and the ports of this context.

use std::sync::Arc;

use brokeros_kernel::Core;
use brokeros_trading::TradingPlatform;

use crate::config::DepositsConfig;
use crate::psp::{EventQueue, PaymentGateway, PaymentProviders};

#[derive(Clone)]
pub struct Services {
    pub core: Core,
    pub config: Arc<PaymentsSettings>,
    pub trading: Arc<dyn TradingPlatform>,
    /// The payment providers whose webhooks are accepted, and the queue their events go to.
    pub psp: Arc<PaymentProviders>,
    pub psp_events: Arc<dyn EventQueue>,
    /// Asks payment providers to collect deposits and pay withdrawals out.
    pub gateway: Arc<dyn PaymentGateway>,
}

brokeros_kernel::services_over_core!(Services);

/// The parts of the broker's configuration payments decide by.
#[derive(Debug, Clone)]
pub struct PaymentsSettings {
    pub deposits: DepositsConfig,
}
