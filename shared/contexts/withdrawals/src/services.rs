//! What the withdrawal use cases need: the kernel's core, the withdrawal rules, the approvals
//! context their approval processes run in, and the payment gateway that pays out.

use std::sync::Arc;

use brokeros_kernel::Core;
use brokeros_payments::psp::PaymentGateway;

use crate::config::WithdrawalsConfig;

#[derive(Clone)]
pub struct Services {
    pub core: Core,
    pub config: Arc<WithdrawalsSettings>,
    /// Where a withdrawal's approval process starts, under the policy the withdrawal rules make.
    pub approvals: brokeros_approvals::Services,
    pub gateway: Arc<dyn PaymentGateway>,
}

brokeros_kernel::services_over_core!(Services);

/// The parts of the broker's configuration withdrawals decide by.
#[derive(Debug, Clone)]
pub struct WithdrawalsSettings {
    pub withdrawals: WithdrawalsConfig,
}
