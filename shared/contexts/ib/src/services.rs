//! What the IB use cases need: the kernel's core and the IB section of the configuration, and the
//! approvals context commission payouts are approved in.

use std::sync::Arc;

use brokeros_kernel::Core;

use crate::config::IbConfig;

#[derive(Clone)]
pub struct Services {
    pub core: Core,
    pub config: Arc<IbConfig>,
    /// Where a statement over the threshold starts its approval process.
    pub approvals: brokeros_approvals::Services,
}

brokeros_kernel::services_over_core!(Services);
