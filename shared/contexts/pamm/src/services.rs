//! What the PAMM use cases need: the kernel's core (the manager's client record and trading
//! accounts are read through the onboarding context over the same core).

use brokeros_kernel::Core;

#[derive(Clone)]
pub struct Services {
    pub core: Core,
}

brokeros_kernel::services_over_core!(Services);
