//! What the approvals use cases need: the kernel's core and the policies processes start
//! under.

use std::sync::Arc;

use brokeros_kernel::Core;

use crate::policy::PolicySet;

#[derive(Clone)]
pub struct Services {
    pub core: Core,
    pub config: Arc<ApprovalsSettings>,
}

brokeros_kernel::services_over_core!(Services);

/// The parts of the broker's configuration approvals decide by.
#[derive(Debug, Clone)]
pub struct ApprovalsSettings {
    /// The policy of every process type that can be started.
    pub policies: PolicySet,
}
