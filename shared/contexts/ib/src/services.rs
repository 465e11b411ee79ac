//! What the IB use cases need: the kernel's core and the IB section of the configuration.

use std::sync::Arc;

use brokeros_kernel::Core;

use crate::config::IbConfig;

#[derive(Clone)]
pub struct Services {
    pub core: Core,
    pub config: Arc<IbConfig>,
}

brokeros_kernel::services_over_core!(Services);
