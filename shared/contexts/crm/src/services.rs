//! What the CRM use cases need: the kernel's core, the lead rules, and the assignment rotation.

use std::sync::Arc;

use brokeros_kernel::{Brands, Core};

use crate::config::{AssignmentConfig, ScoringConfig};
use crate::rotation::Rotation;

#[derive(Clone)]
pub struct Services {
    pub core: Core,
    pub config: Arc<CrmSettings>,
    pub rotation: Arc<Rotation>,
}

brokeros_kernel::services_over_core!(Services);

/// The parts of the broker's configuration the CRM decides by.
#[derive(Debug, Clone)]
pub struct CrmSettings {
    pub brands: Brands,
    pub lead_scoring: ScoringConfig,
    pub lead_assignment: AssignmentConfig,
}
