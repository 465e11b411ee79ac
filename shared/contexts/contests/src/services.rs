//! What the contest use cases need: the kernel's core, the contests section of the
//! configuration, and the trading platform that opens dedicated contest accounts and says what
//! an entry account holds.

use std::sync::Arc;

use brokeros_kernel::Core;
use brokeros_trading::TradingPlatform;

use crate::config::ContestsConfig;

#[derive(Clone)]
pub struct Services {
    pub core: Core,
    pub config: Arc<ContestsConfig>,
    pub trading: Arc<dyn TradingPlatform>,
}

brokeros_kernel::services_over_core!(Services);
