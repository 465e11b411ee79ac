//! What the onboarding use cases need: the kernel's core and the ports of this context.

use std::sync::Arc;

use brokeros_kernel::{Brands, Core};
use brokeros_trading::TradingPlatform;

use crate::config::OnboardingConfig;
use crate::kyc::KycProvider;
use crate::kyc::model::ScreeningList;

#[derive(Clone)]
pub struct Services {
    pub core: Core,
    pub config: Arc<OnboardingSettings>,
    pub trading: Arc<dyn TradingPlatform>,
    pub kyc: Arc<dyn KycProvider>,
    pub screening: Arc<ScreeningList>,
}

brokeros_kernel::services_over_core!(Services);

/// The parts of the broker's configuration onboarding decides by.
#[derive(Debug, Clone)]
pub struct OnboardingSettings {
    pub brands: Brands,
    /// Who manages a client that registers directly (not through a sales agent).
    pub default_account_manager: String,
    pub onboarding: OnboardingConfig,
}
